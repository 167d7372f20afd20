/*
 * switch_i386_sysv_elf_gas.S — the context switch for x86 (i386, 32-bit),
 * System V ABI, ELF, GNU assembler (AT&T syntax). The x86_64 file is the
 * fully commented reference; this one comments in full where i386 differs.
 *
 * ABI: System V Intel386 psABI (the "i386 ABI supplement", with the Linux
 * update), section 2.2 "Function Calling Sequence", table 2.3 "Register
 * Usage": ebx, esi, edi, ebp and esp belong to the caller and must be
 * preserved across a call; eax, ecx and edx are scratch. The control bits
 * of MXCSR and the x87 control word are callee-saved too. Arguments are
 * passed on the stack (4 bytes each, the first at 4(%esp) on entry); the
 * result comes back in eax. On Linux, GCC and LLVM keep esp 16-byte aligned
 * at every `call` (so esp+4 is aligned on entry), and their SSE code relies
 * on it: the switch keeps that promise for every function it calls.
 *
 * C prototype (src/arch/mod.rs declares it for Rust):
 *
 *                             4(%esp)          8(%esp)        12(%esp)
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 *   Saves the callee-saved state of the running context on its own stack,
 *   stores the resulting stack pointer to *save_sp, loads load_sp and
 *   restores that context, which sees `value` (in eax) as the return value
 *   of *its* call to swapctx_switch (or, for a fresh context, as the first
 *   argument of its entry function).
 *
 * The saved frame. A suspended context's saved stack pointer points at +0;
 * the frame is 32 bytes and the saved stack pointer is 16-byte aligned
 * (the caller's esp was aligned at its `call`, so the return address sits
 * at 16n-4 and 28 more bytes reach 16n-32). src/arch/x86/layout.rs names
 * these offsets; src/arch/tests.rs reads a suspended frame back.
 *
 *   offset  size  contents
 *   ------  ----  ---------------------------------------------
 *     +0     4    MXCSR (SSE control and status)
 *     +4     2    x87 FPU control word
 *     +6     6    padding (keeps the saved esp 16-byte aligned)
 *    +12     4    edi
 *    +16     4    esi
 *    +20     4    ebx
 *    +24     4    ebp
 *    +28     4    return address (pushed by the caller's `call`;
 *                 popped and jumped to when this side resumes)
 *    +32          the caller's arguments (save_sp, load_sp, value)
 *
 * Pitfalls kept in mind:
 *  - Arguments live on the stack that is being switched away from: they
 *    are read into eax, ecx and edx (scratch) before anything moves.
 *  - Position independence: Linux executables are PIE, and i386 has no
 *    eip-relative addressing. Nothing here needs an absolute address in
 *    the code (which would be a text relocation): the coroutine
 *    trampoline computes its return label from its own address, which
 *    arrives in edx (see there).
 *  - Signals: as on x86_64, nothing is stored below esp, and esp always
 *    holds a valid, fully written stack pointer of one side or the other.
 *    i386 has no red zone at all.
 *  - Return-stack buffer: as on x86_64, the raw switch ends in a `jmp`,
 *    not a `ret`; coroutines keep call and ret paired.
 *  - LLVM reserves esi as its base pointer on i386 (not ebx, as on
 *    x86_64): the coroutine switch saves esi and ebp by hand.
 *
 * DWARF register numbers (i386 psABI, as used in .eh_frame on Linux):
 * eax 0, ecx 1, edx 2, ebx 3, esp 4, ebp 5, esi 6, edi 7, eip 8.
 *
 * Glossary: stmxcsr/ldmxcsr store/load the 32-bit MXCSR register; fnstcw
 * stores the x87 control word without checking for pending exceptions,
 * fldcw loads it; endbr32 is CET's landing pad for 32-bit code.
 */
#include "common.h"
/*
 * The offsets below are named once, in src/arch/x86/layout.rs and
 * src/arch/layout_32.rs; build.rs writes them into layout.h as SWAPCTX_*.
 * The pushes of the raw switch fix its offsets by their order, so they
 * are checked here against the names.
 */
#include "layout.h"
#if SWAPCTX_OFF_MXCSR != 0 || SWAPCTX_OFF_X87CW != 4 || SWAPCTX_OFF_PAD != 8 \
    || SWAPCTX_OFF_EDI != 12 || SWAPCTX_OFF_ESI != 16 || SWAPCTX_OFF_EBX != 20 \
    || SWAPCTX_OFF_EBP != 24 || SWAPCTX_OFF_RET != 28 || SWAPCTX_FRAME_SIZE != 32
