// x86-64 specifics of the PV ABI: the hypervisor hole and M2P, flat selectors, reserved GDT
// entries, segment-base sub-ops, the saved register block and the HYPERVISOR_iret frame.
// Source: pv-abi-core.md §2.5, §2.6, §5.20, §6.9, §6.11, §9.2.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §2.5: hypervisor-reserved PML4 slots 256..271 and the read-only M2P at the bottom of them.
inline constexpr std::uint64_t HYPERVISOR_VIRT_START = 0xFFFF800000000000ull;
inline constexpr std::uint64_t HYPERVISOR_VIRT_END = 0xFFFF880000000000ull;
inline constexpr std::uint64_t MACH2PHYS_VIRT_START = 0xFFFF800000000000ull;
inline constexpr std::uint64_t MACH2PHYS_VIRT_END = 0xFFFF804000000000ull;
inline constexpr std::uint64_t MACH2PHYS_NR_ENTRIES = (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) / 8;
static_assert(MACH2PHYS_NR_ENTRIES == 0x800000000ull);
// First and last guest-inaccessible L4 slots owned by the hypervisor (§2.5).
inline constexpr unsigned HYPERVISOR_L4_SLOT_FIRST = 256;
inline constexpr unsigned HYPERVISOR_L4_SLOT_LAST = 271;
// §2.5: M2P value for frames no guest owns.
inline constexpr std::uint64_t INVALID_M2P_ENTRY = ~std::uint64_t{0};

// §2.6: the hypervisor's GDT page and the flat ring-3 selectors in it.
inline constexpr unsigned FIRST_RESERVED_GDT_PAGE = 14;
inline constexpr unsigned FIRST_RESERVED_GDT_BYTE = FIRST_RESERVED_GDT_PAGE * 4096;
inline constexpr unsigned FIRST_RESERVED_GDT_ENTRY = FIRST_RESERVED_GDT_BYTE / 8;
static_assert(FIRST_RESERVED_GDT_BYTE == 0xE000 && FIRST_RESERVED_GDT_ENTRY == 7168);

inline constexpr std::uint16_t FLAT_RING3_CS32 = 0xE023;
inline constexpr std::uint16_t FLAT_RING3_CS64 = 0xE033;
inline constexpr std::uint16_t FLAT_RING3_DS32 = 0xE02B;
inline constexpr std::uint16_t FLAT_RING3_DS64 = 0x0000;
inline constexpr std::uint16_t FLAT_RING3_SS32 = 0xE02B;
inline constexpr std::uint16_t FLAT_RING3_SS64 = 0xE02B;
inline constexpr std::uint16_t FLAT_KERNEL_CS64 = FLAT_RING3_CS64;
inline constexpr std::uint16_t FLAT_KERNEL_DS64 = FLAT_RING3_DS64;
inline constexpr std::uint16_t FLAT_KERNEL_SS64 = FLAT_RING3_SS64;
inline constexpr std::uint16_t FLAT_KERNEL_CS32 = FLAT_RING3_CS32;
inline constexpr std::uint16_t FLAT_KERNEL_DS32 = FLAT_RING3_DS32;
inline constexpr std::uint16_t FLAT_KERNEL_SS32 = FLAT_RING3_SS32;
inline constexpr std::uint16_t FLAT_USER_CS64 = FLAT_RING3_CS64;
inline constexpr std::uint16_t FLAT_USER_DS64 = FLAT_RING3_DS64;
inline constexpr std::uint16_t FLAT_USER_SS64 = FLAT_RING3_SS64;
inline constexpr std::uint16_t FLAT_USER_CS32 = FLAT_RING3_CS32;
inline constexpr std::uint16_t FLAT_USER_DS32 = FLAT_RING3_DS32;
inline constexpr std::uint16_t FLAT_USER_SS32 = FLAT_RING3_SS32;
inline constexpr std::uint16_t FLAT_KERNEL_CS = FLAT_KERNEL_CS64;
inline constexpr std::uint16_t FLAT_KERNEL_DS = FLAT_KERNEL_DS64;
inline constexpr std::uint16_t FLAT_KERNEL_SS = FLAT_KERNEL_SS64;
inline constexpr std::uint16_t FLAT_USER_CS = FLAT_USER_CS64;
inline constexpr std::uint16_t FLAT_USER_DS = FLAT_USER_DS64;
inline constexpr std::uint16_t FLAT_USER_SS = FLAT_USER_SS64;
// §2.6: the hypervisor's own ring-0 selectors in the reserved page (never loadable by guests).
inline constexpr std::uint16_t XEN_RING0_CS = 0xE008;
inline constexpr std::uint16_t XEN_RING0_DS = 0xE010;

// §5.20: set_segment_base sub-ops.
inline constexpr std::uint32_t SEGBASE_FS = 0;
inline constexpr std::uint32_t SEGBASE_GS_USER = 1;
inline constexpr std::uint32_t SEGBASE_GS_KERNEL = 2;
inline constexpr std::uint32_t SEGBASE_GS_USER_SEL = 3;

// §6.9: HYPERVISOR_iret frame flag: return with sysretq, rcx/r11 not restored.
inline constexpr std::uint64_t VGCF_in_syscall = std::uint64_t{1} << 8;

