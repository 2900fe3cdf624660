// DirtyBitmap: atomic per-PFN dirty bits (see dirty_bitmap.hpp).
#include "mm/dirty_bitmap.hpp"

namespace xenolith {

void DirtyBitmap::attach(std::uint64_t* words, std::uint64_t bits) {
    for (std::uint64_t i = 0; i < words_for(bits); ++i)
        words[i] = 0;
    m_bits = bits;
    m_newly_dirty = 0;
    m_out_of_range = 0;
    __atomic_store_n(&m_words, words, __ATOMIC_RELEASE);
}

std::uint64_t* DirtyBitmap::detach() {
    std::uint64_t* words = m_words;
    __atomic_store_n(&m_words, nullptr, __ATOMIC_RELEASE);
    m_bits = 0;
    return words;
}

bool DirtyBitmap::mark(std::uint64_t pfn) {
    std::uint64_t* words = __atomic_load_n(&m_words, __ATOMIC_ACQUIRE);
    if (words == nullptr)
        return false;
    if (pfn >= m_bits) {
        __atomic_fetch_add(&m_out_of_range, 1, __ATOMIC_RELAXED);
        return false;
    }
    const std::uint64_t bit = std::uint64_t{1} << (pfn % kBitsPerWord);
    // Sequentially consistent: the write being recorded happened before this call, and a
    // take_word() that misses the bit must come before it in the one global order.
    const std::uint64_t old = __atomic_fetch_or(&words[pfn / kBitsPerWord], bit, __ATOMIC_SEQ_CST);
    if (old & bit)
        return false;
    __atomic_fetch_add(&m_newly_dirty, 1, __ATOMIC_RELAXED);
    return true;
}

void DirtyBitmap::mark_all() {
    for (std::uint64_t i = 0; i < word_count(); ++i) {
        const std::uint64_t left = m_bits - i * kBitsPerWord;
        const std::uint64_t all = left >= kBitsPerWord ? ~std::uint64_t{0} : (std::uint64_t{1} << left) - 1;
        __atomic_fetch_or(&m_words[i], all, __ATOMIC_SEQ_CST);
    }
    __atomic_fetch_add(&m_newly_dirty, m_bits, __ATOMIC_RELAXED);
}

std::uint64_t DirtyBitmap::take_word(std::uint64_t index) {
    return __atomic_exchange_n(&m_words[index], 0, __ATOMIC_SEQ_CST);
}

std::uint64_t DirtyBitmap::peek_word(std::uint64_t index) const {
    return __atomic_load_n(&m_words[index], __ATOMIC_SEQ_CST);
}

void DirtyBitmap::restore_word(std::uint64_t index, std::uint64_t bits) {
    __atomic_fetch_or(&m_words[index], bits, __ATOMIC_SEQ_CST);
}

void DirtyBitmap::restore_newly_dirty(std::uint64_t count) {
    __atomic_fetch_add(&m_newly_dirty, count, __ATOMIC_RELAXED);
}

std::uint64_t DirtyBitmap::take_newly_dirty() { return __atomic_exchange_n(&m_newly_dirty, 0, __ATOMIC_RELAXED); }

}  // namespace xenolith
