// The hypercall table and the guest-syscall entry point.
#include "hypercall/hypercall.hpp"

#include "domain/domain.hpp"
#include "hypercall/unimplemented.hpp"
#include "pv/bounce.hpp"
#include "sched/scheduler.hpp"
#include "xen/hypercall.hpp"

namespace xenolith {

namespace {

constexpr unsigned TABLE_SIZE = 64;

constexpr auto make_table() {
    struct Table {
        HypercallHandler handlers[TABLE_SIZE] = {};
    } t;
    t.handlers[xen::HYPERVISOR_set_trap_table] = do_set_trap_table;
    t.handlers[xen::HYPERVISOR_stack_switch] = do_stack_switch;
    t.handlers[xen::HYPERVISOR_set_callbacks] = do_set_callbacks;
    t.handlers[xen::HYPERVISOR_fpu_taskswitch] = do_fpu_taskswitch;
    t.handlers[xen::HYPERVISOR_sched_op_compat] = do_sched_op_compat;
    t.handlers[xen::HYPERVISOR_set_debugreg] = do_set_debugreg;
    t.handlers[xen::HYPERVISOR_get_debugreg] = do_get_debugreg;
    t.handlers[xen::HYPERVISOR_multicall] = do_multicall;
    t.handlers[xen::HYPERVISOR_set_timer_op] = do_set_timer_op;
    t.handlers[xen::HYPERVISOR_xen_version] = do_xen_version;
    t.handlers[xen::HYPERVISOR_console_io] = do_console_io;
    t.handlers[xen::HYPERVISOR_vm_assist] = do_vm_assist;
    t.handlers[xen::HYPERVISOR_iret] = do_iret;
    t.handlers[xen::HYPERVISOR_vcpu_op] = do_vcpu_op;
    t.handlers[xen::HYPERVISOR_set_segment_base] = do_set_segment_base;
    t.handlers[xen::HYPERVISOR_nmi_op] = do_nmi_op;
    t.handlers[xen::HYPERVISOR_sched_op] = do_sched_op;
    t.handlers[xen::HYPERVISOR_callback_op] = do_callback_op;
    t.handlers[xen::HYPERVISOR_event_channel_op] = do_event_channel_op;
    t.handlers[xen::HYPERVISOR_physdev_op] = do_physdev_op;
    t.handlers[xen::HYPERVISOR_xenpmu_op] = do_xenpmu_op;
    t.handlers[xen::HYPERVISOR_platform_op] = do_platform_op;
    t.handlers[xen::HYPERVISOR_mmu_update] = do_mmu_update;
    t.handlers[xen::HYPERVISOR_mmuext_op] = do_mmuext_op;
    t.handlers[xen::HYPERVISOR_update_va_mapping] = do_update_va_mapping;
    t.handlers[xen::HYPERVISOR_update_va_mapping_otherdomain] = do_update_va_mapping_otherdomain;
    t.handlers[xen::HYPERVISOR_memory_op] = do_memory_op;
    t.handlers[xen::HYPERVISOR_set_gdt] = do_set_gdt;
    t.handlers[xen::HYPERVISOR_update_descriptor] = do_update_descriptor;
    t.handlers[xen::HYPERVISOR_domctl] = do_domctl;
    return t;
}
constexpr auto HYPERCALLS = make_table();

// §6.5: a `syscall` in guest user mode enters the guest kernel's syscall callback.
void deliver_user_syscall(Vcpu& vcpu, arch::TrapFrame& frame) {
    if (!vcpu.callbacks.syscall) {
        // No callback: #UD at the syscall instruction.
        frame.rip -= 2;
        inject_exception(vcpu, frame, 6, std::nullopt);
        return;
    }
    constexpr std::uint64_t RFLAGS_DF = 1u << 10;
    frame.rflags &= ~RFLAGS_DF;  // "the PV ABI hardcodes that DF is cleared"
    bounce_to_guest(vcpu, frame, vcpu.callbacks.syscall, std::nullopt, vcpu.callbacks.syscall_masks_events);
}

}  // namespace

void arrange_continuation(HypercallContext& c, std::uint64_t arg0, std::uint64_t arg1, std::uint64_t arg2,
                          std::uint64_t arg3) {
    c.frame.rdi = arg0;
    c.frame.rsi = arg1;
    c.frame.rdx = arg2;
    c.frame.r10 = arg3;
    c.frame.rip -= 2;  // back onto the 2-byte `syscall`; rax still holds the number
    c.continued = true;
}

std::int64_t dispatch_hypercall(Vcpu& vcpu, arch::TrapFrame& frame, std::uint64_t number, bool may_continue,
                                bool* continued) {
    HypercallContext context{vcpu, frame, may_continue};
    const HypercallHandler handler = number < TABLE_SIZE ? HYPERCALLS.handlers[number] : nullptr;
    const std::int64_t result = handler ? handler(context) : xen::negated(Errno::ENOSYS);
    if (continued)
        *continued = context.continued;
    if (result == xen::negated(Errno::ENOSYS))
        report_unimplemented(context, number);
    return result;
}

void handle_guest_syscall(arch::TrapFrame& frame) {
    Vcpu& vcpu = *current_vcpu();
    if (!vcpu.kernel_mode) {
        deliver_user_syscall(vcpu, frame);
        return;
    }
    record_hypercall(vcpu, frame);
    const std::uint64_t number = frame.rax;
    bool continued = false;
    const std::int64_t result = dispatch_hypercall(vcpu, frame, number, true, &continued);
    if (number != xen::HYPERVISOR_iret && !continued)
        frame.rax = static_cast<std::uint64_t>(result);
    vcpu.trail[(vcpu.trail_next + HYPERCALL_TRAIL - 1) % HYPERCALL_TRAIL].result = result;
}

}  // namespace xenolith
