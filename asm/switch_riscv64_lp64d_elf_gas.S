/*
 * switch_riscv64_lp64d_elf_gas.S — the context switch for riscv64, LP64D
 * ABI, ELF, GNU assembler. asm/switch_x86_64_sysv_elf_gas.S is the fully
 * commented reference; this file comments where riscv64 differs.
 *
 * ABI: RISC-V ELF psABI, chapter "Register Convention", table "Integer
 * register convention": s0-s11 (x8, x9, x18-x27) and sp are callee-saved,
 * s0 doubles as the frame pointer, ra (x1) holds the return address and is
 * not preserved by a call (so the switch saves it as the place to resume);
 * table "Floating-point register convention": with the LP64D ABI, fs0-fs11
 * (f8, f9, f18-f27) are callee-saved, all 64 bits of them. sp is 16-byte
 * aligned (section "Integer Calling Convention"). gp (x3) and tp (x4)
 * belong to the program and the thread, not to a context: never touched.
 * fcsr (rounding mode, exception flags) has thread storage duration in the
 * psABI, like <fenv.h> state, so it is not part of a context either.
 *
 *                                   a0              a1             a2
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 * The saved frame (208 bytes, saved sp 16-byte aligned, checked by
 * src/arch/riscv64.rs's const asserts and its frame test). s0 and ra sit
 * at the top, where a frame-pointer walker expects them (ra at CFA-8,
 * s0 at CFA-16), as in the aarch64 file.
 *
 *   offset  contents        offset  contents
 *   ------  --------        ------  --------
 *     +0    fs0              +96    s1
 *     +8    fs1             +104    s2
 *    +16    fs2             +112    s3
 *    +24    fs3             +120    s4
 *    +32    fs4             +128    s5
 *    +40    fs5             +136    s6
 *    +48    fs6             +144    s7
 *    +56    fs7             +152    s8
 *    +64    fs8             +160    s9
 *    +72    fs9             +168    s10
 *    +80    fs10            +176    s11
 *    +88    fs11            +184    padding (keeps the frame a multiple of 16)
 *                           +192    s0 (frame pointer)
 *                           +200    ra (where this side resumes)
 *
 * Like aarch64 the return address is in a register, not on the stack, and
 * there is no red zone: nothing is ever stored below sp.
 *
 * Glossary: sd/ld store/load a 64-bit integer register; fsd/fld store/load
 * a 64-bit floating-point register bit for bit (no NaN canonicalisation);
 * `ret` is `jalr x0, 0(ra)`.
 */
#include "common.h"
/*
 * The offsets below are named once, in src/arch/riscv64/layout.rs and
 * src/arch/layout.rs; build.rs writes them into layout.h as SWAPCTX_*.
 * What the code fixes by its shape is checked here against the names.
 */
#include "layout.h"
#if SWAPCTX_INIT_OFF_TRAMPOLINE != 0 || SWAPCTX_CO_OFF_RESUME != 0
#error "coroutine_enter pops the first pair: the resume address must be at +0"
#endif
#if SWAPCTX_INIT_OFF_ENTRY != 16 || SWAPCTX_INIT_OFF_DATA != 24 || SWAPCTX_COROUTINE_INIT_SIZE != 32
#error "the coroutine trampoline loads the entry and its data from +16 and +24"
#endif
#if SWAPCTX_CO_FRAME_SIZE >= 128 || SWAPCTX_SLOT_LINK >= 64
#error "the CFI expressions below encode these as one-byte LEB128 numbers"
#endif

