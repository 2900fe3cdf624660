// Frame table placement and the locked global buddy allocator.
#include "mm/page_allocator.hpp"

#include "lib/string.hpp"
#include <new>

#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/paging.hpp"
#include "core/console.hpp"
#include "core/panic.hpp"
#include "lib/spinlock.hpp"
#include "mm/buddy.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t PAGE = 4096;

SpinLock g_lock;
alignas(BuddyAllocator) std::byte g_buddy_storage[sizeof(BuddyAllocator)];
BuddyAllocator* g_buddy = nullptr;
std::uint64_t g_frame_table_bytes = 0;
std::uint64_t g_max_pfn = 0;
FrameInfo* g_frame_table = nullptr;

class ConsoleDiagnostics final : public Diagnostics {
public:
    void report(std::string_view message) override { log_error("page allocator: {}", message); }
};

class BuddyPageProvider final : public PageProvider {
public:
    Result<void*> allocate_pages(unsigned order) override {
        const std::uint64_t phys = TRY(allocate_frames(order));
        return arch::phys_to_virt(phys);
    }
    void release_pages(void* block, unsigned order) override {
        free_frames(arch::virt_to_phys_directmap(block), order);
    }
};
BuddyPageProvider g_slab_pages;

}  // namespace

PageProvider& slab_page_provider() { return g_slab_pages; }

FrameInfo* frame_info(std::uint64_t pfn) { return pfn < g_max_pfn ? &g_frame_table[pfn] : nullptr; }
std::uint64_t max_frame_number() { return g_max_pfn; }

Result<void> init_page_allocator(std::span<const PhysRange> usable) {
    if (usable.empty())
        return Error{Errno::ENOMEM};
    for (const PhysRange& r : usable)
        g_max_pfn = r.end / PAGE > g_max_pfn ? r.end / PAGE : g_max_pfn;

    // The frame table goes at the start of the first range large enough to hold it.
    g_frame_table_bytes = (g_max_pfn * sizeof(FrameInfo) + PAGE - 1) & ~(PAGE - 1);
    const PhysRange* home = nullptr;
    for (const PhysRange& r : usable) {
        if (r.size() >= g_frame_table_bytes + PAGE) {
            home = &r;
            break;
        }
    }
    if (!home)
        return Error{Errno::ENOMEM};
    auto* table = static_cast<FrameInfo*>(arch::phys_to_virt(home->start));
    g_frame_table = table;
    std::memset(table, 0, g_frame_table_bytes);
    g_buddy = new (g_buddy_storage) BuddyAllocator(std::span<FrameInfo>(table, g_max_pfn));

    for (const PhysRange& r : usable) {
        std::uint64_t start = r.start;
        if (&r == home)
            start += g_frame_table_bytes;
        if (r.end > start)
            TRY(g_buddy->add_free_range(start / PAGE, r.end / PAGE));
    }
    return ok();
}

Result<std::uint64_t> allocate_frames(unsigned order) {
    arch::InterruptsDisabled no_interrupts;
    LockGuard guard(g_lock);
    if (!g_buddy)
        return Error{Errno::ENOMEM};
    const std::uint64_t pfn = TRY(g_buddy->allocate(order));
    return pfn * PAGE;
}

Result<std::uint64_t> allocate_zeroed_frame() {
    const std::uint64_t phys = TRY(allocate_frames(0));
    std::memset(arch::phys_to_virt(phys), 0, PAGE);
    return phys;
}

void free_frames(std::uint64_t phys, unsigned order) {
    arch::InterruptsDisabled no_interrupts;
    LockGuard guard(g_lock);
    if (auto released = g_buddy->release(phys / PAGE, order); !released)
        panic("free_frames: {:#x} (order {}) is not an allocated block", phys, order);
}

PageAllocatorStats page_allocator_stats() {
    arch::InterruptsDisabled no_interrupts;
    LockGuard guard(g_lock);
    return {g_buddy ? g_buddy->managed_frames() : 0, g_buddy ? g_buddy->free_frames() : 0, g_frame_table_bytes,
            g_max_pfn};
}

bool check_page_allocator() {
    arch::InterruptsDisabled no_interrupts;
    LockGuard guard(g_lock);
    ConsoleDiagnostics diag;
    return g_buddy && g_buddy->check_invariants(diag);
}

}  // namespace xenolith
