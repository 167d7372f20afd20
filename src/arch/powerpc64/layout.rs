// The frames of the powerpc64 (ELFv2) switches, as byte offsets from a
// saved stack pointer. This file holds only `pub const NAME: usize =
// <number>;` items (and their docs): build.rs reads it too and writes each
// one into `layout.h` as `#define SWAPCTX_NAME <number>`, which the .S file
// uses, so every offset has one source. The const asserts that tie them
// together are in src/arch/powerpc64.rs; the read-back and CFI tests in
// src/arch/tests.rs and src/arch/coroutine_tests.rs check them against the
// running code.

// --- the ABI's frame header (ELFv2, "The Stack Frame") ---

/// Bytes of the header at the bottom of every frame: the back chain (+0),
/// the CR save word (+8), the LR save doubleword (+16) and the TOC save
/// doubleword (+24). A function saves its LR and CR in its caller's
/// header, so whoever calls a function must have one under its stack
/// pointer: the trampolines run on a header of their own.
pub const HEADER_SIZE: usize = 32;

// --- the raw switch (asm/switch_powerpc64_elfv2_elf_gas.S, `swapctx_switch`) ---

/// Size of the switch's own frame (`stdu r1, -FRAME_SIZE(r1)`); the CR
/// and LR words lie above it, in the caller's header.
pub const FRAME_SIZE: usize = 528;
/// The back chain: the caller's stack pointer (`stdu` writes it).
pub const OFF_BACKCHAIN: usize = 0;
/// r2, the TOC pointer (in the header's TOC save doubleword).
pub const OFF_R2: usize = 24;
/// r14 .. r31 at OFF_R14 + 8 * (n - 14).
pub const OFF_R14: usize = 32;
/// f14 .. f31 at OFF_F14 + 8 * (n - 14).
pub const OFF_F14: usize = 176;
/// VRSAVE (a 32-bit word; the next 12 bytes are padding that keeps the
/// vector registers 16-byte aligned).
pub const OFF_VRSAVE: usize = 320;
/// v20 .. v31 at OFF_V20 + 16 * (n - 20), 16-byte aligned for `stvx`.
pub const OFF_V20: usize = 336;
/// The condition register (a 32-bit word, all eight fields; CR2-CR4 are
/// restored), in the caller's CR save word: FRAME_SIZE + 8.
pub const OFF_CR: usize = 536;
/// The link register: the other side's resume address, where the
/// switch's `blr` goes, in the caller's LR save doubleword: FRAME_SIZE + 16.
pub const OFF_LR: usize = 544;

// --- the coroutine switch (`resume`/`suspend` in src/arch/powerpc64.rs) ---

/// A suspended side of the coroutine switch (the resumer in `resume`, the
/// coroutine in `suspend`) is a frame of its own, at its saved stack
/// pointer: the resume address sits in the header's LR save doubleword,
/// where `swapctx_coroutine_enter` saves it as any callee saves its LR.
pub const CO_OFF_RESUME: usize = 16;
/// r2, the TOC pointer, saved by hand (reserved: not an asm operand).
pub const CO_OFF_R2: usize = 24;
/// r30, saved by hand (LLVM's base pointer).
pub const CO_OFF_R30: usize = 32;
/// r31, saved by hand (the frame pointer).
pub const CO_OFF_R31: usize = 40;
/// VRSAVE, saved by hand (reserved: not an asm operand); a 64-bit slot.
pub const CO_OFF_VRSAVE: usize = 48;
/// Bytes of a suspended side's frame (8 of them unused, to keep r1
/// 16-byte aligned): its stack pointer before the switch is the saved one
/// plus this (the CFA the trampoline's CFI gives).
pub const CO_FRAME_SIZE: usize = 64;

/// Bytes at a fresh coroutine's saved stack pointer, below its slots: a
/// frame whose header the entry function saves its LR in.
pub const COROUTINE_INIT_SIZE: usize = 48;
/// A fresh coroutine: the coroutine trampoline, where the first resume
/// lands (at CO_OFF_RESUME, where `swapctx_coroutine_enter` looks).
pub const INIT_OFF_TRAMPOLINE: usize = 16;
/// A fresh coroutine: the entry function, for the trampoline.
pub const INIT_OFF_ENTRY: usize = 24;
/// A fresh coroutine: the entry's data pointer, for the trampoline.
pub const INIT_OFF_DATA: usize = 32;
