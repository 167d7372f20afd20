/*
 * switch_arm_aapcs_elf_gas.S — the context switch for arm (ARMv7-A, AAPCS
 * with the hard-float variant: gnueabihf; and ARMv7E-M, the Cortex-M4F:
 * thumbv7em-none-eabihf), ELF, GNU assembler, unified syntax, assembled as
 * ARM (A32) code, or as Thumb-2 (T32) for a Thumb target (M-profile cores
 * have no ARM state; every instruction below has a T32 encoding). The
 * x86_64 file is the fully commented reference; this one comments in full
 * where arm differs.
 *
 * ABI: "Procedure Call Standard for the Arm Architecture" (AAPCS32),
 * section 6.1.1 "Core registers": r4-r8, r10, r11 and sp are preserved
 * across a call, and so is r9 on Linux (where it is an ordinary variable
 * register); r0-r3 and r12 (ip) are scratch; lr (r14) holds the return
 * address, so the switch saves it as the place to resume. Section 6.1.2
 * "VFP register usage conventions": d8-d15 (s16-s31) are callee-saved;
 * the FPSCR control bits (rounding mode, flush-to-zero, default NaN) must
 * be preserved across a public interface (its exception flags need not:
 * the switch saves the whole register anyway). Section 6.2.1: sp is
 * 8-byte aligned at every public interface; this file keeps it 16-byte
 * aligned like the other architectures.
 *
 * ARM and Thumb: Rust's armv7-unknown-linux-gnueabihf code is ARM code,
 * thumbv7neon-unknown-linux-gnueabihf code is Thumb-2; this file is ARM
 * code either way and works with both ("interworking"): every function is
 * typed %function (so a `bl` from Thumb code is turned into `blx` by the
 * linker), and every jump to an address held in a register is a `bx` or a
 * `blx`, which switches to Thumb state when bit 0 of the address is set.
 *
 *                                   r0              r1             r2
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 * The saved frame (112 bytes, saved sp 16-byte aligned when the caller's
 * sp was; checked by src/arch/arm.rs's const asserts and its frame test):
 *
 *   offset  contents        offset  contents
 *   ------  --------        ------  --------
 *     +0    FPSCR             +72   r4
 *     +4    padding           +76   r5
 *     +8    d8                +80   r6
 *    +16    d9                +84   r7
 *    +24    d10               +88   r8
 *    +32    d11               +92   r9
 *    +40    d12               +96   r10
 *    +48    d13              +100   r11
 *    +56    d14              +104   r12's slot (padding: r12 is scratch)
 *    +64    d15              +108   lr (where this side resumes)
 *
 * Unwinding. Two kinds of tables describe this code:
 *  - DWARF CFI (.cfi_*), in .debug_frame: for debuggers (gdb).
 *  - ARM EHABI unwind tables (.fnstart, .save, .vsave, .pad, .unwind_raw,
 *    .fnend), in .ARM.exidx/.ARM.extab: what libgcc's unwinder, and so
 *    Rust's panics and backtraces, use on arm. It does not read DWARF CFI.
 *  Each function has both; the coroutine trampolines' EHABI opcodes are
 *  decoded byte by byte below.
 *
 * Pitfalls kept in mind:
 *  - Signals: nothing is stored below sp (no red zone), and sp always
 *    holds a valid stack pointer of one side or the other.
 *  - Return-address prediction: a `bl` pushes the return stack, a
 *    `bx lr` (or a `pop` into pc) pops it. The raw switch resumes the
 *    other side with `bx lr` (mispredicted, as any switch's return is);
 *    coroutines keep `bl` and `bx lr` paired (see src/arch/arm.rs), and
 *    every other jump goes through r12 (`bx r12`), which the predictor
 *    treats as an ordinary indirect branch.
 *  - r6, and r7 or r11 (the frame pointer in Thumb or ARM code), cannot
 *    be operands of Rust's inline asm: the coroutine switch saves all
 *    three by hand.
 *
 * DWARF register numbers: r0-r15 are 0-15 (sp 13, lr 14, pc 15); d0-d31
 * are 256-287.
 *
 * Glossary: push/pop are stmdb sp!/ldmia sp!, lowest register at the lowest
 * address; vpush/vpop the same for VFP registers; vmrs/vmsr move FPSCR
 * to/from a core register; adr forms a pc-relative address; udf is a
 * permanently undefined instruction.
 */
#include "common.h"
/*
 * The offsets below are named once, in src/arch/arm/layout.rs and
 * src/arch/layout_32.rs; build.rs writes them into layout.h as SWAPCTX_*.
 * The push order fixes the raw switch's offsets, so they are checked
 * here against the names.
 */
