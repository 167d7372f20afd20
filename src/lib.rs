//! # swapctx
//!
//! Stackful context switching with a hand-written switch per architecture
//! (`asm/`), like `swapcontext` but without its system call, and safe
//! coroutines on top.
//!
//! - [`raw`]: the symmetric, unsafe layer: make a context on a stack, switch
//!   from the running one to any other, one `usize` each way.
//! - [`Stack`]: `mmap`'d, lazily committed stacks with a guard page that
//!   turns an overflow into a clear message.
//! - [`StackPool`]: stacks handed out again after use, without a system
//!   call, for programs that make many coroutines.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

// Without `std` the coroutine layer is gone, and with it every use of the
// arch modules' coroutine switch (`init_coroutine`, `resume`, ...) and
// its re-export.
#[cfg_attr(not(feature = "std"), allow(dead_code, unused_imports))]
mod arch;
#[cfg(feature = "std")]
mod capi;
#[cfg(all(doctest, feature = "std"))]
mod compile_fail;
#[cfg(feature = "std")]
pub mod coroutine;
mod error;
#[cfg(feature = "std")]
mod overflow;
#[path = "context.rs"]
pub mod raw;
#[cfg(feature = "std")]
mod stack;
#[cfg(feature = "std")]
mod tools;

#[cfg(feature = "std")]
pub use coroutine::{
    on_stack, scope, Coroutine, CoroutineResult, Generator, Scope, ScopedCoroutine,
    ScopedGenerator, Yielder,
};
pub use error::{Error, Result};
#[cfg(feature = "std")]
pub use stack::{GuardKind, Release, Stack, StackPool, StackPoolBuilder};

/// Prints `msg` to stderr and aborts the process: for states a program
/// cannot go on from (no unwinding is possible there).
#[cfg(feature = "std")]
#[cold]
pub(crate) fn fatal(msg: core::fmt::Arguments<'_>) -> ! {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
    std::process::abort()
}

/// Without `std` there is no stderr and no `abort`: the message goes to the
/// embedder's `#[panic_handler]`, the one place a `no_std` program reports
/// from, and the handler never returns (it is `-> !`). The one caller
/// without `std`, the trampoline's `entry_returned`, is an `extern "C"`
/// function, which cannot unwind either. An endless loop would hang
/// silently, and `core` has no stable abort.
#[cfg(not(feature = "std"))]
#[cold]
pub(crate) fn fatal(msg: core::fmt::Arguments<'_>) -> ! {
    panic!("{msg}")
}

/// The README's examples, run as doc tests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
