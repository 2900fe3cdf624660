/* native-syscall: the bare-metal baseline of the null-hypercall benchmark.
 *
 * A Multiboot1 kernel (QEMU -kernel) that enters long mode, points LSTAR at a handler that is
 * only `sysretq`, drops to ring 3 and times `syscall` round trips from there with exactly the
 * loop the guest uses for a hypercall (../null_hypercall.cpp, loop_syscall): same registers
 * saved, same rdtsc fencing, same batches. It prints one line in the guests' format
 *   BENCH native_syscall iters=<N> ops=1 <batch cycles> ...
 * on COM1 and leaves QEMU through isa-debug-exit (port 0xf4; status (0 << 1) | 1 = 1).
 *
 * Ring 3 runs with IOPL 3 so that it can print and exit by itself: the syscall handler stays
 * a bare sysretq with no "what do you want" test on the measured path. */

#define MB1_MAGIC 0x1BADB002
#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define EFER_SCE (1 << 0)
#define EFER_LME (1 << 8)
#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)

/* GDT selectors. syscall loads CS = STAR[47:32] and SS = that + 8; 64-bit sysret loads
 * CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, both with RPL 3. */
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define STAR_HIGH ((0x10 << 16) | KERNEL_CS)

#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PS 0x80
#define RFLAGS_IOPL3 0x3000
#define RFLAGS_FIXED 0x2
/* Flags syscall clears: TF, IF, DF, NT, AC (what an OS masks). */
#define SFMASK_BITS 0x47700

#define ITERS 20000   /* the guest's default iters= */
#define BATCHES 11    /* the guest's default batches= */
#define XEN_VERSION_NR 17

    .section .multiboot, "a"
    .balign 4
    .long MB1_MAGIC
    .long 0                     /* flags: QEMU loads the ELF by its program headers */
    .long -MB1_MAGIC

    .text
    .code32
    .globl _start
_start:
    cli
    mov $boot_stack_top, %esp

    /* Identity-map the first GiB with 2 MiB pages, user-accessible: ring 3 runs the same
     * image. The tables are in .bss, which the loader zeroes. */
    movl $(pdpt + PTE_P + PTE_RW + PTE_US), pml4
    movl $(pd + PTE_P + PTE_RW + PTE_US), pdpt
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $(PTE_P + PTE_RW + PTE_US + PTE_PS), %eax
    mov %eax, pd(, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jb 1b

    /* Long mode: PAE, CR3, EFER.LME (and SCE for syscall), then paging. */
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $(EFER_LME | EFER_SCE), %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    lgdt gdt_pointer
    ljmp $KERNEL_CS, $long_mode

    .code64
long_mode:
    mov $KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $boot_stack_top, %esp

    mov $MSR_STAR, %ecx
    xor %eax, %eax
    mov $STAR_HIGH, %edx
    wrmsr
    mov $MSR_LSTAR, %ecx
    mov $syscall_entry, %eax
    xor %edx, %edx
    wrmsr
    mov $MSR_SFMASK, %ecx
    mov $SFMASK_BITS, %eax
    xor %edx, %edx
    wrmsr

    /* To ring 3. */
    pushq $USER_DS
    pushq $user_stack_top
    pushq $(RFLAGS_IOPL3 | RFLAGS_FIXED)
    pushq $USER_CS
    pushq $user_main
    iretq

/* The LSTAR handler: straight back. (A real kernel adds swapgs and a stack switch; the
 * hypervisor's entry does more, and that difference is what the benchmark shows.) */
syscall_entry:
    sysretq

/* ---- Ring 3 ---------------------------------------------------------------------------- */

/* rbx round trips; the body is the guest's loop_syscall. */
syscall_loop:
1:  mov $XEN_VERSION_NR, %eax
    xor %edi, %edi
    push %rcx
    push %r11
    syscall
    pop %r11
    pop %rcx
    dec %rbx
    jnz 1b
    ret

/* rax = serialised TSC (lfence; rdtsc; lfence, as bench::tsc()); clobbers rdx. */
read_tsc:
    lfence
    rdtsc
    lfence
    shl $32, %rdx
    or %rdx, %rax
    ret

user_main:
    mov $(ITERS / 10), %ebx     /* warm-up */
    call syscall_loop
    xor %r15d, %r15d
2:  call read_tsc
    mov %rax, %r14
    mov $ITERS, %ebx
    call syscall_loop
    call read_tsc
    sub %r14, %rax
    mov %rax, batch_cycles(, %r15, 8)
    inc %r15d
    cmp $BATCHES, %r15d
    jb 2b

    mov $text_name, %esi
    call puts
    mov $ITERS, %eax
    call put_decimal
    mov $text_ops, %esi
    call puts
    xor %r15d, %r15d
3:  mov $' ', %al
    call putc
    mov batch_cycles(, %r15, 8), %rax
    call put_decimal
    inc %r15d
    cmp $BATCHES, %r15d
    jb 3b
    mov $'\n', %al
    call putc

    xor %eax, %eax
    out %eax, $DEBUG_EXIT_PORT
4:  jmp 4b

/* al: one character to COM1 once the transmitter holds no more (LSR bit 5). Clobbers dx. */
putc:
    push %rax
    mov $(COM1 + 5), %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    pop %rax
    mov $COM1, %dx
    out %al, %dx
    ret

/* rsi: NUL-terminated string. */
puts:
1:  mov (%rsi), %al
    test %al, %al
    jz 2f
    call putc
    inc %rsi
    jmp 1b
2:  ret

/* rax: unsigned value, printed in decimal. Clobbers rcx, rdx, rdi. */
put_decimal:
    mov $decimal_end, %edi
    mov $10, %ecx
1:  xor %edx, %edx
    div %rcx
    add $'0', %dl
    dec %rdi
    mov %dl, (%rdi)
    test %rax, %rax
    jnz 1b
2:  mov (%rdi), %al
    call putc
    inc %rdi
    cmp $decimal_end, %rdi
    jb 2b
    ret

    .section .rodata
text_name:
    .asciz "BENCH native_syscall iters="
text_ops:
    .asciz " ops=1"

    .balign 8
gdt:
    .quad 0
    .quad 0x00209a0000000000    /* 0x08 kernel code: present, DPL 0, code, long mode */
    .quad 0x00cf92000000ffff    /* 0x10 kernel data: flat, writable */
    .quad 0x00cff2000000ffff    /* 0x18 user data: flat, writable, DPL 3 */
    .quad 0x0020fa0000000000    /* 0x20 user code: DPL 3, long mode */
gdt_end:
gdt_pointer:
    .word gdt_end - gdt - 1
    .long gdt

    .bss
    .balign 4096
pml4: .skip 4096
pdpt: .skip 4096
pd: .skip 4096
boot_stack: .skip 4096
boot_stack_top:
user_stack: .skip 4096
user_stack_top:
batch_cycles: .skip 8 * BATCHES
decimal_buffer: .skip 24
decimal_end:

    .section .note.GNU-stack, "", @progbits
