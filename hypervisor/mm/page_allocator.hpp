// The hypervisor's physical page allocator: the frame table (one FrameInfo per frame) and a
// locked buddy allocator over every usable frame.
#pragma once

#include <cstdint>
#include <span>

#include "boot/multiboot.hpp"
#include "lib/result.hpp"
#include "mm/frame_info.hpp"
#include "mm/slab.hpp"

namespace xenolith {

// Carve the frame table out of `usable` (direct-mapped RAM) and give the rest to the allocator.
Result<void> init_page_allocator(std::span<const PhysRange> usable);

// A naturally aligned block of 2^order frames; returns its physical address.
Result<std::uint64_t> allocate_frames(unsigned order);
// One frame, filled with zeroes.
Result<std::uint64_t> allocate_zeroed_frame();
void free_frames(std::uint64_t phys, unsigned order);

struct PageAllocatorStats {
    std::uint64_t managed_frames;
    std::uint64_t free_frames;
    std::uint64_t frame_table_bytes;
    std::uint64_t max_pfn;
};
PageAllocatorStats page_allocator_stats();

// The frame table: one FrameInfo per frame below max_frame_number() (the buddy part belongs to
// the allocator; the page part to the memory manager).
FrameInfo* frame_info(std::uint64_t pfn);
std::uint64_t max_frame_number();

// Slab caches get their pages here (blocks from the buddy allocator, through the direct map).
PageProvider& slab_page_provider();

// Full invariant check of the buddy allocator (debug/self-test use: O(frames)).
bool check_page_allocator();

}  // namespace xenolith
