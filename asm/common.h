/*
 * common.h — macros shared by every asm/switch_*.S file.
 *
 * SYM(name)     the versioned symbol for `name`. build.rs passes
 *               SWAPCTX_SYM_TAG (the crate version with dots as
 *               underscores), so two semver-incompatible copies of swapctx
 *               can be linked into one program without a clash.
 * FUNC_BEGIN    global, hidden, typed as a function, aligned.
 * FUNC_END      records the size, so that debuggers and perf see it.
 * CET_ENDBR     x86_64: endbr64 where the build asks for CET branch tracking
 *               (-fcf-protection): at the trampolines, which are reached
 *               by an indirect jump (the trap trampoline by a signal
 *               handler's return), and at the functions C code can call
 *               through a pointer (switch, on_stack).
 * BTI_C, BTI_J  aarch64: `bti c` / `bti j` landing pads where the build asks
 *               for BTI (-mbranch-protection=bti); NOPs otherwise.
 *
 * riscv64 needs no landing pad; common.h only checks that the target has
 * the LP64D ABI the switch is written for. x86 (i386) takes endbr32 like
 * x86_64; arm checks for the hard-float ABI.
 *
 * Every file ends with NOTE_GNU_STACK and NOTE_GNU_PROPERTY.
 *  - NOTE_GNU_STACK: without it, the linker would assume the object needs
 *    an executable stack and make the whole program's stack executable.
 *  - NOTE_GNU_PROPERTY: the `.note.gnu.property` that tells the linker what
 *    the object supports; a program is marked (and the loader enforces the
 *    feature) only if every object in it is. aarch64 with BTI: the object
 *    is marked BTI, which is true: every function begins with a landing
 *    pad, and the only indirect branch into this file's code that is not a
 *    `ret` (coroutine_enter's `br` to the trampoline) lands on `bti j`.
 *    x86_64: no note, even with -fcf-protection, because the object is NOT
 *    CET-compatible: the switch ends in `jmp *%rcx` to a resume address,
 *    which under IBT would need a `notrack` prefix or an `endbr64` at every
 *    resume point, and switching stacks without switching shadow stacks
 *    breaks SHSTK. So a CET build stays unmarked (not enforced) instead of
 *    faulting. tests/docs_examples.rs assembles both files with and without
 *    the flags and checks the notes (readelf -n) and the landing pads.
 */
#ifndef SWAPCTX_COMMON_H
#define SWAPCTX_COMMON_H

#ifndef SWAPCTX_SYM_TAG
#error "build.rs passes SWAPCTX_SYM_TAG; assemble these files through cargo"
#endif

#define SWAPCTX_CAT3_(a, b, c) a##b##c
#define SWAPCTX_CAT3(a, b, c) SWAPCTX_CAT3_(a, b, c)
#define SYM(name) SWAPCTX_CAT3(swapctx_, SWAPCTX_SYM_TAG, _##name)

#define GLOBL(sym) .globl sym
#define HIDDEN(sym) .hidden sym
#define TYPE(sym) .type sym, @function
#define SIZE(sym) .size sym, .-sym

#if defined(__x86_64__)
#  define FUNC_ALIGN .p2align 4
#  if defined(__CET__) && (__CET__ & 1)
#    define CET_ENDBR endbr64
#  else
#    define CET_ENDBR
#  endif
#elif defined(__aarch64__)
#  define FUNC_ALIGN .p2align 2
#  if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#    define BTI_C hint #34
#    define BTI_J hint #36
#  else
#    define BTI_C
#    define BTI_J
#  endif
#elif defined(__i386__)
#  define FUNC_ALIGN .p2align 4
/* As on x86_64: a landing pad where the build asks for CET branch
 * tracking, and no property note (the switch is not CET-compatible). */
