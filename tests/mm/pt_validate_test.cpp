// Examples for page-table validation and entry updates: every rule of pv-abi-core.md §7.4, §7.5,
// §2.5 and §5.3, each refused with its errno and without any change of state.
#include <gtest/gtest.h>

#include <cstring>

#include "mm_fixture.hpp"

namespace xenolith::test {
namespace {

constexpr DomainId kDom0 = 0;  // privileged and I/O-capable
constexpr DomainId kDom1 = 1;
constexpr DomainId kDom2 = 2;
constexpr std::uint64_t kFrames = 48;
constexpr std::uint64_t kHypFrame = 1, kIoFrame = 2, kFreeFrame = 3;

constexpr std::uint64_t P = pte::kPresent, RW = pte::kWritable, US = pte::kUser, A = pte::kAccessed,
                        D = pte::kDirty;
constexpr std::uint64_t ro(std::uint64_t mfn) { return pte::make(mfn, P | US | A); }
constexpr std::uint64_t rw(std::uint64_t mfn) { return pte::make(mfn, P | RW | US | A); }

class PtValidateTest : public ::testing::Test {
protected:
    PtValidateTest() : w(kFrames) {
        w.policy.privileged.insert(kDom0);
        w.policy.io.insert(kDom0);
        EXPECT_TRUE(w.refs.assign_to_hypervisor(kHypFrame).is_ok());
        EXPECT_TRUE(w.refs.assign_to_io(kIoFrame).is_ok());
        // dom0: 4-11, dom1: 12-35, dom2: 36-47.
        for (std::uint64_t mfn = 4; mfn < kFrames; ++mfn)
            EXPECT_TRUE(w.refs.assign_to_domain(mfn, mfn < 12 ? kDom0 : mfn < 36 ? kDom1 : kDom2).is_ok());
    }

    struct Snapshot {
        std::vector<PageState> states;
        std::vector<std::uint64_t> memory;
    };
    Snapshot snapshot() {
        Snapshot s;
        for (std::uint64_t mfn = 0; mfn < kFrames; ++mfn)
            s.states.push_back(w.state(mfn));
        s.memory = w.memory.memory();
        return s;
    }
    void expect_unchanged(const Snapshot& before) {
        Snapshot now = snapshot();
        EXPECT_TRUE(same_states(before.states, now.states)) << "frame metadata changed";
        EXPECT_EQ(before.memory, now.memory) << "memory changed";
    }
    void expect_clean() {
        auto bad = check_world(w);
        EXPECT_TRUE(bad.empty()) << bad.size() << " violations, first: " << bad.front();
    }
    void pin(std::uint64_t mfn, PageType level, DomainId d = kDom1) {
        ASSERT_TRUE(w.refs.pin(mfn, d, level).is_ok());
        w.ledger.pins[mfn] = level;
    }
    void unpin(std::uint64_t mfn, DomainId d = kDom1) {
        ASSERT_TRUE(w.refs.unpin(mfn, d).is_ok());
        w.ledger.pins.erase(mfn);
    }
    Result<void> update(std::uint64_t table, unsigned index, std::uint64_t value, DomainId d = kDom1,
                        DomainId fd = 0xFFFF, bool preserve_ad = false) {
        return w.validator.update_entry({d, fd == 0xFFFF ? d : fd}, table, index, value, preserve_ad);
    }
    // Refused with `code` and nothing changed.
    void expect_refused(std::uint64_t table, unsigned index, std::uint64_t value, Errno code, DomainId d = kDom1,
                        DomainId fd = 0xFFFF) {
        Snapshot before = snapshot();
        Result<void> r = update(table, index, value, d, fd);
        ASSERT_TRUE(r.is_error()) << "accepted " << std::hex << value << " at " << table << "[" << index << "]";
        EXPECT_EQ(r.error(), code) << "value " << std::hex << value;
        expect_unchanged(before);
    }
    void expect_pin_refused(std::uint64_t mfn, PageType level, Errno code, DomainId d = kDom1) {
        Snapshot before = snapshot();
        Result<void> r2 = w.refs.pin(mfn, d, level);
        ASSERT_TRUE(r2.is_error());
        EXPECT_EQ(r2.error(), code);
        // The adjustments of lower tables validated on the way may stay (docs/memory.md); the
        // metadata must be exactly as before.
        EXPECT_TRUE(same_states(before.states, snapshot().states));
    }

