// Randomised sequences over the PV memory core: thousands of operations per seed, several
// domains (dom0 privileged), edge-biased arguments, and the independent checker after each step.
#include <gtest/gtest.h>

#include <array>
#include <iostream>
#include <random>
#include <sstream>

#include "mm_fixture.hpp"

namespace xenolith::test {
namespace {

constexpr std::uint64_t kFrames = 48;
constexpr DomainId kDomains = 4;  // dom0 is privileged and I/O-capable
constexpr std::uint64_t kFirstGuestFrame = 3;  // 0, 1: hypervisor, 2: MMIO

constexpr std::uint64_t P = pte::kPresent, RW = pte::kWritable, US = pte::kUser, A = pte::kAccessed,
                        D = pte::kDirty;

struct Stats {
    std::array<std::uint64_t, 5> table_updates{};  // successful mod_entry per level
    std::array<std::uint64_t, 5> pins{};
    std::uint64_t refused = 0, accepted = 0, linear_seen = 0, trees = 0, max_validated = 0;
};

class RandomRun {
public:
    explicit RandomRun(std::uint64_t seed) : m_rng(seed), m_seed(seed) {
        w.policy.privileged.insert(0);
        w.policy.io.insert(0);
        EXPECT_TRUE(w.refs.assign_to_hypervisor(0).is_ok());
        EXPECT_TRUE(w.refs.assign_to_hypervisor(1).is_ok());
        EXPECT_TRUE(w.refs.assign_to_io(2).is_ok());
        for (std::uint64_t mfn = kFirstGuestFrame; mfn < kFrames; ++mfn)
            if (chance(85)) {
                EXPECT_TRUE(w.refs.assign_to_domain(mfn, random_domain()).is_ok());
            }
    }

    // Returns false (after reporting) at the first violation.
    bool run(unsigned steps) {
        for (unsigned step = 0; step < steps; ++step) {
            m_before = snapshot();
            m_what.clear();
            w.memory.written_notes.clear();
            m_guest_step = false;
            bool accepted = one_step();
            (accepted ? stats.accepted : stats.refused)++;
            if (!accepted && !unchanged(m_before))
                return fail(step, {"refused operation changed state"});
            auto bad = check_world(w);
            if (bad.empty())
                bad = check_log_dirty_marks(m_before);
            if (!bad.empty())
                return fail(step, bad);
            observe();
        }
        return true;
    }

    // Drop every reference the test holds; everything must drain to zero and be releasable.
    bool tear_down() {
        m_what = "teardown";
        while (!w.ledger.pins.empty()) {
            auto it = w.ledger.pins.begin();
            std::advance(it, pick(w.ledger.pins.size()));
            std::uint64_t mfn = it->first;
            if (w.refs.unpin(mfn, w.state(mfn).domain()).is_error())
                return fail(0, {"unpin of a pinned frame failed"});
            w.ledger.pins.erase(it);
            if (auto bad = check_world(w); !bad.empty())
                return fail(0, bad);
        }
        for (auto [mfn, type] : w.ledger.typed)
            w.refs.put_page_and_type(mfn);
        w.ledger.typed.clear();
        for (std::uint64_t mfn : w.ledger.general)
            w.refs.put_page(mfn);
        w.ledger.general.clear();
        std::vector<std::string> bad = check_world(w);
        for (std::uint64_t mfn = 0; mfn < kFrames; ++mfn) {
            const PageState& s = w.state(mfn);
            if (s.count != 0 || s.type_count != 0 || s.type != PageType::None || s.linear_count != 0 ||
                s.validated() || s.pinned())
                bad.push_back("frame " + std::to_string(mfn) + " not drained");
            if (s.is_domain_owned() && w.refs.release(mfn, s.domain()).is_error())
                bad.push_back("frame " + std::to_string(mfn) + " cannot be released");
        }
        if (!bad.empty())
            return fail(0, bad);
        return true;
    }

    MmWorld w{kFrames};
    Stats stats;

private:
    struct Snapshot {
        std::vector<PageState> states;
        std::vector<std::uint64_t> memory;
    };

    std::uint64_t pick(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(m_rng); }
    bool chance(unsigned percent) { return pick(100) < percent; }
    DomainId random_domain() { return static_cast<DomainId>(pick(kDomains)); }

