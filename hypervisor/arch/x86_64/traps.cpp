// handle_trap(): the C++ side of isr.S.
#include "arch/x86_64/traps.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/debugreg.hpp"
#include "core/console.hpp"
#include "core/panic.hpp"
#include "core/cpu.hpp"
#include "core/smp.hpp"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/uaccess.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/guest_traps.hpp"
#include "sched/scheduler.hpp"

namespace xenolith::arch {

namespace {
InterruptHandler g_handlers[256];

constexpr const char* EXCEPTION_NAMES[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
    "reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
    "#VC VMM communication", "#SX security", "reserved 31",
};

// A #DB in the hypervisor. A guest's data breakpoints stay armed while the hypervisor works for
// it, so copying to or from a watched guest address (a hypercall argument, a bounce frame)
// hits them in ring 0. Such a hit is ignored, as Xen ignores watchpoints triggering within
// itself: the access was the hypervisor's, not the guest's, and a data breakpoint is a trap,
// so returning simply carries on. DR6 is reset so the hit does not show in the guest's next
// #DB. Anything else (single step, an instruction breakpoint: impossible, since breakpoints
// hold guest addresses only and SMEP keeps the hypervisor off guest code) stays fatal.
bool ignore_hypervisor_debug_trap() {
    const std::uint64_t status = read_dr6() ^ dr6::DEFAULT;
    const std::uint64_t control = read_dr7();
    if (!status || (status & ~dr6::HITS))
        return false;
    for (unsigned n = 0; n < 4; ++n) {
        if ((status >> n) & 1 && dr7::rw(control, n) == dr7::RW_EXECUTE)
            return false;
    }
    write_dr6(dr6::DEFAULT);
    return true;
}

[[noreturn]] void fatal_exception(TrapFrame& frame) {
    FixedBuffer<160> message;
    format_to(message, "exception {} ({}) error code {:#x}", frame.vector, exception_name(frame.vector),
              frame.error_code);
    if (frame.vector == vector::PAGE_FAULT)
        format_to(message, " at address {:#x}", read_cr2());
    panic_message(message.view(), &frame);
}
}  // namespace

const char* exception_name(std::uint64_t vector) { return vector < 32 ? EXCEPTION_NAMES[vector] : "interrupt"; }

void set_interrupt_handler(std::uint8_t vector, InterruptHandler handler) { g_handlers[vector] = handler; }

}  // namespace xenolith::arch

using namespace xenolith;

extern "C" char frame_iret_instruction[];

extern "C" void handle_trap(arch::TrapFrame* frame) {
    const std::uint64_t vector = frame->vector;
    if (vector == VECTOR_SYSCALL) {
        handle_guest_syscall(*frame);
        exit_to_guest(*frame);
        return;
    }
    const bool from_guest = (frame->cs & 3) == 3;
    if (vector == arch::vector::NMI) {
        // An NMI is how a panicking CPU stops the others.
        if (panicking())
            halt_this_cpu_for_panic();
        arch::fatal_exception(*frame);
    }
    if (from_guest && (vector < arch::vector::FIRST_EXTERNAL || vector == arch::vector::GUEST_INT80)) {
        handle_guest_exception(*frame);
        exit_to_guest(*frame);
        return;
    }
    if (vector < arch::vector::FIRST_EXTERNAL) {
        // A guest can hand HYPERVISOR_iret selectors the CPU refuses to load: the iretq back
        // to it faults in ring 0. That is the guest's error, not the hypervisor's: crash it.
        if (frame->rip == reinterpret_cast<std::uint64_t>(frame_iret_instruction) && current_vcpu())
            guest_return_faulted(*frame);
        if (vector == arch::vector::DEBUG && arch::ignore_hypervisor_debug_trap())
            return;
        if (vector == arch::vector::PAGE_FAULT || vector == arch::vector::GENERAL_PROTECTION) {
            if (const std::uint64_t fixup = arch::exception_fixup(frame->rip)) {
                frame->rip = fixup;
                return;
            }
        }
        arch::fatal_exception(*frame);
    }
    if (vector == arch::vector::SPURIOUS)
        return;  // no EOI for spurious interrupts
    if (vector >= arch::vector::LEGACY_PIC_BASE && vector < arch::vector::LEGACY_PIC_BASE + 16) {
        // Masked 8259s can still deliver a spurious IRQ 7/15; nothing to acknowledge at the LAPIC.
        return;
    }
    if (arch::InterruptHandler handler = arch::g_handlers[vector]) {
        handler(*frame);
    } else {
        log_warning("unexpected interrupt vector {:#x} on CPU {}", vector, this_cpu().index);
    }
    arch::local_apic().eoi();
    if (from_guest)
        exit_to_guest(*frame);
}
