/*
 * switch_powerpc64_elfv2_elf_gas.S — the context switch for 64-bit
 * PowerPC, ELFv2 ABI (ppc64le Linux), ELF, GNU assembler.
 * asm/switch_x86_64_sysv_elf_gas.S is the fully commented reference; this
 * file comments where powerpc64 differs.
 *
 * ABI: "64-Bit ELF V2 ABI Specification, Power Architecture" (OpenPOWER),
 * section 2.2.1 "Register Roles" (tables "Register Roles" for the GPRs,
 * FPRs, vector registers and SPRs): r1 (the stack pointer), r14-r31,
 * f14-f31, v20-v31, VRSAVE and the condition register fields CR2-CR4 are
 * nonvolatile; r2 (the TOC pointer) is nonvolatile too, but a cross-module
 * call may leave it changed and the caller restores it from its TOC save
 * doubleword; the link register LR, CTR and XER are volatile. r13 is the
 * thread pointer: it belongs to the thread, not to a context, and is never
 * touched. The FPSCR (rounding mode, enables) is a "limited-access"
 * register with thread scope, like <fenv.h> state, so it is not part of a
 * context either (as fcsr on riscv64). Section 2.2.2 "The Stack Frame":
 * r1 is 16-byte aligned; the word at 0(r1) is the back chain (the
 * caller's r1); every frame starts with a header: back chain (+0), CR save
 * word (+8), LR save doubleword (+16), TOC save doubleword (+24). A
 * function saves its LR and CR in its CALLER's header, and the 288 bytes
 * below r1 (the "protected zone", the red zone) may hold a leaf
 * function's data, so nothing may be stored below r1 without moving it.
 *
 * The vector-scalar registers: vs0-vs31 overlap f0-f31 (doubleword 0) and
 * vs32-vs63 are v0-v31. Of vs14-vs31 only the f halves are nonvolatile;
 * vs52-vs63 are v20-v31, saved whole.
 *
 *                                   r3              r4             r5
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 * The saved frame (FRAME_SIZE = 528 bytes, r1 16-byte aligned, checked by
 * src/arch/powerpc64.rs's const asserts and its frame test), plus two
 * words in the caller's header above it:
 *
 *   offset   contents              offset   contents
 *   ------   --------              ------   --------
 *     +0     back chain              +320   VRSAVE (32 bits), padding
 *     +8     (unused header)         +336   v20 .. v31 (16 bytes each)
 *    +16     (unused header)         +528   the caller's frame: back chain
 *    +24     r2 (TOC)                +536   CR (32 bits: all fields)
 *    +32     r14 .. r31              +544   LR (where this side resumes)
 *   +176     f14 .. f31              +552   the caller's TOC save
 *
 * Pitfalls:
 *  - ELFv2 functions have two entry points: the global one expects the
 *    function's own address in r12 and derives r2 from it, the local one
 *    (for calls within a module) expects r2 already set. Every function
 *    here ignores the TOC, so both are the same (no .localentry); but
 *    every function pointer this file calls (an entry function, `f` of
 *    on_stack) is entered at its global entry point, with r12 = its
 *    address, and may come back with another module's r2: on_stack
 *    restores r2 afterwards.
 *  - `stvx`/`lvx` ignore the low 4 bits of the address: the vector slots
 *    must be 16-byte aligned (they are, and r1 is).
 *  - The return-address predictor (the "link stack"): `bl` and `bctrl`
 *    push, `blr` pops, `bctr` does neither, and `bcl 20,31,$+4` (used to
 *    read the address of a label) is the form the ISA exempts from
 *    pushing.
 *
 * Glossary: stdu stores r1 at the new r1 and updates it in one
 * instruction (the frame and its back chain, atomically for a signal);
 * mflr/mtlr move the link register; mfcr reads all eight CR fields,
 * mtcrf 0x38 writes back only CR2, CR3 and CR4; mfvrsave/mtvrsave move
 * VRSAVE (SPR 256); stfd/lfd store/load a 64-bit FPR bit for bit;
 * stvx/lvx store/load a 128-bit vector register at (rA + rB).
 *
 * DWARF register numbers (as GCC's .eh_frame and libgcc): r0-r31 = 0-31,
 * f0-f31 = 32-63, LR = 65, CR2-CR4 = 70-72, v0-v31 = 77-108.
 */
#include "common.h"
/*
 * The offsets below are named once, in src/arch/powerpc64/layout.rs and
 * src/arch/layout.rs; build.rs writes them into layout.h as SWAPCTX_*.
 * What the code fixes by its shape is checked here against the names.
 */
