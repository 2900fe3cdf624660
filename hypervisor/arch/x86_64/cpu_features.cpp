// CPUID decoding.
#include "arch/x86_64/cpu_features.hpp"

#include "lib/string.hpp"

#include "arch/x86_64/cpuid.hpp"

namespace xenolith::arch {

namespace {
CpuFeatures g_features;

bool bit(std::uint32_t value, unsigned n) { return (value >> n) & 1; }
}  // namespace

CpuFeatures detect_cpu_features() {
    CpuFeatures f;
    const CpuidResult leaf0 = cpuid(0);
    f.max_leaf = leaf0.eax;
    std::memcpy(f.vendor + 0, &leaf0.ebx, 4);
    std::memcpy(f.vendor + 4, &leaf0.edx, 4);
    std::memcpy(f.vendor + 8, &leaf0.ecx, 4);

    const CpuidResult leaf1 = cpuid(1);
    const std::uint32_t base_family = (leaf1.eax >> 8) & 0xf;
    f.family = base_family == 0xf ? base_family + ((leaf1.eax >> 20) & 0xff) : base_family;
    f.model = (leaf1.eax >> 4) & 0xf;
    if (base_family == 0x6 || base_family == 0xf)
        f.model |= ((leaf1.eax >> 16) & 0xf) << 4;
    f.stepping = leaf1.eax & 0xf;
    f.pcid = bit(leaf1.ecx, 17);
    f.x2apic = bit(leaf1.ecx, 21);
    f.tsc_deadline = bit(leaf1.ecx, 24);
    f.xsave = bit(leaf1.ecx, 26);
    f.hypervisor = bit(leaf1.ecx, 31);
    f.pge = bit(leaf1.edx, 13);

    if (f.max_leaf >= 7) {
        const CpuidResult leaf7 = cpuid(7, 0);
        f.fsgsbase = bit(leaf7.ebx, 0);
        f.smep = bit(leaf7.ebx, 7);
        f.invpcid = bit(leaf7.ebx, 10);
        f.smap = bit(leaf7.ebx, 20);
        f.umip = bit(leaf7.ecx, 2);
    }
    if (f.max_leaf >= 0x15) {
        const CpuidResult leaf15 = cpuid(0x15);
        f.tsc_crystal_ratio_den = leaf15.eax;
        f.tsc_crystal_ratio_num = leaf15.ebx;
        f.crystal_hz = leaf15.ecx;
    }
    if (f.max_leaf >= 0x16)
        f.base_mhz = cpuid(0x16).eax & 0xffff;

    f.max_extended_leaf = cpuid(0x80000000).eax;
    if (f.max_extended_leaf >= 0x80000001) {
        const CpuidResult ext1 = cpuid(0x80000001);
        f.syscall = bit(ext1.edx, 11);
        f.nx = bit(ext1.edx, 20);
        f.huge_pages = bit(ext1.edx, 26);
        f.rdtscp = bit(ext1.edx, 27);
    }
    if (f.max_extended_leaf >= 0x80000007)
        f.invariant_tsc = bit(cpuid(0x80000007).edx, 8);
    return f;
}

const CpuFeatures& cpu_features() { return g_features; }
void set_cpu_features(const CpuFeatures& features) { g_features = features; }

}  // namespace xenolith::arch
