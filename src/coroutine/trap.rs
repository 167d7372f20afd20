//! Recovering from a fault inside a coroutine: an embedder's signal
//! handler stops the coroutine and makes it hand a value to its resumer,
//! as if its closure had returned.
//!
//! An interpreter or a JIT that runs untrusted code in a coroutine (a
//! Wasm runtime, say) lets the hardware catch what the code does wrong: an
//! access to an unmapped page, an illegal instruction, a division by zero,
//! an overflow of the coroutine's stack. Its `SIGSEGV`/`SIGBUS`/`SIGILL`/
//! `SIGFPE` handler then calls [`TrapHandle::return_from_trap`]: when the
//! handler returns, the coroutine does not continue at the faulting
//! instruction but runs the closure given to `return_from_trap`, on the
//! top of its own stack, and its result comes out of
//! [`Coroutine::resume`] as [`CoroutineResult::Return`]. No unwinding
//! runs through the faulting frames: they are abandoned where they are.
//!
//! ```text
//!   before the fault                 after the handler returns
//!   +--------------------+  top      +--------------------+
//!   | slots, closure     |           | slots, closure     |
//!   | entry, catch_unwind|           | the trap's closure |  moved here by the handler
//!   | the body's frames  |           | trap entry: runs it|  then the last switch
//!   | ...                |           |  (frames below: abandoned, never dropped)
//!   | faulting frame  <- sp          |                    |
//!   +--------------------+  guard    +--------------------+
//! ```
//!
//! # The contract
//!
//! [`TrapHandle::return_from_trap`] is `unsafe`; the embedder promises:
//!
//! - **Which signals.** It is called from a handler (installed with
//!   `SA_SIGINFO`) for a *synchronous* fault, `SIGSEGV`, `SIGBUS`,
//!   `SIGILL` or `SIGFPE`, raised by an instruction of the coroutine that
//!   the handle belongs to, on the thread that runs it, while it runs (the
//!   interrupted stack pointer is on that coroutine's stack: the call
//!   checks this and returns `false` otherwise). A fault on another stack
//!   ([`on_stack`](crate::on_stack), [`Yielder::on_parent_stack`], another
//!   coroutine) cannot be recovered this way. To recover from a stack
//!   overflow the handler must run on an alternate signal stack
//!   (`SA_ONSTACK`; swapctx gives every thread that makes a coroutine
//!   one) and must run before swapctx's own overflow handler, which
//!   reports and aborts: install it after [`install_overflow_handler`].
//! - **The handle** belongs to a coroutine that is alive (not dropped):
//!   the handle has no lifetime, so that it can sit in a thread-local
//!   where the handler finds it.
//! - **What the abandoned frames may hold.** The coroutine's frames below
//!   the top of its stack are given up as they are: no destructor runs,
//!   nothing is unwound. So the faulting code must be in a state where
//!   *forgetting* its frames is acceptable: it holds no lock that anyone
//!   will wait for (the allocator's included: the trap's closure runs on
//!   the same thread), no `RefCell` borrow that will be needed, no
//!   `std::thread::scope` whose threads still run; and the thread is not
//!   unwinding (a fault while it panics, in the coroutine's own unwind or
//!   in a coroutine resumed from a destructor during its resumer's, ends
//!   the process with a message, because the thread's panic state cannot
//!   be repaired). Interpreted or compiled guest code that keeps its state
//!   in plain memory is the intended case.
//! - **What the handler touches.** `return_from_trap` itself only reads
//!   the handle and the interrupted stack pointer and writes the closure
//!   onto the coroutine's stack and a few registers into the `ucontext`:
//!   it is async-signal-safe. The closure runs later, after the handler
//!   has returned, as ordinary code on the coroutine's stack: it may
//!   allocate, print or panic (a panic comes out of `resume`). It should
//!   be small (a few words): it is written between the top of the stack
//!   and the interrupted stack pointer, and `return_from_trap` returns
//!   `false` if it does not fit there.
//!
//! # What happens to the abandoned stack
//!
//! The values on the abandoned frames were never dropped, so the stack
//! must not be freed or reused under them (a pinned value may be there, a
//! thread started inside may still read them): the coroutine is left
//! *done*, and like a coroutine that could not be unwound with
//! `panic = "abort"`, dropping it **leaks its stack** (counted by
//! [`abandoned_stacks`](super::abandoned_stacks)) and
//! [`Coroutine::into_stack`] gives back a new one. An embedder that knows
//! nothing on those frames needs them (no pinned values, no thread
//! borrowing them: plain guest state) gets the same stack back with the
//! `unsafe` [`Coroutine::into_stack_after_trap`], and so does not leak a
//! stack per trap.
//!
//! The safe API stays sound whatever a handler does within this contract:
//! the coroutine is never resumed after a trap (it is done), its stack is
//! leaked unless the embedder takes responsibility, and only `'static`
//! coroutines ([`Coroutine`], not scoped ones) have handles, so nothing
//! on the abandoned frames borrows what outlives them.
//!
//! Floating-point control state (rounding mode) is as the coroutine left
//! it at the fault. AddressSanitizer (feature `asan`) is not told about
//! the switch a trap makes.
//!
//! `examples/trap_interpreter.rs` turns an out-of-bounds access in a toy
//! interpreter into an error value; `tests/trap.rs` recovers from each of
//! the four signals and from a stack overflow.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::ptr;
use std::panic::{self, AssertUnwindSafe};