    Snapshot snapshot() {
        Snapshot s;
        for (std::uint64_t mfn = 0; mfn < kFrames; ++mfn)
            s.states.push_back(w.state(mfn));
        s.memory = w.memory.memory();
        return s;
    }
    bool unchanged(const Snapshot& before) {
        Snapshot now = snapshot();
        if (!same_states(before.states, now.states))
            return false;
        // Lower tables validated during a promotion that then failed keep the hypervisor's
        // idempotent adjustments (docs/memory.md); nothing else may differ.
        constexpr std::uint64_t kAdjusted = US | pte::kGlobal | pte::kGuestKernel | A;
        for (std::size_t i = 0; i < now.memory.size(); ++i)
            if (((before.memory[i] ^ now.memory[i]) & ~kAdjusted) != 0)
                return false;
        return true;
    }

    // Log-dirty reports, per round, what was noted plus every frame that "may be written" right
    // now (mm/log_dirty.cpp). That loses nothing only if each step notes every frame that left
    // that state, and every frame whose contents it changed unless the frame is in that state
    // afterwards (docs/log-dirty.md, "Why nothing is lost").
    static bool may_be_written(const PageState& s) {
        return s.is_domain_owned() && (s.type_count != 0 || (s.flags & PageState::kStaleWritable) != 0);
    }
    std::vector<std::string> check_log_dirty_marks(const Snapshot& before) {
        std::vector<std::string> bad;
        const auto& notes = w.memory.written_notes;
        const auto& memory = w.memory.memory();
        for (std::uint64_t mfn = 0; mfn < kFrames; ++mfn) {
            const bool was = may_be_written(before.states[mfn]);
            const bool is = may_be_written(w.state(mfn));
            const bool noted = notes.count(mfn) != 0;
            if (was && !is && !noted)
                bad.push_back("log-dirty: frame " + std::to_string(mfn) + " stopped being writable unnoted");
            bool changed = false;
            for (unsigned i = 0; i < GuestFrames::kEntriesPerFrame && !changed; ++i)
                changed = memory[mfn * GuestFrames::kEntriesPerFrame + i] !=
                          before.memory[mfn * GuestFrames::kEntriesPerFrame + i];
            // op_guest_write models the guest's own stores, not the hypervisor's; it writes any
            // untyped frame, where a real guest needs a writable mapping (a Writable type) or a
            // stale writable TLB entry (StaleWritable) to write at all.
            if (changed && !is && !noted && !m_guest_step)
                bad.push_back("log-dirty: frame " + std::to_string(mfn) + " written by the hypervisor unnoted");
        }
        return bad;
    }

    bool fail(unsigned step, const std::vector<std::string>& why) {
        std::ostringstream msg;
        msg << "seed " << m_seed << " step " << step << " after: " << m_what << "\n";
        for (std::size_t i = 0; i < why.size() && i < 8; ++i)
            msg << "  " << why[i] << "\n";
        ADD_FAILURE() << msg.str();
        return false;
    }

    void observe() {
        std::uint64_t validated = 0;
        for (std::uint64_t mfn = 0; mfn < kFrames; ++mfn) {
            if (w.state(mfn).validated())
                ++validated;
            if (w.state(mfn).linear_count > 0)
                ++stats.linear_seen;
        }
        stats.max_validated = std::max(stats.max_validated, validated);
    }

    // --- Argument generators, biased towards edge values.
    std::uint64_t frame_owned_by(DomainId d) {
        for (int tries = 0; tries < 16; ++tries) {
            std::uint64_t mfn = kFirstGuestFrame + pick(kFrames - kFirstGuestFrame);
            if (w.state(mfn).owned_by(d))
                return mfn;
        }
        return pick(kFrames);
    }
    std::uint64_t table_frame() {
        for (int tries = 0; tries < 16; ++tries) {
            std::uint64_t mfn = pick(kFrames);
            if (is_page_table_type(w.state(mfn).type))
                return mfn;
        }
        return pick(kFrames);
    }
    std::uint64_t untyped_frame_of(DomainId d) {
        for (int tries = 0; tries < 32; ++tries) {
            std::uint64_t mfn = frame_owned_by(d);
            if (w.state(mfn).owned_by(d) && w.state(mfn).type_count == 0)
                return mfn;
        }
        return kFrames;
    }
    std::uint64_t any_frame_or_beyond() {
        static constexpr std::uint64_t kBeyond[] = {kFrames, kFrames + 1, 0x100000, 0xFFFFFFFFFFull};
        if (chance(10))
            return kBeyond[pick(4)];
        return pick(kFrames);
    }

