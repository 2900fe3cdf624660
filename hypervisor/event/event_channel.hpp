// Event channels, 2-level ABI (pv-abi-devices.md §1): per-domain ports, binding, sending, and
// the pending/mask/selector bits of shared_info that raise the guest's event upcall.
#pragma once

#include <cstdint>

#include "lib/result.hpp"
#include "xen/event_channel.hpp"

namespace xenolith {

struct Domain;
struct Vcpu;

// §1.3: Xen's default per-domain limit is 1023 usable ports (port 0 is reserved).
inline constexpr std::uint32_t MAX_PORTS_PER_DOMAIN = 1024;

enum class PortState : std::uint8_t { Free, Reserved, Unbound, Interdomain, Virq, Ipi };

struct EventChannel {
    PortState state = PortState::Free;
    std::uint8_t notify_vcpu = 0;
    std::uint16_t remote_domain = 0;  // Unbound: who may bind; Interdomain: the peer
    std::uint32_t remote_port = 0;    // Interdomain: the peer's port
    std::uint32_t virq = 0;           // Virq: which
};

// The port table of a domain (allocated with the domain, port 0 reserved).
Result<void> init_event_channels(Domain& domain);
void release_event_channels(Domain& domain);

// The EVTCHNOP_* operations, with the errno rules of §1.3. `caller` is the calling domain.
Result<std::uint32_t> evtchn_alloc_unbound(Domain& caller, std::uint16_t dom, std::uint16_t remote_dom);
Result<std::uint32_t> evtchn_bind_interdomain(Domain& caller, std::uint16_t remote_dom, std::uint32_t remote_port);
Result<std::uint32_t> evtchn_bind_virq(Domain& caller, std::uint32_t virq, std::uint32_t vcpu);
Result<std::uint32_t> evtchn_bind_ipi(Domain& caller, std::uint32_t vcpu);
Result<void> evtchn_close(Domain& domain, std::uint32_t port);
Result<void> evtchn_send(Domain& caller, std::uint32_t port);
Result<void> evtchn_status(Domain& caller, xen::evtchn_status& status);
Result<void> evtchn_bind_vcpu(Domain& caller, std::uint32_t port, std::uint32_t vcpu);
Result<void> evtchn_unmask(Domain& caller, std::uint32_t port);
Result<void> evtchn_reset(Domain& caller, std::uint16_t dom);

// Make a port of the domain pending from the hypervisor's side (a backend the hypervisor
// serves itself, like boot-time consoles), notifying the port's vCPU.
void raise_port(Domain& domain, std::uint32_t port);

// Raise a per-vCPU or per-domain virtual IRQ if the guest has bound it.
void send_virq(Vcpu& vcpu, std::uint32_t virq);
// Is `port` pending in the domain's shared_info (for SCHEDOP_poll)?
bool port_pending(Domain& domain, std::uint32_t port);

// On the way back to a guest: if an upcall is pending and events are not masked, bounce to
// the event callback (§6.7).
}  // namespace xenolith
