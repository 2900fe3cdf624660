/* Exception, event and failsafe entry stubs of the test kernels.
 *
 * The hypervisor enters each stub with the bounce frame of pv-abi-core.md §6.4 at rsp:
 * rcx, r11, [error code], rip, cs, rflags, rsp, ss. Each stub pops rcx/r11 (the hypervisor
 * returned with sysretq, which destroyed them), pushes a zero error code where the CPU gives
 * none and the vector, and joins trap_common, which saves the GPRs, calls the C++ dispatcher
 * with a TrapFrame, restores everything and returns with HYPERVISOR_iret (§6.9). */
#include "asm_abi.h"

    .section .text, "ax", @progbits

.macro TRAP_NOERR vector
    .globl xt_trap_\vector
    .type xt_trap_\vector, @function
xt_trap_\vector:
    pop %rcx
    pop %r11
    push $0
    push $\vector
    jmp trap_common
    .size xt_trap_\vector, . - xt_trap_\vector
.endm

.macro TRAP_ERR vector
    .globl xt_trap_\vector
    .type xt_trap_\vector, @function
xt_trap_\vector:
    pop %rcx
    pop %r11
    push $\vector
    jmp trap_common
    .size xt_trap_\vector, . - xt_trap_\vector
.endm

/* §6.6: vectors 8, 10-14, 17, 21, 29, 30 carry an error code. */
TRAP_NOERR 0
TRAP_NOERR 1
TRAP_NOERR 2
TRAP_NOERR 3
TRAP_NOERR 4
TRAP_NOERR 5
TRAP_NOERR 6
TRAP_NOERR 7
TRAP_ERR 8
TRAP_NOERR 9
TRAP_ERR 10
TRAP_ERR 11
TRAP_ERR 12
TRAP_ERR 13
TRAP_ERR 14
TRAP_NOERR 15
TRAP_NOERR 16
TRAP_ERR 17
TRAP_NOERR 18
TRAP_NOERR 19
TRAP_NOERR 20
TRAP_ERR 21
TRAP_NOERR 22
TRAP_NOERR 23
TRAP_NOERR 24
TRAP_NOERR 25
TRAP_NOERR 26
TRAP_NOERR 27
TRAP_NOERR 28
TRAP_ERR 29
TRAP_ERR 30
TRAP_NOERR 31
TRAP_NOERR 128

/* §6.7: the event callback gets a frame without error code, events masked. */
    .globl xt_event_callback
    .type xt_event_callback, @function
xt_event_callback:
    pop %rcx
    pop %r11
    push $0
    push $XT_VECTOR_EVENT
    jmp trap_common
    .size xt_event_callback, . - xt_event_callback

/* §6.8: the failsafe frame is rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss. The four
 * selectors are dropped (null selectors are already loaded); the rest is a normal frame. */
    .globl xt_failsafe_callback
    .type xt_failsafe_callback, @function
xt_failsafe_callback:
    pop %rcx
    pop %r11
    add $32, %rsp
    push $0
    push $XT_VECTOR_FAILSAFE
    jmp trap_common
    .size xt_failsafe_callback, . - xt_failsafe_callback

/* Stack on entry: vector, error code, rip, cs, rflags, rsp, ss. Builds xt::TrapFrame below. */
    .type trap_common, @function
trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    sub $8, %rsp                /* cr2 slot, filled by the dispatcher for #PF */
    cld                         /* the C++ ABI wants DF clear; the interrupted code may have set it */
    mov %rsp, %rdi
    mov %rsp, %rbx
    and $-16, %rsp              /* the bounce frame may leave rsp 8 mod 16 */
    call xt_trap_dispatch
    mov %rbx, %rsp
    add $8, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp               /* vector, error code */
    /* rsp -> rip, cs, rflags, rsp, ss: complete the iret_context (§6.9) and return. */
    push $0                     /* flags: not VGCF_in_syscall, so rcx/r11 are restored */
    cmpb $0, xt_iret_via_page(%rip)
    jne 1f
    push %rcx
    push %r11
    push %rax
    mov $XT_HYPERVISOR_iret, %eax
    syscall                     /* inline HYPERVISOR_iret, as Linux issues it (§4.3) */
    ud2                         /* HYPERVISOR_iret never returns */
1:  jmp *xt_iret_stub_address(%rip)  /* the page's iret stub pushes rcx, r11, rax itself (§4.1) */
    .size trap_common, . - trap_common

    .section .note.GNU-stack, "", @progbits

/* Addresses of the stubs for vectors 0-31, for the C++ trap-table builder. */
    .section .rodata, "a", @progbits
    .balign 8
    .globl xt_trap_stubs
xt_trap_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad xt_trap_\v
    .endr
    .globl xt_trap_stub_128
xt_trap_stub_128:
    .quad xt_trap_128

    .section .note.GNU-stack, "", @progbits
