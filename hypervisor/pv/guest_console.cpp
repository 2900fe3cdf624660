// Console rings of boot-time domains, polled from a hypervisor timer. Polling (every 10 ms) keeps
// the backend simple and never depends on the guest's event-channel notifications being right.
#include "pv/guest_console.hpp"

#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"
#include "core/irq_lock.hpp"
#include "core/timer.hpp"
#include "domain/domain.hpp"
#include "event/event_channel.hpp"
#include "lib/spinlock.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t POLL_NS = 10'000'000;

struct GuestConsole {
    Domain* domain = nullptr;
    xen::xencons_interface* ring = nullptr;
    std::uint32_t port = 0;
    char line[160] = {};
    unsigned length = 0;
    bool partial = false;  // part of the current line (a prompt) is already on the console
};

SpinLock g_lock;
GuestConsole g_consoles[MAX_DOMAINS];
Timer g_poll_timer;

// Print the buffered text: a whole line with its "(dN name)" prefix, or - when the guest went
// quiet mid-line, as at a shell prompt - what there is so far, the rest following unprefixed.
void flush(GuestConsole& c, bool end_of_line) {
    FixedBuffer<console::LINE_CAPACITY> text;
    if (!c.partial)
        format_to(text, "(hv) (d{} {}) ", c.domain->id, c.domain->name);
    format_to(text, "{}", std::string_view(c.line, c.length));
    if (end_of_line)
        text.put('\n');
    console::write(text.view());
    c.length = 0;
    c.partial = !end_of_line;
}

// Consume the guest's output between out_cons and out_prod (§3.1: free-running indices).
void drain(GuestConsole& c) {
    xen::xencons_interface& ring = *c.ring;
    std::uint32_t consumer = __atomic_load_n(&ring.out_cons, __ATOMIC_RELAXED);
    const std::uint32_t producer = __atomic_load_n(&ring.out_prod, __ATOMIC_ACQUIRE);
    // A guest that scribbles on its indices gets at most one ring's worth read per poll.
    std::uint32_t budget = xen::XENCONS_OUT_SIZE;
    const bool quiet = consumer == producer;
    while (consumer != producer && budget--) {
        const char ch = ring.out[consumer % xen::XENCONS_OUT_SIZE];
        ++consumer;
        if (ch == '\n') {
            flush(c, true);
        } else if (ch >= 0x20 && ch < 0x7f) {
            c.line[c.length++] = ch;
            if (c.length == sizeof(c.line))
                flush(c, true);
        }
    }
    __atomic_store_n(&ring.out_cons, consumer, __ATOMIC_RELEASE);
    // Nothing new for a whole poll period and half a line waiting: show it (a prompt).
    if (quiet && c.length)
        flush(c, false);
}

// Serial input for the console that has the focus (the first attached), into its `in` ring.
void feed_input() {
    GuestConsole* focus = nullptr;
    for (GuestConsole& c : g_consoles) {
        if (c.ring) {
            focus = &c;
            break;
        }
    }
    char input[64];
    const std::size_t count = console::read_input(input, sizeof(input));
    if (!focus || count == 0)
        return;
    xen::xencons_interface& ring = *focus->ring;
    const std::uint32_t consumer = __atomic_load_n(&ring.in_cons, __ATOMIC_ACQUIRE);
    std::uint32_t producer = __atomic_load_n(&ring.in_prod, __ATOMIC_RELAXED);
    for (std::size_t i = 0; i < count && producer - consumer < xen::XENCONS_IN_SIZE; ++i)
        ring.in[producer++ % xen::XENCONS_IN_SIZE] = input[i];
    __atomic_store_n(&ring.in_prod, producer, __ATOMIC_RELEASE);
    raise_port(*focus->domain, focus->port);
}

void poll(Timer& timer) {
    {
        IrqLockGuard guard(g_lock);
        for (GuestConsole& c : g_consoles) {
            if (c.ring)
                drain(c);
        }
        feed_input();
    }
    timer_set(timer, timer.deadline_ns + POLL_NS);
}

}  // namespace

void attach_guest_console(Domain& domain, xen::xencons_interface& ring, std::uint32_t port) {
    IrqLockGuard guard(g_lock);
    GuestConsole& c = g_consoles[domain.id];
    c = GuestConsole{};
    c.domain = &domain;
    c.ring = &ring;
    c.port = port;
}

void detach_guest_console(Domain& domain) {
    IrqLockGuard guard(g_lock);
    GuestConsole& c = g_consoles[domain.id];
    if (!c.ring)
        return;
    drain(c);
    if (c.length || c.partial)
        flush(c, true);
    c = GuestConsole{};
}

void start_guest_consoles() {
    g_poll_timer.callback = poll;
    timer_set(g_poll_timer, arch::system_time_ns() + POLL_NS);
}

}  // namespace xenolith
