// bench-evtchn-pingpong: round trip of an event through an interdomain channel between two
// boot-time domains (devices §1.2 alloc_unbound/bind_interdomain, §1.3 send).
//
// Two instances of this kernel run, told apart by their command line:
//   ping=1 peer=<domid>  offers a port, waits for the peer, then measures: send, wait for the
//                        reply; `iters` round trips per batch, `batches` batches;
//   ping=0 peer=<domid>  binds to the offered port and answers every event with one.
// spin=1 waits by busy-polling the pending bit instead of SCHEDOP_poll, and never blocks or
// yields (two pCPUs only: each side needs a pCPU of its own).
// Both sides run with the upcall masked, so a wake-up is delivered through SCHEDOP_poll, never
// through the event callback.
#include "bench.hpp"
#include "xt/test.hpp"

namespace {

void wait(xen::evtchn_port_t port, bool spin) {
    if (spin) {
        bench::spin_event(port);
    } else {
        bench::wait_event(port);
    }
}

}  // namespace

void guest_main(const xen::start_info*) {
    const bool ping = bench::cmdline_number("ping", 0) != 0;
    const bool spin = bench::cmdline_number("spin", 0) != 0;
    const auto peer = static_cast<xen::domid_t>(bench::cmdline_number("peer", 0));
    const std::uint64_t iters = bench::cmdline_number("iters", 2000);
    const unsigned batches = static_cast<unsigned>(bench::cmdline_number("batches", 11));
    const std::uint64_t warmup = iters / 10;

    xt::events_disable();
    CHECK(xt::shared_info() != nullptr);
    CHECK(peer != 0);
    if (xt::failures() != 0) return;

    if (ping) {
        const xen::evtchn_port_t port = bench::offer_port(peer);
        CHECK(port != 0);
        if (port == 0) return;
        wait(port, spin);  // the peer has bound and is answering
        for (std::uint64_t i = 0; i < warmup; ++i) {
            xt::evtchn_send(port);
            wait(port, spin);
        }
        bench::Batches b{spin ? "evtchn_roundtrip_spin" : "evtchn_roundtrip", iters, 1};
        for (unsigned batch = 0; batch < batches; ++batch) {
            const std::uint64_t start = bench::tsc();
            for (std::uint64_t i = 0; i < iters; ++i) {
                xt::evtchn_send(port);
                wait(port, spin);
            }
            b.add(bench::tsc() - start);
        }
        b.report();
    } else {
        const xen::evtchn_port_t port = bench::connect_to(peer, spin);
        CHECK(port != 0);
        if (port == 0) return;
        xt::evtchn_send(port);
        const std::uint64_t replies = warmup + iters * batches;
        for (std::uint64_t i = 0; i < replies; ++i) {
            wait(port, spin);
            xt::evtchn_send(port);
        }
        xt::print("answered {} events\n", replies);
    }
}
