//! # swapctx
//!
//! Stackful context switching: one hand-written assembly switch per
//! architecture (x86_64, x86, aarch64, arm, riscv64, powerpc64le and s390x
//! on Linux and other ELF targets; Windows x64 with the GNU toolchain; the
//! Cortex-M4F on bare metal) that saves the callee-saved registers and
//! swaps stacks, like `swapcontext` but without its system call; guarded,
//! lazily committed stacks; and safe coroutines and generators on top.
//!
//! ```toml
//! [dependencies]
//! swapctx = "0.1"   # builds libc and nothing else (and `cc`, to assemble)
//! ```
//!
//! Three layers, from the safest: a generator, a coroutine that takes and
//! gives values, and the raw switch that both are built on.
//!
//! ## A generator
//!
//! A closure on its own stack hands values out with
//! [`suspend`][suspend]; the [`Generator`] is an iterator over
//! them. The closure runs only when the next value is asked for:
//!
//! ```
//! use swapctx::{Generator, Yielder};
//!
//! let fibonacci = Generator::new(|y: &Yielder<(), u64>| {
//!     let (mut a, mut b) = (0u64, 1u64);
//!     loop {
//!         y.suspend(a);
//!         (a, b) = (b, a + b);
//!     }
//! });
//! let first: Vec<u64> = fibonacci.take(10).collect();
//! assert_eq!(first, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
//! // Dropping the unfinished generator unwinds its stack.
//! ```
//!
//! ## A coroutine, with values both ways
//!
//! [`Coroutine::resume`] sends a value in; inside, the closure gets the first
//! one as its argument and each later one as what
//! [`suspend`][suspend] returns, and hands values out through
//! `suspend` and, at the end, its return value:
//!
//! ```
//! use swapctx::{Coroutine, CoroutineResult, Yielder};
//!
//! // Adds up what it is sent, hands back the running total, and returns
//! // how many numbers it got when sent `None`.
//! let mut adder = Coroutine::new(|y: &Yielder<Option<i64>, i64>, first: Option<i64>| {
//!     let (mut total, mut count, mut next) = (0, 0, first);
//!     while let Some(x) = next {
//!         total += x;
//!         count += 1;
//!         next = y.suspend(total);
//!     }
//!     count
//! });
//! assert_eq!(adder.resume(Some(5)), CoroutineResult::Yield(5));
//! assert_eq!(adder.resume(Some(7)), CoroutineResult::Yield(12));
//! assert_eq!(adder.resume(None), CoroutineResult::Return(2));
//! assert!(adder.is_done());
//! ```
//!
//! A panic inside a coroutine unwinds its stack and comes out of `resume`.
//! [`Coroutine::new`] and [`Generator::new`] take `'static` closures; to
//! borrow from the caller, make the coroutines inside [`scope`].
//!
//! ## The raw switch
//!
//! [`raw`] is `makecontext`/`swapcontext` for Rust, and `unsafe`: make a
//! [`Context`](raw::Context) on a [`Stack`] with an entry function, then
//! [`switch`](raw::switch) from the running code to *any* suspended context,
//! one `usize` travelling each way. Nothing is checked; the layers above
//! exist so that you rarely need this one.
//!
//! ```
//! use core::ffi::c_void;
//! use swapctx::raw::{self, Context};
//! use swapctx::Stack;
//!
//! /// Where each side is suspended while the other runs.
//! struct Slots {
//!     main: Context,
//!     doubler: Context,
//! }
//!
//! unsafe extern "C" fn doubler(mut value: usize, data: *mut c_void) -> ! {
//!     let slots = data.cast::<Slots>();
//!     loop {
//!         // SAFETY: `slots` outlives every switch into this context, and
//!         // main is suspended in `main` whenever this side runs.
//!         value = unsafe {
//!             let main = core::mem::take(&mut (*slots).main);
//!             raw::switch(&mut (*slots).doubler, main, value * 2)
//!         };
//!     }
//! }
//!
//! let stack = Stack::new(64 * 1024)?;
//! let mut slots = Slots { main: Context::empty(), doubler: Context::empty() };
//! let slots: *mut Slots = &mut slots;
//! // SAFETY: the stack and the slots outlive every switch into `doubler`,
//! // which never returns and cannot panic; only this thread uses them.
//! unsafe {
//!     (*slots).doubler = Context::new(stack.top(), doubler, slots.cast());
//!     for i in 1..4 {
//!         let to = core::mem::take(&mut (*slots).doubler);
//!         assert_eq!(raw::switch(&mut (*slots).main, to, i), i * 2);
//!     }
//! }
//! # Ok::<(), swapctx::Error>(())
//! ```
//!
//! ## Map of the crate
//!
//! | item | what |
//! | --- | --- |
//! | [`Generator`], [`Coroutine`], [`Yielder`], [`CoroutineResult`] | the safe layer: closures on their own stacks, values in and out, panics and drops handled |
//! | [`scope`], [`ScopedCoroutine`], [`ScopedGenerator`] | the same, borrowing from the caller's stack frame |
//! | [`Stack`], [`GuardKind`] | `mmap`'d stacks, committed as they are touched, with a guard page that turns an overflow into a message naming the stack |
//! | [`StackPool`], [`StackPoolBuilder`], [`Release`] | stacks handed out again after use, without a system call, for programs that make many coroutines |
//! | [`StackMemory`], [`StackBuf`], [`StackArea`] | stack memory as a contract: `Stack` and the embedder's own memory (a `static` buffer, a `Box<[u8]>`, any region), with a canary where there is no guard page ([`memory`]) |
//! | [`raw`] | the symmetric, unsafe layer: [`raw::Context`], [`raw::switch`], and the assembly switch itself, [`raw::swapctx_switch`] |
//! | [`Error`], [`Result`] | why a stack could not be had |
//!
//! Features:
//!
//! - `std` (default): everything above. Without it (`default-features =
//!   false`) the crate is `no_std`: [`raw`], [`Error`], and [`Coroutine`],
//!   [`Generator`] and [`Yielder`] on stacks you bring ([`StackBuf`]), with
//!   the rules of `panic = "abort"` (see [What is sound, and
//!   why](coroutine#what-is-sound-and-why) and [Without
//!   `std`](coroutine#without-std)). `scope`, `on_stack`, traps, `Stack`
//!   and pools need `std`.
//! - `alloc` (without `std`): [`StackBuf::from_box`](memory::StackBuf).
//! - `capi` (without `std`): the C coroutine API on the caller's memory,
//!   for the static library in the repository's `capi/` directory.
//! - `valgrind`: registers every stack with Valgrind, so programs run clean
//!   under memcheck.
//! - `asan`: annotates every coroutine switch for AddressSanitizer (nightly,
//!   `-Zsanitizer=address`).
//!
//! The same contexts are available to C through `include/swapctx.h`
//! (`swapctx_stack_new`, `swapctx_context_new`, `swapctx_context_switch`),
//! and coroutines too (`swapctx_coro_new`, `swapctx_coro_resume`,
//! `swapctx_coro_yield`, ...), also from a static library without Rust's
//! `std`; the README's "Use from C" section has the commands.
//!
//! ## How it works
//!
//! The switch is a few dozen instructions of assembly per architecture
//! (`asm/`, assembled by `build.rs`): it pushes the registers the ABI says a
//! function must preserve (and the floating-point control words) on the
//! running stack, stores the stack pointer into the save slot, loads the
//! other context's stack pointer, pops its registers and jumps to where it
//! left off. A fresh context's stack is laid out as if it had been
//! suspended in a switch, with a trampoline as its return address that
//! calls the entry function. The coroutine layer inlines a leaner switch
//! that lets the compiler save only what is live, and runs each closure
//! under `catch_unwind` so that a panic travels back to `resume`.
//!
//! Stacks are `MAP_NORESERVE` mappings: a page costs memory only once it is
//! touched. The guard page below each stack is installed in place where the
//! kernel can (`MADV_GUARD_INSTALL`, Linux 6.13+) or made with `mprotect`; a
//! `SIGSEGV` handler on an alternate signal stack recognises a fault in a
//! guard page, prints which stack overflowed and aborts, and hands every
//! other fault to the handler that was there before.
//!
//! The repository's `docs/` directory is a tutorial that builds all of this
//! up, one chapter per step, and `BENCHMARKS.md` measures it against
//! corosensei, the `context` crate, Boost.Context, glibc and threads.
//!
#![doc = "[`Generator`]: crate::Generator\n[`Coroutine`]: crate::Coroutine\n\
           [`Coroutine::resume`]: crate::Coroutine::resume\n\
           [`Yielder`]: crate::Yielder\n[`CoroutineResult`]: crate::CoroutineResult\n\
           [suspend]: crate::Yielder::suspend\n[`StackBuf`]: crate::StackBuf\n\
           [`StackMemory`]: crate::StackMemory\n[`StackArea`]: crate::StackArea"]
