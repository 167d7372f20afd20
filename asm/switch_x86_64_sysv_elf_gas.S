/*
 * switch_x86_64_sysv_elf_gas.S — the context switch for x86_64, System V
 * ABI, ELF, GNU assembler (AT&T syntax). This is the fully commented
 * reference; the other architectures comment where they differ.
 *
 * ABI: System V AMD64 psABI, section 3.2.1 "Registers" and figure 3.4:
 * rbx, rbp, r12-r15 and rsp belong to the caller and must be preserved
 * across a call; so must the control bits of MXCSR and the x87 control
 * word. Everything else may be clobbered. rsp is 16-byte aligned at every
 * `call` (so rsp+8 is aligned on entry to a function).
 *
 * C prototype (src/arch/mod.rs declares it for Rust):
 *
 *                                  rdi             rsi            rdx
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 *   Saves the callee-saved state of the running context on its own stack,
 *   stores the resulting stack pointer to *save_sp, loads load_sp (a stack
 *   pointer saved by an earlier switch, or made by src/arch/x86_64.rs's
 *   init_stack) and restores that context, which sees `value` as the return
 *   value of *its* call to swapctx_switch (or, for a fresh context, as the
 *   first argument of its entry function).
 *
 * The saved frame. A suspended context's saved stack pointer points at +0;
 * the frame is 64 bytes and the saved stack pointer is 16-byte aligned.
 * src/arch/x86_64.rs states these offsets as consts and its tests read a
 * suspended frame back to check every one.
 *
 *   offset  size  contents
 *   ------  ----  ---------------------------------------------
 *     +0     4    MXCSR (SSE control and status)
 *     +4     2    x87 FPU control word
 *     +6     2    padding
 *     +8     8    r15
 *    +16     8    r14
 *    +24     8    r13
 *    +32     8    r12
 *    +40     8    rbx
 *    +48     8    rbp
 *    +56     8    return address (pushed by the caller's `call`;
 *                 popped and jumped to when this side resumes)
 *    +64          the caller's frame (its rsp before the `call`)
 *
 * Pitfalls kept in mind:
 *  - Signals: a handler may run between any two instructions, on the
 *    current stack, below rsp. Everything is stored at or above rsp before
 *    rsp changes, and rsp only ever holds a valid, fully written stack
 *    pointer of one side or the other. Nothing lives in the red zone.
 *  - Return-stack buffer: the other side resumes at a different place
 *    than our `call` came from, so a `ret` there would be mispredicted on
 *    every switch (the return-stack buffer predicts our own call site). The
 *    switch pops the address and jumps to it instead: the indirect-branch
 *    predictor learns where the other side resumes, and the only cost is a
 *    return-stack entry that is never popped. (Coroutines, which always go
 *    back to the side that resumed them, keep call and ret paired instead:
 *    see src/arch/x86_64.rs.)
 *
 * Glossary: stmxcsr/ldmxcsr store/load the 32-bit MXCSR register; fnstcw
 * stores the x87 control word without checking for pending exceptions,
 * fldcw loads it.
 */
#include "common.h"
/*
 * The offsets below are named once, in src/arch/x86_64/layout.rs and
 * src/arch/layout.rs; build.rs writes them into layout.h as SWAPCTX_*.
 * The pushes of the raw switch fix its offsets by their order, so they
 * are checked here against the names.
 */
#include "layout.h"
#if SWAPCTX_OFF_MXCSR != 0 || SWAPCTX_OFF_X87CW != 4 || SWAPCTX_OFF_R15 != 8 \
    || SWAPCTX_OFF_R14 != 16 || SWAPCTX_OFF_R13 != 24 || SWAPCTX_OFF_R12 != 32 \
    || SWAPCTX_OFF_RBX != 40 || SWAPCTX_OFF_RBP != 48 || SWAPCTX_OFF_RET != 56 \
    || SWAPCTX_FRAME_SIZE != 64
