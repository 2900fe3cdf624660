// evtchn-ping: one end of an interdomain event channel (pv-abi-devices.md §1.3, §1.6).
//
// Convention (module order gives the ids, guest_tests.py): ping is domain 1, pong domain 2.
// Ping allocates an unbound port for domain 2; pong, not knowing the number, tries
// bind_interdomain on ping's ports 1, 2, ... (retrying with SCHEDOP_yield) until one binds -
// only a port allocated for it can. Then:
//   1. ROUNDS round trips: ping sends, pong answers; ping waits with SCHEDOP_poll for the first
//      half and by blocking with upcalls for the second, pong likewise.
//   2. masking: ping masks its port and sends; pong answers; the answer stays pending without
//      an upcall (poll still wakes, §1.6 step 3) and is delivered once ping unmasks.
//   3. close: ping closes its port; pong sees its end back in the unbound state (for ping).
// Alongside: VIRQ_TIMER and IPI ports to ourselves, and EVTCHNOP_status on each kind.
#include "xen/vcpu.hpp"
#include "xt/evtchn.hpp"
#include "xt/test.hpp"
#include "xt/traps.hpp"

namespace {

constexpr unsigned ROUNDS = 50;
constexpr std::uint16_t PONG_DOMID = 2;
constexpr std::uint64_t SECOND = 1'000'000'000ull;

unsigned g_upcalls[64];
void on_event(xen::evtchn_port_t port) {
    if (port < 64) {
        ++g_upcalls[port];
    }
}

// With upcalls: block until the handler has seen `port` more than `seen` times.
bool block_for(xen::evtchn_port_t port, unsigned seen, std::uint64_t deadline) {
    for (;;) {
        xt::events_disable();
        if (g_upcalls[port] > seen) {
            return true;
        }
        if (xt::system_time_ns() > deadline) {
            return false;
        }
        xt::sched_block();  // enables events; a pending upcall runs on the way back
    }
}

void test_local_ports() {
    // IPI to ourselves: delivered through the upcall.
    xen::evtchn_bind_ipi ipi{0, 0};
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_bind_ipi, &ipi), 0);
    xen::evtchn_status status{};
    CHECK_EQ(xt::port_status(ipi.port, &status), xen::EVTCHNSTAT_ipi);
    CHECK_EQ(status.vcpu, 0u);
    const unsigned before = g_upcalls[ipi.port];
    CHECK_EQ(xt::evtchn_send(ipi.port), 0);
    CHECK(block_for(ipi.port, before, xt::system_time_ns() + 5 * SECOND));
    CHECK_EQ(g_upcalls[ipi.port], before + 1);

    // Masked IPI: pending, no upcall, even with events enabled; delivered by the unmask.
    xt::mask_port(ipi.port);
    CHECK_EQ(xt::evtchn_send(ipi.port), 0);
    xt::events_enable();
    xt::sched_yield();
    xt::events_disable();
    CHECK(xt::port_pending(ipi.port));
    CHECK_EQ(g_upcalls[ipi.port], before + 1);
    CHECK_EQ(xt::unmask_port(ipi.port), 0);
    CHECK(!xt::port_masked(ipi.port));
    CHECK(block_for(ipi.port, before + 1, xt::system_time_ns() + 5 * SECOND));
    CHECK(!xt::port_pending(ipi.port));

    // VIRQ_TIMER's status names the VIRQ; a timer in the past is delivered on its port.
    xen::evtchn_bind_virq virq{xen::VIRQ_TIMER, 0, 0};
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_bind_virq, &virq), 0);
    CHECK_EQ(xt::port_status(virq.port, &status), xen::EVTCHNSTAT_virq);
    CHECK_EQ(status.u.virq, xen::VIRQ_TIMER);
    const unsigned timer_before = g_upcalls[virq.port];
    CHECK_EQ(xt::set_timer_op(1), 0);
    CHECK(block_for(virq.port, timer_before, xt::system_time_ns() + 5 * SECOND));

    // Closing clears a pending bit with the port (§1.3).
    xt::mask_port(ipi.port);
    CHECK_EQ(xt::evtchn_send(ipi.port), 0);
    CHECK(xt::port_pending(ipi.port));
    xen::evtchn_close close{ipi.port};
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_close, &close), 0);
    CHECK(!xt::port_pending(ipi.port));
    CHECK_EQ(xt::port_status(ipi.port), xen::EVTCHNSTAT_closed);
    CHECK_EQ(xt::unmask_port(ipi.port), 0);
    close.port = virq.port;
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_close, &close), 0);
}

}  // namespace

