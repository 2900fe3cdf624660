// Bounce frames and mode toggles (pv-abi-core.md §6.2-§6.4).
#include "pv/bounce.hpp"

#include "arch/x86_64/guest_context.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/msr.hpp"
#include "core/console.hpp"
#include "domain/domain.hpp"
#include "lib/format.hpp"
#include "pv/guest_memory.hpp"
#include "xen/arch_x86_64.hpp"

namespace xenolith {

namespace {
constexpr std::uint64_t RFLAGS_IF = 1u << 9;
constexpr std::uint64_t RFLAGS_IOPL = 3u << 12;
// Cleared on entry to a guest handler: TF, NT, RF, VM, AC (§6.4).
constexpr std::uint64_t RFLAGS_HANDLER_CLEAR = (1u << 8) | (1u << 14) | (1u << 16) | (1u << 17) | (1u << 18);
}  // namespace

void toggle_guest_mode(Vcpu& vcpu) {
    vcpu.kernel_mode = !vcpu.kernel_mode;
    arch::wrmsr(arch::msr::GS_BASE, vcpu.kernel_mode ? vcpu.gs_base_kernel : vcpu.gs_base_user);
    arch::write_cr3(arch::active_root(vcpu));
}

bool bounce_to_guest(Vcpu& vcpu, arch::TrapFrame& frame, std::uint64_t handler, std::optional<std::uint64_t> error_code,
                     bool mask_events) {
    if (!handler) {
        crash_domain(vcpu, "no guest handler to deliver to");
        return false;
    }
    xen::vcpu_info& info = *vcpu.vcpu_info;
    const std::uint8_t saved_mask = __atomic_load_n(&info.evtchn_upcall_mask, __ATOMIC_RELAXED);

    // The interrupted context as the guest kernel must see it.
    std::uint64_t cs = frame.cs;
    if (vcpu.kernel_mode)
        cs &= ~std::uint64_t{3};  // "interrupted in kernel mode" (§6.4)
    const std::uint64_t rflags = (frame.rflags & ~(RFLAGS_IF | RFLAGS_IOPL)) | (saved_mask ? 0 : RFLAGS_IF);

    std::uint64_t stack = frame.rsp;
    if (!vcpu.kernel_mode) {
        toggle_guest_mode(vcpu);
        stack = vcpu.kernel_sp;
    }
    stack &= ~std::uint64_t{15};

    std::uint64_t words[9];
    unsigned n = 0;
    words[n++] = frame.rcx;
    words[n++] = frame.r11;
    if (error_code)
        words[n++] = *error_code & 0xffffffff;
    words[n++] = frame.rip;
    words[n++] = cs | (std::uint64_t{saved_mask} << 32);
    words[n++] = rflags;
    words[n++] = frame.rsp;
    words[n++] = frame.ss;
    const std::uint64_t new_rsp = stack - n * 8;
    if (stack < n * 8 || copy_to_guest(new_rsp, words, n * 8).is_error()) {
        FixedBuffer<96> why;
        format_to(why, "cannot write a bounce frame at {:#x} (handler {:#x})", new_rsp, handler);
        crash_domain(vcpu, why.view());
        return false;
    }
    if (mask_events)
        __atomic_store_n(&info.evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);

    frame.rip = handler;
    frame.cs = xen::FLAT_KERNEL_CS;
    frame.ss = xen::FLAT_KERNEL_SS;
    frame.rsp = new_rsp;
    frame.rflags = (frame.rflags & ~(RFLAGS_HANDLER_CLEAR | RFLAGS_IOPL)) | RFLAGS_IF | 2;
    return true;
}

bool inject_exception(Vcpu& vcpu, arch::TrapFrame& frame, unsigned vector, std::optional<std::uint64_t> error_code) {
    const GuestTrap& trap = vcpu.traps[vector & 0xff];
    if (!trap.address) {
        FixedBuffer<96> why;
        format_to(why, "exception {} (error {:#x}) with no handler in the trap table", vector, error_code.value_or(0));
        crash_domain(vcpu, why.view());
        return false;
    }
    return bounce_to_guest(vcpu, frame, trap.address, error_code, trap.flags & 4);
}

}  // namespace xenolith
