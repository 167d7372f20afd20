//! Safe, asymmetric coroutines and generators.
//!
//! ```
//! use swapctx::{Coroutine, CoroutineResult, Generator};
//!
//! // Values both ways: each resume sends one in, each suspend hands one out.
//! let mut doubler = Coroutine::new(|y, mut x: u32| loop {
//!     x = y.suspend(x * 2);
//! });
//! assert_eq!(doubler.resume(3), CoroutineResult::<u32, ()>::Yield(6));
//! assert_eq!(doubler.resume(5), CoroutineResult::Yield(10));
//!
//! // A generator is an iterator whose body runs on its own stack.
//! let squares: Vec<u32> = Generator::new(|y| (1..=4).for_each(|i| y.suspend(i * i))).collect();
//! assert_eq!(squares, [1, 4, 9, 16]);
//! ```
//!
//! [`Coroutine`] and [`Generator`] own everything they use (`'static`
//! closures and inputs): they can be kept, moved and leaked like any value.
//! To borrow from the caller instead, make the coroutine in a [`scope`],
//! which owns it and cleans it up before it returns. [What is sound, and
//! why](#what-is-sound-and-why) gives the rules.
//!
//! # How one resume works
//!
//! The top of every coroutine stack holds the closure, a mailbox and two
//! stack-pointer slots:
//!
//! ```text
//!   stack top ──►  +-----------------------------+
//!                  | (scoped: the scope's entry) |
//!                  | the closure F (moved here)  |
//!                  +-----------------------------+
//!                  | the Finish of the last      |  the mailbox
//!                  |   switch                    |
//!                  | the letter: an input or a   |
//!                  |   yielded value             |
//!                  | the unwind word             |  +16
//!   slots ─────►   +-----------------------------+  16-byte aligned
//!                  | this: coroutine's saved sp  |  +8
//!                  | link: resumer's saved sp    |  +0
//!                  +-----------------------------+  the coroutine's frames
//!                  |  ...                        |  grow down from here
//! ```
//!
//! `resume` saves the resumer into `link` and loads `this`; `suspend` saves
//! the coroutine into `this` and loads `link`. Both are inline assembly
//! (`src/arch`), not the raw C-ABI switch of [`raw`](crate::raw): they save
//! only what the compiler cannot keep in other registers. No value crosses
//! in a register: the sender moves it into the mailbox before it switches
//! (the input going in, the yielded value or a `Finish` (return, panic,
//! unwound) coming out), and the receiver moves it out with `ptr::read` at
//! once; drop sets the unwind word instead of sending an input. Both sides
//! keep the slots pointer in a register across the switch, so the mailbox
//! is a fixed offset away. The last switch nulls `this`, which is how the
//! resumer tells a `Finish` from a yield. Nothing is allocated on this
//! path, and nothing but the value is written.
//!
//! # Panics and drop
//!
//! The closure runs inside `catch_unwind` on the coroutine's own stack. A
//! panic unwinds the coroutine's frames there, crosses back as an event and
//! is re-raised from `resume` with the original payload: no unwinding ever
//! crosses the assembly.
//!
//! Dropping a suspended coroutine resumes it with its unwind word set: its
//! pending `suspend` starts an unwind (with a private payload that names
//! the coroutine, and without the panic hook), so every destructor on its
//! stack runs, and the last switch reports back. If the body catches that
//! unwind (`catch_unwind` around `suspend`) and suspends again, drop drops
//! the yielded value and sends "unwind" again, so the clean-up cannot be
//! swallowed; a body that does so in an endless loop is aborted with a
//! message after 64 rounds. An unwind that is not the coroutine's own
//! clean-up (an outer coroutine being dropped while this one ran inside
//! it, see [Nested coroutines](#nested-coroutines)) passes through this
//! coroutine's entry and goes on in whoever resumed it.
//!
//! # What is sound, and why
//!
//! A suspended coroutine is a stack frame that has stopped in the middle.
//! Safe code can leak it (`mem::forget`, an `Rc` cycle) and can start
//! threads inside it that read its locals and its borrows
//! (`std::thread::scope`). The rules below are what keep every safe
//! program free of undefined behaviour; each is pinned by a test
//! (`tests/soundness.rs`) or refused by the compiler (compile-fail doc
//! tests in `src/compile_fail.rs`).
//!
//! - **Leaks.** A [`Coroutine`] or [`Generator`] can be leaked, so nothing
//!   it holds may be a borrow that ends: `new` and `with_stack` require the
//!   closure *and* the input type to be `'static`. A leaked coroutine's
//!   stack is leaked with it (never unmapped, never reused), so threads it
//!   started keep valid memory. A coroutine that borrows is made in a
//!   [`scope`], which owns it: when the scope returns (or unwinds), every
//!   coroutine made in it has been finished, whatever happened to its
//!   handle (dropped, forgotten, put in an `Rc` cycle), the way
//!   `std::thread::scope` joins every thread.
//! - **Dropping** a suspended coroutine unwinds its stack: every destructor
//!   on it runs, exactly as if `suspend` had panicked. A `MutexGuard` held
//!   there therefore *poisons* its mutex, as a thread that panics while
//!   holding it does: the coroutine was stopped half-way through whatever
//!   the lock protects.
//! - **`panic = "abort"`** (and `no_std`, see [Without
//!   `std`](#without-std)): there is no unwinding. Dropping
//!   a suspended [`Coroutine`] then leaks its stack and what is on it (the
//!   memory stays mapped and is never reused, so `Pin`'s guarantee and
//!   threads started inside stay sound); [`abandoned_stacks`] counts them.
//!   [`Coroutine::into_stack`] on such a coroutine gives back a new stack
//!   of the same size instead. A scoped coroutine that is suspended when it
//!   must be dropped cannot be cleaned up at all (its borrows end with the
//!   scope), so the process aborts with a message.
//! - **Unwinding.** A panic inside a coroutine is caught on its own stack
//!   and re-raised from `resume` in the resumer: no unwind crosses the
//!   switch. The standard library keeps its "panicking" state per thread,
//!   not per stack, so a coroutine that suspended from a destructor during
//!   an unwind would hand that state to its resumer
//!   (`std::thread::panicking()` true, mutexes poisoned, a second panic
//!   aborting). [`Yielder::suspend`] therefore refuses to run while the
//!   thread is panicking, with a panic that says so; in a destructor that
//!   does not catch it, that aborts the process, message first. This also
//!   covers a coroutine resumed from a destructor during the *resumer's*
//!   unwind: it runs, and may return, but cannot suspend. A panic payload
//!   whose own `Drop` panics is dropped in turn, and leaked if that keeps
//!   panicking: clean-up never panics out of `drop` or into the switch.
//! - **Threads.** Every handle type is `!Send` and `!Sync`: code in a
//!   coroutine may cache the address of a thread-local across `suspend`.
//!   Threads started inside a coroutine are the coroutine's business; the
//!   rules above keep what they borrow alive until they are joined.
//! - **Signals.** The overflow handler runs on an alternate signal stack,
//!   reads only lock-free data and chains to the handler that was there
//!   before (`docs/05-guard-pages.md`).
//! - **Other stacks.** [`on_stack`] borrows its stack exclusively, so
//!   nothing else runs on it meanwhile. [`Yielder::on_parent_stack`] runs
//!   its closure below the resumer's saved registers; the closure is
//!   `Send`, so it cannot reach the coroutine's `&Yielder` and suspend
//!   while its own frames are on the resumer's stack.
//! - **Traps.** A coroutine stopped by a fault ([`trap`]) is done, and its
//!   frames were not unwound: its stack is leaked, never reused, unless the
//!   embedder vouches for what is left on it (an `unsafe` call).
//!
//! # Without `std`
//!
//! Built with `default-features = false`, the same [`Coroutine`],
//! [`Generator`] and [`Yielder`] run on stacks the embedder brings
//! ([`StackBuf`](crate::StackBuf): a `static` buffer, a region of its own
//! memory, a `Box<[u8]>` with `alloc`), given to `with_stack`. What `std`
//! provides, and what takes its place:
//!
//! - **Unwinding** (`catch_unwind`): there is none. A panic in a coroutine
//!   goes to the embedder's `#[panic_handler]`, which does not return
//!   (`no_std` targets abort on panic; in a program that unwinds anyway,
//!   the unwind stops at the coroutine's `extern "C"` entry, which aborts).
//!   Dropping a suspended coroutine therefore follows the rule for
//!   `panic = "abort"`: its stack is leaked, never reused, and counted by
//!   [`abandoned_stacks`]; [`Coroutine::try_into_stack`] gives `None` for
//!   it. A fresh coroutine's closure is dropped as with `std`.
//! - **`thread::panicking`**, which `suspend` checks with `std`: with no
//!   unwinding, no destructor runs during an unwind, so there is nothing
//!   to check. (In a hosted program that links this build into code that
//!   does unwind, a destructor that suspends during a panic on the
//!   coroutine's stack would hand that state to the resumer, as before the
//!   check existed; resuming it again aborts at the entry.)
//! - **Messages** (`eprintln!` and `abort`): a fatal error goes to the
//!   panic handler with the same text, which does not return.
//! - **The overflow handler** (a guard page and `SIGSEGV`): without a
//!   guard page, a canary at the bottom of each stack, checked at every
//!   switch back to the resumer (see [`crate::memory`]).
//! - **Thread-locals**: none are used; a coroutine's handles are `!Send`
//!   all the same.
//!
//! [`scope`] stays `std`-only: its soundness rests on finishing every
//! coroutine it owns before it returns, which for a suspended one means
//! unwinding its stack; without unwinding, a scope could only abort the
//! program. [`on_stack`] and [`trap`] need `std` too (mapped stacks,
//! signals).
//!
//! # Nested coroutines
//!
//! A coroutine may resume another, and, inside a [`scope`], an inner
//! coroutine may suspend an *outer* one through the outer's `&Yielder`: the
//! outer coroutine then stops with the inner one's frames on top of it.
//! Resuming the outer one continues there. Dropping it unwinds through the
//! inner coroutine's frames too: the inner coroutine ends (as if it had
//! panicked, with no output from the panic hook) and the clean-up goes on
//! in the outer body, as one unwind.