    std::uint64_t random_target(DomainId d, std::uint64_t table) {
        unsigned r = static_cast<unsigned>(pick(100));
        if (r < 40)
            return frame_owned_by(d);
        if (r < 52)
            return table_frame();
        if (r < 60)
            return table;
        if (r < 70)
            return frame_owned_by(static_cast<DomainId>((d + 1 + pick(kDomains - 1)) % kDomains));
        if (r < 76)
            return pick(kFirstGuestFrame);  // hypervisor or MMIO
        if (r < 80)
            return any_frame_or_beyond();
        return frame_owned_by(d);
    }
    std::uint64_t random_flags() {
        std::uint64_t flags = P;
        if (chance(40)) flags |= RW;
        if (chance(50)) flags |= US;
        if (chance(50)) flags |= A;
        if (chance(20)) flags |= D;
        if (chance(10)) flags |= pte::kNoExecute;
        if (chance(10)) flags |= pte::kAvailable;
        static constexpr std::uint64_t kEdge[] = {pte::kWriteThrough, pte::kCacheDisable, pte::kLargePage,
                                                  pte::kGlobal, pte::kGrantTable, pte::kGuestKernel};
        for (std::uint64_t bit : kEdge)
            if (chance(3))
                flags |= bit;
        return flags;
    }
    std::uint64_t random_entry(DomainId d, std::uint64_t table) {
        if (chance(10))
            return chance(50) ? 0 : (m_rng() & ~P);  // not present: stored as written
        return pte::make(random_target(d, table), random_flags());
    }
    // An entry a well-behaved guest would write into a `level` table of domain d: own frames,
    // allowed flags; sometimes an existing table of the right level, a linear or self entry.
    std::uint64_t plausible_entry(DomainId d, std::uint64_t table, PageType level) {
        std::uint64_t flags = P | A | (chance(50) ? US : 0);
        if (chance(10))
            return 0;
        if (level == PageType::L1 || level == PageType::None || level == PageType::Writable) {
            std::uint64_t target = frame_owned_by(d);
            if (chance(35) && w.state(target).type_count == 0)
                flags |= RW;
            return pte::make(target, flags);
        }
        unsigned r = static_cast<unsigned>(pick(100));
        if (r < 8)
            return pte::make(table, flags);  // read-only self-reference
        std::uint64_t target = frame_owned_by(d);
        if (r < 40) {
            // An existing table of the next lower level (sharing), or of this level (linear).
            PageType want = r < 20 ? level : static_cast<PageType>(static_cast<unsigned>(level) - 1);
            for (int tries = 0; tries < 24; ++tries) {
                std::uint64_t mfn = frame_owned_by(d);
                if (w.state(mfn).type == want) {
                    target = mfn;
                    break;
                }
            }
            if (want == level && chance(90))
                return pte::make(target, flags);  // linear entries must be read-only (§7.5)
        } else {
            std::uint64_t fresh = untyped_frame_of(d);
            if (fresh < kFrames)
                target = fresh;
        }
        return pte::make(target, flags | (chance(70) ? RW : 0));
    }
    unsigned random_index() {
        unsigned r = static_cast<unsigned>(pick(100));
        if (r < 50) return static_cast<unsigned>(pick(8));
        if (r < 65) return 256 + static_cast<unsigned>(pick(16));
        if (r < 72) return 511;
        if (r < 75) return 512 + static_cast<unsigned>(pick(4));  // out of range
        return static_cast<unsigned>(pick(512));
    }

    template <typename... Parts>
    void describe(const Parts&... parts) {
        std::ostringstream s;
        (s << ... << parts);
        m_what = s.str();
    }

    // --- Operations. Each returns whether it was accepted.
    bool one_step() {
        unsigned r = static_cast<unsigned>(pick(100));
        if (r < 20) return op_update();
        if (r < 27) return op_guest_write();
        if (r < 39) return op_pin();
        if (r < 46) return op_unpin();
        if (r < 51) return op_build_tree();
        if (r < 57) return op_get_ref();
        if (r < 63) return op_put_ref();
        if (r < 66) return op_assign();
        if (r < 70) return op_release();
        return op_update_existing_table();
    }

