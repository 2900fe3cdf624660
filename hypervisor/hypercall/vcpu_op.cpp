// vcpu_op (24): bring vCPUs up and down, their timers, runstate and vcpu_info placement
// (pv-abi-core.md §5.19, §9.1).
#include <cstddef>

#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/tsc.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "mm/page_ref.hpp"
#include "mm/pv_mm.hpp"
#include "pv/descriptors.hpp"
#include "pv/guest_memory.hpp"
#include "pv/runstate.hpp"
#include "pv/time.hpp"
#include "sched/scheduler.hpp"
#include "xen/arch_x86_64.hpp"
#include "xen/vcpu.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t MIN_PERIOD_NS = 1'000'000;  // §5.19: period < 1 ms -> -EINVAL

bool canonical(std::uint64_t address) {
    return address < 0x0000800000000000ull || address >= 0xffff800000000000ull;
}

// VCPUOP_initialise: decode the whole context before changing the vCPU.
Result<void> initialise(Vcpu& target, std::uint64_t address) {
    if (target.initialised)
        return Error{Errno::EEXIST};
    using Context = xen::vcpu_guest_context;
    const auto flags = TRY(GuestPtr<std::uint64_t>(address + offsetof(Context, flags)).read());
    const auto regs = TRY(GuestPtr<xen::cpu_user_regs>(address + offsetof(Context, user_regs)).read());
    std::uint64_t ctrlreg[8], callbacks[3], bases[3];
    TRY(copy_from_guest(ctrlreg, address + offsetof(Context, ctrlreg), sizeof(ctrlreg)));
    TRY(copy_from_guest(callbacks, address + offsetof(Context, event_callback_eip), sizeof(callbacks)));
    TRY(copy_from_guest(bases, address + offsetof(Context, fs_base), sizeof(bases)));
    const auto kernel_ss = TRY(GuestPtr<std::uint64_t>(address + offsetof(Context, kernel_ss)).read());
    const auto kernel_sp = TRY(GuestPtr<std::uint64_t>(address + offsetof(Context, kernel_sp)).read());
    const auto gdt_ents = TRY(GuestPtr<std::uint64_t>(address + offsetof(Context, gdt_ents)).read());
    std::uint64_t gdt_frames[GUEST_GDT_PAGES];
    TRY(copy_from_guest(gdt_frames, address + offsetof(Context, gdt_frames), sizeof(gdt_frames)));
    xen::trap_info traps[xen::NR_VECTORS];
    TRY(copy_from_guest(traps, address + offsetof(Context, trap_ctxt), sizeof(traps)));

    if (!canonical(regs.rip) || !canonical(regs.rsp) || !canonical(callbacks[0]) || !canonical(callbacks[1]) ||
        !canonical(callbacks[2]) || !canonical(bases[0]) || !canonical(bases[1]) || !canonical(bases[2]))
        return Error{Errno::EINVAL};
    if (gdt_ents > GUEST_GDT_MAX_ENTRIES || !ctrlreg[3])
        return Error{Errno::EINVAL};
    // The page-table bases take L4 type references (validating them) and the GDT frames
    // descriptor references, exactly as NEW_BASEPTR and set_gdt would; on any failure every
    // reference taken is dropped again and the vCPU is left as it was.
    const unsigned gdt_count = static_cast<unsigned>((gdt_ents + 511) / 512);
    const std::uint64_t kernel_mfn = ctrlreg[3] >> 12, user_mfn = ctrlreg[1] >> 12;
    {
        MmLockGuard guard;
        const DomainId owner = target.domain->id;
        TRY(page_refs().get_page_and_type(kernel_mfn, owner, PageType::L4));
        if (user_mfn) {
            if (auto taken = page_refs().get_page_and_type(user_mfn, owner, PageType::L4); !taken) {
                page_refs().put_page_and_type(kernel_mfn);
                return taken;
            }
        }
        for (unsigned i = 0; i < gdt_count; ++i) {
            if (page_refs().get_page_and_type(gdt_frames[i], owner, PageType::SegDesc).is_error()) {
                for (unsigned j = 0; j < i; ++j)
                    page_refs().put_page_and_type(gdt_frames[j]);
                if (user_mfn)
                    page_refs().put_page_and_type(user_mfn);
                page_refs().put_page_and_type(kernel_mfn);
                return Error{Errno::EINVAL};
            }
        }
        for (unsigned i = 0; i < gdt_count; ++i)
            target.gdt_frames[i] = gdt_frames[i];
        target.gdt_frame_count = gdt_count;
    }

    arch::TrapFrame& f = target.regs;
    f = arch::TrapFrame{};
    f.r15 = regs.r15, f.r14 = regs.r14, f.r13 = regs.r13, f.r12 = regs.r12;
    f.rbp = regs.rbp, f.rbx = regs.rbx, f.r11 = regs.r11, f.r10 = regs.r10;
    f.r9 = regs.r9, f.r8 = regs.r8, f.rax = regs.rax, f.rcx = regs.rcx;
    f.rdx = regs.rdx, f.rsi = regs.rsi, f.rdi = regs.rdi;
    f.rip = regs.rip;
    // The guest runs on the flat ring-3 selectors whatever it asks for (no guest GDT yet).
    f.cs = xen::FLAT_KERNEL_CS;
    f.ss = xen::FLAT_KERNEL_SS;
    f.rsp = regs.rsp;
    f.rflags = 0x202;
    // §9.1: the context's IOPL is the new vCPU's virtual IOPL (Linux passes IOPL 1 so its port
    // I/O, emulated under the virtual IOPL, works on every CPU).
    target.virtual_iopl = static_cast<std::uint32_t>((regs.rflags >> 12) & 3);
    target.kernel_mode = true;  // a PV vCPU always starts in guest kernel mode (§2.7)
    target.kernel_root = kernel_mfn << 12;
    target.user_root = user_mfn << 12;
    target.kernel_ss = kernel_ss | 3;
    target.kernel_sp = kernel_sp;
    target.fs_base = bases[0];
    target.gs_base_kernel = bases[1];
    target.gs_base_user = bases[2];
    target.callbacks = GuestCallbacks{};
    target.callbacks.event = callbacks[0];
    target.callbacks.failsafe = callbacks[1];
    target.callbacks.syscall = callbacks[2];
    target.callbacks.failsafe_masks_events = flags & xen::VGCF_failsafe_disables_events;
    target.callbacks.syscall_masks_events = flags & xen::VGCF_syscall_disables_events;
    for (GuestTrap& trap : target.traps)
        trap = GuestTrap{};
    for (const xen::trap_info& t : traps) {
        if (t.address && canonical(t.address))
            target.traps[t.vector] = {t.address, static_cast<std::uint16_t>(t.cs | 3), t.flags};
    }
    target.initialised = true;
    return ok();
}

