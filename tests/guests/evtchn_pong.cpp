// evtchn-pong: the other end of evtchn-ping's channel (see evtchn_ping.cpp for the protocol and
// the port/domain-id convention: pong is domain 2 and binds to domain 1's port).
#include "xt/evtchn.hpp"
#include "xt/test.hpp"
#include "xt/traps.hpp"

namespace {

constexpr unsigned ROUNDS = 50;
constexpr std::uint16_t PING_DOMID = 1;
constexpr std::uint64_t SECOND = 1'000'000'000ull;

unsigned g_upcalls[64];
void on_event(xen::evtchn_port_t port) {
    if (port < 64) {
        ++g_upcalls[port];
    }
}

bool block_for(xen::evtchn_port_t port, unsigned seen, std::uint64_t deadline) {
    for (;;) {
        xt::events_disable();
        if (g_upcalls[port] > seen) {
            return true;
        }
        if (xt::system_time_ns() > deadline) {
            return false;
        }
        xt::sched_block();
    }
}

}  // namespace

void guest_main(const xen::start_info*) {
    CHECK_EQ(xt::install_traps(), 0);
    xt::require_shared_info();
    xt::set_event_handler(on_event);

    // Find ping's port: only the one allocated for us binds; the others are -EINVAL.
    xen::evtchn_bind_interdomain bind{PING_DOMID, 0, 0, 0};
    bool bound = false;
    const std::uint64_t bind_deadline = xt::system_time_ns() + 30 * SECOND;
    while (!bound && xt::system_time_ns() < bind_deadline) {
        for (xen::evtchn_port_t remote = 1; remote < 64 && !bound; ++remote) {
            bind.remote_port = remote;
            const long rc = xt::event_channel_op(xen::EVTCHNOP_bind_interdomain, &bind);
            if (rc == 0) {
                bound = true;
            } else {
                CHECK_ERRNO(rc, xen::Errno::EINVAL);
            }
        }
        if (!bound) {
            xt::sched_yield();
        }
    }
    CHECK(bound);
    if (!bound) {
        xt::finish();
    }
    const xen::evtchn_port_t port = bind.local_port;
    xt::print("evtchn-pong: bound local port {} to domain {} port {}\n", port, PING_DOMID, bind.remote_port);
    xen::evtchn_status status{};
    CHECK_EQ(xt::port_status(port, &status), xen::EVTCHNSTAT_interdomain);
    CHECK_EQ(status.u.interdomain.dom, PING_DOMID);
    CHECK_EQ(status.u.interdomain.port, bind.remote_port);
    // §1.3: the new local port starts pending (covering sends made while it was unbound).
    CHECK(xt::test_and_clear_pending(port));

    // 1. Answer each of ping's sends.
    unsigned answered = 0;
    for (unsigned i = 0; i < ROUNDS; ++i) {
        const std::uint64_t deadline = xt::system_time_ns() + 10 * SECOND;
        const bool got = i % 2 == 0 ? xt::poll_and_clear(port, deadline) : block_for(port, g_upcalls[port], deadline);
        if (!got) {
            CHECK(!"ping sent");
            break;
        }
        CHECK_EQ(xt::evtchn_send(port), 0);
        ++answered;
    }
    CHECK_EQ(answered, ROUNDS);

    // 2. Ping's masked round: one more send to answer.
    xt::events_disable();
    CHECK(xt::poll_and_clear(port, xt::system_time_ns() + 10 * SECOND));
    CHECK_EQ(xt::evtchn_send(port), 0);

    // 3. Ping closes its end: ours goes back to unbound, bindable by ping again (§1.3).
    const std::uint64_t deadline = xt::system_time_ns() + 30 * SECOND;
    while (xt::port_status(port, &status) == xen::EVTCHNSTAT_interdomain && xt::system_time_ns() < deadline) {
        xt::sched_yield();
    }
    CHECK_EQ(status.status, xen::EVTCHNSTAT_unbound);
    CHECK_EQ(status.u.unbound.dom, PING_DOMID);
    CHECK_EQ(xt::evtchn_send(port), 0);  // unbound: dropped silently
    xen::evtchn_close close{port};
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_close, &close), 0);
    xt::print("evtchn-pong: {} answers\n", answered);
}
