// BuddyAllocator: physical frames in naturally aligned power-of-two blocks, metadata in FrameInfo.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/diagnostics.hpp"
#include "lib/result.hpp"
#include "mm/frame_info.hpp"

namespace xenolith {

// Not thread-safe: the caller serialises every call (the hypervisor holds its heap lock).
class BuddyAllocator {
public:
    static constexpr unsigned kMaxOrder = 18;  // 2^18 frames = 1 GiB blocks
    static constexpr std::uint64_t kNoLimit = ~std::uint64_t{0};

    // frames[i] describes pfn i. Every frame starts Unmanaged and holds nothing until
    // add_free_range(). Only the first 2^32 - 1 frames (16 TiB) can be managed.
    explicit BuddyAllocator(std::span<FrameInfo> frames);

    // Give [first_pfn, end_pfn) to the allocator, as maximal naturally aligned blocks that merge
    // with neighbouring free blocks. EINVAL for an empty or out-of-table range, EEXIST if any of
    // it is already managed (nothing is changed then).
    Result<void> add_free_range(std::uint64_t first_pfn, std::uint64_t end_pfn);

    // The first pfn of a free 2^order-frame block aligned to its size, lying wholly below
    // `below_pfn` (for DMA-limited or 32-bit-addressable memory). ENOMEM if none.
    Result<std::uint64_t> allocate(unsigned order, std::uint64_t below_pfn = kNoLimit);

    // Return a block exactly as allocate() gave it. EINVAL (state unchanged) if it is not an
    // allocated block of that order: double frees, wrong orders and foreign frames are caught.
    Result<void> release(std::uint64_t pfn, unsigned order);

    std::uint64_t free_frames() const { return m_free_frames; }
    std::uint64_t managed_frames() const { return m_managed_frames; }
    std::uint64_t free_blocks(unsigned order) const { return order <= kMaxOrder ? m_block_count[order] : 0; }

    // Check every structural invariant (lists, alignment, overlap, coalescing, counts); reports
    // each violation and returns false if there was any. O(frames): for tests and debug builds.
    bool check_invariants(Diagnostics& diag) const;

private:
    BuddyLinks& links(std::uint64_t pfn) { return m_frames[pfn].buddy; }
    const BuddyLinks& links(std::uint64_t pfn) const { return m_frames[pfn].buddy; }
    void push(std::uint64_t pfn, unsigned order);
    void unlink(std::uint64_t pfn, unsigned order);
    void free_block(std::uint64_t pfn, unsigned order);
    std::uint64_t find_block(unsigned order, std::uint64_t below_pfn, unsigned& found_order) const;

    std::span<FrameInfo> m_frames;
    std::uint32_t m_head[kMaxOrder + 1];
    std::uint64_t m_block_count[kMaxOrder + 1];
    std::uint64_t m_free_frames = 0;
    std::uint64_t m_managed_frames = 0;
};

}  // namespace xenolith
