/* The hypervisor's virtual address map; shared by the linker script, assembly and C++.
 *
 * Everything lives in the PML4 slots Xen reserves for itself, 256-271
 * (0xFFFF800000000000-0xFFFF87FFFFFFFFFF, pv-abi-core.md §2.5), so that every PV
 * guest's own range stays untouched:
 *   slot 256  read-only machine-to-phys table (guests read it; filled by the memory work)
 *   slot 260  per-CPU windows (the 15-page GDT window of §2.6)
 *   slot 261  the hypervisor image (VA = IMAGE_VIRT_OFFSET + PA) and the MMIO window
 *   slots 262-271  the direct map of RAM (VA = DIRECTMAP_BASE + PA), 5 TiB
 */
#ifndef XENOLITH_LAYOUT_H
#define XENOLITH_LAYOUT_H

#define IMAGE_PHYS_BASE     0x200000
#define IMAGE_VIRT_OFFSET   0xFFFF828000000000
#define MMIO_WINDOW_BASE    0xFFFF82C000000000
#define MMIO_WINDOW_SIZE    0x0000004000000000
#define PERCPU_WINDOW_BASE  0xFFFF820000000000
#define PERCPU_WINDOW_STRIDE 0x20000  /* 15 GDT pages, the syscall stub page, its data page */
#define DIRECTMAP_BASE      0xFFFF830000000000
#define DIRECTMAP_SIZE      0x0000050000000000
#define M2P_RO_BASE         0xFFFF800000000000

/* Each CPU's stack block: naturally aligned, CpuInfo at its top (found from %rsp). */
#define STACK_BLOCK_ORDER   3
#define STACK_BLOCK_SIZE    (0x1000 << STACK_BLOCK_ORDER)
/* Pseudo-vector of a guest syscall in a TrapFrame (real vectors are 0-255). */
#define VECTOR_SYSCALL      0x100
#define CPU_INFO_RESERVE    64   /* bytes at the top of each stack block: StackTop */

/* Hypervisor selectors in the reserved GDT page (pv-abi-core.md §2.6). */
#define GDT_FIRST_RESERVED_BYTE 0xE000
#define SEL_HV_CS      0xe008
#define SEL_HV_DS      0xe010
#define SEL_RING3_CS32 0xe023
#define SEL_RING3_DS   0xe02b
#define SEL_RING3_CS64 0xe033
#define SEL_TSS        0xe040
#define SEL_LDT        0xe050
#define SEL_PERCPU     0xe060

/* Offsets in a CPU's per-CPU window (PERCPU_WINDOW_BASE + index * STRIDE). */
#define PERCPU_SYSCALL_STUB_OFFSET 0xF000
#define PERCPU_SYSCALL_DATA_OFFSET 0x10000

#endif