FUNC_BEGIN(SYM(switch))
    .cfi_startproc
    addi    sp, sp, -208            /* make the frame (sp stays aligned) */
    .cfi_def_cfa_offset 208
    sd      ra, 200(sp)             /* save ra               -> +200 */
    .cfi_offset ra, -8
    sd      s0, 192(sp)             /* save s0 (fp)          -> +192 */
    .cfi_offset s0, -16
    sd      s11, 176(sp)            /* save s11              -> +176 */
    .cfi_offset s11, -32
    sd      s10, 168(sp)            /* save s10              -> +168 */
    .cfi_offset s10, -40
    sd      s9, 160(sp)             /* save s9               -> +160 */
    .cfi_offset s9, -48
    sd      s8, 152(sp)             /* save s8               -> +152 */
    .cfi_offset s8, -56
    sd      s7, 144(sp)             /* save s7               -> +144 */
    .cfi_offset s7, -64
    sd      s6, 136(sp)             /* save s6               -> +136 */
    .cfi_offset s6, -72
    sd      s5, 128(sp)             /* save s5               -> +128 */
    .cfi_offset s5, -80
    sd      s4, 120(sp)             /* save s4               -> +120 */
    .cfi_offset s4, -88
    sd      s3, 112(sp)             /* save s3               -> +112 */
    .cfi_offset s3, -96
    sd      s2, 104(sp)             /* save s2               -> +104 */
    .cfi_offset s2, -104
    sd      s1, 96(sp)              /* save s1               -> +96 */
    .cfi_offset s1, -112
    fsd     fs11, 88(sp)            /* save fs11             -> +88 */
    .cfi_offset fs11, -120
    fsd     fs10, 80(sp)            /* save fs10             -> +80 */
    .cfi_offset fs10, -128
    fsd     fs9, 72(sp)             /* save fs9              -> +72 */
    .cfi_offset fs9, -136
    fsd     fs8, 64(sp)             /* save fs8              -> +64 */
    .cfi_offset fs8, -144
    fsd     fs7, 56(sp)             /* save fs7              -> +56 */
    .cfi_offset fs7, -152
    fsd     fs6, 48(sp)             /* save fs6              -> +48 */
    .cfi_offset fs6, -160
    fsd     fs5, 40(sp)             /* save fs5              -> +40 */
    .cfi_offset fs5, -168
    fsd     fs4, 32(sp)             /* save fs4              -> +32 */
    .cfi_offset fs4, -176
    fsd     fs3, 24(sp)             /* save fs3              -> +24 */
    .cfi_offset fs3, -184
    fsd     fs2, 16(sp)             /* save fs2              -> +16 */
    .cfi_offset fs2, -192
    fsd     fs1, 8(sp)              /* save fs1              -> +8 */
    .cfi_offset fs1, -200
    fsd     fs0, 0(sp)              /* save fs0              -> +0 */
    .cfi_offset fs0, -208

    sd      sp, 0(a0)               /* *save_sp = our stack pointer */
    mv      sp, a1                  /* switch: now on the other stack; its
                                       frame has the same layout, so the
                                       CFI above describes it as well */
    mv      a0, a2                  /* the value crosses as the return value
                                       (a0 is free: save_sp is used up) */

    fld     fs0, 0(sp)              /* restore fs0           <- +0 */
    fld     fs1, 8(sp)              /* restore fs1           <- +8 */
    fld     fs2, 16(sp)             /* restore fs2           <- +16 */
    fld     fs3, 24(sp)             /* restore fs3           <- +24 */
    fld     fs4, 32(sp)             /* restore fs4           <- +32 */
    fld     fs5, 40(sp)             /* restore fs5           <- +40 */
    fld     fs6, 48(sp)             /* restore fs6           <- +48 */
    fld     fs7, 56(sp)             /* restore fs7           <- +56 */
    fld     fs8, 64(sp)             /* restore fs8           <- +64 */
    fld     fs9, 72(sp)             /* restore fs9           <- +72 */
    fld     fs10, 80(sp)            /* restore fs10          <- +80 */
    fld     fs11, 88(sp)            /* restore fs11          <- +88 */
    ld      s1, 96(sp)              /* restore s1            <- +96 */
    ld      s2, 104(sp)             /* restore s2            <- +104 */
    ld      s3, 112(sp)             /* restore s3            <- +112 */
    ld      s4, 120(sp)             /* restore s4            <- +120 */
    ld      s5, 128(sp)             /* restore s5            <- +128 */
    ld      s6, 136(sp)             /* restore s6            <- +136 */
    ld      s7, 144(sp)             /* restore s7            <- +144 */
    ld      s8, 152(sp)             /* restore s8            <- +152 */
    ld      s9, 160(sp)             /* restore s9            <- +160 */
    ld      s10, 168(sp)            /* restore s10           <- +168 */
    ld      s11, 176(sp)            /* restore s11           <- +176 */
    ld      s0, 192(sp)             /* restore s0 (fp)       <- +192 */
    ld      ra, 200(sp)             /* restore ra            <- +200 */
    addi    sp, sp, 208             /* drop the frame */
    .cfi_def_cfa_offset 0
    .cfi_restore ra
    .cfi_restore s0
    .cfi_restore s1
    .cfi_restore s2
    .cfi_restore s3
    .cfi_restore s4
    .cfi_restore s5
    .cfi_restore s6
    .cfi_restore s7
    .cfi_restore s8
    .cfi_restore s9
    .cfi_restore s10
    .cfi_restore s11
    .cfi_restore fs0
    .cfi_restore fs1
    .cfi_restore fs2
    .cfi_restore fs3
    .cfi_restore fs4
    .cfi_restore fs5
    .cfi_restore fs6
    .cfi_restore fs7
    .cfi_restore fs8
    .cfi_restore fs9
    .cfi_restore fs10
    .cfi_restore fs11
    ret                             /* resume the other side at ra */
    .cfi_endproc
