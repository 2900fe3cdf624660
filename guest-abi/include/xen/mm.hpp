// Page-table hypercalls: mmu_update commands, mmuext_op commands, update_va_mapping flags,
// vm_assist types and the descriptor/debug-register calls' constants.
// Source: pv-abi-core.md §5.3, §5.4, §5.8-§5.10, §5.16, §5.21.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/types.hpp"

namespace xen {

// §5.3: mmu_update command in ptr & 7; the entry address is ptr & ~7.
inline constexpr std::uint64_t MMU_NORMAL_PT_UPDATE = 0;
inline constexpr std::uint64_t MMU_MACHPHYS_UPDATE = 1;
inline constexpr std::uint64_t MMU_PT_UPDATE_PRESERVE_AD = 2;
inline constexpr std::uint64_t MMU_PT_UPDATE_NO_TRANSLATE = 3;
inline constexpr std::uint64_t MMU_UPDATE_CMD_MASK = 7;

struct mmu_update {
    std::uint64_t ptr;  // machine address of the entry | command
    std::uint64_t val;
};
static_assert(sizeof(mmu_update) == 16);
static_assert(offsetof(mmu_update, ptr) == 0);
static_assert(offsetof(mmu_update, val) == 8);

// §5.3: foreigndom encoding: bits 15:0 data-frame owner, bits 31:16 page-table owner + 1.
constexpr std::uint32_t mmu_foreigndom(domid_t fd, std::uint32_t pt_owner_plus_1 = 0) {
    return static_cast<std::uint32_t>(fd) | (pt_owner_plus_1 << 16);
}

// §5.21: mmuext_op commands.
inline constexpr std::uint32_t MMUEXT_PIN_L1_TABLE = 0;
inline constexpr std::uint32_t MMUEXT_PIN_L2_TABLE = 1;
inline constexpr std::uint32_t MMUEXT_PIN_L3_TABLE = 2;
inline constexpr std::uint32_t MMUEXT_PIN_L4_TABLE = 3;
inline constexpr std::uint32_t MMUEXT_UNPIN_TABLE = 4;
inline constexpr std::uint32_t MMUEXT_NEW_BASEPTR = 5;
inline constexpr std::uint32_t MMUEXT_TLB_FLUSH_LOCAL = 6;
inline constexpr std::uint32_t MMUEXT_INVLPG_LOCAL = 7;
inline constexpr std::uint32_t MMUEXT_TLB_FLUSH_MULTI = 8;
inline constexpr std::uint32_t MMUEXT_INVLPG_MULTI = 9;
inline constexpr std::uint32_t MMUEXT_TLB_FLUSH_ALL = 10;
inline constexpr std::uint32_t MMUEXT_INVLPG_ALL = 11;
inline constexpr std::uint32_t MMUEXT_FLUSH_CACHE = 12;
inline constexpr std::uint32_t MMUEXT_SET_LDT = 13;
// 14 is unused.
inline constexpr std::uint32_t MMUEXT_NEW_USER_BASEPTR = 15;
inline constexpr std::uint32_t MMUEXT_CLEAR_PAGE = 16;
inline constexpr std::uint32_t MMUEXT_COPY_PAGE = 17;
inline constexpr std::uint32_t MMUEXT_FLUSH_CACHE_GLOBAL = 18;
inline constexpr std::uint32_t MMUEXT_MARK_SUPER = 19;
inline constexpr std::uint32_t MMUEXT_UNMARK_SUPER = 20;

// §5.21: MMUEXT_SET_LDT limit.
inline constexpr std::uint32_t MMUEXT_MAX_LDT_ENTS = 8192;

// §5.21: struct mmuext_op (24 bytes).
union mmuext_op_arg1 {
    xen_pfn_t mfn;              // pin/unpin, NEW_[USER_]BASEPTR, CLEAR_PAGE, COPY_PAGE dest
    std::uint64_t linear_addr;  // INVLPG_*, SET_LDT
};
union mmuext_op_arg2 {
    std::uint32_t nr_ents;    // SET_LDT
    guest_handle_t vcpumask;  // *_MULTI: bitmap of unsigned longs
    xen_pfn_t src_mfn;        // COPY_PAGE
};
struct mmuext_op {
    std::uint32_t cmd;
    std::uint32_t pad;
    mmuext_op_arg1 arg1;
    mmuext_op_arg2 arg2;
};
static_assert(sizeof(mmuext_op) == 24);
static_assert(offsetof(mmuext_op, cmd) == 0);
static_assert(offsetof(mmuext_op, arg1) == 8);
static_assert(offsetof(mmuext_op, arg1.mfn) == 8);
static_assert(offsetof(mmuext_op, arg1.linear_addr) == 8);
static_assert(offsetof(mmuext_op, arg2) == 16);
static_assert(offsetof(mmuext_op, arg2.nr_ents) == 16);
static_assert(offsetof(mmuext_op, arg2.vcpumask) == 16);
static_assert(offsetof(mmuext_op, arg2.src_mfn) == 16);

// §5.10: update_va_mapping flags. Bits 63:2 other than UVMF_ALL are a vCPU-bitmap pointer
// (UVMF_MULTI).
inline constexpr std::uint64_t UVMF_NONE = 0;
inline constexpr std::uint64_t UVMF_TLB_FLUSH = 1;
inline constexpr std::uint64_t UVMF_INVLPG = 2;
inline constexpr std::uint64_t UVMF_FLUSHTYPE_MASK = 3;
inline constexpr std::uint64_t UVMF_MULTI = 0;
inline constexpr std::uint64_t UVMF_LOCAL = 0;
inline constexpr std::uint64_t UVMF_ALL = 4;

// §5.16: vm_assist commands and types.
inline constexpr std::uint32_t VMASST_CMD_enable = 0;
inline constexpr std::uint32_t VMASST_CMD_disable = 1;
inline constexpr std::uint32_t VMASST_TYPE_4gb_segments = 0;
inline constexpr std::uint32_t VMASST_TYPE_4gb_segments_notify = 1;
inline constexpr std::uint32_t VMASST_TYPE_writable_pagetables = 2;
inline constexpr std::uint32_t VMASST_TYPE_pae_extended_cr3 = 3;
inline constexpr std::uint32_t VMASST_TYPE_architectural_iopl = 4;
inline constexpr std::uint32_t VMASST_TYPE_runstate_update_flag = 5;
inline constexpr std::uint32_t VMASST_TYPE_m2p_strict = 32;
// §5.16: the types a 64-bit PV domain may enable (all of the above).
inline constexpr std::uint64_t VMASST_VALID_MASK_PV64 =
    (std::uint64_t{1} << VMASST_TYPE_4gb_segments) | (std::uint64_t{1} << VMASST_TYPE_4gb_segments_notify) |
    (std::uint64_t{1} << VMASST_TYPE_writable_pagetables) | (std::uint64_t{1} << VMASST_TYPE_pae_extended_cr3) |
    (std::uint64_t{1} << VMASST_TYPE_architectural_iopl) | (std::uint64_t{1} << VMASST_TYPE_runstate_update_flag) |
    (std::uint64_t{1} << VMASST_TYPE_m2p_strict);

// §5.8: debug-register numbers accepted by set_debugreg/get_debugreg.
inline constexpr int DEBUGREG_DR6 = 6;
inline constexpr int DEBUGREG_DR7 = 7;
inline constexpr std::uint64_t DR6_DEFAULT = 0xFFFF0FF0;  // §2.7
inline constexpr std::uint64_t DR7_DEFAULT = 0x400;       // §2.7

// §5.4: set_gdt limits (one frame holds 512 descriptors).
inline constexpr std::uint32_t GDT_ENTRIES_PER_FRAME = 512;

}  // namespace xen
