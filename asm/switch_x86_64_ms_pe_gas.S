/*
 * switch_x86_64_ms_pe_gas.S — the context switch for x86_64, Microsoft x64
 * ABI, PE/COFF, GNU assembler (AT&T syntax): x86_64-pc-windows-gnu. It
 * reads like asm/switch_x86_64_sysv_elf_gas.S, the fully commented
 * reference; this file comments in full where Windows differs.
 *
 * ABI: "x64 calling convention" and "x64 ABI conventions: register
 * volatility and preservation" (Microsoft Learn): rbx, rbp, rdi, rsi,
 * r12-r15, rsp and xmm6-xmm15 (all 128 bits) are nonvolatile, so are the
 * control bits of MXCSR and the x87 control word. The first four integer
 * arguments are in rcx, rdx, r8, r9; the caller reserves 32 bytes of
 * "shadow space" (home slots for those four) right above the return
 * address at every call, and rsp is 16-byte aligned at every `call`. There
 * is no red zone.
 *
 * C prototype (src/arch/mod.rs declares it for Rust):
 *
 *                                  rcx             rdx            r8
 *   uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
 *
 * A context also owns six fields of the Thread Environment Block (TEB),
 * which gs points at; the switch saves the running context's values on
 * its stack and loads the other's:
 *
 *   gs:0x0000  NT_TIB.ExceptionList     x86 SEH chain: unused by Win64, but
 *                                       Wine's own code pushes frames on it
 *   gs:0x0008  NT_TIB.StackBase         the running stack's top
 *   gs:0x0010  NT_TIB.StackLimit        its lowest committed byte
 *   gs:0x0020  NT_TIB.FiberData         the running fiber (GetCurrentFiber)
 *   gs:0x1478  TEB.DeallocationStack    its reservation's start
 *   gs:0x1748  TEB.GuaranteedStackBytes the room kept for the overflow
 *                                       exception (SetThreadStackGuarantee)
 *
 * Why: Windows reads them for the stack that is running. The exception
 * dispatcher (RtlDispatchException, which a Rust panic goes through:
 * RaiseException) rejects every frame outside [StackLimit, StackBase), so
 * a panic caught inside a coroutine would abort; MSVC's __chkstk probes
 * only below StackLimit; the kernel (and Wine) grow a stack, or raise
 * STATUS_STACK_OVERFLOW, from a guard-page fault by comparing it with
 * DeallocationStack + GuaranteedStackBytes. Boost.Context's
 * jump_x86_64_ms_pe switches StackBase, StackLimit, DeallocationStack and
 * FiberData; corosensei's x86_64_windows.rs switches ExceptionList (for
 * Wine), StackBase, StackLimit, DeallocationStack and GuaranteedStackBytes.
 * This switch does the union: the guarantee decides where a stack's
 * overflow is raised (src/stack/windows.rs sizes the guard region by it),
 * and FiberData keeps GetCurrentFiber right when fibers and contexts mix.
 *
 * The saved frame. A suspended context's saved stack pointer points at +0;
 * the frame is 288 bytes and the saved stack pointer is 16-byte aligned
 * (movaps needs it). src/arch/x86_64_windows/layout.rs names these offsets
 * and its tests read a suspended frame back to check every one.
 *
 *   offset  size  contents
 *   ------  ----  ---------------------------------------------
 *     +0    160   xmm6 .. xmm15, 16 bytes each
 *   +160     4    MXCSR
 *   +164     2    x87 control word (+2 padding)
 *   +168     8    TEB ExceptionList
 *   +176     8    TEB GuaranteedStackBytes
 *   +184     8    TEB FiberData
 *   +192     8    TEB DeallocationStack
 *   +200     8    TEB StackLimit
 *   +208     8    TEB StackBase
 *   +216     8    r15
 *   +224     8    r14
 *   +232     8    r13
 *   +240     8    r12
 *   +248     8    rsi
 *   +256     8    rdi
 *   +264     8    rbx
 *   +272     8    rbp
 *   +280     8    return address (popped and jumped to on resume)
 *   +288          the caller's frame (its rsp before the `call`)
 *
 * Unwind information. PE has no DWARF CFI: the Windows unwinder
 * (RtlVirtualUnwind, used by the exception dispatcher, by Rust's
 * backtraces and by debuggers) reads UNWIND_INFO records from .pdata and
 * .xdata, which the `.seh_*` directives below make. An unwind code only
 * says how to undo one prologue step (pop a register, free stack, restore
 * a register from a slot, take rsp from the frame register); the unwinder
 * undoes them in reverse and then pops the return address. That is
 * enough for the switch (its prologue is its saves) and for on_stack (a
 * frame pointer), and, with one trick, for the coroutine trampoline: see
 * there. A function with no unwind information is a leaf to the unwinder
 * (return address at [rsp]).
 *
 * Pitfalls kept in mind:
 *  - Shadow space: every `call` into C or Rust code from here leaves 32
 *    bytes above the return address for the callee to spill its
 *    arguments; forgetting it lets the callee overwrite what lies there
 *    (the coroutine slots, at the top of a stack).
 *  - The TEB fields and rsp change at different instructions; nothing in
 *    between can raise an exception or be interrupted into Windows code
 *    (no Unix-like signals run on the thread's stack).
 *  - Return-stack buffer: as on System V, the raw switch pops the resume
 *    address and jumps; the coroutine switch keeps call and ret paired.
 *  - The restore half of the raw switch is not an epilogue the unwinder
 *    recognises; an unwind with rip inside it (a debugger's single step)
 *    may be wrong. Nothing raises an exception there.
 *
 * Glossary: movaps stores/loads 16 aligned bytes of an xmm register;
 * stmxcsr/ldmxcsr and fnstcw/fldcw as in the System V file; `pushq
 * %gs:N` / `popq %gs:N` push or pop the 8 bytes at offset N of the TEB.
 *
 * Only the GNU target (mingw-w64's gcc and binutils) builds this file;
 * build.rs refuses x86_64-pc-windows-msvc, whose toolchain cannot assemble
 * GNU-syntax .S files (clang could, with --target=x86_64-pc-windows-msvc,
 * but that build is untested and not offered).
 */
