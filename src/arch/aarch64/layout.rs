// The frames of the aarch64 switches, as byte offsets from a saved stack
// pointer. This file holds only `pub const NAME: usize = <number>;` items
// (and their docs): build.rs reads it too and writes each one into
// `layout.h` as `#define SWAPCTX_NAME <number>`, which the .S file uses, so
// every offset has one source. The const asserts that tie them together
// are in src/arch/aarch64.rs; the read-back and CFI tests in
// src/arch/tests.rs check them against the running code.

// --- the raw switch (asm/switch_aarch64_aapcs_elf_gas.S, `swapctx_switch`) ---

/// Size of a saved frame.
pub const FRAME_SIZE: usize = 160;
/// d8 .. d15 at OFF_D8 + 8 * (n - 8).
pub const OFF_D8: usize = 0;
/// x19 .. x28 at OFF_X19 + 8 * (n - 19).
pub const OFF_X19: usize = 64;
/// x29, the frame pointer.
pub const OFF_X29: usize = 144;
/// x30, the link register: the other side's resume address, where the
/// switch's `ret` goes.
pub const OFF_X30: usize = 152;

// --- the coroutine switch (`resume`/`suspend` in src/arch/aarch64.rs) ---

/// A suspended side of the coroutine switch (the resumer in `resume`, the
/// coroutine in `suspend`), at its saved stack pointer: the address it
/// resumes at (x30 for the resumer).
pub const CO_OFF_RESUME: usize = 0;
/// x29, the frame pointer, saved by hand (not an asm operand).
pub const CO_OFF_X29: usize = 16;
/// x19, saved by hand (LLVM reserves it).
pub const CO_OFF_X19: usize = 24;
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
