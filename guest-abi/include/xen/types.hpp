// Scalar types shared by every part of the Xen x86-64 PV ABI: domain ids, ports, handles, frames.
// Source: pv-abi-core.md §0 (LP64 layouts), pv-abi-devices.md §0 (domid constants).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §0: domid_t is u16, evtchn_port_t and grant_ref_t are u32, xen_pfn_t/xen_ulong_t are 8 bytes.
using domid_t = std::uint16_t;
using evtchn_port_t = std::uint32_t;
using grant_ref_t = std::uint32_t;
using xen_pfn_t = std::uint64_t;
using xen_ulong_t = std::uint64_t;

// §0: a guest handle (XEN_GUEST_HANDLE) is one 8-byte guest-virtual address, valid in the guest
// kernel page tables current at the time of the hypercall. Kept as a plain integer so that no
// code can dereference it by accident.
using guest_handle_t = std::uint64_t;

// Reserved domain ids (pv-abi-devices.md §0; pv-abi-core.md §5.3).
inline constexpr domid_t DOMID_FIRST_RESERVED = 0x7FF0;
inline constexpr domid_t DOMID_SELF = 0x7FF0;
inline constexpr domid_t DOMID_IO = 0x7FF1;
inline constexpr domid_t DOMID_XEN = 0x7FF2;
inline constexpr domid_t DOMID_COW = 0x7FF3;
inline constexpr domid_t DOMID_INVALID = 0x7FF4;
inline constexpr domid_t DOMID_ANY = 0x7FF5;
inline constexpr domid_t DOMID_IDLE = 0x7FFF;

// The page size of the PV ABI (x86-64, 4 KiB); named XEN_ to stay clear of host PAGE_SIZE macros.
inline constexpr std::uint64_t XEN_PAGE_SHIFT = 12;
inline constexpr std::uint64_t XEN_PAGE_SIZE = std::uint64_t{1} << XEN_PAGE_SHIFT;

static_assert(sizeof(domid_t) == 2 && sizeof(evtchn_port_t) == 4 && sizeof(grant_ref_t) == 4);
static_assert(sizeof(xen_pfn_t) == 8 && sizeof(guest_handle_t) == 8);

}  // namespace xen
