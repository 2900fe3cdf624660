// What this CPU can do, read once from CPUID on the boot CPU.
#pragma once

#include <cstdint>

namespace xenolith::arch {

struct CpuFeatures {
    char vendor[13] = {};
    std::uint32_t family = 0, model = 0, stepping = 0;
    std::uint32_t max_leaf = 0, max_extended_leaf = 0;
    bool nx = false;
    bool smep = false;
    bool smap = false;
    bool umip = false;
    bool fsgsbase = false;
    bool pge = false;
    bool huge_pages = false;  // 1 GiB pages
    bool pcid = false;
    bool invpcid = false;
    bool x2apic = false;
    bool tsc_deadline = false;
    bool invariant_tsc = false;
    bool xsave = false;
    bool rdtscp = false;
    bool syscall = false;
    bool hypervisor = false;  // running under another hypervisor (QEMU sets this)
    std::uint32_t tsc_crystal_ratio_num = 0, tsc_crystal_ratio_den = 0, crystal_hz = 0;  // leaf 0x15
    std::uint32_t base_mhz = 0;                                                           // leaf 0x16
};

// Read the features of the executing CPU.
CpuFeatures detect_cpu_features();

// The features of the boot CPU (valid after detect on the BSP).
const CpuFeatures& cpu_features();
void set_cpu_features(const CpuFeatures& features);

}  // namespace xenolith::arch