#include "common.h"
#include "layout.h"

/* PE/COFF has no .hidden, .type or .size; `.def` marks a function symbol
 * (storage class 2, external; type 32, function). */
#undef FUNC_BEGIN
#undef FUNC_END
#define FUNC_BEGIN(sym) \
    .text;              \
    .globl sym;         \
    .def sym;           \
    .scl 2;             \
    .type 32;           \
    .endef;             \
    .p2align 4;         \
sym:
#define FUNC_END(sym)

/* The pushes of the raw switch fix its offsets by their order. */
#if SWAPCTX_OFF_XMM6 != 0 || SWAPCTX_OFF_XMM15 != 144 || SWAPCTX_OFF_MXCSR != 160 \
    || SWAPCTX_OFF_X87CW != 164 || SWAPCTX_OFF_EXCEPTION_LIST != 168 \
    || SWAPCTX_OFF_GUARANTEE != 176 || SWAPCTX_OFF_FIBER_DATA != 184 \
    || SWAPCTX_OFF_DEALLOCATION_STACK != 192 || SWAPCTX_OFF_STACK_LIMIT != 200 \
    || SWAPCTX_OFF_STACK_BASE != 208 || SWAPCTX_OFF_R15 != 216 || SWAPCTX_OFF_R14 != 224 \
    || SWAPCTX_OFF_R13 != 232 || SWAPCTX_OFF_R12 != 240 || SWAPCTX_OFF_RSI != 248 \
    || SWAPCTX_OFF_RDI != 256 || SWAPCTX_OFF_RBX != 264 || SWAPCTX_OFF_RBP != 272 \
    || SWAPCTX_OFF_RET != 280 || SWAPCTX_FRAME_SIZE != 288
#error "the raw switch's pushes do not match src/arch/x86_64_windows/layout.rs"
#endif
#if SWAPCTX_TEB_EXCEPTION_LIST != 0x0 || SWAPCTX_TEB_STACK_BASE != 0x8 \
    || SWAPCTX_TEB_STACK_LIMIT != 0x10 || SWAPCTX_TEB_FIBER_DATA != 0x20 \
    || SWAPCTX_TEB_DEALLOCATION_STACK != 0x1478 || SWAPCTX_TEB_GUARANTEED_STACK_BYTES != 0x1748
#error "the TEB offsets are those of 64-bit Windows"
#endif
/* resume and suspend (src/arch/x86_64_windows.rs) push in this order; the
 * coroutine trampoline's unwind codes walk it. */
