// xen_version sub-ops and their argument layouts.
// Source: pv-abi-core.md §5.13.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

inline constexpr std::uint32_t XENVER_version = 0;
inline constexpr std::uint32_t XENVER_extraversion = 1;
inline constexpr std::uint32_t XENVER_compile_info = 2;
inline constexpr std::uint32_t XENVER_capabilities = 3;
inline constexpr std::uint32_t XENVER_changeset = 4;
inline constexpr std::uint32_t XENVER_platform_parameters = 5;
inline constexpr std::uint32_t XENVER_get_features = 6;
inline constexpr std::uint32_t XENVER_pagesize = 7;
inline constexpr std::uint32_t XENVER_guest_handle = 8;
inline constexpr std::uint32_t XENVER_commandline = 9;
inline constexpr std::uint32_t XENVER_build_id = 10;
inline constexpr std::uint32_t XENVER_extraversion2 = 11;
inline constexpr std::uint32_t XENVER_capabilities2 = 12;
inline constexpr std::uint32_t XENVER_changeset2 = 13;
inline constexpr std::uint32_t XENVER_commandline2 = 14;

// §5.13: XENVER_version returns (major << 16) | minor.
constexpr std::uint32_t xen_version_encode(std::uint32_t major, std::uint32_t minor) {
    return (major << 16) | (minor & 0xFFFFu);
}
constexpr std::uint32_t xen_version_major(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 16) & 0xFFFFu; }
constexpr std::uint32_t xen_version_minor(std::uint64_t v) { return static_cast<std::uint32_t>(v) & 0xFFFFu; }
inline constexpr std::uint32_t XEN_VERSION_4_17 = 0x00040011;
static_assert(xen_version_encode(4, 17) == XEN_VERSION_4_17);

// §5.13: fixed buffer sizes of the string sub-ops.
inline constexpr std::size_t XEN_EXTRAVERSION_LEN = 16;
inline constexpr std::size_t XEN_CAPABILITIES_INFO_LEN = 1024;
inline constexpr std::size_t XEN_CHANGESET_INFO_LEN = 64;
inline constexpr std::size_t XEN_GUEST_HANDLE_LEN = 16;
inline constexpr std::size_t XEN_COMMANDLINE_LEN = 1024;

// §5.13: XENVER_compile_info (144 bytes).
struct xen_compile_info {
    char compiler[64];
    char compile_by[16];
    char compile_domain[32];
    char compile_date[32];
};
static_assert(sizeof(xen_compile_info) == 144);
static_assert(offsetof(xen_compile_info, compile_by) == 64);
static_assert(offsetof(xen_compile_info, compile_domain) == 80);
static_assert(offsetof(xen_compile_info, compile_date) == 112);

// §5.13: XENVER_platform_parameters.
struct xen_platform_parameters {
    std::uint64_t virt_start;
};
static_assert(sizeof(xen_platform_parameters) == 8);

// §5.13: XENVER_get_features (8 bytes). submap_idx != 0 -> -EINVAL.
struct xen_feature_info {
    std::uint32_t submap_idx;  // IN
    std::uint32_t submap;      // OUT
};
static_assert(sizeof(xen_feature_info) == 8);
static_assert(offsetof(xen_feature_info, submap_idx) == 0);
static_assert(offsetof(xen_feature_info, submap) == 4);

// §5.13: header of the variable-length buffer used by build_id and the *2 sub-ops; `len`
// bytes of payload follow it directly.
struct xen_varbuf {
    std::uint32_t len;
};
static_assert(sizeof(xen_varbuf) == 4);

}  // namespace xen