#include "layout.h"
#if SWAPCTX_OFF_CR != SWAPCTX_FRAME_SIZE + 8 || SWAPCTX_OFF_LR != SWAPCTX_FRAME_SIZE + 16
#error "the switch saves CR and LR in the caller's header, above its own frame"
#endif
#if SWAPCTX_INIT_OFF_TRAMPOLINE != SWAPCTX_CO_OFF_RESUME
#error "coroutine_enter finds a fresh coroutine's trampoline where it finds a resume address"
#endif
#if SWAPCTX_CO_FRAME_SIZE >= 128 || SWAPCTX_SLOT_LINK >= 64 || SWAPCTX_COROUTINE_INIT_SIZE >= 64
#error "the CFI expressions below encode these as one-byte LEB128 numbers"
#endif

    .abiversion 2                   /* ELFv2: function pointers are addresses */

FUNC_BEGIN(SYM(switch))
    .cfi_startproc
    mflr    %r0                     /* r0 = our return address */
    std     %r0, 16(%r1)            /* save it in the caller's LR doubleword -> +544 */
    .cfi_offset 65, 16
    mfcr    %r12                    /* r12 = the condition register */
    stw     %r12, 8(%r1)            /* save it in the caller's CR word  -> +536 */
    .cfi_offset 70, 8               /* CR2, CR3, CR4: each its own column, */
    .cfi_offset 71, 8               /* one word for the three, as GCC */
    .cfi_offset 72, 8               /* describes an ELFv2 CR save */
    stdu    %r1, -SWAPCTX_FRAME_SIZE(%r1) /* make our frame; back chain -> +0 */
    .cfi_def_cfa_offset SWAPCTX_FRAME_SIZE
    std     %r2, SWAPCTX_OFF_R2(%r1) /* save r2 (TOC)            -> +24 */
    .cfi_offset 2, SWAPCTX_OFF_R2-SWAPCTX_FRAME_SIZE
    std     %r14, SWAPCTX_OFF_R14+0(%r1) /* save r14              -> +32 */
    .cfi_offset 14, SWAPCTX_OFF_R14+0-SWAPCTX_FRAME_SIZE
    std     %r15, SWAPCTX_OFF_R14+8(%r1) /* save r15              -> +40 */
    .cfi_offset 15, SWAPCTX_OFF_R14+8-SWAPCTX_FRAME_SIZE
    std     %r16, SWAPCTX_OFF_R14+16(%r1) /* save r16              -> +48 */
    .cfi_offset 16, SWAPCTX_OFF_R14+16-SWAPCTX_FRAME_SIZE
    std     %r17, SWAPCTX_OFF_R14+24(%r1) /* save r17              -> +56 */
    .cfi_offset 17, SWAPCTX_OFF_R14+24-SWAPCTX_FRAME_SIZE
    std     %r18, SWAPCTX_OFF_R14+32(%r1) /* save r18              -> +64 */
    .cfi_offset 18, SWAPCTX_OFF_R14+32-SWAPCTX_FRAME_SIZE
    std     %r19, SWAPCTX_OFF_R14+40(%r1) /* save r19              -> +72 */
    .cfi_offset 19, SWAPCTX_OFF_R14+40-SWAPCTX_FRAME_SIZE
    std     %r20, SWAPCTX_OFF_R14+48(%r1) /* save r20              -> +80 */
    .cfi_offset 20, SWAPCTX_OFF_R14+48-SWAPCTX_FRAME_SIZE
    std     %r21, SWAPCTX_OFF_R14+56(%r1) /* save r21              -> +88 */
    .cfi_offset 21, SWAPCTX_OFF_R14+56-SWAPCTX_FRAME_SIZE
    std     %r22, SWAPCTX_OFF_R14+64(%r1) /* save r22              -> +96 */
    .cfi_offset 22, SWAPCTX_OFF_R14+64-SWAPCTX_FRAME_SIZE
    std     %r23, SWAPCTX_OFF_R14+72(%r1) /* save r23              -> +104 */
    .cfi_offset 23, SWAPCTX_OFF_R14+72-SWAPCTX_FRAME_SIZE
    std     %r24, SWAPCTX_OFF_R14+80(%r1) /* save r24              -> +112 */
    .cfi_offset 24, SWAPCTX_OFF_R14+80-SWAPCTX_FRAME_SIZE
    std     %r25, SWAPCTX_OFF_R14+88(%r1) /* save r25              -> +120 */
    .cfi_offset 25, SWAPCTX_OFF_R14+88-SWAPCTX_FRAME_SIZE
    std     %r26, SWAPCTX_OFF_R14+96(%r1) /* save r26              -> +128 */
    .cfi_offset 26, SWAPCTX_OFF_R14+96-SWAPCTX_FRAME_SIZE
    std     %r27, SWAPCTX_OFF_R14+104(%r1) /* save r27              -> +136 */
    .cfi_offset 27, SWAPCTX_OFF_R14+104-SWAPCTX_FRAME_SIZE
    std     %r28, SWAPCTX_OFF_R14+112(%r1) /* save r28              -> +144 */
    .cfi_offset 28, SWAPCTX_OFF_R14+112-SWAPCTX_FRAME_SIZE
    std     %r29, SWAPCTX_OFF_R14+120(%r1) /* save r29              -> +152 */
    .cfi_offset 29, SWAPCTX_OFF_R14+120-SWAPCTX_FRAME_SIZE
    std     %r30, SWAPCTX_OFF_R14+128(%r1) /* save r30              -> +160 */
    .cfi_offset 30, SWAPCTX_OFF_R14+128-SWAPCTX_FRAME_SIZE
    std     %r31, SWAPCTX_OFF_R14+136(%r1) /* save r31              -> +168 */
    .cfi_offset 31, SWAPCTX_OFF_R14+136-SWAPCTX_FRAME_SIZE
    stfd    %f14, SWAPCTX_OFF_F14+0(%r1) /* save f14              -> +176 */
    .cfi_offset 46, SWAPCTX_OFF_F14+0-SWAPCTX_FRAME_SIZE /* f14 is DWARF 46 */
    stfd    %f15, SWAPCTX_OFF_F14+8(%r1) /* save f15              -> +184 */
    .cfi_offset 47, SWAPCTX_OFF_F14+8-SWAPCTX_FRAME_SIZE /* f15 is DWARF 47 */
    stfd    %f16, SWAPCTX_OFF_F14+16(%r1) /* save f16              -> +192 */
    .cfi_offset 48, SWAPCTX_OFF_F14+16-SWAPCTX_FRAME_SIZE /* f16 is DWARF 48 */
    stfd    %f17, SWAPCTX_OFF_F14+24(%r1) /* save f17              -> +200 */
    .cfi_offset 49, SWAPCTX_OFF_F14+24-SWAPCTX_FRAME_SIZE /* f17 is DWARF 49 */
    stfd    %f18, SWAPCTX_OFF_F14+32(%r1) /* save f18              -> +208 */
    .cfi_offset 50, SWAPCTX_OFF_F14+32-SWAPCTX_FRAME_SIZE /* f18 is DWARF 50 */
    stfd    %f19, SWAPCTX_OFF_F14+40(%r1) /* save f19              -> +216 */
    .cfi_offset 51, SWAPCTX_OFF_F14+40-SWAPCTX_FRAME_SIZE /* f19 is DWARF 51 */
    stfd    %f20, SWAPCTX_OFF_F14+48(%r1) /* save f20              -> +224 */
    .cfi_offset 52, SWAPCTX_OFF_F14+48-SWAPCTX_FRAME_SIZE /* f20 is DWARF 52 */
    stfd    %f21, SWAPCTX_OFF_F14+56(%r1) /* save f21              -> +232 */
    .cfi_offset 53, SWAPCTX_OFF_F14+56-SWAPCTX_FRAME_SIZE /* f21 is DWARF 53 */
    stfd    %f22, SWAPCTX_OFF_F14+64(%r1) /* save f22              -> +240 */
    .cfi_offset 54, SWAPCTX_OFF_F14+64-SWAPCTX_FRAME_SIZE /* f22 is DWARF 54 */
    stfd    %f23, SWAPCTX_OFF_F14+72(%r1) /* save f23              -> +248 */
    .cfi_offset 55, SWAPCTX_OFF_F14+72-SWAPCTX_FRAME_SIZE /* f23 is DWARF 55 */
    stfd    %f24, SWAPCTX_OFF_F14+80(%r1) /* save f24              -> +256 */
    .cfi_offset 56, SWAPCTX_OFF_F14+80-SWAPCTX_FRAME_SIZE /* f24 is DWARF 56 */
    stfd    %f25, SWAPCTX_OFF_F14+88(%r1) /* save f25              -> +264 */
    .cfi_offset 57, SWAPCTX_OFF_F14+88-SWAPCTX_FRAME_SIZE /* f25 is DWARF 57 */
    stfd    %f26, SWAPCTX_OFF_F14+96(%r1) /* save f26              -> +272 */
    .cfi_offset 58, SWAPCTX_OFF_F14+96-SWAPCTX_FRAME_SIZE /* f26 is DWARF 58 */
    stfd    %f27, SWAPCTX_OFF_F14+104(%r1) /* save f27              -> +280 */
    .cfi_offset 59, SWAPCTX_OFF_F14+104-SWAPCTX_FRAME_SIZE /* f27 is DWARF 59 */
    stfd    %f28, SWAPCTX_OFF_F14+112(%r1) /* save f28              -> +288 */
    .cfi_offset 60, SWAPCTX_OFF_F14+112-SWAPCTX_FRAME_SIZE /* f28 is DWARF 60 */
    stfd    %f29, SWAPCTX_OFF_F14+120(%r1) /* save f29              -> +296 */
    .cfi_offset 61, SWAPCTX_OFF_F14+120-SWAPCTX_FRAME_SIZE /* f29 is DWARF 61 */
    stfd    %f30, SWAPCTX_OFF_F14+128(%r1) /* save f30              -> +304 */
    .cfi_offset 62, SWAPCTX_OFF_F14+128-SWAPCTX_FRAME_SIZE /* f30 is DWARF 62 */
    stfd    %f31, SWAPCTX_OFF_F14+136(%r1) /* save f31              -> +312 */
    .cfi_offset 63, SWAPCTX_OFF_F14+136-SWAPCTX_FRAME_SIZE /* f31 is DWARF 63 */
    li      %r12, SWAPCTX_OFF_V20+0     /* r12 = the offset of v20 */
    stvx    %v20, %r1, %r12        /* save v20              -> +336 */
    .cfi_offset 97, SWAPCTX_OFF_V20+0-SWAPCTX_FRAME_SIZE /* v20 is DWARF 97 */
    li      %r12, SWAPCTX_OFF_V20+16     /* r12 = the offset of v21 */
    stvx    %v21, %r1, %r12        /* save v21              -> +352 */
    .cfi_offset 98, SWAPCTX_OFF_V20+16-SWAPCTX_FRAME_SIZE /* v21 is DWARF 98 */
    li      %r12, SWAPCTX_OFF_V20+32     /* r12 = the offset of v22 */
    stvx    %v22, %r1, %r12        /* save v22              -> +368 */
    .cfi_offset 99, SWAPCTX_OFF_V20+32-SWAPCTX_FRAME_SIZE /* v22 is DWARF 99 */
    li      %r12, SWAPCTX_OFF_V20+48     /* r12 = the offset of v23 */
    stvx    %v23, %r1, %r12        /* save v23              -> +384 */
    .cfi_offset 100, SWAPCTX_OFF_V20+48-SWAPCTX_FRAME_SIZE /* v23 is DWARF 100 */
    li      %r12, SWAPCTX_OFF_V20+64     /* r12 = the offset of v24 */
    stvx    %v24, %r1, %r12        /* save v24              -> +400 */
    .cfi_offset 101, SWAPCTX_OFF_V20+64-SWAPCTX_FRAME_SIZE /* v24 is DWARF 101 */
    li      %r12, SWAPCTX_OFF_V20+80     /* r12 = the offset of v25 */
    stvx    %v25, %r1, %r12        /* save v25              -> +416 */
    .cfi_offset 102, SWAPCTX_OFF_V20+80-SWAPCTX_FRAME_SIZE /* v25 is DWARF 102 */
    li      %r12, SWAPCTX_OFF_V20+96     /* r12 = the offset of v26 */
    stvx    %v26, %r1, %r12        /* save v26              -> +432 */
    .cfi_offset 103, SWAPCTX_OFF_V20+96-SWAPCTX_FRAME_SIZE /* v26 is DWARF 103 */
    li      %r12, SWAPCTX_OFF_V20+112     /* r12 = the offset of v27 */
    stvx    %v27, %r1, %r12        /* save v27              -> +448 */
    .cfi_offset 104, SWAPCTX_OFF_V20+112-SWAPCTX_FRAME_SIZE /* v27 is DWARF 104 */
    li      %r12, SWAPCTX_OFF_V20+128     /* r12 = the offset of v28 */
    stvx    %v28, %r1, %r12        /* save v28              -> +464 */
    .cfi_offset 105, SWAPCTX_OFF_V20+128-SWAPCTX_FRAME_SIZE /* v28 is DWARF 105 */
    li      %r12, SWAPCTX_OFF_V20+144     /* r12 = the offset of v29 */
    stvx    %v29, %r1, %r12        /* save v29              -> +480 */
    .cfi_offset 106, SWAPCTX_OFF_V20+144-SWAPCTX_FRAME_SIZE /* v29 is DWARF 106 */
    li      %r12, SWAPCTX_OFF_V20+160     /* r12 = the offset of v30 */
    stvx    %v30, %r1, %r12        /* save v30              -> +496 */
    .cfi_offset 107, SWAPCTX_OFF_V20+160-SWAPCTX_FRAME_SIZE /* v30 is DWARF 107 */
    li      %r12, SWAPCTX_OFF_V20+176     /* r12 = the offset of v31 */
    stvx    %v31, %r1, %r12        /* save v31              -> +512 */
    .cfi_offset 108, SWAPCTX_OFF_V20+176-SWAPCTX_FRAME_SIZE /* v31 is DWARF 108 */
    mfvrsave %r12                   /* r12 = VRSAVE (no CFI row: nothing on Linux
                                       reads it, and the .eh_frame and DWARF
                                       numberings of it disagree) */
    stw     %r12, SWAPCTX_OFF_VRSAVE(%r1) /* save VRSAVE           -> +320 */

    std     %r1, 0(%r3)             /* *save_sp = our stack pointer */
    mr      %r1, %r4                /* switch: now on the other stack; its
                                       frame has the same layout, so the
                                       CFI above describes it as well */
    mr      %r3, %r5                /* the value crosses as the return value */

    lwz     %r12, SWAPCTX_OFF_VRSAVE(%r1) /* r12 = the saved VRSAVE  <- +320 */
    mtvrsave %r12                   /* restore VRSAVE */
    li      %r12, SWAPCTX_OFF_V20+0     /* r12 = the offset of v20 */
    lvx     %v20, %r1, %r12        /* restore v20           <- +336 */
    li      %r12, SWAPCTX_OFF_V20+16     /* r12 = the offset of v21 */
    lvx     %v21, %r1, %r12        /* restore v21           <- +352 */
    li      %r12, SWAPCTX_OFF_V20+32     /* r12 = the offset of v22 */
    lvx     %v22, %r1, %r12        /* restore v22           <- +368 */
    li      %r12, SWAPCTX_OFF_V20+48     /* r12 = the offset of v23 */
    lvx     %v23, %r1, %r12        /* restore v23           <- +384 */
    li      %r12, SWAPCTX_OFF_V20+64     /* r12 = the offset of v24 */
    lvx     %v24, %r1, %r12        /* restore v24           <- +400 */
    li      %r12, SWAPCTX_OFF_V20+80     /* r12 = the offset of v25 */
    lvx     %v25, %r1, %r12        /* restore v25           <- +416 */
    li      %r12, SWAPCTX_OFF_V20+96     /* r12 = the offset of v26 */
    lvx     %v26, %r1, %r12        /* restore v26           <- +432 */
    li      %r12, SWAPCTX_OFF_V20+112     /* r12 = the offset of v27 */
    lvx     %v27, %r1, %r12        /* restore v27           <- +448 */
    li      %r12, SWAPCTX_OFF_V20+128     /* r12 = the offset of v28 */
    lvx     %v28, %r1, %r12        /* restore v28           <- +464 */
    li      %r12, SWAPCTX_OFF_V20+144     /* r12 = the offset of v29 */
    lvx     %v29, %r1, %r12        /* restore v29           <- +480 */
    li      %r12, SWAPCTX_OFF_V20+160     /* r12 = the offset of v30 */
    lvx     %v30, %r1, %r12        /* restore v30           <- +496 */
    li      %r12, SWAPCTX_OFF_V20+176     /* r12 = the offset of v31 */
    lvx     %v31, %r1, %r12        /* restore v31           <- +512 */
    ld      %r14, SWAPCTX_OFF_R14+0(%r1) /* restore r14           <- +32 */
    ld      %r15, SWAPCTX_OFF_R14+8(%r1) /* restore r15           <- +40 */
    ld      %r16, SWAPCTX_OFF_R14+16(%r1) /* restore r16           <- +48 */
    ld      %r17, SWAPCTX_OFF_R14+24(%r1) /* restore r17           <- +56 */
    ld      %r18, SWAPCTX_OFF_R14+32(%r1) /* restore r18           <- +64 */
    ld      %r19, SWAPCTX_OFF_R14+40(%r1) /* restore r19           <- +72 */
    ld      %r20, SWAPCTX_OFF_R14+48(%r1) /* restore r20           <- +80 */
    ld      %r21, SWAPCTX_OFF_R14+56(%r1) /* restore r21           <- +88 */
    ld      %r22, SWAPCTX_OFF_R14+64(%r1) /* restore r22           <- +96 */
    ld      %r23, SWAPCTX_OFF_R14+72(%r1) /* restore r23           <- +104 */
    ld      %r24, SWAPCTX_OFF_R14+80(%r1) /* restore r24           <- +112 */
    ld      %r25, SWAPCTX_OFF_R14+88(%r1) /* restore r25           <- +120 */
    ld      %r26, SWAPCTX_OFF_R14+96(%r1) /* restore r26           <- +128 */
    ld      %r27, SWAPCTX_OFF_R14+104(%r1) /* restore r27           <- +136 */
    ld      %r28, SWAPCTX_OFF_R14+112(%r1) /* restore r28           <- +144 */
    ld      %r29, SWAPCTX_OFF_R14+120(%r1) /* restore r29           <- +152 */
    ld      %r30, SWAPCTX_OFF_R14+128(%r1) /* restore r30           <- +160 */
    ld      %r31, SWAPCTX_OFF_R14+136(%r1) /* restore r31           <- +168 */
    lfd     %f14, SWAPCTX_OFF_F14+0(%r1) /* restore f14           <- +176 */
    lfd     %f15, SWAPCTX_OFF_F14+8(%r1) /* restore f15           <- +184 */
    lfd     %f16, SWAPCTX_OFF_F14+16(%r1) /* restore f16           <- +192 */
    lfd     %f17, SWAPCTX_OFF_F14+24(%r1) /* restore f17           <- +200 */
    lfd     %f18, SWAPCTX_OFF_F14+32(%r1) /* restore f18           <- +208 */
    lfd     %f19, SWAPCTX_OFF_F14+40(%r1) /* restore f19           <- +216 */
    lfd     %f20, SWAPCTX_OFF_F14+48(%r1) /* restore f20           <- +224 */
    lfd     %f21, SWAPCTX_OFF_F14+56(%r1) /* restore f21           <- +232 */
    lfd     %f22, SWAPCTX_OFF_F14+64(%r1) /* restore f22           <- +240 */
    lfd     %f23, SWAPCTX_OFF_F14+72(%r1) /* restore f23           <- +248 */
    lfd     %f24, SWAPCTX_OFF_F14+80(%r1) /* restore f24           <- +256 */
    lfd     %f25, SWAPCTX_OFF_F14+88(%r1) /* restore f25           <- +264 */
    lfd     %f26, SWAPCTX_OFF_F14+96(%r1) /* restore f26           <- +272 */
    lfd     %f27, SWAPCTX_OFF_F14+104(%r1) /* restore f27           <- +280 */
    lfd     %f28, SWAPCTX_OFF_F14+112(%r1) /* restore f28           <- +288 */
    lfd     %f29, SWAPCTX_OFF_F14+120(%r1) /* restore f29           <- +296 */
    lfd     %f30, SWAPCTX_OFF_F14+128(%r1) /* restore f30           <- +304 */
    lfd     %f31, SWAPCTX_OFF_F14+136(%r1) /* restore f31           <- +312 */
    ld      %r2, SWAPCTX_OFF_R2(%r1) /* restore r2 (TOC)         <- +24 */
    addi    %r1, %r1, SWAPCTX_FRAME_SIZE /* drop the frame: r1 = the caller's */
    .cfi_def_cfa_offset 0
    ld      %r0, 16(%r1)            /* r0 = the saved LR        <- +544 */
    mtlr    %r0                     /* restore LR */
    lwz     %r12, 8(%r1)            /* r12 = the saved CR       <- +536 */
    mtcrf   0x38, %r12              /* restore CR2, CR3, CR4 (and no other field) */
    .cfi_restore 65
    .cfi_restore 70
    .cfi_restore 71
    .cfi_restore 72
    .cfi_restore 2
    .cfi_restore 14
    .cfi_restore 15
    .cfi_restore 16
    .cfi_restore 17
    .cfi_restore 18
    .cfi_restore 19
    .cfi_restore 20
    .cfi_restore 21
    .cfi_restore 22
    .cfi_restore 23
    .cfi_restore 24
    .cfi_restore 25
    .cfi_restore 26
    .cfi_restore 27
    .cfi_restore 28
    .cfi_restore 29
    .cfi_restore 30
    .cfi_restore 31
    .cfi_restore 46
    .cfi_restore 47
    .cfi_restore 48
    .cfi_restore 49
    .cfi_restore 50
    .cfi_restore 51
    .cfi_restore 52
    .cfi_restore 53
    .cfi_restore 54
    .cfi_restore 55
    .cfi_restore 56
    .cfi_restore 57
    .cfi_restore 58
    .cfi_restore 59
    .cfi_restore 60
    .cfi_restore 61
    .cfi_restore 62
    .cfi_restore 63
    .cfi_restore 97
    .cfi_restore 98
    .cfi_restore 99
    .cfi_restore 100
    .cfi_restore 101
    .cfi_restore 102
    .cfi_restore 103
    .cfi_restore 104
    .cfi_restore 105
    .cfi_restore 106
    .cfi_restore 107
    .cfi_restore 108
    blr                             /* resume the other side at LR */
    .cfi_endproc
