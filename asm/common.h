/*
 * common.h — macros shared by every asm/switch_*.S file.
 *
 * SYM(name)     the versioned symbol for `name`. build.rs passes
 *               SWAPCTX_SYM_TAG (the crate version with dots as
 *               underscores), so two semver-incompatible copies of swapctx
 *               can be linked into one program without a clash.
 * FUNC_BEGIN    global, hidden, typed as a function, aligned.
 * FUNC_END      records the size, so that debuggers and perf see it.
 * CET_ENDBR     x86_64: endbr64 where the build asks for CET branch tracking.
 * BTI_C         aarch64: a `bti c` landing pad (a NOP without BTI).
 *
 * riscv64 needs no landing pad; common.h only checks that the target has
 * the LP64D ABI the switch is written for.
 *
 * Every file ends with NOTE_GNU_STACK: without the note, the linker would
 * assume the object needs an executable stack and make the whole program's
 * stack executable.
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
#elif defined(__riscv)
/* 4-byte alignment: the switch is full of 32-bit instructions, even where
 * the C extension could compress some of them. */
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

#endif /* SWAPCTX_COMMON_H */