// VCPUOP_register_vcpu_info: move the vcpu_info into a page of the domain's own.
Result<void> register_vcpu_info(Vcpu& target, std::uint64_t address) {
    const auto request = TRY(GuestPtr<xen::vcpu_register_vcpu_info>(address).read());
    if (target.vcpu_info_registered)
        return Error{Errno::EBUSY};
    if ((request.offset & 7) || request.offset > 4096 - sizeof(xen::vcpu_info))
        return Error{Errno::EINVAL};
    Domain& domain = *target.domain;
    {
        // §5.19: the page takes a writable type reference, held while the vcpu_info is there.
        MmLockGuard guard;
        if (auto taken = page_refs().get_page_and_type(request.mfn, domain.id, PageType::Writable); !taken)
            return Error{Errno::EINVAL};
    }
    target.vcpu_info_mfn = request.mfn;
    auto* info = reinterpret_cast<xen::vcpu_info*>(static_cast<std::uint8_t*>(arch::phys_to_virt(request.mfn << 12)) +
                                                   request.offset);
    *info = *target.vcpu_info;
    // §5.19: a spurious upcall, so nothing pending is lost in the move.
    info->evtchn_pending_sel = ~std::uint64_t{0};
    info->evtchn_upcall_pending = 1;
    target.vcpu_info = info;
    target.vcpu_info_registered = true;
    update_vcpu_time(target);
    return ok();
}