#if SWAPCTX_CO_OFF_RESUME != 0 || SWAPCTX_CO_OFF_RBX != 8 || SWAPCTX_CO_OFF_RBP != 16 \
    || SWAPCTX_CO_OFF_EXCEPTION_LIST != 24 || SWAPCTX_CO_OFF_STACK_BASE != 64 \
    || SWAPCTX_CO_OFF_RESUME_COPY != 72 || SWAPCTX_CO_FRAME_SIZE != 80 \
    || SWAPCTX_INIT_OFF_TRAMPOLINE != 0 || SWAPCTX_SLOT_LINK != 0
#error "the coroutine frame does not match the trampoline's unwind codes"
#endif

#define TEB_PUSH_ALL                                                          \
    pushq   %gs:SWAPCTX_TEB_STACK_BASE;           /* save StackBase     -> +208 */ \
    pushq   %gs:SWAPCTX_TEB_STACK_LIMIT;          /* save StackLimit    -> +200 */ \
    pushq   %gs:SWAPCTX_TEB_DEALLOCATION_STACK;   /* save Deallocation  -> +192 */ \
    pushq   %gs:SWAPCTX_TEB_FIBER_DATA;           /* save FiberData     -> +184 */ \
    pushq   %gs:SWAPCTX_TEB_GUARANTEED_STACK_BYTES; /* save guarantee   -> +176 */ \
    pushq   %gs:SWAPCTX_TEB_EXCEPTION_LIST        /* save ExceptionList -> +168 */

FUNC_BEGIN(SYM(switch))
    .seh_proc SYM(switch)
    /* On entry: rsp -> return address (+280), rsp + 8 is 16-byte aligned. */
    pushq   %rbp                    /* save rbp            -> +272 */
    .seh_pushreg %rbp
    pushq   %rbx                    /* save rbx            -> +264 */
    .seh_pushreg %rbx
    pushq   %rdi                    /* save rdi            -> +256 */
    .seh_pushreg %rdi
    pushq   %rsi                    /* save rsi            -> +248 */
    .seh_pushreg %rsi
    pushq   %r12                    /* save r12            -> +240 */
    .seh_pushreg %r12
    pushq   %r13                    /* save r13            -> +232 */
    .seh_pushreg %r13
    pushq   %r14                    /* save r14            -> +224 */
    .seh_pushreg %r14
    pushq   %r15                    /* save r15            -> +216 */
    .seh_pushreg %r15
    TEB_PUSH_ALL                    /* save the six TEB fields -> +168..+208 */
    .seh_stackalloc 48              /* (for the unwinder: 48 bytes to skip) */
    subq    $168, %rsp              /* room for xmm6-15 and the FP control words */
    .seh_stackalloc 168
    movaps  %xmm6, 0(%rsp)          /* save xmm6           -> +0   */
    .seh_savexmm %xmm6, 0
    movaps  %xmm7, 16(%rsp)         /* save xmm7           -> +16  */
    .seh_savexmm %xmm7, 16
    movaps  %xmm8, 32(%rsp)         /* save xmm8           -> +32  */
    .seh_savexmm %xmm8, 32
    movaps  %xmm9, 48(%rsp)         /* save xmm9           -> +48  */
    .seh_savexmm %xmm9, 48
    movaps  %xmm10, 64(%rsp)        /* save xmm10          -> +64  */
    .seh_savexmm %xmm10, 64
    movaps  %xmm11, 80(%rsp)        /* save xmm11          -> +80  */
    .seh_savexmm %xmm11, 80
    movaps  %xmm12, 96(%rsp)        /* save xmm12          -> +96  */
    .seh_savexmm %xmm12, 96
    movaps  %xmm13, 112(%rsp)       /* save xmm13          -> +112 */
    .seh_savexmm %xmm13, 112
    movaps  %xmm14, 128(%rsp)       /* save xmm14          -> +128 */
    .seh_savexmm %xmm14, 128
    movaps  %xmm15, 144(%rsp)       /* save xmm15          -> +144 */
    .seh_savexmm %xmm15, 144
    .seh_endprologue
    stmxcsr SWAPCTX_OFF_MXCSR(%rsp) /* save MXCSR          -> +160 */
    fnstcw  SWAPCTX_OFF_X87CW(%rsp) /* save x87 control word -> +164 */

    movq    %rsp, (%rcx)            /* *save_sp = our stack pointer */
    movq    %rdx, %rsp              /* switch: now on the other stack */
    movq    %r8, %rax               /* the value crosses as the return value */

    ldmxcsr SWAPCTX_OFF_MXCSR(%rsp) /* restore MXCSR       <- +160 */
    fldcw   SWAPCTX_OFF_X87CW(%rsp) /* restore x87 control word <- +164 */
    movaps  0(%rsp), %xmm6          /* restore xmm6        <- +0   */
    movaps  16(%rsp), %xmm7         /* restore xmm7        <- +16  */
    movaps  32(%rsp), %xmm8         /* restore xmm8        <- +32  */
    movaps  48(%rsp), %xmm9         /* restore xmm9        <- +48  */
    movaps  64(%rsp), %xmm10        /* restore xmm10       <- +64  */
    movaps  80(%rsp), %xmm11        /* restore xmm11       <- +80  */
    movaps  96(%rsp), %xmm12        /* restore xmm12       <- +96  */
    movaps  112(%rsp), %xmm13       /* restore xmm13       <- +112 */
    movaps  128(%rsp), %xmm14       /* restore xmm14       <- +128 */
    movaps  144(%rsp), %xmm15       /* restore xmm15       <- +144 */
    addq    $168, %rsp
    popq    %gs:SWAPCTX_TEB_EXCEPTION_LIST        /* restore ExceptionList <- +168 */
    popq    %gs:SWAPCTX_TEB_GUARANTEED_STACK_BYTES /* restore guarantee  <- +176 */
    popq    %gs:SWAPCTX_TEB_FIBER_DATA            /* restore FiberData   <- +184 */
    popq    %gs:SWAPCTX_TEB_DEALLOCATION_STACK    /* restore Deallocation <- +192 */
    popq    %gs:SWAPCTX_TEB_STACK_LIMIT           /* restore StackLimit  <- +200 */
    popq    %gs:SWAPCTX_TEB_STACK_BASE            /* restore StackBase   <- +208 */
    popq    %r15                    /* restore r15         <- +216 */
    popq    %r14                    /* restore r14         <- +224 */
    popq    %r13                    /* restore r13         <- +232 */
    popq    %r12                    /* restore r12         <- +240 */
    popq    %rsi                    /* restore rsi         <- +248 */
    popq    %rdi                    /* restore rdi         <- +256 */
    popq    %rbx                    /* restore rbx         <- +264 */
    popq    %rbp                    /* restore rbp         <- +272 */
    popq    %rcx                    /* the other side's resume address <- +280 */
    jmpq    *%rcx                   /* resume it: a jmp, not a ret */
    .seh_endproc
