// Extended processor state (XSAVE): the instructions, one per function, and which state
// components the hypervisor lets guests use (x87, SSE and, where the CPU has it, AVX).
#pragma once

#include <cstdint>

namespace xenolith::arch {

// XCR0 bits: the state components (SDM Vol. 1, 13.1).
namespace xfeature {
inline constexpr std::uint64_t X87 = 1u << 0;
inline constexpr std::uint64_t SSE = 1u << 1;
inline constexpr std::uint64_t AVX = 1u << 2;
}  // namespace xfeature

// The XCR0 a vCPU starts with (as after reset): x87 and SSE.
inline constexpr std::uint64_t XCR0_RESET = xfeature::X87 | xfeature::SSE;

// Room for one vCPU's FPU image: the standard XSAVE layout of x87 + SSE + AVX is 832 bytes
// (legacy 512, header 64, AVX 256); FXSAVE uses the first 512.
inline constexpr unsigned FPU_AREA_SIZE = 1024;
inline constexpr unsigned XSAVE_LEGACY_SIZE = 512;
inline constexpr unsigned XSAVE_HEADER_SIZE = 64;

inline void xsetbv(std::uint32_t index, std::uint64_t value) {
    asm volatile("xsetbv" ::"c"(index), "a"(static_cast<std::uint32_t>(value)),
                 "d"(static_cast<std::uint32_t>(value >> 32))
                 : "memory");
}
inline std::uint64_t xgetbv(std::uint32_t index) {
    std::uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
    return (std::uint64_t{hi} << 32) | lo;
}
inline void xsave(std::uint8_t* area, std::uint64_t mask) {
    asm volatile("xsave64 %0"
                 : "+m"(*reinterpret_cast<std::uint8_t(*)[FPU_AREA_SIZE]>(area))
                 : "a"(static_cast<std::uint32_t>(mask)), "d"(static_cast<std::uint32_t>(mask >> 32)));
}
inline void xrstor(const std::uint8_t* area, std::uint64_t mask) {
    asm volatile("xrstor64 %0" ::"m"(*reinterpret_cast<const std::uint8_t(*)[FPU_AREA_SIZE]>(area)),
                 "a"(static_cast<std::uint32_t>(mask)), "d"(static_cast<std::uint32_t>(mask >> 32)));
}
inline void fxsave(std::uint8_t* area) {
    asm volatile("fxsave64 %0" : "=m"(*reinterpret_cast<std::uint8_t(*)[XSAVE_LEGACY_SIZE]>(area)));
}
inline void fxrstor(const std::uint8_t* area) {
    asm volatile("fxrstor64 %0" ::"m"(*reinterpret_cast<const std::uint8_t(*)[XSAVE_LEGACY_SIZE]>(area)));
}

// What the hypervisor offers guests, decided once on the boot CPU.
struct XstatePolicy {
    bool enabled = false;         // the CPU has XSAVE: CR4.OSXSAVE on, XSAVE/XRSTOR switching
    std::uint64_t allowed = 0;    // XCR0 bits a guest may set (x87 | SSE [| AVX])
    std::uint32_t area_size = 0;  // standard-format size for `allowed` (CPUID 0xD)
};

const XstatePolicy& xstate_policy();

// Boot CPU, once, before configure_control_registers() sets CR4.OSXSAVE: read CPUID 0xD and
// fix the policy (disabled if the CPU lacks XSAVE or its layout does not fit FPU_AREA_SIZE).
void xstate_init_policy();
// Every CPU, after CR4.OSXSAVE: XCR0 = the allowed mask, the value it holds whenever no vCPU's
// state is loaded (see guest_context.cpp).
void xstate_init_this_cpu();

// The standard-format size of the state components in `xcr0` (CPUID 0xD sub-leaf 0 EBX as a
// guest with that XCR0 would read it).
std::uint32_t xstate_size(std::uint64_t xcr0);

// Put a vCPU's FPU image in its reset state: FCW 0x37f, MXCSR 0x1f80, every component in its
// initial configuration (an XSAVE header with XSTATE_BV = 0).
void fpu_area_reset(std::uint8_t* area);

}  // namespace xenolith::arch