    MmWorld w;
};

TEST_F(PtValidateTest, L1MapsOwnFramesAndTakesReferences) {
    pin(12, PageType::L1);
    ASSERT_TRUE(update(12, 0, ro(13)).is_ok());
    ASSERT_TRUE(update(12, 1, rw(14)).is_ok());
    ASSERT_TRUE(update(12, 2, rw(14)).is_ok());
    EXPECT_EQ(w.state(13).count, 1u);
    EXPECT_EQ(w.state(13).type_count, 0u);
    EXPECT_EQ(w.state(14).count, 2u);
    EXPECT_EQ(w.state(14).type, PageType::Writable);
    EXPECT_EQ(w.state(14).type_count, 2u);
    expect_clean();
    // Replacing an entry drops the old one's references.
    ASSERT_TRUE(update(12, 1, ro(15)).is_ok());
    ASSERT_TRUE(update(12, 2, 0).is_ok());
    EXPECT_EQ(w.state(14).count, 0u);
    EXPECT_EQ(w.state(14).type, PageType::None);
    expect_clean();
    unpin(12);
    EXPECT_EQ(w.state(13).count, 0u);
    EXPECT_EQ(w.state(15).count, 0u);
    expect_clean();
}

TEST_F(PtValidateTest, L1RefusesFramesTheDomainMayNotMap) {
    pin(12, PageType::L1);
    expect_refused(12, 0, ro(36), Errno::EBUSY);          // dom2's frame
    expect_refused(12, 0, rw(4), Errno::EBUSY);           // dom0's frame
    expect_refused(12, 0, ro(kHypFrame), Errno::EBUSY);   // the hypervisor's
    expect_refused(12, 0, ro(kFreeFrame), Errno::EBUSY);  // nobody's
    expect_refused(12, 0, ro(kIoFrame), Errno::EPERM);    // MMIO without permission
    expect_refused(12, 0, ro(kFrames), Errno::EPERM);     // beyond RAM
    expect_refused(12, 0, ro(0xFFFFFFFFFFull), Errno::EPERM);
    // A foreign data owner needs privilege (§5.3 foreigndom).
    expect_refused(12, 0, ro(36), Errno::EPERM, kDom1, kDom2);
    expect_clean();
}

TEST_F(PtValidateTest, PrivilegedDomainMapsForeignAndIo) {
    pin(4, PageType::L1, kDom0);
    ASSERT_TRUE(update(4, 0, rw(36), kDom0, kDom2).is_ok());  // foreign, FD = dom2
    ASSERT_TRUE(update(4, 1, ro(13), kDom0).is_ok());         // privileged: any domain's frame
    ASSERT_TRUE(update(4, 2, rw(kIoFrame) | pte::kCacheDisable, kDom0).is_ok());
    ASSERT_TRUE(update(4, 3, rw(0x123456), kDom0).is_ok());   // MMIO beyond RAM: no references
    EXPECT_EQ(w.state(36).type, PageType::Writable);
    EXPECT_EQ(w.state(13).count, 1u);
    EXPECT_EQ(w.state(kIoFrame).count, 0u);
    expect_refused(4, 4, ro(kHypFrame), Errno::EBUSY, kDom0);
    // Foreign data owners only for L1 entries.
    pin(5, PageType::L2, kDom0);
    expect_refused(5, 0, ro(6), Errno::EINVAL, kDom0, kDom2);
    expect_refused(5, 0, ro(36), Errno::EINVAL, kDom0);  // upper levels: own frames only
    expect_clean();
    unpin(4, kDom0);
    unpin(5, kDom0);
    expect_clean();
}

TEST_F(PtValidateTest, PageTablesAreNeverMappedWritable) {
    pin(12, PageType::L1);
    pin(13, PageType::L2);
    expect_refused(12, 0, rw(13), Errno::EBUSY);  // an L2
    expect_refused(12, 0, rw(12), Errno::EBUSY);  // the L1 itself
    ASSERT_TRUE(w.refs.get_page_and_type(14, kDom1, PageType::SegDesc).is_ok());
    w.ledger.typed.insert({14, PageType::SegDesc});
    expect_refused(12, 0, rw(14), Errno::EBUSY);  // a descriptor page
    // Read-only mappings of tables are fine (that is how guests read them).
    ASSERT_TRUE(update(12, 0, ro(13)).is_ok());
    ASSERT_TRUE(update(12, 1, ro(12)).is_ok());
    expect_clean();
}

TEST_F(PtValidateTest, WritablyMappedFrameCannotBecomeATable) {
    pin(12, PageType::L1);
    ASSERT_TRUE(update(12, 0, rw(20)).is_ok());
    expect_pin_refused(20, PageType::L1, Errno::EINVAL);
    expect_pin_refused(20, PageType::L4, Errno::EINVAL);
    // Hooking it under an L2 is refused too.
    pin(13, PageType::L2);
    expect_refused(13, 0, ro(20), Errno::EINVAL);
    ASSERT_TRUE(update(12, 0, ro(20)).is_ok());
    pin(20, PageType::L1);
    EXPECT_EQ(w.memory.flushes, std::vector<std::uint64_t>{20});  // stale writable TLBs flushed
    expect_clean();
}

TEST_F(PtValidateTest, SelfReferencingTricksFail) {
    // An L1 that maps its own L2 parent writable cannot be hooked in.
    w.memory.set(21, 0, rw(20));
    w.memory.set(20, 0, ro(21));
    expect_pin_refused(20, PageType::L2, Errno::EBUSY);
    // An L1 mapping itself writable cannot be pinned.
    w.memory.set(22, 5, rw(22));
    expect_pin_refused(22, PageType::L1, Errno::EBUSY);
    // An L4 whose L3 points back at the L4 as if it were an L2.
    w.memory.set(23, 0, ro(24));
    w.memory.set(24, 0, ro(23));
    expect_pin_refused(23, PageType::L4, Errno::EINVAL);
    // Writable self-references at every upper level.
    w.memory.set(25, 7, rw(25));
    expect_pin_refused(25, PageType::L2, Errno::EINVAL);
    expect_pin_refused(25, PageType::L3, Errno::EINVAL);
    expect_pin_refused(25, PageType::L4, Errno::EINVAL);
    expect_clean();
}

TEST_F(PtValidateTest, ReservedFlagsRefusedPerLevel) {
    pin(12, PageType::L1);
    pin(13, PageType::L2);
    pin(14, PageType::L3);
    pin(15, PageType::L4);
    expect_refused(12, 0, ro(16) | pte::kGrantTable, Errno::EINVAL);
    expect_refused(12, 0, ro(16) | pte::kWriteThrough, Errno::EINVAL);  // unprivileged: WB only
    expect_refused(12, 0, ro(16) | pte::kCacheDisable, Errno::EINVAL);
    expect_refused(12, 0, ro(16) | pte::kPat, Errno::EINVAL);
    for (std::uint64_t table : {13, 14, 15}) {
        for (std::uint64_t bit : {pte::kWriteThrough, pte::kCacheDisable, pte::kLargePage, pte::kGlobal})
            expect_refused(table, 0, ro(17) | bit, Errno::EINVAL);
    }
    // Allowed: G, NX, the available bits at L1; NX and the available bits above.
    ASSERT_TRUE(update(12, 0, ro(16) | pte::kGlobal | pte::kNoExecute | pte::kAvailable).is_ok());
    ASSERT_TRUE(update(13, 0, ro(17) | pte::kNoExecute | pte::kAvailable | (1ull << 62)).is_ok());
    // Not-present entries are stored as written.
    ASSERT_TRUE(update(12, 1, 0xDEAD'BEEF'0000'0000ull).is_ok());
    EXPECT_EQ(w.memory.entry(12, 1), 0xDEAD'BEEF'0000'0000ull);
    expect_clean();
}

TEST_F(PtValidateTest, HypervisorAdjustsWhatItStores) {
    pin(12, PageType::L1);
    ASSERT_TRUE(update(12, 0, pte::make(16, P | RW)).is_ok());  // kernel mapping
    EXPECT_EQ(w.memory.entry(12, 0), pte::make(16, P | RW | US) | pte::kGuestKernel);
    ASSERT_TRUE(update(12, 1, pte::make(17, P | US)).is_ok());  // user mapping
    EXPECT_EQ(w.memory.entry(12, 1), pte::make(17, P | US | pte::kGlobal));
    pin(13, PageType::L2);
    ASSERT_TRUE(update(13, 0, pte::make(12, P)).is_ok());
    EXPECT_EQ(w.memory.entry(13, 0), pte::make(12, P | US));
    pin(15, PageType::L4);
    ASSERT_TRUE(update(15, 0, pte::make(18, P | RW)).is_ok());
    EXPECT_EQ(w.memory.entry(15, 0), pte::make(18, P | RW | US | A));
    expect_clean();
}

TEST_F(PtValidateTest, HypervisorL4SlotsBelongToTheHypervisor) {
    // Guest garbage in slots 256-271 is ignored by validation and overwritten (§2.5).
    for (unsigned slot = 256; slot < 272; ++slot)
        w.memory.set(15, slot, rw(36) | pte::kLargePage);
    w.memory.set(15, 255, pte::make(16, P));
    w.memory.set(15, 272, pte::make(17, P));
    pin(15, PageType::L4);
    for (unsigned slot = 256; slot < 272; ++slot)
        EXPECT_EQ(w.memory.entry(15, slot), test_hypervisor_slots()[slot - 256]);
    for (unsigned slot = 256; slot < 272; ++slot) {
        expect_refused(15, slot, 0, Errno::EINVAL);
        expect_refused(15, slot, pte::make(18, P), Errno::EINVAL);
    }
    ASSERT_TRUE(update(15, 255, 0).is_ok());
    ASSERT_TRUE(update(15, 272, 0).is_ok());
    expect_clean();
    unpin(15);
    expect_clean();
}

TEST_F(PtValidateTest, LinearEntriesOnlyWhereAllowed) {
    pin(13, PageType::L2);
    pin(14, PageType::L2);
    pin(15, PageType::L3);
    pin(16, PageType::L4);
    // Read-only self-references at every upper level hold nothing.
    ASSERT_TRUE(update(13, 1, ro(13)).is_ok());
    ASSERT_TRUE(update(15, 1, ro(15)).is_ok());
    ASSERT_TRUE(update(16, 1, ro(16)).is_ok());
    EXPECT_EQ(w.state(13).count, 1u);
    expect_refused(13, 2, rw(13), Errno::EINVAL);
    expect_refused(16, 2, rw(16), Errno::EINVAL);
    // Same-level read-only entry to another validated table: one level of linearity.
    ASSERT_TRUE(update(13, 3, ro(14)).is_ok());
    EXPECT_EQ(w.state(13).linear_count, 1);
    EXPECT_EQ(w.state(14).linear_count, -1);
    EXPECT_EQ(w.state(14).type_count, 2u);
    expect_refused(13, 4, rw(14), Errno::EINVAL);  // writable linear
    expect_refused(14, 3, ro(13), Errno::EINVAL);  // target already holds linear entries
    pin(17, PageType::L2);
    expect_refused(17, 0, ro(13), Errno::EINVAL);  // 13 holds linear entries
    expect_refused(14, 0, ro(17), Errno::EINVAL);  // 14 is itself a linear target
    // Wrong levels: an L2 entry at an L3, an L3 entry at an L1, an L4 entry at an L2.
    pin(18, PageType::L1);
    expect_refused(13, 5, ro(15), Errno::EINVAL);
    expect_refused(15, 5, ro(18), Errno::EINVAL);
    expect_refused(16, 5, ro(13), Errno::EINVAL);
    // A same-level target that is not validated is taken as the next lower level instead.
    ASSERT_TRUE(update(13, 6, ro(19)).is_ok());
    EXPECT_EQ(w.state(19).type, PageType::L1);
    expect_clean();
    ASSERT_TRUE(update(13, 3, 0).is_ok());
    EXPECT_EQ(w.state(13).linear_count, 0);
    EXPECT_EQ(w.state(14).linear_count, 0);
    expect_clean();
}

TEST_F(PtValidateTest, UpperEntriesNeedOwnRamOfTheRightType) {
    pin(13, PageType::L2);
    expect_refused(13, 0, ro(36), Errno::EINVAL);         // dom2's
    expect_refused(13, 0, ro(kHypFrame), Errno::EINVAL);
    expect_refused(13, 0, ro(kIoFrame), Errno::EINVAL);
    expect_refused(13, 0, ro(kFrames + 5), Errno::EINVAL);
    pin(12, PageType::L1);
    ASSERT_TRUE(update(12, 0, rw(20)).is_ok());
    expect_refused(13, 0, ro(20), Errno::EINVAL);          // writable page as an L1
    expect_clean();
}

TEST_F(PtValidateTest, FailedPromotionReleasesEverything) {
    // L4 -> L3 -> L2 -> {good L1, bad L1}: the bad L1 maps a pinned table writable.
    pin(30, PageType::L1);
    w.memory.set(16, 0, pte::make(17, P | RW));
    w.memory.set(17, 0, pte::make(18, P | RW));
    w.memory.set(18, 0, pte::make(19, P | RW));
    w.memory.set(18, 1, pte::make(20, P | RW));
    w.memory.set(19, 0, rw(21));
    w.memory.set(20, 0, rw(22));
    w.memory.set(20, 1, rw(30));
    expect_pin_refused(16, PageType::L4, Errno::EBUSY);
    expect_clean();
    // Fix it and the whole tree validates; unpinning tears it down to nothing.
    w.memory.set(20, 1, ro(30));
    pin(16, PageType::L4);
    EXPECT_EQ(w.state(19).type, PageType::L1);
    EXPECT_EQ(w.state(21).type, PageType::Writable);
    expect_clean();
    unpin(16);
    unpin(30);
    for (std::uint64_t mfn = 0; mfn < kFrames; ++mfn) {
        EXPECT_EQ(w.state(mfn).count, 0u) << mfn;
        EXPECT_EQ(w.state(mfn).type, PageType::None) << mfn;
    }
    expect_clean();
}

TEST_F(PtValidateTest, UpdateEntryDispatchesOnType) {
    // Untyped and writable frames take anything (nothing walks them).
    ASSERT_TRUE(update(20, 0, rw(36) | pte::kLargePage).is_ok());
    EXPECT_EQ(w.memory.entry(20, 0), rw(36) | pte::kLargePage);
    ASSERT_TRUE(w.refs.get_page_and_type(21, kDom1, PageType::Writable).is_ok());
    w.ledger.typed.insert({21, PageType::Writable});
    ASSERT_TRUE(update(21, 0, 0x1234).is_ok());
    ASSERT_TRUE(w.refs.get_page_and_type(22, kDom1, PageType::SegDesc).is_ok());
    w.ledger.typed.insert({22, PageType::SegDesc});
    expect_refused(22, 0, 0, Errno::EINVAL);              // descriptor page
    expect_refused(36, 0, 0, Errno::EINVAL);              // not the caller's frame
    expect_refused(kHypFrame, 0, 0, Errno::EINVAL);
    expect_refused(kFrames, 0, 0, Errno::EINVAL);         // out of range
    expect_refused(~0ull >> 12, 0, 0, Errno::EINVAL);
    expect_refused(20, 512, 0, Errno::EINVAL);            // index out of range
    Snapshot before = snapshot();
    EXPECT_EQ(w.validator.mod_entry(PageType::L1, {kDom1, kDom1}, 20, 0, 0, false).error(), Errno::EINVAL);
    expect_unchanged(before);
    expect_clean();
}

TEST_F(PtValidateTest, PreserveAccessedDirty) {
    pin(12, PageType::L1);
    ASSERT_TRUE(update(12, 0, rw(16) | A | D).is_ok());
    ASSERT_TRUE(update(12, 0, rw(16), kDom1, 0xFFFF, true).is_ok());
    EXPECT_EQ(w.memory.entry(12, 0) & (A | D), A | D);
    ASSERT_TRUE(update(12, 0, rw(16) & ~A).is_ok());
    EXPECT_EQ(w.memory.entry(12, 0) & (A | D), 0u);
    // The MMU sets D concurrently: kept with preserve-A/D, the update still succeeds without.
    w.memory.inject_hardware_bits = D;
    ASSERT_TRUE(update(12, 0, ro(17), kDom1, 0xFFFF, true).is_ok());
    EXPECT_EQ(w.memory.entry(12, 0) & D, D);
    EXPECT_EQ(w.state(16).count, 0u);
    w.memory.inject_hardware_bits = D;
    ASSERT_TRUE(update(12, 0, ro(18) & ~A).is_ok());
    EXPECT_EQ(w.memory.entry(12, 0) & (A | D), 0u);
    expect_clean();
}

TEST_F(PtValidateTest, FlagOnlyChangesKeepReferences) {
    pin(12, PageType::L1);
    ASSERT_TRUE(update(12, 0, rw(16)).is_ok());
    w.state(16).count = PageRefs::kMaxCount;  // any new reference would now be refused
    w.state(16).type_count = PageRefs::kMaxCount - 1;
    ASSERT_TRUE(update(12, 0, rw(16) | D | pte::kNoExecute | pte::kAvailable).is_ok());
    EXPECT_EQ(w.state(16).count, PageRefs::kMaxCount);
    expect_refused(12, 1, ro(16), Errno::EBUSY);  // count overflow is refused, not wrapped
    w.state(16).count = 1;
    w.state(16).type_count = 1;
    expect_clean();
}

}  // namespace
}  // namespace xenolith::test
