/*
 * switch_s390x_sysv_elf_gas.S — the context switch for s390x (64-bit
 * z/Architecture, Linux), ELF, GNU assembler. Named like Boost.Context's
 * s390x file ("sysv"). asm/switch_x86_64_sysv_elf_gas.S is the fully
 * commented reference; this file comments where s390x differs.
 *
 * ABI: "LINUX for zSeries ELF Application Binary Interface Supplement",
 * section "Registers" (table "Register usage"): r6-r13 and r15 (the
 * stack pointer) are saved ("belong to the calling function"), r14 holds
 * the return address and is volatile (so the switch saves it as the place
 * to resume), f8-f15 are saved; r0-r5, f0-f7 are volatile; the access
 * registers a0 and a1 hold the thread pointer ("reserved for system use"):
 * they belong to the thread, never touched. The vector facility's
 * registers v0-v15 overlap f0-f15 (f8-f15 are the leftmost 64 bits of
 * v8-v15): of the vector registers only those halves are saved, v16-v31
 * and the right halves of v8-v15 are volatile, so the switch saves the f
 * halves and nothing else. The floating-point control register (fpc:
 * rounding mode, masks) has thread scope like <fenv.h> state: not part of
 * a context (as fcsr on riscv64). Section "The stack frame": r15 is
 * 8-byte aligned (the frames swapctx makes keep 16, rustc's only 8); the
 * 160 bytes at the bottom of every
 * frame are the register save area that the frame's CALLEES store into:
 * +0 the back chain (only with -mbackchain, which Linux user space and
 * rustc do not use), +16 r2-r5, +48 r6-r15, +128 f0, f2, f4, f6. There is
 * no red zone: nothing lives below r15.
 *
 *                                   r2              r3             r4
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 * The saved frame (FRAME_SIZE = 64 bytes, saved r15 8-byte aligned as
 * the caller's r15 is, checked by src/arch/s390x.rs's const asserts and
 * its frame test): f8-f15
 * in the switch's own frame, r6-r15 above it in the caller's register
 * save area, where every s390x function saves them (`stmg`):
 *
 *   offset   contents              offset   contents
 *   ------   --------              ------   --------
 *     +0     f8                      +64    the caller's save area:
 *     +8     f9                     +112    r6 .. r13 (8 bytes each)
 *    +16     f10                    +176    r14 (where this side resumes)
 *    +24     f11                    +184    r15 (= saved r15 + 64)
 *    +32     f12
 *    +40     f13
 *    +48     f14
 *    +56     f15
 *
 * Pitfalls:
 *  - A caller must leave its callee 160 bytes above r15: the trampolines
 *    run with r15 a save area below the top they are given.
 *  - `lmg %r6,%r15,...(%r15)` loads r15 last from an address computed
 *    before any load: it restores the stack pointer with the rest.
 *  - s390x is big-endian: the frame's 8-byte words hold the values as the
 *    registers do; nothing here reads a part of a word.
 *
 * Glossary: stmg/lmg store/load a range of 64-bit registers (r6 .. r15)
 * at consecutive doublewords; stg/lg store/load one; lgr copies one;
 * aghi adds a 16-bit signed immediate; lay loads an address (base +
 * displacement) without touching the condition code; std/ld store/load a
 * 64-bit FPR bit for bit; basr/brasl call (through a register / to a
 * relative address), setting r14; br jumps through a register; larl loads
 * a relative address.
 *
 * DWARF register numbers (the ABI's "DWARF definition"): r0-r15 = 0-15;
 * the FPRs in pairs: f0, f2, f4, f6 = 16-19, f1, f3, f5, f7 = 20-23,
 * f8, f10, f12, f14 = 24-27, f9, f11, f13, f15 = 28-31. The FP rows
 * below are written as numbers: GNU as maps a `%fN` name in a CFI
 * directive to 16 + N, which is not that table (readelf shows it).
 * The CFA at a function's entry is r15 + 160.
 */
#include "common.h"
/*
 * The offsets below are named once, in src/arch/s390x/layout.rs and
 * src/arch/layout.rs; build.rs writes them into layout.h as SWAPCTX_*.
 * What the code fixes by its shape is checked here against the names.
 */
