// What every test kernel can reach: its start_info, the shared_info page, address helpers.
// Source: pv-abi-core.md §2 (layout, PFN = (VA - VIRT_BASE) >> 12), §2.5 (M2P), §3.
#pragma once

#include <cstdint>

#include "xen/xen.hpp"

// Each test kernel defines this; the framework calls it after boot and prints the verdict
// when it returns.
void guest_main(const xen::start_info* si);

namespace xt {

// Our link address (linker.ld; the VIRT_BASE note says the same).
inline constexpr std::uint64_t VIRT_BASE = 0xFFFFFFFF80000000ull;

const xen::start_info* start_info();

// The shared_info page, mapped on first use with update_va_mapping over a reserved page of our
// image (§5.10: Mini-OS does the same). Null if the mapping was refused.
xen::shared_info* shared_info();
// What update_va_mapping returned when shared_info() tried to map the page (0 if it worked).
long shared_info_error();
xen::vcpu_info* vcpu0_info();

// Current system time in ns (§8.1): from vcpu_time_info when shared_info is mapped, else from
// VCPUOP_get_runstate_info's state_entry_time, which the hypervisor stamps with the time.
std::uint64_t system_time_ns();

// §2: the initial region maps PFN n at VIRT_BASE + n * 4096.
inline std::uint64_t pfn_to_va(std::uint64_t pfn) { return VIRT_BASE + (pfn << xen::XEN_PAGE_SHIFT); }
inline std::uint64_t va_to_pfn(std::uint64_t va) { return (va - VIRT_BASE) >> xen::XEN_PAGE_SHIFT; }
// §2.5: the read-only M2P, readable in guest kernel mode from the first instruction.
inline std::uint64_t m2p(std::uint64_t mfn) {
    return reinterpret_cast<const volatile std::uint64_t*>(xen::MACH2PHYS_VIRT_START)[mfn];
}
// The P2M list the builder gave us (start_info.mfn_list).
std::uint64_t p2m(std::uint64_t pfn);
// Machine address of one of our own virtual addresses inside the initial region.
std::uint64_t va_to_maddr(std::uint64_t va);

// Virtual event-interrupt flag (§6.10).
void events_disable();
void events_enable();  // forces delivery of anything pending with a null hypercall

}  // namespace xt
