//! Safe, asymmetric coroutines on top of the raw switch.
//!
//! A [`Coroutine<Input, Yield, Return>`](Coroutine) runs a closure on its
//! own [`Stack`]. [`Coroutine::resume`] sends an `Input` in and runs the
//! closure until it calls [`Yielder::suspend`] (which hands a `Yield` out
//! and waits for the next `Input`) or returns its `Return`.
//!
//! # How one resume works
//!
//! The top of every coroutine stack holds two stack-pointer slots and the
//! closure:
//!
//! ```text
//!   stack top ──►  +-----------------------------+
//!                  | the closure F (moved here)  |
//!   slots ─────►   +-----------------------------+  16-byte aligned
//!                  | this: coroutine's saved sp  |  +8
//!                  | link: resumer's saved sp    |  +0
//!                  +-----------------------------+  the coroutine's frames
//!                  |  ...                        |  grow down from here
//! ```
//!
//! `resume` saves the resumer into `link` and loads `this`; `suspend` saves
//! the coroutine into `this` and loads `link`. The word that crosses each
//! switch is a pointer to a value on the sender's stack: the input going
//! in (or 0, "unwind", from drop), the yielded value or a `Finish` (return,
//! panic, unwound) coming out; the last switch nulls `this`, which is how
//! the resumer tells a `Finish` from a yield. The receiver moves the value
//! out with `ptr::read`, the sender forgets it. Nothing is allocated on
//! this path, and nothing but the value is written.
//!
//! # Panics and drop
//!
//! The closure runs inside `catch_unwind` on the coroutine's own stack. A
//! panic unwinds the coroutine's frames there, crosses back as an event and
//! is re-raised from `resume` with the original payload: no unwinding ever
//! crosses the assembly.
//!
//! Dropping a suspended coroutine resumes it with "unwind": its pending
//! `suspend` starts an unwind (with a private payload and without the
//! panic hook), so every destructor on its stack runs, and the last switch
//! reports back. If the body catches that unwind (`catch_unwind` around
//! `suspend`) and suspends again, drop drops the yielded value and sends
//! "unwind" again, so the clean-up cannot be swallowed; a body that does so
//! in an endless loop is aborted with a message after 64 rounds.
//!
//! With `panic = "abort"` there is no unwinding: dropping a suspended
//! coroutine then frees its stack without running the destructors of the
//! values on it (they are leaked, as by `mem::forget`), and a panic inside a
//! coroutine aborts the process as it would anywhere.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::ptr;
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use crate::arch;
use crate::raw::{Context, EntryFn};
use crate::stack::Stack;
use crate::tools;

/// What [`Coroutine::resume`] gives back: the coroutine either suspended
/// with a value, or returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoroutineResult<Y, R> {
    /// The coroutine called [`Yielder::suspend`] with this value and waits
    /// to be resumed.
    Yield(Y),
    /// The coroutine's closure returned this value; it is done.
    Return(R),
}

impl<Y, R> CoroutineResult<Y, R> {
    /// The yielded value, if any.
    pub fn as_yield(&self) -> Option<&Y> {
        match self {
            CoroutineResult::Yield(y) => Some(y),
            CoroutineResult::Return(_) => None,
        }
    }
    /// The returned value, if any.
    pub fn as_return(&self) -> Option<&R> {
        match self {
            CoroutineResult::Yield(_) => None,
            CoroutineResult::Return(r) => Some(r),
        }
    }
}

/// The two stack-pointer slots at the top of a coroutine stack.
#[repr(C)]
struct Slots {
    /// The resumer's saved stack pointer, while the coroutine runs.
    link: *mut u8,
    /// The coroutine's saved stack pointer, while it is suspended.
    this: *mut u8,
}

const _: () = assert!(mem::size_of::<Slots>() == arch::TOP_RESERVED);

