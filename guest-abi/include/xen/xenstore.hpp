// The xenstore ring page shared between a domain and xenstored.
// Source: pv-abi-core.md §3.8; pv-abi-devices.md §5.7.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

using XENSTORE_RING_IDX = std::uint32_t;
inline constexpr std::size_t XENSTORE_RING_SIZE = 1024;
constexpr XENSTORE_RING_IDX xenstore_mask(XENSTORE_RING_IDX i) { return i & (XENSTORE_RING_SIZE - 1); }

// devices §5.7: server_features bits.
inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_ERROR = 2;
inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_WATCHDEPTH = 4;
inline constexpr std::uint32_t XENSTORE_SERVER_FEATURE_DOMID_ANY = 8;

// devices §5.7: connection and error values.
inline constexpr std::uint32_t XENSTORE_CONNECTED = 0;
inline constexpr std::uint32_t XENSTORE_RECONNECT = 1;
inline constexpr std::uint32_t XENSTORE_ERROR_NONE = 0;
inline constexpr std::uint32_t XENSTORE_ERROR_COMM = 1;
inline constexpr std::uint32_t XENSTORE_ERROR_RINGIDX = 2;
inline constexpr std::uint32_t XENSTORE_ERROR_PROTO = 3;

// devices §5.7: struct xenstore_domain_interface.
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];  // guest -> server
    char rsp[XENSTORE_RING_SIZE];  // server -> guest (replies and watch events)
    XENSTORE_RING_IDX req_cons;
    XENSTORE_RING_IDX req_prod;
    XENSTORE_RING_IDX rsp_cons;
    XENSTORE_RING_IDX rsp_prod;
    std::uint32_t server_features;
    std::uint32_t connection;
    std::uint32_t error;
    std::uint32_t evtchn_port;  // dom0less/hyperlaunch only; 0 = use XS_INTRODUCE's port
};
static_assert(sizeof(xenstore_domain_interface) == 2080);
static_assert(offsetof(xenstore_domain_interface, req) == 0);
static_assert(offsetof(xenstore_domain_interface, rsp) == 1024);
static_assert(offsetof(xenstore_domain_interface, req_cons) == 2048);
static_assert(offsetof(xenstore_domain_interface, req_prod) == 2052);
static_assert(offsetof(xenstore_domain_interface, rsp_cons) == 2056);
static_assert(offsetof(xenstore_domain_interface, rsp_prod) == 2060);
static_assert(offsetof(xenstore_domain_interface, server_features) == 2064);
static_assert(offsetof(xenstore_domain_interface, connection) == 2068);
static_assert(offsetof(xenstore_domain_interface, error) == 2072);
static_assert(offsetof(xenstore_domain_interface, evtchn_port) == 2076);

}  // namespace xen
