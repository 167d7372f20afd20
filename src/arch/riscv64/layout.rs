// The frames of the riscv64 switches, as byte offsets from a saved stack
// pointer. This file holds only `pub const NAME: usize = <number>;` items
// (and their docs): build.rs reads it too and writes each one into
// `layout.h` as `#define SWAPCTX_NAME <number>`, which the .S file uses, so
// every offset has one source. The const asserts that tie them together
// are in src/arch/riscv64.rs; the read-back and CFI tests in
// src/arch/tests.rs check them against the running code.

// --- the raw switch (asm/switch_riscv64_lp64d_elf_gas.S, `swapctx_switch`) ---

/// Size of a saved frame.
pub const FRAME_SIZE: usize = 208;
/// fs0 .. fs11 at OFF_FS0 + 8 * n.
pub const OFF_FS0: usize = 0;
/// s1 .. s11 at OFF_S1 + 8 * (n - 1).
pub const OFF_S1: usize = 96;
/// Eight bytes that keep the frame a multiple of 16.
pub const OFF_PAD: usize = 184;
/// s0, the frame pointer.
pub const OFF_S0: usize = 192;
/// The return address: the other side's resume address, where the
/// switch's `ret` goes.
pub const OFF_RA: usize = 200;

// --- the coroutine switch (`resume`/`suspend` in src/arch/riscv64.rs) ---

/// A suspended side of the coroutine switch (the resumer in `resume`, the
/// coroutine in `suspend`), at its saved stack pointer: the address it
/// resumes at (ra for the resumer).
pub const CO_OFF_RESUME: usize = 0;
/// s0, the frame pointer, saved by hand (not an asm operand).
pub const CO_OFF_S0: usize = 16;
/// s1, saved by hand (LLVM reserves it).
pub const CO_OFF_S1: usize = 24;
/// Bytes of a suspended side's saved words (8 of them unused, to keep sp
/// 16-byte aligned): its stack pointer before the switch is the saved one
/// plus this (the CFA the trampoline's CFI gives).
pub const CO_FRAME_SIZE: usize = 32;

/// Bytes at a fresh coroutine's saved stack pointer, below its slots.
pub const COROUTINE_INIT_SIZE: usize = 32;
/// A fresh coroutine: the coroutine trampoline, where the first resume
/// lands.
pub const INIT_OFF_TRAMPOLINE: usize = 0;
/// A fresh coroutine: the entry function, for the trampoline.
pub const INIT_OFF_ENTRY: usize = 16;
/// A fresh coroutine: the entry's data pointer, for the trampoline.
pub const INIT_OFF_DATA: usize = 24;
