// Tests for the bootstrap page tables (walked by a software MMU), start_info and the hypercall page.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <unordered_map>

#include "domain/boot_page_tables.hpp"
#include "elf_writer.hpp"

namespace xenolith::test {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;

// A scrambled but one-to-one PFN -> MFN map, so an entry pointing at the wrong frame shows.
struct ScrambledP2m final : PfnToMfn {
    std::uint64_t mfn_of(std::uint64_t pfn) const override { return 0x80000 + ((pfn * 3) ^ 0x1234); }
};

// Table frames as the sink fills them (keyed by PFN; unwritten entries are zero).
struct TableMemory final : PageTableEntrySink {
    std::unordered_map<std::uint64_t, std::array<std::uint64_t, 512>> tables;
    int rewrites = 0;
    Result<void> set_entry(std::uint64_t table_pfn, std::uint32_t index, std::uint64_t value) override {
        EXPECT_LT(index, 512u);
        auto& t = tables.try_emplace(table_pfn).first->second;
        if (t[index])
            ++rewrites;
        t[index] = value;
        return {};
    }
};

struct Translation {
    std::uint64_t mfn;
    std::uint64_t l1_flags;
    bool writable;
};

// Walks the emitted tables from the L4 like the MMU would (no superpages allowed).
class SoftMmu {
public:
    SoftMmu(const DomainLayout& layout, const TableMemory& mem, const PfnToMfn& p2m) : m_layout(layout), m_mem(mem) {
        for (std::uint64_t pfn = 0; pfn < layout.pfns_used; ++pfn)
            m_pfn_of[p2m.mfn_of(pfn)] = pfn;
    }
    std::optional<std::uint64_t> pfn_of(std::uint64_t mfn) const {
        auto it = m_pfn_of.find(mfn);
        return it == m_pfn_of.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
    }
    bool is_table(std::uint64_t pfn) const {
        return m_layout.page_tables.contains(pfn) || m_layout.p2m_page_tables.contains(pfn);
    }
    std::optional<Translation> translate(std::uint64_t va) const {
        std::uint64_t table = m_layout.tables.level[3].first_pfn;
        bool writable = true;
        for (int level = 4; level >= 1; --level) {
            auto it = m_mem.tables.find(table);
            if (it == m_mem.tables.end())
                return std::nullopt;
            std::uint64_t e = it->second[(va >> (12 + 9 * (level - 1))) & 511];
            if (!(e & 1))
                return std::nullopt;
            writable = writable && (e & 2);
            std::uint64_t mfn = (e & kPteAddressMask) >> 12;
            if (level == 1)
                return Translation{mfn, e & ~kPteAddressMask, writable};
            EXPECT_EQ(e & ~kPteAddressMask, kBootUpperFlags) << "level " << level << " va " << std::hex << va;
            auto back = m_pfn_of.find(mfn);
            if (back == m_pfn_of.end() || !is_table(back->second)) {
                ADD_FAILURE() << "level " << level << " entry for " << std::hex << va << " points at a non-table";
                return std::nullopt;
            }
            table = back->second;
        }
        return std::nullopt;
    }

private:
    const DomainLayout& m_layout;
    const TableMemory& m_mem;
    std::unordered_map<std::uint64_t, std::uint64_t> m_pfn_of;
};

void check_tables(const DomainLayout& L) {
    ScrambledP2m p2m;
    TableMemory mem;
    CollectingDiagnostics diag;
    ASSERT_TRUE(emit_boot_page_tables(L, p2m, mem, diag).is_ok()) << diag.all();
    EXPECT_EQ(mem.rewrites, 0);
    SoftMmu mmu(L, mem, p2m);
    // Only table frames are written, and the hypervisor's L4 slots are left alone.
    for (const auto& [pfn, entries] : mem.tables)
        ASSERT_TRUE(mmu.is_table(pfn)) << "wrote into PFN " << pfn;
    const auto& l4 = mem.tables[L.tables.level[3].first_pfn];
    for (std::size_t slot = 256; slot <= 271; ++slot)
        EXPECT_EQ(l4[slot], 0u) << "slot " << slot;
    // Every page of the region maps 1:1 to its PFN; page-table frames read-only, the rest writable.
    std::uint64_t expected_l1 = 0;
    auto check_range = [&](std::uint64_t va, std::uint64_t first_pfn, std::uint64_t count) {
        for (std::uint64_t i = 0; i < count; ++i, va += kGuestPageSize) {
            std::uint64_t pfn = first_pfn + i;
            auto t = mmu.translate(va);
            ASSERT_TRUE(t.has_value()) << std::hex << "va " << va << " unmapped";
            ASSERT_EQ(t->mfn, p2m.mfn_of(pfn)) << std::hex << "va " << va;
            bool table = mmu.is_table(pfn);
            ASSERT_EQ(t->l1_flags, table ? kBootL1ReadOnlyFlags : kBootL1Flags) << std::hex << "va " << va;
            ASSERT_EQ(t->writable, !table);
        }
        expected_l1 += count;
    };
    check_range(L.v_start, 0, L.region.count);
    if (!L.p2m_in_region)
        check_range(L.p2m_va, L.p2m.first, L.p2m.count);
    // Nothing else is mapped: the present L1 entries are exactly those, and no table frame is
    // writable through any of them.
    std::uint64_t present = 0;
    for (std::size_t level1 = 0; level1 < L.tables.level[0].count + L.p2m_tables.level[0].count; ++level1) {
        const TableRun& run = level1 < L.tables.level[0].count ? L.tables.level[0] : L.p2m_tables.level[0];
        std::uint64_t k = level1 < L.tables.level[0].count ? level1 : level1 - L.tables.level[0].count;
        auto it = mem.tables.find(run.first_pfn + k);
        if (it == mem.tables.end())
            continue;
        for (std::uint64_t e : it->second) {
            if (!(e & 1))
                continue;
            ++present;
            std::optional<std::uint64_t> pfn = mmu.pfn_of((e & kPteAddressMask) >> 12);
            ASSERT_TRUE(pfn.has_value());
            if (mmu.is_table(*pfn)) {
                EXPECT_EQ(e & 2, 0u) << "page-table PFN " << *pfn << " mapped writable";
            }
        }
    }
    EXPECT_EQ(present, expected_l1);
    if (L.v_end != 0) {
        EXPECT_FALSE(mmu.translate(L.v_end).has_value());
    }
    if (L.v_start >= kGuestPageSize && (L.p2m_in_region || L.p2m_va + L.p2m.count * kGuestPageSize < L.v_start)) {
        EXPECT_FALSE(mmu.translate(L.v_start - kGuestPageSize).has_value());
    }
}

XenKernelImage synthetic(std::uint64_t base, std::uint64_t kstart, std::uint64_t kbytes, bool is_linux) {
    XenKernelImage k;
    k.virt_base = base;
    k.virt_kstart = kstart;
    k.virt_kend = kstart + kbytes;
    k.entry = kstart;
    k.guest_os = is_linux ? "linux" : "test";
    return k;
}

DomainLayout layout_of(const XenKernelImage& k, BootLayoutParams params) {
    CollectingDiagnostics diag;
    auto r = compute_boot_layout(k, params, diag);
    EXPECT_TRUE(r.is_ok()) << diag.all();
    return r.is_ok() ? *r : DomainLayout{};
}

TEST(BootPageTables, DebianLikeLayoutWalks) {
    XenKernelImage k = synthetic(0xffffffff80000000, 0xffffffff81000000, 0x3a00000, true);
    k.init_p2m = 0x8000000000;
    k.mod_start_pfn = true;
    check_tables(layout_of(k, {131072, 5 * kMiB, false}));
}

TEST(BootPageTables, XtfLikeLayoutWalks) {
    XenKernelImage k = synthetic(0, 0x100000, 0x9000, false);
    k.hypercall_page = 0x101000;
    check_tables(layout_of(k, {8192, 3000, true}));
}

TEST(BootPageTables, P2mSharingTheRegionsL3Walks) {
    XenKernelImage k = synthetic(0x40000000, 0x40000000, 0x10000, false);
    k.init_p2m = 0x40000000 - 0x100000;
    check_tables(layout_of(k, {131072, 0, false}));
}

TEST(BootPageTables, RandomisedLayoutsWalk) {
    std::mt19937_64 rng(77);
    const std::uint64_t bases[] = {0, 0xffffffff80000000, 0xffff880000000000, 0x3ff00000};
    int checked = 0;
    for (int iter = 0; iter < 300 && !::testing::Test::HasFailure(); ++iter) {
        std::uint64_t base = bases[rng() % 4];
        XenKernelImage k = synthetic(base, base + (rng() % 1024) * kGuestPageSize, 1 + rng() % (8 * kMiB), rng() % 2);
        k.mod_start_pfn = rng() % 2;
        if (rng() % 2)
            k.init_p2m = rng() % 2 ? (1 + rng() % 8) << 39 : (base - (rng() % 4096) * kGuestPageSize);
        BootLayoutParams params{1 + rng() % (1u << (10 + rng() % 8)), rng() % 2 ? 0 : rng() % (8 * kMiB),
                                rng() % 2 == 0};
        NullDiagnostics diag;
        auto r = compute_boot_layout(k, params, diag);
        if (r.is_error())
            continue;
        ++checked;
        check_tables(*r);
    }
    EXPECT_GT(checked, 100);
}

TEST(BootPageTables, MfnBeyondPteRangeIsRefused) {
    struct Huge final : PfnToMfn {
        std::uint64_t mfn_of(std::uint64_t) const override { return 1ull << 41; }
    } p2m;
    TableMemory mem;
    CollectingDiagnostics diag;
    DomainLayout L = layout_of(synthetic(0, 0x100000, 0x9000, false), {8192, 0, false});
    EXPECT_TRUE(emit_boot_page_tables(L, p2m, mem, diag).is_error());
    EXPECT_TRUE(diag.any_contains("beyond what a PTE can hold"));
}

std::uint64_t field(const std::array<std::byte, 4096>& page, std::size_t offset, std::size_t size) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i)
        v |= std::uint64_t{static_cast<std::uint8_t>(page[offset + i])} << (8 * i);
    return v;
}

