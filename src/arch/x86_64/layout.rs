// The frames of the x86_64 switches, as byte offsets from a saved stack
// pointer. This file holds only `pub const NAME: usize = <number>;` items
// (and their docs): build.rs reads it too and writes each one into
// `layout.h` as `#define SWAPCTX_NAME <number>`, which the .S file uses, so
// every offset has one source. The const asserts that tie them together
// are in src/arch/x86_64.rs; the read-back and CFI tests in
// src/arch/tests.rs check them against the running code.

// --- the raw switch (asm/switch_x86_64_sysv_elf_gas.S, `swapctx_switch`) ---

/// Size of a saved frame, return address included.
pub const FRAME_SIZE: usize = 64;
/// MXCSR (4 bytes).
pub const OFF_MXCSR: usize = 0;
/// x87 control word (2 bytes).
pub const OFF_X87CW: usize = 4;
/// r15.
pub const OFF_R15: usize = 8;
/// r14.
pub const OFF_R14: usize = 16;
/// r13.
pub const OFF_R13: usize = 24;
/// r12.
pub const OFF_R12: usize = 32;
/// rbx.
pub const OFF_RBX: usize = 40;
/// rbp.
pub const OFF_RBP: usize = 48;
/// The other side's resume address: the switch pops it and jumps there.
pub const OFF_RET: usize = 56;

// --- the coroutine switch (`resume`/`suspend` in src/arch/x86_64.rs) ---

/// A suspended side of the coroutine switch (the resumer in `resume`, the
/// coroutine in `suspend`), at its saved stack pointer: the address it
/// resumes at.
pub const CO_OFF_RESUME: usize = 0;
/// rbx, saved by hand (LLVM reserves it).
pub const CO_OFF_RBX: usize = 8;
/// rbp, saved by hand.
pub const CO_OFF_RBP: usize = 16;
/// Bytes of a suspended side's saved words: its stack pointer before the
/// switch is the saved one plus this (the CFA the trampoline's CFI gives).
pub const CO_FRAME_SIZE: usize = 24;

/// Bytes at a fresh coroutine's saved stack pointer, below its slots.
pub const COROUTINE_INIT_SIZE: usize = 32;
/// A fresh coroutine: the coroutine trampoline, where the first resume
/// lands (`swapctx_coroutine_enter` pops it and jumps there).
pub const INIT_OFF_TRAMPOLINE: usize = 0;
/// A fresh coroutine: the entry function, for the trampoline.
pub const INIT_OFF_ENTRY: usize = 8;
/// A fresh coroutine: the entry's data pointer, for the trampoline.
pub const INIT_OFF_DATA: usize = 16;
