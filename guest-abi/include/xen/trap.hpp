// The virtual IDT entry (set_trap_table) and the bounce-frame conventions of exceptions.
// Source: pv-abi-core.md §5.2 (trap_info), §6.4 (bounce frame), §6.6 (exceptions).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §5.2: one virtual IDT entry (16 bytes). A table passed to set_trap_table ends with address 0.
struct trap_info {
    std::uint8_t vector;
    std::uint8_t flags;  // bits 0-1: DPL for INT n; bit 2 (TI_SET_IF): mask events on entry
    std::uint16_t cs;    // RPL raised to 3; otherwise ignored for 64-bit guests
    std::uint32_t pad;
    std::uint64_t address;
};
static_assert(sizeof(trap_info) == 16);
static_assert(offsetof(trap_info, vector) == 0);
static_assert(offsetof(trap_info, flags) == 1);
static_assert(offsetof(trap_info, cs) == 2);
static_assert(offsetof(trap_info, address) == 8);

// §5.2: the flag bits of trap_info (macros in Xen use flags & 3 and flags & 4).
inline constexpr std::uint8_t TI_DPL_MASK = 0x3;
inline constexpr std::uint8_t TI_SET_IF = 0x4;
constexpr std::uint8_t ti_get_dpl(const trap_info& t) { return static_cast<std::uint8_t>(t.flags & TI_DPL_MASK); }
constexpr bool ti_get_if(const trap_info& t) { return (t.flags & TI_SET_IF) != 0; }

inline constexpr std::size_t NR_VECTORS = 256;

// Architectural exception vectors a PV guest's handlers see (§6.6).
inline constexpr std::uint8_t TRAP_divide_error = 0;
inline constexpr std::uint8_t TRAP_debug = 1;
inline constexpr std::uint8_t TRAP_nmi = 2;
inline constexpr std::uint8_t TRAP_int3 = 3;
inline constexpr std::uint8_t TRAP_overflow = 4;
inline constexpr std::uint8_t TRAP_bounds = 5;
inline constexpr std::uint8_t TRAP_invalid_op = 6;
inline constexpr std::uint8_t TRAP_no_device = 7;
inline constexpr std::uint8_t TRAP_double_fault = 8;
inline constexpr std::uint8_t TRAP_copro_seg = 9;
inline constexpr std::uint8_t TRAP_invalid_tss = 10;
inline constexpr std::uint8_t TRAP_no_segment = 11;
inline constexpr std::uint8_t TRAP_stack_error = 12;
inline constexpr std::uint8_t TRAP_gp_fault = 13;
inline constexpr std::uint8_t TRAP_page_fault = 14;
inline constexpr std::uint8_t TRAP_spurious_int = 15;
inline constexpr std::uint8_t TRAP_copro_error = 16;
inline constexpr std::uint8_t TRAP_alignment_check = 17;
inline constexpr std::uint8_t TRAP_machine_check = 18;
inline constexpr std::uint8_t TRAP_simd_error = 19;
inline constexpr std::uint8_t TRAP_virtualisation = 20;
inline constexpr std::uint8_t TRAP_control_protection = 21;
inline constexpr std::uint8_t TRAP_hypervisor_injection = 28;
inline constexpr std::uint8_t TRAP_vmm_communication = 29;
inline constexpr std::uint8_t TRAP_security = 30;

// §6.6: vectors whose bounce frame carries an error code: 8, 10-14, 17, 21, 29, 30.
inline constexpr std::uint32_t TRAP_HAVE_ERROR_CODE_MASK =
    (1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) | (1u << 17) |
    (1u << 21) | (1u << 29) | (1u << 30);
constexpr bool trap_has_error_code(unsigned vector) {
    return vector < 32 && ((TRAP_HAVE_ERROR_CODE_MASK >> vector) & 1u) != 0;
}

// §6.4: bounce-frame geometry. The frame starts 16-byte aligned; rcx and r11 are at +0/+8 and
// the guest handler pops them, leaving a native exception frame.
inline constexpr std::size_t BOUNCE_FRAME_SIZE_NO_ERROR = 56;
inline constexpr std::size_t BOUNCE_FRAME_SIZE_WITH_ERROR = 64;
inline constexpr unsigned BOUNCE_FRAME_CS_UPCALL_MASK_SHIFT = 32;  // saved_upcall_mask in cs bits 39:32

// §6.5: a #GP raised by `INT n` through a DPL-0 gate carries error code (n << 3) | 2.
constexpr std::uint32_t int_n_gp_error_code(unsigned vector) { return (vector << 3) | 2u; }

}  // namespace xen
