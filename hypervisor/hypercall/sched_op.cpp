// sched_op (29) and sched_op_compat (6): yield, block, poll, shutdown (pv-abi-core.md §5.24).
#include "arch/x86_64/tsc.hpp"
#include "core/cpu.hpp"
#include "core/irq_lock.hpp"
#include "domain/domain.hpp"
#include "event/event_channel.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/guest_memory.hpp"
#include "pv/time.hpp"
#include "sched/scheduler.hpp"
#include "xen/sched.hpp"

namespace xenolith {

namespace {

bool upcall_deliverable(Vcpu& vcpu) {
    return __atomic_load_n(&vcpu.vcpu_info->evtchn_upcall_pending, __ATOMIC_SEQ_CST);
}

// Block until an event is pending. Marking the vCPU Blocked is all it takes: the exit path
// (maybe_reschedule) takes a vCPU that is no longer runnable off the CPU once the hypercall -
// or its multicall batch - has completed, and it resumes from its saved frame when woken.
std::int64_t block(HypercallContext& c) {
    Vcpu& vcpu = c.vcpu;
    // §5.24: block enables events, then sleeps unless one is already pending.
    __atomic_store_n(&vcpu.vcpu_info->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
    vcpu.state.store(VcpuState::Blocked);
    // Re-check after publishing Blocked: a sender that saw Runnable did not wake us. A sender
    // that saw Blocked made us Runnable itself; never overwrite that.
    if (upcall_deliverable(vcpu)) {
        VcpuState blocked = VcpuState::Blocked;
        vcpu.state.compare_exchange(blocked, VcpuState::Runnable);
    }
    return 0;
}

void poll_timeout(Timer& timer) {
    Vcpu& vcpu = *static_cast<Vcpu*>(timer.context);
    VcpuState blocked = VcpuState::Blocked;
    if (vcpu.state.compare_exchange(blocked, VcpuState::Runnable))
        wake_vcpu(vcpu);
}

std::int64_t poll(HypercallContext& c) {
    Vcpu& vcpu = c.vcpu;
    auto request = GuestPtr<xen::sched_poll>(c.arg(1)).read();
    if (!request)
        return xen::negated(request.error());
    if (request->nr_ports > xen::SCHEDOP_POLL_MAX_PORTS)
        return xen::negated(Errno::EINVAL);
    std::uint32_t ports[xen::SCHEDOP_POLL_MAX_PORTS];
    if (auto copied = copy_from_guest(ports, request->ports, request->nr_ports * sizeof(std::uint32_t)); !copied)
        return xen::negated(copied.error());
    for (std::uint32_t i = 0; i < request->nr_ports; ++i) {
        if (ports[i] >= MAX_PORTS_PER_DOMAIN)
            return xen::negated(Errno::EINVAL);
    }
    vcpu.poll_port_count = request->nr_ports;
    vcpu.state.store(VcpuState::Blocked);
    bool ready = upcall_deliverable(vcpu) && !vcpu.vcpu_info->evtchn_upcall_mask;
    for (std::uint32_t i = 0; i < request->nr_ports && !ready; ++i)
        ready = port_pending(*vcpu.domain, ports[i]);
    if (ready || (request->timeout && request->timeout <= arch::system_time_ns())) {
        vcpu.poll_port_count = 0;
        VcpuState blocked = VcpuState::Blocked;
        vcpu.state.compare_exchange(blocked, VcpuState::Runnable);
        return 0;
    }
    if (request->timeout) {
        vcpu.poll_timer.context = &vcpu;
        vcpu.poll_timer.callback = poll_timeout;
        timer_set(vcpu.poll_timer, request->timeout);
    }
    return 0;  // blocked: the exit path takes the vCPU off the CPU (see block())
}

std::int64_t shutdown(Vcpu& vcpu, std::uint32_t reason) {
    if (reason > xen::SHUTDOWN_MAX)
        return xen::negated(Errno::EINVAL);
    shutdown_domain(*vcpu.domain, reason);
    return 0;  // the exit path takes this vCPU off the CPU
}

}  // namespace

std::int64_t do_sched_op(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    Vcpu& vcpu = c.vcpu;
    switch (command) {
    case xen::SCHEDOP_yield:
        // The switch happens on the way back to the guest (maybe_reschedule), once this
        // hypercall - or the multicall batch it is part of - has completed (§4.6).
        vcpu.yield_requested = true;
        this_cpu().need_reschedule = true;
        return 0;
    case xen::SCHEDOP_block: return block(c);
    case xen::SCHEDOP_shutdown: {
        auto request = GuestPtr<xen::sched_shutdown>(c.arg(1)).read();
        if (!request)
            return xen::negated(request.error());
        return shutdown(vcpu, request->reason);
    }
    case xen::SCHEDOP_poll: return poll(c);
    case xen::SCHEDOP_remote_shutdown: {
        if (!vcpu.domain->privileged)
            return xen::negated(Errno::EPERM);
        auto request = GuestPtr<xen::sched_remote_shutdown>(c.arg(1)).read();
        if (!request)
            return xen::negated(request.error());
        if (request->reason > xen::SHUTDOWN_MAX)
            return xen::negated(Errno::EINVAL);
        Domain* target = find_domain(request->domain_id);
        if (!target)
            return xen::negated(Errno::ESRCH);
        shutdown_domain(*target, request->reason);
        return 0;
    }
    case xen::SCHEDOP_shutdown_code: {
        auto request = GuestPtr<xen::sched_shutdown>(c.arg(1)).read();
        if (!request)
            return xen::negated(request.error());
        if (request->reason > xen::SHUTDOWN_MAX)
            return xen::negated(Errno::EINVAL);
        Domain& domain = *vcpu.domain;
        IrqLockGuard guard(domain.lock);
        if (!domain.shutdown_code_set) {  // §5.24: the first setter wins
            domain.shutdown_code_set = true;
            domain.shutdown_code = request->reason;
        }
        return 0;
    }
    case xen::SCHEDOP_watchdog: return xen::negated(Errno::ENOSYS);
    case xen::SCHEDOP_pin_override: return xen::negated(Errno::EPERM);
    default: return xen::negated(Errno::ENOSYS);
    }
}

std::int64_t do_sched_op_compat(HypercallContext& c) {
    // §5.24: the legacy form passes the shutdown reason directly in the second argument.
    switch (c.arg(0) & 0xffffffff) {
    case xen::SCHEDOP_yield:
    case xen::SCHEDOP_block: return do_sched_op(c);
    case xen::SCHEDOP_shutdown: return shutdown(c.vcpu, static_cast<std::uint32_t>(c.arg(1)));
    default: return xen::negated(Errno::ENOSYS);
    }
}

}  // namespace xenolith