#include "layout.h"
#if SWAPCTX_OFF_R6 != SWAPCTX_FRAME_SIZE + SWAPCTX_SAVE_AREA_R6 || SWAPCTX_OFF_R14 != SWAPCTX_OFF_R6 + 64 || SWAPCTX_OFF_R15 != SWAPCTX_OFF_R14 + 8
#error "stmg saves r6..r15 in the caller's save area, in order"
#endif
#if SWAPCTX_CO_OFF_RESUME != SWAPCTX_SAVE_AREA_R6 + 64 || SWAPCTX_CO_OFF_R11 != SWAPCTX_SAVE_AREA_R6 + 40
#error "a suspended side keeps r14 and r11 in their save-area slots"
#endif
#if SWAPCTX_INIT_OFF_TRAMPOLINE != SWAPCTX_CO_OFF_RESUME
#error "coroutine_enter finds a fresh coroutine's trampoline where it finds a resume address"
#endif
#if SWAPCTX_CO_FRAME_SIZE != 160 || SWAPCTX_COROUTINE_INIT_SIZE != 160 || SWAPCTX_SAVE_AREA_SIZE != 160 || SWAPCTX_SLOT_LINK != 0
#error "the CFI expressions below spell 160 and the link slot as LEB128 bytes"
#endif

FUNC_BEGIN(SYM(switch))
    .cfi_startproc                  /* CFA = r15 + 160 */
    stmg    %r6, %r15, SWAPCTX_SAVE_AREA_R6(%r15) /* save r6..r15 in the caller's
                                       save area                -> +112 .. +184 */
    .cfi_offset %r6, -112              /* r6 at CFA-112 */
    .cfi_offset %r7, -104              /* r7 at CFA-104 */
    .cfi_offset %r8, -96               /* r8 at CFA-96 */
    .cfi_offset %r9, -88               /* r9 at CFA-88 */
    .cfi_offset %r10, -80               /* r10 at CFA-80 */
    .cfi_offset %r11, -72               /* r11 at CFA-72 */
    .cfi_offset %r12, -64               /* r12 at CFA-64 */
    .cfi_offset %r13, -56               /* r13 at CFA-56 */
    .cfi_offset %r14, -48               /* r14 at CFA-48 */
    .cfi_offset %r15, -40               /* r15 at CFA-40 */
    aghi    %r15, -SWAPCTX_FRAME_SIZE /* make our frame: f8-f15 */
    .cfi_def_cfa_offset SWAPCTX_FRAME_SIZE+160
    std     %f8, SWAPCTX_OFF_F8+0(%r15) /* save f8                -> +0 */
    .cfi_offset 24, SWAPCTX_OFF_F8+0-SWAPCTX_FRAME_SIZE-160 /* f8: DWARF 24 */
    std     %f9, SWAPCTX_OFF_F8+8(%r15) /* save f9                -> +8 */
    .cfi_offset 28, SWAPCTX_OFF_F8+8-SWAPCTX_FRAME_SIZE-160 /* f9: DWARF 28 */
    std     %f10, SWAPCTX_OFF_F8+16(%r15) /* save f10               -> +16 */
    .cfi_offset 25, SWAPCTX_OFF_F8+16-SWAPCTX_FRAME_SIZE-160 /* f10: DWARF 25 */
    std     %f11, SWAPCTX_OFF_F8+24(%r15) /* save f11               -> +24 */
    .cfi_offset 29, SWAPCTX_OFF_F8+24-SWAPCTX_FRAME_SIZE-160 /* f11: DWARF 29 */
    std     %f12, SWAPCTX_OFF_F8+32(%r15) /* save f12               -> +32 */
    .cfi_offset 26, SWAPCTX_OFF_F8+32-SWAPCTX_FRAME_SIZE-160 /* f12: DWARF 26 */
    std     %f13, SWAPCTX_OFF_F8+40(%r15) /* save f13               -> +40 */
    .cfi_offset 30, SWAPCTX_OFF_F8+40-SWAPCTX_FRAME_SIZE-160 /* f13: DWARF 30 */
    std     %f14, SWAPCTX_OFF_F8+48(%r15) /* save f14               -> +48 */
    .cfi_offset 27, SWAPCTX_OFF_F8+48-SWAPCTX_FRAME_SIZE-160 /* f14: DWARF 27 */
    std     %f15, SWAPCTX_OFF_F8+56(%r15) /* save f15               -> +56 */
    .cfi_offset 31, SWAPCTX_OFF_F8+56-SWAPCTX_FRAME_SIZE-160 /* f15: DWARF 31 */

    stg     %r15, 0(%r2)            /* *save_sp = our stack pointer */
    lgr     %r15, %r3               /* switch: now on the other stack; its
                                       frame has the same layout, so the
                                       CFI above describes it as well */
    lgr     %r2, %r4                /* the value crosses as the return value */

    ld      %f8, SWAPCTX_OFF_F8+0(%r15) /* restore f8             <- +0 */
    ld      %f9, SWAPCTX_OFF_F8+8(%r15) /* restore f9             <- +8 */
    ld      %f10, SWAPCTX_OFF_F8+16(%r15) /* restore f10            <- +16 */
    ld      %f11, SWAPCTX_OFF_F8+24(%r15) /* restore f11            <- +24 */
    ld      %f12, SWAPCTX_OFF_F8+32(%r15) /* restore f12            <- +32 */
    ld      %f13, SWAPCTX_OFF_F8+40(%r15) /* restore f13            <- +40 */
    ld      %f14, SWAPCTX_OFF_F8+48(%r15) /* restore f14            <- +48 */
    ld      %f15, SWAPCTX_OFF_F8+56(%r15) /* restore f15            <- +56 */
    lmg     %r6, %r15, SWAPCTX_OFF_R6(%r15) /* restore r6..r14       <- +112 .. +176
                                       and r15 (the frame dropped) <- +184 */
    .cfi_def_cfa_offset 160
    .cfi_restore %r6
    .cfi_restore %r7
    .cfi_restore %r8
    .cfi_restore %r9
    .cfi_restore %r10
    .cfi_restore %r11
    .cfi_restore %r12
    .cfi_restore %r13
    .cfi_restore %r14
    .cfi_restore %r15
    .cfi_restore 24              /* f8 */
    .cfi_restore 28              /* f9 */
    .cfi_restore 25              /* f10 */
    .cfi_restore 29              /* f11 */
    .cfi_restore 26              /* f12 */
    .cfi_restore 30              /* f13 */
    .cfi_restore 27              /* f14 */
    .cfi_restore 31              /* f15 */
    br      %r14                    /* resume the other side at r14 */
    .cfi_endproc
