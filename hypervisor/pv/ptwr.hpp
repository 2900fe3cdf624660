// Writable page tables (VMASST_TYPE_writable_pagetables, pv-abi-core.md §7.6): a guest kernel
// write to one of its own read-only-mapped L1 page tables is decoded, validated like
// mmu_update on that entry, and performed for it.
#pragma once

#include "arch/x86_64/trap_frame.hpp"

namespace xenolith {

struct Vcpu;

// Called for a write #PF on a present page in guest kernel mode. True if the write was an
// emulated page-table update (rip advanced); false to reflect the fault to the guest.
bool emulate_page_table_write(Vcpu& vcpu, arch::TrapFrame& frame, std::uint64_t fault_address);

}  // namespace xenolith
