// XENFEAT bits reported by xen_version(XENVER_get_features) and named in the FEATURES note.
// Source: pv-abi-core.md §1.2 (FEATURES note), §5.13 (bits and what a PV domU is told).
#pragma once

#include <cstdint>

namespace xen {

inline constexpr unsigned XENFEAT_writable_page_tables = 0;
inline constexpr unsigned XENFEAT_writable_descriptor_tables = 1;
inline constexpr unsigned XENFEAT_auto_translated_physmap = 2;
inline constexpr unsigned XENFEAT_supervisor_mode_kernel = 3;
inline constexpr unsigned XENFEAT_pae_pgdir_above_4gb = 4;
inline constexpr unsigned XENFEAT_mmu_pt_update_preserve_ad = 5;
inline constexpr unsigned XENFEAT_highmem_assist = 6;
inline constexpr unsigned XENFEAT_gnttab_map_avail_bits = 7;
inline constexpr unsigned XENFEAT_hvm_callback_vector = 8;
inline constexpr unsigned XENFEAT_hvm_safe_pvclock = 9;
inline constexpr unsigned XENFEAT_hvm_pirqs = 10;
inline constexpr unsigned XENFEAT_dom0 = 11;
inline constexpr unsigned XENFEAT_grant_map_identity = 12;  // deprecated
inline constexpr unsigned XENFEAT_memory_op_vnode_supported = 13;
inline constexpr unsigned XENFEAT_ARM_SMCCC_supported = 14;
inline constexpr unsigned XENFEAT_linux_rsdp_unrestricted = 15;
inline constexpr unsigned XENFEAT_not_direct_mapped = 16;
inline constexpr unsigned XENFEAT_direct_mapped = 17;
inline constexpr unsigned XENFEAT_runstate_phys_area = 18;
inline constexpr unsigned XENFEAT_vcpu_time_phys_area = 19;
inline constexpr unsigned XENFEAT_dm_msix_all_writes = 20;

// §5.13: one 32-bit submap exists.
inline constexpr std::uint32_t XENFEAT_NR_SUBMAPS = 1;

constexpr std::uint32_t xenfeat_bit(unsigned feature) { return std::uint32_t{1} << feature; }

// §5.13: what Xen 4.17 tells a 64-bit PV domU in submap 0 (= 0x000220e0). Linux 6.1 panics
// unless bits 5 and 7 are present; writable_page_tables and auto_translated_physmap must never
// be reported to a PV guest.
inline constexpr std::uint32_t XENFEAT_PV64_DOMU_SUBMAP0 =
    xenfeat_bit(XENFEAT_memory_op_vnode_supported) | xenfeat_bit(XENFEAT_mmu_pt_update_preserve_ad) |
    xenfeat_bit(XENFEAT_highmem_assist) | xenfeat_bit(XENFEAT_gnttab_map_avail_bits) |
    xenfeat_bit(XENFEAT_direct_mapped);
static_assert(XENFEAT_PV64_DOMU_SUBMAP0 == 0x000220E0u);

}  // namespace xen
