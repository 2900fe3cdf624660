// Start-of-day placement of a PV domain (pv-abi-core.md §2, §2.1, §2.2, §2.4, §3.1).
#include "domain/boot_layout.hpp"

namespace xenolith {
namespace {

// Far more than any machine we run on has (2^40 pages = 4 PiB); keeps every sum below in range.
constexpr std::uint64_t kMaxDomainPages = 1ull << 40;
constexpr std::uint64_t kBootStackPages = 1;
constexpr std::uint64_t kCanonicalHoleStart = 1ull << 47;
constexpr unsigned kL4SlotShift = 39;

std::uint64_t pages_for(std::uint64_t bytes) { return bytes / kGuestPageSize + (bytes % kGuestPageSize != 0); }

bool add_ok(std::uint64_t a, std::uint64_t b, std::uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }

// Tables needed at L1-L3 to map [start, end) (end > start), plus the one L4 (§2.2).
TableSet tables_covering(std::uint64_t start, std::uint64_t end) {
    TableSet t;
    for (int level = 1; level <= 3; ++level) {
        std::uint64_t first = start >> table_shift(level);
        std::uint64_t last = (end - 1) >> table_shift(level);
        t.level[static_cast<std::size_t>(level - 1)] = {first, last - first + 1, 0};
    }
    t.level[3] = {0, 1, 0};
    return t;
}

// Give the tables their frames, top level first ([L4][L3…][L2…][L1…], §2.2); returns the next PFN.
std::uint64_t assign_table_pfns(TableSet& t, std::uint64_t pfn) {
    for (std::size_t level = 4; level-- > 0;) {
        t.level[level].first_pfn = pfn;
        pfn += t.level[level].count;
    }
    return pfn;
}

// The range lies in canonical address space and outside the hypervisor's L4 slots 256-271 (§2.5).
bool address_range_allowed(std::uint64_t start, std::uint64_t end) {
    return end <= kCanonicalHoleStart || start >= kHypervisorVirtEnd;
}

// Work state while placing: the next free PFN, and whether a rule was broken.
struct Placer {
    DomainLayout& out;
    Diagnostics& diag;
    std::uint64_t next_pfn = 0;
    bool ok = true;