use core::ffi::c_void;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};
#[cfg(feature = "std")]
use std::any::Any;
#[cfg(feature = "std")]
use std::panic::{self, AssertUnwindSafe};

use crate::arch;
use crate::memory::{self, StackMemory};
use crate::raw::{Context, EntryFn};
#[cfg(feature = "std")]
use crate::stack::Stack;
use crate::tools;

#[cfg(feature = "std")]
mod on_stack;
#[cfg(feature = "std")]
mod scope;
// Trap recovery redirects a signal handler's return: Unix only.
#[cfg(all(feature = "std", unix))]
pub mod trap;

#[cfg(feature = "std")]
pub use on_stack::on_stack;
#[cfg(feature = "std")]
pub use scope::{scope, Scope, ScopedCoroutine, ScopedGenerator};

/// What [`Coroutine::resume`] gives back: the coroutine either suspended
/// with a value, or returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use = "a coroutine's result says whether it yielded or returned, and carries the value"]
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

/// The two stack-pointer slots at the top of a coroutine stack (the switch
/// in `src/arch` reads and writes `link` and `this`: `SLOT_*`, one word each).
#[repr(C, align(16))]
struct Slots {
    /// The resumer's saved stack pointer, while the coroutine runs.
    link: *mut u8,
    /// The coroutine's saved stack pointer, while it is suspended.
    this: *mut u8,
}

const _: () = assert!(mem::offset_of!(Slots, link) == arch::SLOT_LINK);
const _: () = assert!(mem::offset_of!(Slots, this) == arch::SLOT_THIS);
const _: () = assert!(mem::size_of::<Slots>() == arch::TOP_RESERVED);