#error "the raw switch's pushes do not match src/arch/x86/layout.rs"
#endif
#if SWAPCTX_INIT_OFF_TRAMPOLINE != 0 || SWAPCTX_CO_OFF_RESUME != 0
#error "coroutine_enter pops the first word: the resume address must be at +0"
#endif
#if SWAPCTX_CO_OFF_ESI != 4 || SWAPCTX_CO_OFF_EBP != 8 || SWAPCTX_CO_FRAME_SIZE != 12
#error "resume and suspend push ebp, then esi, then the resume address"
#endif
#if SWAPCTX_COROUTINE_INIT_SIZE != 16
#error "the coroutine trampoline lands 12 bytes below the slots"
#endif
#if SWAPCTX_CO_FRAME_SIZE >= 128 || SWAPCTX_SLOT_LINK + 20 >= 64
#error "the CFI expressions below encode these as one-byte LEB128 numbers"
#endif

FUNC_BEGIN(SYM(switch))
    .cfi_startproc
    CET_ENDBR
    /* On entry: esp -> return address, CFA = esp + 4. */
    movl    4(%esp), %ecx           /* ecx = save_sp (read before we move) */
    movl    8(%esp), %edx           /* edx = load_sp */
    movl    12(%esp), %eax          /* eax = value: crosses as the return value */
    pushl   %ebp                    /* save ebp            -> +24 */
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %ebp, 0
    pushl   %ebx                    /* save ebx            -> +20 */
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %ebx, 0
    pushl   %esi                    /* save esi            -> +16 */
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %esi, 0
    pushl   %edi                    /* save edi            -> +12 */
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %edi, 0
    subl    $SWAPCTX_OFF_EDI, %esp  /* room for the FP control words and the pad */
    .cfi_adjust_cfa_offset SWAPCTX_OFF_EDI
    stmxcsr SWAPCTX_OFF_MXCSR(%esp) /* save MXCSR          -> +0  */
    fnstcw  SWAPCTX_OFF_X87CW(%esp) /* save x87 control word -> +4 */

    movl    %esp, (%ecx)            /* *save_sp = our stack pointer */
    movl    %edx, %esp              /* switch: now on the other stack; its
                                       frame has the same layout, so the
                                       CFI above describes it as well */

    ldmxcsr SWAPCTX_OFF_MXCSR(%esp) /* restore MXCSR       <- +0  */
    fldcw   SWAPCTX_OFF_X87CW(%esp) /* restore x87 control word <- +4 */
    addl    $SWAPCTX_OFF_EDI, %esp  /* drop the FP words and the pad */
    .cfi_adjust_cfa_offset -SWAPCTX_OFF_EDI
    popl    %edi                    /* restore edi         <- +12 */
    .cfi_adjust_cfa_offset -4
    .cfi_restore %edi
    popl    %esi                    /* restore esi         <- +16 */
    .cfi_adjust_cfa_offset -4
    .cfi_restore %esi
    popl    %ebx                    /* restore ebx         <- +20 */
    .cfi_adjust_cfa_offset -4
    .cfi_restore %ebx
    popl    %ebp                    /* restore ebp         <- +24 */
    .cfi_adjust_cfa_offset -4
    .cfi_restore %ebp
    popl    %ecx                    /* the other side's resume address <- +28 */
    .cfi_adjust_cfa_offset -4
    .cfi_register %eip, %ecx
    jmpl    *%ecx                   /* resume it: a jmp, not a ret (see above) */
    .cfi_endproc
FUNC_END(SYM(switch))

/*
 * The first code a fresh context runs. init_stack (src/arch/x86.rs)
 * builds a saved frame whose return address is this trampoline, with
 *
 *   esi = entry function, edi = its data pointer,
 *   ebx = the function to call if entry ever returns (it must not),
 *   ebp = 0 (frame-pointer walkers stop here),
 *
 * so the switch's final jump lands here with eax = the value that was
 * passed and esp = top - 16, 16-byte aligned.
 *
 *                                 4(%esp)          8(%esp)
 *   noreturn void entry(uintptr_t value, void *data);
 */
