// The frames of the arm (armv7, AAPCS hard-float) switches, as byte
// offsets from a saved stack pointer. This file holds only `pub const
// NAME: usize = <number>;` items (and their docs): build.rs reads it too
// and writes each one into `layout.h` as `#define SWAPCTX_NAME <number>`,
// which the .S file uses, so every offset has one source. The const
// asserts that tie them together are in src/arch/arm.rs; the read-back
// and unwinder tests in src/arch/tests.rs and src/arch/coroutine_tests.rs
// check them against the running code.

// --- the raw switch (asm/switch_arm_aapcs_elf_gas.S, `swapctx_switch`) ---

/// Size of a saved frame (a multiple of 16: the saved sp stays aligned).
pub const FRAME_SIZE: usize = 112;
/// FPSCR (its control bits must survive; the flags come along).
pub const OFF_FPSCR: usize = 0;
/// Four bytes that keep d8-d15 8-byte aligned and the frame a multiple
/// of 16.
pub const OFF_PAD: usize = 4;
/// d8 .. d15 at OFF_D8 + 8 * (n - 8).
pub const OFF_D8: usize = 8;
/// r4 .. r11 at OFF_R4 + 4 * (n - 4).
pub const OFF_R4: usize = 72;
/// r12's slot: pushed and popped only to keep the frame a multiple of 16.
pub const OFF_R12: usize = 104;
/// lr: the other side's resume address, where the switch's `bx lr` goes.
pub const OFF_LR: usize = 108;

// --- the coroutine switch (`resume`/`suspend` in src/arch/arm.rs) ---

/// A suspended side of the coroutine switch (the resumer in `resume`, the
/// coroutine in `suspend`), at its saved stack pointer: the address it
/// resumes at (lr for the resumer).
pub const CO_OFF_RESUME: usize = 0;
/// r6, saved by hand (LLVM's base pointer: not an asm operand).
pub const CO_OFF_R6: usize = 4;
/// r7, saved by hand (the frame pointer in Thumb code).
pub const CO_OFF_R7: usize = 8;
/// r11, saved by hand (the frame pointer in ARM code).
pub const CO_OFF_R11: usize = 12;
/// Bytes of a suspended side's saved words: its stack pointer before the
/// switch is the saved one plus this (the CFA the trampoline's CFI gives).
pub const CO_FRAME_SIZE: usize = 16;

/// Bytes at a fresh coroutine's saved stack pointer, below its slots.
pub const COROUTINE_INIT_SIZE: usize = 16;
/// A fresh coroutine: the coroutine trampoline, where the first resume
/// lands.
pub const INIT_OFF_TRAMPOLINE: usize = 0;
/// A fresh coroutine: the entry function, for the trampoline.
pub const INIT_OFF_ENTRY: usize = 4;
/// A fresh coroutine: the entry's data pointer, for the trampoline.
pub const INIT_OFF_DATA: usize = 8;