    bool op_update_on(DomainId d, std::uint64_t table, bool plausible) {
        DomainId fd = d;
        if (!plausible && chance(15))
            fd = random_domain();
        unsigned index = random_index();
        if (plausible && index >= 256 && index < 272)
            index -= 200;
        if (plausible && index >= 512)
            index = 0;
        PageType level = table < kFrames ? w.state(table).type : PageType::None;
        std::uint64_t value = plausible ? plausible_entry(d, table, level) : random_entry(fd, table);
        bool preserve = chance(20);
        if (chance(5))
            w.memory.inject_hardware_bits = D;
        PageType type_before = w.state(table < kFrames ? table : 0).type;
        describe("update_entry d", d, " fd ", fd, " table ", table, "[", index, "] = ", std::hex, value,
                 preserve ? " preserve-AD" : "");
        Result<void> r = w.validator.update_entry({d, fd}, table, index, value, preserve);
        w.memory.inject_hardware_bits = 0;
        if (r.is_ok() && is_page_table_type(type_before)) {
            stats.table_updates[static_cast<unsigned>(type_before)]++;
            std::uint64_t stored = w.memory.entry(table, index);
            if (((stored ^ value) & (P | RW | pte::kFrameMask)) != 0)
                ADD_FAILURE() << "stored " << std::hex << stored << " for " << value;
        }
        return r.is_ok();
    }
    bool op_update() {
        DomainId d = random_domain();
        std::uint64_t table = chance(70) ? frame_owned_by(d) : any_frame_or_beyond();
        return op_update_on(d, table, false);
    }
    bool op_update_existing_table() {
        std::uint64_t table = table_frame();
        DomainId d = w.state(table).is_domain_owned() && chance(90) ? w.state(table).domain() : random_domain();
        return op_update_on(d, table, chance(70));
    }
    // The guest writes through a writable mapping: only frames that are not tables/descriptors.
    bool op_guest_write() {
        std::uint64_t mfn = kFirstGuestFrame + pick(kFrames - kFirstGuestFrame);
        PageState& s = w.state(mfn);
        if (!s.is_domain_owned() || (s.type_count != 0 && s.type != PageType::Writable))
            return false;
        DomainId d = s.domain();
        unsigned index = static_cast<unsigned>(chance(80) ? pick(8) : pick(512));
        std::uint64_t value = chance(40) ? 0 : chance(70) ? plausible_entry(d, mfn, PageType::L1) : random_entry(d, mfn);
        describe("guest write ", mfn, "[", index, "] = ", std::hex, value);
        w.memory.set(mfn, index, value);
        m_guest_step = true;
        return true;
    }
    bool op_pin() {
        DomainId d = random_domain();
        std::uint64_t mfn = chance(85) ? frame_owned_by(d) : any_frame_or_beyond();
        auto level = static_cast<PageType>(1 + pick(chance(95) ? 4 : 6));
        describe("pin d", d, " mfn ", mfn, " level ", int(level));
        if (w.refs.pin(mfn, d, level).is_error())
            return false;
        w.ledger.pins[mfn] = level;
        stats.pins[static_cast<unsigned>(level)]++;
        return true;
    }
    bool op_unpin() {
        std::uint64_t mfn = any_frame_or_beyond();
        if (!w.ledger.pins.empty() && chance(70)) {
            auto it = w.ledger.pins.begin();
            std::advance(it, pick(w.ledger.pins.size()));
            mfn = it->first;
        }
        DomainId d = mfn < kFrames && w.state(mfn).is_domain_owned() && chance(90) ? w.state(mfn).domain()
                                                                                  : random_domain();
        describe("unpin d", d, " mfn ", mfn);
        if (w.refs.unpin(mfn, d).is_error())
            return false;
        w.ledger.pins.erase(mfn);
        return true;
    }
    // A plausible four-level tree written into untyped frames by the guest, then pinned.
    bool op_build_tree() {
        DomainId d = random_domain();
        std::array<std::uint64_t, 5> f{};
        for (auto& mfn : f) {
            mfn = untyped_frame_of(d);
            if (mfn >= kFrames)
                return false;
        }
        for (unsigned i = 0; i < 4; ++i) {
            if (chance(50))
                w.memory.zero(f[i]);
            std::uint64_t flags = P | (i < 3 || chance(60) ? RW : 0) | (chance(50) ? US : 0) | A;
            w.memory.set(f[i], static_cast<unsigned>(i == 0 ? pick(256) : pick(512)), pte::make(f[i + 1], flags));
        }
        m_before = snapshot();  // the guest's writes above are not part of the checked operation
        PageType level = chance(70) ? PageType::L4 : static_cast<PageType>(1 + pick(4));
        std::uint64_t root = f[4 - static_cast<unsigned>(level)];
        describe("build tree d", d, " ", f[0], ">", f[1], ">", f[2], ">", f[3], ">", f[4], " pin ", root, " as L",
                 int(level));
        if (w.refs.pin(root, d, level).is_error())
            return false;
        w.ledger.pins[root] = level;
        stats.trees++;
        return true;
    }
    bool op_get_ref() {
        DomainId d = random_domain();
        std::uint64_t mfn = chance(80) ? frame_owned_by(d) : any_frame_or_beyond();
        unsigned kind = static_cast<unsigned>(pick(4));
        if (kind == 0) {
            ForeignAccess foreign = d == 0 && chance(30) ? ForeignAccess::Allow : ForeignAccess::Refuse;
            describe("get_page d", d, " mfn ", mfn);
            if (w.refs.get_page(mfn, d, foreign).is_error())
                return false;
            w.ledger.general.insert(mfn);
            return true;
        }
        // A base pointer (L4), a hypervisor-written page (writable) or a GDT frame.
        PageType type = kind == 1 ? PageType::L4 : kind == 2 ? PageType::Writable : PageType::SegDesc;
        describe("get_page_and_type d", d, " mfn ", mfn, " type ", int(type));
        if (w.refs.get_page_and_type(mfn, d, type).is_error())
            return false;
        w.ledger.typed.insert({mfn, type});
        return true;
    }
    bool op_put_ref() {
        if (chance(50) && !w.ledger.general.empty()) {
            auto it = w.ledger.general.begin();
            std::advance(it, pick(w.ledger.general.size()));
            describe("put_page ", *it);
            w.refs.put_page(*it);
            w.ledger.general.erase(it);
            return true;
        }
        if (w.ledger.typed.empty())
            return false;
        auto it = w.ledger.typed.begin();
        std::advance(it, pick(w.ledger.typed.size()));
        describe("put_page_and_type ", it->first);
        w.refs.put_page_and_type(it->first);
        w.ledger.typed.erase(it);
        return true;
    }
    bool op_assign() {
        std::uint64_t mfn = chance(90) ? kFirstGuestFrame + pick(kFrames - kFirstGuestFrame) : any_frame_or_beyond();
        DomainId d = random_domain();
        describe("assign ", mfn, " to d", d);
        if (w.refs.assign_to_domain(mfn, d).is_error())
            return false;
        w.memory.zero(mfn);  // the allocator hands out scrubbed frames
        w.memory.note_written(mfn);  // and notes them for log-dirty (mm/domain_memory.cpp)
        return true;
    }
    bool op_release() {
        std::uint64_t mfn = any_frame_or_beyond();
        DomainId d = mfn < kFrames && w.state(mfn).is_domain_owned() && chance(85) ? w.state(mfn).domain()
                                                                                  : random_domain();
        describe("release ", mfn, " from d", d);
        if (w.refs.release(mfn, d).is_error())
            return false;
        w.memory.zero(mfn);  // scrubbed before it goes back to the allocator
        return true;
    }