#error "the raw switch's pushes do not match src/arch/x86_64/layout.rs"
#endif
#if SWAPCTX_INIT_OFF_TRAMPOLINE != 0 || SWAPCTX_CO_OFF_RESUME != 0
#error "coroutine_enter pops the first word: the resume address must be at +0"
#endif
#if SWAPCTX_CO_FRAME_SIZE >= 128 || SWAPCTX_SLOT_LINK + 8 >= 64
#error "the CFI expressions below encode these as one-byte LEB128 numbers"
#endif

FUNC_BEGIN(SYM(switch))
    .cfi_startproc
    CET_ENDBR
    /* On entry: rsp -> return address, CFA = rsp + 8. */
    pushq   %rbp                    /* save rbp            -> +48 */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq   %rbx                    /* save rbx            -> +40 */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq   %r12                    /* save r12            -> +32 */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    pushq   %r13                    /* save r13            -> +24 */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq   %r14                    /* save r14            -> +16 */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq   %r15                    /* save r15            -> +8  */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    subq    $SWAPCTX_OFF_R15, %rsp  /* room for the FP control words */
    .cfi_adjust_cfa_offset 8
    stmxcsr SWAPCTX_OFF_MXCSR(%rsp) /* save MXCSR          -> +0  */
    fnstcw  SWAPCTX_OFF_X87CW(%rsp) /* save x87 control word -> +4 */

    movq    %rsp, (%rdi)            /* *save_sp = our stack pointer */
    movq    %rsi, %rsp              /* switch: now on the other stack; its
                                       frame has the same layout, so the
                                       CFI above describes it as well */
    movq    %rdx, %rax              /* the value crosses as the return value */

    ldmxcsr SWAPCTX_OFF_MXCSR(%rsp) /* restore MXCSR       <- +0  */
    fldcw   SWAPCTX_OFF_X87CW(%rsp) /* restore x87 control word <- +4 */
    addq    $SWAPCTX_OFF_R15, %rsp
    .cfi_adjust_cfa_offset -8
    popq    %r15                    /* restore r15         <- +8  */
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r15
    popq    %r14                    /* restore r14         <- +16 */
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r14
    popq    %r13                    /* restore r13         <- +24 */
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r13
    popq    %r12                    /* restore r12         <- +32 */
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r12
    popq    %rbx                    /* restore rbx         <- +40 */
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbx
    popq    %rbp                    /* restore rbp         <- +48 */
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbp
    popq    %rcx                    /* the other side's resume address <- +56 */
    .cfi_adjust_cfa_offset -8
    .cfi_register %rip, %rcx
    jmpq    *%rcx                   /* resume it: a jmp, not a ret (see above) */
    .cfi_endproc
FUNC_END(SYM(switch))

/*
 * The first code a fresh context runs. init_stack builds a saved frame
 * whose return address is this trampoline, with
 *
 *   r12 = entry function, rbx = its data pointer,
 *   r13 = the function to call if entry ever returns (it must not),
 *   rbp = 0 (frame-pointer walkers stop here),
 *
 * so the switch's final jump lands here with rax = the value that was
 * passed and rsp 16-byte aligned (init_stack reserves 16 bytes above the
 * frame).
 *
 *                                   rdi             rsi
 *   noreturn void entry(uintptr_t value, void *data);
 */
FUNC_BEGIN(SYM(trampoline))
    .cfi_startproc
    .cfi_undefined %rip             /* no caller: backtraces end here */
    CET_ENDBR
    movq    %rax, %rdi              /* arg 1: the value of the first switch */
    movq    %rbx, %rsi              /* arg 2: the data pointer from init_stack */
    callq   *%r12                   /* entry(value, data) */
    /* entry returned, which it must never do: report and abort. */
    movq    %r12, %rdi              /* arg 1: the entry that returned */
    callq   *%r13                   /* on_return(entry): does not return */
    ud2                             /* in case it does: fault, never run on */
    .cfi_endproc
FUNC_END(SYM(trampoline))

