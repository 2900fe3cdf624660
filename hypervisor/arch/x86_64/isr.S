/* Interrupt and exception entry: 256 stubs that push a uniform (vector, error code) pair, and the
 * common path that saves every register into a TrapFrame and calls handle_trap(). */

    .text
    .balign 16
    .globl interrupt_stubs
interrupt_stubs:
    vector = 0
    .rept 256
    .balign 16
    .if vector == 8 || vector == 10 || vector == 11 || vector == 12 || vector == 13 || vector == 14 || vector == 17 || vector == 21 || vector == 29 || vector == 30
    .else
    pushq $0                                 /* no error code from the CPU: push a zero */
    .endif
    pushq $vector
    jmp interrupt_common
    vector = vector + 1
    .endr

    .globl interrupt_common
interrupt_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld
    movq %rsp, %rdi
    call handle_trap
    .globl restore_frame_and_iret
restore_frame_and_iret:
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp                           /* vector and error code */
    .globl frame_iret_instruction
frame_iret_instruction:
    iretq