#include "layout.h"
#if SWAPCTX_OFF_FPSCR != 0 || SWAPCTX_OFF_PAD != 4 || SWAPCTX_OFF_D8 != 8 \
    || SWAPCTX_OFF_R4 != 72 || SWAPCTX_OFF_R12 != 104 || SWAPCTX_OFF_LR != 108 \
    || SWAPCTX_FRAME_SIZE != 112
#error "the raw switch's pushes do not match src/arch/arm/layout.rs"
#endif
#if SWAPCTX_INIT_OFF_TRAMPOLINE != 0 || SWAPCTX_CO_OFF_RESUME != 0
#error "coroutine_enter pops the first word: the resume address must be at +0"
#endif
#if SWAPCTX_CO_OFF_R6 != 4 || SWAPCTX_CO_OFF_R7 != 8 || SWAPCTX_CO_OFF_R11 != 12 \
    || SWAPCTX_CO_FRAME_SIZE != 16
#error "resume pushes {r6, r7, r11}, then coroutine_enter lr; the EHABI opcodes below pop them"
#endif
#if SWAPCTX_INIT_OFF_ENTRY != 4 || SWAPCTX_INIT_OFF_DATA != 8 || SWAPCTX_COROUTINE_INIT_SIZE != 16
#error "the coroutine trampoline loads the entry and its data from +4 and +8"
#endif
#if SWAPCTX_CO_FRAME_SIZE >= 128 || SWAPCTX_SLOT_LINK >= 64
#error "the CFI expressions below encode these as one-byte LEB128 numbers"
#endif

    .syntax unified
#if defined(SWAPCTX_THUMB)         /* build.rs: a thumb* target */
    .thumb                          /* Thumb-2 (T32): M-profile cores have no ARM state */
#else
    .arm
#endif
#if defined(SWAPCTX_MCLASS)         /* build.rs: an M-profile target */
    .fpu fpv4-sp-d16                /* Cortex-M4F: s0-s31, seen as d0-d15 by vpush/vpop */
#else
    .fpu vfpv3-d16
#endif
    .cfi_sections .debug_frame      /* DWARF CFI for debuggers; unwinders read EHABI */

