// domctl (hypercall 36): the control-domain envelope and the shadow_op (log-dirty) member.
// Source: dom0-devices.md §5.1 (envelope, version, conventions), §5.2 (command numbers),
// §5.3.14 (shadow_op). Only what the hypervisor implements is defined here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/types.hpp"

namespace xen {

// §5.1: a different interface_version is refused with -EACCES.
inline constexpr std::uint32_t XEN_DOMCTL_INTERFACE_VERSION = 0x00000015;

// §5.2: command numbers.
inline constexpr std::uint32_t XEN_DOMCTL_createdomain = 1;
inline constexpr std::uint32_t XEN_DOMCTL_getdomaininfo = 5;
inline constexpr std::uint32_t XEN_DOMCTL_shadow_op = 10;

// §5.3.14: shadow_op operations.
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_OFF = 0;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_ENABLE_TEST = 1;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY = 2;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_CLEAN = 11;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_PEEK = 12;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION = 30;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION = 31;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_OP_ENABLE = 32;
// Mode bits of ENABLE (§5.3.14).
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_ENABLE_REFCOUNT = 1u << 1;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY = 1u << 2;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_ENABLE_TRANSLATE = 1u << 3;
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_ENABLE_EXTERNAL = 1u << 4;
// The only mode bit CLEAN/PEEK accept (§5.3.14).
inline constexpr std::uint32_t XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL = 1u << 0;

// §5.3.14: xen_domctl_shadow_op (offsets below are relative to the union, which starts at 16).
struct xen_domctl_shadow_op_stats {
    std::uint32_t fault_count;
    std::uint32_t dirty_count;
};

struct xen_domctl_shadow_op {
    std::uint32_t op;
    std::uint32_t mode;
    std::uint32_t mb;  // GET/SET_ALLOCATION: shadow pool in MB
    std::uint32_t pad;
    std::uint64_t dirty_bitmap;  // guest handle to a byte array, bit n = PFN n
    std::uint64_t pages;         // IN: bits the buffer holds; OUT: bits written
    xen_domctl_shadow_op_stats stats;
};

// §5.1: struct xen_domctl, 144 bytes, the per-command union padded to 128 bytes.
struct xen_domctl {
    std::uint32_t cmd;
    std::uint32_t interface_version;
    domid_t domain;
    std::uint16_t pad[3];
    union {
        xen_domctl_shadow_op shadow_op;
        std::uint8_t raw[128];
    } u;
};

static_assert(sizeof(xen_domctl) == 144);
static_assert(alignof(xen_domctl) == 8);
static_assert(offsetof(xen_domctl, interface_version) == 4);
static_assert(offsetof(xen_domctl, domain) == 8);
static_assert(offsetof(xen_domctl, u) == 16);
// §5.3.14 absolute offsets: op @16, mode @20, mb @24, dirty_bitmap @32, pages @40,
// stats.fault_count @48, stats.dirty_count @52.
static_assert(offsetof(xen_domctl, u) + offsetof(xen_domctl_shadow_op, op) == 16);
static_assert(offsetof(xen_domctl, u) + offsetof(xen_domctl_shadow_op, mode) == 20);
static_assert(offsetof(xen_domctl, u) + offsetof(xen_domctl_shadow_op, mb) == 24);
static_assert(offsetof(xen_domctl, u) + offsetof(xen_domctl_shadow_op, dirty_bitmap) == 32);
static_assert(offsetof(xen_domctl, u) + offsetof(xen_domctl_shadow_op, pages) == 40);
static_assert(offsetof(xen_domctl, u) + offsetof(xen_domctl_shadow_op, stats) + 0 == 48);
static_assert(offsetof(xen_domctl, u) + offsetof(xen_domctl_shadow_op, stats) +
                  offsetof(xen_domctl_shadow_op_stats, dirty_count) ==
              52);
static_assert(sizeof(xen_domctl_shadow_op) == 40);  // §5.2: the union member is 40 bytes

}  // namespace xen
