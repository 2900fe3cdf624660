// Tests for the start-of-day layout (pv-abi-core.md §2): the worked example, XTF-like guests,
// refusals, and randomised layouts checked against the contract's invariants.
#include <gtest/gtest.h>

#include <random>

#include "domain/boot_layout.hpp"
#include "elf_writer.hpp"
#include "layout_checks.hpp"

namespace xenolith::test {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;

TEST(BootLayout, DebianWorkedExample) {
    // §2.3: Debian 6.1, 512 MiB, MOD_START_PFN, INIT_P2M at 512 GiB, with a 20 MiB initrd.
    Bytes image = debian_like_builder().build();
    CollectingDiagnostics diag;
    auto k = parse_xen_kernel(std::span<const std::byte>(image.data(), image.size()), diag);
    ASSERT_TRUE(k.is_ok()) << diag.all();
    auto r = compute_boot_layout(*k, {131072, 20 * kMiB + 123, false}, diag);
    ASSERT_TRUE(r.is_ok()) << diag.all();
    const DomainLayout& L = *r;
    EXPECT_EQ(L.v_start, 0xffffffff80000000u);
    EXPECT_EQ(L.kernel.first, 0x1000u);
    EXPECT_EQ(L.kernel.end(), 0x4a00u);
    EXPECT_EQ(L.start_info_pfn, 0x4a00u);
    EXPECT_EQ(L.start_info_va, 0xffffffff84a00000u);
    EXPECT_EQ(L.xenstore_pfn, std::optional<std::uint64_t>(0x4a01));
    EXPECT_EQ(L.console_pfn, std::optional<std::uint64_t>(0x4a02));
    EXPECT_EQ(L.page_tables.first, 0x4a03u);
    EXPECT_EQ(L.page_tables.count, 41u);  // L4, L3, L2, 38 L1
    EXPECT_EQ(L.tables.level[3].count, 1u);
    EXPECT_EQ(L.tables.level[2].count, 1u);
    EXPECT_EQ(L.tables.level[1].count, 1u);
    EXPECT_EQ(L.tables.level[0].count, 38u);
    EXPECT_EQ(L.tables.level[3].first_pfn, 0x4a03u);  // [L4][L3][L2][L1…]
    EXPECT_EQ(L.tables.level[2].first_pfn, 0x4a04u);
    EXPECT_EQ(L.tables.level[1].first_pfn, 0x4a05u);
    EXPECT_EQ(L.tables.level[0].first_pfn, 0x4a06u);
    EXPECT_EQ(L.stack_pfn, 0x4a2cu);
    EXPECT_EQ(L.entry_rsp, 0xffffffff84a2d000u);
    EXPECT_EQ(L.entry_rsi, 0xffffffff84a00000u);
    EXPECT_EQ(L.entry_rip, 0xffffffff830791c0u);
    EXPECT_EQ(L.v_end, 0xffffffff84c00000u);
    EXPECT_EQ(L.region.count, 0x4c00u);
    EXPECT_FALSE(L.initrd_mapped);
    EXPECT_EQ(L.initrd.first, 0x4c00u);
    EXPECT_EQ(L.initrd.count, 5121u);
    EXPECT_FALSE(L.p2m_in_region);
    EXPECT_EQ(L.p2m_va, 0x8000000000u);
    EXPECT_EQ(L.p2m.first, 0x4c00u + 5121u);
    EXPECT_EQ(L.p2m.count, 256u);
    EXPECT_EQ(L.p2m_page_tables.count, 3u);  // L3, L2, L1 under L4[1]
    EXPECT_EQ(L.p2m_page_tables.first, L.p2m.end());
    EXPECT_FALSE(L.hypercall_page_pfn.has_value());

    const StartInfoValues& s = L.start_info;
    EXPECT_EQ(s.nr_pages, 131072u);
    EXPECT_EQ(s.flags, kSifVirtP2m4Tools | kSifModStartPfn);
    EXPECT_EQ(s.pt_base, 0xffffffff84a03000u);
    EXPECT_EQ(s.nr_pt_frames, 41u);
    EXPECT_EQ(s.mfn_list, 0x8000000000u);
    EXPECT_EQ(s.mod_start, 0x4c00u);
    EXPECT_EQ(s.mod_len, 20 * kMiB + 123);
    EXPECT_EQ(s.first_p2m_pfn, L.p2m.first);
    EXPECT_EQ(s.nr_p2m_frames, 259u);
    check_layout_invariants(L, *k, {131072, 20 * kMiB + 123, false});
}

TEST(BootLayout, DebianWithoutInitrdAsDom0) {
    Bytes image = debian_like_builder().build();
    CollectingDiagnostics diag;
    auto k = parse_xen_kernel(std::span<const std::byte>(image.data(), image.size()), diag);
    ASSERT_TRUE(k.is_ok());
    auto r = compute_boot_layout(*k, {131072, 0, true}, diag);
    ASSERT_TRUE(r.is_ok()) << diag.all();
    EXPECT_FALSE(r->xenstore_pfn.has_value());
    EXPECT_FALSE(r->console_pfn.has_value());
    EXPECT_EQ(r->page_tables.first, 0x4a01u);
    EXPECT_EQ(r->start_info.flags, kSifPrivileged | kSifInitDomain);
    EXPECT_EQ(r->start_info.mod_start, 0u);
    EXPECT_EQ(r->start_info.mod_len, 0u);
    EXPECT_EQ(r->p2m.first, 0x4c00u);
    check_layout_invariants(*r, *k, {131072, 0, true});
}

TEST(BootLayout, XtfLikeGuest) {
    Bytes image = xtf_like_builder().build();
    CollectingDiagnostics diag;
    auto k = parse_xen_kernel(std::span<const std::byte>(image.data(), image.size()), diag);
    ASSERT_TRUE(k.is_ok()) << diag.all();
    auto r = compute_boot_layout(*k, {8192, 3000, false}, diag);  // 32 MiB, small mapped initrd
    ASSERT_TRUE(r.is_ok()) << diag.all();
    const DomainLayout& L = *r;
    EXPECT_EQ(L.v_start, 0u);
    EXPECT_EQ(L.kernel.first, 0x100u);
    EXPECT_EQ(L.kernel.count, 9u);
    EXPECT_TRUE(L.initrd_mapped);
    EXPECT_EQ(L.initrd.first, 0x109u);
    EXPECT_EQ(L.start_info.mod_start, 0x109000u);
    EXPECT_EQ(L.start_info.mod_len, 3000u);
    EXPECT_TRUE(L.p2m_in_region);
    EXPECT_EQ(L.p2m.first, 0x10au);
    EXPECT_EQ(L.p2m.count, 16u);
    EXPECT_EQ(L.start_info.mfn_list, 0x10a000u);
    EXPECT_EQ(L.start_info_pfn, 0x11au);
    EXPECT_EQ(L.page_tables.first, 0x11du);
    EXPECT_EQ(L.page_tables.count, 5u);  // L4, L3, L2, 2 L1 for [0, 4 MiB)
    EXPECT_EQ(L.stack_pfn, 0x122u);
    EXPECT_EQ(L.v_end, 4 * kMiB);
    EXPECT_EQ(L.hypercall_page_pfn, std::optional<std::uint64_t>(0x101));
    EXPECT_EQ(L.start_info.flags, kSifVirtP2m4Tools);
    EXPECT_EQ(L.pfns_used, 0x400u);
    check_layout_invariants(L, *k, {8192, 3000, false});
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

void expect_refused(const XenKernelImage& k, const BootLayoutParams& params, Errno code, std::string_view needle) {
    CollectingDiagnostics diag;
    auto r = compute_boot_layout(k, params, diag);
    ASSERT_TRUE(r.is_error()) << "wanted: " << needle;
    EXPECT_EQ(r.error(), code);
    EXPECT_TRUE(diag.any_contains(needle)) << diag.all() << "wanted: " << needle;
}

TEST(BootLayout, RefusesWhatDoesNotFit) {
    XenKernelImage k = synthetic(0xffffffff80000000, 0xffffffff81000000, 0x3a00000, true);
    k.init_p2m = 0x8000000000;
    k.mod_start_pfn = true;
    expect_refused(k, {16384, 0, false}, Errno::ENOMEM, "cannot hold the kernel");
    // 76 MiB holds the 76 MiB region exactly, but not the P2M behind it.
    expect_refused(k, {19456, 0, false}, Errno::ENOMEM, "needs 19497 pages (initial region 19456, initrd 0, P2M 38");
    expect_refused(k, {131072, 500 * kMiB, false}, Errno::ENOMEM, "initrd 128000");
    expect_refused(k, {0, 0, false}, Errno::EINVAL, "outside 1..");
    XenKernelImage t = k;
    t.features_required = 1u << xenfeat::kAutoTranslatedPhysmap;
    expect_refused(t, {131072, 0, false}, Errno::EINVAL, "auto_translated_physmap");
}

TEST(BootLayout, RefusesLinuxConstraintViolations) {
    // A mapped 1 GiB initrd pushes a Linux region past its single L2 (§2.4).
    XenKernelImage k = synthetic(0xffffffff80000000, 0xffffffff81000000, 0x3a00000, true);
    expect_refused(k, {1u << 20, 1024 * kMiB, false}, Errno::EINVAL, "crosses a 1 GiB boundary");
    XenKernelImage other = k;
    other.guest_os = "Mini-OS";  // the same layout is fine for a non-Linux guest
    CollectingDiagnostics diag;
    EXPECT_TRUE(compute_boot_layout(other, {1u << 20, 1024 * kMiB, false}, diag).is_ok()) << diag.all();

    XenKernelImage slot0 = k;
    slot0.init_p2m = 0x1000000;  // L4 slot 0
    expect_refused(slot0, {131072, 0, false}, Errno::EINVAL, "one L4 slot other than 0 and 511");
    XenKernelImage straddle = k;
    straddle.init_p2m = 0xfffff80000;  // 512 KiB below the slot 1/2 boundary; the P2M is 1 MiB
    expect_refused(straddle, {131072, 0, false}, Errno::EINVAL, "one L4 slot");
}

TEST(BootLayout, RefusesForbiddenAddressRanges) {
    // VIRT_BASE in the hypervisor's slots with the kernel just above them: padding would overlap.
    XenKernelImage k = synthetic(0xffff87ffffe00000, 0xffff880000000000, 0x10000, false);
    expect_refused(k, {65536, 0, false}, Errno::EINVAL, "hypervisor range");
    // A region running off the top of the address space.
    XenKernelImage top = synthetic(0xfffffffffff00000, 0xfffffffffff00000, 0x10000, false);
    expect_refused(top, {65536, 0, false}, Errno::EINVAL, "top of the address space");
    // A P2M at INIT_P2M that would overlap the region.
    XenKernelImage p2m = synthetic(0x40000000, 0x40000000, 0x10000, false);
    p2m.init_p2m = 0x3ffff000;
    expect_refused(p2m, {65536, 0, false}, Errno::EINVAL, "overlaps the initial region");
}

TEST(BootLayout, UnusableInitP2mFallsBackToTheRegion) {
    XenKernelImage k = synthetic(0xffffffff80000000, 0xffffffff81000000, 0x100000, true);
    for (std::uint64_t bad : {0x8000000800ull, 0xffffffff90000000ull}) {  // unaligned; above VIRT_BASE
        k.init_p2m = bad;
        CollectingDiagnostics diag;
        auto r = compute_boot_layout(k, {65536, 0, false}, diag);
        ASSERT_TRUE(r.is_ok()) << diag.all();
        EXPECT_TRUE(r->p2m_in_region);
        EXPECT_EQ(r->p2m.first, r->kernel.end());
        check_layout_invariants(*r, k, {65536, 0, false});
    }
}

TEST(BootLayout, InitP2mSharingTheRegionsL3) {
    // Non-Linux: the P2M ends exactly where the region starts, under the same L4 slot and L3.
    XenKernelImage k = synthetic(0x40000000, 0x40000000, 0x10000, false);
    k.init_p2m = 0x40000000 - 0x100000;  // 256 pages of P2M for 131072 pages
    CollectingDiagnostics diag;
    auto r = compute_boot_layout(k, {131072, 0, false}, diag);
    ASSERT_TRUE(r.is_ok()) << diag.all();
    EXPECT_EQ(r->p2m_tables.level[2].count, 0u);  // shares the L3
    EXPECT_EQ(r->p2m_tables.level[1].count, 1u);
    EXPECT_EQ(r->p2m_tables.level[0].count, 1u);
    EXPECT_EQ(table_pfn_for(*r, 3, k.init_p2m.value()), r->tables.level[2].first_pfn);
    check_layout_invariants(*r, k, {131072, 0, false});
}

// Many random images and domain sizes: every success satisfies the contract; every refusal says why.
TEST(BootLayout, RandomisedLayoutsKeepTheContract) {
    std::mt19937_64 rng(2024);
    int ok = 0, nomem = 0, inval = 0;
    const std::uint64_t bases[] = {0, 0xffffffff80000000, 0xffff880000000000, 0x400000000, 0x7fff00000000};
    for (int iter = 0; iter < 4000; ++iter) {
        std::uint64_t base = bases[rng() % 5] + (rng() % 64) * kGuestPageSize * (rng() % 2);
        std::uint64_t kstart = base + (rng() % 4096) * kGuestPageSize;
        std::uint64_t kbytes = 1 + rng() % (64 * kMiB);
        XenKernelImage k = synthetic(base, kstart, kbytes, rng() % 2);
        k.mod_start_pfn = rng() % 2;
        if (rng() % 2)
            k.init_p2m = (rng() % 3 == 0) ? (rng() % (1ull << 47)) & ~0xfffull : (1 + rng() % 200) << 39;
        if (rng() % 4 == 0)
            k.hypercall_page = kstart;
        BootLayoutParams params;
        params.nr_pages = 1 + rng() % (1u << (10 + rng() % 11));
        params.initrd_bytes = rng() % 3 ? 0 : rng() % (64 * kMiB);
        params.dom0 = rng() % 3 == 0;
        CollectingDiagnostics diag;
        auto r = compute_boot_layout(k, params, diag);
        if (r.is_ok()) {
            ++ok;
            EXPECT_EQ(diag.messages.size(), 0u);
            check_layout_invariants(*r, k, params);
            if (::testing::Test::HasFailure())
                FAIL() << "iteration " << iter;
        } else {
            ASSERT_FALSE(diag.messages.empty()) << "silent refusal at iteration " << iter;
            (r.error() == Errno::ENOMEM ? nomem : inval)++;
        }
    }
    EXPECT_GT(ok, 500);
    EXPECT_GT(nomem, 100);
    EXPECT_GT(inval, 0);
}

}  // namespace
}  // namespace xenolith::test
