/*
 * switch_aarch64_aapcs_elf_gas.S — the context switch for aarch64, AAPCS64,
 * ELF, GNU assembler. asm/switch_x86_64_sysv_elf_gas.S is the fully
 * commented reference; this file comments where aarch64 differs.
 *
 * ABI: Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64),
 * section 6.1.1 "General-purpose registers": x19-x28 are callee-saved, x29
 * is the frame pointer, x30 (lr) holds the return address; section 6.1.2
 * "SIMD and Floating-Point registers": only the low 64 bits of v8-v15
 * (d8-d15) are callee-saved. sp must be 16-byte aligned at all times when
 * it is used to access memory, so the frame is a multiple of 16.
 *
 *                                   x0              x1             x2
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 * The saved frame (160 bytes, saved sp 16-byte aligned, checked by
 * src/arch/aarch64.rs):
 *
 *   offset  contents        offset  contents
 *   ------  --------        ------  --------
 *     +0    d8               +64    x19
 *     +8    d9               +72    x20
 *    +16    d10              +80    x21
 *    +24    d11              +88    x22
 *    +32    d12              +96    x23
 *    +40    d13             +104    x24
 *    +48    d14             +112    x25
 *    +56    d15             +120    x26
 *                           +128    x27
 *                           +136    x28
 *                           +144    x29 (frame pointer)
 *                           +152    x30 (lr: where this side resumes)
 *
 * Unlike x86_64 the return address is not on the stack but in x30, so it
 * is saved in the frame like any other register, and `ret` jumps to the
 * restored x30. There is no red zone on aarch64: nothing is ever stored
 * below sp.
 */
#include "common.h"
/*
 * The offsets below are named once, in src/arch/aarch64/layout.rs and
 * src/arch/layout.rs; build.rs writes them into layout.h as SWAPCTX_*.
 * What the code fixes by its shape is checked here against the names.
 */
#include "layout.h"
#if SWAPCTX_INIT_OFF_TRAMPOLINE != 0 || SWAPCTX_CO_OFF_RESUME != 0
#error "coroutine_enter pops the first pair: the resume address must be at +0"
#endif
#if SWAPCTX_INIT_OFF_ENTRY != 16 || SWAPCTX_INIT_OFF_DATA != 24 || SWAPCTX_COROUTINE_INIT_SIZE != 32
#error "the coroutine trampoline loads the entry and its data as one pair from +16"
#endif
#if SWAPCTX_CO_FRAME_SIZE >= 128 || SWAPCTX_SLOT_LINK >= 64
#error "the CFI expressions below encode these as one-byte LEB128 numbers"
#endif

