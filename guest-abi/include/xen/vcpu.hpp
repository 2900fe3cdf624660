// vcpu_op sub-ops and arguments, the runstate record and struct vcpu_guest_context.
// Source: pv-abi-core.md §3.7, §5.19, §8.3-§8.4, §9.1-§9.2.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/arch_x86_64.hpp"
#include "xen/trap.hpp"
#include "xen/types.hpp"

namespace xen {

// §5.19: vcpu_op sub-ops.
inline constexpr std::uint32_t VCPUOP_initialise = 0;
inline constexpr std::uint32_t VCPUOP_up = 1;
inline constexpr std::uint32_t VCPUOP_down = 2;
inline constexpr std::uint32_t VCPUOP_is_up = 3;
inline constexpr std::uint32_t VCPUOP_get_runstate_info = 4;
inline constexpr std::uint32_t VCPUOP_register_runstate_memory_area = 5;
inline constexpr std::uint32_t VCPUOP_set_periodic_timer = 6;
inline constexpr std::uint32_t VCPUOP_stop_periodic_timer = 7;
inline constexpr std::uint32_t VCPUOP_set_singleshot_timer = 8;
inline constexpr std::uint32_t VCPUOP_stop_singleshot_timer = 9;
inline constexpr std::uint32_t VCPUOP_register_vcpu_info = 10;
inline constexpr std::uint32_t VCPUOP_send_nmi = 11;
inline constexpr std::uint32_t VCPUOP_get_physid = 12;
inline constexpr std::uint32_t VCPUOP_register_vcpu_time_memory_area = 13;
inline constexpr std::uint32_t VCPUOP_register_runstate_phys_area = 14;  // Xen >= 4.19 only
inline constexpr std::uint32_t VCPUOP_register_vcpu_time_phys_area = 15;  // Xen >= 4.19 only

// §3.7: runstates and the runstate record (48 bytes).
inline constexpr std::int32_t RUNSTATE_running = 0;
inline constexpr std::int32_t RUNSTATE_runnable = 1;
inline constexpr std::int32_t RUNSTATE_blocked = 2;
inline constexpr std::int32_t RUNSTATE_offline = 3;
inline constexpr std::size_t RUNSTATE_COUNT = 4;
// §3.7/§8.4: bit 63 of state_entry_time while the hypervisor updates (VMASST runstate_update_flag).
inline constexpr std::uint64_t XEN_RUNSTATE_UPDATE = std::uint64_t{1} << 63;

struct vcpu_runstate_info {
    std::int32_t state;
    std::uint32_t pad;
    std::uint64_t state_entry_time;
    std::uint64_t time[RUNSTATE_COUNT];
};
static_assert(sizeof(vcpu_runstate_info) == 48);
static_assert(offsetof(vcpu_runstate_info, state) == 0);
static_assert(offsetof(vcpu_runstate_info, state_entry_time) == 8);
static_assert(offsetof(vcpu_runstate_info, time) == 16);

// §5.19: VCPUOP_register_runstate_memory_area / register_vcpu_time_memory_area: a guest VA.
struct vcpu_register_runstate_memory_area {
    guest_handle_t addr;
};
static_assert(sizeof(vcpu_register_runstate_memory_area) == 8);
struct vcpu_register_time_memory_area {
    guest_handle_t addr;  // 0 unregisters
};
static_assert(sizeof(vcpu_register_time_memory_area) == 8);

// §5.19: VCPUOP_set_periodic_timer (period >= 1 ms).
struct vcpu_set_periodic_timer {
    std::uint64_t period_ns;
};
static_assert(sizeof(vcpu_set_periodic_timer) == 8);

// §5.19: VCPUOP_set_singleshot_timer (absolute system time).
inline constexpr std::uint32_t VCPU_SSHOTTMR_future = 1u << 0;  // ignored by current Xen
struct vcpu_set_singleshot_timer {
    std::uint64_t timeout_abs_ns;
    std::uint32_t flags;
    std::uint32_t pad;
};
static_assert(sizeof(vcpu_set_singleshot_timer) == 16);
static_assert(offsetof(vcpu_set_singleshot_timer, timeout_abs_ns) == 0);
static_assert(offsetof(vcpu_set_singleshot_timer, flags) == 8);

// §5.19: VCPUOP_register_vcpu_info: 64 bytes at (mfn, offset), not crossing a page.
struct vcpu_register_vcpu_info {
    std::uint64_t mfn;
    std::uint32_t offset;
    std::uint32_t rsvd;
};
static_assert(sizeof(vcpu_register_vcpu_info) == 16);
static_assert(offsetof(vcpu_register_vcpu_info, mfn) == 0);
static_assert(offsetof(vcpu_register_vcpu_info, offset) == 8);
static_assert(offsetof(vcpu_register_vcpu_info, rsvd) == 12);

// §5.19: VCPUOP_get_physid.
struct vcpu_get_physid {
    std::uint64_t phys_id;
};
static_assert(sizeof(vcpu_get_physid) == 8);

// §9.2: vcpu_guest_context flags.
inline constexpr std::uint64_t VGCF_i387_valid = std::uint64_t{1} << 0;
inline constexpr std::uint64_t VGCF_in_kernel = std::uint64_t{1} << 2;
inline constexpr std::uint64_t VGCF_failsafe_disables_events = std::uint64_t{1} << 3;
inline constexpr std::uint64_t VGCF_syscall_disables_events = std::uint64_t{1} << 4;
inline constexpr std::uint64_t VGCF_online = std::uint64_t{1} << 5;
// VGCF_in_syscall (1 << 8) is only an iret-frame flag: see arch_x86_64.hpp (§6.9).

// §9.2: limits checked when a context is set.
inline constexpr std::size_t VGCF_MAX_GDT_FRAMES = 16;
inline constexpr std::uint64_t VGCF_MAX_LDT_ENTS = 8192;

// §9.2: struct vcpu_guest_context (x86-64), 5168 bytes.
struct vcpu_guest_context {
    std::uint8_t fpu_ctxt[512];  // FXSAVE image, used only with VGCF_i387_valid
    std::uint64_t flags;         // VGCF_*
    cpu_user_regs user_regs;
    trap_info trap_ctxt[NR_VECTORS];
    std::uint64_t ldt_base;
    std::uint64_t ldt_ents;
    std::uint64_t gdt_frames[VGCF_MAX_GDT_FRAMES];
    std::uint64_t gdt_ents;
    std::uint64_t kernel_ss;
    std::uint64_t kernel_sp;
    // [0] CR0 (TS only), [1] user page-table base (mfn << 12, 0 = none), [2] CR2,
    // [3] kernel page-table base (mfn << 12), [4] CR4 (guest-controllable bits).
    std::uint64_t ctrlreg[8];
    std::uint64_t debugreg[8];
    std::uint64_t event_callback_eip;
    std::uint64_t failsafe_callback_eip;
    std::uint64_t syscall_callback_eip;
    std::uint64_t vm_assist;  // VMASST bitmap, applied only for vCPU 0
    std::uint64_t fs_base;
    std::uint64_t gs_base_kernel;
    std::uint64_t gs_base_user;
};
static_assert(sizeof(vcpu_guest_context) == 5168);
static_assert(offsetof(vcpu_guest_context, fpu_ctxt) == 0);
static_assert(offsetof(vcpu_guest_context, flags) == 512);
static_assert(offsetof(vcpu_guest_context, user_regs) == 520);
static_assert(offsetof(vcpu_guest_context, trap_ctxt) == 720);
static_assert(offsetof(vcpu_guest_context, ldt_base) == 4816);
static_assert(offsetof(vcpu_guest_context, ldt_ents) == 4824);
static_assert(offsetof(vcpu_guest_context, gdt_frames) == 4832);
static_assert(offsetof(vcpu_guest_context, gdt_ents) == 4960);
static_assert(offsetof(vcpu_guest_context, kernel_ss) == 4968);
static_assert(offsetof(vcpu_guest_context, kernel_sp) == 4976);
static_assert(offsetof(vcpu_guest_context, ctrlreg) == 4984);
static_assert(offsetof(vcpu_guest_context, debugreg) == 5048);
static_assert(offsetof(vcpu_guest_context, event_callback_eip) == 5112);
static_assert(offsetof(vcpu_guest_context, failsafe_callback_eip) == 5120);
static_assert(offsetof(vcpu_guest_context, syscall_callback_eip) == 5128);
static_assert(offsetof(vcpu_guest_context, vm_assist) == 5136);
static_assert(offsetof(vcpu_guest_context, fs_base) == 5144);
static_assert(offsetof(vcpu_guest_context, gs_base_kernel) == 5152);
static_assert(offsetof(vcpu_guest_context, gs_base_user) == 5160);

}  // namespace xen
