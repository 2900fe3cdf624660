// Per-CPU processor set-up: control registers, the IDT (shared), an early GDT for the boot CPU,
// and each CPU's own GDT (with Xen's reserved page, pv-abi-core.md §2.6) and TSS with IST stacks.
#pragma once

#include <cstdint>

#include "lib/result.hpp"

namespace xenolith {
struct Cpu;
}

namespace xenolith::arch {

// IST slots used by the IDT (1-based, as in the gate descriptor).
inline constexpr unsigned IST_DOUBLE_FAULT = 1;
inline constexpr unsigned IST_NMI = 2;
inline constexpr unsigned IST_MACHINE_CHECK = 3;

// CR0/CR4/EFER bits this hypervisor runs with: WP, NX, PGE and SMEP/SMAP when the CPU has them.
void configure_control_registers();
// The values for a starting AP's trampoline (it must enter long mode with the same EFER/CR4).
std::uint64_t boot_efer();
std::uint64_t boot_cr4();

// Build the IDT once, then load it on each CPU.
void build_idt();
void load_idt();
// Give the IDT's NMI/#DF/#MC gates their IST stacks (after every CPU that can take them has a TSS).
void enable_ist_gates();

// A minimal GDT inside the image, used by the boot CPU until its per-CPU GDT exists.
void load_early_gdt();

// The read-only page of zeroes behind the guest part of every GDT window with no guest GDT.
std::uint64_t gdt_filler_page();

// Allocate and load this CPU's GDT window, reserved GDT page and TSS (stacks come from the
// CPU's stack block). Needs the page allocator.
Result<void> setup_cpu_descriptors(Cpu& cpu);

}  // namespace xenolith::arch
