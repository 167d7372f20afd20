//! Calls that run on another stack and come back: [`on_stack`] (a stack of
//! the caller's) and [`Yielder::on_parent_stack`] (the resumer's stack).
//!
//! Neither is a switch in the coroutine sense: the closure is *called*,
//! on a different stack, and returns. `swapctx_on_stack` (asm) saves the
//! caller's frame pointer, moves the stack pointer to the other stack's
//! top, calls a function and moves back:
//!
//! ```text
//!   caller's stack                 the other stack
//!   +----------------------+       +----------------------+  top (16-byte aligned)
//!   | on_stack's frame:    |       | run::<F, R>          |  catch_unwind(f)
//!   |   the Call (F, then  |<------|   reads F, writes R  |
//!   |   its result)        |       | f's frames ...       |
//!   | swapctx_on_stack:    |       |                      |
//!   |   saved fp, ret addr |<- fp  |                      |
//!   +----------------------+       +----------------------+
//! ```
//!
//! The closure runs inside `catch_unwind` on the other stack; a panic
//! comes back as a value and is re-raised on the caller's stack, so no
//! unwind crosses the assembly. The trampoline's CFI defines its frame
//! through the saved frame pointer, so backtraces, debuggers and the
//! unwinder walk from the closure's frames straight into the caller's.

use core::mem::ManuallyDrop;
use core::ptr;
use std::panic::{self, AssertUnwindSafe};

use super::Yielder;
use crate::arch;
use crate::stack::Stack;
use crate::tools;

/// The closure going to the other stack, and what comes back.
union Call<F, R> {
    f: ManuallyDrop<F>,
    result: ManuallyDrop<std::thread::Result<R>>,
}

/// What the function on the other stack is handed: the call, and where
/// AddressSanitizer records the stack it came from.
struct Frame<F, R> {
    call: Call<F, R>,
    back: tools::FiberStack,
}

/// Runs on the other stack: takes the closure, calls it inside
/// `catch_unwind`, leaves the result in its place.
///
/// # Safety
/// `frame` points at a `Frame<F, R>` whose `call` holds the closure, which
/// nothing else reads.
unsafe extern "C" fn run<F, R>(frame: *mut u8)
where
    F: FnOnce() -> R,
{
    let frame = frame.cast::<Frame<F, R>>();
    // SAFETY: per the contract. The closure is taken exactly once, and its
    // place is then overwritten with the result, which the caller reads.
    unsafe {
        tools::finish_switch(tools::FakeStack::default(), Some(&(*frame).back));
        let f = ManuallyDrop::take(&mut (*frame).call.f);
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        ptr::addr_of_mut!((*frame).call).write(Call {
            result: ManuallyDrop::new(result),
        });
        tools::last_switch(&(*frame).back);
    }
}

/// What `swapctx_on_stack` needs to know of the other stack besides its
/// top: on Windows its TEB fields, elsewhere nothing.
#[cfg(windows)]
type Bounds = arch::TebStack;
#[cfg(not(windows))]
type Bounds = ();

