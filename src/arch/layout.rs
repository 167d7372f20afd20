// Layout shared by every architecture: the coroutine slots at the top of a
// coroutine's stack, which the coroutine stubs in asm/ read and write.
//
// This file holds only `pub const NAME: usize = <number>;` items (and their
// docs): build.rs reads it too and writes each one into `layout.h` as
// `#define SWAPCTX_NAME <number>` for the assembly, so the offsets have one
// source. `src/coroutine.rs` checks the `Slots` struct against them.

/// `slots.link`: the resumer's saved stack pointer, while the coroutine runs.
pub const SLOT_LINK: usize = 0;
/// `slots.this`: the coroutine's saved stack pointer, while it is suspended.
pub const SLOT_THIS: usize = 8;
