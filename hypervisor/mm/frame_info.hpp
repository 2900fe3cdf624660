// FrameInfo: the hypervisor's per-physical-frame metadata (one entry per page frame, indexed by pfn).
#pragma once

#include <cstdint>

namespace xenolith {

// What the buddy allocator knows about a frame. Only BuddyAllocator reads or writes this part;
// it is only meaningful at the first frame of a block ("head"), every other frame is Interior.
enum class BuddyState : std::uint8_t {
    Unmanaged = 0,  // never given to the allocator (zero-initialised metadata starts here)
    Interior,       // inside a block whose head carries the state
    FreeHead,       // first frame of a free block on free list `order`
    AllocatedHead,  // first frame of a block handed out by allocate()
};

struct BuddyLinks {
    static constexpr std::uint32_t kNone = 0xFFFFFFFF;
    // Free-list neighbours as frame numbers rather than pointers: the array may be mapped at
    // different addresses (boot identity map, later the direct map), and 32 bits cover 16 TiB.
    std::uint32_t next;
    std::uint32_t prev;
    std::uint8_t order;
    BuddyState state;
};

struct FrameInfo {
    BuddyLinks buddy;
    // Ownership, page type and reference counts will be added here by the memory manager;
    // they must not reuse the buddy fields, which stay valid for allocated blocks too.
};

}  // namespace xenolith
