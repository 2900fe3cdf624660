// 2-level event channel bits as a test kernel reads and changes them in shared_info
// (pv-abi-devices.md §1.6), and a wait that uses SCHEDOP_poll or blocking with upcalls.
#pragma once

#include <cstdint>

#include "xen/event_channel.hpp"
#include "xt/guest.hpp"
#include "xt/hypercall.hpp"

namespace xt {

inline std::uint64_t* pending_word(xen::evtchn_port_t port) { return &shared_info()->evtchn_pending[port / 64]; }
inline std::uint64_t* mask_word(xen::evtchn_port_t port) { return &shared_info()->evtchn_mask[port / 64]; }
inline std::uint64_t port_bit(xen::evtchn_port_t port) { return std::uint64_t{1} << (port % 64); }

inline bool port_pending(xen::evtchn_port_t port) {
    return (__atomic_load_n(pending_word(port), __ATOMIC_SEQ_CST) & port_bit(port)) != 0;
}
inline bool test_and_clear_pending(xen::evtchn_port_t port) {
    return (__atomic_fetch_and(pending_word(port), ~port_bit(port), __ATOMIC_SEQ_CST) & port_bit(port)) != 0;
}
inline void mask_port(xen::evtchn_port_t port) { __atomic_fetch_or(mask_word(port), port_bit(port), __ATOMIC_SEQ_CST); }
inline bool port_masked(xen::evtchn_port_t port) {
    return (__atomic_load_n(mask_word(port), __ATOMIC_SEQ_CST) & port_bit(port)) != 0;
}
// The hypervisor's unmask (§1.6): clears the mask and raises the upcall if the port is pending.
inline long unmask_port(xen::evtchn_port_t port) {
    xen::evtchn_unmask arg{port};
    return event_channel_op(xen::EVTCHNOP_unmask, &arg);
}

inline std::uint32_t port_status(xen::evtchn_port_t port, xen::evtchn_status* out = nullptr) {
    xen::evtchn_status status{xen::DOMID_SELF, 0, port, 0xffffffffu, 0, {}};
    if (event_channel_op(xen::EVTCHNOP_status, &status) != 0) {
        return 0xffffffffu;
    }
    if (out != nullptr) {
        *out = status;
    }
    return status.status;
}

// With events masked: wait in SCHEDOP_poll until `port` is pending, then clear it. False if
// the system-time deadline passed first.
inline bool poll_and_clear(xen::evtchn_port_t port, std::uint64_t deadline) {
    for (;;) {
        if (test_and_clear_pending(port)) {
            return true;
        }
        if (system_time_ns() > deadline) {
            return false;
        }
        xen::evtchn_port_t ports[1] = {port};
        sched_poll(ports, 1, deadline);
    }
}

}  // namespace xt