/// Left in the mailbox by the coroutine's last switch (`Mail::finish`). (A
/// yield leaves the yielded value in the letter instead; the resumer tells
/// the two apart by the coroutine's `this` slot, which the last switch
/// leaves null.)
enum Finish<R> {
    Return(R),
    #[cfg(feature = "std")]
    Panic(Box<dyn Any + Send + 'static>),
    Unwound,
    /// Stopped by a trap (`trap.rs`): the trap closure returned this. The
    /// coroutine's frames were abandoned, so its stack is leaked. (Two
    /// variants, not one holding a `thread::Result`, so that `Finish` stays
    /// as small as before: every coroutine's last switch copies it.)
    /// (Traps are Unix only.)
    #[cfg(feature = "std")]
    #[cfg_attr(windows, allow(dead_code))]
    TrappedReturn(R),
    /// Stopped by a trap whose closure panicked with this payload.
    #[cfg(feature = "std")]
    #[cfg_attr(windows, allow(dead_code))]
    TrappedPanic(Box<dyn Any + Send + 'static>),
}

/// The payload of the unwind that drop starts inside a coroutine: it names
/// the coroutine (the address of its slots), so that an unwind passing
/// through another coroutine's entry (see "Nested coroutines") is told
/// apart from that coroutine's own clean-up.
#[cfg(feature = "std")]
struct ForcedUnwind {
    slots: usize,
}

/// After this many rounds of the forced unwind (a body that catches it and
/// suspends again, over and over), the process aborts.
#[cfg(feature = "std")]
#[cfg_attr(not(panic = "unwind"), allow(dead_code))]
const MAX_UNWIND_ROUNDS: u32 = 64;

/// The mailbox, right above a coroutine's slots, through which every value
/// crosses a switch: a resume's input, a suspend's yielded value, and the
/// last switch's `Finish`. Each side writes the value there before it
/// switches and the other side moves it out at once after. The slots
/// register of the switch (`src/arch`) points just below it, so neither
/// side computes or passes an address per switch, and the switch itself
/// carries no value.
///
/// ```text
///   slots + Mail::<I, Y>::finish_offset  the Finish<R> of the last switch
///                                        (or its address, `FINISH_MAX`)
///   slots + Mail::<I, Y>::LETTER         the letter: an I or a Y (or its
///                                        address, `LETTER_MAX`)
///   slots + MAIL_UNWIND                  the unwind word: non-zero once
///                                        drop resumes the coroutine to
///                                        clean it up
///   slots                                link, this (`Slots`)
/// ```
///
/// The `Yielder` knows only `I` and `Y`, so the letter's place depends on
/// them alone; the `Finish<R>` goes above it.
struct Mail<I, Y>(PhantomData<(I, Y)>);

/// The unwind word's offset from the slots: right above them.
const MAIL_UNWIND: usize = mem::size_of::<Slots>();

/// The largest input or yielded value that travels in the letter itself;
/// a bigger one stays in its sender's frame and the letter holds its
/// address (so it is copied once, as a move would, not twice).
const LETTER_MAX: usize = 2 * mem::size_of::<usize>();

/// The largest `Finish<R>` the last switch leaves in the mailbox itself
/// (a return value of up to 7 words on 64-bit targets); a bigger one stays in
/// the entry's frame, which nothing runs on again, and the mailbox holds
/// its address. So a large return value does not make the mailbox large.
const FINISH_MAX: usize = 8 * mem::size_of::<usize>();

impl<I, Y> Mail<I, Y> {
    const LETTER_ALIGN: usize = max(slot_align::<I, LETTER_MAX>(), slot_align::<Y, LETTER_MAX>());
    /// The letter's offset from the slots.
    const LETTER: usize = round_up(MAIL_UNWIND + mem::size_of::<usize>(), Self::LETTER_ALIGN);
    /// The letter's end, from the slots.
    const LETTER_END: usize =
        Self::LETTER + max(slot_size::<I, LETTER_MAX>(), slot_size::<Y, LETTER_MAX>());
    /// The letter of the coroutine whose slots are at `slots`.
    #[inline(always)]
    fn letter(slots: *mut Slots) -> *mut u8 {
        slots.cast::<u8>().wrapping_add(Self::LETTER)
    }

    /// The offset of the `Finish<R>` slot from the slots.
    const fn finish_offset<R>() -> usize {
        round_up(Self::LETTER_END, slot_align::<Finish<R>, FINISH_MAX>())
    }

    /// The whole mailbox, from the slots up, for a coroutine returning `R`.
    const fn span<R>() -> usize {
        Self::finish_offset::<R>() + slot_size::<Finish<R>, FINISH_MAX>()
    }

    /// The alignment the slots need: the stack's, or the letter's or the
    /// `Finish<R>`'s if more (a zero-sized type may ask for any).
    const fn slots_align<R>() -> usize {
        max(
            max(arch::STACK_ALIGN, Self::LETTER_ALIGN),
            slot_align::<Finish<R>, FINISH_MAX>(),
        )
    }

    /// The slot where the last switch of the coroutine whose slots are at
    /// `slots` posts its `Finish<R>` (`post::<_, FINISH_MAX>`).
    #[inline(always)]
    fn finish_slot<R>(slots: *mut Slots) -> *mut u8 {
        slots.cast::<u8>().wrapping_add(Self::finish_offset::<R>())
    }

    /// Where the `Finish<R>` of that last switch is: in the slot, or where
    /// the slot points.
    ///
    /// # Safety
    /// The coroutine has made its last switch, and its stack is still
    /// there, untouched since.
    #[inline(always)]
    unsafe fn finished_at<R>(slots: *mut Slots) -> *mut Finish<R> {
        let slot = Self::finish_slot::<R>(slots);
        if by_value::<Finish<R>, FINISH_MAX>() {
            slot.cast()
        } else {
            // SAFETY: per the contract, the slot holds the address.
            unsafe { slot.cast::<*mut Finish<R>>().read() }
        }
    }
}

/// The unwind word of the coroutine whose slots are at `slots`.
#[inline(always)]
fn unwind_word(slots: *mut Slots) -> *mut usize {
    slots.cast::<u8>().wrapping_add(MAIL_UNWIND).cast()
}

/// A `T` of at most `MAX` bytes travels in its mailbox slot itself; a
/// bigger one by address.
const fn by_value<T, const MAX: usize>() -> bool {
    mem::size_of::<T>() <= MAX
}

/// The size of a mailbox slot for a `T` of at most `MAX` bytes by value.
const fn slot_size<T, const MAX: usize>() -> usize {
    if by_value::<T, MAX>() {
        mem::size_of::<T>()
    } else {
        mem::size_of::<*const T>()
    }
}

/// The alignment of that slot.
const fn slot_align<T, const MAX: usize>() -> usize {
    if by_value::<T, MAX>() {
        mem::align_of::<T>()
    } else {
        mem::align_of::<*const T>()
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// `x` rounded up to `align`, a power of two.
const fn round_up(x: usize, align: usize) -> usize {
    (x + align - 1) & !(align - 1)
}

/// Leaves `value` in the mailbox slot at `at` for the other side, which
/// takes it with [`take`] (or reads it in place) before anything else.
///
/// # Safety
/// `at` is a slot made for a `T` and this `MAX` (`Mail`); `value` stays
/// where it is, not dropped, until the other side has taken it.
#[inline(always)]
unsafe fn post<T, const MAX: usize>(at: *mut u8, value: &ManuallyDrop<T>) {
    // SAFETY: per the contract; the slot is aligned for T or a pointer.
    unsafe {
        if by_value::<T, MAX>() {
            ptr::write(at.cast::<T>(), ptr::read(&**value));
        } else {
            ptr::write(at.cast::<*const T>(), &**value as *const T);
        }
    }
}

/// Moves out the `T` that [`post`] left at `at`.
///
/// # Safety
/// `at` holds a `T` posted by the other side, with the same `MAX`, and not
/// taken yet.
#[inline(always)]
unsafe fn take<T, const MAX: usize>(at: *mut u8) -> T {
    // SAFETY: per the contract.
    unsafe {
        if by_value::<T, MAX>() {
            ptr::read(at.cast::<T>())
        } else {
            ptr::read(ptr::read(at.cast::<*const T>()))
        }
    }
}

/// How many times the closure's bytes can be on the coroutine stack at
/// once before it runs: where `with_stack` puts it, and the copy the
/// entry moves out to call it (an unoptimised build makes one more for the
/// call). The size check counts this many; `tests/soundness.rs` measures
/// it in every profile.
const CLOSURE_COPIES: usize = 3;

/// Dropped suspended coroutines whose stacks were leaked because they
/// could not be unwound (`panic = "abort"`).
static ABANDONED: AtomicUsize = AtomicUsize::new(0);

/// How many stacks this process has leaked because a suspended
/// [`Coroutine`] was dropped (or turned [`into_stack`](Coroutine::into_stack))
/// in a build with `panic = "abort"`, where its stack cannot be unwound,
/// or because a coroutine stopped by a [`trap`] was. Always 0 with
/// `panic = "unwind"` and no traps.
///
/// ```
/// assert_eq!(swapctx::coroutine::abandoned_stacks(), 0); // this build unwinds
/// ```
pub fn abandoned_stacks() -> usize {
    ABANDONED.load(Ordering::Relaxed)
}

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
    /// # Panics
    /// If the thread is panicking (a destructor running during an unwind
    /// called it): a suspend then would hand the unwind's "panicking" state
    /// to the resumer. See [What is sound, and
    /// why](crate::coroutine#what-is-sound-and-why).
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
    #[track_caller]
    pub fn suspend(&self, value: Y) -> I {
        #[cfg(feature = "std")]
        if std::thread::panicking() {
            suspend_while_panicking();
        }
        let value = ManuallyDrop::new(value);
        let slots = self.slots;
        let letter = Mail::<I, Y>::letter(slots);
        // SAFETY: `slots` is at the top of the stack of the coroutine this
        // Yielder was lent to, which is running (we are in its closure or
        // in an inner coroutine it resumed): `link` holds its resumer,
        // suspended in `resume`, which takes the value out of the letter
        // before anything else. It resumes us with its input in the letter
        // (which we take at once), or with the unwind word set.
        unsafe {
            post::<Y, LETTER_MAX>(letter, &value);
            let fake = tools::start_switch(&self.resumer);
            arch::suspend(slots.cast());
            tools::finish_switch(fake, Some(&self.resumer));
            // Without `std` drop never sets the unwind word of a suspended
            // coroutine: it abandons it (see `force_unwind`).
            #[cfg(feature = "std")]
            if *unwind_word(slots) != 0 {
                forced_unwind(slots as usize);
            }
            take::<I, LETTER_MAX>(letter)
        }
    }
}

#[cfg(feature = "std")]
/// A suspend while the thread is panicking is refused (see
/// `Yielder::suspend`).
#[cold]
#[inline(never)]
#[track_caller]
fn suspend_while_panicking() -> ! {
    panic!(
        "swapctx: Yielder::suspend called while the thread is panicking (from a destructor \
         during an unwind); a coroutine cannot suspend then, or its resumer would see the \
         unwind as its own"
    )
}

#[cfg(feature = "std")]
/// Starts the unwind that drop asked for: no panic hook, a private payload
/// naming the coroutine.
#[cold]
#[inline(never)]
fn forced_unwind(slots: usize) -> ! {
    panic::resume_unwind(Box::new(ForcedUnwind { slots }))
}

#[cfg(feature = "std")]
/// Drops a panic payload whose own `Drop` might panic: that second panic is
/// caught and its payload dropped in turn; one that keeps panicking is
/// leaked after a few rounds (the standard library leaks at once), so
/// nothing escapes.
fn drop_payload(mut payload: Box<dyn Any + Send>) {
    // A payload's drop may panic with a payload whose drop panics, and so
    // on: a few rounds, then the last one is leaked.
    for _ in 0..4 {
        match panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(again) => payload = again,
        }
    }
    mem::forget(payload);
}

#[cfg(feature = "std")]
/// Runs `f`; a panic in it is caught and its payload dropped by
/// [`drop_payload`]. For clean-up code (drop, the scope) that must not
/// unwind.
fn run_quietly(f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        drop_payload(payload);
    }
}

#[cfg(feature = "std")]
/// Drops `value` with [`run_quietly`].
#[cfg_attr(not(panic = "unwind"), allow(dead_code))]
fn drop_quietly<T>(value: T) {
    run_quietly(move || drop(value));
}

/// Where the closure, the mailbox and the slots go below `top` (a stack's
/// top, or below what a scope keeps there), for a closure type `F`:
/// `(closure, slots)`. `slots` is 16-byte aligned and is also the top that
/// the first frame is built under; the mailbox ([`Mail`]) is between the
/// two.
fn layout<F, I, Y, R>(top: *mut u8) -> (*mut F, *mut Slots) {
    let top = top as usize;
    let closure = (top - mem::size_of::<F>()) & !(mem::align_of::<F>() - 1);
    (
        closure as *mut F,
        slots_below::<I, Y, R>(closure as *mut u8),
    )
}

/// The slots under a closure placed by [`layout`].
fn slots_below<I, Y, R>(closure: *mut u8) -> *mut Slots {
    let span = Mail::<I, Y>::span::<R>();
    ((closure as usize - span) & !(Mail::<I, Y>::slots_align::<R>() - 1)) as *mut Slots
}

/// Moves the closure out of its place at the top of the stack and calls
/// it. Kept apart so that the closure's bytes are copied in this one frame
/// (an unoptimised build does not inline it), not in each of the
/// `catch_unwind` frames around it.
#[inline]
fn call_closure<F, I, Y, R>(closure: *mut F, yielder: &Yielder<I, Y>, input: I) -> R
where
    F: FnOnce(&Yielder<I, Y>, I) -> R,
{
    // SAFETY: the entry's contract: the closure was moved to the stack by
    // `with_stack` and is read exactly once, here.
    let f = unsafe { ptr::read(closure) };
    f(yielder, input)
}

/// The entry function of every coroutine with closure type `F`.
///
/// # Safety
/// Only the trampoline calls it, for a context made by
/// `RawCoroutine::with_stack_below`: `data` points at the closure at the
/// top of the stack, and the letter holds the first input (or the unwind
/// word is set). (`_value` is what the switch's value register held: the
/// trampolines pass it on, and it means nothing here.)
unsafe extern "C" fn coroutine_entry<F, I, Y, R>(_value: usize, data: *mut c_void) -> !
where
    F: FnOnce(&Yielder<I, Y>, I) -> R,
{
    let slots = slots_below::<I, Y, R>(data.cast());
    let closure = data.cast::<F>();
    let yielder = Yielder {
        slots,
        resumer: tools::FiberStack::default(),
        _marker: PhantomData,
    };
    // First thing on the new stack: tell ASan we arrived (and from where).
    tools::finish_switch(tools::FakeStack::default(), Some(&yielder.resumer));
    // SAFETY: the mailbox lies between the closure and the slots.
    let unwind = unsafe { *unwind_word(slots) } != 0;
    #[cfg(feature = "std")]
    let finish = if unwind {
        // Dropped before it ever ran: drop the closure where it is (a
        // panic in its drop must not unwind into the trampoline).
        // SAFETY: the closure is there and was never read.
        run_quietly(|| unsafe { ptr::drop_in_place(closure) });
        Finish::Unwound
    } else {
        // SAFETY: the first resume's input, which the resumer forgets.
        let input = unsafe { take::<I, LETTER_MAX>(Mail::<I, Y>::letter(slots)) };
        match panic::catch_unwind(AssertUnwindSafe(|| call_closure(closure, &yielder, input))) {
            Ok(r) => Finish::Return(r),
            Err(payload) => match payload.downcast_ref::<ForcedUnwind>() {
                Some(unwind) if unwind.slots == slots as usize => {
                    drop_payload(payload);
                    Finish::Unwound
                }
                // A panic, or another coroutine's clean-up passing through:
                // either goes on in the resumer.
                _ => Finish::Panic(payload),
            },
        }
    };
    // Without `std` there is no `catch_unwind`: a panic aborts (no_std
    // targets have `panic = "abort"`), or, in a program that unwinds,
    // stops at this `extern "C"` function, which aborts too.
    #[cfg(not(feature = "std"))]
    let finish = if unwind {
        // SAFETY: the closure is there and was never read.
        unsafe { ptr::drop_in_place(closure) };
        Finish::Unwound
    } else {
        // SAFETY: the first resume's input, which the resumer forgets.
        let input = unsafe { take::<I, LETTER_MAX>(Mail::<I, Y>::letter(slots)) };
        Finish::Return(call_closure(closure, &yielder, input))
    };
    // (A big Finish stays here, in this frame, which nothing runs on again.)
    let finish = ManuallyDrop::new(finish);
    // SAFETY: the last switch: `this` is nulled so the resumer knows the
    // mailbox holds a Finish<R> (or its address), which it moves out before
    // this stack is reused or freed; nothing resumes this coroutine again.
    unsafe {
        post::<_, FINISH_MAX>(Mail::<I, Y>::finish_slot::<R>(slots), &finish);
        (*slots).this = ptr::null_mut();
        tools::last_switch(&yielder.resumer);
        arch::finish(slots.cast())
    }
}

/// Where a coroutine is. The two clean ends come first, so that drop
/// tells them from the rest with one comparison (`is_clean_end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum State {
    /// The closure returned (or the coroutine was finished by drop).
    Returned = 0,
    /// The closure panicked (the panic was re-raised from `resume`).
    Panicked = 1,
    /// Fresh (the closure sits at the top of the stack) or suspended in
    /// `Yielder::suspend`: both are resumed the same way, so `resume` has
    /// nothing to record on the way.
    Live = 2,
    /// Dropped while suspended with `panic = "abort"`, or stopped by a
    /// trap: its frames were not unwound, so its stack must be leaked,
    /// never reused.
    Abandoned = 3,
}

