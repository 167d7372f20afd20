// Layout shared by every 32-bit architecture (x86, arm): the coroutine
// slots at the top of a coroutine's stack, as in `layout.rs` for the 64-bit
// ones, with 4-byte pointers.
//
// This file holds only `pub const NAME: usize = <number>;` items (and their
// docs): build.rs reads it too and writes each one into `layout.h` as
// `#define SWAPCTX_NAME <number>` for the assembly, so the offsets have one
// source. `src/coroutine.rs` checks the `Slots` struct against them.

/// `slots.link`: the resumer's saved stack pointer, while the coroutine runs.
pub const SLOT_LINK: usize = 0;
/// `slots.this`: the coroutine's saved stack pointer, while it is suspended.
pub const SLOT_THIS: usize = 4;