use super::{post, Coroutine, Finish, Slots, State, FINISH_MAX};
use crate::arch;
use crate::stack::Stack;

#[cfg(doc)]
use super::{CoroutineResult, Yielder};

/// Variance and auto traits of a [`TrapHandle`]: hands out `R`; not Send,
/// not Sync.
type TrapHandleMarker<R> = (fn() -> R, *mut ());

/// What a signal handler needs to stop a running [`Coroutine`] after a
/// fault: see the [module documentation](self) for the contract.
///
/// `R` is the coroutine's return type: the value the trap hands to the
/// resumer in its place. A handle is a plain copyable value without a
/// lifetime, so that it can sit in a thread-local where a signal handler
/// finds it; it stays on its thread, as its coroutine does:
///
/// ```compile_fail,E0277
/// let co = swapctx::Coroutine::<(), (), u8>::new(|_, ()| 1);
/// let h = co.trap_handle();
/// std::thread::spawn(move || h.contains(0));
/// ```
///
/// # Examples
/// ```
/// use swapctx::{Coroutine, CoroutineResult};
///
/// let co = Coroutine::<(), (), Result<u32, String>>::new(|_, ()| Ok(1));
/// let handle = co.trap_handle();
/// // The coroutine's stack, guard page included: where a fault's stack
/// // pointer must be for `return_from_trap` to act.
/// assert!(handle.contains(co.stack().top() as usize - 64));
/// assert!(handle.contains(co.stack().guard().0 as usize));
/// assert!(!handle.contains(co.stack().top() as usize));
/// ```
pub struct TrapHandle<R> {
    slots: usize,
    /// Where the coroutine's last switch leaves its `Finish<R>` (its
    /// mailbox's, which depends on its input and yield types too).
    finish: usize,
    /// The lowest address of the guard page.
    lo: usize,
    /// The stack's top.
    hi: usize,
    _marker: PhantomData<TrapHandleMarker<R>>,
}

impl<R> Clone for TrapHandle<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for TrapHandle<R> {}

impl<R> core::fmt::Debug for TrapHandle<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrapHandle")
            .field("stack", &format_args!("{:#x}..{:#x}", self.lo, self.hi))
            .finish()
    }
}

impl<R> TrapHandle<R> {
    /// True if `addr` lies in the coroutine's stack or in its guard page:
    /// for a handler that wants to know whether a fault's stack pointer (or
    /// address) belongs to this coroutine. An overflow faults with the
    /// stack pointer in the guard page.
    ///
    /// ```
    /// let co = swapctx::Coroutine::<(), (), ()>::new(|_, ()| {});
    /// let h = co.trap_handle();
    /// let on_this_thread = 0u8;
    /// assert!(!h.contains(&on_this_thread as *const u8 as usize));
    /// assert!(h.contains(co.stack().top() as usize - 1));
    /// ```
    pub fn contains(&self, addr: usize) -> bool {
        self.lo <= addr && addr < self.hi
    }