impl State {
    /// Returned or panicked: nothing is left on the stack, which can go.
    #[inline]
    fn is_clean_end(self) -> bool {
        (self as u8) < State::Live as u8
    }
}

/// The lifetime-generic core shared by [`Coroutine`] (`'static`) and
/// [`ScopedCoroutine`] (borrowing from a [`scope`]).
pub(crate) struct RawCoroutine<'a, I, Y, R, S: StackMemory> {
    stack: ManuallyDrop<S>,
    slots: *mut Slots,
    state: State,
    /// `'a`: what the closure borrows; `*mut ()`: not Send, not Sync.
    _marker: PhantomData<CoroutineMarker<'a, I, Y, R>>,
}

impl<'a, I, Y, R, S: StackMemory> RawCoroutine<'a, I, Y, R, S> {
    /// Makes a coroutine on `stack` whose closure goes right below `top`
    /// (the stack's top, or lower when the caller keeps something above).
    #[inline]
    #[track_caller]
    pub(crate) fn with_stack_below<F>(stack: S, top: *mut u8, f: F) -> Self
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'a,
    {
        #[cfg(feature = "std")]
        crate::thread::prepare();
        debug_assert!(top <= stack.top() && top as usize % arch::STACK_ALIGN == 0);
        let above = stack.top() as usize - top as usize;
        let canary = if stack.is_guarded() {
            0
        } else {
            memory::CANARY_SIZE
        };
        let need = above
            + canary
            + CLOSURE_COPIES * mem::size_of::<F>()
            + mem::align_of::<F>()
            + Mail::<I, Y>::span::<R>()
            + Mail::<I, Y>::slots_align::<R>()
            + 2 * Context::INITIAL_FRAME_SIZE
            + arch::COROUTINE_INIT_SIZE;
        // Every stack has at least `MIN_SIZE` bytes, so for the usual small
        // closure this is decided at compile time, without reading the
        // stack's size.
        if need > S::MIN_SIZE / 2 && need > stack.size() / 2 {
            closure_too_big(mem::size_of::<F>(), stack.size());
        }
        if !stack.is_guarded() {
            // SAFETY: the lowest CANARY_SIZE bytes of the stack, ours and
            // 16-byte aligned (StackMemory's contract, the size check).
            unsafe { memory::write_canary(stack.bottom()) };
        }
        let (closure, slots) = layout::<F, I, Y, R>(top);
        // SAFETY: `closure`, the slots and the first frame under them lie
        // inside the stack (checked above) and are ours; the entry reads the
        // closure back exactly once.
        unsafe {
            closure.write(f);
            let entry: EntryFn = coroutine_entry::<F, I, Y, R>;
            let sp = arch::init_coroutine(slots.cast(), entry as usize, closure as usize);
            // Windows: the stack's bounds, for the TEB while it runs.
            #[cfg(windows)]
            arch::set_coroutine_stack(sp, crate::stack::teb_of(&stack));
            // `link` is left as it is: every resume writes it first.
            ptr::addr_of_mut!((*slots).this).write(sp);
            unwind_word(slots).write(0);
        }
        RawCoroutine {
            stack: ManuallyDrop::new(stack),
            slots,
            state: State::Live,
            _marker: PhantomData,
        }
    }

