// set_callbacks / callback_op: callback types, flags and the register/unregister arguments.
// Source: pv-abi-core.md §5.6 (and §6.7, §6.8 for what each callback receives).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §5.6: callback_op sub-ops.
inline constexpr std::uint32_t CALLBACKOP_register = 0;
inline constexpr std::uint32_t CALLBACKOP_unregister = 1;

// §5.6: callback types.
inline constexpr std::uint16_t CALLBACKTYPE_event = 0;
inline constexpr std::uint16_t CALLBACKTYPE_failsafe = 1;
inline constexpr std::uint16_t CALLBACKTYPE_syscall = 2;
inline constexpr std::uint16_t CALLBACKTYPE_sysenter_deprecated = 3;  // 32-bit hypervisor only
inline constexpr std::uint16_t CALLBACKTYPE_nmi = 4;
inline constexpr std::uint16_t CALLBACKTYPE_sysenter = 5;
inline constexpr std::uint16_t CALLBACKTYPE_syscall32 = 7;

// §5.6: flags bit 0 = mask events on entry (meaning depends on the type).
inline constexpr std::uint16_t CALLBACKF_mask_events = 1u << 0;

struct callback_register {
    std::uint16_t type;
    std::uint16_t flags;
    std::uint32_t pad;
    std::uint64_t address;
};
static_assert(sizeof(callback_register) == 16);
static_assert(offsetof(callback_register, type) == 0);
static_assert(offsetof(callback_register, flags) == 2);
static_assert(offsetof(callback_register, address) == 8);

struct callback_unregister {
    std::uint16_t type;
    std::uint16_t unused;
};
static_assert(sizeof(callback_unregister) == 4);
static_assert(offsetof(callback_unregister, type) == 0);

// §6.8: the failsafe callback frame (11 words from the new rsp upward).
struct failsafe_frame {
    std::uint64_t rcx;
    std::uint64_t r11;
    std::uint64_t ds;
    std::uint64_t es;
    std::uint64_t fs;
    std::uint64_t gs;
    std::uint64_t rip;
    std::uint64_t cs;  // saved_upcall_mask in bits 39:32
    std::uint64_t rflags;
    std::uint64_t rsp;
    std::uint64_t ss;
};
static_assert(sizeof(failsafe_frame) == 88);
static_assert(offsetof(failsafe_frame, ds) == 16);
static_assert(offsetof(failsafe_frame, gs) == 40);
static_assert(offsetof(failsafe_frame, rip) == 48);
static_assert(offsetof(failsafe_frame, cs) == 56);
static_assert(offsetof(failsafe_frame, rflags) == 64);
static_assert(offsetof(failsafe_frame, rsp) == 72);
static_assert(offsetof(failsafe_frame, ss) == 80);

}  // namespace xen