/// Sent out of the coroutine by its last switch. (A yield sends a pointer
/// to the yielded value itself; the resumer tells the two apart by the
/// coroutine's `this` slot, which the last switch leaves null.)
enum Finish<R> {
    Return(R),
    Panic(Box<dyn Any + Send + 'static>),
    Unwound,
}

/// The payload of the unwind that drop starts inside a coroutine.
struct ForcedUnwind;

/// After this many rounds of the forced unwind (a body that catches it and
/// suspends again, over and over), the process aborts.
const MAX_UNWIND_ROUNDS: u32 = 64;

/// The word a resume sends in place of a pointer to the input: "unwind".
const UNWIND: usize = 0;

/// Variance and auto traits of a Yielder: takes `Y`, gives `I`; not Send,
/// not Sync.
type YielderMarker<I, Y> = (fn(Y) -> I, *mut ());

/// Of a coroutine: borrows for `'a`; takes `I`, gives `Y` and `R`; not
/// Send, not Sync.
type CoroutineMarker<'a, I, Y, R> = (&'a mut (), *mut (), fn(I) -> (Y, R));

/// The coroutine side's handle: passed to the closure, used to suspend.
///
/// It lives on the coroutine's stack and cannot leave the closure (it is
/// only lent to it), nor cross threads.
pub struct Yielder<I, Y> {
    slots: *mut Slots,
    /// The resumer's stack, for AddressSanitizer's fiber switches.
    resumer: tools::FiberStack,
    _marker: PhantomData<YielderMarker<I, Y>>,
}

impl<I, Y> Yielder<I, Y> {
    /// Hands `value` to the resumer (as [`CoroutineResult::Yield`]) and
    /// suspends the coroutine; returns the input of the next
    /// [`Coroutine::resume`].
    ///
    /// If the coroutine is being dropped instead of resumed, this does not
    /// return: it unwinds the coroutine's stack so its destructors run.
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult};
    ///
    /// let mut adder = Coroutine::new(|y, mut total: i64| loop {
    ///     total += y.suspend(total);
    /// });
    /// assert_eq!(adder.resume(1), CoroutineResult::<i64, ()>::Yield(1));
    /// assert_eq!(adder.resume(10), CoroutineResult::Yield(11));
    /// assert_eq!(adder.resume(-5), CoroutineResult::Yield(6));
    /// ```
    #[inline]
    pub fn suspend(&self, value: Y) -> I {
        let value = ManuallyDrop::new(value);
        // SAFETY: `slots` is at the top of our own live stack; `link` holds
        // the resumer, suspended in `resume`, which moves the value out
        // before anything else and sends back a pointer to its input (which
        // we move out at once: it forgets it) or UNWIND.
        unsafe {
            let fake = tools::start_switch(&self.resumer);
            let p = arch::suspend(self.slots.cast(), &*value as *const Y as usize);
            tools::finish_switch(fake, Some(&self.resumer));
            if p == UNWIND {
                forced_unwind();
            }
            ptr::read(p as *const I)
        }
    }
}

/// Starts the unwind that drop asked for: no panic hook, a private payload.
#[cold]
#[inline(never)]
fn forced_unwind() -> ! {
    panic::resume_unwind(Box::new(ForcedUnwind))
}

/// Where the closure and the slots go at the top of a stack, for a closure
/// type `F`: `(closure, slots)`. `slots` is 16-byte aligned and is also the
/// top that the first frame is built under.
fn layout<F>(top: *mut u8) -> (*mut F, *mut Slots) {
    let top = top as usize;
    let closure = (top - mem::size_of::<F>()) & !(mem::align_of::<F>() - 1);
    (closure as *mut F, slots_below(closure as *mut u8))
}

/// The slots under a closure placed by [`layout`].
fn slots_below(closure: *mut u8) -> *mut Slots {
    ((closure as usize & !(arch::STACK_ALIGN - 1)) - arch::TOP_RESERVED) as *mut Slots
}

