/* dmtcp_context_save(SavedContext *ctx): records the callee-saved registers,
 * the stack pointer and return address; returns 0.  When the context is
 * resumed (dmtcp_context_restore, or the restorer after a restart) the same
 * call returns 1.  Layout: core/restore_raw/saved_context.h. */
    .text
    .globl dmtcp_context_save
    .hidden dmtcp_context_save
    .type dmtcp_context_save, @function
dmtcp_context_save:
    .cfi_startproc
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rdx
    movq %rdx, 48(%rdi)
    movq (%rsp), %rdx
    movq %rdx, 56(%rdi)
    stmxcsr 72(%rdi)
    fnstcw 76(%rdi)
    xorl %eax, %eax
    ret
    .cfi_endproc
    .size dmtcp_context_save, .-dmtcp_context_save

/* dmtcp_context_restore(const SavedContext *ctx, int value): jumps back into
 * ctx, making its dmtcp_context_save return value.  The caller has already
 * set the thread pointer. */
    .globl dmtcp_context_restore
    .hidden dmtcp_context_restore
    .type dmtcp_context_restore, @function
dmtcp_context_restore:
    .cfi_startproc
    ldmxcsr 72(%rdi)
    fldcw 76(%rdi)
    movq 0(%rdi), %rbx
    movq 8(%rdi), %rbp
    movq 16(%rdi), %r12
    movq 24(%rdi), %r13
    movq 32(%rdi), %r14
    movq 40(%rdi), %r15
    movq 48(%rdi), %rsp
    movl %esi, %eax
    jmpq *56(%rdi)
    .cfi_endproc
    .size dmtcp_context_restore, .-dmtcp_context_restore

    .section .note.GNU-stack,"",@progbits