    PfnRange take(std::uint64_t count) {
        PfnRange r{next_pfn, count};
        next_pfn += count;
        return r;
    }
    template <typename... Args>
    void refuse(std::string_view fmt, const Args&... args) {
        diag.error(fmt, args...);
        ok = false;
    }
};

// Steps 5-7 of §2.1: size the main page tables so that the region, the tables, one stack page and
// 512 KiB of padding end below a 4 MiB boundary. More tables can push the end past the next
// boundary, which can need more tables, so count again until the figures agree.
bool size_main_tables(Placer& p, std::uint64_t alloc_end_va, std::uint64_t& v_end, TableSet& tables) {
    const std::uint64_t extra = kBootStackPages + kBootRegionMinPadding / kGuestPageSize;
    std::uint64_t pages = extra;
    for (int round = 0; round < 64; ++round) {
        std::uint64_t want_end = 0;
        std::uint64_t try_end = 0;
        if (!add_ok(alloc_end_va, pages * kGuestPageSize, want_end) ||
            !add_ok(want_end, kBootRegionAlign - 1, try_end)) {
            p.refuse("boot layout: the initial region from {:#x} does not fit below the top of the address space",
                     p.out.v_start);
            return false;
        }
        try_end &= ~(kBootRegionAlign - 1);
        tables = tables_covering(p.out.v_start, try_end);
        pages = tables.frames() + extra;
        std::uint64_t need_end = 0;
        if (add_ok(alloc_end_va, pages * kGuestPageSize, need_end) && need_end <= try_end) {
            v_end = try_end;
            return true;
        }
    }
    p.refuse("boot layout: page-table count for the region from {:#x} does not converge", p.out.v_start);
    return false;
}

// Step 9 of §2.1: the P2M at INIT_P2M, backed by the next frames and mapped by its own tables,
// which hang off the main L4 and may share the main region's table at the boundary.
void place_p2m_at_init_p2m(Placer& p, std::uint64_t va, std::uint64_t pages, bool linux_rules) {
    DomainLayout& L = p.out;
    L.p2m = p.take(pages);
    L.p2m_va = va;
    std::uint64_t end = 0;
    if (!add_ok(va, pages * kGuestPageSize, end)) {
        p.refuse("boot layout: P2M at INIT_P2M {:#x} of {} pages wraps past the top of the address space", va, pages);
        return;
    }
    if (end > L.v_start)
        p.refuse("boot layout: P2M at INIT_P2M [{:#x}, {:#x}) overlaps the initial region from {:#x}", va, end,
                 L.v_start);
    if (!address_range_allowed(va, end))
        p.refuse("boot layout: P2M at INIT_P2M [{:#x}, {:#x}) is non-canonical or in the hypervisor range", va, end);
    std::uint64_t slot = (va >> kL4SlotShift) & 511;
    if (linux_rules && (slot != (((end - 1) >> kL4SlotShift) & 511) || slot == 0 || slot == 511))
        // §2.4: Linux copies exactly one L4 entry for mfn_list, and never slot 0 or 511.
        p.refuse("boot layout: P2M [{:#x}, {:#x}) must lie under one L4 slot other than 0 and 511 for Linux", va,
                 end);
    TableSet t = tables_covering(va, end);
    t.level[3].count = 0;  // the main L4
    for (std::size_t level = 0; level < 3; ++level) {
        // The P2M lies below the region, so only its last table can already exist there.
        TableRun& run = t.level[level];
        if (run.count && L.tables.level[level].covers(run.first_index + run.count - 1))
            --run.count;
    }
    L.p2m_page_tables = p.take(t.frames());
    assign_table_pfns(t, L.p2m_page_tables.first);
    L.p2m_tables = t;
}

void fill_start_info_values(DomainLayout& L) {
    StartInfoValues& s = L.start_info;
    s.nr_pages = L.nr_pages;
    // domU: SIF_VIRT_P2M_4TOOLS as libxenguest sets it (§2.1); dom0: privileged initial domain.
    s.flags = L.dom0 ? (kSifPrivileged | kSifInitDomain) : kSifVirtP2m4Tools;
    s.pt_base = L.va_of(L.page_tables.first);
    s.nr_pt_frames = L.page_tables.count;
    s.mfn_list = L.p2m_va;
    if (L.initrd.count) {
        if (L.initrd_mapped) {
            s.mod_start = L.initrd_va;
        } else {
            s.mod_start = L.initrd.first;
            s.flags |= kSifModStartPfn;
        }
        // The exact size, as the dom0 builder gives it (§2.1 step 8): the guest sees the file.
        s.mod_len = L.initrd_bytes;
    }
    s.first_p2m_pfn = L.p2m.first;
    s.nr_p2m_frames = L.p2m.count + L.p2m_page_tables.count;
}

}  // namespace

Result<DomainLayout> compute_boot_layout(const XenKernelImage& image, const BootLayoutParams& params,
                                         Diagnostics& diag) {
    const std::uint64_t n = params.nr_pages;
    if (n == 0 || n > kMaxDomainPages) {
        diag.error("boot layout: domain size of {} pages is outside 1..{}", n, kMaxDomainPages);
        return Error{Errno::EINVAL};
    }
    if (image.features_required & (1u << xenfeat::kAutoTranslatedPhysmap)) {
        diag.error("boot layout: kernel requires auto_translated_physmap, which a PV domain cannot provide");
        return Error{Errno::EINVAL};
    }
    DomainLayout L;
    L.nr_pages = n;
    L.dom0 = params.dom0;
    L.v_start = image.virt_base;
    L.kernel_va = image.virt_kstart;
    L.initrd_bytes = params.initrd_bytes;
    Placer p{L, diag};

    // Size the pieces first; any one larger than the domain means it cannot fit (and keeps the
    // sums below far from overflowing).
    std::uint64_t kernel_first = (image.virt_kstart - image.virt_base) >> kGuestPageShift;
    std::uint64_t kernel_pages = kernel_page_count(image);
    std::uint64_t initrd_pages = pages_for(params.initrd_bytes);
    std::uint64_t p2m_pages = pages_for(n * sizeof(std::uint64_t));
    if (kernel_first >= n || kernel_pages > n - kernel_first || initrd_pages > n) {
        diag.error("boot layout: {} pages ({}) cannot hold the kernel (PFNs {:#x}+{:#x}) and a {}-page initrd", n,
                   fmt_size(n * kGuestPageSize), kernel_first, kernel_pages, initrd_pages);
        return Error{Errno::ENOMEM};
    }

    // Steps 1-4 of §2.1: padding RAM below the kernel, the kernel, a mapped initrd, an in-region
    // P2M, then start_info and (domU) the xenstore and console pages.
    p.next_pfn = kernel_first;
    L.kernel = p.take(kernel_pages);
    bool initrd_unmapped = image.mod_start_pfn;
    if (initrd_pages && !initrd_unmapped) {
        L.initrd = p.take(initrd_pages);
        L.initrd_mapped = true;
        L.initrd_va = L.va_of(L.initrd.first);
    }
    // INIT_P2M is honoured only when page aligned and below VIRT_BASE (§2.1 step 3).
    bool use_init_p2m = image.init_p2m && *image.init_p2m % kGuestPageSize == 0 && *image.init_p2m < image.virt_base;
    if (!use_init_p2m) {
        L.p2m = p.take(p2m_pages);
        L.p2m_va = L.va_of(L.p2m.first);
        L.p2m_in_region = true;
    }
    L.start_info_pfn = p.take(1).first;
    if (!params.dom0) {
        L.xenstore_pfn = p.take(1).first;
        L.console_pfn = p.take(1).first;
    }

    // Steps 5-7: page tables, the boot stack, padding to the 4 MiB-aligned end.
    std::uint64_t alloc_end_va = 0;
    if (!add_ok(L.v_start, p.next_pfn * kGuestPageSize, alloc_end_va) ||
        !size_main_tables(p, alloc_end_va, L.v_end, L.tables)) {
        if (p.ok)
            diag.error("boot layout: the initial region from {:#x} does not fit below the top of the address space",
                       L.v_start);
        return Error{Errno::EINVAL};
    }
    L.page_tables = p.take(L.tables.frames());
    assign_table_pfns(L.tables, L.page_tables.first);
    L.stack_pfn = p.take(kBootStackPages).first;
    L.region = {0, (L.v_end - L.v_start) >> kGuestPageShift};
    p.next_pfn = L.region.end();
    if (!address_range_allowed(L.v_start, L.v_end))
        p.refuse("boot layout: initial region [{:#x}, {:#x}) is non-canonical or overlaps the hypervisor range "
                 "[{:#x}, {:#x})", L.v_start, L.v_end, kHypervisorVirtStart, kHypervisorVirtEnd);
    if (image.is_linux() && (L.v_start >> table_shift(2)) != ((L.v_end - 1) >> table_shift(2)))
        // §2.4: Linux grafts exactly one L2 of the bootstrap tables into its own.
        p.refuse("boot layout: initial region [{:#x}, {:#x}) crosses a 1 GiB boundary; Linux needs it under one L2",
                 L.v_start, L.v_end);

    // Steps 8-9: the unmapped initrd, then the P2M at INIT_P2M with its tables.
    if (initrd_pages && initrd_unmapped)
        L.initrd = p.take(initrd_pages);
    if (use_init_p2m)
        place_p2m_at_init_p2m(p, *image.init_p2m, p2m_pages, image.is_linux());
    if (!p.ok)
        return Error{Errno::EINVAL};

    L.pfns_used = p.next_pfn;
    if (L.pfns_used > n) {
        diag.error("boot layout: needs {} pages (initial region {}, initrd {}, P2M {} + {} tables) but the domain has "
                   "{} ({})", L.pfns_used, L.region.count, initrd_unmapped ? initrd_pages : 0,
                   use_init_p2m ? p2m_pages : 0, L.p2m_page_tables.count, n, fmt_size(n * kGuestPageSize));
        return Error{Errno::ENOMEM};
    }

    L.start_info_va = L.va_of(L.start_info_pfn);
    L.stack_va = L.va_of(L.stack_pfn);
    if (image.hypercall_page)
        L.hypercall_page_pfn = (*image.hypercall_page - L.v_start) >> kGuestPageShift;
    L.entry_rip = image.entry;
    L.entry_rsp = L.stack_va + kGuestPageSize;
    L.entry_rsi = L.start_info_va;
    fill_start_info_values(L);
    return L;
}

std::optional<std::uint64_t> table_pfn_for(const DomainLayout& layout, int level, std::uint64_t va) {
    if (level < 1 || level > 4)
        return std::nullopt;
    if (level == 4)
        return layout.tables.level[3].first_pfn;
    std::uint64_t index = va >> table_shift(level);
    const TableSet* sets[] = {&layout.tables, &layout.p2m_tables};
    for (const TableSet* set : sets) {
        const TableRun& run = set->level[static_cast<std::size_t>(level - 1)];
        if (run.covers(index))
            return run.first_pfn + (index - run.first_index);
    }
    return std::nullopt;
}

}  // namespace xenolith
