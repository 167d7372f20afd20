//! Scoped coroutines: closures that borrow from their caller, owned by the
//! scope that made them.
//!
//! A [`Scope`] keeps a list of every coroutine made in it. The list's
//! entries live at the top of each coroutine's own stack (no allocation):
//!
//! ```text
//!   stack top ──►  +---------------------------------+
//!                  | Entry: list links, busy flag,   |
//!                  |   finish/release, the coroutine |
//!                  | the closure F                   |
//!                  | slots                           |  as for any coroutine
//!                  |  ...                            |
//! ```
//!
//! A [`ScopedCoroutine`] handle points at its entry. Dropping the handle
//! finishes the coroutine, unlinks the entry and frees the stack. When the
//! scope's closure returns (or unwinds), the scope finishes every
//! coroutine still in the list, oldest first, then frees the stacks of
//! those whose handles were leaked: by then no code can reach those
//! handles (their type names `'scope`, which has ended for everything but
//! leaked memory).

use core::cell::Cell;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::ptr::{self, NonNull};

use super::{
    default_stack, generator_next, CoroutineMarker, CoroutineResult, RawCoroutine, Yielder,
};
use crate::arch;
use crate::stack::Stack;

/// What the scope's list keeps of a coroutine, first in its [`Entry`].
#[repr(C)]
struct Header {
    /// The next newer entry, or null.
    newer: Cell<*mut Header>,
    /// The next older entry, or null.
    older: Cell<*mut Header>,
    /// Set while the coroutine is being finished (by its handle's drop or
    /// by the scope): its handle then leaves the entry to whoever finishes
    /// it, and `resume` refuses.
    busy: Cell<bool>,
    /// Finishes the coroutine (a no-op once it is done).
    finish: unsafe fn(*mut Header),
    /// Moves the finished coroutine out of the entry and drops it, which
    /// frees (or pools) the stack the entry is on.
    release: unsafe fn(*mut Header),
}

/// A scoped coroutine's entry, at the top of its own stack.
#[repr(C)]
struct Entry<'a, I, Y, R> {
    header: Header,
    raw: RawCoroutine<'a, I, Y, R, Stack>,
}