FUNC_END(SYM(switch))

/*
 * The first code a fresh context runs: init_stack (src/arch/
 * x86_64_windows.rs) builds a saved frame whose return address is this
 * trampoline, with r12 = entry, rbx = data, r13 = on_return, rbp = 0, and
 * the TEB fields of the new stack; the switch lands here with rax = the
 * value and rsp = top - 16, 16-byte aligned.
 *
 *                                   rcx             rdx
 *   noreturn void entry(uintptr_t value, void *data);
 *
 * For the unwinder this frame is 32 bytes of shadow space under a return
 * address of 0 (the reserved words at the top, zeroed by init_stack):
 * walkers stop here.
 */
FUNC_BEGIN(SYM(trampoline))
    .seh_proc SYM(trampoline)
    subq    $32, %rsp               /* shadow space for entry's arguments */
    .seh_stackalloc 32
    .seh_endprologue
    movq    %rax, %rcx              /* arg 1: the value of the first switch */
    movq    %rbx, %rdx              /* arg 2: the data pointer from init_stack */
    callq   *%r12                   /* entry(value, data) */
    /* entry returned, which it must never do: report and abort. */
    movq    %r12, %rcx              /* arg 1: the entry that returned */
    callq   *%r13                   /* on_return(entry): does not return */
    ud2                             /* in case it does: fault, never run on */
    .seh_endproc
FUNC_END(SYM(trampoline))

/*
 * The way into a coroutine, called by `resume` (src/arch/x86_64_windows.rs)
 * after it pushed its TEB fields, rbp and rbx; rsi = the coroutine's slots
 * [link, this], rdi = the value (the inline asm's own registers, not the C
 * ABI's). As on System V: link = our rsp, rsp = this, pop and jump.
 */
