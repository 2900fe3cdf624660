// Tests for the buddy allocator: examples, error paths and randomised runs against a shadow model.
#include <gtest/gtest.h>

#include "mm/buddy.hpp"
#include "test_support.hpp"

#include <random>
#include <vector>

namespace xenolith {
namespace {

using test::CollectingDiagnostics;

struct Ranges {
    std::uint64_t first, end;
};

std::vector<std::uint64_t> order_counts(const BuddyAllocator& b) {
    std::vector<std::uint64_t> v;
    for (unsigned o = 0; o <= BuddyAllocator::kMaxOrder; ++o)
        v.push_back(b.free_blocks(o));
    return v;
}

#define EXPECT_INVARIANTS(b)                          \
    do {                                              \
        CollectingDiagnostics d_;                     \
        EXPECT_TRUE((b).check_invariants(d_)) << d_.all(); \
    } while (0)

TEST(Buddy, AddRangeSplitsIntoMaximalAlignedBlocks) {
    std::vector<FrameInfo> frames(64);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(3, 37).is_ok());
    // [3,4) o0, [4,8) o2, [8,16) o3, [16,32) o4, [32,36) o2, [36,37) o0
    EXPECT_EQ(b.free_frames(), 34u);
    EXPECT_EQ(b.free_blocks(0), 2u);
    EXPECT_EQ(b.free_blocks(2), 2u);
    EXPECT_EQ(b.free_blocks(3), 1u);
    EXPECT_EQ(b.free_blocks(4), 1u);
    EXPECT_EQ(b.free_blocks(1), 0u);
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, AdjacentRangesCoalesce) {
    std::vector<FrameInfo> frames(16);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(0, 3).is_ok());
    ASSERT_TRUE(b.add_free_range(3, 8).is_ok());
    EXPECT_EQ(b.free_blocks(3), 1u);
    EXPECT_EQ(b.free_frames(), 8u);
    for (unsigned o = 0; o < 3; ++o)
        EXPECT_EQ(b.free_blocks(o), 0u) << o;
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, AddRangeErrors) {
    std::vector<FrameInfo> frames(32);
    BuddyAllocator b(frames);
    EXPECT_EQ(b.add_free_range(5, 5).error(), Errno::EINVAL);
    EXPECT_EQ(b.add_free_range(6, 5).error(), Errno::EINVAL);
    EXPECT_EQ(b.add_free_range(0, 33).error(), Errno::EINVAL);
    ASSERT_TRUE(b.add_free_range(8, 16).is_ok());
    EXPECT_EQ(b.add_free_range(15, 20).error(), Errno::EEXIST);
    EXPECT_EQ(b.add_free_range(0, 9).error(), Errno::EEXIST);
    EXPECT_EQ(b.free_frames(), 8u);
    EXPECT_EQ(b.managed_frames(), 8u);
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, ConstructorResetsGarbageMetadata) {
    std::vector<FrameInfo> frames(16);
    for (auto& f : frames)
        f.buddy = {7, 9, 3, BuddyState::FreeHead};
    BuddyAllocator b(frames);
    EXPECT_EQ(b.free_frames(), 0u);
    EXPECT_EQ(b.allocate(0).error(), Errno::ENOMEM);
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, AllocateSplitsAndReleaseMerges) {
    std::vector<FrameInfo> frames(16);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(0, 16).is_ok());
    auto a = b.allocate(0);
    ASSERT_TRUE(a.is_ok());
    EXPECT_EQ(*a, 0u);  // the low part of the split block is handed out
    EXPECT_EQ(b.free_blocks(0), 1u);
    EXPECT_EQ(b.free_blocks(1), 1u);
    EXPECT_EQ(b.free_blocks(2), 1u);
    EXPECT_EQ(b.free_blocks(3), 1u);
    EXPECT_EQ(b.free_blocks(4), 0u);
    EXPECT_EQ(b.free_frames(), 15u);
    EXPECT_INVARIANTS(b);
    ASSERT_TRUE(b.release(*a, 0).is_ok());
    EXPECT_EQ(b.free_blocks(4), 1u);
    EXPECT_EQ(b.free_frames(), 16u);
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, ExhaustionAndOrderLimits) {
    std::vector<FrameInfo> frames(40);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(1, 39).is_ok());
    EXPECT_EQ(b.allocate(BuddyAllocator::kMaxOrder + 1).error(), Errno::EINVAL);
    EXPECT_EQ(b.allocate(6).error(), Errno::ENOMEM);  // 38 frames hold no 64-frame block
    std::vector<std::uint64_t> got;
    while (true) {
        auto r = b.allocate(0);
        if (!r)
            break;
        got.push_back(*r);
    }
    EXPECT_EQ(got.size(), 38u);
    EXPECT_EQ(b.free_frames(), 0u);
    EXPECT_INVARIANTS(b);
    for (auto pfn : got)
        ASSERT_TRUE(b.release(pfn, 0).is_ok());
    EXPECT_EQ(b.free_frames(), 38u);
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, BelowLimit) {
    std::vector<FrameInfo> frames(1024);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(512, 1024).is_ok());  // one order-9 block
    EXPECT_EQ(b.allocate(0, 512).error(), Errno::ENOMEM);
    EXPECT_EQ(b.allocate(0, 100).error(), Errno::ENOMEM);
    EXPECT_EQ(b.allocate(2, 515).error(), Errno::ENOMEM);  // 512..516 would end past 515
    auto r = b.allocate(2, 516);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(*r, 512u);
    ASSERT_TRUE(b.add_free_range(8, 12).is_ok());
    auto low = b.allocate(1, 600);  // prefers the small low block to splitting a big one
    ASSERT_TRUE(low.is_ok());
    EXPECT_LT(*low + 2, 600u);
    EXPECT_EQ(*low % 2, 0u);
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, DoubleAndBogusReleasesAreRejected) {
    std::vector<FrameInfo> frames(64);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(0, 32).is_ok());
    auto a = b.allocate(2);
    auto c = b.allocate(2);
    ASSERT_TRUE(a.is_ok() && c.is_ok());
    const auto free_before = b.free_frames();
    const auto counts_before = order_counts(b);
    EXPECT_EQ(b.release(*a, 1).error(), Errno::EINVAL);      // wrong order
    EXPECT_EQ(b.release(*a + 1, 0).error(), Errno::EINVAL);  // interior frame
    EXPECT_EQ(b.release(*a + 2, 1).error(), Errno::EINVAL);  // aligned sub-block
    EXPECT_EQ(b.release(*a + 1, 2).error(), Errno::EINVAL);  // misaligned
    EXPECT_EQ(b.release(40, 0).error(), Errno::EINVAL);      // never managed
    EXPECT_EQ(b.release(64, 0).error(), Errno::EINVAL);      // outside the table
    EXPECT_EQ(b.release(16, 3).error(), Errno::EINVAL);      // a free block
    EXPECT_EQ(b.release(*a, 19).error(), Errno::EINVAL);
    EXPECT_EQ(b.free_frames(), free_before);
    EXPECT_EQ(order_counts(b), counts_before);
    EXPECT_INVARIANTS(b);
    ASSERT_TRUE(b.release(*a, 2).is_ok());
    EXPECT_EQ(b.release(*a, 2).error(), Errno::EINVAL);  // double free
    ASSERT_TRUE(b.release(*c, 2).is_ok());
    EXPECT_EQ(b.release(*c, 2).error(), Errno::EINVAL);  // double free after merging
    EXPECT_EQ(b.free_blocks(5), 1u);
    EXPECT_INVARIANTS(b);
}

