// The frames of the x86 (i386, 32-bit) switches, as byte offsets from a
// saved stack pointer. This file holds only `pub const NAME: usize =
// <number>;` items (and their docs): build.rs reads it too and writes each
// one into `layout.h` as `#define SWAPCTX_NAME <number>`, which the .S file
// uses, so every offset has one source. The const asserts that tie them
// together are in src/arch/x86.rs; the read-back and CFI tests in
// src/arch/tests.rs and src/arch/coroutine_tests.rs check them against the
// running code.

// --- the raw switch (asm/switch_i386_sysv_elf_gas.S, `swapctx_switch`) ---

/// Size of a saved frame, return address included.
pub const FRAME_SIZE: usize = 32;
/// MXCSR (4 bytes).
pub const OFF_MXCSR: usize = 0;
/// x87 control word (2 bytes).
pub const OFF_X87CW: usize = 4;
/// Four bytes that keep the saved stack pointer 16-byte aligned.
pub const OFF_PAD: usize = 8;
/// edi.
pub const OFF_EDI: usize = 12;
/// esi.
pub const OFF_ESI: usize = 16;
/// ebx.
pub const OFF_EBX: usize = 20;
/// ebp.
pub const OFF_EBP: usize = 24;
/// The other side's resume address: the switch pops it and jumps there.
pub const OFF_RET: usize = 28;

// --- the coroutine switch (`resume`/`suspend` in src/arch/x86.rs) ---

/// A suspended side of the coroutine switch (the resumer in `resume`, the
/// coroutine in `suspend`), at its saved stack pointer: the address it
/// resumes at.
pub const CO_OFF_RESUME: usize = 0;
/// esi, saved by hand (LLVM reserves it as its base pointer).
pub const CO_OFF_ESI: usize = 4;
/// ebp, saved by hand (the frame pointer).
pub const CO_OFF_EBP: usize = 8;
/// Bytes of a suspended side's saved words: its stack pointer before the
/// switch is the saved one plus this (the CFA the trampoline's CFI gives).
pub const CO_FRAME_SIZE: usize = 12;

/// Bytes at a fresh coroutine's saved stack pointer, below its slots.
pub const COROUTINE_INIT_SIZE: usize = 16;
/// A fresh coroutine: the coroutine trampoline, where the first resume
/// lands (`swapctx_coroutine_enter` pops it and jumps there).
pub const INIT_OFF_TRAMPOLINE: usize = 0;
/// A fresh coroutine: the entry function, for the trampoline.
pub const INIT_OFF_ENTRY: usize = 4;
/// A fresh coroutine: the entry's data pointer, for the trampoline.
pub const INIT_OFF_DATA: usize = 8;
