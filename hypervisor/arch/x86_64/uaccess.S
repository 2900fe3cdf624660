/* Copies to and from guest virtual memory that may fault. A fault inside guest_copy_bytes is
 * fixed up through the exception table (.extable) instead of panicking: the copy stops and the
 * number of bytes not copied is returned. The caller has checked that the range is a guest
 * range (never the hypervisor's slots), so only the guest's own mappings can be reached. */

    .text
    .globl guest_copy_bytes
/* size_t guest_copy_bytes(void* destination, const void* source, size_t length) */
guest_copy_bytes:
    movq %rdx, %rcx
    testb $1, smap_enabled(%rip)
    jz 1f
    stac
1:
copy_instruction:
    rep movsb
copy_done:
    testb $1, smap_enabled(%rip)
    jz 2f
    clac
2:  movq %rcx, %rax
    ret
copy_fault:
    jmp copy_done

    .section .extable, "a"
    .balign 8
    .quad copy_instruction, copy_fault
