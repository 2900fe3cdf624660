// DirtyBitmap, the store behind log-dirty: single-threaded rules, and the property that makes
// read-and-clear rounds lossless while other threads keep marking.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "mm/dirty_bitmap.hpp"

namespace xenolith::test {
namespace {

std::set<std::uint64_t> take_all(DirtyBitmap& bitmap) {
    std::set<std::uint64_t> pfns;
    for (std::uint64_t i = 0; i < bitmap.word_count(); ++i) {
        const std::uint64_t word = bitmap.take_word(i);
        for (unsigned b = 0; b < 64; ++b)
            if (word >> b & 1)
                pfns.insert(i * 64 + b);
    }
    return pfns;
}

TEST(DirtyBitmap, AttachClearsAndMarksRecordPfns) {
    std::vector<std::uint64_t> words(3, ~std::uint64_t{0});
    DirtyBitmap bitmap;
    EXPECT_FALSE(bitmap.mark(5));  // not attached: nothing recorded, nothing touched
    bitmap.attach(words.data(), 130);
    EXPECT_EQ(bitmap.word_count(), 3u);
    EXPECT_EQ(words, std::vector<std::uint64_t>(3, 0));
    EXPECT_TRUE(bitmap.mark(0));
    EXPECT_TRUE(bitmap.mark(129));
    EXPECT_FALSE(bitmap.mark(129));  // already set: not newly dirty
    EXPECT_FALSE(bitmap.mark(130));  // beyond the bitmap: counted, not recorded
    EXPECT_FALSE(bitmap.mark(~std::uint64_t{0}));
    EXPECT_EQ(bitmap.out_of_range(), 2u);
    EXPECT_EQ(bitmap.newly_dirty(), 2u);
    EXPECT_EQ(bitmap.peek_word(2), std::uint64_t{1} << 1);  // peek keeps the bits
    EXPECT_EQ(take_all(bitmap), (std::set<std::uint64_t>{0, 129}));
    EXPECT_TRUE(take_all(bitmap).empty());
    EXPECT_EQ(bitmap.take_newly_dirty(), 2u);
    EXPECT_EQ(bitmap.newly_dirty(), 0u);
    EXPECT_EQ(bitmap.detach(), words.data());
    EXPECT_FALSE(bitmap.attached());
}

TEST(DirtyBitmap, MarkAllSetsExactlyTheBitmapsPfns) {
    for (std::uint64_t bits : {1u, 63u, 64u, 65u, 200u}) {
        std::vector<std::uint64_t> words(DirtyBitmap::words_for(bits) + 1, 0);
        DirtyBitmap bitmap;
        bitmap.attach(words.data(), bits);
        bitmap.mark_all();
        std::set<std::uint64_t> expected;
        for (std::uint64_t pfn = 0; pfn < bits; ++pfn)
            expected.insert(pfn);
        EXPECT_EQ(take_all(bitmap), expected) << bits << " bits";
        EXPECT_EQ(words.back(), 0u) << "wrote past the bitmap";
    }
}

TEST(DirtyBitmap, RestoredWordsComeBackInTheNextRound) {
    std::vector<std::uint64_t> words(2);
    DirtyBitmap bitmap;
    bitmap.attach(words.data(), 128);
    bitmap.mark(3);
    bitmap.mark(70);
    const std::uint64_t w0 = bitmap.take_word(0), w1 = bitmap.take_word(1);
    bitmap.mark(4);
    bitmap.restore_word(0, w0);
    bitmap.restore_word(1, w1);
    EXPECT_EQ(take_all(bitmap), (std::set<std::uint64_t>{3, 4, 70}));
}

// Writers mark PFNs and then publish how many they have marked; a reader runs rounds. Every PFN
// whose mark was published before a round started must be in that round or an earlier one, and
// the union of all rounds must be exactly what was marked.
TEST(DirtyBitmap, ConcurrentRoundsLoseNoMark) {
    constexpr std::uint64_t kBits = 4096;
    constexpr unsigned kWriters = 3;
    constexpr unsigned kMarksPerWriter = 40000;
    std::vector<std::uint64_t> words(DirtyBitmap::words_for(kBits));
    DirtyBitmap bitmap;
    bitmap.attach(words.data(), kBits);

    std::vector<std::vector<std::uint64_t>> sequence(kWriters);
    for (unsigned w = 0; w < kWriters; ++w) {
        std::mt19937_64 rng(w + 1);
        for (unsigned i = 0; i < kMarksPerWriter; ++i)
            sequence[w].push_back(rng() % kBits);
    }
    std::vector<std::atomic<unsigned>> published(kWriters);
    std::vector<std::thread> writers;
    for (unsigned w = 0; w < kWriters; ++w)
        writers.emplace_back([&, w] {
            for (unsigned i = 0; i < kMarksPerWriter; ++i) {
                bitmap.mark(sequence[w][i]);
                published[w].store(i + 1, std::memory_order_seq_cst);
            }
        });

    std::set<std::uint64_t> seen;
    std::vector<unsigned> checked(kWriters, 0);  // marks already found (seen only grows)
    unsigned rounds = 0;
    bool done = false;
    while (!done) {
        std::vector<unsigned> before(kWriters);
        done = true;
        for (unsigned w = 0; w < kWriters; ++w) {
            before[w] = published[w].load(std::memory_order_seq_cst);
            done &= before[w] == kMarksPerWriter;
        }
        const std::set<std::uint64_t> round = take_all(bitmap);
        seen.insert(round.begin(), round.end());
        ++rounds;
        for (unsigned w = 0; w < kWriters; ++w)
            for (unsigned i = checked[w]; i < before[w]; ++i, ++checked[w])
                ASSERT_TRUE(seen.count(sequence[w][i])) << "writer " << w << " mark " << i << " (pfn "
                                                        << sequence[w][i] << ") lost by round " << rounds;
    }
    for (auto& t : writers)
        t.join();
    std::set<std::uint64_t> marked;
    for (const auto& s : sequence)
        marked.insert(s.begin(), s.end());
    EXPECT_EQ(seen, marked);
    EXPECT_GT(rounds, 1u);
}

}  // namespace
}  // namespace xenolith::test