/// The entry function of every coroutine with closure type `F`.
///
/// # Safety
/// Only the trampoline calls it, for a context made by
/// `RawCoroutine::with_stack`: `data` points at the closure at the top of
/// the stack and `value` at the first input (or is UNWIND).
unsafe extern "C" fn coroutine_entry<F, I, Y, R>(value: usize, data: *mut c_void) -> !
where
    F: FnOnce(&Yielder<I, Y>, I) -> R,
{
    let slots = slots_below(data.cast());
    // SAFETY: per the contract, the closure was moved to the stack by
    // with_stack and is read exactly once, here.
    let f = unsafe { ptr::read(data as *const F) };
    let yielder = Yielder {
        slots,
        resumer: tools::FiberStack::default(),
        _marker: PhantomData,
    };
    // First thing on the new stack: tell ASan we arrived (and from where).
    tools::finish_switch(tools::FakeStack::default(), Some(&yielder.resumer));
    let finish = if value == UNWIND {
        // Dropped before it ever ran: drop the closure (a panic in its drop
        // must not unwind into the trampoline).
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(f)));
        Finish::Unwound
    } else {
        // SAFETY: the first resume's input, which the resumer forgets.
        let input = unsafe { ptr::read(value as *const I) };
        match panic::catch_unwind(AssertUnwindSafe(|| f(&yielder, input))) {
            Ok(r) => Finish::Return(r),
            Err(payload) if payload.is::<ForcedUnwind>() => Finish::Unwound,
            Err(payload) => Finish::Panic(payload),
        }
    };
    let finish = ManuallyDrop::new(finish);
    // SAFETY: the last switch: `this` is nulled so the resumer knows the
    // message is a Finish<R>, which it moves out before this stack is
    // reused or freed; nothing resumes this coroutine again.
    unsafe {
        (*slots).this = ptr::null_mut();
        tools::last_switch(&yielder.resumer);
        arch::finish(slots.cast(), &*finish as *const Finish<R> as usize)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Fresh (the closure sits at the top of the stack) or suspended in
    /// `Yielder::suspend`: both are resumed the same way, so `resume` has
    /// nothing to record on the way.
    Live,
    /// The closure returned.
    Returned,
    /// The closure panicked (the panic was re-raised from `resume`).
    Panicked,
}

/// The lifetime-generic core shared by [`Coroutine`] (`'static`) and
/// [`ScopedCoroutine`] (borrowing from a [`scope`]).
struct RawCoroutine<'a, I, Y, R> {
    stack: ManuallyDrop<Stack>,
    slots: *mut Slots,
    state: State,
    /// `'a`: what the closure borrows; `*mut ()`: not Send, not Sync.
    _marker: PhantomData<CoroutineMarker<'a, I, Y, R>>,
}

impl<'a, I, Y, R> RawCoroutine<'a, I, Y, R> {
    #[inline]
    fn with_stack<F>(stack: Stack, f: F) -> Self
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'a,
    {
        crate::overflow::ensure_altstack_once();
        let top = stack.top();
        let need = mem::size_of::<F>()
            + mem::align_of::<F>()
            + 2 * Context::INITIAL_FRAME_SIZE
            + arch::COROUTINE_INIT_SIZE;
        // Every stack has at least `MIN_SIZE` bytes, so for the usual small
        // closure this is decided at compile time, without reading the
        // stack's size.
        if need > Stack::MIN_SIZE / 2 && need > stack.size() / 2 {
            panic!(
                "swapctx: a coroutine's closure of {} bytes does not fit a {}-byte stack; \
                 box what it captures or use a bigger stack",
                mem::size_of::<F>(),
                stack.size()
            );
        }
        let (closure, slots) = layout::<F>(top);
        // SAFETY: `closure`, the slots and the first frame under them lie
        // inside the stack (checked above) and are ours; the entry reads the
        // closure back exactly once.
        unsafe {
            closure.write(f);
            let entry: EntryFn = coroutine_entry::<F, I, Y, R>;
            let sp = arch::init_coroutine(slots.cast(), entry as usize, closure as usize);
            slots.write(Slots {
                link: ptr::null_mut(),
                this: sp,
            });
        }
        RawCoroutine {
            stack: ManuallyDrop::new(stack),
            slots,
            state: State::Live,
            _marker: PhantomData,
        }
    }