    /// Makes the coroutine stop and return `f()` to its resumer once the
    /// signal handler returns, without unwinding the faulting frames.
    ///
    /// Returns `true` if the interrupted context in `ucontext` was
    /// redirected; the handler should then return. Returns `false`, and
    /// changes nothing, if the interrupted stack pointer is not on this
    /// coroutine's stack (or guard page), or if `f` does not fit between
    /// the top of the stack and that stack pointer; the handler should
    /// then do what it would do without swapctx (chain to the previous
    /// handler, or restore the default action).
    ///
    /// After the trap, `resume` returns [`CoroutineResult::Return`] with
    /// `f`'s value (or re-raises `f`'s panic), the coroutine is done, and
    /// its stack is leaked when it is dropped (see [What happens to the
    /// abandoned stack](self#what-happens-to-the-abandoned-stack)).
    ///
    /// # Safety
    /// The [contract](self#the-contract): called from a `SA_SIGINFO`
    /// handler with the `ucontext` it was given, for a synchronous
    /// `SIGSEGV`, `SIGBUS`, `SIGILL` or `SIGFPE` raised by this coroutine
    /// while it runs on this thread; the coroutine is alive; forgetting
    /// its frames without dropping them is acceptable (no lock held that
    /// anything will wait for, no thread started inside still running,
    /// not unwinding).
    ///
    /// # Examples
    /// ```
    /// use std::cell::Cell;
    /// use swapctx::coroutine::trap::{self, TrapHandle};
    /// use swapctx::{Coroutine, CoroutineResult};
    ///
    /// thread_local! {
    ///     static RUNNING: Cell<Option<TrapHandle<Result<u8, &'static str>>>> =
    ///         const { Cell::new(None) };
    /// }
    ///
    /// extern "C" fn on_fault(_sig: i32, _info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    ///     if let Some(h) = RUNNING.with(|r| r.get()) {
    ///         // SAFETY: a synchronous SIGILL of the running coroutine, whose
    ///         // frames hold nothing that must be dropped.
    ///         if unsafe { h.return_from_trap(uc, || Err("illegal instruction")) } {
    ///             return;
    ///         }
    ///     }
    ///     // Not ours: the default action (the fault happens again and kills).
    ///     unsafe { libc::signal(libc::SIGILL, libc::SIG_DFL) };
    /// }
    ///
    /// trap::install_overflow_handler();
    /// unsafe {
    ///     let mut sa: libc::sigaction = std::mem::zeroed();
    ///     sa.sa_sigaction = on_fault as usize;
    ///     sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    ///     libc::sigaction(libc::SIGILL, &sa, std::ptr::null_mut());
    /// }
    ///
    /// let mut co = Coroutine::<(), (), Result<u8, &'static str>>::new(|_, ()| {
    ///     // An illegal instruction on every architecture.
    ///     unsafe {
    ///         #[cfg(target_arch = "x86_64")]
    ///         std::arch::asm!("ud2");
    ///         #[cfg(target_arch = "aarch64")]
    ///         std::arch::asm!("udf #0");
    ///         #[cfg(target_arch = "riscv64")]
    ///         std::arch::asm!("unimp");
    ///         #[cfg(target_arch = "powerpc64")]
    ///         std::arch::asm!(".long 0");
    ///         #[cfg(target_arch = "s390x")]
    ///         std::arch::asm!(".short 0");
    ///         #[cfg(target_arch = "x86")]
    ///         std::arch::asm!("ud2");
    ///         #[cfg(target_arch = "arm")]
    ///         std::arch::asm!("udf #0");
    ///     }
    ///     Ok(1)
    /// });
    /// RUNNING.with(|r| r.set(Some(co.trap_handle())));
    /// assert_eq!(co.resume(()), CoroutineResult::Return(Err("illegal instruction")));
    /// RUNNING.with(|r| r.set(None));
    /// assert!(co.is_done());
    /// ```
    #[must_use = "false means the context was not changed: the handler must handle the fault itself"]
    pub unsafe fn return_from_trap<F>(&self, ucontext: *mut c_void, f: F) -> bool
    where
        F: FnOnce() -> R + 'static,
    {
        let uc = ucontext.cast::<libc::ucontext_t>();
        // SAFETY: per the contract, `ucontext` is the handler's.
        let sp = unsafe { arch::trap_sp(uc) };
        if !self.contains(sp) {
            return false;
        }
        // The closure (with where to leave the result) goes right under the
        // slots, over the entry's dead frames; it must stay above the
        // interrupted stack pointer, under which the handler itself may be
        // running.
        let Some(at) = self.slots.checked_sub(mem::size_of::<TrapCall<F, R>>()) else {
            return false;
        };
        let at = at & !(mem::align_of::<TrapCall<F, R>>() - 1);
        if at <= sp {
            return false;
        }
        let entry_sp = at & !(arch::STACK_ALIGN - 1);
        // SAFETY: `[at, slots)` lies on the coroutine's stack above the
        // interrupted stack pointer: only the coroutine's own frames are
        // there, which the contract lets us give up (the handler and the
        // signal frame are below that stack pointer, or on another stack).
        // The trap entry reads `f` back exactly once. The registers make
        // the handler's return enter `trap_entry::<F, R>(at, slots)` on
        // the coroutine's stack below `at`.
        unsafe {
            ptr::write(
                at as *mut TrapCall<F, R>,
                TrapCall {
                    finish: self.finish as *mut u8,
                    f,
                    _result: PhantomData,
                },
            );
            let entry: unsafe extern "C" fn(*mut u8, *mut u8) -> ! = trap_entry::<F, R>;
            arch::set_trap_return(uc, entry_sp, self.slots, entry as usize, at);
        }
        true
    }
}

