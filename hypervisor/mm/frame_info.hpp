// FrameInfo: the hypervisor's per-physical-frame metadata (one entry per page frame, indexed by pfn).
#pragma once

#include <cstdint>

#include <xen/types.hpp>

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

using DomainId = xen::domid_t;

// The use a frame is currently typed for (pv-abi-core.md §7.3). A frame has exactly one type
// while its type count is non-zero; at type count zero the type is always None (the model keeps
// no "stale" types: a pending TLB flush is remembered by PageState::kStaleWritable instead).
enum class PageType : std::uint8_t {
    None = 0,
    L1,        // PGT_l1_page_table
    L2,        // PGT_l2_page_table
    L3,        // PGT_l3_page_table
    L4,        // PGT_l4_page_table
    SegDesc,   // PGT_seg_desc_page: GDT or LDT frame
    Writable,  // PGT_writable_page: mapped writable by some L1 entry, or written by the hypervisor
};

constexpr bool is_page_table_type(PageType type) {
    return type == PageType::L1 || type == PageType::L2 || type == PageType::L3 || type == PageType::L4;
}

// Ownership, type and reference counts of one frame (§7.2, §7.3). Mutated only by PageRefs (and
// the validator through it); the layout is private to the hypervisor, never seen by a guest.
// Zero-initialised metadata means "free, no references", like the buddy part.
struct PageState {
    // Owner encoding: 0 is free so that a zeroed frame table is all-free; a domain is stored as
    // its id + 1 (domain ids stop below DOMID_FIRST_RESERVED = 0x7FF0, so this cannot collide).
    static constexpr std::uint16_t kOwnerFree = 0;
    static constexpr std::uint16_t kOwnerIo = 0xFFFE;          // MMIO / DOMID_IO: mappable, never counted
    static constexpr std::uint16_t kOwnerHypervisor = 0xFFFF;  // the hypervisor's own frames

    static constexpr std::uint8_t kValidated = 1u << 0;  // a page-table type whose entries hold references
    static constexpr std::uint8_t kPinned = 1u << 1;     // MMUEXT_PIN_Ln_TABLE holds one type reference
    // The writable type count fell to zero: some TLB may still hold a writable translation, so the
    // next change to a page-table or descriptor type must flush first (§7.3, last rule).
    static constexpr std::uint8_t kStaleWritable = 1u << 2;

    std::uint32_t count;       // general references (§7.2)
    std::uint32_t type_count;  // type references (§7.3)
    std::uint16_t owner;       // see kOwner*; use the accessors below
    PageType type;
    std::uint8_t flags;
    // Linear page-table bookkeeping (§7.5): > 0 = how many same-level entries this table holds
    // to other tables; < 0 = how many such entries point at this table. Never both.
    std::int16_t linear_count;

    bool is_free() const { return owner == kOwnerFree; }
    bool is_domain_owned() const { return owner != kOwnerFree && owner < kOwnerIo; }
    bool owned_by(DomainId domain) const { return is_domain_owned() && owner == domain + 1; }
    // Only meaningful when is_domain_owned().
    DomainId domain() const { return static_cast<DomainId>(owner - 1); }
    static std::uint16_t encode_domain(DomainId domain) { return static_cast<std::uint16_t>(domain + 1); }

    bool validated() const { return (flags & kValidated) != 0; }
    bool pinned() const { return (flags & kPinned) != 0; }
};

struct FrameInfo {
    BuddyLinks buddy;
    PageState page;  // the memory manager's part; the buddy fields stay valid for allocated blocks
};

// One of these per 4 KiB of RAM: keep it small.
static_assert(sizeof(PageState) == 16);
static_assert(sizeof(FrameInfo) <= 28);

}  // namespace xenolith