    #[inline]
    fn resume(&mut self, input: I) -> CoroutineResult<Y, R> {
        if self.state != State::Live {
            self.bad_resume();
        }
        // `&mut self` is held until the coroutine switches back, so no
        // other resume can reach it meanwhile: no "running" state needed.
        let input = ManuallyDrop::new(input);
        // SAFETY: `this` holds the coroutine's saved stack pointer (fresh or
        // suspended, per the state check), on a stack we own; we save
        // ourselves into `link`, where its suspend or last switch finds us.
        // The coroutine moves the input out. The pointer that comes back is
        // a Y (the coroutine still has a `this`) or a Finish<R> (its last
        // switch nulled `this`); either is moved out at once and forgotten
        // by the coroutine.
        unsafe {
            let slots = self.slots;
            let p = self.enter(&*input as *const I as usize);
            if !(*slots).this.is_null() {
                return CoroutineResult::Yield(ptr::read(p as *const Y));
            }
            match ptr::read(p as *const Finish<R>) {
                Finish::Return(r) => {
                    self.state = State::Returned;
                    CoroutineResult::Return(r)
                }
                Finish::Panic(payload) => {
                    self.state = State::Panicked;
                    panic::resume_unwind(payload)
                }
                Finish::Unwound => {
                    // Only a dropped coroutine unwinds; a resume that gets
                    // here means the forced unwind escaped somehow.
                    self.state = State::Panicked;
                    panic!("swapctx: a coroutine unwound without being dropped")
                }
            }
        }
    }

    /// Switches into the coroutine with `value`; returns what it sends
    /// back. Every way in goes through here.
    ///
    /// # Safety
    /// The coroutine must be live (fresh or suspended).
    #[inline(always)]
    unsafe fn enter(&mut self, value: usize) -> usize {
        let fake = tools::start_switch(&tools::FiberStack::of(&self.stack));
        // SAFETY: per the contract, `this` holds a live coroutine's saved
        // stack pointer on the stack we own.
        let p = unsafe { arch::resume(self.slots.cast(), value) };
        tools::finish_switch(fake, None);
        p
    }

    #[cold]
    #[inline(never)]
    fn bad_resume(&self) -> ! {
        match self.state {
            State::Returned => panic!("resume called on a coroutine that has already returned"),
            _ => panic!("resume called on a coroutine that has panicked"),
        }
    }

    fn is_done(&self) -> bool {
        matches!(self.state, State::Returned | State::Panicked)
    }

    fn saved_stack_pointer(&self) -> Option<*const u8> {
        if self.state != State::Live || self.is_fresh() {
            return None;
        }
        // SAFETY: the slots are at the top of our live stack.
        Some(unsafe { (*self.slots).this }.cast_const())
    }

    /// True before the first resume: the coroutine's saved stack pointer
    /// is still the one `init_coroutine` made (a suspended coroutine's is
    /// always deeper in the stack, below the entry's frames).
    fn is_fresh(&self) -> bool {
        // SAFETY: the slots are at the top of our live stack.
        self.state == State::Live
            && unsafe { (*self.slots).this }
                == self
                    .slots
                    .cast::<u8>()
                    .wrapping_sub(arch::COROUTINE_INIT_SIZE)
    }

    /// Makes sure nothing of the closure is left on the stack: drops a
    /// fresh closure, unwinds a suspended one.
    #[inline]
    fn finish(&mut self) {
        if self.state != State::Live {
            return;
        }
        self.finish_live();
    }

    #[cold]
    #[inline(never)]
    fn finish_live(&mut self) {
        if self.is_fresh() {
            self.state = State::Returned;
            // SAFETY: the coroutine is fresh: its entry, given UNWIND as its
            // first input, drops the closure and makes its last switch
            // with a Finish<R> (Unwound), which we move out and drop.
            unsafe {
                let p = self.enter(UNWIND);
                drop(ptr::read(p as *const Finish<R>));
            }
        } else {
            self.force_unwind();
        }
    }

    #[cfg(panic = "unwind")]
    fn force_unwind(&mut self) {
        self.state = State::Returned;
        for _ in 0..MAX_UNWIND_ROUNDS {
            // SAFETY: as in `resume`: the coroutine is suspended; its
            // suspend turns UNWIND into an unwind of its stack. That ends in
            // its last switch (a Finish<R>), or, if the body caught the
            // unwind and suspended again, in a yield (a Y), which we drop
            // and answer with UNWIND once more.
            unsafe {
                let slots = self.slots;
                let p = self.enter(UNWIND);
                if !(*slots).this.is_null() {
                    let y = ptr::read(p as *const Y);
                    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(y)));
                    continue;
                }
                let finish = ptr::read(p as *const Finish<R>);
                // A body that caught the unwind may have returned a value
                // or panicked with another payload; dropping either must
                // not panic out of drop.
                let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(finish)));
                return;
            }
        }
        crate::fatal(format_args!(
            "swapctx: a coroutine that is being dropped caught the unwind that cleans up \
             its stack and suspended again, {MAX_UNWIND_ROUNDS} times; it cannot be dropped \
             cleanly (do not call suspend in a loop around catch_unwind)"
        ));
    }

    #[cfg(not(panic = "unwind"))]
    fn force_unwind(&mut self) {
        // No unwinding: the values on the stack are leaked with it.
        self.state = State::Returned;
    }

    fn stack(&self) -> &Stack {
        &self.stack
    }

    fn into_stack(mut self) -> Stack {
        self.finish();
        // SAFETY: `self` is forgotten right after, so the stack is taken
        // exactly once and Drop does not run.
        let stack = unsafe { ManuallyDrop::take(&mut self.stack) };
        mem::forget(self);
        stack
    }
}