#![cfg_attr(
    feature = "std",
    doc = "[`Coroutine::new`]: crate::Coroutine::new\n[`Generator::new`]: crate::Generator::new\n\
           [`scope`]: crate::scope\n[`ScopedCoroutine`]: crate::ScopedCoroutine\n\
           [`ScopedGenerator`]: crate::ScopedGenerator\n[`Stack`]: crate::Stack\n\
           [`GuardKind`]: crate::GuardKind\n[`StackPool`]: crate::StackPool\n\
           [`StackPoolBuilder`]: crate::StackPoolBuilder\n[`Release`]: crate::Release"
)]
// Without `std` the mapped stacks, scopes and `new` are not compiled: their
// names link to the paragraph on features instead of to items that do not
// exist.
#![cfg_attr(
    not(feature = "std"),
    doc = "[`Coroutine::new`]: #map-of-the-crate\n[`Generator::new`]: #map-of-the-crate\n\
           [`scope`]: #map-of-the-crate\n[`ScopedCoroutine`]: #map-of-the-crate\n\
           [`ScopedGenerator`]: #map-of-the-crate\n[`Stack`]: #map-of-the-crate\n\
           [`GuardKind`]: #map-of-the-crate\n[`StackPool`]: #map-of-the-crate\n\
           [`StackPoolBuilder`]: #map-of-the-crate\n[`Release`]: #map-of-the-crate"
)]
// The docs of the `std` build (docs.rs's) are the reference, and CI checks
// every link there. Without `std`, links in item docs to what only `std`
// has (`Stack`, `scope`, traps, ...) render as plain text.
#![cfg_attr(not(feature = "std"), allow(rustdoc::broken_intra_doc_links))]
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs, clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "alloc")]
extern crate alloc;