FUNC_BEGIN(SYM(trampoline))
    .cfi_startproc
    .cfi_undefined %eip             /* no caller: backtraces end here */
    CET_ENDBR
    subl    $8, %esp                /* pad: esp is aligned again after two pushes */
    pushl   %edi                    /* arg 2: the data pointer from init_stack */
    pushl   %eax                    /* arg 1: the value of the first switch */
    calll   *%esi                   /* entry(value, data), esp 16-byte aligned */
    /* entry returned, which it must never do: report and abort. */
    movl    %esi, (%esp)            /* arg 1: the entry that returned (esp still aligned) */
    calll   *%ebx                   /* on_return(entry): does not return */
    ud2                             /* in case it does: fault, never run on */
    .cfi_endproc
FUNC_END(SYM(trampoline))

/*
 * The way into a coroutine, called by `resume` (src/arch/x86.rs) after it
 * pushed ebp and esi; ecx = the coroutine's slots [link, this], eax = the
 * value. The `call` that got here pushed the resumer's resume address; the
 * coroutine's `suspend` comes back with the `ret` that matches it.
 *
 * The jump goes through edx, which therefore holds the address jumped to
 * when the coroutine side starts: the coroutine trampoline uses that to
 * find its own labels without an absolute address (see below).
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .cfi_startproc
    movl    %esp, SWAPCTX_SLOT_LINK(%ecx) /* link = resumer's esp (its return address on top) */
    movl    SWAPCTX_SLOT_THIS(%ecx), %esp /* load the coroutine's saved esp */
    .cfi_undefined %eip             /* (the rest is the coroutine's: no caller to walk to) */
    popl    %edx                    /* its resume address */
    jmpl    *%edx                   /* resume it; eax carries the value */
    .cfi_endproc
FUNC_END(SYM(coroutine_enter))

/*
 * The coroutine layer's trampoline. A fresh coroutine's stack, as
 * `init_coroutine` leaves it:
 *
 *   slots - 16:  address of this trampoline   <- the coroutine's saved esp
 *   slots - 12:  entry function
 *   slots -  8:  data pointer
 *   slots -  4:  0 (padding)
 *   slots     :  the coroutine's two stack-pointer slots (16-byte aligned)
 *
 * `coroutine_enter` pops the first word into edx and jumps to it, so this
 * runs with eax = the value of the first resume, edx = the address of this
 * trampoline, and esp = slots - 12.
 *
 *                                 4(%esp)          8(%esp)
 *   noreturn void entry(uintptr_t value, void *data);
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .cfi_startproc
    .cfi_undefined %eip             /* until esp = slots: no caller */
    CET_ENDBR
    movl    SWAPCTX_INIT_OFF_ENTRY-4(%esp), %ecx /* the entry function */
    movl    SWAPCTX_INIT_OFF_DATA-4(%esp), %ebx  /* the data pointer */
    addl    $SWAPCTX_COROUTINE_INIT_SIZE-4, %esp /* esp = slots: 16-byte aligned */
    /*
     * From here on, an unwinder that walks up out of the coroutine steps
     * onto the stack of whoever resumed it, suspended in `resume`
     * (src/arch/x86.rs) with its saved stack pointer L in
     * slots.link = [esp]:
     *
     *   L+0   return address, into `resume` after its `call`
     *   L+4   esi
     *   L+8   ebp
     *   L+12  the resumer's esp as the compiler sees it around the asm
     *
     * So the caller's frame is: CFA = [esp] + 12, eip at CFA-12, esi at
     * CFA-8, ebp at CFA-4. The CFA rule is a DWARF expression:
     *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
     *   0x74 0x00  DW_OP_breg4 (esp) + 0
     *   0x06       DW_OP_deref          -> L
     *   0x23 0x0c  DW_OP_plus_uconst 12 -> L + 12
     * Each push below moves esp, so each is followed by the same rule with
     * the link 4 bytes further up.
     */
    .cfi_escape 0x0f, 0x05, 0x74, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %eip, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %esi, SWAPCTX_CO_OFF_ESI - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %ebp, SWAPCTX_CO_OFF_EBP - SWAPCTX_CO_FRAME_SIZE
    subl    $8, %esp                /* pad: esp aligned again after the two arguments */
    .cfi_escape 0x0f, 0x05, 0x74, SWAPCTX_SLOT_LINK + 8, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    pushl   %ebx                    /* arg 2: the data pointer */
    .cfi_escape 0x0f, 0x05, 0x74, SWAPCTX_SLOT_LINK + 12, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    pushl   %eax                    /* arg 1: the value; esp = slots - 16, aligned */
    .cfi_escape 0x0f, 0x05, 0x74, SWAPCTX_SLOT_LINK + 16, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    /*
     * Enter the entry function as if called from here, but with a jump (a
     * `call` would leave a return-stack entry that is never popped: see
     * the x86_64 file). The return address an unwinder sees is label 1,
     * computed from edx (this trampoline's own address, see
     * coroutine_enter): 1f - trampoline is a constant of the assembly, so
     * no absolute address appears in the code.
     */
    leal    1f - SYM(coroutine_trampoline)(%edx), %edx /* edx = label 1 */
    pushl   %edx                    /* the return address, as after a call */
    .cfi_escape 0x0f, 0x05, 0x74, SWAPCTX_SLOT_LINK + 20, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    jmpl    *%ecx                   /* entry(value, data): never returns */
    /*
     * An unwinder looks up the row of the byte before the return address,
     * this nop's, where esp = slots - 16 (the return address popped, the
     * two arguments and the pad still there): CFA = [esp + 16] + 12.
     * Never executed.
     */
    .cfi_escape 0x0f, 0x05, 0x74, SWAPCTX_SLOT_LINK + 16, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    nop
