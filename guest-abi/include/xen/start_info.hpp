// The start_info page handed to a PV guest in rsi, its SIF flags and the multiboot module list.
// Source: pv-abi-core.md §2.8, §3.1; pv-abi-devices.md §0.3.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/types.hpp"

namespace xen {

inline constexpr std::size_t MAX_GUEST_CMDLINE = 1024;

// §2.8: the magic string the builder writes.
inline constexpr char START_INFO_MAGIC_X86_64[] = "xen-3.0-x86_64";

// §3.1: SIF flags.
inline constexpr std::uint32_t SIF_PRIVILEGED = 1u << 0;
inline constexpr std::uint32_t SIF_INITDOMAIN = 1u << 1;
inline constexpr std::uint32_t SIF_MULTIBOOT_MOD = 1u << 2;
inline constexpr std::uint32_t SIF_MOD_START_PFN = 1u << 3;
inline constexpr std::uint32_t SIF_VIRT_P2M_4TOOLS = 1u << 4;
inline constexpr std::uint32_t SIF_PM_MASK = 0xFFu << 8;

// §3.1: the console union of start_info (16 bytes): a domU ring, or dom0's VGA info location.
struct start_info_console_domU {
    xen_pfn_t mfn;
    evtchn_port_t evtchn;
    std::uint32_t pad;
};
struct start_info_console_dom0 {
    std::uint32_t info_off;
    std::uint32_t info_size;
};
union start_info_console {
    start_info_console_domU domU;
    start_info_console_dom0 dom0;
};
static_assert(sizeof(start_info_console) == 16);

// §3.1: struct start_info, 1168 bytes.
struct start_info {
    char magic[32];
    std::uint64_t nr_pages;
    std::uint64_t shared_info;  // machine address, not an MFN
    std::uint32_t flags;        // SIF_*
    std::uint32_t pad0;
    xen_pfn_t store_mfn;
    evtchn_port_t store_evtchn;
    std::uint32_t pad1;
    start_info_console console;
    // Only valid on initial boot:
    std::uint64_t pt_base;  // virtual address of the bootstrap L4
    std::uint64_t nr_pt_frames;
    std::uint64_t mfn_list;  // virtual address of the P2M array
    std::uint64_t mod_start;  // VA of the initrd, or its first PFN with SIF_MOD_START_PFN
    std::uint64_t mod_len;
    char cmd_line[MAX_GUEST_CMDLINE];
    std::uint64_t first_p2m_pfn;
    std::uint64_t nr_p2m_frames;
};
static_assert(sizeof(start_info) == 1168);
static_assert(offsetof(start_info, magic) == 0);
static_assert(offsetof(start_info, nr_pages) == 32);
static_assert(offsetof(start_info, shared_info) == 40);
static_assert(offsetof(start_info, flags) == 48);
static_assert(offsetof(start_info, store_mfn) == 56);
static_assert(offsetof(start_info, store_evtchn) == 64);
static_assert(offsetof(start_info, console) == 72);
static_assert(offsetof(start_info, console.domU.mfn) == 72);
static_assert(offsetof(start_info, console.domU.evtchn) == 80);
static_assert(offsetof(start_info, console.dom0.info_off) == 72);
static_assert(offsetof(start_info, console.dom0.info_size) == 76);
static_assert(offsetof(start_info, pt_base) == 88);
static_assert(offsetof(start_info, nr_pt_frames) == 96);
static_assert(offsetof(start_info, mfn_list) == 104);
static_assert(offsetof(start_info, mod_start) == 112);
static_assert(offsetof(start_info, mod_len) == 120);
static_assert(offsetof(start_info, cmd_line) == 128);
static_assert(offsetof(start_info, first_p2m_pfn) == 1152);
static_assert(offsetof(start_info, nr_p2m_frames) == 1160);

// §3.1 (SIF_MULTIBOOT_MOD): one entry of the module package; addresses relative to the package
// start, mod_end inclusive, list terminated by mod_start == 0.
struct xen_multiboot_mod_list {
    std::uint32_t mod_start;
    std::uint32_t mod_end;
    std::uint32_t cmdline;
    std::uint32_t pad;
};
static_assert(sizeof(xen_multiboot_mod_list) == 16);
static_assert(offsetof(xen_multiboot_mod_list, mod_end) == 4);
static_assert(offsetof(xen_multiboot_mod_list, cmdline) == 8);

}  // namespace xen