FUNC_END(SYM(switch))

/*
 * init_stack (src/arch/riscv64.rs) builds a frame with
 *   ra = this trampoline, s1 = entry, s2 = data, s3 = on_return,
 *   s0 = 0 (frame-pointer walkers stop here),
 * and the switch's `ret` lands here with a0 = the value that was passed
 * and sp = top - TOP_RESERVED, 16-byte aligned.
 *
 *   noreturn void entry(uintptr_t value /+ a0 +/, void *data /+ a1 +/);
 */
FUNC_BEGIN(SYM(trampoline))
    .cfi_startproc
    .cfi_undefined ra               /* no caller: backtraces end here */
    mv      a1, s2                  /* arg 2: the data pointer; a0 already
                                       holds the value of the first switch */
    jalr    s1                      /* entry(value, data) */
    mv      a0, s1                  /* entry returned: arg 1 = that entry */
    jalr    s3                      /* on_return(entry): does not return */
    unimp                           /* in case it does: trap, never run on */
    .cfi_endproc
FUNC_END(SYM(trampoline))

/*
 * The coroutine layer (see the x86_64 file for the scheme). `resume`
 * (src/arch/riscv64.rs) saves s0 and s1, which LLVM reserves (frame and
 * base pointer) and so cannot be declared clobbered, and `call`s the stub
 * below with a0 = the value, a1 = the coroutine's slots [link, this] and
 * ra = its resume address. A suspended side's stack, at its saved sp:
 *
 *   resumer (in `resume`)          coroutine (in `suspend`)
 *   sp+0   ra (into `resume`)      sp+0   resume address (label 2)
 *   sp+8   unused                  sp+8   unused
 *   sp+16  s0                      sp+16  s0
 *   sp+24  s1                      sp+24  s1
 *
 * Return-address prediction: the ISA manual's hints for JALR (unprivileged
 * spec, "Unconditional Jumps", the table of return-address stack hints)
 * treat ra (x1) and t0 (x5) as link registers; a `jalr` that writes one
 * pushes the return-address stack, one that jumps through one (and writes
 * neither) pops it. (The psABI only makes ra the return address.) `resume`'s `call`
 * pushes, and the coroutine comes back with a `ret` through the ra it
 * saved: a matching pop. Every other jump here goes through t1 (x6), which
 * is no link register, so it leaves the return-address stack alone.
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .cfi_startproc
    addi    sp, sp, -16             /* room for ra (16: sp stays aligned) */
    .cfi_def_cfa_offset 16
    sd      ra, 0(sp)               /* save the resumer's resume address */
    .cfi_offset ra, -16
    sd      sp, SWAPCTX_SLOT_LINK(a1) /* link = resumer's sp */
    ld      sp, SWAPCTX_SLOT_THIS(a1) /* load the coroutine's saved sp */
    .cfi_undefined ra               /* (the rest is the coroutine's) */
    ld      t1, 0(sp)               /* restore its resume address */
    addi    sp, sp, 16              /* and pop it */
    jr      t1                      /* resume it (a jump, not a return); a0 carries the value */
    .cfi_endproc
FUNC_END(SYM(coroutine_enter))

