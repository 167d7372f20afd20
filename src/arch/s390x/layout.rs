// The frames of the s390x switches, as byte offsets from a saved stack
// pointer. This file holds only `pub const NAME: usize = <number>;` items
// (and their docs): build.rs reads it too and writes each one into
// `layout.h` as `#define SWAPCTX_NAME <number>`, which the .S file uses, so
// every offset has one source. The const asserts that tie them together
// are in src/arch/s390x.rs; the read-back and CFI tests in
// src/arch/tests.rs and src/arch/coroutine_tests.rs check them against the
// running code.

// --- the ABI's register save area (s390x ELF ABI, "The Stack Frame") ---

/// Bytes of the register save area at the bottom of every frame, which the
/// frame's callees store into (r6-r15 at +48 .. +128): whoever calls a
/// function must have one above its stack pointer, the trampolines too.
pub const SAVE_AREA_SIZE: usize = 160;
/// Where a callee saves r6 in its caller's save area (r6 .. r15 at
/// SAVE_AREA_R6 + 8 * (n - 6)).
pub const SAVE_AREA_R6: usize = 48;

// --- the raw switch (asm/switch_s390x_sysv_elf_gas.S, `swapctx_switch`) ---

/// Size of the switch's own frame: f8-f15. r6-r15 lie above it, in the
/// caller's register save area.
pub const FRAME_SIZE: usize = 64;
/// f8 .. f15 at OFF_F8 + 8 * (n - 8).
pub const OFF_F8: usize = 0;
/// r6 .. r13 at OFF_R6 + 8 * (n - 6), in the caller's save area:
/// FRAME_SIZE + SAVE_AREA_R6.
pub const OFF_R6: usize = 112;
/// r14, the return address: the other side's resume address, where the
/// switch's `br %r14` goes.
pub const OFF_R14: usize = 176;
/// r15, the stack pointer the other side returns with (the saved one plus
/// FRAME_SIZE).
pub const OFF_R15: usize = 184;

// --- the coroutine switch (`resume`/`suspend` in src/arch/s390x.rs) ---

/// A suspended side of the coroutine switch (the resumer in `resume`, the
/// coroutine in `suspend`) is a register save area of its own, at its
/// saved stack pointer: the resume address in r14's slot, where
/// `swapctx_coroutine_enter` saves it as any callee saves its r14.
pub const CO_OFF_RESUME: usize = 112;
/// r11, the frame pointer, saved by hand (not an asm operand), in its own
/// slot of the save area.
pub const CO_OFF_R11: usize = 88;
/// Bytes of a suspended side's frame (a register save area): its stack
/// pointer before the switch is the saved one plus this (the CFA the
/// trampoline's CFI gives).
pub const CO_FRAME_SIZE: usize = 160;

/// Bytes at a fresh coroutine's saved stack pointer, below its slots: the
/// register save area the entry function stores into.
pub const COROUTINE_INIT_SIZE: usize = 160;
/// A fresh coroutine: the coroutine trampoline, where the first resume
/// lands (at CO_OFF_RESUME, where `swapctx_coroutine_enter` looks).
pub const INIT_OFF_TRAMPOLINE: usize = 112;
/// A fresh coroutine: the entry function, for the trampoline (in the save
/// area's r2-r5 slots, which nobody uses).
pub const INIT_OFF_ENTRY: usize = 16;
/// A fresh coroutine: the entry's data pointer, for the trampoline.
pub const INIT_OFF_DATA: usize = 24;
