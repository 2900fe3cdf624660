// physdev_op: sub-op numbers and the structs a domU uses.
// Source: pv-abi-core.md §5.17.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/types.hpp"

namespace xen {

inline constexpr std::uint32_t PHYSDEVOP_irq_status_query = 5;
inline constexpr std::uint32_t PHYSDEVOP_set_iopl = 6;
inline constexpr std::uint32_t PHYSDEVOP_set_iobitmap = 7;
inline constexpr std::uint32_t PHYSDEVOP_apic_read = 8;
inline constexpr std::uint32_t PHYSDEVOP_apic_write = 9;
inline constexpr std::uint32_t PHYSDEVOP_alloc_irq_vector = 10;
inline constexpr std::uint32_t PHYSDEVOP_free_irq_vector = 11;
inline constexpr std::uint32_t PHYSDEVOP_eoi = 12;
inline constexpr std::uint32_t PHYSDEVOP_map_pirq = 13;
inline constexpr std::uint32_t PHYSDEVOP_unmap_pirq = 14;
inline constexpr std::uint32_t PHYSDEVOP_manage_pci_add = 15;
inline constexpr std::uint32_t PHYSDEVOP_manage_pci_remove = 16;
inline constexpr std::uint32_t PHYSDEVOP_pirq_eoi_gmfn_v1 = 17;
inline constexpr std::uint32_t PHYSDEVOP_restore_msi = 19;
inline constexpr std::uint32_t PHYSDEVOP_manage_pci_add_ext = 20;
inline constexpr std::uint32_t PHYSDEVOP_setup_gsi = 21;
inline constexpr std::uint32_t PHYSDEVOP_get_free_pirq = 23;
inline constexpr std::uint32_t PHYSDEVOP_pci_mmcfg_reserved = 24;
inline constexpr std::uint32_t PHYSDEVOP_pci_device_add = 25;
inline constexpr std::uint32_t PHYSDEVOP_pci_device_remove = 26;
inline constexpr std::uint32_t PHYSDEVOP_restore_msi_ext = 27;
inline constexpr std::uint32_t PHYSDEVOP_pirq_eoi_gmfn_v2 = 28;
inline constexpr std::uint32_t PHYSDEVOP_dbgp_op = 29;
inline constexpr std::uint32_t PHYSDEVOP_prepare_msix = 30;
inline constexpr std::uint32_t PHYSDEVOP_release_msix = 31;
inline constexpr std::uint32_t PHYSDEVOP_pci_device_reset = 32;

// §5.17: PHYSDEVOP_set_iopl (iopl 0-3, else -EINVAL).
struct physdev_set_iopl {
    std::uint32_t iopl;
};
static_assert(sizeof(physdev_set_iopl) == 4);

// §5.17: PHYSDEVOP_set_iobitmap (nr_ports <= 65536).
struct physdev_set_iobitmap {
    guest_handle_t bitmap;
    std::uint32_t nr_ports;
    std::uint32_t pad;
};
static_assert(sizeof(physdev_set_iobitmap) == 16);
static_assert(offsetof(physdev_set_iobitmap, nr_ports) == 8);

// §5.17: PHYSDEVOP_pirq_eoi_gmfn_v1/v2.
struct physdev_pirq_eoi_gmfn {
    xen_pfn_t gmfn;
};
static_assert(sizeof(physdev_pirq_eoi_gmfn) == 8);

// §5.17: PHYSDEVOP_irq_status_query.
struct physdev_irq_status_query {
    std::uint32_t irq;
    std::uint32_t flags;  // OUT
};
static_assert(sizeof(physdev_irq_status_query) == 8);
static_assert(offsetof(physdev_irq_status_query, flags) == 4);

// §5.17: PHYSDEVOP_eoi.
struct physdev_eoi {
    std::uint32_t irq;
};
static_assert(sizeof(physdev_eoi) == 4);

}  // namespace xen