TEST(StartInfo, FieldsAtTheirAbiOffsets) {
    XenKernelImage k = synthetic(0xffffffff80000000, 0xffffffff81000000, 0x3a00000, true);
    k.init_p2m = 0x8000000000;
    k.mod_start_pfn = true;
    DomainLayout L = layout_of(k, {131072, 12345, false});
    std::array<std::byte, 4096> page;
    page.fill(std::byte{0xAA});
    StartInfoInputs in{0x12345000, 0x777, 1, 0x888, 2, "console=hvc0 root=/dev/xvda1"};
    CollectingDiagnostics diag;
    ASSERT_TRUE(fill_start_info(L, in, std::span<std::byte, 4096>(page), diag).is_ok());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(page.data())), "xen-3.0-x86_64");
    EXPECT_EQ(field(page, 32, 8), 131072u);
    EXPECT_EQ(field(page, 40, 8), 0x12345000u);
    EXPECT_EQ(field(page, 48, 4), kSifVirtP2m4Tools | kSifModStartPfn);
    EXPECT_EQ(field(page, 52, 4), 0u);
    EXPECT_EQ(field(page, 56, 8), 0x777u);
    EXPECT_EQ(field(page, 64, 4), 1u);
    EXPECT_EQ(field(page, 72, 8), 0x888u);
    EXPECT_EQ(field(page, 80, 4), 2u);
    EXPECT_EQ(field(page, 88, 8), 0xffffffff84a03000u);
    EXPECT_EQ(field(page, 96, 8), 41u);
    EXPECT_EQ(field(page, 104, 8), 0x8000000000u);
    EXPECT_EQ(field(page, 112, 8), 0x4c00u);
    EXPECT_EQ(field(page, 120, 8), 12345u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(page.data() + 128)), in.cmdline);
    EXPECT_EQ(field(page, 1152, 8), 0x4c04u);
    EXPECT_EQ(field(page, 1160, 8), 259u);
    for (std::size_t i = kStartInfoSize; i < page.size(); ++i)
        ASSERT_EQ(page[i], std::byte{0}) << i;
}