FUNC_END(SYM(switch))

/*
 * init_stack (src/arch/powerpc64.rs) builds a frame with
 *   LR = this trampoline, r14 = entry, r15 = data, r16 = on_return,
 *   r2 = the TOC of this module, the back chain pointing at a header of
 *   HEADER_SIZE bytes whose own back chain is 0 (walkers stop there),
 * and the switch's `blr` lands here with r3 = the value that was passed
 * and r1 = top - TOP_RESERVED - HEADER_SIZE, 16-byte aligned: the
 * header the entry function saves its LR in.
 *
 *   noreturn void entry(uintptr_t value /+ r3 +/, void *data /+ r4 +/);
 */
FUNC_BEGIN(SYM(trampoline))
    .cfi_startproc
    .cfi_undefined 65               /* no caller: backtraces end here */
    mr      %r4, %r15               /* arg 2: the data pointer; r3 already
                                       holds the value of the first switch */
    mr      %r12, %r14              /* r12 = entry (its global entry wants it) */
    mtctr   %r12                    /* CTR = entry */
    bctrl                           /* entry(value, data) */
    mr      %r3, %r14               /* entry returned: arg 1 = that entry */
    mr      %r12, %r16              /* r12 = on_return */
    mtctr   %r12                    /* CTR = on_return */
    bctrl                           /* on_return(entry): does not return */
    trap                            /* in case it does: trap, never run on */
    .cfi_endproc
