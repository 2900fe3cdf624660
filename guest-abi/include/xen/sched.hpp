// sched_op: sub-ops, shutdown reasons and argument structs.
// Source: pv-abi-core.md §5.24; pv-abi-devices.md §1.6 (SCHEDOP_block/poll).
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/types.hpp"

namespace xen {

inline constexpr std::uint32_t SCHEDOP_yield = 0;
inline constexpr std::uint32_t SCHEDOP_block = 1;
inline constexpr std::uint32_t SCHEDOP_shutdown = 2;
inline constexpr std::uint32_t SCHEDOP_poll = 3;
inline constexpr std::uint32_t SCHEDOP_remote_shutdown = 4;
inline constexpr std::uint32_t SCHEDOP_shutdown_code = 5;
inline constexpr std::uint32_t SCHEDOP_watchdog = 6;
inline constexpr std::uint32_t SCHEDOP_pin_override = 7;

inline constexpr std::uint32_t SHUTDOWN_poweroff = 0;
inline constexpr std::uint32_t SHUTDOWN_reboot = 1;
inline constexpr std::uint32_t SHUTDOWN_suspend = 2;
inline constexpr std::uint32_t SHUTDOWN_crash = 3;
inline constexpr std::uint32_t SHUTDOWN_watchdog = 4;
inline constexpr std::uint32_t SHUTDOWN_soft_reset = 5;
inline constexpr std::uint32_t SHUTDOWN_MAX = 5;

// §5.24: at most this many ports in one SCHEDOP_poll (more -> -EINVAL).
inline constexpr std::uint32_t SCHEDOP_POLL_MAX_PORTS = 128;

struct sched_shutdown {
    std::uint32_t reason;  // SHUTDOWN_*
};
static_assert(sizeof(sched_shutdown) == 4);

struct sched_poll {
    guest_handle_t ports;  // evtchn_port_t[]
    std::uint32_t nr_ports;
    std::uint32_t pad;
    std::uint64_t timeout;  // absolute system time, 0 = none
};
static_assert(sizeof(sched_poll) == 24);
static_assert(offsetof(sched_poll, ports) == 0);
static_assert(offsetof(sched_poll, nr_ports) == 8);
static_assert(offsetof(sched_poll, timeout) == 16);

struct sched_remote_shutdown {
    domid_t domain_id;
    std::uint16_t pad;
    std::uint32_t reason;
};
static_assert(sizeof(sched_remote_shutdown) == 8);
static_assert(offsetof(sched_remote_shutdown, domain_id) == 0);
static_assert(offsetof(sched_remote_shutdown, reason) == 4);

struct sched_watchdog {
    std::uint32_t id;
    std::uint32_t timeout;  // seconds
};
static_assert(sizeof(sched_watchdog) == 8);
static_assert(offsetof(sched_watchdog, timeout) == 4);

struct sched_pin_override {
    std::int32_t pcpu;
};
static_assert(sizeof(sched_pin_override) == 4);

}  // namespace xen