TEST(StartInfo, Dom0HasNoRingsAndCommandLineLimit) {
    DomainLayout L = layout_of(synthetic(0, 0x100000, 0x9000, false), {8192, 0, true});
    std::array<std::byte, 4096> page{};
    std::string longest(1023, 'x');
    CollectingDiagnostics diag;
    ASSERT_TRUE(fill_start_info(L, {0x1000, 5, 6, 7, 8, longest}, std::span<std::byte, 4096>(page), diag).is_ok());
    EXPECT_EQ(field(page, 48, 4), kSifPrivileged | kSifInitDomain);
    EXPECT_EQ(field(page, 56, 8), 0u);
    EXPECT_EQ(field(page, 72, 8), 0u);
    EXPECT_EQ(page[128 + 1022], std::byte{'x'});
    EXPECT_EQ(page[128 + 1023], std::byte{0});
    std::string too_long(1024, 'x');
    auto r = fill_start_info(L, {0x1000, 0, 0, 0, 0, too_long}, std::span<std::byte, 4096>(page), diag);
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error(), Errno::E2BIG);
    EXPECT_TRUE(diag.any_contains("1024 characters; the limit is 1023"));
}

TEST(HypercallPage, StubsAsSpecified) {
    std::array<std::byte, 4096> page{};
    fill_hypercall_page(std::span<std::byte, 4096>(page));
    auto at = [&](std::size_t i) { return static_cast<unsigned>(page[i]); };
    for (std::size_t i = 0; i < 128; ++i) {
        std::size_t s = i * 32;
        std::size_t len = i == 23 ? 11 : 14;
        if (i == 23) {
            const unsigned want[] = {0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05};
            for (std::size_t b = 0; b < len; ++b)
                ASSERT_EQ(at(s + b), want[b]) << "iret stub byte " << b;
        } else {
            const unsigned want[] = {0x51, 0x41, 0x53, 0xb8, static_cast<unsigned>(i), 0, 0, 0,
                                     0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3};
            for (std::size_t b = 0; b < len; ++b)
                ASSERT_EQ(at(s + b), want[b]) << "stub " << i << " byte " << b;
        }
        for (std::size_t b = len; b < 32; ++b)
            ASSERT_EQ(at(s + b), 0xccu) << "stub " << i << " byte " << b;
    }
}

}  // namespace
}  // namespace xenolith::test
