// Buddy allocator: free lists per order, split on allocation, merge with the buddy on release.
#include "mm/buddy.hpp"

namespace xenolith {
namespace {

constexpr std::uint64_t block_frames(unsigned order) { return std::uint64_t{1} << order; }
constexpr std::uint32_t kNone = BuddyLinks::kNone;

}  // namespace

BuddyAllocator::BuddyAllocator(std::span<FrameInfo> frames)
    : m_frames(frames.size() < kNone ? frames : frames.first(kNone)) {
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        m_head[o] = kNone;
        m_block_count[o] = 0;
    }
    for (FrameInfo& f : m_frames)
        f.buddy = {kNone, kNone, 0, BuddyState::Unmanaged};
}

void BuddyAllocator::push(std::uint64_t pfn, unsigned order) {
    BuddyLinks& l = links(pfn);
    l.state = BuddyState::FreeHead;
    l.order = static_cast<std::uint8_t>(order);
    l.prev = kNone;
    l.next = m_head[order];
    if (l.next != kNone)
        links(l.next).prev = static_cast<std::uint32_t>(pfn);
    m_head[order] = static_cast<std::uint32_t>(pfn);
    ++m_block_count[order];
}

void BuddyAllocator::unlink(std::uint64_t pfn, unsigned order) {
    BuddyLinks& l = links(pfn);
    if (l.prev != kNone)
        links(l.prev).next = l.next;
    else
        m_head[order] = l.next;
    if (l.next != kNone)
        links(l.next).prev = l.prev;
    l.next = l.prev = kNone;
    l.state = BuddyState::Interior;
    --m_block_count[order];
}

// Insert a block into the free lists, merging with its buddy for as long as the buddy is free
// and whole (a free head of the same order), so no two free buddies ever stay apart.
void BuddyAllocator::free_block(std::uint64_t pfn, unsigned order) {
    links(pfn).state = BuddyState::Interior;
    while (order < kMaxOrder) {
        const std::uint64_t buddy = pfn ^ block_frames(order);
        if (buddy >= m_frames.size())
            break;
        const BuddyLinks& b = links(buddy);
        if (b.state != BuddyState::FreeHead || b.order != order)
            break;
        unlink(buddy, order);
        pfn = pfn < buddy ? pfn : buddy;
        ++order;
    }
    push(pfn, order);
}

Result<void> BuddyAllocator::add_free_range(std::uint64_t first_pfn, std::uint64_t end_pfn) {
    if (first_pfn >= end_pfn || end_pfn > m_frames.size())
        return Errno::EINVAL;
    for (std::uint64_t pfn = first_pfn; pfn < end_pfn; ++pfn)
        if (links(pfn).state != BuddyState::Unmanaged)
            return Errno::EEXIST;
    for (std::uint64_t pfn = first_pfn; pfn < end_pfn; ++pfn)
        links(pfn).state = BuddyState::Interior;
    std::uint64_t pfn = first_pfn;
    while (pfn < end_pfn) {
        // The largest block that is aligned at pfn and still fits before end_pfn.
        unsigned order = kMaxOrder;
        while ((pfn & (block_frames(order) - 1)) != 0 || block_frames(order) > end_pfn - pfn)
            --order;
        free_block(pfn, order);
        pfn += block_frames(order);
    }
    m_free_frames += end_pfn - first_pfn;
    m_managed_frames += end_pfn - first_pfn;
    return ok();
}

// Find a free block of at least `order` whose first 2^order frames end at or below below_pfn.
// Smaller orders are tried first so large blocks are split only when needed.
std::uint64_t BuddyAllocator::find_block(unsigned order, std::uint64_t below_pfn, unsigned& found_order) const {
    for (unsigned o = order; o <= kMaxOrder; ++o) {
        for (std::uint32_t pfn = m_head[o]; pfn != kNone; pfn = links(pfn).next) {
            if (below_pfn == kNoLimit || (pfn < below_pfn && below_pfn - pfn >= block_frames(order))) {
                found_order = o;
                return pfn;
            }
        }
    }
    return kNoLimit;
}

