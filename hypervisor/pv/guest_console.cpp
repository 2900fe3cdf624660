// Console rings of boot-time domains, polled from a hypervisor timer. Polling (every 10 ms) keeps
// the backend simple and never depends on the guest's event-channel notifications being right.
#include "pv/guest_console.hpp"

#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"
#include "core/timer.hpp"
#include "domain/domain.hpp"
#include "lib/spinlock.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t POLL_NS = 10'000'000;

struct GuestConsole {
    Domain* domain = nullptr;
    xen::xencons_interface* ring = nullptr;
    char line[160] = {};
    unsigned length = 0;
};

SpinLock g_lock;
GuestConsole g_consoles[MAX_DOMAINS];
Timer g_poll_timer;

void flush(GuestConsole& c) {
    log_info("(d{} {}) {}", c.domain->id, c.domain->name, std::string_view(c.line, c.length));
    c.length = 0;
}

// Consume the guest's output between out_cons and out_prod (§3.1: free-running indices).
void drain(GuestConsole& c) {
    xen::xencons_interface& ring = *c.ring;
    std::uint32_t consumer = __atomic_load_n(&ring.out_cons, __ATOMIC_RELAXED);
    const std::uint32_t producer = __atomic_load_n(&ring.out_prod, __ATOMIC_ACQUIRE);
    // A guest that scribbles on its indices gets at most one ring's worth read per poll.
    std::uint32_t budget = xen::XENCONS_OUT_SIZE;
    while (consumer != producer && budget--) {
        const char ch = ring.out[consumer % xen::XENCONS_OUT_SIZE];
        ++consumer;
        if (ch == '\n') {
            flush(c);
        } else if (ch >= 0x20 && ch < 0x7f) {
            c.line[c.length++] = ch;
            if (c.length == sizeof(c.line))
                flush(c);
        }
    }
    __atomic_store_n(&ring.out_cons, consumer, __ATOMIC_RELEASE);
}

void poll(Timer& timer) {
    {
        LockGuard guard(g_lock);
        for (GuestConsole& c : g_consoles) {
            if (c.ring)
                drain(c);
        }
    }
    timer_set(timer, timer.deadline_ns + POLL_NS);
}

}  // namespace

void attach_guest_console(Domain& domain, xen::xencons_interface& ring) {
    LockGuard guard(g_lock);
    GuestConsole& c = g_consoles[domain.id];
    c = GuestConsole{};
    c.domain = &domain;
    c.ring = &ring;
}

void detach_guest_console(Domain& domain) {
    LockGuard guard(g_lock);
    GuestConsole& c = g_consoles[domain.id];
    if (!c.ring)
        return;
    drain(c);
    if (c.length)
        flush(c);
    c = GuestConsole{};
}

void start_guest_consoles() {
    g_poll_timer.callback = poll;
    timer_set(g_poll_timer, arch::system_time_ns() + POLL_NS);
}

}  // namespace xenolith
