// ELF note types a Xen PV kernel image carries (owner "Xen") and the rules a builder applies.
// Source: pv-abi-core.md §1.1, §1.2.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §1.1: the note owner name, namesz 4 including the NUL.
inline constexpr char XEN_ELFNOTE_NAME[] = "Xen";
inline constexpr std::uint32_t XEN_ELFNOTE_NAMESZ = 4;
static_assert(sizeof(XEN_ELFNOTE_NAME) == XEN_ELFNOTE_NAMESZ);

// §1.2: note types.
inline constexpr std::uint32_t XEN_ELFNOTE_INFO = 0;
inline constexpr std::uint32_t XEN_ELFNOTE_ENTRY = 1;
inline constexpr std::uint32_t XEN_ELFNOTE_HYPERCALL_PAGE = 2;
inline constexpr std::uint32_t XEN_ELFNOTE_VIRT_BASE = 3;
inline constexpr std::uint32_t XEN_ELFNOTE_PADDR_OFFSET = 4;
inline constexpr std::uint32_t XEN_ELFNOTE_XEN_VERSION = 5;
inline constexpr std::uint32_t XEN_ELFNOTE_GUEST_OS = 6;
inline constexpr std::uint32_t XEN_ELFNOTE_GUEST_VERSION = 7;
inline constexpr std::uint32_t XEN_ELFNOTE_LOADER = 8;
inline constexpr std::uint32_t XEN_ELFNOTE_PAE_MODE = 9;
inline constexpr std::uint32_t XEN_ELFNOTE_FEATURES = 10;
inline constexpr std::uint32_t XEN_ELFNOTE_BSD_SYMTAB = 11;
inline constexpr std::uint32_t XEN_ELFNOTE_HV_START_LOW = 12;
inline constexpr std::uint32_t XEN_ELFNOTE_L1_MFN_VALID = 13;
inline constexpr std::uint32_t XEN_ELFNOTE_SUSPEND_CANCEL = 14;
inline constexpr std::uint32_t XEN_ELFNOTE_INIT_P2M = 15;
inline constexpr std::uint32_t XEN_ELFNOTE_MOD_START_PFN = 16;
inline constexpr std::uint32_t XEN_ELFNOTE_SUPPORTED_FEATURES = 17;
inline constexpr std::uint32_t XEN_ELFNOTE_PHYS32_ENTRY = 18;
inline constexpr std::uint32_t XEN_ELFNOTE_PHYS32_RELOC = 19;
inline constexpr std::uint32_t XEN_ELFNOTE_MAX = XEN_ELFNOTE_PHYS32_RELOC;
inline constexpr std::uint32_t XEN_ELFNOTE_CRASH_INFO = 0x1000001;
inline constexpr std::uint32_t XEN_ELFNOTE_CRASH_REGS = 0x1000002;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_NONE = 0x2000000;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_HEADER = 0x2000001;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_XEN_VERSION = 0x2000002;
inline constexpr std::uint32_t XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION = 0x2000003;

// §1.2: XEN_VERSION must start with this, else the image is rejected.
inline constexpr char XEN_ELFNOTE_XEN_VERSION_PREFIX[] = "xen-3.0";
// §1.2: LOADER must start with "generic" unless GUEST_OS starts with "linux".
inline constexpr char XEN_ELFNOTE_LOADER_GENERIC[] = "generic";
// §1.2: FEATURES entries are '|'-separated; a leading '!' marks a required feature.
inline constexpr char XEN_ELFNOTE_FEATURES_SEPARATOR = '|';
inline constexpr char XEN_ELFNOTE_FEATURES_REQUIRED = '!';

// §1.1: numeric notes are little-endian of descsz 1, 2, 4 or 8; any other size reads as 0.
constexpr bool elfnote_numeric_size_valid(std::uint32_t descsz) {
    return descsz == 1 || descsz == 2 || descsz == 4 || descsz == 8;
}

// §1.6: the legacy section consulted only when no Xen note exists.
inline constexpr char XEN_LEGACY_GUEST_SECTION[] = "__xen_guest";

}  // namespace xen
