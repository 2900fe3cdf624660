// Guest segment descriptors (pv-abi-core.md §5.4, §5.9): what a guest GDT/LDT frame may hold, and
// the guest GDT frames mapped into each CPU's GDT window below the hypervisor's reserved page.
#pragma once

#include <cstdint>

#include "lib/result.hpp"

namespace xenolith {

// A guest GDT may use the 14 pages below the hypervisor's reserved one (§2.6: 7168 entries).
inline constexpr unsigned GUEST_GDT_PAGES = 14;
inline constexpr unsigned GUEST_GDT_MAX_ENTRIES = GUEST_GDT_PAGES * 512;

struct Cpu;
struct Vcpu;

// Check one descriptor and return the value to store: not-present ones as they are; code and
// data segments with DPL raised to 3 and the accessed bit set (so the CPU never writes the
// read-only mapped GDT); system descriptors (TSS, LDT, gates) are refused with EINVAL.
Result<std::uint64_t> check_descriptor(std::uint64_t descriptor);

// Validate a whole page (512 descriptors), writing the fixed values back (§5.4). False if any
// descriptor is refused (nothing is written then).
bool validate_descriptor_page(std::uint64_t* page);

// The base a data selector would give a segment register of `vcpu` (SEGBASE_GS_USER_SEL,
// §5.20): from the guest's GDT or the hypervisor's reserved page; 0 for the null selector and
// for any selector that would not load (which the hypervisor then replaces by null).
std::uint64_t selector_base(const Vcpu& vcpu, std::uint16_t selector);

// Map `vcpu`'s GDT frames (or nothing) into this CPU's GDT window.
void load_guest_gdt(Cpu& cpu, const Vcpu* vcpu);

}  // namespace xenolith