/// `Header::finish` of an `Entry<I, Y, R>`.
///
/// # Safety
/// `h` is the header of a live `Entry<'_, I, Y, R>` that nothing else is
/// finishing or running.
unsafe fn finish_entry<I, Y, R>(h: *mut Header) {
    // SAFETY: per the contract; the header is the entry's first field.
    unsafe { finish_scoped(&mut (*h.cast::<Entry<'_, I, Y, R>>()).raw) }
}

/// `Header::release` of an `Entry<I, Y, R>`.
///
/// # Safety
/// `h` is the header of a live, finished, unlinked `Entry<'_, I, Y, R>`;
/// it is not used again.
unsafe fn release_entry<I, Y, R>(h: *mut Header) {
    // SAFETY: per the contract: the coroutine is moved off the stack it
    // owns before it frees it, and is finished, so its drop runs no code
    // of the coroutine's.
    let raw = unsafe { ptr::read(&(*h.cast::<Entry<'_, I, Y, R>>()).raw) };
    drop(raw);
}

/// Finishes a scoped coroutine. With `panic = "abort"`, a suspended one
/// cannot be unwound, and cannot be leaked either (its frames hold borrows
/// that end with the scope): the process aborts.
fn finish_scoped<I, Y, R>(raw: &mut RawCoroutine<'_, I, Y, R, Stack>) {
    #[cfg(not(panic = "unwind"))]
    if raw.is_suspended() {
        crate::fatal(format_args!(
            "swapctx: a suspended scoped coroutine must be dropped, but with panic = \"abort\" \
             its stack cannot be unwound, and its borrows end with its scope; aborting \
             (finish scoped coroutines before dropping them, or build with panic = \"unwind\")"
        ));
    }
    raw.finish();
}

/// The scope's list of entries, newest first.
struct List {
    newest: Cell<*mut Header>,
    oldest: Cell<*mut Header>,
}

impl List {
    /// Adds `h` as the newest entry.
    ///
    /// # Safety
    /// `h` is a live header, in no list.
    unsafe fn push(&self, h: *mut Header) {
        let newest = self.newest.get();
        // SAFETY: per the contract, and the list's headers are live.
        unsafe {
            (*h).newer.set(ptr::null_mut());
            (*h).older.set(newest);
            if newest.is_null() {
                self.oldest.set(h);
            } else {
                (*newest).newer.set(h);
            }
        }
        self.newest.set(h);
    }

    /// Removes `h`.
    ///
    /// # Safety
    /// `h` is a live header in this list.
    unsafe fn unlink(&self, h: *mut Header) {
        // SAFETY: per the contract; its neighbours are live headers of the
        // list too.
        unsafe {
            let (newer, older) = ((*h).newer.get(), (*h).older.get());
            if newer.is_null() {
                self.newest.set(older);
            } else {
                (*newer).older.set(older);
            }
            if older.is_null() {
                self.oldest.set(newer);
            } else {
                (*older).newer.set(newer);
            }
        }
    }

    /// The end of a scope: finishes every coroutine still in the list,
    /// oldest first, then frees the entries that are left (those whose
    /// handles were leaked).
    fn finish_all(&self) {
        // Finishing runs code of the coroutines (destructors), which may
        // drop the handles of other entries (unlinking them) or make new
        // ones (added at the newer end, which this walk reaches). The
        // entry being finished is busy, so its own handle leaves it linked.
        let mut h = self.oldest.get();
        while !h.is_null() {
            // SAFETY: `h` is in the list, so live; no coroutine of this
            // scope runs now (the scope's closure has returned), and a
            // busy one is already being finished further up this stack.
            unsafe {
                if !(*h).busy.get() {
                    (*h).busy.set(true);
                    ((*h).finish)(h);
                    (*h).busy.set(false);
                }
                h = (*h).newer.get();
            }
        }
        // Every coroutine is done; what is still listed was leaked.
        loop {
            let h = self.newest.get();
            if h.is_null() {
                break;
            }
            // SAFETY: a listed, finished entry; unlinked before release,
            // and never reached again (its handle is unreachable).
            unsafe {
                self.unlink(h);
                ((*h).release)(h);
            }
        }
    }
}

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
/// # The scope owns its coroutines
/// Before `scope` returns (or unwinds), every coroutine made in it has been
/// finished: a fresh one's closure dropped, a suspended one's stack
/// unwound, so that nothing on its stack, nor any thread it started, can
/// reach a borrow after the scope. This holds whatever happens to the
/// handles: dropping one finishes its coroutine there and then; one that
/// was forgotten (`mem::forget`) or leaked in an `Rc` cycle is finished by
/// the scope, oldest first, and its stack freed.
///
/// ```
/// use std::cell::Cell;
///
/// let finished = Cell::new(false);
/// swapctx::scope(|s| {
///     let mut co = s.coroutine(|y, ()| {
///         struct Flag<'a>(&'a Cell<bool>);
///         impl Drop for Flag<'_> {
///             fn drop(&mut self) { self.0.set(true) }
///         }
///         let _flag = Flag(&finished);
///         y.suspend(());
///     });
///     let _ = co.resume(());
///     std::mem::forget(co); // leaked: the scope still unwinds it
/// });
/// assert!(finished.get());
/// ```
///
/// With `panic = "abort"` a suspended coroutine cannot be unwound: if one
/// must be finished, the process aborts with a message (see [What is
/// sound, and why](crate::coroutine#what-is-sound-and-why)).
pub fn scope<'env, T>(f: impl for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T) -> T {
    /// Finishes the scope's coroutines on the way out, also when `f`
    /// unwinds.
    struct Cleanup<'a>(&'a List);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            self.0.finish_all();
        }
    }
    let scope = Scope {
        list: List {
            newest: Cell::new(ptr::null_mut()),
            oldest: Cell::new(ptr::null_mut()),
        },
        _scope: PhantomData,
        _env: PhantomData,
    };
    let _cleanup = Cleanup(&scope.list);
    f(&scope)
}

/// Where scoped coroutines are made; see [`scope`].
///
/// A scope stays on its thread (`!Send`, `!Sync`), as do its coroutines.
pub struct Scope<'scope, 'env: 'scope> {
    list: List,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<'scope> Scope<'scope, '_> {
    /// A coroutine whose closure may borrow from outside the scope, on a
    /// new default-size stack.
    ///
    /// What it borrows, and its input type, outlive the scope (`'scope`):
    /// the scope, not the handle, decides when the coroutine is finished.
    ///
    /// # Panics
    /// If the stack cannot be had, or the closure is too big for it, as
    /// [`Coroutine::new`](crate::Coroutine::new).
    #[track_caller]
    pub fn coroutine<I, Y, R, F>(&'scope self, f: F) -> ScopedCoroutine<'scope, I, Y, R>
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'scope,
        I: 'scope,
    {
        self.coroutine_with_stack(default_stack(), f)
    }

    /// As [`coroutine`](Scope::coroutine), on `stack`.
    ///
    /// # Panics
    /// If the closure is too big for the stack, as
    /// [`Coroutine::with_stack`](crate::Coroutine::with_stack).
    #[track_caller]
    pub fn coroutine_with_stack<I, Y, R, F>(
        &'scope self,
        stack: Stack,
        f: F,
    ) -> ScopedCoroutine<'scope, I, Y, R>
    where
        F: FnOnce(&Yielder<I, Y>, I) -> R + 'scope,
        I: 'scope,
    {
        let entry_at = (stack.top() as usize - mem::size_of::<Entry<'scope, I, Y, R>>())
            & !(mem::align_of::<Entry<'scope, I, Y, R>>() - 1)
            & !(arch::STACK_ALIGN - 1);
        let raw = RawCoroutine::with_stack_below(stack, entry_at as *mut u8, f);
        let entry = entry_at as *mut Entry<'scope, I, Y, R>;
        // SAFETY: `with_stack_below` checked that everything from its `top`
        // (`entry_at`) up to the stack's top fits in the stack, and put
        // nothing there: the entry's bytes are ours, aligned for it. The
        // header is a fresh one, in no list.
        unsafe {
            entry.write(Entry {
                header: Header {
                    newer: Cell::new(ptr::null_mut()),
                    older: Cell::new(ptr::null_mut()),
                    busy: Cell::new(false),
                    finish: finish_entry::<I, Y, R>,
                    release: release_entry::<I, Y, R>,
                },
                raw,
            });
            self.list.push(entry.cast());
            ScopedCoroutine {
                entry: NonNull::new_unchecked(entry),
                list: &self.list,
                _marker: PhantomData,
            }
        }
    }

    /// A generator whose closure may borrow from outside the scope.
    ///
    /// # Panics
    /// If the stack cannot be had, as [`Coroutine::new`](crate::Coroutine::new).
    #[track_caller]
    pub fn generator<T, F>(&'scope self, f: F) -> ScopedGenerator<'scope, T>
    where
        F: FnOnce(&Yielder<(), T>) + 'scope,
    {
        self.generator_with_stack(default_stack(), f)
    }

    /// As [`generator`](Scope::generator), on `stack`.
    #[track_caller]
    pub fn generator_with_stack<T, F>(
        &'scope self,
        stack: Stack,
        f: F,
    ) -> ScopedGenerator<'scope, T>
    where
        F: FnOnce(&Yielder<(), T>) + 'scope,
    {
        ScopedGenerator {
            co: self.coroutine_with_stack(stack, move |y, ()| f(y)),
        }
    }
}

/// A coroutine made in a [`scope`]; like [`Coroutine`](crate::Coroutine),
/// but its closure may borrow for `'scope`, and the scope owns it.
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
///
/// Dropping the handle finishes the coroutine at once (as
/// [`Coroutine`](crate::Coroutine)'s drop does); a handle that is leaked
/// instead leaves that to the end of the scope.
pub struct ScopedCoroutine<'scope, I, Y, R> {
    entry: NonNull<Entry<'scope, I, Y, R>>,
    list: &'scope List,
    _marker: PhantomData<CoroutineMarker<'scope, I, Y, R>>,
}

impl<I, Y, R> ScopedCoroutine<'_, I, Y, R> {
    /// The coroutine, for a resume: refused while it is being finished (a
    /// destructor that runs during its clean-up reached a leaked handle).
    #[inline]
    #[track_caller]
    fn raw_for_resume(&mut self) -> &mut RawCoroutine<'_, I, Y, R, Stack> {
        let e = self.entry.as_ptr();
        // SAFETY: the entry lives as long as the handle (only the handle's
        // drop, `into_stack`, or the end of the scope, after which the
        // handle is unreachable, release it). The header is read through
        // its cells; the `&mut` covers the coroutine alone, which nothing
        // else touches unless it is busy.
        unsafe {
            if (*e).header.busy.get() {
                being_finished();
            }
            &mut (*e).raw
        }
    }

    fn raw(&self) -> &RawCoroutine<'_, I, Y, R, Stack> {
        // SAFETY: as in `raw_for_resume`; a shared view.
        unsafe { &(*self.entry.as_ptr()).raw }
    }

    /// As [`Coroutine::resume`](crate::Coroutine::resume).
    ///
    /// # Panics
    /// As [`Coroutine::resume`](crate::Coroutine::resume); and if the
    /// coroutine is being finished (a destructor running during its
    /// clean-up reached its handle).
    #[inline]
    #[track_caller]
    pub fn resume(&mut self, input: I) -> CoroutineResult<Y, R> {
        self.raw_for_resume().resume(input)
    }

    /// As [`Coroutine::is_done`](crate::Coroutine::is_done).
    pub fn is_done(&self) -> bool {
        self.raw().is_done()
    }

    /// As [`Coroutine::is_fresh`](crate::Coroutine::is_fresh).
    pub fn is_fresh(&self) -> bool {
        self.raw().is_fresh()
    }

    /// As [`Coroutine::stack`](crate::Coroutine::stack).
    pub fn stack(&self) -> &Stack {
        self.raw().stack()
    }

    /// As [`Coroutine::into_stack`](crate::Coroutine::into_stack).
    ///
    /// # Panics
    /// If the coroutine is being finished (as [`resume`](Self::resume)).
    #[track_caller]
    pub fn into_stack(self) -> Stack {
        let this = ManuallyDrop::new(self);
        let e = this.entry.as_ptr();
        // SAFETY: as in `Drop`; the handle is consumed, so the entry is
        // released exactly once, here.
        unsafe {
            if (*e).header.busy.get() {
                being_finished();
            }
            (*e).header.busy.set(true);
            finish_scoped(&mut (*e).raw);
            this.list.unlink(e.cast());
            ptr::read(&(*e).raw).into_stack()
        }
    }
}

impl<I, Y, R> Drop for ScopedCoroutine<'_, I, Y, R> {
    fn drop(&mut self) {
        let e = self.entry.as_ptr();
        // SAFETY: the entry is live (see `raw_for_resume`) and in the
        // scope's list. If it is busy, the scope is finishing it further up
        // this stack and releases it afterwards. Otherwise we finish it
        // (busy meanwhile, so a leaked `&mut` to this handle cannot resume
        // it), unlink it, and release it exactly once.
        unsafe {
            if (*e).header.busy.get() {
                return;
            }
            (*e).header.busy.set(true);
            finish_scoped(&mut (*e).raw);
            self.list.unlink(e.cast());
            release_entry::<I, Y, R>(e.cast());
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn being_finished() -> ! {
    panic!("swapctx: a scoped coroutine was resumed while it is being finished (dropped)")
}

/// A generator made in a [`scope`]; like [`Generator`](crate::Generator),
/// but its closure may borrow for `'scope`.
///
/// ```
/// let text = String::from("a bb ccc");
/// let lens: Vec<usize> = swapctx::scope(|s| {
///     s.generator(|y| text.split(' ').for_each(|w| y.suspend(w.len()))).collect()
/// });
/// assert_eq!(lens, [1, 2, 3]);
/// ```
pub struct ScopedGenerator<'scope, T> {
    co: ScopedCoroutine<'scope, (), T, ()>,
}

impl<T> Iterator for ScopedGenerator<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        generator_next(self.co.raw_for_resume())
    }
}

impl<T> core::iter::FusedIterator for ScopedGenerator<'_, T> {}
