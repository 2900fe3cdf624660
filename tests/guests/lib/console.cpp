// Console output: formatter, console_io, and the PV console ring (devices §3.1-§3.2).
#include "xt/console.hpp"

#include "xen/xen.hpp"
#include "xt/guest.hpp"
#include "xt/hypercall.hpp"

namespace xt {
namespace {

ConsolePath g_path = ConsolePath::Unknown;
xen::xencons_interface* g_ring = nullptr;

// devices §3.2 / §0.3: the ring is start_info.console.domU.mfn, one of our own pages. A PFN is
// accepted only if the P2M confirms it holds that MFN.
bool pfn_holds(std::uint64_t pfn, std::uint64_t mfn, const xen::start_info* si) {
    return pfn < si->nr_pages && p2m(pfn) == mfn;
}

xen::xencons_interface* find_console_ring() {
    const xen::start_info* si = start_info();
    if (si == nullptr || si->console.domU.evtchn == 0) {
        return nullptr;  // devices §0.3: evtchn 0 means no PV console
    }
    const std::uint64_t mfn = si->console.domU.mfn;
    // §2 item 3: start_info, then the xenstore ring, then the console ring, page after page.
    const std::uint64_t guess = va_to_pfn(reinterpret_cast<std::uint64_t>(si)) + 2;
    if (pfn_holds(guess, mfn, si)) {
        return reinterpret_cast<xen::xencons_interface*>(pfn_to_va(guess));
    }
    // §2.5: otherwise ask the read-only M2P which PFN owns the frame.
    const std::uint64_t pfn = m2p(mfn);
    if (pfn_holds(pfn, mfn, si) && pfn_to_va(pfn) < si->pt_base) {
        return reinterpret_cast<xen::xencons_interface*>(pfn_to_va(pfn));
    }
    return nullptr;
}

// devices §3.1: copy while there is room, barrier, publish out_prod, notify the port.
void ring_write(const char* text, std::size_t length) {
    volatile xen::xencons_interface* ring = g_ring;
    const xen::evtchn_port_t port = start_info()->console.domU.evtchn;
    std::size_t sent = 0;
    unsigned waits = 0;
    while (sent < length) {
        const xen::XENCONS_RING_IDX cons = ring->out_cons;
        xen::XENCONS_RING_IDX prod = ring->out_prod;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (prod - cons > xen::XENCONS_OUT_SIZE) {
            g_path = ConsolePath::None;  // a corrupt ring: give up rather than scribble
            return;
        }
        while (sent < length && prod - cons < xen::XENCONS_OUT_SIZE) {
            ring->out[xen::xencons_mask_out(prod)] = text[sent];
            ++prod;
            ++sent;
        }
        __atomic_thread_fence(__ATOMIC_RELEASE);
        ring->out_prod = prod;
        evtchn_send(port);
        if (sent < length) {
            // The backend has not caught up: let it run (Linux polls with SCHEDOP_yield too).
            sched_yield();
            if (++waits > 100000) {
                return;
            }
        }
    }
}

void append(char* out, std::size_t capacity, std::size_t& len, char c) {
    if (len + 1 < capacity) {
        out[len] = c;
    }
    ++len;
}

void append_unsigned(char* out, std::size_t cap, std::size_t& len, std::uint64_t v, unsigned base, bool prefix) {
    char digits[24];
    std::size_t n = 0;
    do {
        const unsigned d = static_cast<unsigned>(v % base);
        digits[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + (d - 10));
        v /= base;
    } while (v != 0);
    if (prefix) {
        append(out, cap, len, '0');
        append(out, cap, len, 'x');
    }
    while (n > 0) append(out, cap, len, digits[--n]);
}

void append_arg(char* out, std::size_t cap, std::size_t& len, const FormatArg& a, bool hex, bool prefix) {
    switch (a.kind) {
    case FormatArg::Kind::Signed:
        if (hex) {
            append_unsigned(out, cap, len, static_cast<std::uint64_t>(a.s), 16, prefix);
        } else if (a.s < 0) {
            append(out, cap, len, '-');
            append_unsigned(out, cap, len, 0 - static_cast<std::uint64_t>(a.s), 10, false);
        } else {
            append_unsigned(out, cap, len, static_cast<std::uint64_t>(a.s), 10, false);
        }
        break;
    case FormatArg::Kind::Unsigned:
        append_unsigned(out, cap, len, a.u, hex ? 16 : 10, hex && prefix);
        break;
    case FormatArg::Kind::Pointer:
        append_unsigned(out, cap, len, reinterpret_cast<std::uint64_t>(a.ptr), 16, true);
        break;
    case FormatArg::Kind::String:
        for (const char* s = a.str != nullptr ? a.str : "(null)"; *s != '\0'; ++s) append(out, cap, len, *s);
        break;
    case FormatArg::Kind::Bool: {
        for (const char* s = a.u != 0 ? "true" : "false"; *s != '\0'; ++s) append(out, cap, len, *s);
        break;
    }
    case FormatArg::Kind::Char:
        append(out, cap, len, static_cast<char>(a.u));
        break;
    }
}

}  // namespace

std::size_t format_to(char* out, std::size_t capacity, const char* fmt, const FormatArg* args, std::size_t count) {
    std::size_t len = 0;
    std::size_t next = 0;
    for (const char* p = fmt; *p != '\0'; ++p) {
        if (p[0] == '{' && p[1] == '{') {
            append(out, capacity, len, '{');
            ++p;
        } else if (p[0] == '}' && p[1] == '}') {
            append(out, capacity, len, '}');
            ++p;
        } else if (p[0] == '{') {
            const char* close = p + 1;
            while (*close != '\0' && *close != '}') ++close;
            if (*close == '\0') {
                break;
            }
            const bool alt = close - p >= 3 && p[1] == ':' && p[2] == '#';
            const bool hex = close > p + 1 && close[-1] == 'x';
            if (next < count) {
                append_arg(out, capacity, len, args[next++], hex, alt);
            } else {
                for (const char* s = "{?}"; *s != '\0'; ++s) append(out, capacity, len, *s);
            }
            p = close;
        } else {
            append(out, capacity, len, *p);
        }
    }
    if (capacity > 0) {
        out[len < capacity ? len : capacity - 1] = '\0';
    }
    return len < capacity ? len : capacity - 1;
}

void vprint(const char* fmt, const FormatArg* args, std::size_t count) {
    char line[512];
    const std::size_t len = format_to(line, sizeof line, fmt, args, count);
    console_write(line, len);
}

void console_write(const char* text, std::size_t length) {
    if (length == 0) {
        return;
    }
    if (g_path == ConsolePath::Unknown || g_path == ConsolePath::ConsoleIo) {
        const long rc = console_io(xen::CONSOLEIO_write, static_cast<std::uint32_t>(length), text);
        if (rc >= 0) {
            g_path = ConsolePath::ConsoleIo;
            return;
        }
        // §5.14: stock Xen refuses console_io to unprivileged domains with -EPERM; whatever the
        // error, the ring is the way left.
        g_ring = find_console_ring();
        g_path = g_ring != nullptr ? ConsolePath::Ring : ConsolePath::None;
    }
    if (g_path == ConsolePath::Ring) {
        ring_write(text, length);
    }
}

ConsolePath console_path() { return g_path; }

}  // namespace xt