void guest_main(const xen::start_info*) {
    CHECK_EQ(xt::install_traps(), 0);
    xt::require_shared_info();
    xt::set_event_handler(on_event);

    test_local_ports();

    xen::evtchn_alloc_unbound alloc{xen::DOMID_SELF, PONG_DOMID, 0};
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_alloc_unbound, &alloc), 0);
    const xen::evtchn_port_t port = alloc.port;
    CHECK(port > 0 && port < 64);
    // Unbound, waiting for pong - or, with pong on another pCPU, already bound by it.
    xen::evtchn_status status{};
    const long first = xt::port_status(port, &status);
    CHECK(first == xen::EVTCHNSTAT_unbound || first == xen::EVTCHNSTAT_interdomain);
    CHECK_EQ(first == xen::EVTCHNSTAT_unbound ? status.u.unbound.dom : status.u.interdomain.dom, PONG_DOMID);
    xt::print("evtchn-ping: port {} waits for domain {}\n", port, PONG_DOMID);

    // Wait for pong to bind.
    const std::uint64_t bind_deadline = xt::system_time_ns() + 30 * SECOND;
    while (xt::port_status(port, &status) == xen::EVTCHNSTAT_unbound && xt::system_time_ns() < bind_deadline) {
        xt::sched_yield();
    }
    CHECK_EQ(status.status, xen::EVTCHNSTAT_interdomain);
    CHECK_EQ(status.u.interdomain.dom, PONG_DOMID);
    if (status.status != xen::EVTCHNSTAT_interdomain) {
        xt::finish();
    }
    xt::print("evtchn-ping: bound to domain {} port {}\n", status.u.interdomain.dom, status.u.interdomain.port);

    // 1. Round trips.
    unsigned completed = 0;
    for (unsigned i = 0; i < ROUNDS; ++i) {
        CHECK_EQ(xt::evtchn_send(port), 0);
        const std::uint64_t deadline = xt::system_time_ns() + 10 * SECOND;
        const bool answered = i < ROUNDS / 2 ? xt::poll_and_clear(port, deadline)
                                             : block_for(port, g_upcalls[port], deadline);
        if (!answered) {
            CHECK(!"pong answered");
            break;
        }
        ++completed;
    }
    CHECK_EQ(completed, ROUNDS);
    xt::print("evtchn-ping: {} round trips\n", completed);

    // 2. Masking: the answer stays pending and undelivered until the unmask.
    xt::events_disable();
    const unsigned upcalls = g_upcalls[port];
    xt::mask_port(port);
    CHECK_EQ(xt::evtchn_send(port), 0);
    const std::uint64_t deadline = xt::system_time_ns() + 10 * SECOND;
    while (!xt::port_pending(port) && xt::system_time_ns() < deadline) {
        xen::evtchn_port_t ports[1] = {port};
        xt::sched_poll(ports, 1, deadline);  // §1.6 step 3: poll wakes for a masked port too
    }
    CHECK(xt::port_pending(port));
    xt::events_enable();
    xt::sched_yield();
    xt::events_disable();
    CHECK_EQ(g_upcalls[port], upcalls);  // masked: no upcall
    CHECK(xt::port_pending(port));
    CHECK_EQ(xt::unmask_port(port), 0);
    CHECK(block_for(port, upcalls, xt::system_time_ns() + 10 * SECOND));
    CHECK_EQ(g_upcalls[port], upcalls + 1);

    // 3. Close: pong watches its end go back to unbound.
    xen::evtchn_close close{port};
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_close, &close), 0);
    CHECK_EQ(xt::port_status(port), xen::EVTCHNSTAT_closed);
    CHECK_ERRNO(xt::evtchn_send(port), xen::Errno::EINVAL);
}