FUNC_END(SYM(switch))

/*
 * init_stack (src/arch/s390x.rs) builds a frame with
 *   r14 = this trampoline, r6 = entry, r7 = data, r8 = on_return,
 *   r15 = its own stack pointer plus FRAME_SIZE,
 * and the switch's `br %r14` lands here with r2 = the value that was
 * passed and r15 = top - TOP_RESERVED - 160: a register save area for the
 * entry function.
 *
 *   noreturn void entry(uintptr_t value /+ r2 +/, void *data /+ r3 +/);
 */
FUNC_BEGIN(SYM(trampoline))
    .cfi_startproc
    .cfi_undefined %r14             /* no caller: backtraces end here */
    lgr     %r3, %r7                /* arg 2: the data pointer; r2 already
                                       holds the value of the first switch */
    basr    %r14, %r6               /* entry(value, data) */
    lgr     %r2, %r6                /* entry returned: arg 1 = that entry */
    basr    %r14, %r8               /* on_return(entry): does not return */
    .short  0                       /* in case it does: an invalid opcode
                                       (SIGILL), never run on */
    .cfi_endproc
FUNC_END(SYM(trampoline))

/*
 * The coroutine layer (see the x86_64 file for the scheme). `resume`
 * (src/arch/s390x.rs) makes a register save area of CO_FRAME_SIZE = 160
 * bytes (what the stub it calls may store into), saves r11 (the frame
 * pointer, which cannot be declared clobbered) in r11's slot, and calls
 * the stub below (`brasl %r14`) with r2 = the value, r3 = the coroutine's
 * slots [link, this]. The stub saves r14 in r14's slot, as any callee
 * does. A suspended side's stack, at its saved r15 (both sides alike; the
 * coroutine's resume address is label 2 of `suspend`):
 *
 *   r15+88   r11                       (CO_OFF_R11)
 *   r15+112  resume address (r14)      (CO_OFF_RESUME)
 *   the rest of the 160 bytes unused
 *
 * Return-address prediction: `resume`'s `brasl` is a call, and the
 * coroutine comes back with `br %r14` to the r14 it saved, the return the
 * predictor pairs with it. The way into the coroutine is `br %r1`, a
 * plain jump.
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .cfi_startproc
    stg     %r14, SWAPCTX_CO_OFF_RESUME(%r15) /* save the resumer's resume address
                                       in its r14 slot */
    .cfi_offset %r14, SWAPCTX_CO_OFF_RESUME-160
    stg     %r15, SWAPCTX_SLOT_LINK(%r3) /* link = the resumer's r15 */
    lg      %r15, SWAPCTX_SLOT_THIS(%r3) /* load the coroutine's saved r15 */
    .cfi_undefined %r14             /* (the rest is the coroutine's) */
    lg      %r1, SWAPCTX_CO_OFF_RESUME(%r15) /* restore its resume address */
    br      %r1                     /* resume it (a jump); r2 carries the value */
    .cfi_endproc
FUNC_END(SYM(coroutine_enter))

