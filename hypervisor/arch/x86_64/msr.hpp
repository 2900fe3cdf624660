// Model-specific registers: numbers and rdmsr/wrmsr.
#pragma once

#include <cstdint>

namespace xenolith::arch {

namespace msr {
inline constexpr std::uint32_t APIC_BASE = 0x1b;
inline constexpr std::uint32_t TSC_DEADLINE = 0x6e0;
inline constexpr std::uint32_t PAT = 0x277;
inline constexpr std::uint32_t EFER = 0xc0000080;
inline constexpr std::uint32_t STAR = 0xc0000081;
inline constexpr std::uint32_t LSTAR = 0xc0000082;
inline constexpr std::uint32_t CSTAR = 0xc0000083;
inline constexpr std::uint32_t SFMASK = 0xc0000084;
inline constexpr std::uint32_t FS_BASE = 0xc0000100;
inline constexpr std::uint32_t GS_BASE = 0xc0000101;
inline constexpr std::uint32_t KERNEL_GS_BASE = 0xc0000102;
}  // namespace msr

namespace efer {
inline constexpr std::uint64_t SCE = 1u << 0;
inline constexpr std::uint64_t LME = 1u << 8;
inline constexpr std::uint64_t NXE = 1u << 11;
}  // namespace efer

inline std::uint64_t rdmsr(std::uint32_t index) {
    std::uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(index));
    return (std::uint64_t{hi} << 32) | lo;
}

inline void wrmsr(std::uint32_t index, std::uint64_t value) {
    asm volatile("wrmsr" ::"c"(index), "a"(static_cast<std::uint32_t>(value)),
                 "d"(static_cast<std::uint32_t>(value >> 32))
                 : "memory");
}

}  // namespace xenolith::arch