    #[inline]
    #[track_caller]
    pub(crate) fn resume(&mut self, input: I) -> CoroutineResult<Y, R> {
        if self.state != State::Live {
            self.bad_resume();
        }
        // `&mut self` is held until the coroutine switches back, so no
        // other resume can reach it meanwhile: no "running" state needed.
        let input = ManuallyDrop::new(input);
        let slots = self.slots;
        let letter = Mail::<I, Y>::letter(slots);
        // SAFETY: `this` holds the coroutine's saved stack pointer (fresh or
        // suspended, per the state check), on a stack we own; we save
        // ourselves into `link`, where its suspend or last switch finds us.
        // The coroutine takes the input out of the letter at once. If it
        // still has a `this`, it suspended and left a Y in the letter;
        // otherwise its last switch (which nulled `this`) left a Finish<R>
        // in the mailbox. Either is moved out at once and forgotten by the
        // coroutine.
        unsafe {
            post::<I, LETTER_MAX>(letter, &input);
            self.enter();
            if !(*slots).this.is_null() {
                return CoroutineResult::Yield(take::<Y, LETTER_MAX>(letter));
            }
            self.finished(Mail::<I, Y>::finished_at::<R>(slots))
        }
    }

    /// The resumer's side of the coroutine's last switch: records how it
    /// ended. A return is tested first, and every other end is sorted out
    /// of line, so the usual end costs one comparison, not a jump through
    /// a table of every way to end. (The out-of-line part does not take
    /// `self`: a call that did would make the compiler reload its fields
    /// after every switch of a resume loop.)
    ///
    /// # Safety
    /// `finish` holds the Finish<R> of the coroutine's last switch, which
    /// nothing else moves out.
    #[inline]
    #[track_caller]
    unsafe fn finished(&mut self, finish: *mut Finish<R>) -> CoroutineResult<Y, R> {
        // SAFETY: per the contract; the value is read in place, and moved
        // out exactly once, in one of the two branches.
        if let Finish::Return(r) = unsafe { &*finish } {
            self.state = State::Returned;
            // SAFETY: the returned value, moved out once; the Finish around
            // it is never read again.
            return CoroutineResult::Return(unsafe { ptr::read(r) });
        }
        // SAFETY: as above.
        let (state, ended) = ended_otherwise(unsafe { ptr::read(finish) });
        self.state = state;
        match ended {
            Ended::Return(r) => CoroutineResult::Return(r),
            #[cfg(feature = "std")]
            Ended::Unwind(payload) => panic::resume_unwind(payload),
            Ended::Reraised => reraised_clean_up(),
        }
    }

