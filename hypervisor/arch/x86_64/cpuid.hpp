// The cpuid instruction.
#pragma once

#include <cstdint>

namespace xenolith::arch {

struct CpuidResult {
    std::uint32_t eax, ebx, ecx, edx;
};

inline CpuidResult cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

}  // namespace xenolith::arch
