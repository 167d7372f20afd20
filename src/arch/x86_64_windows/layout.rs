// The frames of the x86_64 Windows (Microsoft x64 ABI) switches, as byte
// offsets from a saved stack pointer. This file holds only
// `pub const NAME: usize = <number>;` items (and their docs): build.rs reads
// it too and writes each one into `layout.h` as `#define SWAPCTX_NAME
// <number>`, which asm/switch_x86_64_ms_pe_gas.S uses, so every offset has
// one source. The const asserts that tie them together are in
// src/arch/x86_64_windows.rs; the read-back tests in src/arch/tests.rs and
// src/arch/coroutine_tests.rs check them against the running code.

// --- the Thread Information Block (TIB/TEB), read through gs ---

/// `NT_TIB.ExceptionList`: the x86 SEH frame chain; unused by Win64
/// itself, but Wine's own code walks it.
pub const TEB_EXCEPTION_LIST: usize = 0;
/// `NT_TIB.StackBase`: one past the highest byte of the running stack.
pub const TEB_STACK_BASE: usize = 8;
/// `NT_TIB.StackLimit`: the lowest committed byte of the running stack.
pub const TEB_STACK_LIMIT: usize = 16;
/// `NT_TIB.FiberData`: the running fiber (`GetCurrentFiber`).
pub const TEB_FIBER_DATA: usize = 32;
/// `TEB.DeallocationStack`: the start of the running stack's reservation.
pub const TEB_DEALLOCATION_STACK: usize = 5240;
/// `TEB.GuaranteedStackBytes`: what `SetThreadStackGuarantee` set: the room
/// kept for the stack-overflow exception.
pub const TEB_GUARANTEED_STACK_BYTES: usize = 5960;

// --- the raw switch (`swapctx_switch`) ---

/// Size of a saved frame, return address included.
pub const FRAME_SIZE: usize = 288;
/// xmm6 (16 bytes; xmm7 at +16, ... xmm15 at +144).
pub const OFF_XMM6: usize = 0;
/// xmm15, the last of the ten.
pub const OFF_XMM15: usize = 144;
/// MXCSR (4 bytes).
pub const OFF_MXCSR: usize = 160;
/// x87 control word (2 bytes), then 2 bytes of padding.
pub const OFF_X87CW: usize = 164;
/// `TEB.ExceptionList`.
pub const OFF_EXCEPTION_LIST: usize = 168;
/// `TEB.GuaranteedStackBytes`.
pub const OFF_GUARANTEE: usize = 176;
/// `TEB.FiberData`.
pub const OFF_FIBER_DATA: usize = 184;
/// `TEB.DeallocationStack`.
pub const OFF_DEALLOCATION_STACK: usize = 192;
/// `TEB.StackLimit`.
pub const OFF_STACK_LIMIT: usize = 200;
/// `TEB.StackBase`.
pub const OFF_STACK_BASE: usize = 208;
/// r15.
pub const OFF_R15: usize = 216;
/// r14.
pub const OFF_R14: usize = 224;
/// r13.
pub const OFF_R13: usize = 232;
/// r12.
pub const OFF_R12: usize = 240;
/// rsi.
pub const OFF_RSI: usize = 248;
/// rdi.
pub const OFF_RDI: usize = 256;
/// rbx.
pub const OFF_RBX: usize = 264;
/// rbp.
pub const OFF_RBP: usize = 272;
/// The other side's resume address: the switch pops it and jumps there.
pub const OFF_RET: usize = 280;

// --- the coroutine switch (`resume`/`suspend` in src/arch/x86_64_windows.rs) ---

/// A suspended side of the coroutine switch, at its saved stack pointer:
/// the address it resumes at.
pub const CO_OFF_RESUME: usize = 0;
/// rbx, saved by hand (LLVM reserves it).
pub const CO_OFF_RBX: usize = 8;
/// rbp, saved by hand.
pub const CO_OFF_RBP: usize = 16;
/// `TEB.ExceptionList` of this side.
pub const CO_OFF_EXCEPTION_LIST: usize = 24;
/// `TEB.GuaranteedStackBytes` of this side.
pub const CO_OFF_GUARANTEE: usize = 32;
/// `TEB.FiberData` of this side.
pub const CO_OFF_FIBER_DATA: usize = 40;
/// `TEB.DeallocationStack` of this side.
pub const CO_OFF_DEALLOCATION_STACK: usize = 48;
/// `TEB.StackLimit` of this side.
pub const CO_OFF_STACK_LIMIT: usize = 56;
/// `TEB.StackBase` of this side.
pub const CO_OFF_STACK_BASE: usize = 64;
/// A second copy of the resume address, for the Windows unwinder, which
/// can only pop the return address last (see the coroutine trampoline).
pub const CO_OFF_RESUME_COPY: usize = 72;
/// Bytes of a suspended side's saved words: its stack pointer before the
/// switch is the saved one plus this.
pub const CO_FRAME_SIZE: usize = 80;

/// Bytes at a fresh coroutine's saved stack pointer, below its slots.
pub const COROUTINE_INIT_SIZE: usize = 64;
/// A fresh coroutine: the coroutine trampoline, where the first resume
/// lands (`swapctx_coroutine_enter` pops it and jumps there).
pub const INIT_OFF_TRAMPOLINE: usize = 0;
/// A fresh coroutine: the entry function, for the trampoline.
pub const INIT_OFF_ENTRY: usize = 8;
/// A fresh coroutine: the entry's data pointer, for the trampoline.
pub const INIT_OFF_DATA: usize = 16;
/// A fresh coroutine: its `TEB.StackLimit` (the stack's bottom).
pub const INIT_OFF_STACK_LIMIT: usize = 24;
/// A fresh coroutine: its `TEB.DeallocationStack` (the reservation's start).
pub const INIT_OFF_DEALLOCATION_STACK: usize = 32;
/// A fresh coroutine: its `TEB.GuaranteedStackBytes`.
pub const INIT_OFF_GUARANTEE: usize = 40;
/// A fresh coroutine: its `TEB.StackBase` (the stack's top).
pub const INIT_OFF_STACK_BASE: usize = 48;
