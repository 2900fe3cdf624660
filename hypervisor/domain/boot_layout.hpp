// Start-of-day layout of a PV domain: which pseudo-physical frame and virtual address holds what.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "domain/xen_elf.hpp"
#include "lib/diagnostics.hpp"
#include "lib/result.hpp"

namespace xenolith {

// start_info.flags bits (pv-abi-core.md §3.1); local until guest-abi/ provides them.
inline constexpr std::uint32_t kSifPrivileged = 1u << 0;
inline constexpr std::uint32_t kSifInitDomain = 1u << 1;
inline constexpr std::uint32_t kSifMultibootMod = 1u << 2;
inline constexpr std::uint32_t kSifModStartPfn = 1u << 3;
inline constexpr std::uint32_t kSifVirtP2m4Tools = 1u << 4;

// The start-of-day region ends on a 4 MiB boundary with at least 512 KiB of padding (§2).
inline constexpr std::uint64_t kBootRegionAlign = 4ull << 20;
inline constexpr std::uint64_t kBootRegionMinPadding = 512ull << 10;

// A run of pseudo-physical frames [first, first + count).
struct PfnRange {
    std::uint64_t first = 0;
    std::uint64_t count = 0;
    std::uint64_t end() const { return first + count; }
    bool contains(std::uint64_t pfn) const { return pfn >= first && pfn - first < count; }
};

// The page tables of one level: `count` tables, the k-th covering the table-sized block of
// virtual addresses number first_index + k (va >> table_shift(level)), held in frame first_pfn + k.
struct TableRun {
    std::uint64_t first_index = 0;
    std::uint64_t count = 0;
    std::uint64_t first_pfn = 0;
    bool covers(std::uint64_t index) const { return index >= first_index && index - first_index < count; }
};

// Bytes of virtual address space one table of `level` (1 = L1 … 3 = L3) maps: 2 MiB, 1 GiB, 512 GiB.
constexpr unsigned table_shift(int level) { return 12u + 9u * static_cast<unsigned>(level); }

// Tables for levels 1-4 (index 0 = L1 … 3 = L4). The single L4 always has index 0.
struct TableSet {
    std::array<TableRun, 4> level{};
    std::uint64_t frames() const { return level[0].count + level[1].count + level[2].count + level[3].count; }
};

struct BootLayoutParams {
    std::uint64_t nr_pages = 0;      // the domain's memory, in 4 KiB pages
    std::uint64_t initrd_bytes = 0;  // 0 = no initrd
    bool dom0 = false;               // no xenstore/console pages; SIF_PRIVILEGED|SIF_INITDOMAIN
};

// The values the builder writes into start_info (§3.1), apart from those it allocates itself
// (shared_info address, xenstore/console mfns and event channels, command line).
struct StartInfoValues {
    std::uint64_t nr_pages = 0;
    std::uint32_t flags = 0;
    std::uint64_t pt_base = 0;       // VA of the bootstrap L4
    std::uint64_t nr_pt_frames = 0;  // main-region tables only (§2.2)
    std::uint64_t mfn_list = 0;      // VA of the P2M array
    std::uint64_t mod_start = 0;     // VA, or first PFN with SIF_MOD_START_PFN
    std::uint64_t mod_len = 0;       // exact initrd size in bytes
    std::uint64_t first_p2m_pfn = 0;
    std::uint64_t nr_p2m_frames = 0;  // P2M pages (+ their tables in the INIT_P2M case)
};

// Everything placed at boot (§2, §2.1). PFN p of the region is mapped at v_start + p * 4096.
struct DomainLayout {
    std::uint64_t nr_pages = 0;
    bool dom0 = false;

    std::uint64_t v_start = 0;  // VIRT_BASE
    std::uint64_t v_end = 0;    // exclusive, 4 MiB aligned
    PfnRange region;            // PFNs mapped by the bootstrap tables: [0, (v_end - v_start) / 4096)

    PfnRange kernel;  // at virt_kstart; PFNs below it are padding RAM
    std::uint64_t kernel_va = 0;

    PfnRange initrd;  // count 0 = none
    bool initrd_mapped = false;
    std::uint64_t initrd_va = 0;  // when mapped
    std::uint64_t initrd_bytes = 0;

    PfnRange p2m;  // the P2M array's pages
    std::uint64_t p2m_va = 0;
    bool p2m_in_region = false;  // false: at INIT_P2M with its own tables

    std::uint64_t start_info_pfn = 0;
    std::uint64_t start_info_va = 0;
    std::optional<std::uint64_t> xenstore_pfn;  // domU only
    std::optional<std::uint64_t> console_pfn;   // domU only

    PfnRange page_tables;  // main region: [L4][L3…][L2…][L1…] (§2.2)
    TableSet tables;
    PfnRange p2m_page_tables;  // INIT_P2M region: [L3…][L2…][L1…] hanging off the same L4
    TableSet p2m_tables;

    std::uint64_t stack_pfn = 0;
    std::uint64_t stack_va = 0;

    std::optional<std::uint64_t> hypercall_page_pfn;

    // Entry registers (§2.7): rip, rsp (just past the stack page), rsi (start_info VA).
    std::uint64_t entry_rip = 0;
    std::uint64_t entry_rsp = 0;
    std::uint64_t entry_rsi = 0;

    std::uint64_t pfns_used = 0;  // frames [0, pfns_used) hold the layout; the rest is free RAM

    StartInfoValues start_info;

    std::uint64_t va_of(std::uint64_t pfn) const { return v_start + (pfn << kGuestPageShift); }
};

// Lay out a domain the way the domU builder does (§2.1), for a domU or for domain 0. Refused
// with a message: ENOMEM when it does not fit in nr_pages; EINVAL when the layout would break
// the address-space rules (§2.5) or, for a Linux guest, the constraints of §2.4.
Result<DomainLayout> compute_boot_layout(const XenKernelImage& image, const BootLayoutParams& params,
                                         Diagnostics& diag);

// The frame of the level-`level` table (1-4) that maps `va`, in the main or the INIT_P2M tables.
std::optional<std::uint64_t> table_pfn_for(const DomainLayout& layout, int level, std::uint64_t va);

}  // namespace xenolith
