// Event channel ports and the 2-level pending/mask/selector algorithm (pv-abi-devices.md §1.3,
// §1.6). Port state changes take the owning domain's lock; binding two domains takes both locks
// in domain-id order. The shared_info bits are updated with atomic read-modify-writes, as the
// guest updates them concurrently.
#include "event/event_channel.hpp"

#include "arch/x86_64/paging.hpp"
#include "core/irq_lock.hpp"
#include "domain/domain.hpp"
#include "lib/string.hpp"
#include "mm/page_allocator.hpp"
#include "pv/events.hpp"

namespace xenolith {

namespace {

constexpr unsigned TABLE_ORDER = 2;  // 1024 ports x 12 bytes fit in 16 KiB
static_assert(sizeof(EventChannel) * MAX_PORTS_PER_DOMAIN <= (4096u << TABLE_ORDER));

// VIRQs bound per vCPU (class V of §1.4); the rest are bound on vCPU 0 per domain.
bool per_vcpu_virq(std::uint32_t virq) {
    return virq == xen::VIRQ_TIMER || virq == xen::VIRQ_DEBUG || virq == xen::VIRQ_XENOPROF ||
           virq == xen::VIRQ_XENPMU;
}

bool test_and_set(std::uint64_t* word, unsigned bit) {
    return __atomic_fetch_or(word, std::uint64_t{1} << bit, __ATOMIC_SEQ_CST) & (std::uint64_t{1} << bit);
}
bool test_and_clear(std::uint64_t* word, unsigned bit) {
    return __atomic_fetch_and(word, ~(std::uint64_t{1} << bit), __ATOMIC_SEQ_CST) & (std::uint64_t{1} << bit);
}
bool test(const std::uint64_t* word, unsigned bit) {
    return __atomic_load_n(word, __ATOMIC_SEQ_CST) & (std::uint64_t{1} << bit);
}

EventChannel* channel(Domain& d, std::uint32_t port) {
    return port < MAX_PORTS_PER_DOMAIN && d.event_channels ? &d.event_channels[port] : nullptr;
}

Result<std::uint32_t> allocate_port_locked(Domain& d) {
    for (std::uint32_t port = 1; port < MAX_PORTS_PER_DOMAIN; ++port) {
        if (d.event_channels[port].state == PortState::Free)
            return port;
    }
    return Error{Errno::ENOSPC};
}

// The domain a caller names: itself (DOMID_SELF or its own id) or, if privileged, another.
Result<Domain*> target_domain(Domain& caller, std::uint16_t dom) {
    if (dom == xen::DOMID_SELF || dom == caller.id)
        return &caller;
    if (!caller.privileged)
        return Error{Errno::EPERM};
    Domain* d = find_domain(dom);
    if (!d)
        return Error{Errno::ESRCH};
    return d;
}

// §1.6 "set pending" on `port`, notifying its vCPU.
void set_pending(Domain& d, std::uint32_t port, unsigned notify) {
    xen::shared_info& shared = *d.shared_info;
    const unsigned word = port / 64, bit = port % 64;
    if (test_and_set(&shared.evtchn_pending[word], bit))
        return;
    Vcpu* vcpu = notify < d.vcpu_count ? d.vcpus[notify] : d.vcpus[0];
    if (!test(&shared.evtchn_mask[word], bit) && !test_and_set(&vcpu->vcpu_info->evtchn_pending_sel, word))
        notify_vcpu(*vcpu);
    // A vCPU polling for this port wakes up even if the port is masked (§1.6 step 3).
    for (unsigned i = 0; i < d.vcpu_count; ++i) {
        Vcpu& v = *d.vcpus[i];
        if (v.poll_port_count && v.state.load() == VcpuState::Blocked)
            notify_vcpu(v);
    }
}

void free_port_locked(Domain& d, std::uint32_t port) {
    EventChannel& c = d.event_channels[port];
    if (c.state == PortState::Virq && c.notify_vcpu < d.vcpu_count)
        d.vcpus[c.notify_vcpu]->virq_port[c.virq] = 0;
    if (c.state == PortState::Virq && !per_vcpu_virq(c.virq))
        d.vcpus[0]->virq_port[c.virq] = 0;
    c = EventChannel{};
    test_and_clear(&d.shared_info->evtchn_pending[port / 64], port % 64);
}

struct PairLock {
    PairLock(Domain& a, Domain& b) : m_first(a.id <= b.id ? a : b), m_second(a.id <= b.id ? b : a) {
        m_first.lock.lock();
        if (&m_second != &m_first)
            m_second.lock.lock();
    }
    ~PairLock() {
        if (&m_second != &m_first)
            m_second.lock.unlock();
        m_first.lock.unlock();
    }
    Domain& m_first;
    Domain& m_second;
};

}  // namespace

Result<void> init_event_channels(Domain& d) {
    const std::uint64_t phys = TRY(allocate_frames(TABLE_ORDER));
    d.event_channels = static_cast<EventChannel*>(arch::phys_to_virt(phys));
    for (std::uint32_t port = 0; port < MAX_PORTS_PER_DOMAIN; ++port)
        new (&d.event_channels[port]) EventChannel{};
    d.event_channels[0].state = PortState::Reserved;  // §1.3: port 0 is never handed out
    return ok();
}

void release_event_channels(Domain& d) {
    if (!d.event_channels)
        return;
    (void)evtchn_reset(d, xen::DOMID_SELF);
    free_frames(arch::virt_to_phys_directmap(d.event_channels), TABLE_ORDER);
    d.event_channels = nullptr;
}

Result<std::uint32_t> evtchn_alloc_unbound(Domain& caller, std::uint16_t dom, std::uint16_t remote_dom) {
    Domain* d = TRY(target_domain(caller, dom));
    const std::uint16_t remote = remote_dom == xen::DOMID_SELF ? caller.id : remote_dom;
    IrqLockGuard guard(d->lock);
    const std::uint32_t port = TRY(allocate_port_locked(*d));
    EventChannel& c = d->event_channels[port];
    c.state = PortState::Unbound;
    c.remote_domain = remote;
    c.notify_vcpu = 0;
    return port;
}

Result<std::uint32_t> evtchn_bind_interdomain(Domain& caller, std::uint16_t remote_dom, std::uint32_t remote_port) {
    Domain* remote = remote_dom == xen::DOMID_SELF ? &caller : find_domain(remote_dom);
    if (!remote || remote->state.load() == DomainState::Dying)
        return Error{Errno::ESRCH};
    std::uint32_t port;
    {
        PairLock locks(caller, *remote);
        EventChannel* peer = channel(*remote, remote_port);
        if (!peer || peer->state != PortState::Unbound || peer->remote_domain != caller.id)
            return Error{Errno::EINVAL};
        port = TRY(allocate_port_locked(caller));
        EventChannel& local = caller.event_channels[port];
        local.state = PortState::Interdomain;
        local.remote_domain = remote->id;
        local.remote_port = remote_port;
        peer->state = PortState::Interdomain;
        peer->remote_domain = caller.id;
        peer->remote_port = port;
    }
    // §1.3: the new local port starts pending, covering notifications sent while unbound.
    set_pending(caller, port, caller.event_channels[port].notify_vcpu);
    return port;
}

Result<std::uint32_t> evtchn_bind_virq(Domain& caller, std::uint32_t virq, std::uint32_t vcpu) {
    if (virq >= xen::NR_VIRQS)
        return Error{Errno::EINVAL};
    if (!per_vcpu_virq(virq) && vcpu != 0)
        return Error{Errno::EINVAL};
    if (vcpu >= caller.vcpu_count)
        return Error{Errno::ENOENT};
    IrqLockGuard guard(caller.lock);
    Vcpu& v = *caller.vcpus[vcpu];
    if (v.virq_port[virq])
        return Error{Errno::EEXIST};
    const std::uint32_t port = TRY(allocate_port_locked(caller));
    EventChannel& c = caller.event_channels[port];
    c.state = PortState::Virq;
    c.virq = virq;
    c.notify_vcpu = static_cast<std::uint8_t>(vcpu);
    v.virq_port[virq] = port;
    return port;
}

Result<std::uint32_t> evtchn_bind_ipi(Domain& caller, std::uint32_t vcpu) {
    if (vcpu >= caller.vcpu_count)
        return Error{Errno::ENOENT};
    IrqLockGuard guard(caller.lock);
    const std::uint32_t port = TRY(allocate_port_locked(caller));
    EventChannel& c = caller.event_channels[port];
    c.state = PortState::Ipi;
    c.notify_vcpu = static_cast<std::uint8_t>(vcpu);
    return port;
}

Result<void> evtchn_close(Domain& d, std::uint32_t port) {
    Domain* peer_domain = nullptr;
    std::uint32_t peer_port = 0;
    {
        IrqLockGuard guard(d.lock);
        EventChannel* c = channel(d, port);
        if (!c || c->state == PortState::Free || c->state == PortState::Reserved)
            return Error{Errno::EINVAL};
        if (c->state == PortState::Interdomain) {
            peer_domain = find_domain(c->remote_domain);
            peer_port = c->remote_port;
        }
        free_port_locked(d, port);
    }
    // §1.3: the peer's end goes back to unbound, bindable again by the closer.
    if (peer_domain) {
        IrqLockGuard guard(peer_domain->lock);
        EventChannel* peer = channel(*peer_domain, peer_port);
        if (peer && peer->state == PortState::Interdomain && peer->remote_domain == d.id &&
            peer->remote_port == port) {
            peer->state = PortState::Unbound;
            peer->remote_port = 0;
        }
    }
    return ok();
}

Result<void> evtchn_send(Domain& caller, std::uint32_t port) {
    Domain* target = nullptr;
    std::uint32_t target_port = 0;
    unsigned notify = 0;
    {
        IrqLockGuard guard(caller.lock);
        EventChannel* c = channel(caller, port);
        if (!c)
            return Error{Errno::EINVAL};
        switch (c->state) {
        case PortState::Interdomain:
            target = find_domain(c->remote_domain);
            target_port = c->remote_port;
            break;
        case PortState::Ipi:
            target = &caller;
            target_port = port;
            notify = c->notify_vcpu;
            break;
        case PortState::Unbound:
            return ok();  // §1.3: dropped silently
        default:
            return Error{Errno::EINVAL};
        }
    }
    if (!target || target->state.load() == DomainState::Dying)
        return ok();
    if (target != &caller) {
        IrqLockGuard guard(target->lock);
        EventChannel* c = channel(*target, target_port);
        if (!c || c->state != PortState::Interdomain)
            return ok();
        notify = c->notify_vcpu;
    }
    set_pending(*target, target_port, notify);
    return ok();
}

Result<void> evtchn_status(Domain& caller, xen::evtchn_status& status) {
    Domain* d = TRY(target_domain(caller, status.dom));
    IrqLockGuard guard(d->lock);
    EventChannel* c = channel(*d, status.port);
    if (!c)
        return Error{Errno::EINVAL};
    status.vcpu = c->notify_vcpu;
    memset(&status.u, 0, sizeof(status.u));
    switch (c->state) {
    case PortState::Free:
    case PortState::Reserved: status.status = xen::EVTCHNSTAT_closed; break;
    case PortState::Unbound:
        status.status = xen::EVTCHNSTAT_unbound;
        status.u.unbound.dom = c->remote_domain;
        break;
    case PortState::Interdomain:
        status.status = xen::EVTCHNSTAT_interdomain;
        status.u.interdomain.dom = c->remote_domain;
        status.u.interdomain.port = c->remote_port;
        break;
    case PortState::Virq:
        status.status = xen::EVTCHNSTAT_virq;
        status.u.virq = c->virq;
        break;
    case PortState::Ipi: status.status = xen::EVTCHNSTAT_ipi; break;
    }
    return ok();
}

Result<void> evtchn_bind_vcpu(Domain& caller, std::uint32_t port, std::uint32_t vcpu) {
    if (vcpu >= caller.vcpu_count)
        return Error{Errno::ENOENT};
    IrqLockGuard guard(caller.lock);
    EventChannel* c = channel(caller, port);
    if (!c)
        return Error{Errno::EINVAL};
    const bool movable = c->state == PortState::Unbound || c->state == PortState::Interdomain ||
                         (c->state == PortState::Virq && !per_vcpu_virq(c->virq));
    if (!movable)
        return Error{Errno::EINVAL};
    c->notify_vcpu = static_cast<std::uint8_t>(vcpu);
    return ok();
}

Result<void> evtchn_unmask(Domain& caller, std::uint32_t port) {
    unsigned notify;
    {
        IrqLockGuard guard(caller.lock);
        EventChannel* c = channel(caller, port);
        if (!c)
            return Error{Errno::EINVAL};
        notify = c->notify_vcpu < caller.vcpu_count ? c->notify_vcpu : 0;
    }
    // §1.6 unmask: re-raise the upcall if the port became deliverable.
    xen::shared_info& shared = *caller.shared_info;
    const unsigned word = port / 64, bit = port % 64;
    Vcpu& v = *caller.vcpus[notify];
    if (test_and_clear(&shared.evtchn_mask[word], bit) && test(&shared.evtchn_pending[word], bit) &&
        !test_and_set(&v.vcpu_info->evtchn_pending_sel, word))
        notify_vcpu(v);
    return ok();
}

Result<void> evtchn_reset(Domain& caller, std::uint16_t dom) {
    Domain* d = TRY(target_domain(caller, dom));
    for (std::uint32_t port = 1; port < MAX_PORTS_PER_DOMAIN; ++port) {
        PortState state;
        {
            IrqLockGuard guard(d->lock);
            state = d->event_channels[port].state;
        }
        if (state != PortState::Free && state != PortState::Reserved)
            (void)evtchn_close(*d, port);
    }
    return ok();
}

void send_virq(Vcpu& vcpu, std::uint32_t virq) {
    Domain& d = *vcpu.domain;
    Vcpu& owner = per_vcpu_virq(virq) ? vcpu : *d.vcpus[0];
    const std::uint32_t port = owner.virq_port[virq];
    if (!port)
        return;
    unsigned notify;
    {
        IrqLockGuard guard(d.lock);
        notify = d.event_channels[port].notify_vcpu;
    }
    set_pending(d, port, notify);
}

void raise_port(Domain& d, std::uint32_t port) {
    unsigned notify;
    {
        IrqLockGuard guard(d.lock);
        EventChannel* c = channel(d, port);
        if (!c || c->state == PortState::Free || c->state == PortState::Reserved)
            return;
        notify = c->notify_vcpu;
    }
    set_pending(d, port, notify);
}

bool port_pending(Domain& d, std::uint32_t port) {
    return port < MAX_PORTS_PER_DOMAIN && test(&d.shared_info->evtchn_pending[port / 64], port % 64);
}

}  // namespace xenolith
