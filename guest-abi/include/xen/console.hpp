// console_io sub-ops and the PV console ring page (struct xencons_interface).
// Source: pv-abi-core.md §3.8, §5.14; pv-abi-devices.md §3.1-§3.2.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §5.14: console_io sub-ops.
inline constexpr std::uint32_t CONSOLEIO_write = 0;
inline constexpr std::uint32_t CONSOLEIO_read = 1;

// devices §3.1: free-running u32 indices, masked with the buffer size - 1.
using XENCONS_RING_IDX = std::uint32_t;
inline constexpr std::size_t XENCONS_IN_SIZE = 1024;
inline constexpr std::size_t XENCONS_OUT_SIZE = 2048;
constexpr XENCONS_RING_IDX xencons_mask_in(XENCONS_RING_IDX i) { return i & (XENCONS_IN_SIZE - 1); }
constexpr XENCONS_RING_IDX xencons_mask_out(XENCONS_RING_IDX i) { return i & (XENCONS_OUT_SIZE - 1); }

inline constexpr std::uint8_t XENCONSOLE_CONNECTED = 0;
inline constexpr std::uint8_t XENCONSOLE_DISCONNECTED = 1;

// devices §3.1: struct xencons_interface, 3092 bytes at offset 0 of the console page.
struct xencons_interface {
    char in[XENCONS_IN_SIZE];    // to the guest: backend produces, guest consumes
    char out[XENCONS_OUT_SIZE];  // from the guest: guest produces, backend consumes
    XENCONS_RING_IDX in_cons;    // guest
    XENCONS_RING_IDX in_prod;    // backend
    XENCONS_RING_IDX out_cons;   // backend
    XENCONS_RING_IDX out_prod;   // guest
    std::uint8_t connection;     // XENCONSOLE_*
};
static_assert(sizeof(xencons_interface) == 3092);
static_assert(offsetof(xencons_interface, in) == 0);
static_assert(offsetof(xencons_interface, out) == 1024);
static_assert(offsetof(xencons_interface, in_cons) == 3072);
static_assert(offsetof(xencons_interface, in_prod) == 3076);
static_assert(offsetof(xencons_interface, out_cons) == 3080);
static_assert(offsetof(xencons_interface, out_prod) == 3084);
static_assert(offsetof(xencons_interface, connection) == 3088);

}  // namespace xen