FUNC_BEGIN(SYM(switch))
    .fnstart
    .cfi_startproc
    push    {r4-r12, lr}            /* save r4-r11, lr -> +72 .. +108 (r12: padding) */
    .save   {r4-r12, lr}
    .cfi_def_cfa_offset 40
    .cfi_offset lr, -4
    .cfi_offset r11, -12
    .cfi_offset r10, -16
    .cfi_offset r9, -20
    .cfi_offset r8, -24
    .cfi_offset r7, -28
    .cfi_offset r6, -32
    .cfi_offset r5, -36
    .cfi_offset r4, -40
    vpush   {d8-d15}                /* save d8-d15         -> +8 .. +64 */
    .vsave  {d8-d15}
    .cfi_def_cfa_offset 104
    .cfi_offset d15, -48
    .cfi_offset d14, -56
    .cfi_offset d13, -64
    .cfi_offset d12, -72
    .cfi_offset d11, -80
    .cfi_offset d10, -88
    .cfi_offset d9, -96
    .cfi_offset d8, -104
    sub     sp, sp, #8              /* room for FPSCR and the pad */
    .pad    #8
    .cfi_def_cfa_offset 112
    vmrs    r3, fpscr               /* r3 = FPSCR */
    str     r3, [sp, #SWAPCTX_OFF_FPSCR] /* save FPSCR -> +0 */

    str     sp, [r0]                /* *save_sp = our stack pointer */
    mov     sp, r1                  /* switch: now on the other stack; its
                                       frame has the same layout, so the
                                       unwind tables above describe it too */
    mov     r0, r2                  /* the value crosses as the return value */

    ldr     r3, [sp, #SWAPCTX_OFF_FPSCR] /* restore FPSCR <- +0 */
    vmsr    fpscr, r3
    add     sp, sp, #8              /* drop FPSCR and the pad */
    .cfi_def_cfa_offset 104
    vpop    {d8-d15}                /* restore d8-d15      <- +8 .. +64 */
    .cfi_def_cfa_offset 40
    pop     {r4-r12, lr}            /* restore r4-r11, lr  <- +72 .. +108 */
    .cfi_def_cfa_offset 0
    .cfi_restore r4
    .cfi_restore r5
    .cfi_restore r6
    .cfi_restore r7
    .cfi_restore r8
    .cfi_restore r9
    .cfi_restore r10
    .cfi_restore r11
    .cfi_restore lr
    .cfi_restore d8
    .cfi_restore d9
    .cfi_restore d10
    .cfi_restore d11
    .cfi_restore d12
    .cfi_restore d13
    .cfi_restore d14
    .cfi_restore d15
    bx      lr                      /* resume the other side (ARM or Thumb) */
    .cfi_endproc
    .fnend
FUNC_END(SYM(switch))

/*
 * init_stack (src/arch/arm.rs) builds a frame with
 *   lr = this trampoline, r4 = entry, r5 = data, r6 = on_return,
 *   r11 = r7 = 0 (frame-pointer walkers stop here), FPSCR = 0 (round to
 *   nearest, no flush-to-zero, no default NaN: the AAPCS start state),
 * and the switch's `bx lr` lands here with r0 = the value that was passed
 * and sp = top - TOP_RESERVED, 16-byte aligned.
 *
 *   noreturn void entry(uintptr_t value /+ r0 +/, void *data /+ r1 +/);
 */
FUNC_BEGIN(SYM(trampoline))
    .fnstart
    .cantunwind                     /* no caller: unwinders stop here */
    .cfi_startproc
    .cfi_undefined lr               /* no caller: backtraces end here */
    mov     r1, r5                  /* arg 2: the data pointer; r0 already
                                       holds the value of the first switch */
    blx     r4                      /* entry(value, data) */
    mov     r0, r4                  /* entry returned: arg 1 = that entry */
    blx     r6                      /* on_return(entry): does not return */
    udf     #0                      /* in case it does: trap, never run on */
    .cfi_endproc
    .fnend
FUNC_END(SYM(trampoline))

/*
 * The way into a coroutine, called with `bl` by `resume`
 * (src/arch/arm.rs) after it pushed r6, r7 and r11; r1 = the coroutine's
 * slots [link, this], r0 = the value, lr = the resumer's resume address.
 * The coroutine's `suspend` comes back with the `bx lr` that matches the
 * `bl`. A suspended side's stack, at its saved sp:
 *
 *   resumer (in `resume`)          coroutine (in `suspend`)
 *   sp+0   lr (into `resume`)      sp+0   resume address (label 2)
 *   sp+4   r6                      sp+4   r6
 *   sp+8   r7                      sp+8   r7
 *   sp+12  r11                     sp+12  r11
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .fnstart
    .cfi_startproc
    push    {lr}                    /* push the resumer's resume address */
    .save   {lr}
    .cfi_def_cfa_offset 4
    .cfi_offset lr, -4
    str     sp, [r1, #SWAPCTX_SLOT_LINK] /* link = resumer's sp */
    ldr     sp, [r1, #SWAPCTX_SLOT_THIS] /* load the coroutine's saved sp */
    .cfi_undefined lr               /* (the rest is the coroutine's) */
    pop     {r12}                   /* its resume address */
    bx      r12                     /* resume it (a jump, not a return); r0 carries the value */
    .cfi_endproc
    .fnend
FUNC_END(SYM(coroutine_enter))

/*
 * A fresh coroutine's stack, as `init_coroutine` leaves it:
 *
 *   slots - 16:  address of this trampoline   <- the coroutine's saved sp
 *   slots - 12:  entry function
 *   slots -  8:  data pointer
 *   slots -  4:  0 (padding)
 *   slots     :  the coroutine's two stack-pointer slots (16-byte aligned)
 *
 * coroutine_enter pops the first word and jumps here with r0 = the value
 * of the first resume and sp = slots - 12.
 *
 * Unwinding out of the coroutine: the resumer's saved sp L is in
 * slots.link = [sp] (sp = slots while the entry runs), with
 *   L+0 lr (into `resume`), L+4 r6, L+8 r7, L+12 r11,
 *   L+16 the resumer's sp as the compiler sees it around the asm.
 *
 * EHABI (for libgcc's unwinder): the opcodes run with vsp = sp = slots:
 *   0xb1 0x01  pop {r0}             r0 = [vsp] = L (r0 is scratch: a
 *                                   caller's r0 is never worth restoring)
 *   0x90       vsp = r0             vsp = L
 *   0x84 0x00  pop {lr}             (mask 0x400: bit 10 = r14) lr = [L]
 *   0x80 0x8c  pop {r6, r7, r11}    (mask 0x08c: bits 2, 3, 7) from L+4,
 *                                   L+8, L+12; vsp = L + 16
 *   0xb0       finish               pc = lr
 * DWARF (for debuggers): CFA = [sp] + 16:
 *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
 *   0x7d 0x00  DW_OP_breg13 (sp) + 0
 *   0x06       DW_OP_deref          -> L
 *   0x23 0x10  DW_OP_plus_uconst 16 -> L + 16
 * and lr, r6, r7, r11 at CFA-16, -12, -8, -4.
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .fnstart
    .cfi_startproc
    .cfi_undefined lr               /* until sp = slots: no caller */
    ldr     r12, [sp, #SWAPCTX_INIT_OFF_ENTRY-4] /* the entry function */
    ldr     r1, [sp, #SWAPCTX_INIT_OFF_DATA-4]   /* arg 2: the data pointer */
    add     sp, sp, #SWAPCTX_COROUTINE_INIT_SIZE-4 /* sp = slots: 16-byte aligned */
    .unwind_raw 0, 0xb1, 0x01, 0x90, 0x84, 0x00, 0x80, 0x8c
    .cfi_escape 0x0f, 0x05, 0x7d, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset lr, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset r6, SWAPCTX_CO_OFF_R6 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset r7, SWAPCTX_CO_OFF_R7 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset r11, SWAPCTX_CO_OFF_R11 - SWAPCTX_CO_FRAME_SIZE
    /*
     * Enter the entry function as if called from here, but with a plain
     * `bx`: a `blx` would push a return-stack entry that is never popped
     * (the entry ends in a switch whose `bx lr` goes back into `resume`).
     * lr, set by hand, is the return address an unwinder sees (bit 0
     * clear in ARM code, set in Thumb code).
     */
#if defined(SWAPCTX_THUMB)
    adr     lr, 1f + 1              /* the return address an unwinder sees (Thumb: bit 0 set) */
#else
    adr     lr, 1f                  /* the return address an unwinder sees */
#endif
    bx      r12                     /* entry(value, data): never returns */
    nop                             /* unwinders look up lr - 2, inside this nop. Never run */
1:  udf     #0                      /* if the entry returns: trap */
    .cfi_endproc
    .fnend
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back (see the x86_64 file):
 *
 *                                   r0           r1         r2
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg));
 *
 * r11 holds our frame on the caller's stack while f runs: CFA = r11 + 8
 * (DWARF), and EHABI's `.setfp` says the same ("vsp = r11", then pop).
 */
FUNC_BEGIN(SYM(on_stack))
    .fnstart
    .cfi_startproc
    push    {r11, lr}               /* save fp and the return address */
    .save   {r11, lr}
    .cfi_def_cfa_offset 8
    .cfi_offset r11, -8
    .cfi_offset lr, -4
    mov     r11, sp                 /* r11 = our frame, on the caller's stack */
    .setfp  r11, sp
    .cfi_def_cfa r11, 8             /* CFA = r11 + 8, wherever sp goes */
    mov     sp, r1                  /* onto the other stack (16-byte aligned) */
    blx     r2                      /* f(arg); r0 already holds arg */
    mov     sp, r11                 /* back onto the caller's stack */
    .cfi_def_cfa sp, 8
    pop     {r11, lr}               /* restore fp and the return address */
    .cfi_def_cfa_offset 0
    .cfi_restore r11
    .cfi_restore lr
    bx      lr
    .cfi_endproc
    .fnend
FUNC_END(SYM(on_stack))

/*
 * Where a coroutine stopped by a trap continues (see the x86_64 file):
 * entered by the return from a signal handler with sp 16-byte aligned,
 * r4 = the slots, r5 = the entry function, r0 = the trap's data,
 * r1 = the slots, r11 = r7 = lr = 0. The resumer's saved sp L is in
 * slots.link = [r4] (r4 is callee-saved: the entry keeps it or says where
 * it saved it).
 *
 * EHABI, with vsp = sp at the call:
 *   0x94       vsp = r4             vsp = slots
 *   0xb1 0x01  pop {r0}             r0 = [slots] = L
 *   0x90       vsp = r0             vsp = L
 *   0x84 0x00  pop {lr}; 0x80 0x8c pop {r6, r7, r11}; 0xb0 finish
 *   (as in the coroutine trampoline).
 * DWARF: CFA = [r4] + 16:
 *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
 *   0x74 0x00  DW_OP_breg4 (r4) + 0
 *   0x06       DW_OP_deref          -> L
 *   0x23 0x10  DW_OP_plus_uconst 16 -> L + 16
 */
FUNC_BEGIN(SYM(trap_trampoline))
    .fnstart
    .unwind_raw 0, 0x94, 0xb1, 0x01, 0x90, 0x84, 0x00, 0x80, 0x8c
    .cfi_startproc
    .cfi_escape 0x0f, 0x05, 0x74, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset lr, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset r6, SWAPCTX_CO_OFF_R6 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset r7, SWAPCTX_CO_OFF_R7 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset r11, SWAPCTX_CO_OFF_R11 - SWAPCTX_CO_FRAME_SIZE
    blx     r5                      /* entry(data, slots): never returns */
    udf     #0                      /* if it does: trap */
    .cfi_endproc
    .fnend
FUNC_END(SYM(trap_trampoline))

NOTE_GNU_STACK
NOTE_GNU_PROPERTY