/*
 * A fresh coroutine's stack, as `init_coroutine` leaves it:
 *
 *   slots - 32:  address of this trampoline   <- the coroutine's saved sp
 *   slots - 24:  0 (padding)
 *   slots - 16:  entry function
 *   slots -  8:  data pointer
 *   slots     :  the coroutine's two stack-pointer slots (16-byte aligned)
 *
 * The stub above pops the first pair and jumps here with a0 = the value of
 * the first resume and sp = slots - 16.
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .cfi_startproc
    .cfi_undefined ra               /* until sp = slots: no caller */
    ld      t1, SWAPCTX_INIT_OFF_ENTRY-16(sp) /* the entry function */
    ld      a1, SWAPCTX_INIT_OFF_DATA-16(sp) /* arg 2: the data pointer */
    addi    sp, sp, 16              /* sp = slots: 16-byte aligned */
    /*
     * From here on an unwinder steps onto the resumer's stack. Its saved
     * sp L is in slots.link = [sp]: L+0 ra (into `resume`), L+8 unused,
     * L+16 s0, L+24 s1, L+32 the resumer's sp as the compiler sees it
     * around the asm. CFA = [sp] + 32:
     *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
     *   0x72 0x00  DW_OP_breg2 (sp) + 0
     *   0x06       DW_OP_deref          -> L
     *   0x23 0x20  DW_OP_plus_uconst 32 -> L + 32
     */
    .cfi_escape 0x0f, 0x05, 0x72, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset ra, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset s0, SWAPCTX_CO_OFF_S0 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset s1, SWAPCTX_CO_OFF_S1 - SWAPCTX_CO_FRAME_SIZE
    /*
     * Enter the entry function as if called from here, but with a jump
     * through t1: a `jalr ra` would push a return-address-stack entry that
     * is never popped (the entry ends in a switch whose `ret` goes back
     * into `resume`). ra is set by hand to the address an unwinder sees.
     */
    lla     ra, 1f                  /* the return address an unwinder sees */
    jr      t1                      /* entry(value, data): never returns */
    nop                             /* ra - 1 is looked up: this row. Never run */
1:  unimp                           /* if the entry returns: trap */
    .cfi_endproc
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back (see the x86_64 file):
 *
 *                                   a0           a1         a2
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg));
 *
 * s0 holds the caller's sp while f runs: CFA = s0.
 */
FUNC_BEGIN(SYM(on_stack))
    .cfi_startproc
    addi    sp, sp, -16             /* room for ra and s0 */
    .cfi_def_cfa_offset 16
    sd      ra, 8(sp)               /* save the return address */
    sd      s0, 0(sp)               /* save s0 */
    .cfi_offset ra, -8
    .cfi_offset s0, -16
    addi    s0, sp, 16              /* s0 = the CFA, on the caller's stack */
    .cfi_def_cfa s0, 0              /* CFA = s0, wherever sp goes */
    mv      sp, a1                  /* onto the other stack (16-byte aligned) */
    jalr    a2                      /* f(arg); a0 already holds arg */
    addi    sp, s0, -16             /* back onto the caller's stack */
    .cfi_def_cfa sp, 16
    ld      ra, 8(sp)               /* restore the return address */
    ld      s0, 0(sp)               /* restore s0 */
    .cfi_restore ra
    .cfi_restore s0
    addi    sp, sp, 16
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
FUNC_END(SYM(on_stack))

/*
 * Where a coroutine stopped by a trap continues (see the x86_64 file):
 * entered by the return from a signal handler with sp 16-byte aligned,
 * s1 = the slots, s2 = the entry function, a0 = the trap's data,
 * a1 = the slots, s0 = ra = 0. The resumer's saved sp L is in
 * slots.link = [s1]; CFA = L + 32 (as for the coroutine trampoline):
 *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
 *   0x79 0x00  DW_OP_breg9 (s1) + 0
 *   0x06       DW_OP_deref          -> L
 *   0x23 0x20  DW_OP_plus_uconst 32 -> L + 32
 */
FUNC_BEGIN(SYM(trap_trampoline))
    .cfi_startproc
    .cfi_escape 0x0f, 0x05, 0x79, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset ra, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset s0, SWAPCTX_CO_OFF_S0 - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset s1, SWAPCTX_CO_OFF_S1 - SWAPCTX_CO_FRAME_SIZE
    jalr    s2                      /* entry(data, slots): never returns */
    unimp                           /* if it does: trap */
    .cfi_endproc
FUNC_END(SYM(trap_trampoline))

NOTE_GNU_STACK
NOTE_GNU_PROPERTY