/*
 * A fresh coroutine's stack, as `init_coroutine` leaves it (a register
 * save area, 0 but for three words):
 *
 *   slots - 160:  0                          <- the coroutine's saved r15
 *   slots - 144:  entry function             (INIT_OFF_ENTRY)
 *   slots - 136:  data pointer               (INIT_OFF_DATA)
 *   slots -  48:  address of this trampoline (INIT_OFF_TRAMPOLINE, r14's slot)
 *   slots      :  the coroutine's two stack-pointer slots (16-byte aligned)
 *
 * The stub above jumps here with r2 = the value of the first resume and
 * r15 = slots - 160: the save area the entry function stores into.
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .cfi_startproc
    /*
     * From here on an unwinder steps onto the resumer's stack. Its saved
     * r15 L is in slots.link = [r15 + 160]; L + 160 is the resumer's r15
     * as the compiler sees it around the asm. CFA = [r15 + 160] + 160:
     *   0x0f       DW_CFA_def_cfa_expression, 7 bytes:
     *   0x7f 0xa0 0x01  DW_OP_breg15 (r15) + 160 (SLEB128: COROUTINE_INIT_SIZE
     *                                              + SLOT_LINK)
     *   0x06            DW_OP_deref           -> L
     *   0x23 0xa0 0x01  DW_OP_plus_uconst 160 -> L + 160 (CO_FRAME_SIZE)
     * and r15 = the CFA itself (DW_CFA_val_offset 0), said outright.
     */
    .cfi_escape 0x0f, 0x07, 0x7f, 0xa0, 0x01, 0x06, 0x23, 0xa0, 0x01
    .cfi_offset %r14, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %r11, SWAPCTX_CO_OFF_R11 - SWAPCTX_CO_FRAME_SIZE
    .cfi_val_offset %r15, 0
    lg      %r1, SWAPCTX_INIT_OFF_ENTRY(%r15) /* r1 = the entry function */
    lg      %r3, SWAPCTX_INIT_OFF_DATA(%r15) /* arg 2: the data pointer */
    /*
     * Enter the entry function as if called from here, but with a jump:
     * a `basr` would be a call that is never returned from (the entry
     * ends in a switch whose `br %r14` goes back into `resume`). r14 is
     * set by hand to the address an unwinder sees.
     */
    larl    %r14, 1f                /* the return address an unwinder sees */
    br      %r1                     /* entry(value, data): never returns */
    nopr                            /* r14 - 1 is looked up: this row. Never run */
1:  .short  0                       /* if the entry returns: SIGILL */
    .cfi_endproc
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back (see the x86_64 file):
 *
 *                                   r2           r3         r4
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg));
 *
 * r11 holds our r15 while f runs: CFA = r11 + 160. f gets a register
 * save area of its own under sp.
 */
FUNC_BEGIN(SYM(on_stack))
    .cfi_startproc
    stmg    %r11, %r15, SWAPCTX_SAVE_AREA_R6+40(%r15) /* save r11..r15 in the
                                       caller's save area */
    .cfi_offset %r11, -72
    .cfi_offset %r12, -64
    .cfi_offset %r13, -56
    .cfi_offset %r14, -48
    .cfi_offset %r15, -40
    lgr     %r11, %r15              /* r11 = our r15, on the caller's stack */
    .cfi_def_cfa_register %r11      /* CFA = r11 + 160, wherever r15 goes */
    lay     %r15, -SWAPCTX_SAVE_AREA_SIZE(%r3) /* onto the other stack, under
                                       a save area for f */
    basr    %r14, %r4               /* f(arg); r2 already holds arg */
    lgr     %r15, %r11              /* back onto the caller's stack */
    .cfi_def_cfa_register %r15
    lmg     %r11, %r15, SWAPCTX_SAVE_AREA_R6+40(%r15) /* restore r11..r15 */
    .cfi_restore %r11
    .cfi_restore %r12
    .cfi_restore %r13
    .cfi_restore %r14
    .cfi_restore %r15
    br      %r14
    .cfi_endproc
FUNC_END(SYM(on_stack))

/*
 * Where a coroutine stopped by a trap continues (see the x86_64 file):
 * entered by the return from a signal handler with r15 16-byte aligned
 * under a save area, r6 = the slots, r7 = the entry function, r2 = the
 * trap's data, r3 = the slots, r14 = 0. The resumer's saved r15 L is in
 * slots.link = [r6]; CFA = L + 160 (as for the coroutine trampoline):
 *   0x0f            DW_CFA_def_cfa_expression, 6 bytes:
 *   0x76 0x00       DW_OP_breg6 (r6) + 0
 *   0x06            DW_OP_deref           -> L
 *   0x23 0xa0 0x01  DW_OP_plus_uconst 160 -> L + 160
 */
FUNC_BEGIN(SYM(trap_trampoline))
    .cfi_startproc
    .cfi_escape 0x0f, 0x06, 0x76, 0x00, 0x06, 0x23, 0xa0, 0x01
    .cfi_offset %r14, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %r11, SWAPCTX_CO_OFF_R11 - SWAPCTX_CO_FRAME_SIZE
    .cfi_val_offset %r15, 0
    basr    %r14, %r7               /* entry(data, slots): never returns */
    .short  0                       /* if it does: SIGILL */
    .cfi_endproc
FUNC_END(SYM(trap_trampoline))

NOTE_GNU_STACK
NOTE_GNU_PROPERTY
