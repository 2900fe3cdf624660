// event_channel_op (32) and its legacy form (16): decode, call event/, copy results back
// (pv-abi-devices.md §1.1-§1.3). FIFO sub-ops are refused with -ENOSYS so guests fall back to
// the 2-level ABI (§1.5).
#include "domain/domain.hpp"
#include "event/event_channel.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/guest_memory.hpp"

namespace xenolith {

namespace {

// Read the argument, run `operation` on it, write the argument back if it succeeded.
template <typename Arg, typename Operation>
std::int64_t in_out(std::uint64_t address, Operation operation) {
    GuestPtr<Arg> pointer(address);
    auto argument = pointer.read();
    if (!argument)
        return xen::negated(argument.error());
    Result<void> result = operation(*argument);
    if (!result)
        return xen::negated(result.error());
    return to_return(pointer.write(*argument));
}

std::int64_t event_channel_op(Domain& d, std::uint64_t command, std::uint64_t address) {
    switch (command) {
    case xen::EVTCHNOP_alloc_unbound:
        return in_out<xen::evtchn_alloc_unbound>(address, [&](xen::evtchn_alloc_unbound& a) -> Result<void> {
            a.port = TRY(evtchn_alloc_unbound(d, a.dom, a.remote_dom));
            return ok();
        });
    case xen::EVTCHNOP_bind_interdomain:
        return in_out<xen::evtchn_bind_interdomain>(address, [&](xen::evtchn_bind_interdomain& a) -> Result<void> {
            a.local_port = TRY(evtchn_bind_interdomain(d, a.remote_dom, a.remote_port));
            return ok();
        });
    case xen::EVTCHNOP_bind_virq:
        return in_out<xen::evtchn_bind_virq>(address, [&](xen::evtchn_bind_virq& a) -> Result<void> {
            a.port = TRY(evtchn_bind_virq(d, a.virq, a.vcpu));
            return ok();
        });
    case xen::EVTCHNOP_bind_ipi:
        return in_out<xen::evtchn_bind_ipi>(address, [&](xen::evtchn_bind_ipi& a) -> Result<void> {
            a.port = TRY(evtchn_bind_ipi(d, a.vcpu));
            return ok();
        });
    case xen::EVTCHNOP_close:
        return in_out<xen::evtchn_close>(address, [&](xen::evtchn_close& a) { return evtchn_close(d, a.port); });
    case xen::EVTCHNOP_send:
        return in_out<xen::evtchn_send>(address, [&](xen::evtchn_send& a) { return evtchn_send(d, a.port); });
    case xen::EVTCHNOP_status:
        return in_out<xen::evtchn_status>(address, [&](xen::evtchn_status& a) { return evtchn_status(d, a); });
    case xen::EVTCHNOP_bind_vcpu:
        return in_out<xen::evtchn_bind_vcpu>(address,
                                             [&](xen::evtchn_bind_vcpu& a) { return evtchn_bind_vcpu(d, a.port, a.vcpu); });
    case xen::EVTCHNOP_unmask:
        return in_out<xen::evtchn_unmask>(address, [&](xen::evtchn_unmask& a) { return evtchn_unmask(d, a.port); });
    case xen::EVTCHNOP_reset:
        return in_out<xen::evtchn_reset>(address, [&](xen::evtchn_reset& a) { return evtchn_reset(d, a.dom); });
    case xen::EVTCHNOP_bind_pirq:  // physical interrupts: dom0 with hardware, later
    case xen::EVTCHNOP_init_control:
    case xen::EVTCHNOP_expand_array:
    case xen::EVTCHNOP_set_priority:
    default: return xen::negated(Errno::ENOSYS);
    }
}

}  // namespace

std::int64_t do_event_channel_op(HypercallContext& c) {
    return event_channel_op(*c.vcpu.domain, c.arg(0) & 0xffffffff, c.arg(1));
}

}  // namespace xenolith