/// Calls `f` with the stack pointer at `top`; re-raises its panic here.
///
/// # Safety
/// `top` is 16-byte aligned, with free memory below it that nothing else
/// uses until this returns; `target` describes that stack (for ASan).
#[inline]
unsafe fn call_on<F, R>(top: *mut u8, bounds: Bounds, target: &tools::FiberStack, f: F) -> R
where
    F: FnOnce() -> R,
{
    debug_assert!(top as usize % arch::STACK_ALIGN == 0);
    let mut frame = Frame {
        call: Call {
            f: ManuallyDrop::new(f),
        },
        back: tools::FiberStack::default(),
    };
    let fake = tools::start_switch(target);
    // SAFETY: per the contract; `run::<F, R>` matches the frame, catches
    // every panic (it never unwinds into the assembly) and leaves the
    // result in `frame.call`, which we move out exactly once.
    let result = unsafe {
        #[cfg(not(windows))]
        let () = bounds;
        #[cfg(not(windows))]
        arch::swapctx_on_stack(ptr::addr_of_mut!(frame).cast(), top, run::<F, R>);
        #[cfg(windows)]
        arch::swapctx_on_stack(ptr::addr_of_mut!(frame).cast(), top, run::<F, R>, &bounds);
        tools::finish_switch(fake, None);
        ManuallyDrop::take(&mut frame.call.result)
    };
    match result {
        Ok(r) => r,
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// Runs `f` on `stack` and returns its result: for deep recursion
/// (parsers, tree walks, interpreters) on a big stack, without a thread.
///
/// `f` is called, not switched to: it runs to the end before `on_stack`
/// returns, on the same thread. A panic in `f` unwinds `f`'s frames on
/// `stack` and is re-raised here with its payload. Backtraces taken inside
/// `f` go on into the caller's frames. An overflow of `stack` hits its
/// guard page and ends the process with swapctx's overflow message, as in
/// a coroutine.
///
/// The stack is borrowed exclusively: nothing else can run on it
/// meanwhile. It can be used again afterwards (a stack from a
/// [`StackPool`](crate::StackPool) too), so a program that recurses deeply
/// in a loop maps it once. `f` may suspend a coroutine it runs in (through
/// that coroutine's [`Yielder`]): the coroutine then stops with `f`'s
/// frames on `stack`, and dropping it unwinds them as usual. (With the
/// `asan` feature, AddressSanitizer is then told that the coroutine
/// resumes on its own stack, not on `stack`, and may warn.)
///
/// Two calls cannot share a stack, since each borrows it exclusively:
///
/// ```compile_fail,E0499
/// let mut s = swapctx::Stack::new(64 * 1024).unwrap();
/// swapctx::on_stack(&mut s, || swapctx::on_stack(&mut s, || 1));
/// ```
///
/// # Examples
/// ```
/// use swapctx::Stack;
///
/// fn depth(n: u64) -> u64 {
///     let pad = std::hint::black_box([0u8; 256]); // a big frame
///     if n == 0 { pad[0] as u64 } else { 1 + depth(n - 1) }
/// }
///
/// let mut big = Stack::new(64 * 1024 * 1024)?;
/// assert_eq!(swapctx::on_stack(&mut big, || depth(100_000)), 100_000);
///
/// // A panic comes back to the caller.
/// let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     swapctx::on_stack(&mut big, || panic!("deep"))
/// }));
/// assert_eq!(*caught.unwrap_err().downcast::<&str>().unwrap(), "deep");
/// # Ok::<(), swapctx::Error>(())
/// ```
#[inline]
pub fn on_stack<F, R>(stack: &mut Stack, f: F) -> R
where
    F: FnOnce() -> R,
{
    crate::thread::prepare();
    let top = (stack.top() as usize & !(arch::STACK_ALIGN - 1)) as *mut u8;
    let target = tools::FiberStack::of(stack);
    #[cfg(windows)]
    let bounds = stack.teb();
    #[cfg(not(windows))]
    let bounds = ();
    // SAFETY: `stack` is borrowed exclusively for the call: no coroutine
    // runs on it (a coroutine owns its stack) and no other `on_stack` can
    // use it until we return. Its memory from `top` down is ours.
    unsafe { call_on(top, bounds, &target, f) }
}

impl<I, Y> Yielder<I, Y> {
    /// Runs `f` on the stack of whoever resumed this coroutine, below the
    /// resumer's frames, and returns its result: for work that needs more
    /// stack than the coroutine has, or that must run where the resumer
    /// runs. A panic in `f` unwinds `f`'s frames there and is re-raised
    /// here, in the coroutine, where it unwinds the coroutine's frames (and,
    /// if not caught, comes out of `resume`).
    ///
    /// `f` is `Send` so that it cannot capture a `&Yielder` (which is
    /// not): while `f` runs, the coroutine's frames are below the
    /// resumer's saved state on one stack and above `f`'s on the other, so
    /// a suspend from `f` would hand the resumer a stack that `f` still
    /// uses:
    ///
    /// ```compile_fail,E0277
    /// let mut co = swapctx::Coroutine::<(), (), ()>::new(|y, ()| {
    ///     y.on_parent_stack(|| y.suspend(()));
    /// });
    /// ```
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult, Stack};
    ///
    /// fn depth(n: u64) -> u64 {
    ///     let pad = std::hint::black_box([0u8; 256]);
    ///     if n == 0 { pad[0] as u64 } else { 1 + depth(n - 1) }
    /// }
    ///
    /// // A small coroutine stack; the deep call runs on the resumer's.
    /// let small = Stack::new(Stack::MIN_SIZE)?;
    /// let mut co = Coroutine::<(), (), u64>::with_stack(small, |y, ()| {
    ///     y.on_parent_stack(|| depth(1_000))
    /// });
    /// assert_eq!(co.resume(()), CoroutineResult::Return(1_000));
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    #[inline]
    pub fn on_parent_stack<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send,
    {
        // SAFETY: this coroutine is running (we are in its closure, or in
        // an inner coroutine it resumed), so `link` holds its resumer's
        // saved stack pointer: the resumer is suspended in `resume` with
        // its saved state at and above `link`, and nothing of it lives
        // below. That memory stays free until the coroutine switches back,
        // which `f` cannot make it do (it cannot reach this Yielder), so it
        // is ours until `f` returns.
        unsafe {
            let link = (*self.slots).link as usize;
            let top = (link & !(arch::STACK_ALIGN - 1)) as *mut u8;
            #[cfg(windows)]
            let bounds = arch::resumer_teb(link as *const u8);
            #[cfg(not(windows))]
            let bounds = ();
            call_on(top, bounds, &self.resumer, f)
        }
    }
}
