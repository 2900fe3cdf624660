/* Entry from the boot loader: Multiboot1/Multiboot2 headers, 32-bit protected mode to 64-bit
 * long mode with boot page tables, then a jump to the image's high virtual address. */
#include "layout.h"

#define MB1_MAGIC        0x1BADB002
#define MB1_FLAGS        0x00000003          /* page-align modules, give the memory map */
#define MB2_MAGIC        0xE85250D6
#define BOOT_STACK_SIZE  4096

    .section .boot.header, "a"
    .balign 8
multiboot1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)

    .balign 8
multiboot2_header:
    .long MB2_MAGIC
    .long 0                                  /* architecture: i386 protected mode */
    .long multiboot2_header_end - multiboot2_header
    .long -(MB2_MAGIC + 0 + (multiboot2_header_end - multiboot2_header))
    .balign 8                                /* entry address tag */
    .short 3, 0
    .long 12
    .long start32
    .balign 8                                /* module alignment tag: modules page aligned */
    .short 6, 0
    .long 8
    .balign 8                                /* end tag */
    .short 0, 0
    .long 8
multiboot2_header_end:

    .section .boot.text, "ax"
    .code32
    .globl start32
start32:
    cli
    cld
    movl $boot_stack + BOOT_STACK_SIZE, %esp
    movl %eax, boot_magic
    movl %ebx, boot_info_phys

    /* Long mode is required: say so on COM1 instead of triple-faulting. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode

    /* Boot page tables: identity map and direct map of the first 4 GiB, and the image's first
     * GiB at IMAGE_VIRT_OFFSET, all with 2 MiB pages. Replaced in C++ by W^X tables. */
    movl $boot_page_tables, %edi
    movl $(boot_page_tables_end - boot_page_tables) / 4, %ecx
    xorl %eax, %eax
    rep stosl

    movl $boot_pdpt_ident + 0x3, boot_pml4 + 0 * 8
    movl $boot_pdpt_ident + 0x3, boot_pml4 + ((DIRECTMAP_BASE >> 39) & 511) * 8
    movl $boot_pdpt_image + 0x3, boot_pml4 + ((IMAGE_VIRT_OFFSET >> 39) & 511) * 8
    movl $boot_pd + 0x3, boot_pdpt_image + ((IMAGE_VIRT_OFFSET >> 30) & 511) * 8

    xorl %ecx, %ecx                          /* 4 PDPT entries -> 4 page directories */
1:  movl %ecx, %eax
    shll $12, %eax
    addl $boot_pd + 0x3, %eax
    movl %eax, boot_pdpt_ident(, %ecx, 8)
    incl %ecx
    cmpl $4, %ecx
    jne 1b

    xorl %ecx, %ecx                          /* 2048 PDEs of 2 MiB: present, writable, large */
2:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, boot_pd(, %ecx, 8)
    movl %ecx, %eax
    shrl $11, %eax
    movl %eax, boot_pd + 4(, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jne 2b

    movl %cr4, %eax
    orl $(1 << 5), %eax                      /* PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx                   /* EFER.LME */
    rdmsr
    orl $(1 << 8), %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax                    /* PG, WP, PE */
    movl %eax, %cr0

    lgdt boot_gdt_pointer
    ljmp $0x08, $start64_low

no_long_mode:
    movl $no_long_mode_message, %esi
1:  lodsb
    testb %al, %al
    jz 3f
    movb %al, %bl
    movw $0x3fd, %dx                         /* wait for the transmitter to be empty */
2:  inb %dx, %al
    testb $0x20, %al
    jz 2b
    movw $0x3f8, %dx
    movb %bl, %al
    outb %al, %dx
    jmp 1b
3:  cli
    hlt
    jmp 3b

    .code64
start64_low:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movabsq $start64, %rax
    jmp *%rax

    .section .boot.rodata, "a"
no_long_mode_message:
    .asciz "Xenolith: this CPU has no 64-bit long mode; halting.\r\n"

    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9b000000ffff                 /* 0x08: 64-bit code */
    .quad 0x00cf93000000ffff                 /* 0x10: data */
boot_gdt_end:
    .balign 8
    .globl boot_gdt_pointer
boot_gdt_pointer:
    .short boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

    .section .boot.data, "aw"
    .balign 8
    .globl boot_magic, boot_info_phys
boot_magic:     .long 0
boot_info_phys: .long 0

    .section .boot.bss, "aw", @nobits
    .balign 4096
    .globl boot_pml4
boot_page_tables:
boot_pml4:       .skip 4096
boot_pdpt_ident: .skip 4096
boot_pdpt_image: .skip 4096
boot_pd:         .skip 4 * 4096
boot_page_tables_end:
boot_stack:      .skip BOOT_STACK_SIZE

/* The low boot symbols C++ needs, as absolute values (RIP-relative code cannot reach them). */
    .section .rodata
    .balign 8
    .globl boot_pml4_address
boot_pml4_address: .quad boot_pml4

/* 64-bit code at the image's high address: clear .bss, take the BSP's stack block, run the
 * static constructors and enter C++. */
    .text
    .globl start64
start64:
    movabsq $__bss_start, %rdi
    movabsq $__bss_end, %rcx
    subq %rdi, %rcx
    shrq $3, %rcx
    xorl %eax, %eax
    rep stosq

    movabsq $bsp_stack_block + STACK_BLOCK_SIZE, %rsp
    subq $CPU_INFO_RESERVE, %rsp
    xorl %ebp, %ebp

    movabsq $__init_array_start, %rbx
1:  movabsq $__init_array_end, %rax
    cmpq %rax, %rbx
    jae 2f
    call *(%rbx)
    addq $8, %rbx
    jmp 1b
2:
    movabsq $boot_magic, %rax
    movl (%rax), %edi
    movabsq $boot_info_phys, %rax
    movl (%rax), %esi
    call boot_main
3:  cli
    hlt
    jmp 3b
