// Examples for the ownership and type/reference-count state machine (pv-abi-core.md §7.2, §7.3).
#include <gtest/gtest.h>

#include <cstring>

#include "mm_fixture.hpp"

namespace xenolith::test {
namespace {

constexpr DomainId kDom1 = 1;
constexpr DomainId kDom2 = 2;

class PageRefTest : public ::testing::Test {
protected:
    PageRefTest() : w(32) {
        for (std::uint64_t mfn = 4; mfn < 32; ++mfn)
            EXPECT_TRUE(w.refs.assign_to_domain(mfn, mfn < 20 ? kDom1 : kDom2).is_ok());
        EXPECT_TRUE(w.refs.assign_to_hypervisor(1).is_ok());
        EXPECT_TRUE(w.refs.assign_to_io(2).is_ok());
    }
    // Every frame's metadata, to show that a refused operation changed nothing.
    std::vector<PageState> snapshot() {
        std::vector<PageState> s;
        for (std::uint64_t mfn = 0; mfn < w.memory.frame_count(); ++mfn)
            s.push_back(w.state(mfn));
        return s;
    }
    static bool same(const std::vector<PageState>& a, const std::vector<PageState>& b) {
        return same_states(a, b);
    }
    void expect_clean() {
        auto bad = check_world(w);
        EXPECT_TRUE(bad.empty()) << bad.front();
    }

