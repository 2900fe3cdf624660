// Upcall delivery and vCPU notification.
#include "pv/events.hpp"

#include "domain/domain.hpp"
#include "pv/bounce.hpp"
#include "sched/scheduler.hpp"

namespace xenolith {

void deliver_pending_events(Vcpu& vcpu, arch::TrapFrame& frame) {
    xen::vcpu_info& info = *vcpu.vcpu_info;
    if (!__atomic_load_n(&info.evtchn_upcall_pending, __ATOMIC_SEQ_CST) ||
        __atomic_load_n(&info.evtchn_upcall_mask, __ATOMIC_SEQ_CST))
        return;
    if (!vcpu.callbacks.event)
        return;  // nothing registered yet: the upcall stays pending (§2.7: events start masked)
    // The event callback always runs with events masked (§5.6).
    bounce_to_guest(vcpu, frame, vcpu.callbacks.event, std::nullopt, true);
}

void notify_vcpu(Vcpu& vcpu) {
    __atomic_store_n(&vcpu.vcpu_info->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
    VcpuState blocked = VcpuState::Blocked;
    if (vcpu.state.compare_exchange(blocked, VcpuState::Runnable))
        wake_vcpu(vcpu);
    else if (vcpu.running.load())
        kick_vcpu(vcpu);
}

}  // namespace xenolith
