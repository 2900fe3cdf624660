// Bootstrap page tables (pv-abi-core.md §2.2), start_info (§3.1) and hypercall page (§4.1).
#include "domain/boot_page_tables.hpp"

#include "lib/string.hpp"

namespace xenolith {
namespace {

constexpr std::uint64_t kMaxMfn = kPteAddressMask >> kGuestPageShift;
constexpr std::uint64_t kFirstHypervisorSlot = 256;
constexpr std::uint64_t kLastHypervisorSlot = 271;
constexpr std::uint32_t kHypercallIret = 23;
constexpr std::size_t kHypercallStubSize = 32;

std::uint32_t slot_of(std::uint64_t va, int level) {
    return static_cast<std::uint32_t>((va >> (table_shift(level) - 9)) & 511);
}

struct Emitter {
    const DomainLayout& layout;
    const PfnToMfn& p2m;
    PageTableEntrySink& sink;
    Diagnostics& diag;

    Result<std::uint64_t> entry_for(std::uint64_t pfn, std::uint64_t flags) {
        std::uint64_t mfn = p2m.mfn_of(pfn);
        if (mfn > kMaxMfn) {
            diag.error("boot page tables: PFN {:#x} is backed by MFN {:#x}, beyond what a PTE can hold", pfn, mfn);
            return Error{Errno::EINVAL};
        }
        return (mfn << kGuestPageShift) | flags;
    }

    // The entry in the level+1 table that points at each level-`level` table of `run`.
    Result<void> link_tables(const TableRun& run, int level) {
        for (std::uint64_t k = 0; k < run.count; ++k) {
            std::uint64_t index = run.first_index + k;
            std::uint64_t va = index << table_shift(level);
            std::uint32_t slot = slot_of(va, level + 1);
            if (level + 1 == 4 && slot >= kFirstHypervisorSlot && slot <= kLastHypervisorSlot) {
                // The layout never places anything there; refuse rather than write Xen's slots.
                diag.error("boot page tables: L4 slot {} belongs to the hypervisor", slot);
                return Error{Errno::EINVAL};
            }
            std::optional<std::uint64_t> parent = table_pfn_for(layout, level + 1, va);
            if (!parent) {
                diag.error("boot page tables: no level-{} table for VA {:#x}", level + 1, va);
                return Error{Errno::EINVAL};
            }
            std::uint64_t value = TRY(entry_for(run.first_pfn + k, kBootUpperFlags));
            TRY(sink.set_entry(*parent, slot, value));
        }
        return {};
    }

    Result<void> link_all(const TableSet& set) {
        for (int level = 3; level >= 1; --level)
            TRY(link_tables(set.level[static_cast<std::size_t>(level - 1)], level));
        return {};
    }

    // L1 entries for `count` pages from `va`, backed by consecutive PFNs from `first_pfn`.
    // Page-table frames are mapped read-only (§2 item 5, §2.2).
    Result<void> map_pages(std::uint64_t va, std::uint64_t first_pfn, std::uint64_t count) {
        for (std::uint64_t i = 0; i < count; ++i, va += kGuestPageSize) {
            std::uint64_t pfn = first_pfn + i;
            bool table = layout.page_tables.contains(pfn) || layout.p2m_page_tables.contains(pfn);
            std::optional<std::uint64_t> l1 = table_pfn_for(layout, 1, va);
            if (!l1) {
                diag.error("boot page tables: no L1 table for VA {:#x}", va);
                return Error{Errno::EINVAL};
            }
            std::uint64_t value = TRY(entry_for(pfn, table ? kBootL1ReadOnlyFlags : kBootL1Flags));
            TRY(sink.set_entry(*l1, slot_of(va, 1), value));
        }
        return {};
    }
};

void put(std::span<std::byte, 4096> page, std::size_t offset, std::uint64_t value, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i)
        page[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
}

}  // namespace

Result<void> emit_boot_page_tables(const DomainLayout& layout, const PfnToMfn& p2m, PageTableEntrySink& sink,
                                   Diagnostics& diag) {
    Emitter e{layout, p2m, sink, diag};
    // Top-down links first, then the leaves: main region, then the INIT_P2M region.
    TRY(e.link_all(layout.tables));
    TRY(e.map_pages(layout.v_start, layout.region.first, layout.region.count));
    if (!layout.p2m_in_region) {
        TRY(e.link_all(layout.p2m_tables));
        TRY(e.map_pages(layout.p2m_va, layout.p2m.first, layout.p2m.count));
    }
    return {};
}

Result<void> fill_start_info(const DomainLayout& layout, const StartInfoInputs& in, std::span<std::byte, 4096> page,
                             Diagnostics& diag) {
    if (in.cmdline.size() >= kMaxGuestCmdline) {
        diag.error("start_info: command line is {} characters; the limit is {}", in.cmdline.size(),
                   kMaxGuestCmdline - 1);
        return Error{Errno::E2BIG};
    }
    std::memset(page.data(), 0, page.size());
    // Offsets of struct start_info (§3.1).
    constexpr std::string_view kMagic = "xen-3.0-x86_64";
    std::memcpy(page.data(), kMagic.data(), kMagic.size());
    const StartInfoValues& s = layout.start_info;
    put(page, 32, s.nr_pages, 8);
    put(page, 40, in.shared_info_maddr, 8);
    put(page, 48, s.flags, 4);
    if (!layout.dom0) {
        // dom0 has neither ring; its console union member is the VGA-info view, left zero here.
        put(page, 56, in.store_mfn, 8);
        put(page, 64, in.store_evtchn, 4);
        put(page, 72, in.console_mfn, 8);
        put(page, 80, in.console_evtchn, 4);
    }
    put(page, 88, s.pt_base, 8);
    put(page, 96, s.nr_pt_frames, 8);
    put(page, 104, s.mfn_list, 8);
    put(page, 112, s.mod_start, 8);
    put(page, 120, s.mod_len, 8);
    if (!in.cmdline.empty())
        std::memcpy(page.data() + 128, in.cmdline.data(), in.cmdline.size());  // NUL from the memset
    put(page, 1152, s.first_p2m_pfn, 8);
    put(page, 1160, s.nr_p2m_frames, 8);
    return {};
}

void fill_hypercall_page(std::span<std::byte, 4096> page) {
    // int3 everywhere first, so a call into the unused tail of a stub traps (§4.1).
    std::memset(page.data(), 0xCC, page.size());
    for (std::uint32_t i = 0; i < page.size() / kHypercallStubSize; ++i) {
        std::byte* stub = page.data() + i * kHypercallStubSize;
        auto b = [](unsigned v) { return static_cast<std::byte>(v); };
        if (i == kHypercallIret) {
            // push %rcx; push %r11; push %rax; mov $23,%eax; syscall — jumped to, never returns.
            const std::byte code[] = {b(0x51), b(0x41), b(0x53), b(0x50), b(0xb8), b(23), b(0), b(0), b(0),
                                      b(0x0f), b(0x05)};
            std::memcpy(stub, code, sizeof(code));
        } else {
            // push %rcx; push %r11; mov $i,%eax; syscall; pop %r11; pop %rcx; ret.
            const std::byte code[] = {b(0x51), b(0x41), b(0x53), b(0xb8), b(i & 0xff), b((i >> 8) & 0xff),
                                      b(0), b(0), b(0x0f), b(0x05), b(0x41), b(0x5b), b(0x59), b(0xc3)};
            std::memcpy(stub, code, sizeof(code));
        }
    }
}

}  // namespace xenolith