    /// Switches into the coroutine, until it suspends or makes its last
    /// switch. Every way in goes through here.
    ///
    /// # Safety
    /// The coroutine must be live (fresh or suspended), with its input in
    /// the letter or its unwind word set.
    #[inline(always)]
    unsafe fn enter(&mut self) {
        let fake = tools::start_switch(&tools::FiberStack::of(&*self.stack));
        // SAFETY: per the contract, `this` holds a live coroutine's saved
        // stack pointer on the stack we own.
        unsafe { arch::resume(self.slots.cast()) };
        tools::finish_switch(fake, None);
        if !self.stack.is_guarded() {
            self.check_canary();
        }
    }

    /// After a switch back from a coroutine on a stack without a guard:
    /// ends the program if it overflowed into its canary, or suspended
    /// with its stack pointer in or below it.
    #[inline]
    fn check_canary(&self) {
        let bottom = self.stack.bottom();
        // SAFETY: the canary was written by `with_stack_below` at the
        // bottom of the stack we own; the slots are at its top.
        let (intact, sp) = unsafe { (memory::canary_intact(bottom), (*self.slots).this) };
        if !intact || (!sp.is_null() && (sp as usize) < bottom as usize + memory::CANARY_SIZE) {
            memory::canary_overwritten(bottom, self.stack.top());
        }
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn bad_resume(&self) -> ! {
        match self.state {
            State::Panicked => panic!("resume called on a coroutine that has panicked"),
            _ => panic!("resume called on a coroutine that has already returned"),
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state != State::Live
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

    /// True while suspended in `Yielder::suspend` (started, not done).
    #[cfg_attr(any(not(feature = "std"), panic = "unwind"), allow(dead_code))]
    fn is_suspended(&self) -> bool {
        self.state == State::Live && !self.is_fresh()
    }

    /// Makes sure nothing of the closure is left on the stack: drops a
    /// fresh closure, unwinds a suspended one (with `panic = "abort"`,
    /// marks it `Abandoned` instead).
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
            // SAFETY: the coroutine is fresh: its entry, which finds the
            // unwind word set, drops the closure and makes its last switch
            // with a Finish<R> (Unwound), which we move out and drop.
            unsafe {
                *unwind_word(self.slots) = 1;
                self.enter();
                match Mail::<I, Y>::finished_at::<R>(self.slots).read() {
                    #[cfg(feature = "std")]
                    Finish::TrappedReturn(r) => {
                        self.state = State::Abandoned;
                        drop_quietly(r);
                    }
                    #[cfg(feature = "std")]
                    Finish::TrappedPanic(payload) => {
                        self.state = State::Abandoned;
                        drop_payload(payload);
                    }
                    _ => {}
                }
            }
        } else {
            self.force_unwind();
        }
    }

    #[cfg(all(feature = "std", panic = "unwind"))]
    fn force_unwind(&mut self) {
        self.state = State::Returned;
        for _ in 0..MAX_UNWIND_ROUNDS {
            // SAFETY: as in `resume`: the coroutine is suspended; its
            // suspend finds the unwind word set and unwinds its stack. That
            // ends in its last switch (a Finish<R>), or, if the body caught
            // the unwind and suspended again, in a yield (a Y in the
            // letter), which we drop and answer the same way once more.
            unsafe {
                let slots = self.slots;
                *unwind_word(slots) = 1;
                self.enter();
                if !(*slots).this.is_null() {
                    drop_quietly(take::<Y, LETTER_MAX>(Mail::<I, Y>::letter(slots)));
                    continue;
                }
                // A body that caught the unwind may have returned a value
                // or panicked with another payload; dropping either must
                // not panic out of drop.
                match Mail::<I, Y>::finished_at::<R>(slots).read() {
                    Finish::Return(r) => drop_quietly(r),
                    Finish::Panic(payload) => drop_payload(payload),
                    Finish::Unwound => {}
                    Finish::TrappedReturn(r) => {
                        self.state = State::Abandoned;
                        drop_quietly(r);
                    }
                    Finish::TrappedPanic(payload) => {
                        self.state = State::Abandoned;
                        drop_payload(payload);
                    }
                }
                return;
            }
        }
        crate::fatal(format_args!(
            "swapctx: a coroutine that is being dropped caught the unwind that cleans up \
             its stack and suspended again, {MAX_UNWIND_ROUNDS} times; it cannot be dropped \
             cleanly (do not call suspend in a loop around catch_unwind)"
        ));
    }

    #[cfg(not(all(feature = "std", panic = "unwind")))]
    fn force_unwind(&mut self) {
        // No unwinding (`panic = "abort"`, or no `catch_unwind` without
        // `std`): what is on the stack stays there, so the stack must
        // never be freed or reused (see Drop and into_stack).
        self.state = State::Abandoned;
    }

    pub(crate) fn stack(&self) -> &S {
        &self.stack
    }

    /// The mailbox slot where this coroutine's last switch posts its
    /// `Finish<R>`.
    #[cfg_attr(any(not(feature = "std"), windows), allow(dead_code))]
    fn finish_slot(&self) -> *mut u8 {
        Mail::<I, Y>::finish_slot::<R>(self.slots)
    }

    /// Finishes the coroutine and gives its stack back, or `None` if the
    /// stack had to be abandoned (leaked, and counted).
    fn try_into_stack(mut self) -> Option<S> {
        self.finish();
        let abandoned = self.state == State::Abandoned;
        // SAFETY: `self` is forgotten right after, so the stack is taken
        // exactly once and Drop does not run.
        let stack = unsafe { ManuallyDrop::take(&mut self.stack) };
        mem::forget(self);
        if abandoned {
            abandon(stack);
            return None;
        }
        Some(stack)
    }

    /// Gives the stack back without finishing the coroutine: its frames
    /// are left where they are, never run again and never dropped. For the
    /// C API, whose coroutines run C code (nothing to drop) and cannot be
    /// unwound.
    ///
    /// # Safety
    /// Nothing on the coroutine's stack needs dropping: the closure is
    /// `Copy` data and the frames above the entry's are C frames.
    #[cfg_attr(not(any(feature = "std", feature = "capi")), allow(dead_code))]
    pub(crate) unsafe fn discard(mut self) -> S {
        // SAFETY: `self` is forgotten right after, so the stack is taken
        // exactly once and Drop does not run.
        let stack = unsafe { ManuallyDrop::take(&mut self.stack) };
        mem::forget(self);
        stack
    }
}

#[cfg(feature = "std")]
impl<I, Y, R> RawCoroutine<'_, I, Y, R, Stack> {
    /// Finishes the coroutine and gives its stack back; a stack that had
    /// to be abandoned is leaked and a new one of the same size is mapped.
    #[track_caller]
    fn into_stack(self) -> Stack {
        let size = self.stack.size();
        self.try_into_stack().unwrap_or_else(|| {
            Stack::new(size)
                .unwrap_or_else(|e| panic!("swapctx: failed to allocate a coroutine stack: {e}"))
        })
    }
}

