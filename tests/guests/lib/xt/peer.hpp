// Two test domains on one pCPU that must run interleaved: an interdomain event channel between
// them (pv-abi-devices.md §1.1) and a yield that tells whether the other one ran meanwhile.
#pragma once

#include <cstdint>

#include "xen/vcpu.hpp"
#include "xt/evtchn.hpp"
#include "xt/test.hpp"

namespace xt {

// The offerer allocates a port for its peer and waits until the peer has bound to it (the
// binder tries each of the offerer's first ports until one binds, yielding between tries). Returns our end, not
// pending, or 0 if the channel did not come up before the system-time deadline.
inline xen::evtchn_port_t connect_peer(bool offerer, std::uint16_t peer, std::uint64_t deadline) {
    if (offerer) {
        // Wait for the peer to bind: until then a send on the port would be dropped.
        xen::evtchn_alloc_unbound alloc{xen::DOMID_SELF, peer, 0};
        if (event_channel_op(xen::EVTCHNOP_alloc_unbound, &alloc) != 0) {
            return 0;
        }
        while (port_status(alloc.port) != xen::EVTCHNSTAT_interdomain) {
            if (system_time_ns() >= deadline) {
                return 0;
            }
            sched_yield();
        }
        return alloc.port;
    }
    xen::evtchn_bind_interdomain bind{peer, 0, 0, 0};
    while (system_time_ns() < deadline) {
        for (xen::evtchn_port_t remote = 1; remote < 64; ++remote) {
            bind.remote_port = remote;
            if (event_channel_op(xen::EVTCHNOP_bind_interdomain, &bind) == 0) {
                // The new port starts pending (the binding is announced): that is no message.
                test_and_clear_pending(bind.local_port);
                return bind.local_port;
            }
        }
        sched_yield();
    }
    return 0;
}

// SCHEDOP_yield, and whether another vCPU ran before we got the CPU back: our runnable time
// grew (a yield with nobody waiting keeps the CPU).
inline bool yield_to_peer() {
    xen::vcpu_runstate_info before{}, after{};
    vcpu_op(xen::VCPUOP_get_runstate_info, 0, &before);
    sched_yield();
    vcpu_op(xen::VCPUOP_get_runstate_info, 0, &after);
    return after.time[xen::RUNSTATE_runnable] > before.time[xen::RUNSTATE_runnable];
}

}  // namespace xt
