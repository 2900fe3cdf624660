// HYPERVISOR_iret (23): return from a guest exception or event handler, possibly to user mode
// (pv-abi-core.md §6.9).
#include "core/console.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/bounce.hpp"
#include "pv/guest_memory.hpp"
#include "xen/arch_x86_64.hpp"

namespace xenolith {

namespace {
constexpr std::uint64_t RFLAGS_IF = 1u << 9;
// The flags a guest may set through iret: the arithmetic flags, TF, DF, OF, NT, RF, AC, ID.
// IOPL and VM never reach the hardware (§6.9 step 3); IF is virtual.
constexpr std::uint64_t RFLAGS_GUEST_SETTABLE = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4000 |
                                                0x10000 | 0x40000 | 0x200000;
}  // namespace

std::int64_t do_iret(HypercallContext& c) {
    Vcpu& vcpu = c.vcpu;
    arch::TrapFrame& frame = c.frame;
    auto context = GuestPtr<xen::iret_context>(frame.rsp).read();
    if (!context) {
        crash_domain(vcpu, "HYPERVISOR_iret with an unreadable frame");
        return 0;
    }
    const bool to_user = (context->cs & 3) == 3;
    if (to_user && !vcpu.user_root) {
        crash_domain(vcpu, "HYPERVISOR_iret to user mode without a user page table");
        return 0;
    }
    if (to_user && vcpu.kernel_mode)
        toggle_guest_mode(vcpu);

    frame.rip = context->rip;
    frame.cs = context->cs | 3;
    frame.ss = context->ss | 3;
    frame.rsp = context->rsp;
    frame.rflags = (context->rflags & RFLAGS_GUEST_SETTABLE) | RFLAGS_IF | 2;
    if (!(context->flags & xen::VGCF_in_syscall)) {
        frame.r11 = context->r11;
        frame.rcx = context->rcx;
    }
    frame.rax = context->rax;
    // Step 5: the virtual interrupt flag comes back from the saved RFLAGS.IF.
    __atomic_store_n(&vcpu.vcpu_info->evtchn_upcall_mask, (context->rflags & RFLAGS_IF) ? 0 : 1, __ATOMIC_SEQ_CST);
    vcpu.nmi_masked = false;
    return static_cast<std::int64_t>(context->rax);
}

}  // namespace xenolith
