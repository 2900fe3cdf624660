/* ABI numbers the assembly files need, as plain #defines (assembly cannot include the C++
 * headers). asm_abi_check.cpp static_asserts each one against guest-abi/. */
#ifndef XT_ASM_ABI_H
#define XT_ASM_ABI_H

/* pv-abi-core.md §1.2: ELF note types. */
#define XT_ELFNOTE_ENTRY 1
#define XT_ELFNOTE_HYPERCALL_PAGE 2
#define XT_ELFNOTE_VIRT_BASE 3
#define XT_ELFNOTE_PADDR_OFFSET 4
#define XT_ELFNOTE_XEN_VERSION 5
#define XT_ELFNOTE_GUEST_OS 6
#define XT_ELFNOTE_LOADER 8
#define XT_ELFNOTE_FEATURES 10

/* pv-abi-core.md §5.1 / §6.9: HYPERVISOR_iret and its hypercall-page stub offset (§4.1). */
#define XT_HYPERVISOR_iret 23
#define XT_HYPERCALL_STUB_SIZE 32

/* Where the test kernels live (must match linker.ld; guests.notes checks it). */
#define XT_VIRT_BASE 0xffffffff80000000

/* Pseudo-vectors the entry stubs hand to the C++ dispatcher for callbacks (not IDT vectors). */
#define XT_VECTOR_EVENT 0x100
#define XT_VECTOR_FAILSAFE 0x101

/* Size of the register block trap_common pushes below the vector (see xt/traps.hpp). */
#define XT_TRAPFRAME_SIZE 184

#endif