/// How a coroutine that did not simply return ended, for `finished`.
enum Ended<R> {
    /// Stopped by a trap whose closure returned this.
    #[cfg_attr(any(not(feature = "std"), windows), allow(dead_code))]
    Return(R),
    /// A panic, to go on in the resumer.
    #[cfg(feature = "std")]
    Unwind(Box<dyn Any + Send + 'static>),
    /// The clean-up unwind, re-raised by a body that was not being dropped.
    Reraised,
}

/// The state and the outcome of every last switch but a plain return.
#[cold]
#[inline(never)]
fn ended_otherwise<R>(finish: Finish<R>) -> (State, Ended<R>) {
    match finish {
        // (`finished` handles it; here for completeness.)
        Finish::Return(r) => (State::Returned, Ended::Return(r)),
        // A panic, or an outer coroutine's clean-up passing through: both
        // go on in the resumer, without the panic hook.
        #[cfg(feature = "std")]
        Finish::Panic(payload) => (State::Panicked, Ended::Unwind(payload)),
        // Stopped by a trap: its frames were abandoned, so its stack must
        // never be reused (see `trap`).
        #[cfg(feature = "std")]
        Finish::TrappedReturn(r) => (State::Abandoned, Ended::Return(r)),
        #[cfg(feature = "std")]
        Finish::TrappedPanic(payload) => (State::Abandoned, Ended::Unwind(payload)),
        // Only this coroutine's own clean-up unwind ends so, and only drop
        // starts it; the body re-raised a payload it had caught during an
        // earlier clean-up.
        Finish::Unwound => (State::Panicked, Ended::Reraised),
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn reraised_clean_up() -> ! {
    panic!(
        "swapctx: a coroutine re-raised the unwind that cleans up its stack without being \
         dropped"
    )
}

impl<I, Y, R, S: StackMemory> Drop for RawCoroutine<'_, I, Y, R, S> {
    #[inline]
    fn drop(&mut self) {
        if !self.state.is_clean_end() {
            self.finish();
            if self.state == State::Abandoned {
                // SAFETY: dropped exactly once, here; nothing runs on it
                // any more.
                return abandon(unsafe { ManuallyDrop::take(&mut self.stack) });
            }
        }
        // SAFETY: as above; dropped where it is, without a copy first.
        unsafe { ManuallyDrop::drop(&mut self.stack) }
    }
}

/// Leaks the stack of a coroutine that could not be unwound, and counts it.
#[cold]
fn abandon<S>(stack: S) {
    mem::forget(stack);
    ABANDONED.fetch_add(1, Ordering::Relaxed);
}

#[cold]
#[inline(never)]
#[track_caller]
fn closure_too_big(closure: usize, stack: usize) -> ! {
    panic!(
        "swapctx: a coroutine's closure of {closure} bytes does not fit a {stack}-byte stack \
         (it needs {CLOSURE_COPIES} times its size, at most half the stack); box what it \
         captures or use a bigger stack"
    )
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
/// # Owning, or borrowing
/// A `Coroutine` owns what it uses: its closure and its input type are
/// `'static`, because a coroutine can be leaked (`mem::forget`) while
/// suspended, and nothing it holds may outlive what it borrows. Move
/// owned data in (`move |y, x| ...`, `Rc`, `Arc`). To borrow from the
/// caller instead, make the coroutine in a [`scope`]:
///
/// ```
/// use swapctx::CoroutineResult;
///
/// let names = vec!["ada", "grace"];
/// swapctx::scope(|s| {
///     let mut co = s.coroutine(|y, ()| {
///         for n in &names { y.suspend(n.len()); }
///     });
///     assert_eq!(co.resume(()), CoroutineResult::Yield(3));
/// });
/// ```
///
/// # Panics and drop
/// A panic inside the closure unwinds the coroutine's stack and is
/// re-raised from `resume` with its original payload; the coroutine is
/// then done. Dropping a coroutine that is suspended unwinds its stack so
/// that every destructor on it runs (a `MutexGuard` there poisons its
/// mutex, as in a thread that panics). With `panic = "abort"`, the stack is
/// leaked instead (see [What is sound, and
/// why](crate::coroutine#what-is-sound-and-why)).
///
/// # Not `Send`
/// A coroutine stays on the thread that made it. Code in the coroutine may
/// have computed the address of a thread-local before a `suspend` and use
/// it after: the compiler is free to cache it, as nothing in a function
/// call says "you may now be on another thread". Resumed on another thread,
/// that code would touch the first thread's thread-locals. So `Coroutine`
/// is `!Send` (and `!Sync`):
///
/// ```compile_fail,E0277
/// let co = swapctx::Coroutine::<(), (), ()>::new(|_, ()| {});
/// std::thread::spawn(move || drop(co));
/// ```
///
/// # Other stacks
/// `S` is the stack memory ([`StackMemory`]): a [`crate::Stack`]
/// unless the type says otherwise, or the embedder's memory
/// ([`StackBuf`](crate::StackBuf)), given to
/// [`with_stack`](Coroutine::with_stack).
pub struct Coroutine<
    I,
    Y,
    R,
    #[cfg(feature = "std")] S: StackMemory = Stack,
    #[cfg(not(feature = "std"))] S: StackMemory = crate::memory::StackBuf,
> {
    inner: RawCoroutine<'static, I, Y, R, S>,
}

#[cfg(feature = "std")]
impl<I: 'static, Y, R> Coroutine<I, Y, R> {
    /// Makes a coroutine on a new stack of [`Stack::DEFAULT_SIZE`].
    ///
    /// The closure and the input type are `'static` (see [Owning, or
    /// borrowing](Coroutine#owning-or-borrowing)): for a closure that
    /// borrows from the caller, use [`scope`] and [`Scope::coroutine`].
    ///
    /// # Panics
    /// - If the stack cannot be had (the kernel refuses the mapping), with
    ///   the [`Error`](crate::Error)'s message, as `std::thread::spawn`
    ///   does; use [`with_stack`](Coroutine::with_stack) to handle that
    ///   error.
    /// - If the closure is too big for the stack (see
    ///   [`with_stack`](Coroutine::with_stack)).
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult};
    ///
    /// let greeting = String::from("hello");
    /// let mut co = Coroutine::new(move |_, name: &'static str| format!("{greeting}, {name}"));
    /// assert_eq!(co.resume("world"), CoroutineResult::<(), _>::Return("hello, world".into()));
    /// ```
    #[track_caller]
    pub fn new<F>(f: F) -> Self
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'static,
    {
        Self::with_stack(default_stack(), f)
    }
}

impl<I: 'static, Y, R, S: StackMemory> Coroutine<I, Y, R, S> {
    /// Makes a coroutine on `stack`: a [`crate::Stack`] (its own
    /// or a pool's), or any other [`StackMemory`], such as the embedder's
    /// memory ([`StackBuf`](crate::StackBuf)).
    ///
    /// # Panics
    /// If the closure is too big for the stack: the closure's bytes, three
    /// times over (where it waits, and the copies made to call it), must
    /// fit in half of the stack, so that the other half is left for the
    /// closure's own frames. Box large captures.
    ///
    /// # Examples
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult, Stack};
    ///
    /// let mut co = Coroutine::<(), (), u8>::with_stack(Stack::new(64 * 1024)?, |_y, ()| 7);
    /// assert_eq!(co.resume(()), CoroutineResult::Return(7));
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    #[track_caller]
    pub fn with_stack<F>(stack: S, f: F) -> Self
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'static,
    {
        let top = stack.top();
        Coroutine {
            inner: RawCoroutine::with_stack_below(stack, top, f),
        }
    }
}