// Without `std`, `on_stack` and traps are gone, and with them the uses of
// their assembly entry points.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
mod arch;
#[cfg(any(feature = "std", feature = "capi"))]
mod capi;
#[cfg(all(doctest, feature = "std"))]
mod compile_fail;
pub mod coroutine;
mod error;
pub mod memory;
#[cfg(all(feature = "std", unix))]
mod overflow;
mod overflow_message;
// Windows: a vectored exception handler instead of a signal handler.
#[cfg(all(feature = "std", windows))]
#[path = "overflow_windows.rs"]
mod overflow;
#[path = "context.rs"]
pub mod raw;
#[cfg(feature = "std")]
mod stack;
#[cfg(feature = "std")]
mod thread;
// Without `std` there are no mapped stacks to tell Valgrind about.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
mod tools;

/// Runs before every registration of a guard region in the stacks' guard
/// registry (`stack::registry`): installs the overflow handler that reads
/// the registry on a fault. Wired here so that `stack` does not depend on
/// `overflow`, which sits above it and only looks address ranges up.
#[cfg(feature = "std")]
#[inline]
fn before_guard_registered() {
    overflow::install_handler();
}

/// Runs once per thread, at the first use of its id (`thread`): gives the
/// thread an alternate signal stack if it has none, for the overflow
/// handler. Wired here so that `thread`, which the stacks use, does not
/// depend on `overflow`.
#[cfg(feature = "std")]
fn first_use_of_thread() {
    overflow::prepare_thread();
}

#[cfg(feature = "std")]
pub use coroutine::{on_stack, scope, Scope, ScopedCoroutine, ScopedGenerator};
pub use coroutine::{Coroutine, CoroutineResult, Generator, Yielder};
pub use error::{Error, Result};
pub use memory::{StackArea, StackBuf, StackMemory};
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
/// from, and the handler never returns (it is `-> !`). `no_std` targets
/// abort on panic. In a hosted program that links the `no_std` build and
/// unwinds, the callers behave as follows: the trampoline's `entry_returned`
/// is an `extern "C"` function, which cannot unwind (the process aborts);
/// a canary found overwritten (`memory::canary_overwritten`, from
/// `resume`) unwinds the resumer, and the coroutine it drops on the way is
/// abandoned, its stack leaked. An endless loop would hang silently, and
/// `core` has no stable abort.
#[cfg(not(feature = "std"))]
#[cold]
pub(crate) fn fatal(msg: core::fmt::Arguments<'_>) -> ! {
    panic!("{msg}")
}

/// The README's examples, run as doc tests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
