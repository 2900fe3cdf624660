// Hypercall numbers, the hypercall-page geometry, continuation encodings and multicall entries.
// Source: pv-abi-core.md §4.1 (hypercall page), §4.5 (continuations), §4.6 (multicall), §5.1 (numbers).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §5.1: hypercall numbers, passed in rax (§4.2). Unimplemented numbers return -ENOSYS.
inline constexpr std::uint32_t HYPERVISOR_set_trap_table = 0;
inline constexpr std::uint32_t HYPERVISOR_mmu_update = 1;
inline constexpr std::uint32_t HYPERVISOR_set_gdt = 2;
inline constexpr std::uint32_t HYPERVISOR_stack_switch = 3;
inline constexpr std::uint32_t HYPERVISOR_set_callbacks = 4;
inline constexpr std::uint32_t HYPERVISOR_fpu_taskswitch = 5;
inline constexpr std::uint32_t HYPERVISOR_sched_op_compat = 6;
inline constexpr std::uint32_t HYPERVISOR_platform_op = 7;
inline constexpr std::uint32_t HYPERVISOR_set_debugreg = 8;
inline constexpr std::uint32_t HYPERVISOR_get_debugreg = 9;
inline constexpr std::uint32_t HYPERVISOR_update_descriptor = 10;
// 11 is unused (was set_fast_trap in Xen 2.0).
inline constexpr std::uint32_t HYPERVISOR_memory_op = 12;
inline constexpr std::uint32_t HYPERVISOR_multicall = 13;
inline constexpr std::uint32_t HYPERVISOR_update_va_mapping = 14;
inline constexpr std::uint32_t HYPERVISOR_set_timer_op = 15;
inline constexpr std::uint32_t HYPERVISOR_event_channel_op_compat = 16;
inline constexpr std::uint32_t HYPERVISOR_xen_version = 17;
inline constexpr std::uint32_t HYPERVISOR_console_io = 18;
inline constexpr std::uint32_t HYPERVISOR_physdev_op_compat = 19;
inline constexpr std::uint32_t HYPERVISOR_grant_table_op = 20;
inline constexpr std::uint32_t HYPERVISOR_vm_assist = 21;
inline constexpr std::uint32_t HYPERVISOR_update_va_mapping_otherdomain = 22;
inline constexpr std::uint32_t HYPERVISOR_iret = 23;
inline constexpr std::uint32_t HYPERVISOR_vcpu_op = 24;
inline constexpr std::uint32_t HYPERVISOR_set_segment_base = 25;
inline constexpr std::uint32_t HYPERVISOR_mmuext_op = 26;
inline constexpr std::uint32_t HYPERVISOR_xsm_op = 27;
inline constexpr std::uint32_t HYPERVISOR_nmi_op = 28;
inline constexpr std::uint32_t HYPERVISOR_sched_op = 29;
inline constexpr std::uint32_t HYPERVISOR_callback_op = 30;
inline constexpr std::uint32_t HYPERVISOR_xenoprof_op = 31;
inline constexpr std::uint32_t HYPERVISOR_event_channel_op = 32;
inline constexpr std::uint32_t HYPERVISOR_physdev_op = 33;
inline constexpr std::uint32_t HYPERVISOR_hvm_op = 34;
inline constexpr std::uint32_t HYPERVISOR_sysctl = 35;
inline constexpr std::uint32_t HYPERVISOR_domctl = 36;
inline constexpr std::uint32_t HYPERVISOR_kexec_op = 37;
inline constexpr std::uint32_t HYPERVISOR_tmem_op = 38;
inline constexpr std::uint32_t HYPERVISOR_argo_op = 39;
inline constexpr std::uint32_t HYPERVISOR_xenpmu_op = 40;
inline constexpr std::uint32_t HYPERVISOR_dm_op = 41;
inline constexpr std::uint32_t HYPERVISOR_hypfs_op = 42;
inline constexpr std::uint32_t HYPERVISOR_arch_0 = 48;  // x86: mca
inline constexpr std::uint32_t HYPERVISOR_mca = HYPERVISOR_arch_0;
inline constexpr std::uint32_t HYPERVISOR_arch_1 = 49;  // x86: paging_domctl_cont (internal)
inline constexpr std::uint32_t HYPERVISOR_arch_2 = 50;
inline constexpr std::uint32_t HYPERVISOR_arch_3 = 51;
inline constexpr std::uint32_t HYPERVISOR_arch_4 = 52;
inline constexpr std::uint32_t HYPERVISOR_arch_5 = 53;
inline constexpr std::uint32_t HYPERVISOR_arch_6 = 54;
inline constexpr std::uint32_t HYPERVISOR_arch_7 = 55;

// §4.1: the hypercall page holds one 32-byte stub per index 0..127 (4096 / 32), filled with
// 0xCC (int3) first; guests call hypercall_page + nr * 32 (and jump, never call, for iret).
inline constexpr std::size_t HYPERCALL_STUB_SIZE = 32;
inline constexpr std::size_t HYPERCALL_PAGE_ENTRIES = 4096 / HYPERCALL_STUB_SIZE;
inline constexpr std::uint8_t HYPERCALL_PAGE_FILL = 0xCC;
static_assert(HYPERCALL_PAGE_ENTRIES == 128);

// §4.5: continuation encodings a guest may observe on re-execution.
inline constexpr std::uint32_t MMU_UPDATE_PREEMPTED = 0x80000000u;  // bit 31 of mmu_update/mmuext_op count
inline constexpr unsigned MEMOP_EXTENT_SHIFT = 6;                   // memory_op: cmd >> 6 = start extent
inline constexpr std::uint64_t MEMOP_CMD_MASK = (std::uint64_t{1} << MEMOP_EXTENT_SHIFT) - 1;

// §4.6: one multicall entry (64 bytes). Only `result` is written back; args[5] is unused by Xen.
struct multicall_entry {
    std::uint64_t op;
    std::uint64_t result;
    std::uint64_t args[6];
};
static_assert(sizeof(multicall_entry) == 64);
static_assert(offsetof(multicall_entry, op) == 0);
static_assert(offsetof(multicall_entry, result) == 8);
static_assert(offsetof(multicall_entry, args) == 16);

}  // namespace xen