/// Where a trapped coroutine continues after the handler (through
/// `swapctx_trap_trampoline`): runs the trap's closure and makes the
/// coroutine's last switch with a `Finish::TrappedReturn` (or
/// `TrappedPanic`).
///
/// # Safety
/// Entered only as `return_from_trap` arranged: `data` holds a
/// `TrapCall<F, R>` that nothing else reads, `slots` are the coroutine's,
/// and its resumer is suspended in `resume`.
unsafe extern "C" fn trap_entry<F, R>(data: *mut u8, slots: *mut u8) -> !
where
    F: FnOnce() -> R,
{
    if std::thread::panicking() {
        crate::fatal(format_args!(
            "swapctx: a coroutine faulted while it was unwinding (its thread was panicking) \
             and a trap handler stopped it; the thread's panic state cannot be repaired, so \
             the process aborts (see swapctx::coroutine::trap, \"The contract\")"
        ));
    }
    // SAFETY: per the contract, `data` holds the closure and the place of
    // the Finish.
    let TrapCall { finish: at, f, .. } = unsafe { ptr::read(data.cast::<TrapCall<F, R>>()) };
    let finish: Finish<R> = match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Finish::TrappedReturn(r),
        Err(payload) => Finish::TrappedPanic(payload),
    };
    let finish = ManuallyDrop::new(finish);
    let slots = slots.cast::<Slots>();
    // SAFETY: the last switch, as in `coroutine_entry`: `this` is nulled so
    // the resumer reads the Finish<R> (or its address) from the mailbox,
    // and moves it out at once; the resumer marks the coroutine abandoned,
    // so nothing resumes it.
    unsafe {
        post::<Finish<R>, FINISH_MAX>(at, &finish);
        (*slots).this = ptr::null_mut();
        arch::finish(slots.cast())
    }
}

/// What `return_from_trap` leaves for `trap_entry` on the coroutine's stack.
struct TrapCall<F, R> {
    /// The mailbox slot where the last switch posts its result.
    finish: *mut u8,
    f: F,
    _result: PhantomData<fn() -> R>,
}

/// Installs swapctx's stack-overflow handler now (it is otherwise
/// installed with the first [`Stack`]), and gives the calling thread an
/// alternate signal stack if it has none.
///
/// A `SIGSEGV` handler installed *after* this runs *before* swapctx's,
/// and can recover from an overflow of a coroutine's stack with
/// [`TrapHandle::return_from_trap`]; for a fault it does not handle it
/// should call the handler it replaced (which reports an overflow and
/// aborts, or passes the fault on).
///
/// ```
/// swapctx::coroutine::trap::install_overflow_handler();
/// ```
pub fn install_overflow_handler() {
    crate::overflow::install_handler();
}

impl<I, Y, R> Coroutine<I, Y, R> {
    /// A [`TrapHandle`] for this coroutine, for a signal handler to stop it
    /// after a fault (see [`trap`](self)).
    ///
    /// ```
    /// use swapctx::Coroutine;
    ///
    /// let co = Coroutine::<(), (), u8>::new(|_, ()| 1);
    /// let h = co.trap_handle();
    /// assert!(h.contains(co.stack().bottom() as usize));
    /// ```
    pub fn trap_handle(&self) -> TrapHandle<R> {
        let stack = self.inner.stack();
        TrapHandle {
            slots: self.inner.slots as usize,
            finish: self.inner.finish_slot() as usize,
            lo: stack.guard().0 as usize,
            hi: stack.top() as usize,
            _marker: PhantomData,
        }
    }

    /// As [`into_stack`](Coroutine::into_stack), but a coroutine that was
    /// stopped by a trap (or, with `panic = "abort"`, could not be unwound)
    /// gives back its own stack instead of leaking it, with the values on
    /// its abandoned frames never dropped.
    ///
    /// # Safety
    /// Nothing may need the values left on the coroutine's abandoned frames
    /// any more: none of them is pinned (`Pin` promises a drop before the
    /// memory is reused), no thread started inside the coroutine still
    /// runs, nothing outside holds a pointer into them. Guest state kept in
    /// plain memory by an interpreter or a JIT is the intended case.
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult};
    ///
    /// let mut co = Coroutine::<(), (), u8>::new(|_, ()| 1);
    /// assert_eq!(co.resume(()), CoroutineResult::Return(1));
    /// // SAFETY: the coroutine returned: nothing was abandoned.
    /// let stack = unsafe { co.into_stack_after_trap() };
    /// let mut again = Coroutine::<(), (), u8>::with_stack(stack, |_, ()| 2);
    /// assert_eq!(again.resume(()), CoroutineResult::Return(2));
    /// ```
    #[track_caller]
    pub unsafe fn into_stack_after_trap(self) -> Stack {
        let mut inner = self.inner;
        inner.finish();
        if inner.state == State::Abandoned {
            // Per the contract, the embedder vouches for what is left there.
            inner.state = State::Returned;
        }
        inner.into_stack()
    }
}
