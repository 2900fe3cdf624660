// Log-dirty tracking, step 1 of docs/log-dirty.md: a superset of the pages a domain writes,
// never missing one, without shadow page tables.
//
// The rule that makes it lossless (the argument is in docs/log-dirty.md, "Why nothing is lost"):
// a round reports every PFN recorded since the last CLEAN, OR'ed with every frame of the domain
// that may be written right now: any non-zero type count (Writable: some writable mapping or a
// hypervisor write in progress; page tables and descriptor pages: the MMU sets their A/D bits),
// or StaleWritable (a TLB may still hold a writable translation). A frame is recorded whenever
// its type count leaves or reaches zero (mm/page_ref.cpp through GuestFrames::note_written),
// when the hypervisor writes an untyped frame (mmu_update on a non-table) and when its M2P
// entry changes. A write always happens while the frame is in one of the "may be written"
// states, so it is either still in that state at the next round or was recorded on the way out.
#include "mm/log_dirty.hpp"

#include "core/smp.hpp"
#include "domain/domain.hpp"
#include "lib/atomic.hpp"
#include "lib/string.hpp"
#include "arch/x86_64/paging.hpp"
#include "mm/dirty_bitmap.hpp"
#include "mm/domain_memory.hpp"
#include "mm/page_allocator.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_memory.hpp"
#include "xen/domctl.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t INVALID_PFN = ~std::uint64_t{0};
// Frames scanned per slice of a round (one mm-lock hold; a continuation between slices).
constexpr std::uint64_t SCAN_SLICE = 16384;

struct Tracking {
    DirtyBitmap recorded;
    std::uint64_t* report = nullptr;  // a round's answer, recorded.word_count() words
    std::uint64_t storage_phys = 0;   // both bitmaps, one allocation
    unsigned storage_order = 0;

    // The round in progress (owned by one caller vCPU until it is done).
    bool round_active = false;
    DomainId round_caller = 0;
    unsigned round_vcpu = 0;
    std::uint32_t round_op = 0;
    std::uint64_t round_bitmap = 0;
    std::uint64_t round_pages = 0;
    std::uint64_t round_newly_dirty = 0;
    std::uint64_t scan_next = 0;  // next MFN to look at
};

// Indexed by domain id (ids stay below MAX_DOMAINS). Every field is changed under the mm lock.
Tracking g_tracking[MAX_DOMAINS];
Atomic<unsigned> g_tracked_domains{0};

unsigned order_of(std::uint64_t pages) {
    unsigned order = 0;
    while ((std::uint64_t{1} << order) < pages)
        ++order;
    return order;
}

Tracking* tracking_of(DomainId domain) {
    if (domain >= MAX_DOMAINS || !g_tracking[domain].recorded.attached())
        return nullptr;
    return &g_tracking[domain];
}

// A round that will not be finished (its caller asked something else): its CLEAN took the
// recorded bits out, so they go back, or the next round would miss them.
void abandon_round(Tracking& t) {
    if (!t.round_active)
        return;
    if (t.round_op == xen::XEN_DOMCTL_SHADOW_OP_CLEAN) {
        for (std::uint64_t i = 0; i < t.recorded.word_count(); ++i)
            t.recorded.restore_word(i, t.report[i]);
        t.recorded.restore_newly_dirty(t.round_newly_dirty);
    }
    t.round_active = false;
}

// Frees what detach() handed back; outside the mm lock (the allocator has its own).
struct DetachedStorage {
    std::uint64_t phys = 0;
    unsigned order = 0;
    void release() const {
        if (phys)
            free_frames(phys, order);
    }
};

DetachedStorage stop_tracking(Tracking& t) {
    if (!t.recorded.attached())
        return {};
    t.round_active = false;
    (void)t.recorded.detach();
    t.report = nullptr;
    g_tracked_domains.fetch_add(static_cast<unsigned>(-1));
    return {t.storage_phys, t.storage_order};
}

// The part of the frame table [first, last) that belongs to `domain` and may be written right
// now, OR'ed into the report by PFN.
void scan_frames(Tracking& t, DomainId domain, std::uint64_t first, std::uint64_t last) {
    for (std::uint64_t mfn = first; mfn < last; ++mfn) {
        const PageState& page = frame_info(mfn)->page;
        if (!page.owned_by(domain))
            continue;
        if (page.type_count == 0 && (page.flags & PageState::kStaleWritable) == 0)
            continue;
        const std::uint64_t pfn = machine_to_phys(mfn);
        if (pfn < t.recorded.bits())
            t.report[pfn / DirtyBitmap::kBitsPerWord] |= std::uint64_t{1} << (pfn % DirtyBitmap::kBitsPerWord);
    }
}

}  // namespace

void log_dirty_note_pfn(DomainId domain, std::uint64_t pfn) {
    if (g_tracked_domains.load(MemoryOrder::Relaxed) == 0 || pfn == INVALID_PFN)
        return;
    if (Tracking* t = tracking_of(domain))
        (void)t->recorded.mark(pfn);
}