FUNC_END(SYM(trampoline))

/*
 * The coroutine layer (see the x86_64 file for the scheme). `resume`
 * (src/arch/powerpc64.rs) makes a frame of CO_FRAME_SIZE bytes (`stdu`,
 * so the back chain stays whole), saves in it r2, r30, r31 and VRSAVE,
 * which cannot be declared clobbered (reserved, LLVM's base and frame
 * pointers), and calls the stub below (`bl`) with r3 = the value,
 * r4 = the coroutine's slots [link, this]. The stub saves its LR in that
 * frame's header, as any function does. A suspended side's stack, at its
 * saved r1 (both sides alike; the coroutine's resume address is label 2
 * of `suspend`):
 *
 *   r1+0   back chain
 *   r1+8   (unused: the CR save word of the header)
 *   r1+16  resume address (CO_OFF_RESUME)
 *   r1+24  r2
 *   r1+32  r30
 *   r1+40  r31
 *   r1+48  VRSAVE
 *   r1+56  padding
 *
 * Return-address prediction: `resume`'s `bl` pushes the link stack, and
 * the coroutine comes back with a `blr` to the LR it saved: a matching
 * pop. The way into the coroutine is a `bctr`, which leaves the link
 * stack alone.
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .cfi_startproc
    mflr    %r0                     /* r0 = the resumer's resume address */
    std     %r0, SWAPCTX_CO_OFF_RESUME(%r1) /* save it in the caller's header */
    .cfi_offset 65, SWAPCTX_CO_OFF_RESUME
    std     %r1, SWAPCTX_SLOT_LINK(%r4) /* link = the resumer's r1 */
    ld      %r1, SWAPCTX_SLOT_THIS(%r4) /* load the coroutine's saved r1 */
    .cfi_undefined 65               /* (the rest is the coroutine's) */
    ld      %r12, SWAPCTX_CO_OFF_RESUME(%r1) /* its resume address */
    mtctr   %r12                    /* into CTR (r12 = it, for a trampoline) */
    bctr                            /* resume it (no link); r3 carries the value */
    .cfi_endproc
