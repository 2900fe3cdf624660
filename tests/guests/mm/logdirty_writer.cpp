// logdirty-writer: the domU whose writes the log-dirty controller (domain 0) must see. After the
// controller has enabled tracking it writes pages every way it can — through an old writable
// mapping, through new ones (kept or dropped again), by having the hypervisor copy out into a
// page and by mmu_update into an untyped frame — and reports their PFNs (logdirty_protocol.hpp).
// It also checks that an unprivileged caller gets -EPERM (dom0-devices.md §5.1).
#include "logdirty_protocol.hpp"
#include "mm_util.hpp"
#include "xen/version.hpp"

namespace {

using namespace mmt;

alignas(4096) volatile std::uint64_t g_preexisting[512];  // mapped writable by the builder

void report(ldt::Role role, std::uint64_t pfn, unsigned slot) {
    const std::uint64_t carrier = spare_mfn(5 + slot);  // spares 5.. carry the reports
    CHECK_EQ(mmu_one((carrier << 12) | xen::MMU_MACHPHYS_UPDATE, ldt::REPORT | std::uint64_t{role} << 32 | pfn), 0);
}

void unmap_window(unsigned k) { CHECK_EQ(xt::update_va_mapping(window(k), 0, xen::UVMF_INVLPG), 0); }

}  // namespace

void guest_main(const xen::start_info*) {
    init();
    now_ns();  // maps shared_info before anything is measured
    const std::uint64_t timeout_ns = cmdline_number("timeout", 60) * 1'000'000'000ull;
    CHECK(spare_count() > 12);

    // §5.1: shadow_op is for the control domain only.
    xen::xen_domctl op = ldt::shadow_op(0, xen::XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::EPERM);
    op = ldt::shadow_op(0, xen::XEN_DOMCTL_SHADOW_OP_CLEAN);
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::EPERM);

    set_marker(ldt::WRITER_READY);
    CHECK(wait_for_marker(ldt::CONTROLLER_ENABLED, timeout_ns));

    // Through the builder's writable mapping of our image.
    for (unsigned i = 0; i < 512; i += 8)
        g_preexisting[i] = 0x1d00'0000ull + i;
    report(ldt::PREEXISTING, xt::va_to_pfn(reinterpret_cast<std::uint64_t>(g_preexisting)), 0);

    // New writable mappings: one dropped again before the controller looks, one kept.
    CHECK_EQ(map_window(0, spare_mfn(0), true), 0);
    window_ptr(0)[3] = 0x1d00'0002ull;
    unmap_window(0);
    report(ldt::MAPPED_THEN_UNMAPPED, spare_pfn(0), 1);
    CHECK_EQ(map_window(1, spare_mfn(1), true), 0);
    window_ptr(1)[4] = 0x1d00'0003ull;
    report(ldt::STILL_MAPPED, spare_pfn(1), 2);

    // The hypervisor writes for us: xen_version copies the extra-version string out.
    CHECK_EQ(map_window(2, spare_mfn(2), true), 0);
    CHECK(xt::xen_version(xen::XENVER_extraversion, reinterpret_cast<void*>(window(2))) >= 0);
    unmap_window(2);
    report(ldt::HYPERVISOR_COPY, spare_pfn(2), 3);

    // mmu_update into a frame that is no page table: written through the direct map.
    CHECK_EQ(mmu_one(spare_mfn(3) << 12 | 5 * 8, 0x1d00'0005ull), 0);
    report(ldt::HYPERVISOR_PT_WRITE, spare_pfn(3), 4);

    report(ldt::UNTOUCHED, spare_pfn(4), 5);
    set_marker(ldt::WRITER_WROTE);
    CHECK(wait_for_marker(ldt::CONTROLLER_CHECKED, timeout_ns));
    set_marker(ldt::WRITER_DONE);
    // Stay until the controller has seen DONE and gone (its marker goes with its memory).
    const std::uint64_t start = now_ns();
    while (marker_present(ldt::CONTROLLER_CHECKED) && now_ns() - start < timeout_ns)
        xt::sched_yield();
    CHECK(!marker_present(ldt::CONTROLLER_CHECKED));
    CHECK_EQ(g_preexisting[8], 0x1d00'0008ull);
}