/*
 * The way into a coroutine, called by `resume` (src/arch/x86_64.rs) after
 * it pushed rbp and rbx; r12 = the coroutine's slots [link, this] (the
 * slots register, which both sides keep: the coroutine gets it unchanged),
 * rdi = the value. The `call` that got here pushed the resumer's resume
 * address; the coroutine's `suspend` comes back with the `ret` that
 * matches it.
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .cfi_startproc
    movq    %rsp, SWAPCTX_SLOT_LINK(%r12) /* link = resumer's sp (its return address on top) */
    movq    SWAPCTX_SLOT_THIS(%r12), %rsp /* load the coroutine's saved sp */
    .cfi_undefined %rip             /* (the rest is the coroutine's: no caller to walk to) */
    popq    %rcx                    /* its resume address */
    jmpq    *%rcx                   /* resume it; rdi carries the value */
    .cfi_endproc
FUNC_END(SYM(coroutine_enter))

/*
 * The coroutine layer's trampoline. Coroutines switch with inline asm in
 * src/arch/x86_64.rs (`resume`/`suspend`), which saves only rbx, rbp and
 * a resume address and lets the compiler save whatever else is live. A
 * fresh coroutine's stack, as `init_coroutine` leaves it:
 *
 *   slots - 32:  address of this trampoline   <- the coroutine's saved sp
 *   slots - 24:  entry function
 *   slots - 16:  data pointer
 *   slots -  8:  0 (padding)
 *   slots     :  the coroutine's two stack-pointer slots (16-byte aligned)
 *
 * `coroutine_enter` (above) pops the first word and jumps to it, so this
 * runs with rdi = the value of the first resume and rsp = slots - 24.
 *
 *                                   rdi             rsi
 *   noreturn void entry(uintptr_t value, void *data);
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .cfi_startproc
    .cfi_undefined %rip             /* until rsp = slots: no caller */
    CET_ENDBR
    movq    SWAPCTX_INIT_OFF_ENTRY-8(%rsp), %rax /* the entry function */
    movq    SWAPCTX_INIT_OFF_DATA-8(%rsp), %rsi /* arg 2: the data pointer */
    addq    $SWAPCTX_COROUTINE_INIT_SIZE-8, %rsp /* rsp = slots: 16-byte aligned */
    /*
     * From here on, an unwinder that walks up out of the coroutine steps
     * onto the stack of whoever resumed it. The resumer is suspended in
     * `resume` (src/arch/x86_64.rs) with its saved stack pointer L in
     * slots.link = [rsp]:
     *
     *   L+0   return address, into `resume` after its `call`
     *   L+8   rbx
     *   L+16  rbp
     *   L+24  the resumer's rsp as the compiler sees it around the asm
     *
     * So the caller's frame is: CFA = [rsp] + 24, rip at CFA-24, rbx at
     * CFA-16, rbp at CFA-8. The CFA rule is a DWARF expression:
     *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
     *   0x77 0x00  DW_OP_breg7 (rsp) + 0
     *   0x06       DW_OP_deref          -> L
     *   0x23 0x18  DW_OP_plus_uconst 24 -> L + 24
     * (A coroutine only runs while resumed, so the link is always valid
     * here; src/arch/x86_64.rs checks these offsets against `resume`.)
     */
    .cfi_escape 0x0f, 0x05, 0x77, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %rip, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %rbx, SWAPCTX_CO_OFF_RBX - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %rbp, SWAPCTX_CO_OFF_RBP - SWAPCTX_CO_FRAME_SIZE
    /*
     * Enter the entry function as if called from here, but with a jump: a
     * `call` would push a return-stack entry that is never popped (the
     * entry ends in a switch whose `ret` goes back into `resume`), and
     * that `ret` would then be predicted to come back here: one
     * mispredicted return per coroutine. Pushing the return address by
     * hand leaves the return-stack buffer paired with `resume`'s call.
     */
    leaq    1f(%rip), %rcx          /* the return address an unwinder sees */
    pushq   %rcx                    /* rsp = slots - 8, as after a call */
    /* Between the push and the jump, L is at [rsp + 8]. */
    .cfi_escape 0x0f, 0x05, 0x77, SWAPCTX_SLOT_LINK + 8, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    jmpq    *%rax                   /* entry(value, data): never returns */
    /*
     * The pushed return address is 1f; an unwinder looks up the row of the
     * byte before it, this nop's, where rsp = slots again (it has popped
     * the return address): back to CFA = [rsp] + 24. Never executed.
     */
    .cfi_escape 0x0f, 0x05, 0x77, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    nop
