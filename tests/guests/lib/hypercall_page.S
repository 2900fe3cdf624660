/* The hypercall page and its ELF note, linked only into guests that ask for one
 * (add_test_guest(... HYPERCALL_PAGE)). The builder overwrites the page with 32-byte stubs
 * (pv-abi-core.md §4.1); until then it holds int3, so a call through an unfilled page traps. */
#include "asm_abi.h"

    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 2f - 1f
    .long 4f - 3f
    .long XT_ELFNOTE_HYPERCALL_PAGE
1:  .asciz "Xen"
2:  .balign 4
3:  .quad hypercall_page
4:  .balign 4
    .popsection

    .section .text.hypercall_page, "ax", @progbits
    .balign 4096
    .globl hypercall_page
    .type hypercall_page, @object
hypercall_page:
    .fill 4096, 1, 0xcc
    .size hypercall_page, 4096

    .section .note.GNU-stack, "", @progbits