impl<I, Y, R, S: StackMemory> Coroutine<I, Y, R, S> {
    /// Runs the coroutine until it suspends or returns.
    ///
    /// # Panics
    /// - If the coroutine has already returned or panicked (the message
    ///   says which, and names the caller's line);
    /// - with the coroutine's own panic payload, if it panics.
    #[inline]
    #[track_caller]
    pub fn resume(&mut self, input: I) -> CoroutineResult<Y, R> {
        self.inner.resume(input)
    }

    /// True once the closure has returned or panicked (or the coroutine
    /// was finished by [`into_stack`](Coroutine::into_stack)).
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// True before the first `resume`.
    pub fn is_fresh(&self) -> bool {
        self.inner.is_fresh()
    }

    /// The stack the coroutine runs on.
    pub fn stack(&self) -> &S {
        self.inner.stack()
    }

    /// The stack pointer the coroutine saved when it last suspended, or
    /// `None` if it is fresh or done: for debuggers (see
    /// `docs/debugging.md`, gdb's `swapctx-bt`). The words there are the
    /// address it resumes at and the registers the switch saves by hand,
    /// at the offsets `CO_OFF_*` of `src/arch/<arch>/layout.rs`.
    pub fn saved_stack_pointer(&self) -> Option<*const u8> {
        self.inner.saved_stack_pointer()
    }

    /// Finishes the coroutine (drops a fresh closure, unwinds a suspended
    /// one) and gives its stack back, or `None` if the stack had to be
    /// abandoned: a suspended coroutine where nothing can unwind it
    /// (`panic = "abort"`, or no `std`), whose stack is leaked and counted
    /// by [`abandoned_stacks`].
    ///
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult};
    ///
    /// let mut co = Coroutine::<(), (), u8>::new(|_, ()| 1);
    /// assert_eq!(co.resume(()), CoroutineResult::Return(1));
    /// assert!(co.try_into_stack().is_some());
    /// ```
    pub fn try_into_stack(self) -> Option<S> {
        self.inner.try_into_stack()
    }
}

#[cfg(feature = "std")]
impl<I, Y, R> Coroutine<I, Y, R> {
    /// Finishes the coroutine (drops a fresh closure, unwinds a suspended
    /// one) and gives its stack back for reuse.
    ///
    /// With `panic = "abort"`, a suspended coroutine cannot be unwound: its
    /// stack is leaked (counted by [`abandoned_stacks`]) and a new stack
    /// of the same size is returned.
    ///
    /// # Panics
    /// Only with `panic = "abort"` (so, by aborting), if that new stack
    /// cannot be had.
    ///
    /// ```
    /// use swapctx::{Coroutine, CoroutineResult};
    ///
    /// let mut co = Coroutine::<(), (), u8>::new(|_, ()| 1);
    /// assert_eq!(co.resume(()), CoroutineResult::Return(1));
    /// let mut again = Coroutine::<(), (), u8>::with_stack(co.into_stack(), |_, ()| 2);
    /// assert_eq!(again.resume(()), CoroutineResult::Return(2));
    /// ```
    #[track_caller]
    pub fn into_stack(self) -> Stack {
        self.inner.into_stack()
    }
}

impl<I, Y, R, S: StackMemory + core::fmt::Debug> core::fmt::Debug for Coroutine<I, Y, R, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Coroutine")
            .field("state", &self.inner.state)
            .field("stack", self.inner.stack())
            .finish()
    }
}

#[cfg(feature = "std")]
#[track_caller]
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
/// after the closure returns, `next` gives `None`. Like [`Coroutine`], a
/// `Generator` owns what it uses (its closure is `'static`); for one that
/// borrows, see [`Scope::generator`].
pub struct Generator<
    T,
    #[cfg(feature = "std")] S: StackMemory = Stack,
    #[cfg(not(feature = "std"))] S: StackMemory = crate::memory::StackBuf,
> {
    co: Coroutine<(), T, (), S>,
}

#[cfg(feature = "std")]
impl<T> Generator<T> {
    /// A generator on a new stack of [`Stack::DEFAULT_SIZE`].
    ///
    /// The closure is `'static`: move owned data in, or use
    /// [`Scope::generator`] to borrow from the caller.
    ///
    /// # Panics
    /// If the stack cannot be had, as [`Coroutine::new`].
    ///
    /// # Examples
    /// ```
    /// let words = vec!["a", "bc"];
    /// let lens: Vec<usize> = swapctx::Generator::new(move |y| {
    ///     for w in &words { y.suspend(w.len()); }
    /// }).collect();
    /// assert_eq!(lens, [1, 2]);
    /// ```
    #[track_caller]
    pub fn new<F>(f: F) -> Self
    where
        F: FnOnce(&Yielder<(), T>) + 'static,
    {
        Self::with_stack(default_stack(), f)
    }
}

impl<T, S: StackMemory> Generator<T, S> {
    /// A generator on `stack`.
    ///
    /// # Panics
    /// If the closure is too big for the stack, as
    /// [`Coroutine::with_stack`].
    #[track_caller]
    pub fn with_stack<F>(stack: S, f: F) -> Self
    where
        F: FnOnce(&Yielder<(), T>) + 'static,
    {
        Generator {
            co: Coroutine::with_stack(stack, move |y, ()| f(y)),
        }
    }
}

/// One step of a generator, for [`Generator`] and [`ScopedGenerator`].
#[inline]
fn generator_next<T, S: StackMemory>(co: &mut RawCoroutine<'_, (), T, (), S>) -> Option<T> {
    if co.is_done() {
        return None;
    }
    match co.resume(()) {
        CoroutineResult::Yield(v) => Some(v),
        CoroutineResult::Return(()) => None,
    }
}

impl<T, S: StackMemory> Iterator for Generator<T, S> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        generator_next(&mut self.co.inner)
    }
}

impl<T, S: StackMemory> core::iter::FusedIterator for Generator<T, S> {}

impl<T, S: StackMemory + core::fmt::Debug> core::fmt::Debug for Generator<T, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Generator").field("co", &self.co).finish()
    }
}