void log_dirty_note_frame(std::uint64_t mfn) {
    if (g_tracked_domains.load(MemoryOrder::Relaxed) == 0)
        return;
    const FrameInfo* info = frame_info(mfn);
    if (!info || !info->page.is_domain_owned())
        return;
    // Frames outside the domain's pseudo-physical map (shared_info: M2P entry invalid) have no
    // bit; the saver sends them by other means (dom0-devices.md §6.3 step 12).
    log_dirty_note_pfn(info->page.domain(), machine_to_phys(mfn));
}

bool log_dirty_enabled(const Domain& target) {
    MmLockGuard guard;
    return tracking_of(target.id) != nullptr;
}

Result<void> log_dirty_enable(Domain& target) {
    if (target.id >= MAX_DOMAINS || target.max_pages == 0)
        return Error{Errno::EINVAL};
    if (log_dirty_enabled(target))
        return Error{Errno::EINVAL};  // §5.3.14: already in log-dirty mode
    // One bit per PFN below max_pages, twice (recorded bits and a round's answer), from the
    // allocator before taking the mm lock.
    const std::uint64_t words = DirtyBitmap::words_for(target.max_pages);
    const unsigned order = order_of((2 * words * 8 + 4095) / 4096);
    const std::uint64_t phys = TRY(allocate_frames(order));
    auto* storage = static_cast<std::uint64_t*>(arch::phys_to_virt(phys));
    {
        MmLockGuard guard;
        Tracking& t = g_tracking[target.id];
        if (!t.recorded.attached()) {
            t = Tracking{};
            t.recorded.attach(storage, target.max_pages);
            t.report = storage + words;
            memset(t.report, 0, words * 8);
            t.storage_phys = phys;
            t.storage_order = order;
            // The first round reports everything: the saver copies all memory first anyway.
            t.recorded.mark_all();
            g_tracked_domains.fetch_add(1);
            return ok();
        }
    }
    free_frames(phys, order);  // another vCPU enabled it meanwhile
    return Error{Errno::EINVAL};
}

void log_dirty_disable(Domain& target) {
    if (target.id >= MAX_DOMAINS)
        return;
    DetachedStorage storage;
    {
        MmLockGuard guard;
        storage = stop_tracking(g_tracking[target.id]);
    }
    storage.release();
}

void log_dirty_domain_destroyed(Domain& domain) { log_dirty_disable(domain); }

Result<RoundProgress> log_dirty_round_step(Domain& target, const Domain& caller, unsigned caller_vcpu,
                                           LogDirtyRound& round, bool may_continue) {
    const std::uint64_t frames = max_frame_number();
    for (;;) {
        MmLockGuard guard;
        Tracking* t = tracking_of(target.id);
        if (!t)
            return Error{Errno::EINVAL};  // not in log-dirty mode
        const bool mine = t->round_active && t->round_caller == caller.id && t->round_vcpu == caller_vcpu;
        if (t->round_active && !mine)
            return Error{Errno::EBUSY};  // §5.3.14: a second concurrent op
        const bool same = mine && t->round_op == round.op && t->round_bitmap == round.bitmap_out &&
                          t->round_pages == round.pages;
        if (!same) {
            // A new round: move (CLEAN) or copy (PEEK) the recorded bits into the answer.
            abandon_round(*t);
            const bool clean = round.op == xen::XEN_DOMCTL_SHADOW_OP_CLEAN;
            for (std::uint64_t i = 0; i < t->recorded.word_count(); ++i)
                t->report[i] = clean ? t->recorded.take_word(i) : t->recorded.peek_word(i);
            t->round_newly_dirty = clean ? t->recorded.take_newly_dirty() : t->recorded.newly_dirty();
            t->round_active = true;
            t->round_caller = caller.id;
            t->round_vcpu = caller_vcpu;
            t->round_op = round.op;
            t->round_bitmap = round.bitmap_out;
            t->round_pages = round.pages;
            t->scan_next = 0;
        }
        // Frames that may be written right now are reported whether or not they were recorded:
        // writes through a live writable mapping cannot be seen without shadow page tables.
        const std::uint64_t last = t->scan_next + SCAN_SLICE < frames ? t->scan_next + SCAN_SLICE : frames;
        scan_frames(*t, target.id, t->scan_next, last);
        t->scan_next = last;
        if (last < frames) {
            if (may_continue)
                return RoundProgress::Continue;
            continue;  // inside a multicall: finish here, one slice per lock hold
        }

        // Done: the answer goes out under the lock (OFF or teardown on another CPU cannot free
        // it meanwhile). At most max_pages / 8 bytes.
        round.pages_out = round.pages < t->recorded.bits() ? round.pages : t->recorded.bits();
        t->round_active = false;
        if (round.bitmap_out) {
            if (auto copied = copy_to_guest(round.bitmap_out, t->report, (round.pages_out + 7) / 8); !copied) {
                // Nothing reached the caller: a CLEAN's bits must not be lost.
                t->round_active = true;
                abandon_round(*t);
                return copied.error();
            }
        }
        round.dirty_count = t->round_newly_dirty > 0xFFFFFFFFu ? 0xFFFFFFFFu
                                                               : static_cast<std::uint32_t>(t->round_newly_dirty);
        round.fault_count = 0;  // no write faults are taken without shadow page tables
        return RoundProgress::Done;
    }
}

}  // namespace xenolith
