// event_channel_op: sub-ops, argument structs, port states and virtual IRQ numbers.
// Source: pv-abi-devices.md §1.1-§1.5; pv-abi-core.md §5.25.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/types.hpp"

namespace xen {

// §1.1: event_channel_op (hypercall 32) sub-ops. Unknown -> -ENOSYS.
inline constexpr std::uint32_t EVTCHNOP_bind_interdomain = 0;
inline constexpr std::uint32_t EVTCHNOP_bind_virq = 1;
inline constexpr std::uint32_t EVTCHNOP_bind_pirq = 2;
inline constexpr std::uint32_t EVTCHNOP_close = 3;
inline constexpr std::uint32_t EVTCHNOP_send = 4;
inline constexpr std::uint32_t EVTCHNOP_status = 5;
inline constexpr std::uint32_t EVTCHNOP_alloc_unbound = 6;
inline constexpr std::uint32_t EVTCHNOP_bind_ipi = 7;
inline constexpr std::uint32_t EVTCHNOP_bind_vcpu = 8;
inline constexpr std::uint32_t EVTCHNOP_unmask = 9;
inline constexpr std::uint32_t EVTCHNOP_reset = 10;
inline constexpr std::uint32_t EVTCHNOP_init_control = 11;  // FIFO ABI
inline constexpr std::uint32_t EVTCHNOP_expand_array = 12;  // FIFO ABI
inline constexpr std::uint32_t EVTCHNOP_set_priority = 13;  // FIFO ABI
// 14 (reset_cont) is a hypervisor-internal continuation, not guest ABI.

// §1.2: EVTCHNSTAT values reported by EVTCHNOP_status.
inline constexpr std::uint32_t EVTCHNSTAT_closed = 0;
inline constexpr std::uint32_t EVTCHNSTAT_unbound = 1;
inline constexpr std::uint32_t EVTCHNSTAT_interdomain = 2;
inline constexpr std::uint32_t EVTCHNSTAT_pirq = 3;
inline constexpr std::uint32_t EVTCHNSTAT_virq = 4;
inline constexpr std::uint32_t EVTCHNSTAT_ipi = 5;

// §1.4: virtual IRQs.
inline constexpr std::uint32_t VIRQ_TIMER = 0;
inline constexpr std::uint32_t VIRQ_DEBUG = 1;
inline constexpr std::uint32_t VIRQ_CONSOLE = 2;
inline constexpr std::uint32_t VIRQ_DOM_EXC = 3;
inline constexpr std::uint32_t VIRQ_TBUF = 4;
inline constexpr std::uint32_t VIRQ_DEBUGGER = 6;
inline constexpr std::uint32_t VIRQ_XENOPROF = 7;
inline constexpr std::uint32_t VIRQ_CON_RING = 8;
inline constexpr std::uint32_t VIRQ_PCPU_STATE = 9;
inline constexpr std::uint32_t VIRQ_MEM_EVENT = 10;
inline constexpr std::uint32_t VIRQ_ARGO = 11;
inline constexpr std::uint32_t VIRQ_ENOMEM = 12;
inline constexpr std::uint32_t VIRQ_XENPMU = 13;
inline constexpr std::uint32_t VIRQ_ARCH_0 = 16;
inline constexpr std::uint32_t VIRQ_MCA = VIRQ_ARCH_0;  // x86
inline constexpr std::uint32_t VIRQ_ARCH_7 = 23;
inline constexpr std::uint32_t NR_VIRQS = 24;

// §1.2: EVTCHNOP_alloc_unbound (8 bytes).
struct evtchn_alloc_unbound {
    domid_t dom;
    domid_t remote_dom;
    evtchn_port_t port;  // OUT
};
static_assert(sizeof(evtchn_alloc_unbound) == 8);
static_assert(offsetof(evtchn_alloc_unbound, dom) == 0);
static_assert(offsetof(evtchn_alloc_unbound, remote_dom) == 2);
static_assert(offsetof(evtchn_alloc_unbound, port) == 4);

// §1.2: EVTCHNOP_bind_interdomain (12 bytes).
struct evtchn_bind_interdomain {
    domid_t remote_dom;
    std::uint16_t pad;
    evtchn_port_t remote_port;
    evtchn_port_t local_port;  // OUT
};
static_assert(sizeof(evtchn_bind_interdomain) == 12);
static_assert(offsetof(evtchn_bind_interdomain, remote_dom) == 0);
static_assert(offsetof(evtchn_bind_interdomain, remote_port) == 4);
static_assert(offsetof(evtchn_bind_interdomain, local_port) == 8);

// §1.2: EVTCHNOP_bind_virq (12 bytes).
struct evtchn_bind_virq {
    std::uint32_t virq;
    std::uint32_t vcpu;
    evtchn_port_t port;  // OUT
};
static_assert(sizeof(evtchn_bind_virq) == 12);
static_assert(offsetof(evtchn_bind_virq, virq) == 0);
static_assert(offsetof(evtchn_bind_virq, vcpu) == 4);
static_assert(offsetof(evtchn_bind_virq, port) == 8);

// §1.2: EVTCHNOP_bind_pirq (12 bytes).
inline constexpr std::uint32_t BIND_PIRQ__WILL_SHARE = 1;
struct evtchn_bind_pirq {
    std::uint32_t pirq;
    std::uint32_t flags;
    evtchn_port_t port;  // OUT
};
static_assert(sizeof(evtchn_bind_pirq) == 12);
static_assert(offsetof(evtchn_bind_pirq, flags) == 4);
static_assert(offsetof(evtchn_bind_pirq, port) == 8);

// §1.2: EVTCHNOP_bind_ipi (8 bytes).
struct evtchn_bind_ipi {
    std::uint32_t vcpu;
    evtchn_port_t port;  // OUT
};
static_assert(sizeof(evtchn_bind_ipi) == 8);
static_assert(offsetof(evtchn_bind_ipi, vcpu) == 0);
static_assert(offsetof(evtchn_bind_ipi, port) == 4);

// §1.2: EVTCHNOP_close / send / unmask (4 bytes each).
struct evtchn_close {
    evtchn_port_t port;
};
struct evtchn_send {
    evtchn_port_t port;
};
struct evtchn_unmask {
    evtchn_port_t port;
};
static_assert(sizeof(evtchn_close) == 4 && sizeof(evtchn_send) == 4 && sizeof(evtchn_unmask) == 4);

// §1.2: EVTCHNOP_reset (2 bytes).
struct evtchn_reset {
    domid_t dom;
};
static_assert(sizeof(evtchn_reset) == 2);

// §1.2: EVTCHNOP_bind_vcpu (8 bytes).
struct evtchn_bind_vcpu {
    evtchn_port_t port;
    std::uint32_t vcpu;
};
static_assert(sizeof(evtchn_bind_vcpu) == 8);
static_assert(offsetof(evtchn_bind_vcpu, vcpu) == 4);

// §1.2: EVTCHNOP_status (24 bytes) with its 8-byte OUT union at offset 16.
struct evtchn_status_unbound {
    domid_t dom;
};
struct evtchn_status_interdomain {
    domid_t dom;
    std::uint16_t pad;
    evtchn_port_t port;
};
union evtchn_status_u {
    evtchn_status_unbound unbound;
    evtchn_status_interdomain interdomain;
    std::uint32_t pirq;
    std::uint32_t virq;
};
static_assert(sizeof(evtchn_status_u) == 8);
struct evtchn_status {
    domid_t dom;
    std::uint16_t pad;
    evtchn_port_t port;
    std::uint32_t status;  // OUT: EVTCHNSTAT_*
    std::uint32_t vcpu;    // OUT: notify vCPU
    evtchn_status_u u;     // OUT
};
static_assert(sizeof(evtchn_status) == 24);
static_assert(offsetof(evtchn_status, dom) == 0);
static_assert(offsetof(evtchn_status, port) == 4);
static_assert(offsetof(evtchn_status, status) == 8);
static_assert(offsetof(evtchn_status, vcpu) == 12);
static_assert(offsetof(evtchn_status, u) == 16);
static_assert(offsetof(evtchn_status, u.unbound.dom) == 16);
static_assert(offsetof(evtchn_status, u.interdomain.dom) == 16);
static_assert(offsetof(evtchn_status, u.interdomain.port) == 20);
static_assert(offsetof(evtchn_status, u.virq) == 16);

// §1.2/§1.5: FIFO ABI arguments, defined only so that the calls can be decoded and refused.
struct evtchn_init_control {
    std::uint64_t control_gfn;
    std::uint32_t offset;
    std::uint32_t vcpu;
    std::uint8_t link_bits;  // OUT
    std::uint8_t pad[7];
};
static_assert(sizeof(evtchn_init_control) == 24);
static_assert(offsetof(evtchn_init_control, offset) == 8);
static_assert(offsetof(evtchn_init_control, vcpu) == 12);
static_assert(offsetof(evtchn_init_control, link_bits) == 16);

struct evtchn_expand_array {
    std::uint64_t array_gfn;
};
static_assert(sizeof(evtchn_expand_array) == 8);

struct evtchn_set_priority {
    evtchn_port_t port;
    std::uint32_t priority;
};
static_assert(sizeof(evtchn_set_priority) == 8);

// §1.1: the legacy compat hypercall 16 argument: {u32 cmd; 24-byte union}, 28 bytes.
struct evtchn_op {
    std::uint32_t cmd;
    std::uint8_t u[24];
};
static_assert(sizeof(evtchn_op) == 28);
static_assert(offsetof(evtchn_op, u) == 4);

}  // namespace xen