FUNC_BEGIN(SYM(coroutine_enter))
    .seh_proc SYM(coroutine_enter)
    .seh_endprologue
    movq    %rsp, SWAPCTX_SLOT_LINK(%rsi) /* link = resumer's sp (its return address on top) */
    movq    SWAPCTX_SLOT_THIS(%rsi), %rsp /* load the coroutine's saved sp */
    popq    %rcx                    /* its resume address */
    jmpq    *%rcx                   /* resume it; rdi carries the value */
    .seh_endproc
FUNC_END(SYM(coroutine_enter))

/*
 * The coroutine layer's trampoline. A fresh coroutine's stack, as
 * init_coroutine and set_coroutine_stack leave it:
 *
 *   slots - 64:  address of this trampoline   <- the coroutine's saved sp
 *   slots - 56:  entry function
 *   slots - 48:  data pointer
 *   slots - 40:  StackLimit      (the stack's bottom)
 *   slots - 32:  DeallocationStack (its reservation's start)
 *   slots - 24:  GuaranteedStackBytes
 *   slots - 16:  StackBase       (its top)
 *   slots -  8:  0 (padding)
 *   slots     :  the two stack-pointer slots (16-byte aligned)
 *
 * coroutine_enter pops the first word and jumps here: rsp = slots - 56,
 * rdi = the value of the first resume.
 *
 *                                   rcx             rdx
 *   noreturn void entry(uintptr_t value, void *data);
 */
FUNC_BEGIN(SYM(coroutine_trampoline))
    .seh_proc SYM(coroutine_trampoline)
    movq    SWAPCTX_INIT_OFF_ENTRY-8(%rsp), %rax /* the entry function */
    movq    SWAPCTX_INIT_OFF_DATA-8(%rsp), %rdx  /* arg 2: the data pointer */
    movq    %rdi, %rcx                           /* arg 1: the value */
    /* The TEB fields of the coroutine's stack: from here on, Windows sees
     * the stack that runs. */
    movq    SWAPCTX_INIT_OFF_STACK_BASE-8(%rsp), %r8
    movq    %r8, %gs:SWAPCTX_TEB_STACK_BASE           /* load StackBase */
    movq    SWAPCTX_INIT_OFF_STACK_LIMIT-8(%rsp), %r8
    movq    %r8, %gs:SWAPCTX_TEB_STACK_LIMIT          /* load StackLimit */
    movq    SWAPCTX_INIT_OFF_DEALLOCATION_STACK-8(%rsp), %r8
    movq    %r8, %gs:SWAPCTX_TEB_DEALLOCATION_STACK   /* load DeallocationStack */
    movq    SWAPCTX_INIT_OFF_GUARANTEE-8(%rsp), %r8
    movq    %r8, %gs:SWAPCTX_TEB_GUARANTEED_STACK_BYTES /* load the guarantee */
    movq    $0, %gs:SWAPCTX_TEB_FIBER_DATA            /* no fiber runs here */
    movq    $-1, %gs:SWAPCTX_TEB_EXCEPTION_LIST       /* an empty chain: -1 */
    leaq    SWAPCTX_COROUTINE_INIT_SIZE-8(%rsp), %rsp /* rsp = slots: 16-byte aligned */
    movq    %rsp, %rbp              /* rbp = slots: the unwinder's frame base */
    /*
     * From here on, an unwinder that walks up out of the coroutine steps
     * onto the stack of whoever resumed it, suspended in `resume` with its
     * saved stack pointer L in slots.link = [rbp]:
     *
     *   L+0   return address (after resume's call)   L+8  rbx   L+16 rbp
     *   L+24 .. L+64  its six TEB fields
     *   L+72  the same return address again
     *   L+80  the resumer's rsp around the asm
     *
     * The unwinder undoes the codes below bottom-up: rsp = rbp (setframe);
     * rsp = [rsp + 0] = L (savereg rsp: a slot that holds rsp itself);
     * rsp += 8 (past the first return address); pop rbx; pop rbp; rsp +=
     * 48 (past the TEB fields); then pops the return address, the copy at
     * L+72, leaving rsp = L+80. SEH unwind codes can only pop the return
     * address last, which is why `resume` pushes that copy. (These codes
     * serve backtraces; an exception never unwinds through here, since
     * the coroutine catches every panic.)
     */
    .seh_stackalloc 48
    .seh_pushreg %rbp
    .seh_pushreg %rbx
    .seh_stackalloc 8
    .seh_savereg %rsp, 0
    .seh_setframe %rbp, 0
    .seh_endprologue
    subq    $32, %rsp               /* shadow space: below the slots */
    /*
     * Enter the entry function as if called from here, with a jump (see
     * the System V file: keeps the return-stack buffer paired).
     */
    leaq    1f(%rip), %r9           /* the return address an unwinder sees */
    pushq   %r9
    jmpq    *%rax                   /* entry(value, data): never returns */
    /* The unwinder looks for an epilogue at the return address; int3 is
     * none, and keeps the address inside this function. Never executed. */