impl<I, Y, R> Drop for RawCoroutine<'_, I, Y, R> {
    #[inline]
    fn drop(&mut self) {
        self.finish();
        // SAFETY: dropped exactly once, here; nothing runs on it any more.
        unsafe { ManuallyDrop::drop(&mut self.stack) };
    }
}

/// A stackful coroutine: a closure running on its own [`Stack`], which can
/// suspend anywhere, however deep in its own calls.
///
/// `I` is what [`resume`](Coroutine::resume) sends in, `Y` what
/// [`Yielder::suspend`] hands out, `R` what the closure returns. The first
/// `resume`'s input is the closure's second argument; every later one is
/// the return value of the `suspend` the coroutine is waiting in.
///
/// # Examples
/// ```
/// use swapctx::{Coroutine, CoroutineResult, Yielder};
///
/// let mut co: Coroutine<i32, i32, &'static str> =
///     Coroutine::new(|y: &Yielder<i32, i32>, first: i32| {
///         let second = y.suspend(first * 2);
///         let _ = y.suspend(second + 1);
///         "done"
///     });
/// assert!(matches!(co.resume(5), CoroutineResult::Yield(10)));
/// assert!(matches!(co.resume(7), CoroutineResult::Yield(8)));
/// assert!(matches!(co.resume(0), CoroutineResult::Return("done")));
/// assert!(co.is_done());
/// ```
///
/// # Panics and drop
/// A panic inside the closure unwinds the coroutine's stack and is
/// re-raised from `resume` with its original payload; the coroutine is
/// then done. Dropping a coroutine that is suspended unwinds its stack so
/// that every destructor on it runs (see the [module docs](crate::coroutine)
/// for `catch_unwind` inside the body and for `panic = "abort"`).
///
/// # Not `Send`
/// A coroutine stays on the thread that made it. Code in the coroutine may
/// have computed the address of a thread-local before a `suspend` and use
/// it after: the compiler is free to cache it, as nothing in a function
/// call says "you may now be on another thread". Resumed on another thread,
/// that code would touch the first thread's thread-locals. So `Coroutine`
/// is `!Send` (and `!Sync`):
///
/// ```compile_fail
/// let co = swapctx::Coroutine::<(), (), ()>::new(|_, ()| {});
/// std::thread::spawn(move || drop(co));
/// ```
pub struct Coroutine<I, Y, R> {
    inner: RawCoroutine<'static, I, Y, R>,
}

impl<I, Y, R> Coroutine<I, Y, R> {
    /// Makes a coroutine on a new stack of [`Stack::DEFAULT_SIZE`].
    ///
    /// # Panics
    /// If the stack cannot be had (the kernel refuses the mapping), with the
    /// [`Error`](crate::Error)'s message, as `std::thread::spawn` does; use
    /// [`with_stack`](Coroutine::with_stack) to handle that error.
    pub fn new<F>(f: F) -> Self
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'static,
    {
        Self::with_stack(default_stack(), f)
    }

