// Building the idle page tables: W^X image, RAM direct map, MMIO window.
#include "mm/kernel_space.hpp"

#include "lib/string.hpp"

#include "arch/x86_64/cpu_features.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/layout.h"
#include "core/console.hpp"
#include "lib/spinlock.hpp"
#include "mm/page_allocator.hpp"

extern "C" char __text_start[], __text_end[], __rodata_start[], __rodata_end[], __data_start[], __data_end[];

std::uint64_t idle_page_table_root = 0;

namespace xenolith {

namespace {

using arch::MapAttributes;

// Page-table frames for the boot CPU before the page allocator exists (they live in the image,
// so they are never handed out). 256 frames map ~500 GiB of RAM with 1 GiB pages or ~100 GiB
// with 2 MiB pages, plus the 4 KiB edges of every region.
constexpr unsigned EARLY_POOL_FRAMES = 256;
constexpr unsigned HYPERVISOR_FIRST_SLOT = 256;  // pv-abi-core.md §2.5: slots 256-271
constexpr unsigned HYPERVISOR_LAST_SLOT = 271;
constexpr unsigned M2P_SLOT = 256;
alignas(4096) std::byte g_early_pool[EARLY_POOL_FRAMES][4096];
unsigned g_early_pool_used = 0;
bool g_use_page_allocator = false;

// Regions of the direct map, kept to answer is_direct_mapped().
constexpr std::size_t MAX_MAPPED_REGIONS = 128;
PhysRange g_mapped[MAX_MAPPED_REGIONS];
std::size_t g_mapped_count = 0;
std::uint64_t g_direct_map_end = 0;

SpinLock g_map_lock;
std::uintptr_t g_mmio_next = MMIO_WINDOW_BASE;

Result<std::uint64_t> early_pool_frame() {
    if (g_early_pool_used == EARLY_POOL_FRAMES)
        return Error{Errno::ENOMEM};
    // The pool is in the image: its physical address is its image address minus the offset.
    return arch::image_virt_to_phys(g_early_pool[g_early_pool_used++]);
}

Result<std::uint64_t> page_table_frame() {
    if (g_use_page_allocator)
        return allocate_zeroed_frame();
    return early_pool_frame();
}

bool direct_mapped_type(MemoryType type) {
    return type == MemoryType::Usable || type == MemoryType::AcpiReclaimable || type == MemoryType::AcpiNvs;
}

Result<void> map_image(std::uint64_t root) {
    struct Part {
        const char* start;
        const char* end;
        MapAttributes attributes;
    };
    const Part parts[] = {
        {__text_start, __text_end, MapAttributes::code()},
        {__rodata_start, __rodata_end, MapAttributes::read_only()},
        {__data_start, __data_end, MapAttributes::data()},
    };
    for (const Part& part : parts) {
        const auto virt = reinterpret_cast<std::uintptr_t>(part.start);
        const auto size = static_cast<std::uint64_t>(part.end - part.start);
        // 4 KiB pages only: the image's sections are page- but not 2 MiB-aligned, and a large
        // page would let one permission leak over a neighbour.
        TRY(arch::map_range(root, virt, arch::image_virt_to_phys(part.start), size, part.attributes,
                            page_table_frame, false));
    }
    return ok();
}

Result<void> map_direct(std::uint64_t root, std::uint64_t start, std::uint64_t end) {
    start &= ~(arch::PAGE_SIZE - 1);
    end = (end + arch::PAGE_SIZE - 1) & ~(arch::PAGE_SIZE - 1);
    if (end <= start || end > DIRECTMAP_SIZE)
        return ok();
    // Regions may share a page (firmware maps are not page aligned): map page by page where an
    // earlier region already covers part of the range.
    for (std::size_t i = 0; i < g_mapped_count; ++i) {
        const PhysRange& r = g_mapped[i];
        if (start < r.end && r.start < end) {
            if (start < r.start)
                TRY(map_direct(root, start, r.start));
            if (r.end < end)
                TRY(map_direct(root, r.end, end));
            return ok();
        }
    }
    TRY(arch::map_range(root, DIRECTMAP_BASE + start, start, end - start, MapAttributes::data(), page_table_frame,
                        arch::cpu_features().huge_pages));
    if (g_mapped_count < MAX_MAPPED_REGIONS)
        g_mapped[g_mapped_count++] = {start, end};
    if (end > g_direct_map_end)
        g_direct_map_end = end;
    return ok();
}

}  // namespace

Result<void> build_kernel_space(std::span<const MemoryRegion> memory_map) {
    const std::uint64_t root = TRY(early_pool_frame());
    std::memset(arch::phys_to_virt(root), 0, 4096);

    TRY(map_image(root));
    // The first MiB always (BIOS data, EBDA, the AP trampoline page), then RAM and ACPI regions.
    TRY(map_direct(root, 0, 1 << 20));
    for (const MemoryRegion& region : memory_map) {
        if (direct_mapped_type(region.type) && region.length)
            TRY(map_direct(root, region.base, region.base + region.length));
    }

    // Every hypervisor slot gets its L3 now, so the slots copied into guest L4s stay valid as
    // the hypervisor maps more (only L3s and below change afterwards).
    auto* l4 = static_cast<arch::PageTableEntry*>(arch::phys_to_virt(root));
    for (unsigned slot = HYPERVISOR_FIRST_SLOT; slot <= HYPERVISOR_LAST_SLOT; ++slot) {
        if (l4[slot].present())
            continue;
        const std::uint64_t table = TRY(early_pool_frame());
        memset(arch::phys_to_virt(table), 0, 4096);
        // Slot 256 holds the read-only M2P, which guests read (pv-abi-core.md §2.5).
        const std::uint64_t user = slot == M2P_SLOT ? arch::PageTableEntry::USER : 0;
        l4[slot] = arch::PageTableEntry::make(table, arch::PageTableEntry::PRESENT | arch::PageTableEntry::WRITABLE |
                                                         arch::PageTableEntry::ACCESSED | user);
    }

    idle_page_table_root = root;
    arch::write_cr3(root);
    return ok();
}


Result<void> kernel_map(std::uintptr_t virt, std::uint64_t phys, std::uint64_t size, MapAttributes attributes) {
    LockGuard guard(g_map_lock);
    return arch::map_range(idle_page_table_root, virt, phys, size, attributes, page_table_frame, false);
}

void remap_kernel_page(std::uintptr_t virt, std::uint64_t phys, MapAttributes attributes) {
    LockGuard guard(g_map_lock);
    arch::remap_page(idle_page_table_root, virt, phys, attributes);
}

Result<std::uintptr_t> map_mmio(std::uint64_t phys, std::uint64_t size) {
    const std::uint64_t offset = phys & (arch::PAGE_SIZE - 1);
    const std::uint64_t base = phys - offset;
    const std::uint64_t length = (offset + size + arch::PAGE_SIZE - 1) & ~(arch::PAGE_SIZE - 1);
    std::uintptr_t virt;
    {
        LockGuard guard(g_map_lock);
        if (g_mmio_next + length > MMIO_WINDOW_BASE + MMIO_WINDOW_SIZE)
            return Error{Errno::ENOMEM};
        virt = g_mmio_next;
        g_mmio_next += length;
    }
    TRY(kernel_map(virt, base, length, MapAttributes::mmio()));
    return virt + offset;
}

void use_page_allocator_for_page_tables() { g_use_page_allocator = true; }

std::uint64_t direct_map_end() { return g_direct_map_end; }

bool is_direct_mapped(std::uint64_t phys, std::uint64_t len) {
    for (std::size_t i = 0; i < g_mapped_count; ++i) {
        if (phys >= g_mapped[i].start && phys + len <= g_mapped[i].end && phys + len >= phys)
            return true;
    }
    return false;
}

}  // namespace xenolith
