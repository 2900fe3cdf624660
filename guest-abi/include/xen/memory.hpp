// memory_op: sub-ops, reservation flags, map spaces, argument structs and E820 entries.
// Source: pv-abi-core.md §5.12 (and §4.5 for the cmd encoding); pv-abi-devices.md §0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/types.hpp"

namespace xen {

// §5.12: memory_op sub-ops (cmd & 63; cmd >> 6 is the continuation extent, see hypercall.hpp).
inline constexpr std::uint32_t XENMEM_increase_reservation = 0;
inline constexpr std::uint32_t XENMEM_decrease_reservation = 1;
inline constexpr std::uint32_t XENMEM_maximum_ram_page = 2;
inline constexpr std::uint32_t XENMEM_current_reservation = 3;
inline constexpr std::uint32_t XENMEM_maximum_reservation = 4;
inline constexpr std::uint32_t XENMEM_machphys_mfn_list = 5;
inline constexpr std::uint32_t XENMEM_populate_physmap = 6;
inline constexpr std::uint32_t XENMEM_add_to_physmap = 7;
// 8 was translate_gpfn_list (removed).
inline constexpr std::uint32_t XENMEM_memory_map = 9;
inline constexpr std::uint32_t XENMEM_machine_memory_map = 10;
inline constexpr std::uint32_t XENMEM_exchange = 11;
inline constexpr std::uint32_t XENMEM_machphys_mapping = 12;
inline constexpr std::uint32_t XENMEM_set_memory_map = 13;
inline constexpr std::uint32_t XENMEM_maximum_gpfn = 14;
inline constexpr std::uint32_t XENMEM_remove_from_physmap = 15;
inline constexpr std::uint32_t XENMEM_set_pod_target = 16;
inline constexpr std::uint32_t XENMEM_get_pod_target = 17;
inline constexpr std::uint32_t XENMEM_get_sharing_freed_pages = 18;
inline constexpr std::uint32_t XENMEM_get_sharing_shared_pages = 19;
inline constexpr std::uint32_t XENMEM_paging_op = 20;
inline constexpr std::uint32_t XENMEM_access_op = 21;
inline constexpr std::uint32_t XENMEM_sharing_op = 22;
inline constexpr std::uint32_t XENMEM_add_to_physmap_batch = 23;
inline constexpr std::uint32_t XENMEM_claim_pages = 24;
inline constexpr std::uint32_t XENMEM_machphys_compat_mfn_list = 25;
inline constexpr std::uint32_t XENMEM_get_vnumainfo = 26;
inline constexpr std::uint32_t XENMEM_reserved_device_memory_map = 27;
inline constexpr std::uint32_t XENMEM_acquire_resource = 28;

// §5.12.1: xen_memory_reservation.mem_flags.
constexpr std::uint32_t XENMEMF_address_bits(std::uint32_t bits) { return bits & 0xFFu; }
constexpr std::uint32_t XENMEMF_get_address_bits(std::uint32_t flags) { return flags & 0xFFu; }
constexpr std::uint32_t XENMEMF_node(std::uint32_t node) { return ((node + 1u) & 0xFFu) << 8; }
constexpr std::uint32_t XENMEMF_get_node(std::uint32_t flags) { return ((flags >> 8) & 0xFFu) - 1u; }
inline constexpr std::uint32_t XENMEMF_populate_on_demand = 1u << 16;
inline constexpr std::uint32_t XENMEMF_exact_node_request = 1u << 17;
inline constexpr std::uint32_t XENMEMF_vnode = 1u << 18;

// §5.12.1: increase/decrease_reservation, populate_physmap (32 bytes).
struct xen_memory_reservation {
    guest_handle_t extent_start;  // xen_pfn_t[]
    std::uint64_t nr_extents;
    std::uint32_t extent_order;
    std::uint32_t mem_flags;
    domid_t domid;
    std::uint8_t pad[6];
};
static_assert(sizeof(xen_memory_reservation) == 32);
static_assert(offsetof(xen_memory_reservation, extent_start) == 0);
static_assert(offsetof(xen_memory_reservation, nr_extents) == 8);
static_assert(offsetof(xen_memory_reservation, extent_order) == 16);
static_assert(offsetof(xen_memory_reservation, mem_flags) == 20);
static_assert(offsetof(xen_memory_reservation, domid) == 24);

// §5.12.3: current/maximum_reservation, maximum_gpfn.
struct xen_memory_domain {
    domid_t domid;
};
static_assert(sizeof(xen_memory_domain) == 2);

// §5.12.4: machphys_mfn_list (24 bytes).
struct xen_machphys_mfn_list {
    std::uint32_t max_extents;
    std::uint32_t pad0;
    guest_handle_t extent_start;  // xen_pfn_t[]
    std::uint32_t nr_extents;     // OUT
    std::uint32_t pad1;
};
static_assert(sizeof(xen_machphys_mfn_list) == 24);
static_assert(offsetof(xen_machphys_mfn_list, extent_start) == 8);
static_assert(offsetof(xen_machphys_mfn_list, nr_extents) == 16);

// §5.12.5: add_to_physmap (24 bytes; PV domains get -EACCES).
inline constexpr std::uint32_t XENMAPSPACE_shared_info = 0;
inline constexpr std::uint32_t XENMAPSPACE_grant_table = 1;
inline constexpr std::uint32_t XENMAPSPACE_gmfn = 2;
inline constexpr std::uint32_t XENMAPSPACE_gmfn_range = 3;
inline constexpr std::uint32_t XENMAPSPACE_gmfn_foreign = 4;
inline constexpr std::uint32_t XENMAPSPACE_dev_mmio = 5;

struct xen_add_to_physmap {
    domid_t domid;
    std::uint16_t size;
    std::uint32_t space;  // XENMAPSPACE_*
    std::uint64_t idx;
    xen_pfn_t gpfn;
};
static_assert(sizeof(xen_add_to_physmap) == 24);
static_assert(offsetof(xen_add_to_physmap, domid) == 0);
static_assert(offsetof(xen_add_to_physmap, size) == 2);
static_assert(offsetof(xen_add_to_physmap, space) == 4);
static_assert(offsetof(xen_add_to_physmap, idx) == 8);
static_assert(offsetof(xen_add_to_physmap, gpfn) == 16);

// §5.12.6: exchange (72 bytes).
struct xen_memory_exchange {
    xen_memory_reservation in;
    xen_memory_reservation out;
    std::uint64_t nr_exchanged;  // must be 0 on entry
};
static_assert(sizeof(xen_memory_exchange) == 72);
static_assert(offsetof(xen_memory_exchange, out) == 32);
static_assert(offsetof(xen_memory_exchange, nr_exchanged) == 64);

// §5.12.7: machphys_mapping (24 bytes).
struct xen_machphys_mapping {
    std::uint64_t v_start;
    std::uint64_t v_end;
    std::uint64_t max_mfn;
};
static_assert(sizeof(xen_machphys_mapping) == 24);
static_assert(offsetof(xen_machphys_mapping, v_start) == 0);
static_assert(offsetof(xen_machphys_mapping, v_end) == 8);
static_assert(offsetof(xen_machphys_mapping, max_mfn) == 16);

// §5.12.8: memory_map / machine_memory_map (16 bytes) and its packed 20-byte E820 entries.
struct xen_memory_map {
    std::uint32_t nr_entries;  // IN capacity, OUT count
    std::uint32_t pad;
    guest_handle_t buffer;  // e820_entry[]
};
static_assert(sizeof(xen_memory_map) == 16);
static_assert(offsetof(xen_memory_map, nr_entries) == 0);
static_assert(offsetof(xen_memory_map, buffer) == 8);

inline constexpr std::uint32_t E820_RAM = 1;
inline constexpr std::uint32_t E820_RESERVED = 2;
inline constexpr std::uint32_t E820_ACPI = 3;
inline constexpr std::uint32_t E820_NVS = 4;
inline constexpr std::uint32_t E820_UNUSABLE = 5;

// The ABI packs these to 20 bytes; packed is the one place a compiler attribute is needed.
struct __attribute__((packed)) e820_entry {
    std::uint64_t addr;
    std::uint64_t size;
    std::uint32_t type;  // E820_*
};
static_assert(sizeof(e820_entry) == 20);
static_assert(offsetof(e820_entry, addr) == 0);
static_assert(offsetof(e820_entry, size) == 8);
static_assert(offsetof(e820_entry, type) == 16);

// XENMEM_set_memory_map (toolstack, pv-abi-devices.md §0 / dom0-devices): {domid; xen_memory_map}.
struct xen_foreign_memory_map {
    domid_t domid;
    std::uint8_t pad[6];
    xen_memory_map map;
};
static_assert(sizeof(xen_foreign_memory_map) == 24);
static_assert(offsetof(xen_foreign_memory_map, map) == 8);

}  // namespace xen
