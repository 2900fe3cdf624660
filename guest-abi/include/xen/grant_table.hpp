// grant_table_op sub-op numbers and the reserved grant references (numbers only here; the
// grant structs belong to the grant-table work).
// Source: pv-abi-core.md §5.15; pv-abi-devices.md §2.1, §3.2, §5.8.
#pragma once

#include <cstdint>

#include "xen/types.hpp"

namespace xen {

inline constexpr std::uint32_t GNTTABOP_map_grant_ref = 0;
inline constexpr std::uint32_t GNTTABOP_unmap_grant_ref = 1;
inline constexpr std::uint32_t GNTTABOP_setup_table = 2;
inline constexpr std::uint32_t GNTTABOP_dump_table = 3;
inline constexpr std::uint32_t GNTTABOP_transfer = 4;
inline constexpr std::uint32_t GNTTABOP_copy = 5;
inline constexpr std::uint32_t GNTTABOP_query_size = 6;
inline constexpr std::uint32_t GNTTABOP_unmap_and_replace = 7;
inline constexpr std::uint32_t GNTTABOP_set_version = 8;
inline constexpr std::uint32_t GNTTABOP_get_status_frames = 9;
inline constexpr std::uint32_t GNTTABOP_get_version = 10;
inline constexpr std::uint32_t GNTTABOP_swap_grant_ref = 11;
inline constexpr std::uint32_t GNTTABOP_cache_flush = 12;

// devices §3.2 / §5.8: grant refs the toolstack seeds for the console and xenstore pages.
inline constexpr grant_ref_t GNTTAB_RESERVED_CONSOLE = 0;
inline constexpr grant_ref_t GNTTAB_RESERVED_XENSTORE = 1;

}  // namespace xen
