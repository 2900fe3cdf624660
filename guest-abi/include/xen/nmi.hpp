// nmi_op: NMI callback registration.
// Source: pv-abi-core.md §5.23 (and §3.5 for nmi_reason bits, in shared_info.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

inline constexpr std::uint32_t XENNMI_register_callback = 0;
inline constexpr std::uint32_t XENNMI_unregister_callback = 1;

struct xennmi_callback {
    std::uint64_t handler_address;
    std::uint64_t pad;
};
static_assert(sizeof(xennmi_callback) == 16);
static_assert(offsetof(xennmi_callback, handler_address) == 0);

}  // namespace xen