Result<std::uint64_t> BuddyAllocator::allocate(unsigned order, std::uint64_t below_pfn) {
    if (order > kMaxOrder)
        return Errno::EINVAL;
    unsigned o = 0;
    const std::uint64_t pfn = find_block(order, below_pfn, o);
    if (pfn == kNoLimit)
        return Errno::ENOMEM;
    unlink(pfn, o);
    // Keep the low part (so a below_pfn limit stays satisfied) and free the upper halves.
    while (o > order) {
        --o;
        push(pfn + block_frames(o), o);
    }
    BuddyLinks& l = links(pfn);
    l.state = BuddyState::AllocatedHead;
    l.order = static_cast<std::uint8_t>(order);
    m_free_frames -= block_frames(order);
    return pfn;
}

Result<void> BuddyAllocator::release(std::uint64_t pfn, unsigned order) {
    if (order > kMaxOrder || pfn >= m_frames.size() || (pfn & (block_frames(order) - 1)) != 0)
        return Errno::EINVAL;
    const BuddyLinks& l = links(pfn);
    if (l.state != BuddyState::AllocatedHead || l.order != order)
        return Errno::EINVAL;
    free_block(pfn, order);
    m_free_frames += block_frames(order);
    return ok();
}

bool BuddyAllocator::check_invariants(Diagnostics& diag) const {
    const std::size_t before = diag.count();
    std::uint64_t listed_frames = 0;
    std::uint64_t listed_blocks = 0;
    for (unsigned o = 0; o <= kMaxOrder; ++o) {
        std::uint64_t count = 0;
        std::uint32_t prev = kNone;
        for (std::uint32_t pfn = m_head[o]; pfn != kNone; prev = pfn, pfn = links(pfn).next) {
            if (count > m_block_count[o]) {
                diag.error("buddy: list {} is longer than its count {} (cycle?)", o, m_block_count[o]);
                break;
            }
            ++count;
            if (pfn >= m_frames.size() || m_frames.size() - pfn < block_frames(o)) {
                diag.error("buddy: list {} holds pfn {:#x} outside the frame table", o, pfn);
                break;
            }
            const BuddyLinks& l = links(pfn);
            if (l.state != BuddyState::FreeHead || l.order != o)
                diag.error("buddy: pfn {:#x} on list {} has state {} order {}", pfn, o, l.state, l.order);
            if (l.prev != prev)
                diag.error("buddy: pfn {:#x} on list {} has prev {:#x}, expected {:#x}", pfn, o, l.prev, prev);
            if ((pfn & (block_frames(o) - 1)) != 0)
                diag.error("buddy: free block {:#x} is not aligned to order {}", pfn, o);
            const std::uint64_t buddy = pfn ^ block_frames(o);
            if (o < kMaxOrder && buddy < m_frames.size() && links(buddy).state == BuddyState::FreeHead &&
                links(buddy).order == o)
                diag.error("buddy: free buddies {:#x} and {:#x} of order {} were not merged", pfn, buddy, o);
        }
        if (count != m_block_count[o])
            diag.error("buddy: list {} has {} blocks, count says {}", o, count, m_block_count[o]);
        listed_frames += count * block_frames(o);
        listed_blocks += count;
    }
    if (listed_frames != m_free_frames)
        diag.error("buddy: lists hold {} frames, free_frames says {}", listed_frames, m_free_frames);

    // Every head's block must contain only Interior frames: this finds overlapping blocks,
    // heads that fell off their list, and allocated blocks inside free ones.
    std::uint64_t heads = 0;
    std::uint64_t managed = 0;
    for (std::uint64_t pfn = 0; pfn < m_frames.size(); ++pfn) {
        const BuddyLinks& l = links(pfn);
        if (l.state != BuddyState::Unmanaged)
            ++managed;
        if (l.state != BuddyState::FreeHead && l.state != BuddyState::AllocatedHead)
            continue;
        if (l.state == BuddyState::FreeHead)
            ++heads;
        if (l.order > kMaxOrder || m_frames.size() - pfn < block_frames(l.order)) {
            diag.error("buddy: block {:#x} of order {} does not fit the frame table", pfn, l.order);
            continue;
        }
        for (std::uint64_t i = 1; i < block_frames(l.order); ++i) {
            if (links(pfn + i).state != BuddyState::Interior) {
                diag.error("buddy: frame {:#x} inside block {:#x} (order {}) has state {}", pfn + i, pfn, l.order,
                           links(pfn + i).state);
                break;
            }
        }
    }
    if (heads != listed_blocks)
        diag.error("buddy: {} free heads in the frame table, {} on the lists", heads, listed_blocks);
    if (managed != m_managed_frames)
        diag.error("buddy: {} managed frames in the table, expected {}", managed, m_managed_frames);
    return diag.count() == before;
}

}  // namespace xenolith