    std::mt19937_64 m_rng;
    std::uint64_t m_seed;
    std::string m_what;
    Snapshot m_before;
    bool m_guest_step = false;  // this step was a guest store (op_guest_write)
};

class MmRandom : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(MmRandom, InvariantsHoldAfterEveryStep) {
    RandomRun run(GetParam());
    ASSERT_TRUE(run.run(5000));
    ASSERT_TRUE(run.tear_down());
    const Stats& s = run.stats;
    std::cout << "seed " << GetParam() << ": " << s.accepted << " accepted, " << s.refused << " refused; updates L1-L4 "
              << s.table_updates[1] << "/" << s.table_updates[2] << "/" << s.table_updates[3] << "/"
              << s.table_updates[4] << "; pins L1-L4 " << s.pins[1] << "/" << s.pins[2] << "/" << s.pins[3] << "/"
              << s.pins[4] << "; trees " << s.trees << "; max validated " << s.max_validated
              << "; steps with linear entries " << s.linear_seen << "\n";
    // The run must have exercised the interesting paths, or it proves nothing.
    EXPECT_GT(s.table_updates[1], 50u);
    EXPECT_GT(s.table_updates[2] + s.table_updates[3] + s.table_updates[4], 30u);
    EXPECT_GT(s.pins[1] + s.pins[2] + s.pins[3] + s.pins[4], 50u);
    EXPECT_GT(s.trees, 5u);
    EXPECT_GT(s.max_validated, 5u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, MmRandom, ::testing::Values(1, 2, 3, 4, 5, 6, 7, 8, 0xC0FFEE, 20240601));

}  // namespace
}  // namespace xenolith::test