TEST(Buddy, CheckInvariantsDetectsCorruption) {
    std::vector<FrameInfo> frames(32);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(0, 32).is_ok());
    auto a = b.allocate(0);
    ASSERT_TRUE(a.is_ok());
    frames[*a + 8].buddy.state = BuddyState::AllocatedHead;  // a stray head inside a free block
    CollectingDiagnostics d;
    EXPECT_FALSE(b.check_invariants(d));
    EXPECT_FALSE(d.messages.empty());
}

TEST(Buddy, LargestOrderBlocks) {
    const std::uint64_t n = (std::uint64_t{1} << 19) + 5;
    std::vector<FrameInfo> frames(n);
    BuddyAllocator b(frames);
    ASSERT_TRUE(b.add_free_range(0, n).is_ok());
    EXPECT_EQ(b.free_blocks(BuddyAllocator::kMaxOrder), 2u);  // never merged past kMaxOrder
    auto big = b.allocate(BuddyAllocator::kMaxOrder);
    ASSERT_TRUE(big.is_ok());
    EXPECT_EQ(*big % (1u << 18), 0u);
    EXPECT_INVARIANTS(b);
    ASSERT_TRUE(b.release(*big, BuddyAllocator::kMaxOrder).is_ok());
    EXPECT_EQ(b.free_blocks(BuddyAllocator::kMaxOrder), 2u);
    EXPECT_INVARIANTS(b);
}