    /// Makes a coroutine on `stack`.
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Coroutine, Stack};
    ///
    /// let co2 = Coroutine::<(), (), ()>::with_stack(Stack::new(64 * 1024)?, |_y, ()| {});
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn with_stack<F>(stack: Stack, f: F) -> Self
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'static,
    {
        Coroutine {
            inner: RawCoroutine::with_stack(stack, f),
        }
    }

    /// Runs the coroutine until it suspends or returns.
    ///
    /// # Panics
    /// - If the coroutine has already returned or panicked (the message
    ///   says which);
    /// - with the coroutine's own panic payload, if it panics.
    #[inline]
    pub fn resume(&mut self, input: I) -> CoroutineResult<Y, R> {
        self.inner.resume(input)
    }

    /// True once the closure has returned or panicked.
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// True before the first `resume`.
    pub fn is_fresh(&self) -> bool {
        self.inner.is_fresh()
    }

    /// The stack the coroutine runs on.
    pub fn stack(&self) -> &Stack {
        self.inner.stack()
    }

    /// The stack pointer the coroutine saved when it last suspended, or
    /// `None` if it is fresh or done: for debuggers (see
    /// `docs/debugging.md`, gdb's `swapctx-bt`). The words there are the
    /// address it resumes at and its saved frame registers (x86_64: rbx,
    /// rbp; aarch64: x29, x19 at +16 and +24).
    pub fn saved_stack_pointer(&self) -> Option<*const u8> {
        self.inner.saved_stack_pointer()
    }

    /// Finishes the coroutine (drops a fresh closure, unwinds a suspended
    /// one) and gives its stack back for reuse.
    ///
    /// ```
    /// use swapctx::Coroutine;
    ///
    /// let mut co = Coroutine::<(), (), u8>::new(|_, ()| 1);
    /// co.resume(());
    /// let again = Coroutine::<(), (), u8>::with_stack(co.into_stack(), |_, ()| 2);
    /// ```
    pub fn into_stack(self) -> Stack {
        self.inner.into_stack()
    }
}

impl<I, Y, R> core::fmt::Debug for Coroutine<I, Y, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Coroutine")
            .field("state", &self.inner.state)
            .field("stack", self.inner.stack())
            .finish()
    }
}

fn default_stack() -> Stack {
    Stack::with_default_size()
        .unwrap_or_else(|e| panic!("swapctx: failed to allocate a coroutine stack: {e}"))
}

/// A generator: a coroutine that yields `T`s, as an [`Iterator`].
///
/// # Examples
/// ```
/// use swapctx::{Generator, Yielder};
///
/// let evens: Vec<u64> = Generator::new(|y: &Yielder<(), u64>| {
///     for i in 0..5 { y.suspend(i * 2); }
/// }).collect();
/// assert_eq!(evens, [0, 2, 4, 6, 8]);
/// ```
///
/// A panic inside the generator is re-raised from `next`; after that, and
/// after the closure returns, `next` gives `None`.
pub struct Generator<T> {
    co: Coroutine<(), T, ()>,
}

impl<T> Generator<T> {
    /// A generator on a new stack of [`Stack::DEFAULT_SIZE`].
    ///
    /// # Panics
    /// If the stack cannot be had, as [`Coroutine::new`].
    pub fn new<F>(f: F) -> Self
    where
        F: FnOnce(&Yielder<(), T>) + 'static,
    {
        Self::with_stack(default_stack(), f)
    }

    /// A generator on `stack`.
    pub fn with_stack<F>(stack: Stack, f: F) -> Self
    where
        F: FnOnce(&Yielder<(), T>) + 'static,
    {
        Generator {
            co: Coroutine::with_stack(stack, move |y, ()| f(y)),
        }
    }
}

impl<T> Iterator for Generator<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.co.is_done() {
            return None;
        }
        match self.co.resume(()) {
            CoroutineResult::Yield(v) => Some(v),
            CoroutineResult::Return(()) => None,
        }
    }
}

impl<T> core::iter::FusedIterator for Generator<T> {}

impl<T> core::fmt::Debug for Generator<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Generator").field("co", &self.co).finish()
    }
}

// ---------------------------------------------------------------------------
// Scoped coroutines: closures that borrow from their caller.