1:  ud2                             /* if the entry returns: fault, never run on */
    .cfi_endproc
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back: `swapctx::on_stack`
 * and `Yielder::on_parent_stack` (src/coroutine/on_stack.rs). A plain C
 * function, so the compiler saves around it what the C ABI says:
 *
 *                                   rdi          rsi        rdx
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg));
 *
 * calls f(arg) with rsp = sp (16-byte aligned, the top of the other
 * stack) and returns on the caller's stack. f must not unwind (the Rust
 * side catches every panic on the other stack). rbp, callee-saved, holds
 * our frame on the caller's stack while f runs, so the CFA rule
 * "rbp + 16" walks from f's frames back into the caller's: backtraces,
 * debuggers and the unwinder see one call chain across the two stacks.
 */
FUNC_BEGIN(SYM(on_stack))
    .cfi_startproc
    CET_ENDBR
    pushq   %rbp                    /* save the caller's rbp */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    movq    %rsp, %rbp              /* rbp = our frame, on the caller's stack */
    .cfi_def_cfa_register %rbp      /* CFA = rbp + 16, wherever rsp goes */
    movq    %rsi, %rsp              /* onto the other stack (16-byte aligned) */
    callq   *%rdx                   /* f(arg); rdi already holds arg */
    movq    %rbp, %rsp              /* back onto the caller's stack */
    .cfi_def_cfa_register %rsp
    popq    %rbp                    /* restore the caller's rbp */
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbp
    ret
    .cfi_endproc
FUNC_END(SYM(on_stack))

/*
 * Where a coroutine stopped by a trap continues (src/coroutine/trap.rs).
 * Nothing calls it: an embedder's signal handler rewrites the interrupted
 * context (src/arch/x86_64.rs, `set_trap_return`) so that the return from
 * the handler lands here, with
 *
 *   rsp = 16-byte aligned, on the coroutine's stack below the trap's data,
 *   rbx = the coroutine's slots [link, this], r12 = the entry function,
 *   rdi = the trap's data, rsi = the slots, rbp = 0.
 *
 *                                   rdi          rsi
 *   noreturn void entry(void *data, void *slots);
 *
 * The entry makes the coroutine's last switch to its resumer. For
 * unwinders this frame's caller is the resumer, as for the coroutine
 * trampoline, but found through rbx (callee-saved, so the entry keeps it
 * or says where it saved it): the resumer's saved sp L is in
 * slots.link = [rbx], and CFA = L + 24:
 *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
 *   0x73 0x00  DW_OP_breg3 (rbx) + 0
 *   0x06       DW_OP_deref          -> L
 *   0x23 0x18  DW_OP_plus_uconst 24 -> L + 24
 */
FUNC_BEGIN(SYM(trap_trampoline))
    .cfi_startproc
    .cfi_escape 0x0f, 0x05, 0x73, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %rip, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %rbx, SWAPCTX_CO_OFF_RBX - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %rbp, SWAPCTX_CO_OFF_RBP - SWAPCTX_CO_FRAME_SIZE
    CET_ENDBR
    callq   *%r12                   /* entry(data, slots): never returns */
    ud2                             /* if it does: fault, never run on */
    .cfi_endproc
FUNC_END(SYM(trap_trampoline))

NOTE_GNU_STACK
NOTE_GNU_PROPERTY