// §6.9: the frame on the guest stack at the `syscall` of HYPERVISOR_iret (72 bytes, rax lowest).
struct iret_context {
    std::uint64_t rax;
    std::uint64_t r11;
    std::uint64_t rcx;
    std::uint64_t flags;  // 0 or VGCF_in_syscall
    std::uint64_t rip;
    std::uint64_t cs;
    std::uint64_t rflags;
    std::uint64_t rsp;
    std::uint64_t ss;
};
static_assert(sizeof(iret_context) == 72);
static_assert(offsetof(iret_context, rax) == 0);
static_assert(offsetof(iret_context, r11) == 8);
static_assert(offsetof(iret_context, rcx) == 16);
static_assert(offsetof(iret_context, flags) == 24);
static_assert(offsetof(iret_context, rip) == 32);
static_assert(offsetof(iret_context, cs) == 40);
static_assert(offsetof(iret_context, rflags) == 48);
static_assert(offsetof(iret_context, rsp) == 56);
static_assert(offsetof(iret_context, ss) == 64);

// §9.2: struct cpu_user_regs as guests see it (200 bytes). error_code/entry_vector are private
// to the hypervisor; saved_upcall_mask sits in the upper half of the cs slot (§6.4).
struct cpu_user_regs {
    std::uint64_t r15;
    std::uint64_t r14;
    std::uint64_t r13;
    std::uint64_t r12;
    std::uint64_t rbp;
    std::uint64_t rbx;
    std::uint64_t r11;
    std::uint64_t r10;
    std::uint64_t r9;
    std::uint64_t r8;
    std::uint64_t rax;
    std::uint64_t rcx;
    std::uint64_t rdx;
    std::uint64_t rsi;
    std::uint64_t rdi;
    std::uint32_t error_code;
    std::uint32_t entry_vector;
    std::uint64_t rip;
    std::uint16_t cs;
    std::uint16_t pad0;
    std::uint8_t saved_upcall_mask;
    std::uint8_t pad1[3];
    std::uint64_t rflags;
    std::uint64_t rsp;
    std::uint16_t ss;
    std::uint16_t pad2[3];
    std::uint16_t es;
    std::uint16_t pad3[3];
    std::uint16_t ds;
    std::uint16_t pad4[3];
    std::uint16_t fs;
    std::uint16_t pad5[3];
    std::uint16_t gs;
    std::uint16_t pad6[3];
};
static_assert(sizeof(cpu_user_regs) == 200);
static_assert(offsetof(cpu_user_regs, r15) == 0);
static_assert(offsetof(cpu_user_regs, r14) == 8);
static_assert(offsetof(cpu_user_regs, r13) == 16);
static_assert(offsetof(cpu_user_regs, r12) == 24);
static_assert(offsetof(cpu_user_regs, rbp) == 32);
static_assert(offsetof(cpu_user_regs, rbx) == 40);
static_assert(offsetof(cpu_user_regs, r11) == 48);
static_assert(offsetof(cpu_user_regs, r10) == 56);
static_assert(offsetof(cpu_user_regs, r9) == 64);
static_assert(offsetof(cpu_user_regs, r8) == 72);
static_assert(offsetof(cpu_user_regs, rax) == 80);
static_assert(offsetof(cpu_user_regs, rcx) == 88);
static_assert(offsetof(cpu_user_regs, rdx) == 96);
static_assert(offsetof(cpu_user_regs, rsi) == 104);
static_assert(offsetof(cpu_user_regs, rdi) == 112);
static_assert(offsetof(cpu_user_regs, error_code) == 120);
static_assert(offsetof(cpu_user_regs, entry_vector) == 124);
static_assert(offsetof(cpu_user_regs, rip) == 128);
static_assert(offsetof(cpu_user_regs, cs) == 136);
static_assert(offsetof(cpu_user_regs, saved_upcall_mask) == 140);
static_assert(offsetof(cpu_user_regs, rflags) == 144);
static_assert(offsetof(cpu_user_regs, rsp) == 152);
static_assert(offsetof(cpu_user_regs, ss) == 160);
static_assert(offsetof(cpu_user_regs, es) == 168);
static_assert(offsetof(cpu_user_regs, ds) == 176);
static_assert(offsetof(cpu_user_regs, fs) == 184);
static_assert(offsetof(cpu_user_regs, gs) == 192);

// §6.11: forced-emulation prefix `ud2a; .ascii "xen"` followed by `cpuid` (0f a2).
inline constexpr std::uint8_t XEN_EMULATE_PREFIX[5] = {0x0F, 0x0B, 0x78, 0x65, 0x6E};
inline constexpr std::size_t XEN_EMULATE_CPUID_LENGTH = 7;

// §6.11: hypervisor CPUID leaves (base 0x40000000; 0x40000100 with Viridian).
inline constexpr std::uint32_t XEN_CPUID_FIRST_LEAF = 0x40000000;
inline constexpr std::uint32_t XEN_CPUID_MAX_NUM_LEAVES = 5;
inline constexpr std::uint32_t XEN_CPUID_SIGNATURE_EBX = 0x566E6558;  // "XenV"
inline constexpr std::uint32_t XEN_CPUID_SIGNATURE_ECX = 0x65584D4D;  // "MMXe"
inline constexpr std::uint32_t XEN_CPUID_SIGNATURE_EDX = 0x4D4D566E;  // "nVMM"
inline constexpr std::uint32_t XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD = 1u << 0;  // leaf base+2 ecx

// §6.11: the PAT value a PV guest reads (it cannot change PAT).
inline constexpr std::uint64_t XEN_MSR_PAT = 0x0000050100070406ull;

}  // namespace xen