FUNC_END(SYM(coroutine_enter))

/*
 * A fresh coroutine's stack, as `init_coroutine` leaves it:
 *
 *   slots - 48:  0 (back chain: the end)     <- the coroutine's saved r1
 *   slots - 40:  0 (the header's CR word)
 *   slots - 32:  address of this trampoline  (INIT_OFF_TRAMPOLINE)
 *   slots - 24:  entry function              (INIT_OFF_ENTRY)
 *   slots - 16:  data pointer                (INIT_OFF_DATA)
 *   slots -  8:  0 (padding)
 *   slots     :  the coroutine's two stack-pointer slots (16-byte aligned)
 *
 * The stub above jumps here with r3 = the value of the first resume,
 * r12 = this address and r1 = slots - 48: a frame whose header the entry
 * function saves its LR in.
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .cfi_startproc
    /*
     * From here on an unwinder steps onto the resumer's stack. Its saved
     * r1 L is in slots.link = [r1 + 48]: at L the frame above, and L + 64
     * the resumer's r1 as the compiler sees it around the asm. CFA = [r1 +
     * 48] + 64:
     *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
     *   0x71 0x30  DW_OP_breg1 (r1) + 48 (COROUTINE_INIT_SIZE + SLOT_LINK)
     *   0x06       DW_OP_deref          -> L
     *   0x23 0x40  DW_OP_plus_uconst 64 -> L + 64 (CO_FRAME_SIZE)
     */
    .cfi_escape 0x0f, 0x05, 0x71, SWAPCTX_COROUTINE_INIT_SIZE + SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 65, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 2, SWAPCTX_CO_OFF_R2 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 30, SWAPCTX_CO_OFF_R30 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 31, SWAPCTX_CO_OFF_R31 - SWAPCTX_CO_FRAME_SIZE
    ld      %r12, SWAPCTX_INIT_OFF_ENTRY(%r1) /* r12 = the entry function */
    ld      %r4, SWAPCTX_INIT_OFF_DATA(%r1) /* arg 2: the data pointer */
    mtctr   %r12                    /* CTR = entry (r12 = it: global entry) */
    /*
     * Enter the entry function as if called from here, but without a
     * `bctrl`, whose link-stack push would never be popped (the entry
     * ends in a switch whose `blr` goes back into `resume`). LR is set
     * by hand to the address an unwinder sees: `bcl 20,31` reads the
     * address of the next instruction without pushing.
     */
    bcl     20, 31, 1f              /* LR = address of 1 (no link-stack push) */
