/* Application-processor start-up code. The BSP copies this blob to a page below 1 MiB, fills in
 * the data fields and sends INIT-SIPI-SIPI; the AP starts here in real mode at CS:0 and goes
 * straight to long mode (PE and PG together), then jumps to ap_entry64 in the image. */
#include "layout.h"

    .section .rodata.trampoline, "a"
    .balign 16
    .globl ap_trampoline_start, ap_trampoline_end
    .globl tramp_cr3, tramp_cr4, tramp_efer, tramp_entry64, tramp_stack
    .globl tramp_gdt_pointer, tramp_gdt, tramp_far_pointer, tramp_code64, tramp_alive

    .code16
ap_trampoline_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl tramp_gdt_pointer - ap_trampoline_start
    movl tramp_cr4 - ap_trampoline_start, %eax
    movl %eax, %cr4
    movl tramp_cr3 - ap_trampoline_start, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    movl tramp_efer - ap_trampoline_start, %eax
    movl tramp_efer - ap_trampoline_start + 4, %edx
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax                    /* PG, WP, PE */
    movl %eax, %cr0
    ljmpl *(tramp_far_pointer - ap_trampoline_start)

    .code64
tramp_code64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movq tramp_stack(%rip), %rsp
    movl $1, tramp_alive(%rip)
    jmp *tramp_entry64(%rip)

    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00af9b000000ffff                 /* 0x08: 64-bit code */
    .quad 0x00cf93000000ffff                 /* 0x10: data */
tramp_gdt_end:
tramp_gdt_pointer:
    .short tramp_gdt_end - tramp_gdt - 1
    .long 0                                  /* patched: physical address of tramp_gdt */
    .balign 8
tramp_far_pointer:
    .long 0                                  /* patched: physical address of tramp_code64 */
    .short 0x08
    .balign 8
tramp_cr3:      .quad 0
tramp_cr4:      .quad 0
tramp_efer:     .quad 0
tramp_entry64:  .quad 0
tramp_stack:    .quad 0
tramp_alive:    .long 0
ap_trampoline_end:

/* The AP's first code in the image: switch to the final page tables, then C++. */
    .text
    .globl ap_entry64
ap_entry64:
    movabsq $idle_page_table_root, %rax
    movq (%rax), %rax
    movq %rax, %cr3
    xorl %ebp, %ebp
    call ap_main
1:  cli
    hlt
    jmp 1b
