/* Guest entry and exit. A guest's `syscall` arrives through its CPU's stub (syscall_stub.cpp),
 * which has switched to the CPU's stack and pushed ss and the guest rsp; here the rest of a
 * TrapFrame is pushed so every guest entry, syscall or trap, leaves the same frame at the top
 * of the stack. Exits go through restore_frame_and_iret in isr.S. */
#include "layout.h"

    .text
    .globl syscall_entry
syscall_entry:
    pushq %r11                               /* rflags, as syscall saved them */
    pushq $SEL_RING3_CS64                    /* cs */
    pushq %rcx                               /* rip after the syscall instruction */
    pushq $0                                 /* error code */
    pushq $VECTOR_SYSCALL
    jmp interrupt_common

/* enter_guest_frame(TrapFrame*): load the frame's registers and iretq to it. */
    .globl enter_guest_frame
enter_guest_frame:
    movq %rdi, %rsp
    jmp restore_frame_and_iret

/* reset_stack_and_call(stack_pointer, function): abandon the current call chain. */
    .globl reset_stack_and_call
reset_stack_and_call:
    movq %rdi, %rsp
    xorl %ebp, %ebp
    call *%rsi
1:  cli
    hlt
    jmp 1b