    MmWorld w;
};

TEST_F(PageRefTest, AssignAndReleaseFollowOwnership) {
    EXPECT_TRUE(w.state(4).owned_by(kDom1));
    EXPECT_EQ(w.refs.assign_to_domain(4, kDom2).error(), Errno::EBUSY);     // not free
    EXPECT_EQ(w.refs.assign_to_domain(0, 0x7FF0).error(), Errno::EINVAL);   // reserved id
    EXPECT_EQ(w.refs.assign_to_domain(32, kDom1).error(), Errno::EINVAL);   // out of range
    EXPECT_EQ(w.refs.release(4, kDom2).error(), Errno::EINVAL);             // not the owner
    EXPECT_EQ(w.refs.release(1, kDom1).error(), Errno::EINVAL);             // hypervisor's
    EXPECT_EQ(w.refs.release(2, kDom1).error(), Errno::EINVAL);             // MMIO is never released
    ASSERT_TRUE(w.refs.get_page(4, kDom1).is_ok());
    w.ledger.general.insert(4);
    auto before = snapshot();
    EXPECT_EQ(w.refs.release(4, kDom1).error(), Errno::EBUSY);              // referenced
    EXPECT_TRUE(same(before, snapshot()));
    w.refs.put_page(4);
    w.ledger.general.clear();
    EXPECT_TRUE(w.refs.release(4, kDom1).is_ok());
    EXPECT_TRUE(w.state(4).is_free());
    expect_clean();
}

TEST_F(PageRefTest, GetPageChecksOwner) {
    auto before = snapshot();
    EXPECT_EQ(w.refs.get_page(20, kDom1).error(), Errno::EINVAL);   // dom2's
    EXPECT_EQ(w.refs.get_page(3, kDom1).error(), Errno::EINVAL);    // free
    EXPECT_EQ(w.refs.get_page(1, kDom1, ForeignAccess::Allow).error(), Errno::EINVAL);  // hypervisor's
    EXPECT_EQ(w.refs.get_page(2, kDom1, ForeignAccess::Allow).error(), Errno::EINVAL);  // MMIO
    EXPECT_EQ(w.refs.get_page(3, kDom1, ForeignAccess::Allow).error(), Errno::EINVAL);  // free
    EXPECT_EQ(w.refs.get_page(1u << 30, kDom1).error(), Errno::EINVAL);
    EXPECT_TRUE(same(before, snapshot()));
    ASSERT_TRUE(w.refs.get_page(20, kDom1, ForeignAccess::Allow).is_ok());  // privileged caller's choice
    EXPECT_EQ(w.state(20).count, 1u);
    w.refs.put_page(20);
    expect_clean();
}

TEST_F(PageRefTest, CountsNeverOverflow) {
    w.state(5).count = PageRefs::kMaxCount - 1;
    ASSERT_TRUE(w.refs.get_page(5, kDom1).is_ok());
    auto before = snapshot();
    EXPECT_EQ(w.refs.get_page(5, kDom1).error(), Errno::EBUSY);
    EXPECT_EQ(w.refs.get_page_and_type(5, kDom1, PageType::Writable).error(), Errno::EBUSY);
    EXPECT_TRUE(same(before, snapshot()));

    w.state(6).count = PageRefs::kMaxCount;
    w.state(6).type = PageType::Writable;
    w.state(6).type_count = PageRefs::kMaxCount;
    before = snapshot();
    EXPECT_EQ(w.refs.get_page_type(6, PageType::Writable).error(), Errno::EBUSY);
    EXPECT_TRUE(same(before, snapshot()));
}

TEST_F(PageRefTest, PutsAtZeroAreReportedNotWrapped) {
    auto before = snapshot();
    w.refs.put_page(5);
    w.refs.put_page_type(5);
    w.refs.put_page(99);
    EXPECT_EQ(w.diag.count(), 3u);
    EXPECT_TRUE(same(before, snapshot()));
    // A general put that would leave a type reference without its general reference.
    ASSERT_TRUE(w.refs.get_page_and_type(7, kDom1, PageType::Writable).is_ok());
    w.refs.put_page(7);
    EXPECT_EQ(w.diag.count(), 4u);
    EXPECT_EQ(w.state(7).count, 1u);
}

TEST_F(PageRefTest, TypeChangesOnlyAtCountZero) {
    ASSERT_TRUE(w.refs.get_page_and_type(5, kDom1, PageType::Writable).is_ok());
    auto before = snapshot();
    EXPECT_EQ(w.refs.get_page_and_type(5, kDom1, PageType::L1).error(), Errno::EINVAL);
    EXPECT_EQ(w.refs.pin(5, kDom1, PageType::L1).error(), Errno::EINVAL);  // writable -> table refused
    EXPECT_EQ(w.refs.get_page_and_type(5, kDom1, PageType::SegDesc).error(), Errno::EINVAL);
    EXPECT_TRUE(same(before, snapshot()));
    w.refs.put_page_and_type(5);
    EXPECT_EQ(w.state(5).type, PageType::None);
    EXPECT_TRUE(w.memory.flushes.empty());
    // Now it may become a table, and the stale writable TLB entries are flushed first (§7.3).
    ASSERT_TRUE(w.refs.pin(5, kDom1, PageType::L1).is_ok());
    w.ledger.pins[5] = PageType::L1;
    EXPECT_EQ(w.memory.flushes, std::vector<std::uint64_t>{5});
    before = snapshot();
    EXPECT_EQ(w.refs.get_page_and_type(5, kDom1, PageType::Writable).error(), Errno::EINVAL);
    EXPECT_EQ(w.refs.get_page_and_type(5, kDom1, PageType::L2).error(), Errno::EINVAL);
    EXPECT_TRUE(same(before, snapshot()));
    expect_clean();
}

TEST_F(PageRefTest, NeverWritableMeansNoFlush) {
    ASSERT_TRUE(w.refs.pin(8, kDom1, PageType::L2).is_ok());
    EXPECT_TRUE(w.memory.flushes.empty());
    ASSERT_TRUE(w.refs.unpin(8, kDom1).is_ok());
}

TEST_F(PageRefTest, PinAndUnpinRules) {
    auto before = snapshot();
    EXPECT_EQ(w.refs.unpin(8, kDom1).error(), Errno::EINVAL);                    // not pinned
    EXPECT_EQ(w.refs.pin(8, kDom1, PageType::Writable).error(), Errno::EINVAL);  // not a table level
    EXPECT_EQ(w.refs.pin(8, kDom1, PageType::None).error(), Errno::EINVAL);
    EXPECT_EQ(w.refs.pin(20, kDom1, PageType::L1).error(), Errno::EINVAL);       // dom2's frame
    EXPECT_EQ(w.refs.pin(1, kDom1, PageType::L1).error(), Errno::EINVAL);        // hypervisor's frame
    EXPECT_EQ(w.refs.pin(32, kDom1, PageType::L1).error(), Errno::EINVAL);       // out of range
    EXPECT_EQ(w.refs.pin(~0ull, kDom1, PageType::L4).error(), Errno::EINVAL);
    EXPECT_TRUE(same(before, snapshot()));

    ASSERT_TRUE(w.refs.pin(8, kDom1, PageType::L3).is_ok());
    EXPECT_TRUE(w.state(8).pinned());
    EXPECT_TRUE(w.state(8).validated());
    before = snapshot();
    EXPECT_EQ(w.refs.pin(8, kDom1, PageType::L3).error(), Errno::EINVAL);  // twice
    EXPECT_EQ(w.refs.pin(8, kDom1, PageType::L2).error(), Errno::EINVAL);
    EXPECT_EQ(w.refs.unpin(8, kDom2).error(), Errno::EINVAL);              // not the owner
    EXPECT_TRUE(same(before, snapshot()));
    ASSERT_TRUE(w.refs.unpin(8, kDom1).is_ok());
    EXPECT_EQ(w.state(8).count, 0u);
    EXPECT_EQ(w.state(8).type, PageType::None);
    expect_clean();
}

TEST_F(PageRefTest, UnpinInUseOnlyDropsThePin) {
    // §7.7 step 5: the builder's L4 is unpinned while still the vCPU's CR3.
    ASSERT_TRUE(w.refs.pin(9, kDom1, PageType::L4).is_ok());
    ASSERT_TRUE(w.refs.get_page_and_type(9, kDom1, PageType::L4).is_ok());  // CR3
    ASSERT_TRUE(w.refs.unpin(9, kDom1).is_ok());
    EXPECT_TRUE(w.state(9).validated());
    EXPECT_EQ(w.state(9).type_count, 1u);
    EXPECT_EQ(w.refs.release(9, kDom1).error(), Errno::EBUSY);
    w.refs.put_page_and_type(9);
    EXPECT_EQ(w.state(9).type, PageType::None);
    EXPECT_EQ(w.state(9).count, 0u);
    EXPECT_TRUE(w.refs.release(9, kDom1).is_ok());
    expect_clean();
}

TEST_F(PageRefTest, DescriptorPagesGoThroughThePolicy) {
    w.policy.accept_descriptors = false;
    auto before = snapshot();
    EXPECT_EQ(w.refs.get_page_and_type(10, kDom1, PageType::SegDesc).error(), Errno::EINVAL);
    EXPECT_TRUE(same(before, snapshot()));
    w.policy.accept_descriptors = true;
    ASSERT_TRUE(w.refs.get_page_and_type(10, kDom1, PageType::SegDesc).is_ok());
    EXPECT_EQ(w.refs.get_page_and_type(10, kDom1, PageType::Writable).error(), Errno::EINVAL);
    w.refs.put_page_and_type(10);
    expect_clean();
}

TEST(PageRefNoValidator, PageTableTypesNeedAValidator) {
    FakeFrames memory(4);
    NullDiagnostics diag;
    PageRefs refs(memory, diag);
    ASSERT_TRUE(refs.assign_to_domain(1, 3).is_ok());
    ASSERT_TRUE(refs.get_page(1, 3).is_ok());
    EXPECT_EQ(refs.get_page_type(1, PageType::L1).error(), Errno::ENOSYS);
    EXPECT_EQ(memory.page(1).type_count, 0u);
    EXPECT_TRUE(refs.get_page_type(1, PageType::Writable).is_ok());
}

}  // namespace
}  // namespace xenolith::test
