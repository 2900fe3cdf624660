// Guest exceptions and the exit path.
#include "pv/guest_traps.hpp"

#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/debugreg.hpp"
#include "arch/x86_64/traps.hpp"
#include "core/console.hpp"
#include "domain/domain.hpp"
#include "pv/bounce.hpp"
#include "pv/emulate.hpp"
#include "pv/events.hpp"
#include "pv/guest_memory.hpp"
#include "pv/ptwr.hpp"
#include "sched/scheduler.hpp"
#include "xen/trap.hpp"

namespace xenolith {

namespace {

constexpr unsigned VECTOR_DEBUG = 1;
constexpr unsigned VECTOR_BREAKPOINT = 3;
constexpr unsigned VECTOR_OVERFLOW = 4;
constexpr unsigned VECTOR_INVALID_OPCODE = 6;
constexpr unsigned VECTOR_NO_DEVICE = 7;
constexpr unsigned VECTOR_GENERAL_PROTECTION = 13;
constexpr unsigned VECTOR_PAGE_FAULT = 14;
constexpr unsigned VECTOR_INT80 = 0x80;

bool has_error_code(unsigned vector) { return vector < 32 && (xen::TRAP_HAVE_ERROR_CODE_MASK >> vector) & 1; }

// §6.5: `INT n` through a DPL-0 gate raises #GP((n << 3) | 2); deliver n if the guest allows
// it, else reflect the #GP with that error code.
void software_interrupt(Vcpu& vcpu, arch::TrapFrame& frame) {
    // The vector comes from the instruction itself when it can be read: some CPU models get
    // the error code wrong in long mode (QEMU TCG reports (n << 4) | 2, the 16-byte IDT
    // offset), which would deliver a different vector than the guest raised.
    unsigned vector = static_cast<unsigned>(frame.error_code >> 3) & 0xff;
    std::uint8_t instruction[2];
    if (copy_from_guest(instruction, frame.rip, sizeof(instruction)).is_ok() && instruction[0] == 0xcd)
        vector = instruction[1];
    const GuestTrap& trap = vcpu.traps[vector];
    const unsigned needed = vcpu.kernel_mode ? 1 : 3;
    if (!trap.address || (trap.flags & 3) < needed) {
        inject_exception(vcpu, frame, VECTOR_GENERAL_PROTECTION, (vector << 3) | 2);
        return;
    }
    frame.rip += 2;  // `int n` is two bytes; the handler returns after it
    bounce_to_guest(vcpu, frame, trap.address, std::nullopt, trap.flags & 4);
}

void page_fault(Vcpu& vcpu, arch::TrapFrame& frame) {
    const std::uint64_t address = arch::read_cr2();
    // A write to a present page may be an update of one of the guest's own L1 tables (§7.6).
    constexpr std::uint64_t PF_PRESENT = 1, PF_WRITE = 2, PF_RESERVED = 8, PF_FETCH = 16;
    if ((frame.error_code & (PF_PRESENT | PF_WRITE | PF_RESERVED | PF_FETCH)) == (PF_PRESENT | PF_WRITE) &&
        emulate_page_table_write(vcpu, frame, address))
        return;
    vcpu.virtual_cr2 = address;
    __atomic_store_n(&vcpu.vcpu_info->arch.cr2, address, __ATOMIC_RELAXED);
    // §6.6: the hardware always reports a user access (the guest runs at CPL 3); the guest must
    // see U/S = 1 only for its user mode.
    std::uint64_t error = frame.error_code & ~std::uint64_t{4};
    if (!vcpu.kernel_mode)
        error |= 4;
    inject_exception(vcpu, frame, VECTOR_PAGE_FAULT, error);
}

// §6.6: a #DB updates the vCPU's virtual DR6 (read back with get_debugreg(6)) before it is
// reflected. The conditions the CPU reports this time replace the breakpoint-hit bits B0-B3;
// the other status bits stay set until the guest clears them, as on hardware. The real DR6
// goes back to its default so the next #DB reports only what happened then.
void debug_exception(Vcpu& vcpu, arch::TrapFrame& frame) {
    const std::uint64_t now = arch::read_dr6() ^ arch::dr6::DEFAULT;  // positive polarity
    arch::write_dr6(arch::dr6::DEFAULT);
    const std::uint64_t before = (vcpu.debugreg[6] ^ arch::dr6::DEFAULT) & ~arch::dr6::HITS;
    vcpu.debugreg[6] = ((before | now) ^ arch::dr6::DEFAULT) & 0xffffffff;
    inject_exception(vcpu, frame, VECTOR_DEBUG, std::nullopt);
}

void general_protection(Vcpu& vcpu, arch::TrapFrame& frame) {
    if (frame.error_code == 0) {
        switch (emulate_privileged(vcpu, frame)) {
        case Emulation::Done: return;
        case Emulation::InjectGp: inject_exception(vcpu, frame, VECTOR_GENERAL_PROTECTION, 0); return;
        case Emulation::InjectUd: inject_exception(vcpu, frame, VECTOR_INVALID_OPCODE, std::nullopt); return;
        case Emulation::NotHandled: break;
        }
    } else if ((frame.error_code & 7) == 2) {  // IDT, external clear: `int n`
        software_interrupt(vcpu, frame);
        return;
    }
    inject_exception(vcpu, frame, VECTOR_GENERAL_PROTECTION, frame.error_code);
}

}  // namespace

void handle_guest_exception(arch::TrapFrame& frame) {
    Vcpu& vcpu = *current_vcpu();
    const unsigned vector = static_cast<unsigned>(frame.vector);
    switch (vector) {
    case VECTOR_PAGE_FAULT: page_fault(vcpu, frame); return;
    case VECTOR_GENERAL_PROTECTION: general_protection(vcpu, frame); return;
    case VECTOR_INVALID_OPCODE:
        if (emulate_invalid_opcode(vcpu, frame) == Emulation::Done)
            return;
        inject_exception(vcpu, frame, vector, std::nullopt);
        return;
    case VECTOR_NO_DEVICE:
        // §5.7: an #NM clears the virtual TS (and the real one) before it is reflected.
        vcpu.virtual_ts = false;
        arch::write_cr0(arch::read_cr0() & ~arch::cr0::TS);
        inject_exception(vcpu, frame, vector, std::nullopt);
        return;
    case VECTOR_INT80: {
        // Gate 0x80 is DPL 3: bounce if the guest has a handler, else it becomes a #GP.
        const GuestTrap& trap = vcpu.traps[VECTOR_INT80];
        if (trap.address) {
            bounce_to_guest(vcpu, frame, trap.address, std::nullopt, trap.flags & 4);
        } else {
            frame.rip -= 2;
            inject_exception(vcpu, frame, VECTOR_GENERAL_PROTECTION, (VECTOR_INT80 << 3) | 2);
        }
        return;
    }
    case VECTOR_DEBUG: debug_exception(vcpu, frame); return;
    case VECTOR_BREAKPOINT:
    case VECTOR_OVERFLOW:
    default:
        if (vector < 32) {
            inject_exception(vcpu, frame, vector,
                             has_error_code(vector) ? std::optional<std::uint64_t>(frame.error_code) : std::nullopt);
            return;
        }
        log_warning("domain {} vCPU {}: unexpected vector {:#x} from guest", vcpu.domain->id, vcpu.id, vector);
        return;
    }
}

void guest_return_faulted(const arch::TrapFrame& fault) {
    Vcpu& vcpu = *current_vcpu();
    FixedBuffer<96> why;
    format_to(why, "the CPU refused its return frame ({} error {:#x})", arch::exception_name(fault.vector),
              fault.error_code);
    crash_domain(vcpu, why.view());
    leave_current();
}

void exit_to_guest(arch::TrapFrame& frame) {
    maybe_reschedule();
    Vcpu* vcpu = current_vcpu();
    if (!vcpu) {
        // The vCPU was taken off (its domain ended): the run loop decides what runs next.
        leave_current();
    }
    // A virtual NMI (VCPUOP_send_nmi) goes first, through trap-table vector 2 with events
    // masked; further NMIs wait for the next HYPERVISOR_iret (§6.12).
    if (vcpu->nmi_pending && !vcpu->nmi_masked && vcpu->traps[2].address) {
        vcpu->nmi_pending = false;
        vcpu->nmi_masked = true;
        bounce_to_guest(*vcpu, frame, vcpu->traps[2].address, std::nullopt, true);
    } else {
        deliver_pending_events(*vcpu, frame);
    }
    // A crash while delivering takes the vCPU off too.
    maybe_reschedule();
}

}  // namespace xenolith