1:  mflr    %r11                    /* r11 = address of 1 */
    addi    %r11, %r11, 2f - 1b     /* r11 = address of 2 (not r0: as a base,
                                       addi reads r0 as the number 0) */
    mtlr    %r11                    /* the return address an unwinder sees */
    bctr                            /* entry(value, data): never returns */
    nop                             /* LR - 4 is looked up: this row. Never run */
2:  trap                            /* if the entry returns: trap */
    .cfi_endproc
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back (see the x86_64 file):
 *
 *                                   r3           r4         r5
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg));
 *
 * r31 holds the caller's r1 minus our 48-byte frame while f runs:
 * CFA = r31 + 48. f gets a header of its own under sp, whose back chain
 * points at our frame, so a back-chain walker crosses too.
 */
FUNC_BEGIN(SYM(on_stack))
    .cfi_startproc
    mflr    %r0                     /* r0 = our return address */
    std     %r0, 16(%r1)            /* save it in the caller's header */
    .cfi_offset 65, 16
    stdu    %r1, -48(%r1)           /* our frame: header, r31, padding */
    .cfi_def_cfa_offset 48
    std     %r31, 32(%r1)           /* save r31 */
    .cfi_offset 31, -16
    std     %r2, 24(%r1)            /* save r2 (TOC): f may change it */
    mr      %r31, %r1               /* r31 = our frame, on the caller's stack */
    .cfi_def_cfa_register 31        /* CFA = r31 + 48, wherever r1 goes */
    std     %r1, -SWAPCTX_HEADER_SIZE(%r4) /* f's header: back chain = our frame */
    addi    %r1, %r4, -SWAPCTX_HEADER_SIZE /* onto the other stack */
    mr      %r12, %r5               /* r12 = f (its global entry wants it) */
    mtctr   %r12                    /* CTR = f */
    bctrl                           /* f(arg); r3 already holds arg */
    mr      %r1, %r31               /* back onto the caller's stack */
    .cfi_def_cfa_register 1
    ld      %r2, 24(%r1)            /* restore r2 */
    ld      %r31, 32(%r1)           /* restore r31 */
    .cfi_restore 31
    addi    %r1, %r1, 48            /* drop our frame */
    .cfi_def_cfa_offset 0
    ld      %r0, 16(%r1)            /* r0 = the return address */
    mtlr    %r0                     /* restore LR */
    .cfi_restore 65
    blr
    .cfi_endproc
