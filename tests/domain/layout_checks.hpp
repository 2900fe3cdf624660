// Invariants every start-of-day layout must satisfy (pv-abi-core.md §2, §2.1, §2.2, §2.4).
// Include after <gtest/gtest.h>.
#pragma once

#include <vector>

#include "domain/boot_layout.hpp"

namespace xenolith::test {

inline void check_layout_invariants(const DomainLayout& L, const XenKernelImage& k, const BootLayoutParams& p) {
    const std::uint64_t page = kGuestPageSize;
    // Every frame belongs to at most one piece, and all of them lie in [0, pfns_used) ⊆ [0, nr_pages).
    ASSERT_LE(L.pfns_used, p.nr_pages);
    std::vector<const char*> owner(L.pfns_used, nullptr);
    auto claim = [&](PfnRange r, const char* what) {
        ASSERT_LE(r.end(), L.pfns_used) << what;
        for (std::uint64_t pfn = r.first; pfn < r.end(); ++pfn) {
            ASSERT_EQ(owner[pfn], nullptr) << "PFN " << pfn << " is both " << owner[pfn] << " and " << what;
            owner[pfn] = what;
        }
    };
    claim(L.kernel, "kernel");
    claim(L.initrd, "initrd");
    claim(L.p2m, "p2m");
    claim({L.start_info_pfn, 1}, "start_info");
    if (L.xenstore_pfn)
        claim({*L.xenstore_pfn, 1}, "xenstore");
    if (L.console_pfn)
        claim({*L.console_pfn, 1}, "console");
    claim(L.page_tables, "page tables");
    claim(L.p2m_page_tables, "p2m page tables");
    claim({L.stack_pfn, 1}, "stack");
    ASSERT_LE(L.pfns_used, p.nr_pages);
    EXPECT_EQ(L.nr_pages, p.nr_pages);

    // Region: starts at VIRT_BASE, ends 4 MiB aligned with >= 512 KiB after the stack page.
    EXPECT_EQ(L.v_start, k.virt_base);
    EXPECT_EQ(L.v_end % kBootRegionAlign, 0u);
    EXPECT_EQ(L.region.first, 0u);
    EXPECT_EQ(L.region.count * page, L.v_end - L.v_start);
    EXPECT_GE(L.v_end - (L.stack_va + page), kBootRegionMinPadding);
    EXPECT_LE(L.entry_rsp, L.v_end);
    EXPECT_EQ(L.entry_rsp, L.stack_va + page);
    EXPECT_EQ(L.stack_va, L.va_of(L.stack_pfn));
    EXPECT_EQ(L.start_info_va, L.va_of(L.start_info_pfn));
    EXPECT_EQ(L.entry_rsi, L.start_info_va);
    EXPECT_EQ(L.entry_rip, k.entry);
    EXPECT_EQ(L.kernel_va, k.virt_kstart);
    EXPECT_EQ(L.va_of(L.kernel.first), k.virt_kstart);
    EXPECT_EQ(L.kernel.count, kernel_page_count(k));
    // Order of §2 item 3 inside the region.
    EXPECT_LT(L.kernel.end() - 1, L.start_info_pfn);
    EXPECT_LT(L.start_info_pfn, L.page_tables.first);
    EXPECT_EQ(L.stack_pfn, L.page_tables.end());
    for (PfnRange r : {L.kernel, L.page_tables, PfnRange{L.start_info_pfn, 1}, PfnRange{L.stack_pfn, 1}})
        EXPECT_LE(r.end(), L.region.end());
    if (L.xenstore_pfn) {
        EXPECT_FALSE(p.dom0);
        EXPECT_EQ(*L.xenstore_pfn, L.start_info_pfn + 1);
        EXPECT_EQ(*L.console_pfn, L.start_info_pfn + 2);
    } else {
        EXPECT_TRUE(p.dom0);
        EXPECT_FALSE(L.console_pfn.has_value());
    }
    if (k.hypercall_page) {
        ASSERT_TRUE(L.hypercall_page_pfn.has_value());
        EXPECT_TRUE(L.kernel.contains(*L.hypercall_page_pfn));
        EXPECT_EQ(L.va_of(*L.hypercall_page_pfn), *k.hypercall_page);
    }

    // Initrd: mapped right after the kernel, or unmapped right after the region.
    std::uint64_t initrd_pages = (p.initrd_bytes + page - 1) / page;
    EXPECT_EQ(L.initrd.count, initrd_pages);
    if (initrd_pages) {
        EXPECT_EQ(L.initrd_mapped, !k.mod_start_pfn);
        if (L.initrd_mapped) {
            EXPECT_EQ(L.initrd.first, L.kernel.end());
            EXPECT_EQ(L.start_info.mod_start, L.initrd_va);
            EXPECT_EQ(L.initrd_va, L.va_of(L.initrd.first));
        } else {
            EXPECT_EQ(L.initrd.first, L.region.end());
            EXPECT_EQ(L.start_info.mod_start, L.initrd.first);
        }
        EXPECT_EQ(L.start_info.mod_len, p.initrd_bytes);
        EXPECT_EQ((L.start_info.flags & kSifModStartPfn) != 0, !L.initrd_mapped);
    } else {
        EXPECT_EQ(L.start_info.mod_start, 0u);
        EXPECT_EQ(L.start_info.mod_len, 0u);
        EXPECT_EQ(L.start_info.flags & kSifModStartPfn, 0u);
    }

    // P2M: one u64 per page, page-rounded; in the region or at INIT_P2M outside it.
    EXPECT_EQ(L.p2m.count, (p.nr_pages * 8 + page - 1) / page);
    EXPECT_EQ(L.start_info.mfn_list, L.p2m_va);
    if (L.p2m_in_region) {
        EXPECT_LE(L.p2m.end(), L.region.end());
        EXPECT_EQ(L.p2m_va, L.va_of(L.p2m.first));
        EXPECT_EQ(L.p2m_page_tables.count, 0u);
    } else {
        EXPECT_EQ(L.p2m_va, *k.init_p2m);
        EXPECT_GE(L.p2m.first, L.region.end());
        EXPECT_EQ(L.p2m_page_tables.first, L.p2m.end());
        EXPECT_EQ(L.p2m_page_tables.count, L.p2m_tables.frames());
        EXPECT_LE(L.p2m_va + L.p2m.count * page, L.v_start);
    }
    EXPECT_EQ(L.start_info.first_p2m_pfn, L.p2m.first);
    EXPECT_EQ(L.start_info.nr_p2m_frames, L.p2m.count + L.p2m_page_tables.count);

    // Main tables: [L4][L3…][L2…][L1…], covering exactly [v_start, v_end).
    EXPECT_EQ(L.page_tables.count, L.tables.frames());
    EXPECT_EQ(L.start_info.nr_pt_frames, L.page_tables.count);
    EXPECT_EQ(L.start_info.pt_base, L.va_of(L.page_tables.first));
    EXPECT_EQ(L.tables.level[3].first_pfn, L.page_tables.first);
    EXPECT_EQ(L.tables.level[3].count, 1u);
    for (int level = 1; level <= 3; ++level) {
        const TableRun& run = L.tables.level[static_cast<std::size_t>(level - 1)];
        EXPECT_EQ(run.first_index, L.v_start >> table_shift(level));
        EXPECT_EQ(run.first_index + run.count - 1, (L.v_end - 1) >> table_shift(level));
        EXPECT_EQ(run.first_pfn, L.tables.level[static_cast<std::size_t>(level)].first_pfn +
                                     L.tables.level[static_cast<std::size_t>(level)].count);
    }

    // Flags: SIF_VIRT_P2M_4TOOLS for a domU, PRIVILEGED|INITDOMAIN for dom0 (§2.1, §3.1).
    std::uint32_t base_flags = p.dom0 ? (kSifPrivileged | kSifInitDomain) : kSifVirtP2m4Tools;
    EXPECT_EQ(L.start_info.flags & ~kSifModStartPfn, base_flags);
    EXPECT_EQ(L.start_info.nr_pages, p.nr_pages);

    // Address-space rules (§2.5) and Linux's (§2.4).
    auto allowed = [](std::uint64_t s, std::uint64_t e) { return e <= (1ull << 47) || s >= kHypervisorVirtEnd; };
    EXPECT_TRUE(allowed(L.v_start, L.v_end));
    if (!L.p2m_in_region) {
        EXPECT_TRUE(allowed(L.p2m_va, L.p2m_va + L.p2m.count * page));
    }
    if (k.is_linux()) {
        EXPECT_EQ(L.v_start >> 30, (L.v_end - 1) >> 30);
        if (!L.p2m_in_region) {
            std::uint64_t slot = (L.p2m_va >> 39) & 511;
            EXPECT_EQ(slot, ((L.p2m_va + L.p2m.count * page - 1) >> 39) & 511);
            EXPECT_NE(slot, 0u);
            EXPECT_NE(slot, 511u);
        }
    }
}

}  // namespace xenolith::test
