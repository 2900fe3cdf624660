// x86-64 4-level page tables: typed entries, mapping ranges with the largest pages that fit,
// and a walker that proves no mapping is both writable and executable.
#pragma once

#include <cstdint>

#include "arch/x86_64/layout.h"
#include "lib/result.hpp"

namespace xenolith::arch {

inline constexpr std::uint64_t PAGE_SIZE = 4096;
inline constexpr std::uint64_t LARGE_PAGE_SIZE = 2ull << 20;
inline constexpr std::uint64_t HUGE_PAGE_SIZE = 1ull << 30;

class PageTableEntry {
public:
    static constexpr std::uint64_t PRESENT = 1ull << 0;
    static constexpr std::uint64_t WRITABLE = 1ull << 1;
    static constexpr std::uint64_t USER = 1ull << 2;
    static constexpr std::uint64_t WRITE_THROUGH = 1ull << 3;
    static constexpr std::uint64_t CACHE_DISABLE = 1ull << 4;
    static constexpr std::uint64_t ACCESSED = 1ull << 5;
    static constexpr std::uint64_t DIRTY = 1ull << 6;
    static constexpr std::uint64_t LARGE = 1ull << 7;  // PS in a PDE/PDPTE
    static constexpr std::uint64_t GLOBAL = 1ull << 8;
    static constexpr std::uint64_t NO_EXECUTE = 1ull << 63;
    static constexpr std::uint64_t ADDRESS_MASK = 0x000ffffffffff000ull;

    constexpr PageTableEntry() = default;
    constexpr explicit PageTableEntry(std::uint64_t raw) : m_raw(raw) {}
    static constexpr PageTableEntry make(std::uint64_t phys, std::uint64_t flags) {
        return PageTableEntry((phys & ADDRESS_MASK) | flags);
    }

    constexpr std::uint64_t raw() const { return m_raw; }
    constexpr bool present() const { return m_raw & PRESENT; }
    constexpr bool writable() const { return m_raw & WRITABLE; }
    constexpr bool user() const { return m_raw & USER; }
    constexpr bool large() const { return m_raw & LARGE; }
    constexpr bool executable() const { return !(m_raw & NO_EXECUTE); }
    constexpr std::uint64_t address() const { return m_raw & ADDRESS_MASK; }

private:
    std::uint64_t m_raw = 0;
};

// What a mapping may do; turned into entry bits by map_range().
struct MapAttributes {
    bool writable = false;
    bool executable = false;
    bool uncached = false;
    bool global = true;
    bool user = false;  // reachable from ring 3 (only the read-only M2P)

    static constexpr MapAttributes code() { return {false, true, false, true, false}; }
    static constexpr MapAttributes read_only() { return {false, false, false, true, false}; }
    static constexpr MapAttributes data() { return {true, false, false, true, false}; }
    static constexpr MapAttributes mmio() { return {true, false, true, true, false}; }
    static constexpr MapAttributes guest_read_only() { return {false, false, false, false, true}; }
};

// Source of zeroed page-table frames (physical addresses); early boot uses a static pool.
using PageTableFrameSource = Result<std::uint64_t> (*)();

inline void* phys_to_virt(std::uint64_t phys) { return reinterpret_cast<void*>(DIRECTMAP_BASE + phys); }
inline std::uint64_t virt_to_phys_directmap(const void* p) { return reinterpret_cast<std::uint64_t>(p) - DIRECTMAP_BASE; }
// Physical address of something inside the hypervisor image.
inline std::uint64_t image_virt_to_phys(const void* p) { return reinterpret_cast<std::uint64_t>(p) - IMAGE_VIRT_OFFSET; }

// Map [virt, virt+size) to [phys, phys+size) in the tree rooted at root_phys, using 1 GiB and
// 2 MiB pages where alignment allows (1 GiB only if allow_huge). Fails with EEXIST on a
// conflicting existing mapping and ENOMEM when no table frame can be had.
Result<void> map_range(std::uint64_t root_phys, std::uint64_t virt, std::uint64_t phys, std::uint64_t size,
                       MapAttributes attributes, PageTableFrameSource source, bool allow_huge);

// Replace the 4 KiB leaf that maps `virt` (which must exist) and invalidate it on this CPU.
void remap_page(std::uint64_t root_phys, std::uint64_t virt, std::uint64_t phys, MapAttributes attributes);

// The physical address and entry that map virt, or an error if unmapped.
struct Translation {
    std::uint64_t phys;
    PageTableEntry leaf;
    unsigned level;  // 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB
};
Result<Translation> translate(std::uint64_t root_phys, std::uint64_t virt);

// Walk every mapping under root_phys; count leaf mappings and those both writable and
// executable (taking the permissions of every level into account).
struct WxReport {
    std::uint64_t leaf_mappings = 0;
    std::uint64_t writable_executable = 0;
    std::uint64_t first_offender = 0;
};
WxReport audit_wx(std::uint64_t root_phys);

}  // namespace xenolith::arch