#  if defined(__CET__) && (__CET__ & 1)
#    define CET_ENDBR endbr32
#  else
#    define CET_ENDBR
#  endif
#elif defined(__arm__)
#  define FUNC_ALIGN .p2align 2
/* On arm `@` starts a comment: symbol types are written `%function`. */
#  undef TYPE
#  if defined(SWAPCTX_THUMB)
/* Thumb code (build.rs defines SWAPCTX_THUMB for a thumb* target: the M
 * profile, thumbv7neon): `.thumb_func` marks the symbol
 * as Thumb, so that its address has bit 0 set and `bx`/`blx` to it stay in
 * Thumb state. */
#    define TYPE(sym) .type sym, %function; .thumb_func
#  else
#    define TYPE(sym) .type sym, %function
#  endif
/* The arm switch saves d8-d15 and FPSCR with VFP instructions: it is
 * written for the hard-float ABI (gnueabihf), where d8-d15 are
 * callee-saved. A soft-float target has no such registers to keep. */
#  if !defined(__ARM_PCS_VFP)
#    error "swapctx: the arm switch needs the hard-float ABI (a gnueabihf target)"
#  endif
#elif defined(__riscv)
/* 4-byte alignment. Built for rv64gc most instructions are assembled to
 * their 16-bit compressed forms (the switch is 114 bytes), but a function
 * still starts on a 4-byte boundary, the usual choice and what a
 * non-compressed build needs. */
#  define FUNC_ALIGN .p2align 2
/* The riscv64 switch saves fs0-fs11 with fsd/fld: it needs the D extension
 * and is written for the LP64D ABI, where those registers are callee-saved.
 * A soft-float or single-float target (riscv64imac, LP64/LP64F) would
 * either fail to assemble or save the wrong registers: say so. */
#  if __riscv_xlen != 64
#    error "swapctx: only riscv64 is supported, not riscv32"
#  endif
#  if !defined(__riscv_float_abi_double)
#    error "swapctx: the riscv64 switch needs the LP64D ABI (a target with the D extension, like riscv64gc)"
#  endif
#elif defined(__powerpc64__)
#  define FUNC_ALIGN .p2align 4
/* The powerpc64 switch is written for the ELFv2 ABI (ppc64le Linux): an
 * ELFv1 target (big-endian powerpc64 Linux) calls through function
 * descriptors and lays out its frames differently. */
#  if !defined(_CALL_ELF) || _CALL_ELF != 2
#    error "swapctx: the powerpc64 switch needs the ELFv2 ABI (powerpc64le-unknown-linux-gnu)"
#  endif
#elif defined(__s390x__)
#  define FUNC_ALIGN .p2align 3
#else
#  define FUNC_ALIGN .p2align 2
#endif

#define FUNC_BEGIN(sym) \
    .text;              \
    GLOBL(sym);         \
    HIDDEN(sym);        \
    TYPE(sym);          \
    FUNC_ALIGN;         \
sym:

#define FUNC_END(sym) SIZE(sym)

#define NOTE_GNU_STACK .section .note.GNU-stack, "", %progbits

/* An ELF note (64-bit): namesz 4 ("GNU\0"), descsz 16, type 5
 * (NT_GNU_PROPERTY_TYPE_0); one property: type, size 4, the feature
 * bits, padded to 8 bytes. */
#define GNU_PROPERTY_NOTE_(type, bits)            \
    .pushsection .note.gnu.property, "a";         \
    .p2align 3;                                   \
    .long 4;                                      \
    .long 16;                                     \
    .long 5;                                      \
    .asciz "GNU";                                 \
    .long type;                                   \
    .long 4;                                      \
    .long bits;                                   \
    .long 0;                                      \
    .popsection

#if defined(__aarch64__) && defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
/* GNU_PROPERTY_AARCH64_FEATURE_1_AND, bit 0: BTI. (Not PAC: the switch
 * does not sign return addresses.) */
#  define NOTE_GNU_PROPERTY GNU_PROPERTY_NOTE_(0xc0000000, 1)
#else
/* x86_64: never (see the top of this file); riscv64: nothing to mark. */
#  define NOTE_GNU_PROPERTY
#endif

#endif /* SWAPCTX_COMMON_H */