// Randomised alloc/release against an independent per-frame model, checked after every step.
void run_random(std::uint32_t seed, std::size_t steps) {
    constexpr std::uint64_t kFrames = 2048;
    const Ranges ranges[] = {{1, 100}, {128, 1500}, {1503, 1504}, {1600, 2045}};
    std::vector<FrameInfo> frames(kFrames);
    BuddyAllocator b(frames);
    std::vector<bool> added(kFrames, false);
    std::uint64_t total = 0;
    for (auto r : ranges) {
        ASSERT_TRUE(b.add_free_range(r.first, r.end).is_ok());
        for (auto p = r.first; p < r.end; ++p)
            added[p] = true;
        total += r.end - r.first;
    }
    const auto initial_counts = order_counts(b);
    std::vector<int> owner(kFrames, -1);
    struct Live {
        std::uint64_t pfn;
        unsigned order;
    };
    std::vector<Live> live;
    std::uint64_t allocated = 0;
    std::mt19937 rng(seed);

    // Is there an aligned 2^order run of unallocated managed frames below `below`?
    auto model_has_block = [&](unsigned order, std::uint64_t below) {
        const std::uint64_t size = std::uint64_t{1} << order;
        for (std::uint64_t p = 0; p + size <= kFrames && p + size <= below; p += size) {
            bool all = true;
            for (std::uint64_t i = p; i < p + size && all; ++i)
                all = added[i] && owner[i] < 0;
            if (all)
                return true;
        }
        return false;
    };

    for (std::size_t step = 0; step < steps; ++step) {
        const unsigned action = rng() % 100;
        if (action < 55 || live.empty()) {
            unsigned order = rng() % 4 == 0 ? rng() % 9 : rng() % 3;
            std::uint64_t below = rng() % 4 == 0 ? rng() % kFrames : BuddyAllocator::kNoLimit;
            auto r = b.allocate(order, below);
            if (r.is_error()) {
                ASSERT_EQ(r.error(), Errno::ENOMEM);
                ASSERT_FALSE(model_has_block(order, below)) << "ENOMEM with a free block, step " << step;
            } else {
                const std::uint64_t pfn = *r, size = std::uint64_t{1} << order;
                ASSERT_EQ(pfn % size, 0u) << "misaligned, step " << step;
                ASSERT_LE(pfn + size, std::min<std::uint64_t>(below, kFrames));
                for (auto i = pfn; i < pfn + size; ++i) {
                    ASSERT_TRUE(added[i]) << "frame " << i << " was never added, step " << step;
                    ASSERT_LT(owner[i], 0) << "frame " << i << " handed out twice, step " << step;
                    owner[i] = static_cast<int>(step);
                }
                live.push_back({pfn, order});
                allocated += size;
            }
        } else if (action < 95) {
            const std::size_t k = rng() % live.size();
            const Live l = live[k];
            ASSERT_TRUE(b.release(l.pfn, l.order).is_ok()) << "step " << step;
            for (auto i = l.pfn; i < l.pfn + (std::uint64_t{1} << l.order); ++i)
                owner[i] = -1;
            allocated -= std::uint64_t{1} << l.order;
            live[k] = live.back();
            live.pop_back();
            // Releasing it again must fail and change nothing.
            if (rng() % 2) {
                ASSERT_EQ(b.release(l.pfn, l.order).error(), Errno::EINVAL);
            }
        } else {
            // A bogus release: wrong order or an interior frame of a live block.
            const Live l = live[rng() % live.size()];
            if (l.order > 0) {
                ASSERT_TRUE(b.release(l.pfn + 1, 0).is_error());
            }
            ASSERT_TRUE(b.release(l.pfn, l.order + 1).is_error());
        }
        ASSERT_EQ(b.free_frames(), total - allocated) << "step " << step;
        CollectingDiagnostics d;
        ASSERT_TRUE(b.check_invariants(d)) << "seed " << seed << " step " << step << "\n" << d.all();
    }
    for (const Live& l : live)
        ASSERT_TRUE(b.release(l.pfn, l.order).is_ok());
    EXPECT_EQ(b.free_frames(), total);
    EXPECT_EQ(order_counts(b), initial_counts) << "full coalescing must restore the original blocks";
    EXPECT_INVARIANTS(b);
}

class BuddyRandom : public ::testing::TestWithParam<std::uint32_t> {};
TEST_P(BuddyRandom, ShadowModel) { run_random(GetParam(), 4000); }
INSTANTIATE_TEST_SUITE_P(Seeds, BuddyRandom, ::testing::Values(1u, 2u, 3u, 42u, 1234u, 0xdeadbeefu));

}  // namespace
}  // namespace xenolith
