// mm-victim: runs beside a hostile or fuzzing guest. Fills its memory with a pattern, waits
// until the other guest signals it is done (or `timeout=` seconds of system time pass), then
// checks that nothing of its own changed: data, spare frames, its page tables, its reservation
// (pv-abi-core.md §7: an unprivileged domain's frames are never mapped by another).
#include "mm_util.hpp"

namespace {

using namespace mmt;

constexpr std::uint64_t BUFFER_WORDS = 64 * 512;  // 256 KiB inside our image
std::uint64_t g_buffer[BUFFER_WORDS];

std::uint64_t pattern(std::uint64_t where, std::uint64_t i) { return 0x7ec7'1300'0000'0000ull ^ (where << 12) ^ i; }

// Our bootstrap tables as they were (A/D masked: the CPU sets them behind our back).
constexpr std::uint64_t TABLES = 8;
std::uint64_t g_tables[TABLES][512];
std::uint64_t g_table_mfns[TABLES];
unsigned g_table_count = 0;

void snapshot_tables(bool compare) {
    const std::uint64_t base = xt::start_info()->pt_base;
    const std::uint64_t frames = xt::start_info()->nr_pt_frames;
    unsigned n = 0;
    for (std::uint64_t f = 0; f < frames && n < TABLES; ++f, ++n) {
        const volatile std::uint64_t* t = reinterpret_cast<const volatile std::uint64_t*>(base + f * 4096);
        for (unsigned i = 0; i < 512; ++i) {
            const std::uint64_t value = t[i] & ~(A | D);
            if (!compare) {
                g_tables[n][i] = value;
            } else if (g_tables[n][i] != value) {
                xt::print("  table {} entry {} changed: {:#x} -> {:#x}\n", f, i, g_tables[n][i], value);
                CHECK(false);
                break;
            }
        }
        g_table_mfns[n] = xt::p2m(xt::va_to_pfn(base + f * 4096));
    }
    g_table_count = n;
}

// Spare frames, each visited through window 0.
unsigned spare_frames(bool compare) {
    unsigned bad = 0;
    for (std::uint64_t s = 0; s + 1 < spare_count(); ++s) {  // the last one carries no pattern
        const std::uint64_t mfn = spare_mfn(s);
        if (map_window(0, mfn, true) != 0) {
            ++bad;
            continue;
        }
        volatile std::uint64_t* p = window_ptr(0);
        for (unsigned i = 0; i < 512; i += 7) {
            if (!compare) {
                p[i] = pattern(mfn, i);
            } else if (p[i] != pattern(mfn, i)) {
                ++bad;
                break;
            }
        }
    }
    return bad;
}

}  // namespace

void guest_main(const xen::start_info* si) {
    init();
    const std::uint64_t timeout_ns = cmdline_number("timeout", 60) * 1'000'000'000ull;
    const long reservation = current_reservation();
    now_ns();  // maps shared_info (over a page of our image) before the tables are recorded
    const std::uint64_t buffer_pfn = xt::va_to_pfn(reinterpret_cast<std::uint64_t>(g_buffer));
    for (std::uint64_t i = 0; i < BUFFER_WORDS; ++i) {
        g_buffer[i] = pattern(buffer_pfn, i);
    }
    CHECK_EQ(spare_frames(false), 0u);
    snapshot_tables(false);
    xt::print("mm-victim: {} KiB and {} spare frames filled, {} tables recorded; waiting\n", sizeof(g_buffer) / 1024,
              spare_count() - 1, g_table_count);

    set_marker(READY_MAGIC);
    const std::uint64_t start = now_ns();
    const bool done = wait_for_marker(DONE_MAGIC, timeout_ns);
    xt::print("mm-victim: {} after {} ms\n", done ? "the other guest is done" : "timed out",
              (now_ns() - start) / 1'000'000);
    CHECK(done);
    set_marker(CHECKED_MAGIC);
    unsigned bad_words = 0;
    for (std::uint64_t i = 0; i < BUFFER_WORDS; ++i) {
        bad_words += g_buffer[i] != pattern(buffer_pfn, i);
    }
    CHECK_EQ(bad_words, 0u);
    CHECK_EQ(spare_frames(true), 0u);
    snapshot_tables(true);
    CHECK_EQ(current_reservation(), reservation);
    // Our frames are still ours in the M2P.
    for (unsigned n = 0; n < g_table_count; ++n) {
        CHECK(own_frame(g_table_mfns[n]));
    }
    CHECK_EQ(xt::m2p(xt::p2m(0)), 0ull);
    CHECK_EQ(si->nr_pages, static_cast<std::uint64_t>(reservation));
}