Result<void> write_runstate(Vcpu& vcpu, std::uint64_t address) {
    return GuestPtr<xen::vcpu_runstate_info>(address).write(runstate_now(vcpu));
}

}  // namespace

std::int64_t do_vcpu_op(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    const std::uint64_t id = c.arg(1) & 0xffffffff;
    const std::uint64_t argument = c.arg(2);
    Domain& domain = *c.vcpu.domain;
    if (id >= domain.vcpu_count)
        return xen::negated(Errno::ENOENT);  // §5.19: Linux probes vCPUs this way
    Vcpu& target = *domain.vcpus[id];
    const bool self = &target == &c.vcpu;

    switch (command) {
    case xen::VCPUOP_initialise: return to_return(initialise(target, argument));
    case xen::VCPUOP_up:
        if (!target.initialised)
            return xen::negated(Errno::EINVAL);
        if (target.state.load() == VcpuState::Down) {
            target.state.store(VcpuState::Runnable);
            wake_vcpu(target);
        }
        return 0;
    case xen::VCPUOP_down: {
        target.state.store(VcpuState::Down);
        bool any_up = false;
        for (unsigned i = 0; i < domain.vcpu_count; ++i)
            any_up |= domain.vcpus[i]->state.load() != VcpuState::Down;
        if (!any_up)
            shutdown_domain(domain, 0);  // §5.19: downing the last vCPU powers the domain off
        else if (!self)
            deschedule_vcpu(target);
        return 0;  // for itself, the exit path takes it off the CPU
    }
    case xen::VCPUOP_is_up: return target.state.load() != VcpuState::Down ? 1 : 0;
    case xen::VCPUOP_get_runstate_info: return to_return(write_runstate(target, argument));
    case xen::VCPUOP_register_runstate_memory_area: {
        auto area = GuestPtr<xen::vcpu_register_runstate_memory_area>(argument).read();
        if (!area)
            return xen::negated(area.error());
        if (area->addr && !is_guest_range(area->addr, sizeof(xen::vcpu_runstate_info)))
            return xen::negated(Errno::EFAULT);
        target.runstate_area = area->addr;
        // §5.19: the runstate is copied there at registration (Linux BUG()s on failure).
        return area->addr ? to_return(write_runstate(target, area->addr)) : 0;
    }
    case xen::VCPUOP_set_periodic_timer: {
        auto period = GuestPtr<xen::vcpu_set_periodic_timer>(argument).read();
        if (!period)
            return xen::negated(period.error());
        if (period->period_ns < MIN_PERIOD_NS)
            return xen::negated(Errno::EINVAL);
        set_periodic_timer(target, period->period_ns);
        return 0;
    }
    case xen::VCPUOP_stop_periodic_timer: set_periodic_timer(target, 0); return 0;
    case xen::VCPUOP_set_singleshot_timer: {
        if (!self)
            return xen::negated(Errno::EINVAL);
        auto timer = GuestPtr<xen::vcpu_set_singleshot_timer>(argument).read();
        if (!timer)
            return xen::negated(timer.error());
        // A deadline in the past fires at once (current Xen ignores VCPU_SSHOTTMR_future).
        set_singleshot_timer(target, timer->timeout_abs_ns ? timer->timeout_abs_ns : 1);
        return 0;
    }
    case xen::VCPUOP_stop_singleshot_timer:
        if (!self)
            return xen::negated(Errno::EINVAL);
        set_singleshot_timer(target, 0);
        return 0;
    case xen::VCPUOP_register_vcpu_info: return to_return(register_vcpu_info(target, argument));
    case xen::VCPUOP_send_nmi:
        target.nmi_pending = true;
        kick_vcpu(target);
        return 0;
    case xen::VCPUOP_get_physid: return xen::negated(Errno::EINVAL);
    case xen::VCPUOP_register_vcpu_time_memory_area: return xen::negated(Errno::ENOSYS);
    default: return xen::negated(Errno::ENOSYS);
    }
}

}  // namespace xenolith
