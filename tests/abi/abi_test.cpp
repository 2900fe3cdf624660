// Host tests of guest-abi: each header on its own, and the spec's sizes, offsets and numbers
// checked again at run time from compile-time tables (pv-abi-core.md §1-§9, devices §0-§5).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

// Every header first on its own line, so a header that is not self-contained fails here.
#include "xen/arch_x86_64.hpp"
#include "xen/callback.hpp"
#include "xen/console.hpp"
#include "xen/elfnote.hpp"
#include "xen/errno.hpp"
#include "xen/event_channel.hpp"
#include "xen/features.hpp"
#include "xen/grant_table.hpp"
#include "xen/hypercall.hpp"
#include "xen/memory.hpp"
#include "xen/mm.hpp"
#include "xen/nmi.hpp"
#include "xen/physdev.hpp"
#include "xen/sched.hpp"
#include "xen/shared_info.hpp"
#include "xen/start_info.hpp"
#include "xen/trap.hpp"
#include "xen/types.hpp"
#include "xen/vcpu.hpp"
#include "xen/version.hpp"
#include "xen/xen.hpp"
#include "xen/xenstore.hpp"

namespace {

struct Layout {
    std::string_view what;
    std::size_t actual;
    std::size_t expected;
};

#define XL_SIZE(T, n) Layout{#T, sizeof(xen::T), (n)}
#define XL_OFF(T, f, n) Layout{#T "." #f, offsetof(xen::T, f), (n)}

// The spec tables, one row each (sizes and the offsets guests depend on).
constexpr Layout kLayouts[] = {
    XL_SIZE(start_info, 1168),
    XL_OFF(start_info, nr_pages, 32),
    XL_OFF(start_info, shared_info, 40),
    XL_OFF(start_info, flags, 48),
    XL_OFF(start_info, store_mfn, 56),
    XL_OFF(start_info, store_evtchn, 64),
    XL_OFF(start_info, console.domU.mfn, 72),
    XL_OFF(start_info, console.domU.evtchn, 80),
    XL_OFF(start_info, console.dom0.info_size, 76),
    XL_OFF(start_info, pt_base, 88),
    XL_OFF(start_info, nr_pt_frames, 96),
    XL_OFF(start_info, mfn_list, 104),
    XL_OFF(start_info, mod_start, 112),
    XL_OFF(start_info, mod_len, 120),
    XL_OFF(start_info, cmd_line, 128),
    XL_OFF(start_info, first_p2m_pfn, 1152),
    XL_OFF(start_info, nr_p2m_frames, 1160),
    XL_SIZE(vcpu_time_info, 32),
    XL_OFF(vcpu_time_info, tsc_timestamp, 8),
    XL_OFF(vcpu_time_info, system_time, 16),
    XL_OFF(vcpu_time_info, tsc_to_system_mul, 24),
    XL_OFF(vcpu_time_info, tsc_shift, 28),
    XL_OFF(vcpu_time_info, flags, 29),
    XL_SIZE(arch_vcpu_info, 16),
    XL_SIZE(vcpu_info, 64),
    XL_OFF(vcpu_info, evtchn_upcall_mask, 1),
    XL_OFF(vcpu_info, evtchn_pending_sel, 8),
    XL_OFF(vcpu_info, arch.cr2, 16),
    XL_OFF(vcpu_info, time, 32),
    XL_SIZE(arch_shared_info, 48),
    XL_SIZE(shared_info, 3136),
    XL_OFF(shared_info, evtchn_pending, 2048),
    XL_OFF(shared_info, evtchn_mask, 2560),
    XL_OFF(shared_info, wc_version, 3072),
    XL_OFF(shared_info, wc_sec, 3076),
    XL_OFF(shared_info, wc_nsec, 3080),
    XL_OFF(shared_info, wc_sec_hi, 3084),
    XL_OFF(shared_info, arch.max_pfn, 3088),
    XL_OFF(shared_info, arch.p2m_generation, 3128),
    XL_SIZE(vcpu_runstate_info, 48),
    XL_OFF(vcpu_runstate_info, state_entry_time, 8),
    XL_OFF(vcpu_runstate_info, time, 16),
    XL_SIZE(vcpu_guest_context, 5168),
    XL_OFF(vcpu_guest_context, flags, 512),
    XL_OFF(vcpu_guest_context, user_regs, 520),
    XL_OFF(vcpu_guest_context, user_regs.rip, 648),
    XL_OFF(vcpu_guest_context, trap_ctxt, 720),
    XL_OFF(vcpu_guest_context, ldt_base, 4816),
    XL_OFF(vcpu_guest_context, gdt_frames, 4832),
    XL_OFF(vcpu_guest_context, gdt_ents, 4960),
    XL_OFF(vcpu_guest_context, kernel_ss, 4968),
    XL_OFF(vcpu_guest_context, kernel_sp, 4976),
    XL_OFF(vcpu_guest_context, ctrlreg, 4984),
    XL_OFF(vcpu_guest_context, debugreg, 5048),
    XL_OFF(vcpu_guest_context, event_callback_eip, 5112),
    XL_OFF(vcpu_guest_context, vm_assist, 5136),
    XL_OFF(vcpu_guest_context, gs_base_user, 5160),
    XL_SIZE(cpu_user_regs, 200),
    XL_OFF(cpu_user_regs, rax, 80),
    XL_OFF(cpu_user_regs, error_code, 120),
    XL_OFF(cpu_user_regs, cs, 136),
    XL_OFF(cpu_user_regs, saved_upcall_mask, 140),
    XL_OFF(cpu_user_regs, gs, 192),
    XL_SIZE(trap_info, 16),
    XL_OFF(trap_info, address, 8),
    XL_SIZE(iret_context, 72),
    XL_OFF(iret_context, flags, 24),
    XL_OFF(iret_context, ss, 64),
    XL_SIZE(callback_register, 16),
    XL_OFF(callback_register, address, 8),
    XL_SIZE(callback_unregister, 4),
    XL_SIZE(failsafe_frame, 88),
    XL_SIZE(multicall_entry, 64),
    XL_OFF(multicall_entry, args, 16),
    XL_SIZE(mmu_update, 16),
    XL_SIZE(mmuext_op, 24),
    XL_OFF(mmuext_op, arg2.vcpumask, 16),
    XL_SIZE(evtchn_alloc_unbound, 8),
    XL_SIZE(evtchn_bind_interdomain, 12),
    XL_OFF(evtchn_bind_interdomain, local_port, 8),
    XL_SIZE(evtchn_bind_virq, 12),
    XL_SIZE(evtchn_bind_ipi, 8),
    XL_SIZE(evtchn_close, 4),
    XL_SIZE(evtchn_send, 4),
    XL_SIZE(evtchn_status, 24),
    XL_OFF(evtchn_status, u.interdomain.port, 20),
    XL_SIZE(evtchn_bind_vcpu, 8),
    XL_SIZE(evtchn_unmask, 4),
    XL_SIZE(evtchn_reset, 2),
    XL_SIZE(evtchn_init_control, 24),
    XL_SIZE(sched_shutdown, 4),
    XL_SIZE(sched_poll, 24),
    XL_OFF(sched_poll, timeout, 16),
    XL_SIZE(sched_remote_shutdown, 8),
    XL_SIZE(vcpu_register_vcpu_info, 16),
    XL_SIZE(vcpu_register_runstate_memory_area, 8),
    XL_SIZE(vcpu_set_singleshot_timer, 16),
    XL_SIZE(vcpu_set_periodic_timer, 8),
    XL_SIZE(xen_memory_reservation, 32),
    XL_OFF(xen_memory_reservation, domid, 24),
    XL_SIZE(xen_machphys_mapping, 24),
    XL_SIZE(xen_memory_map, 16),
    XL_SIZE(e820_entry, 20),
    XL_SIZE(xen_add_to_physmap, 24),
    XL_SIZE(xen_memory_exchange, 72),
    XL_SIZE(xen_feature_info, 8),
    XL_SIZE(xen_compile_info, 144),
    XL_SIZE(xencons_interface, 3092),
    XL_OFF(xencons_interface, out, 1024),
    XL_OFF(xencons_interface, out_prod, 3084),
    XL_OFF(xencons_interface, connection, 3088),
    XL_SIZE(xenstore_domain_interface, 2080),
    XL_OFF(xenstore_domain_interface, rsp_prod, 2060),
    XL_OFF(xenstore_domain_interface, evtchn_port, 2076),
    XL_SIZE(xennmi_callback, 16),
    XL_SIZE(physdev_set_iopl, 4),
    XL_SIZE(physdev_set_iobitmap, 16),
};

TEST(Layout, EveryRowMatchesTheSpec) {
    for (const Layout& row : kLayouts) {
        EXPECT_EQ(row.actual, row.expected) << row.what;
    }
}

TEST(Layout, ShareInfoFitsInOnePage) {
    EXPECT_LE(sizeof(xen::shared_info), xen::XEN_PAGE_SIZE);
    EXPECT_LE(sizeof(xen::xencons_interface), xen::XEN_PAGE_SIZE);
    EXPECT_LE(sizeof(xen::xenstore_domain_interface), xen::XEN_PAGE_SIZE);
}

TEST(Layout, StandardLayoutEverywhere) {
    EXPECT_TRUE(std::is_standard_layout_v<xen::vcpu_guest_context>);
    EXPECT_TRUE(std::is_trivially_copyable_v<xen::vcpu_guest_context>);
    EXPECT_TRUE(std::is_standard_layout_v<xen::shared_info>);
    EXPECT_TRUE(std::is_standard_layout_v<xen::start_info>);
    EXPECT_TRUE(std::is_standard_layout_v<xen::mmuext_op>);
    EXPECT_TRUE(std::is_standard_layout_v<xen::evtchn_status>);
}

TEST(Numbers, Hypercalls) {  // §5.1
    EXPECT_EQ(xen::HYPERVISOR_set_trap_table, 0u);
    EXPECT_EQ(xen::HYPERVISOR_memory_op, 12u);
    EXPECT_EQ(xen::HYPERVISOR_multicall, 13u);
    EXPECT_EQ(xen::HYPERVISOR_xen_version, 17u);
    EXPECT_EQ(xen::HYPERVISOR_console_io, 18u);
    EXPECT_EQ(xen::HYPERVISOR_iret, 23u);
    EXPECT_EQ(xen::HYPERVISOR_vcpu_op, 24u);
    EXPECT_EQ(xen::HYPERVISOR_sched_op, 29u);
    EXPECT_EQ(xen::HYPERVISOR_callback_op, 30u);
    EXPECT_EQ(xen::HYPERVISOR_event_channel_op, 32u);
    EXPECT_EQ(xen::HYPERVISOR_xenpmu_op, 40u);
    EXPECT_EQ(xen::HYPERVISOR_mca, 48u);
    // §4.1: the iret stub of a hypercall page lies at 23 * 32.
    EXPECT_EQ(xen::HYPERVISOR_iret * xen::HYPERCALL_STUB_SIZE, 736u);
}

TEST(Numbers, SubOps) {
    EXPECT_EQ(xen::SCHEDOP_shutdown, 2u);
    EXPECT_EQ(xen::SHUTDOWN_crash, 3u);
    EXPECT_EQ(xen::VCPUOP_register_vcpu_info, 10u);
    EXPECT_EQ(xen::EVTCHNOP_alloc_unbound, 6u);
    EXPECT_EQ(xen::EVTCHNOP_init_control, 11u);
    EXPECT_EQ(xen::XENMEM_machphys_mapping, 12u);
    EXPECT_EQ(xen::MMUEXT_NEW_USER_BASEPTR, 15u);
    EXPECT_EQ(xen::XENVER_get_features, 6u);
    EXPECT_EQ(xen::CALLBACKTYPE_syscall32, 7u);
    EXPECT_EQ(xen::VMASST_TYPE_m2p_strict, 32u);
    EXPECT_EQ(xen::PHYSDEVOP_set_iopl, 6u);
    EXPECT_EQ(xen::GNTTABOP_query_size, 6u);
    EXPECT_EQ(xen::XEN_ELFNOTE_INIT_P2M, 15u);
    EXPECT_EQ(xen::XEN_ELFNOTE_SUPPORTED_FEATURES, 17u);
}

TEST(Numbers, AddressSpaceAndSelectors) {  // §2.5, §2.6
    EXPECT_EQ(xen::HYPERVISOR_VIRT_START, 0xFFFF800000000000ull);
    EXPECT_EQ(xen::HYPERVISOR_VIRT_END, 0xFFFF880000000000ull);
    EXPECT_EQ(xen::HYPERVISOR_VIRT_START >> 39 & 511, xen::HYPERVISOR_L4_SLOT_FIRST);
    EXPECT_EQ((xen::HYPERVISOR_VIRT_END - 1) >> 39 & 511, xen::HYPERVISOR_L4_SLOT_LAST);
    EXPECT_EQ(xen::FLAT_KERNEL_CS, 0xE033);
    EXPECT_EQ(xen::FLAT_KERNEL_SS, 0xE02B);
    EXPECT_EQ(xen::FLAT_KERNEL_DS, 0);
    EXPECT_EQ(xen::FLAT_USER_CS32, 0xE023);
}

TEST(Numbers, FeaturesForAPvDomU) {  // §5.13
    EXPECT_EQ(xen::XENFEAT_PV64_DOMU_SUBMAP0, 0x000220E0u);
    EXPECT_NE(xen::XENFEAT_PV64_DOMU_SUBMAP0 & xen::xenfeat_bit(xen::XENFEAT_mmu_pt_update_preserve_ad), 0u);
    EXPECT_EQ(xen::XENFEAT_PV64_DOMU_SUBMAP0 & xen::xenfeat_bit(xen::XENFEAT_writable_page_tables), 0u);
    EXPECT_EQ(xen::XENFEAT_PV64_DOMU_SUBMAP0 & xen::xenfeat_bit(xen::XENFEAT_auto_translated_physmap), 0u);
}

TEST(Numbers, ErrorCodeVectors) {  // §6.6
    for (unsigned v = 0; v < 32; ++v) {
        const bool expected = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
        EXPECT_EQ(xen::trap_has_error_code(v), expected) << "vector " << v;
    }
    EXPECT_FALSE(xen::trap_has_error_code(0x80));
    EXPECT_EQ(xen::int_n_gp_error_code(0x81), (0x81u << 3) | 2u);
}

TEST(Helpers, VersionAndRings) {
    EXPECT_EQ(xen::xen_version_major(xen::XEN_VERSION_4_17), 4u);
    EXPECT_EQ(xen::xen_version_minor(xen::XEN_VERSION_4_17), 17u);
    EXPECT_EQ(xen::xencons_mask_out(2048 + 5), 5u);
    EXPECT_EQ(xen::xencons_mask_in(1024 + 7), 7u);
    EXPECT_EQ(xen::xenstore_mask(0xFFFFFFFFu), 1023u);
    EXPECT_EQ(xen::XENMEMF_get_node(xen::XENMEMF_node(3)), 3u);
    EXPECT_EQ(xen::mmu_foreigndom(xen::DOMID_SELF), 0x7FF0u);
    EXPECT_EQ(std::strcmp(xen::START_INFO_MAGIC_X86_64, "xen-3.0-x86_64"), 0);
}

TEST(Helpers, SharedInfoFieldsAreWhereTheGuestLooks) {
    // Write through the struct, read the raw bytes at the spec offsets.
    alignas(8) static unsigned char page[4096];
    std::memset(page, 0, sizeof page);
    auto* si = reinterpret_cast<xen::shared_info*>(page);
    si->vcpu_info[1].evtchn_upcall_mask = 1;
    si->vcpu_info[1].arch.cr2 = 0x1234;
    si->evtchn_pending[1] = 1;  // port 64
    si->wc_sec = 77;
    EXPECT_EQ(page[64 + 1], 1);
    std::uint64_t cr2 = 0;
    std::memcpy(&cr2, page + 64 + 16, 8);
    EXPECT_EQ(cr2, 0x1234u);
    EXPECT_EQ(page[2048 + 8], 1);
    EXPECT_EQ(page[3076], 77);
}

TEST(Errno, NegatedValues) {  // §4.4
    EXPECT_EQ(xen::negated(xen::Errno::ENOSYS), -38);
    EXPECT_EQ(xen::negated(xen::Errno::EPERM), -1);
}

}  // namespace