FUNC_END(SYM(on_stack))

/*
 * Where a coroutine stopped by a trap continues (see the x86_64 file):
 * entered by the return from a signal handler with r1 16-byte aligned
 * under a header, r14 = the slots, r12 = the entry function (and CTR),
 * r3 = the trap's data, r4 = the slots, LR = 0. The resumer's saved r1 L
 * is in slots.link = [r14]; CFA = L + 64 (as for the coroutine
 * trampoline):
 *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
 *   0x7e 0x00  DW_OP_breg14 (r14) + 0
 *   0x06       DW_OP_deref          -> L
 *   0x23 0x40  DW_OP_plus_uconst 64 -> L + 64
 */
FUNC_BEGIN(SYM(trap_trampoline))
    .cfi_startproc
    .cfi_escape 0x0f, 0x05, 0x7e, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 65, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 2, SWAPCTX_CO_OFF_R2 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 30, SWAPCTX_CO_OFF_R30 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset 31, SWAPCTX_CO_OFF_R31 - SWAPCTX_CO_FRAME_SIZE
    bctrl                           /* entry(data, slots): never returns */
    trap                            /* if it does: trap */
    .cfi_endproc
FUNC_END(SYM(trap_trampoline))

NOTE_GNU_STACK
NOTE_GNU_PROPERTY
