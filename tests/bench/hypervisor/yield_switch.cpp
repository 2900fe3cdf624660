// bench-yield-switch: cost of a vCPU switch between two domains sharing one pCPU, each
// calling SCHEDOP_yield in a loop (pv-abi-core.md §5.24).
//
// Two instances run (command line as in evtchn_pingpong.cpp): `ping=1 peer=<domid>` measures,
// `ping=0 peer=<domid>` yields until the measuring side signals the end over an event
// channel. While both are runnable every yield of one hands the pCPU to the other, so one
// measured loop iteration is two switches (there and back): ops=2. Both sides count their
// yields; equal counts show that the yields did alternate.
#include "bench.hpp"
#include "xt/test.hpp"

void guest_main(const xen::start_info*) {
    const bool ping = bench::cmdline_number("ping", 0) != 0;
    const auto peer = static_cast<xen::domid_t>(bench::cmdline_number("peer", 0));
    const std::uint64_t iters = bench::cmdline_number("iters", 2000);
    const unsigned batches = static_cast<unsigned>(bench::cmdline_number("batches", 11));

    xt::events_disable();
    CHECK(xt::shared_info() != nullptr);
    CHECK(peer != 0);
    if (xt::failures() != 0) return;

    if (ping) {
        const xen::evtchn_port_t port = bench::offer_port(peer);
        CHECK(port != 0);
        if (port == 0) return;
        bench::wait_event(port);  // the peer is up and about to start yielding
        for (std::uint64_t i = 0; i < iters / 10; ++i) xt::sched_yield();
        bench::Batches b{"vcpu_switch", iters, 2};
        for (unsigned batch = 0; batch < batches; ++batch) {
            const std::uint64_t start = bench::tsc();
            for (std::uint64_t i = 0; i < iters; ++i) xt::sched_yield();
            b.add(bench::tsc() - start);
        }
        xt::evtchn_send(port);
        b.report();
        xt::print("yields: {}\n", iters / 10 + iters * batches);
    } else {
        const xen::evtchn_port_t port = bench::connect_to(peer);
        CHECK(port != 0);
        if (port == 0) return;
        xt::evtchn_send(port);
        std::uint64_t yields = 0;
        while (!bench::is_pending(port)) {
            xt::sched_yield();
            ++yields;
        }
        xt::print("yields: {}\n", yields);
    }
}
