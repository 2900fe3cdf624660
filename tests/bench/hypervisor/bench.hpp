// Shared helpers of the hypervisor benchmark guests: serialised TSC reads, batch statistics,
// the guest command line, the event-channel plumbing of the two-domain benchmarks and the
// result lines tests/bench/hypervisor/run parses.
//
// Result line (the native baseline in native/native_syscall.S prints the same shape):
//   BENCH <name> iters=<N> ops=<K> <batch cycles> <batch cycles> ...
// one total per batch of N loop iterations, each iteration being K operations; the runner
// divides by N*K and takes the median over batches.
#pragma once

#include <cstdint>

#include "xen/event_channel.hpp"
#include "xt/console.hpp"
#include "xt/guest.hpp"
#include "xt/hypercall.hpp"

namespace bench {

inline constexpr unsigned MAX_BATCHES = 32;

// lfence on both sides keeps earlier and later instructions from moving across the read (the
// AMD/Intel recommended fence for rdtsc without rdtscp). Under TCG it costs nothing, but the
// same code is meant to be meaningful on hardware.
inline std::uint64_t tsc() {
    std::uint32_t lo, hi;
    asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi)::"memory");
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

// Per-batch totals of one benchmark.
struct Batches {
    const char* name;
    std::uint64_t iters;
    std::uint64_t ops_per_iter;
    unsigned count = 0;
    std::uint64_t total[MAX_BATCHES] = {};

    void add(std::uint64_t cycles) {
        if (count < MAX_BATCHES) total[count++] = cycles;
    }

    // Median of the per-operation cycles over batches (upper median for an even count).
    std::uint64_t median_per_op() const {
        std::uint64_t sorted[MAX_BATCHES];
        for (unsigned i = 0; i < count; ++i) sorted[i] = total[i];
        for (unsigned i = 1; i < count; ++i) {  // insertion sort: a dozen values
            for (unsigned j = i; j > 0 && sorted[j - 1] > sorted[j]; --j) {
                const std::uint64_t t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
            }
        }
        return count == 0 ? 0 : sorted[count / 2] / (iters * ops_per_iter);
    }

    // The machine-readable line first, then a human-readable summary.
    void report() const {
        xt::print("BENCH {} iters={} ops={}", name, iters, ops_per_iter);
        for (unsigned i = 0; i < count; ++i) xt::print(" {}", total[i]);
        xt::print("\n");
        xt::print("{}: median {} cycles per operation over {} batches\n", name, median_per_op(), count);
    }
};

// `key=<decimal>` from the guest command line (start_info.cmd_line), or `fallback`.
inline std::uint64_t cmdline_number(const char* key, std::uint64_t fallback) {
    const char* line = reinterpret_cast<const char*>(xt::start_info()->cmd_line);
    for (const char* p = line; *p != '\0'; ++p) {
        if (p != line && p[-1] != ' ') continue;  // keys start a word
        const char* k = key;
        const char* q = p;
        while (*k != '\0' && *q == *k) ++k, ++q;
        if (*k != '\0' || *q != '=') continue;
        std::uint64_t value = 0;
        for (++q; *q >= '0' && *q <= '9'; ++q) value = value * 10 + static_cast<std::uint64_t>(*q - '0');
        return value;
    }
    return fallback;
}

// --- Event channels with events masked: SCHEDOP_poll and the shared_info pending bits -------

inline volatile std::uint64_t& pending_word(xen::evtchn_port_t port) {
    return reinterpret_cast<volatile std::uint64_t&>(xt::shared_info()->evtchn_pending[port / 64]);
}
inline bool is_pending(xen::evtchn_port_t port) { return (pending_word(port) >> (port % 64)) & 1; }
inline void clear_pending(xen::evtchn_port_t port) {
    __atomic_fetch_and(&pending_word(port), ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
}

// Sleeps in SCHEDOP_poll until `port` is pending, then consumes the event. With the upcall
// masked no callback runs: the wake-up is the whole cost (devices §1.6: poll wakes even for a
// masked port).
inline void wait_event(xen::evtchn_port_t port) {
    while (!is_pending(port)) {
        xen::evtchn_port_t ports[1] = {port};
        xt::sched_poll(ports, 1, 0);
    }
    clear_pending(port);
}

// Busy-waits (no hypercall) until `port` is pending, then consumes it. Only sensible when the
// peer runs on another pCPU.
inline void spin_event(xen::evtchn_port_t port) {
    while (!is_pending(port)) asm volatile("pause" ::: "memory");
    clear_pending(port);
}

// The "server" side of a two-domain benchmark offers an unbound port to its peer.
inline xen::evtchn_port_t offer_port(xen::domid_t peer) {
    xen::evtchn_alloc_unbound a{xen::DOMID_SELF, peer, 0};
    const long rc = xt::event_channel_op(xen::EVTCHNOP_alloc_unbound, &a);
    return rc == 0 ? a.port : 0;
}

// The "client" side has no xenstore to learn the port from: it tries the peer's low ports
// (only the one offered to us can bind) until the peer has allocated it. Returns the local
// port, or 0 after `attempts` rounds. Between rounds it yields, or with `spin` (the peer has a
// pCPU of its own) just pauses.
inline xen::evtchn_port_t connect_to(xen::domid_t peer, bool spin = false, unsigned attempts = 100000) {
    for (unsigned round = 0; round < attempts; ++round) {
        for (xen::evtchn_port_t remote = 1; remote < 16; ++remote) {
            xen::evtchn_bind_interdomain b{peer, 0, remote, 0};
            if (xt::event_channel_op(xen::EVTCHNOP_bind_interdomain, &b) == 0) {
                // Binding marks the new local port pending (so that no notification can be
                // lost, devices §1.2); that is not an event from the peer.
                clear_pending(b.local_port);
                return b.local_port;
            }
        }
        if (spin) {
            for (int i = 0; i < 1000; ++i) asm volatile("pause");
        } else {
            xt::sched_yield();
        }
    }
    return 0;
}

}  // namespace bench
