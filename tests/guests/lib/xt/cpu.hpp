// Instructions a PV guest kernel issues that the hypervisor emulates or reflects, wrapped one
// per function (pv-abi-core.md §6.11): MSRs, control registers, the forced-emulation CPUID.
#pragma once

#include <cstdint>

namespace xt {

struct CpuidResult {
    std::uint32_t eax, ebx, ecx, edx;
};

// §6.11: `ud2; .ascii "xen"; cpuid` asks the hypervisor for its virtualised CPUID.
inline CpuidResult xen_cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("ud2; .ascii \"xen\"; cpuid"
                 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                 : "0"(leaf), "2"(subleaf));
    return r;
}

// rdmsr/wrmsr raise #GP(0) at CPL 3; the hypervisor emulates them in guest kernel mode.
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

inline std::uint64_t read_cr0() {
    std::uint64_t v;
    asm volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr2() {
    std::uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr3() {
    std::uint64_t v;
    asm volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_cr4() {
    std::uint64_t v;
    asm volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

inline std::uint64_t read_rflags() {
    std::uint64_t v;
    asm volatile("pushf; pop %0" : "=r"(v));
    return v;
}

namespace msr {
inline constexpr std::uint32_t APIC_BASE = 0x1b;
inline constexpr std::uint32_t PAT = 0x277;
inline constexpr std::uint32_t EFER = 0xc0000080;
inline constexpr std::uint32_t LSTAR = 0xc0000082;
inline constexpr std::uint32_t FS_BASE = 0xc0000100;
inline constexpr std::uint32_t GS_BASE = 0xc0000101;
inline constexpr std::uint32_t SHADOW_GS_BASE = 0xc0000102;
}  // namespace msr

}  // namespace xt