1:  int3
    ud2
    .seh_endproc
FUNC_END(SYM(coroutine_trampoline))

/*
 * Runs a function on another stack and comes back (src/coroutine/
 * on_stack.rs):
 *
 *                                   rcx          rdx        r8
 *   void swapctx_on_stack(void *arg, void *sp, void (*f)(void *arg),
 *                         const struct teb_stack *teb);
 *                                                  r9
 *
 * calls f(arg) with rsp = sp (16-byte aligned) minus the shadow space,
 * with the other stack's TEB fields from *teb (StackBase, StackLimit,
 * DeallocationStack, GuaranteedStackBytes: `TebStack` in
 * src/arch/x86_64_windows.rs) and ExceptionList = -1 (Wine calls the
 * handlers of that chain whose frames lie below the frame it unwinds: the
 * caller's chain, on a stack below the other one, would be called at
 * once), and restores the caller's fields after. rbp holds our frame on
 * the caller's stack: the unwind codes take rsp from it, skip the saved
 * TEB fields and pop rbp and the return address, so backtraces walk from
 * f into the caller.
 */
FUNC_BEGIN(SYM(on_stack))
    .seh_proc SYM(on_stack)
    pushq   %rbp                    /* save the caller's rbp */
    .seh_pushreg %rbp
    pushq   %gs:SWAPCTX_TEB_STACK_BASE          /* save StackBase */
    pushq   %gs:SWAPCTX_TEB_STACK_LIMIT         /* save StackLimit */
    pushq   %gs:SWAPCTX_TEB_DEALLOCATION_STACK  /* save DeallocationStack */
    pushq   %gs:SWAPCTX_TEB_GUARANTEED_STACK_BYTES /* save the guarantee */
    pushq   %gs:SWAPCTX_TEB_EXCEPTION_LIST      /* save ExceptionList */
    subq    $8, %rsp                            /* keep 16-byte alignment */
    .seh_stackalloc 48
    movq    %rsp, %rbp              /* rbp = our frame, on the caller's stack */
    .seh_setframe %rbp, 0
    .seh_endprologue
    movq    0(%r9), %rax
    movq    %rax, %gs:SWAPCTX_TEB_STACK_BASE    /* load the other stack's StackBase */
    movq    8(%r9), %rax
    movq    %rax, %gs:SWAPCTX_TEB_STACK_LIMIT   /* its StackLimit */
    movq    16(%r9), %rax
    movq    %rax, %gs:SWAPCTX_TEB_DEALLOCATION_STACK /* its DeallocationStack */
    movq    24(%r9), %rax
    movq    %rax, %gs:SWAPCTX_TEB_GUARANTEED_STACK_BYTES /* its guarantee */
    movq    $-1, %gs:SWAPCTX_TEB_EXCEPTION_LIST /* an empty chain */
    leaq    -32(%rdx), %rsp         /* onto the other stack, shadow space below sp */
    callq   *%r8                    /* f(arg); rcx already holds arg */
    movq    %rbp, %rsp              /* back onto the caller's stack */
    addq    $8, %rsp
    popq    %gs:SWAPCTX_TEB_EXCEPTION_LIST      /* restore ExceptionList */
    popq    %gs:SWAPCTX_TEB_GUARANTEED_STACK_BYTES /* restore the guarantee */
    popq    %gs:SWAPCTX_TEB_DEALLOCATION_STACK  /* restore DeallocationStack */
    popq    %gs:SWAPCTX_TEB_STACK_LIMIT         /* restore StackLimit */
    popq    %gs:SWAPCTX_TEB_STACK_BASE          /* restore StackBase */
    popq    %rbp                    /* restore the caller's rbp */
    ret
    .seh_endproc
FUNC_END(SYM(on_stack))
