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
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

mod arch;
pub mod coroutine;
mod error;
mod overflow;
#[path = "context.rs"]
pub mod raw;
mod stack;

pub use coroutine::{
    scope, Coroutine, CoroutineResult, Generator, Scope, ScopedCoroutine, ScopedGenerator, Yielder,
};
pub use error::{Error, Result};
pub use stack::Stack;

/// Prints `msg` to stderr and aborts the process: for states a program
/// cannot go on from (no unwinding is possible there).
#[cold]
pub(crate) fn fatal(msg: core::fmt::Arguments<'_>) -> ! {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
    std::process::abort()
}

/// The README's examples, run as doc tests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