1:  ud2                             /* if the entry returns: fault, never run on */
    .cfi_endproc
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back (see the x86_64 file):
 *
 *                                4(%esp)      8(%esp)    12(%esp)
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg));
 *
 * ebp holds our frame on the caller's stack while f runs: CFA = ebp + 8.
 */
FUNC_BEGIN(SYM(on_stack))
    .cfi_startproc
    CET_ENDBR
    pushl   %ebp                    /* save the caller's ebp */
    .cfi_adjust_cfa_offset 4
    .cfi_rel_offset %ebp, 0
    movl    %esp, %ebp              /* ebp = our frame, on the caller's stack */
    .cfi_def_cfa_register %ebp      /* CFA = ebp + 8, wherever esp goes */
    movl    8(%ebp), %eax           /* arg */
    movl    16(%ebp), %edx          /* f */
    movl    12(%ebp), %esp          /* onto the other stack (16-byte aligned) */
    subl    $12, %esp               /* pad: aligned again after one push */
    pushl   %eax                    /* arg 1: arg */
    calll   *%edx                   /* f(arg) */
    movl    %ebp, %esp              /* back onto the caller's stack */
    .cfi_def_cfa_register %esp
    popl    %ebp                    /* restore the caller's ebp */
    .cfi_adjust_cfa_offset -4
    .cfi_restore %ebp
    ret
    .cfi_endproc
FUNC_END(SYM(on_stack))

/*
 * Where a coroutine stopped by a trap continues (src/coroutine/trap.rs).
 * An embedder's signal handler rewrites the interrupted context
 * (src/arch/x86.rs, `set_trap_return`) so that the return from the handler
 * lands here, with
 *
 *   esp = 16-byte aligned, on the coroutine's stack below the trap's data,
 *   ebx = the coroutine's slots [link, this], esi = the entry function,
 *   edi = the trap's data, ebp = 0.
 *
 *                                 4(%esp)      8(%esp)
 *   noreturn void entry(void *data, void *slots);
 *
 * For unwinders this frame's caller is the resumer, found through ebx
 * (callee-saved, so the entry keeps it or says where it saved it): the
 * resumer's saved esp L is in slots.link = [ebx], and CFA = L + 12:
 *   0x0f DW_CFA_def_cfa_expression, 5 bytes:
 *   0x73 0x00  DW_OP_breg3 (ebx) + 0
 *   0x06       DW_OP_deref          -> L
 *   0x23 0x0c  DW_OP_plus_uconst 12 -> L + 12
 */
FUNC_BEGIN(SYM(trap_trampoline))
    .cfi_startproc
    .cfi_escape 0x0f, 0x05, 0x73, SWAPCTX_SLOT_LINK, 0x06, 0x23, SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %eip, SWAPCTX_CO_OFF_RESUME - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %esi, SWAPCTX_CO_OFF_ESI - SWAPCTX_CO_FRAME_SIZE
    .cfi_offset %ebp, SWAPCTX_CO_OFF_EBP - SWAPCTX_CO_FRAME_SIZE
    CET_ENDBR
    subl    $8, %esp                /* pad: aligned again after two pushes */
    pushl   %ebx                    /* arg 2: the slots */
    pushl   %edi                    /* arg 1: the trap's data */
    calll   *%esi                   /* entry(data, slots): never returns */
    ud2                             /* if it does: fault, never run on */
    .cfi_endproc
FUNC_END(SYM(trap_trampoline))

NOTE_GNU_STACK
NOTE_GNU_PROPERTY