FUNC_BEGIN(SYM(switch))
    .cfi_startproc
    BTI_C
    sub     sp, sp, #160            /* make the frame (sp stays aligned) */
    .cfi_def_cfa_offset 160
    stp     x29, x30, [sp, #144]    /* save fp, lr           -> +144, +152 */
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    stp     x27, x28, [sp, #128]    /* save x27, x28         -> +128, +136 */
    .cfi_offset x27, -32
    .cfi_offset x28, -24
    stp     x25, x26, [sp, #112]    /* save x25, x26         -> +112, +120 */
    .cfi_offset x25, -48
    .cfi_offset x26, -40
    stp     x23, x24, [sp, #96]     /* save x23, x24         -> +96, +104 */
    .cfi_offset x23, -64
    .cfi_offset x24, -56
    stp     x21, x22, [sp, #80]     /* save x21, x22         -> +80, +88 */
    .cfi_offset x21, -80
    .cfi_offset x22, -72
    stp     x19, x20, [sp, #64]     /* save x19, x20         -> +64, +72 */
    .cfi_offset x19, -96
    .cfi_offset x20, -88
    stp     d14, d15, [sp, #48]     /* save d14, d15         -> +48, +56 */
    .cfi_offset d14, -112
    .cfi_offset d15, -104
    stp     d12, d13, [sp, #32]     /* save d12, d13         -> +32, +40 */
    .cfi_offset d12, -128
    .cfi_offset d13, -120
    stp     d10, d11, [sp, #16]     /* save d10, d11         -> +16, +24 */
    .cfi_offset d10, -144
    .cfi_offset d11, -136
    stp     d8, d9, [sp, #0]        /* save d8, d9           -> +0, +8 */
    .cfi_offset d8, -160
    .cfi_offset d9, -152

    mov     x9, sp                  /* sp cannot be stored directly */
    str     x9, [x0]                /* *save_sp = our stack pointer */
    mov     sp, x1                  /* switch: now on the other stack */
    mov     x0, x2                  /* the value crosses as the return value */

    ldp     d8, d9, [sp, #0]        /* restore d8, d9        <- +0, +8 */
    ldp     d10, d11, [sp, #16]     /* restore d10, d11      <- +16, +24 */
    ldp     d12, d13, [sp, #32]     /* restore d12, d13      <- +32, +40 */
    ldp     d14, d15, [sp, #48]     /* restore d14, d15      <- +48, +56 */
    ldp     x19, x20, [sp, #64]     /* restore x19, x20      <- +64, +72 */
    ldp     x21, x22, [sp, #80]     /* restore x21, x22      <- +80, +88 */
    ldp     x23, x24, [sp, #96]     /* restore x23, x24      <- +96, +104 */
    ldp     x25, x26, [sp, #112]    /* restore x25, x26      <- +112, +120 */
    ldp     x27, x28, [sp, #128]    /* restore x27, x28      <- +128, +136 */
    ldp     x29, x30, [sp, #144]    /* restore fp, lr        <- +144, +152 */
    add     sp, sp, #160            /* drop the frame */
    .cfi_def_cfa_offset 0
    .cfi_restore x19
    .cfi_restore x20
    .cfi_restore x21
    .cfi_restore x22
    .cfi_restore x23
    .cfi_restore x24
    .cfi_restore x25
    .cfi_restore x26
    .cfi_restore x27
    .cfi_restore x28
    .cfi_restore x29
    .cfi_restore x30
    .cfi_restore d8
    .cfi_restore d9
    .cfi_restore d10
    .cfi_restore d11
    .cfi_restore d12
    .cfi_restore d13
    .cfi_restore d14
    .cfi_restore d15
    ret                             /* resume the other side at x30 */
    .cfi_endproc
FUNC_END(SYM(switch))

/*
 * init_stack (src/arch/aarch64.rs) builds a frame with
 *   x30 = this trampoline, x19 = entry, x20 = data, x21 = on_return,
 *   x29 = 0 (frame-pointer walkers stop here),
 * and the switch's `ret` lands here with x0 = the value that was passed.
 *
 *   noreturn void entry(uintptr_t value /+ x0 +/, void *data /+ x1 +/);
 */
FUNC_BEGIN(SYM(trampoline))
    .cfi_startproc
    .cfi_undefined x30              /* no caller: backtraces end here */
    BTI_C
    mov     x1, x20                 /* arg 2: the data pointer; x0 already
                                       holds the value of the first switch */
    blr     x19                     /* entry(value, data) */
    mov     x0, x19                 /* entry returned: arg 1 = that entry */
    blr     x21                     /* on_return(entry): does not return */
    brk     #0                      /* in case it does: trap, never run on */
    .cfi_endproc
FUNC_END(SYM(trampoline))

/*
 * The way into a coroutine, called with `bl` by `resume`
 * (src/arch/aarch64.rs) after it saved x29 and x19; x1 = the coroutine's
 * slots [link, this], x0 = the value, x30 = the resumer's resume address.
 * The coroutine's `suspend` comes back with the `ret` that matches the `bl`.
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .cfi_startproc
    BTI_C                           /* reached by `bl`; a pad anyway, as every function has */
    str     x30, [sp, #-16]!        /* push the resumer's resume address */
    .cfi_def_cfa_offset 16          /* (CFA = sp + 16: the resumer's sp) */
    .cfi_offset x30, -16            /* its return address, just pushed */
    mov     x9, sp
    str     x9, [x1, #SWAPCTX_SLOT_LINK] /* link = resumer's sp */
    ldr     x9, [x1, #SWAPCTX_SLOT_THIS]
    mov     sp, x9                  /* load the coroutine's saved sp */
    .cfi_undefined x30              /* (the rest is the coroutine's: no caller to walk to) */
    ldr     x9, [sp], #16           /* pop its resume address */
    br      x9                      /* resume it; x0 carries the value */
    .cfi_endproc
FUNC_END(SYM(coroutine_enter))

/*
 * The coroutine layer's trampoline (see the x86_64 file for the scheme).
 * A fresh coroutine's stack, as `init_coroutine` leaves it:
 *
 *   slots - 32:  address of this trampoline   <- the coroutine's saved sp
 *   slots - 24:  0 (padding)
 *   slots - 16:  entry function
 *   slots -  8:  data pointer
 *   slots     :  the coroutine's two stack-pointer slots (16-byte aligned)
 *
 * `coroutine_enter` (below) pops the first pair, the address of this
 * trampoline, and branches here (`br x9`, so the landing pad is `bti j`)
 * with x0 = the value of the first resume and sp = slots - 16.
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .cfi_startproc
    .cfi_undefined x30              /* until sp = slots: no caller */
    BTI_J
    ldp     x16, x1, [sp], #16      /* entry (x16: see below); arg 2: the data pointer; sp = slots */
    /*
     * From here on an unwinder steps onto the resumer's stack (see the
     * x86_64 file). The resumer's saved sp L is in slots.link = [sp]:
     *   L+0 x30 (into `resume`), L+8 unused, L+16 x29, L+24 x19,
     *   L+32 the resumer's sp as the compiler sees it around the asm.
     * CFA = [sp] + 32:
     *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
     *   0x8f 0x00  DW_OP_breg31 (sp) + 0
     *   0x06       DW_OP_deref          -> L
     *   0x23 0x20  DW_OP_plus_uconst 32 -> L + 32
     */
    .cfi_escape 0x0f, 0x05, 0x8f, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset x30, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset x29, SWAPCTX_CO_OFF_X29 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset x19, SWAPCTX_CO_OFF_X19 - SWAPCTX_CO_FRAME_SIZE
    /*
     * Enter the entry function as if called from here, but with a plain
     * branch: `blr` would push a return-stack entry that is never popped
     * (the entry ends in a switch whose `ret` goes back into `resume`),
     * and that `ret` would be predicted to come back here. Setting x30 by
     * hand keeps the return-stack predictor paired with `resume`'s `bl`.
     * x16 so that a `bti c` landing pad accepts the `br`.
     */
    adr     x30, 1f                 /* the return address an unwinder sees */
    br      x16                     /* entry(value, data): never returns */
    nop                             /* unwinders look up x30 - 1, inside this nop: its row. Never run */
1:  brk     #0                      /* if the entry returns: trap */
    .cfi_endproc
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back (see the x86_64 file):
 *
 *                                   x0           x1         x2
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg));
 *
 * x29 holds our frame on the caller's stack while f runs: CFA = x29 + 16.
 */
FUNC_BEGIN(SYM(on_stack))
    .cfi_startproc
    BTI_C
    stp     x29, x30, [sp, #-16]!   /* save fp and the return address */
    .cfi_def_cfa_offset 16
    .cfi_offset x29, -16
    .cfi_offset x30, -8
    mov     x29, sp                 /* x29 = our frame, on the caller's stack */
    .cfi_def_cfa x29, 16            /* CFA = x29 + 16, wherever sp goes */
    mov     sp, x1                  /* onto the other stack (16-byte aligned) */
    blr     x2                      /* f(arg); x0 already holds arg */
    mov     sp, x29                 /* back onto the caller's stack */
    .cfi_def_cfa sp, 16
    ldp     x29, x30, [sp], #16     /* restore fp and the return address */
    .cfi_def_cfa_offset 0
    .cfi_restore x29
    .cfi_restore x30
    ret
    .cfi_endproc
FUNC_END(SYM(on_stack))

/*
 * Where a coroutine stopped by a trap continues (see the x86_64 file):
 * entered by the return from a signal handler with sp 16-byte aligned,
 * x19 = the slots, x20 = the entry function, x0 = the trap's data,
 * x1 = the slots, x29 = x30 = 0. The resumer's saved sp L is in
 * slots.link = [x19]; CFA = L + 32 (as for the coroutine trampoline):
 *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
 *   0x83 0x00  DW_OP_breg19 (x19) + 0
 *   0x06       DW_OP_deref          -> L
 *   0x23 0x20  DW_OP_plus_uconst 32 -> L + 32
 */
FUNC_BEGIN(SYM(trap_trampoline))
    .cfi_startproc
    .cfi_escape 0x0f, 0x05, 0x83, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset x30, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset x29, SWAPCTX_CO_OFF_X29 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset x19, SWAPCTX_CO_OFF_X19 - SWAPCTX_CO_FRAME_SIZE
    BTI_C                           /* not a branch target; a pad, as every function has */
    blr     x20                     /* entry(data, slots): never returns */
    brk     #0                      /* if it does: trap */
    .cfi_endproc
FUNC_END(SYM(trap_trampoline))

NOTE_GNU_STACK
NOTE_GNU_PROPERTY
