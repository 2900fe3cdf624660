/* Boot code and Xen ELF notes of every test kernel.
 * The builder enters at _start in guest kernel mode with rsi = start_info (pv-abi-core.md §2.7);
 * we set up our own stack in .bss and call the C++ start routine. */
#include "asm_abi.h"

/* One Xen ELF note (pv-abi-core.md §1.1): namesz 4 ("Xen\0"), descsz, type, name, desc, each
 * padded to 4 bytes. */
.macro XEN_NOTE_BEGIN type
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long \type
1:  .asciz "Xen"
2:  .balign 4
3:
.endm
.macro XEN_NOTE_END
4:  .balign 4
    .popsection
.endm
/* (gas strips the quotes of a macro argument, so strings and numbers get their own macros) */
.macro XEN_NOTE_STRING type, text
    XEN_NOTE_BEGIN \type
    .asciz "\text"
    XEN_NOTE_END
.endm
.macro XEN_NOTE_QUAD type, value
    XEN_NOTE_BEGIN \type
    .quad \value
    XEN_NOTE_END
.endm

    /* §1.2: GUEST_OS, XEN_VERSION (must start "xen-3.0"), LOADER "generic". */
    XEN_NOTE_STRING XT_ELFNOTE_GUEST_OS, "Xenolith-test"
    XEN_NOTE_STRING XT_ELFNOTE_XEN_VERSION, "xen-3.0"
    XEN_NOTE_STRING XT_ELFNOTE_LOADER, "generic"
    /* §1.2: VIRT_BASE; PADDR_OFFSET 0 so segments land by p_paddr = p_vaddr - VIRT_BASE. */
    XEN_NOTE_QUAD XT_ELFNOTE_VIRT_BASE, XT_VIRT_BASE
    XEN_NOTE_QUAD XT_ELFNOTE_PADDR_OFFSET, 0
    XEN_NOTE_QUAD XT_ELFNOTE_ENTRY, _start
    /* §1.2/§1.3: the same feature string Linux uses. */
    XEN_NOTE_STRING XT_ELFNOTE_FEATURES, "!writable_page_tables|pae_pgdir_above_4gb"

    .section .text.boot, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    lea xt_boot_stack_top(%rip), %rsp
    xor %ebp, %ebp
    mov %rsi, %rdi              /* start_info (§2.7) */
    call xt_start               /* never returns */
1:  ud2
    jmp 1b
    .size _start, . - _start

    .section .bss.stack, "aw", @nobits
    .balign 16
xt_boot_stack:
    .skip 32768
xt_boot_stack_top:

    .section .note.GNU-stack, "", @progbits
