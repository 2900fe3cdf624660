// DirtyBitmap: one bit per guest PFN, set from any CPU and read-and-cleared word by word, the
// store behind log-dirty tracking (docs/log-dirty.md).
#pragma once

#include <cstdint>

namespace xenolith {

// The bitmap's words live in memory the caller provides (the hypervisor: frames from the page
// allocator; host tests: a vector), so the logic is testable on the host.
//
// Concurrency: mark() may run on any CPU at any time while the bitmap is attached; take_word()
// swaps a word with zero in one atomic step, so a bit set concurrently with a take lands either
// in the word taken or in the word left behind, never in neither. That is what lets a
// read-and-clear round lose nothing without stopping the guest. attach()/detach() are not
// concurrent with mark(): the hypervisor holds the memory-management lock around both.
class DirtyBitmap {
public:
    static constexpr std::uint64_t kBitsPerWord = 64;

    static constexpr std::uint64_t words_for(std::uint64_t bits) { return (bits + kBitsPerWord - 1) / kBitsPerWord; }

    // `words` holds words_for(bits) words; they are cleared.
    void attach(std::uint64_t* words, std::uint64_t bits);
    // Forget the memory (the caller frees it). Returns it.
    std::uint64_t* detach();
    bool attached() const { return m_words != nullptr; }
    std::uint64_t bits() const { return m_bits; }
    std::uint64_t word_count() const { return words_for(m_bits); }

    // Record PFN `pfn`. A PFN beyond the bitmap cannot be recorded: it is counted instead
    // (out_of_range()), so the loss is visible. Returns true if the bit was newly set.
    bool mark(std::uint64_t pfn);
    // Every PFN of the bitmap dirty (log-dirty enable: the first round copies everything).
    void mark_all();

    // The word holding PFNs [64 i, 64 i + 63], cleared in the same atomic step.
    std::uint64_t take_word(std::uint64_t index);
    std::uint64_t peek_word(std::uint64_t index) const;
    // Put bits taken by take_word() back, with their count (a round that never reached its
    // caller must not lose them).
    void restore_word(std::uint64_t index, std::uint64_t bits);
    void restore_newly_dirty(std::uint64_t count);

    // Bits newly set since the last take_newly_dirty() (CLEAN's stats.dirty_count), and PFNs that
    // could not be recorded since attach().
    std::uint64_t take_newly_dirty();
    std::uint64_t newly_dirty() const { return __atomic_load_n(&m_newly_dirty, __ATOMIC_RELAXED); }
    std::uint64_t out_of_range() const { return __atomic_load_n(&m_out_of_range, __ATOMIC_RELAXED); }

private:
    std::uint64_t* m_words = nullptr;
    std::uint64_t m_bits = 0;
    std::uint64_t m_newly_dirty = 0;
    std::uint64_t m_out_of_range = 0;
};

}  // namespace xenolith