/// Runs `f` with a [`Scope`] in which coroutines and generators may borrow
/// anything that outlives the call, in the manner of `std::thread::scope`.
///
/// # Examples
/// ```
/// let words = vec!["stack", "ful"];
/// let joined: String = swapctx::scope(|s| {
///     s.generator(|y| for w in &words { y.suspend(*w) }).collect()
/// });
/// assert_eq!(joined, "stackful");
/// assert_eq!(words.len(), 2); // still ours
/// ```
///
/// # Why this is sound, even with `mem::forget`
/// A [`ScopedCoroutine<'scope, ..>`](ScopedCoroutine) cannot outlive
/// `'scope`, so by the time `scope` returns every one of them was dropped
/// or leaked. Dropped: its drop unwound its stack while the borrows were
/// alive. Leaked (`mem::forget`): it can never run again, since only its
/// handle could resume it, and its stack, which owns the mapping, is leaked
/// with it: the memory is never unmapped or reused. So nothing on that
/// stack ever reads a borrow after the scope, and values pinned on it stay
/// where they are forever, as `Pin` demands. (This is why a coroutine owns
/// its stack instead of borrowing one: a borrowed stack could be reused
/// after a `forget`, under the feet of the pinned values on it.) Unlike
/// `std::thread::scope`, nothing has to be joined: a coroutine only runs
/// inside `resume`, on the caller's thread.
pub fn scope<'env, T>(f: impl for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T) -> T {
    let scope = Scope {
        _scope: PhantomData,
        _env: PhantomData,
    };
    f(&scope)
}

/// Where scoped coroutines are made; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<'scope> Scope<'scope, '_> {
    /// A coroutine whose closure may borrow from outside the scope, on a
    /// new default-size stack.
    ///
    /// # Panics
    /// If the stack cannot be had, as [`Coroutine::new`].
    pub fn coroutine<I, Y, R, F>(&'scope self, f: F) -> ScopedCoroutine<'scope, I, Y, R>
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'scope,
    {
        self.coroutine_with_stack(default_stack(), f)
    }

    /// As [`coroutine`](Scope::coroutine), on `stack`.
    pub fn coroutine_with_stack<I, Y, R, F>(
        &'scope self,
        stack: Stack,
        f: F,
    ) -> ScopedCoroutine<'scope, I, Y, R>
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'scope,
    {
        ScopedCoroutine {
            inner: RawCoroutine::with_stack(stack, f),
        }
    }

    /// A generator whose closure may borrow from outside the scope.
    ///
    /// # Panics
    /// If the stack cannot be had, as [`Coroutine::new`].
    pub fn generator<T, F>(&'scope self, f: F) -> ScopedGenerator<'scope, T>
    where
        F: FnOnce(&Yielder<(), T>) + 'scope,
    {
        ScopedGenerator {
            co: self.coroutine(move |y, ()| f(y)),
        }
    }
}

/// A coroutine made in a [`scope`]; like [`Coroutine`], but its closure may
/// borrow for `'scope`.
///
/// ```
/// use swapctx::CoroutineResult;
///
/// let mut total = 0;
/// swapctx::scope(|s| {
///     let mut acc = s.coroutine(|y, mut x: i32| loop {
///         total += x;
///         x = y.suspend(());
///     });
///     for i in 1..=4 {
///         assert_eq!(acc.resume(i), CoroutineResult::<(), ()>::Yield(()));
///     }
/// });
/// assert_eq!(total, 10);
/// ```
pub struct ScopedCoroutine<'scope, I, Y, R> {
    inner: RawCoroutine<'scope, I, Y, R>,
}

impl<I, Y, R> ScopedCoroutine<'_, I, Y, R> {
    /// As [`Coroutine::resume`].
    ///
    /// # Panics
    /// As [`Coroutine::resume`].
    #[inline]
    pub fn resume(&mut self, input: I) -> CoroutineResult<Y, R> {
        self.inner.resume(input)
    }

    /// As [`Coroutine::is_done`].
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// As [`Coroutine::stack`].
    pub fn stack(&self) -> &Stack {
        self.inner.stack()
    }

    /// As [`Coroutine::into_stack`].
    pub fn into_stack(self) -> Stack {
        self.inner.into_stack()
    }
}

/// A generator made in a [`scope`]; like [`Generator`], but its closure may
/// borrow for `'scope`.
pub struct ScopedGenerator<'scope, T> {
    co: ScopedCoroutine<'scope, (), T, ()>,
}

impl<T> Iterator for ScopedGenerator<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.co.is_done() {
            return None;
        }
        match self.co.resume(()) {
            CoroutineResult::Yield(v) => Some(v),
            CoroutineResult::Return(()) => None,
        }
    }
}

impl<T> core::iter::FusedIterator for ScopedGenerator<'_, T> {}
