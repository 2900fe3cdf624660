// The debug registers DR0-DR3, DR6 and DR7, one instruction per function.
#pragma once

#include <cstdint>

namespace xenolith::arch {

namespace dr6 {
inline constexpr std::uint64_t DEFAULT = 0xffff0ff0;  // no condition recorded (SDM Vol. 3 18.2.3)
inline constexpr std::uint64_t HITS = 0xf;            // B0-B3: which breakpoint matched
}  // namespace dr6

namespace dr7 {
inline constexpr std::uint64_t ENABLES = 0xff;        // L0/G0 ... L3/G3
inline constexpr std::uint64_t GD = 1u << 13;         // general detect
inline constexpr std::uint64_t RESERVED_ONE = 1u << 10;
inline constexpr std::uint64_t RESERVED_ZERO = (1u << 11) | (1u << 12) | (1u << 14) | (1u << 15);
inline constexpr unsigned RW_SHIFT = 16;              // then 4 bits per breakpoint: R/W, LEN
inline constexpr std::uint64_t RW_EXECUTE = 0, RW_WRITE = 1, RW_IO = 2, RW_ACCESS = 3;

inline bool enabled(std::uint64_t value, unsigned n) { return (value >> (2 * n)) & 3; }
inline std::uint64_t rw(std::uint64_t value, unsigned n) { return (value >> (RW_SHIFT + 4 * n)) & 3; }
}  // namespace dr7

inline void write_dr0(std::uint64_t v) { asm volatile("mov %0, %%dr0" ::"r"(v)); }
inline void write_dr1(std::uint64_t v) { asm volatile("mov %0, %%dr1" ::"r"(v)); }
inline void write_dr2(std::uint64_t v) { asm volatile("mov %0, %%dr2" ::"r"(v)); }
inline void write_dr3(std::uint64_t v) { asm volatile("mov %0, %%dr3" ::"r"(v)); }
inline std::uint64_t read_dr6() { std::uint64_t v; asm volatile("mov %%dr6, %0" : "=r"(v)); return v; }
inline void write_dr6(std::uint64_t v) { asm volatile("mov %0, %%dr6" ::"r"(v)); }
inline std::uint64_t read_dr7() { std::uint64_t v; asm volatile("mov %%dr7, %0" : "=r"(v)); return v; }
inline void write_dr7(std::uint64_t v) { asm volatile("mov %0, %%dr7" ::"r"(v)); }

}  // namespace xenolith::arch
