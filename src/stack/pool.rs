//! [`StackPool`]: stacks that go back to a pool when dropped, to be handed
//! out again without a system call.
//!
//! A pooled [`Stack`]'s record carries a counted link (one strong count of
//! an `Arc`) to the pool's shared part. Its `Drop` gives it back instead of
//! unmapping it, so a coroutine made on a
//! pooled stack returns the stack whatever way it ends (returned, panicked,
//! dropped while suspended: the coroutine unwinds its stack first and drops
//! it last). Nothing in `coroutine.rs` knows about pools.
//!
//! Cheap by construction:
//! - a `StackPool` belongs to the thread that made it (it is `!Send` and
//!   `!Sync`, like a `Coroutine`), so its idle list is a plain `Vec` that
//!   only that thread touches: handing out and taking back a stack is a
//!   `pop` and a `push` of its two words, with no atomic read-modify-write
//!   and no lock; the push checks one bound (`Local::fast_limit`);
//! - an idle stack keeps its link, so the reference count does not move on
//!   reuse either; the links form a cycle (pool → idle stacks → pool) that
//!   the pool's `Drop` breaks by unmapping its idle stacks.
//!
//! A pooled stack may still be sent to and dropped on another thread
//! (`Stack` is `Send`): it then goes into a second, locked list, which the
//! pool's thread takes in when its own list runs dry.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{GuardKind, Stack};
use crate::error::Result;

/// What a [`StackPool`] does with the memory of a stack that comes back.
///
/// A stack keeps the pages its last user touched; giving them back to the
/// kernel (`MADV_DONTNEED`) costs a system call now and a page fault per
/// page on the next use, keeping them costs their memory while the stack
/// is idle.
///
/// # Examples
/// ```
/// use swapctx::{Release, StackPool};
///
/// // Keep the pages of 8 idle stacks, release those of the rest.
/// let pool = StackPool::builder().max_idle(64).release(Release::AboveIdle(8)).build()?;
/// # Ok::<(), swapctx::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Release {
    /// Keep every idle stack's pages (the default; the fastest).
    #[default]
    Never,
    /// Release the pages of every stack that comes back.
    OnReturn,
    /// Keep the pages of the first `n` idle stacks, release those of any
    /// stack that comes back while `n` or more are idle.
    AboveIdle(usize),
}

/// What the pool's own thread keeps.
struct Local {
    idle: Vec<Stack>,
    /// The hot path of [`give_back`] may push while `idle.len()` is below
    /// this: `min(max_idle, idle.capacity())` while the pool is open and
    /// keeps pages ([`Release::Never`]), 0 otherwise. One comparison then
    /// covers "open", "room left", "no release" and "no reallocation".
    fast_limit: usize,
    /// Set by the pool's `Drop`: stacks that come back are unmapped.
    closed: bool,
}

impl Local {
    /// Recomputes `fast_limit` after `idle`'s capacity or `closed` changed.
    fn update_fast_limit(&mut self, shared_max_idle: usize, release: Release) {
        self.fast_limit = if self.closed || release != Release::Never {
            0
        } else {
            shared_max_idle.min(self.idle.capacity())
        };
    }
}

/// What stacks dropped on other threads go through.
struct Remote {
    idle: Vec<Stack>,
    closed: bool,
}

/// The part of a pool that its stacks link to.
pub(crate) struct Shared {
    /// The thread that made the pool; the only one that touches `local`.
    owner: usize,
    local: UnsafeCell<Local>,
    remote: Mutex<Remote>,
    /// `remote.idle.len()`, readable without the lock.
    remote_len: AtomicUsize,
    size: usize,
    max_idle: usize,
    release: Release,
    guard: Option<GuardKind>,
    guard_size: usize,
}

// SAFETY: `local` is only touched on the thread `owner` (by the pool, which
// is `!Send`/`!Sync`, and by `give_back`, which checks the thread); every
// other field is immutable, atomic or behind the mutex.
unsafe impl Sync for Shared {}

// A pooled stack's link to its pool is its record's `pool` field: one
// strong count of an `Arc<Shared>`, held as a plain pointer. It has no drop
// glue (nor has `Stack`), so giving a stack back is a bitwise move of its
// two words into the idle list. The count is given back by `take_link`,
// which only the unmapping paths below call.

/// The pool of a pooled stack, as a raw pointer (valid while the stack, or
/// whatever holds its count, keeps it); null for a stack without one.
#[inline]
fn link(stack: &Stack) -> *const Shared {
    stack.data().pool.load(Ordering::Relaxed)
}

/// Makes `stack` a stack of `shared`'s pool, taking a count.
fn set_link(stack: &Stack, shared: &Arc<Shared>) {
    let raw = Arc::into_raw(Arc::clone(shared));
    stack.data().pool.store(raw.cast_mut(), Ordering::Relaxed);
}

/// Unlinks `stack` from its pool and hands over the count it held.
fn take_link(stack: &Stack) -> Option<Arc<Shared>> {
    let raw = stack.data().pool.swap(ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: a non-null link is a count taken by `set_link`, handed over
    // exactly once (the field is null now).
    (!raw.is_null()).then(|| unsafe { Arc::from_raw(raw.cast_const()) })
}

/// Gives a pooled stack that is being dropped back to its pool: moves
/// `*stack` bitwise into the idle list, or, off the hot path, hands it to
/// [`give_back_slow`]. Either way `*stack` is no longer owned afterwards:
/// its fields have no drop glue, and the caller must not use it again.
///
/// # Safety
/// `stack` must be a pooled stack in its `Drop`, and `shared` its link.
#[inline]
pub(super) unsafe fn give_back(stack: &mut Stack, shared: *const Shared) {
    crate::tools::stack_unmapped(stack.data().tools());
    // SAFETY: a pooled stack's link holds a count of its pool's `Shared`,
    // which stays alive while we use it (the stack keeps the count, in the
    // idle list or here).
    let shared = unsafe { &*shared };
    // The hot path: back on the pool's own thread, below the fast limit
    // (open, room left without reallocating, nothing to release).
    if shared.owner == crate::thread::known_id() {
        // SAFETY: we are on the pool's thread, and no other borrow of
        // `local` is live: the pool does not drop stacks while it holds one.
        let local = unsafe { &mut *shared.local.get() };
        let len = local.idle.len();
        if len < local.fast_limit {
            // SAFETY: `len < fast_limit <= capacity`, so slot `len` is
            // spare capacity; the bitwise copy becomes the owner (the
            // original is not dropped again, see above).
            unsafe {
                local.idle.as_mut_ptr().add(len).write(ptr::read(stack));
                local.idle.set_len(len + 1);
            }
            return;
        }
    }
    // SAFETY: as above: the copy owns the stack from now on.
    give_back_slow(unsafe { ptr::read(stack) });
}

/// The rest of [`give_back`]: another thread, a release policy, a full or
/// closed pool, an idle list that must grow.
#[cold]
#[inline(never)]
fn give_back_slow(stack: Stack) {
    // SAFETY: the link's count keeps `shared` alive until `unmap_pooled`
    // gives it up, after the last use below (a stack moved into a list
    // keeps its count there).
    let shared: &Shared = unsafe { &*link(&stack) };
    if shared.owner == crate::thread::id() {
        // SAFETY: as in `give_back`.
        let local = unsafe { &mut *shared.local.get() };
        if !local.closed && local.idle.len() < shared.max_idle {
            if shared.releases(local.idle.len()) {
                stack.release_pages();
            }
            local.idle.push(stack);
            local.update_fast_limit(shared.max_idle, shared.release);
            return;
        }
    } else {
        let mut remote = shared.remote.lock().unwrap_or_else(|e| e.into_inner());
        if !remote.closed && remote.idle.len() < shared.max_idle {
            if shared.releases(remote.idle.len()) {
                stack.release_pages();
            }
            remote.idle.push(stack);
            shared
                .remote_len
                .store(remote.idle.len(), Ordering::Relaxed);
            return;
        }
    }
    // Full or closed.
    unmap_pooled(stack);
}

/// Unmaps a pooled stack instead of giving it back, then gives up its link
/// (which may free the pool's shared part, so only after the stack is
/// gone).
fn unmap_pooled(stack: Stack) {
    let link = take_link(&stack);
    drop(stack);
    drop(link);
}

impl Shared {
    /// Whether a stack that comes back while `idle` are idle gives its
    /// pages back.
    fn releases(&self, idle: usize) -> bool {
        match self.release {
            Release::Never => false,
            Release::OnReturn => true,
            Release::AboveIdle(n) => idle >= n,
        }
    }
}

/// A pool of stacks of one size: [`StackPool::stack`] hands out an idle
/// one if there is one, else maps a new one; dropping a stack from the pool
/// (or the coroutine that owns it) gives it back, and the pool keeps at
/// most `max_idle` of them.
///
/// Creating a coroutine from a pool costs no system call once the pool has
/// warmed up: see BENCHMARKS.md for the numbers (create + run + drop takes
/// about 5 ns there, a little less than reusing a stack by hand with
/// [`Coroutine::into_stack`](crate::Coroutine::into_stack) and over a
/// thousand times less than mapping a fresh stack).
///
/// A pool belongs to the thread that made it, like a
/// [`Coroutine`](crate::Coroutine): make one per thread. Its stacks may be
/// dropped anywhere; a stack dropped on another thread comes back through
/// a lock.
///
/// # Examples
/// ```
/// use swapctx::{Coroutine, CoroutineResult, StackPool};
///
/// let pool = StackPool::new(64 * 1024, 16)?;
/// for i in 0..100u32 {
///     let mut co = Coroutine::<u32, (), u32>::with_stack(pool.stack()?, |_, x| x + 1);
///     assert_eq!(co.resume(i), CoroutineResult::Return(i + 1));
/// } // each coroutine gives its stack back here
/// assert_eq!(pool.idle(), 1); // one stack served all hundred
/// # Ok::<(), swapctx::Error>(())
/// ```
///
/// A pool is `!Send`:
///
/// ```compile_fail
/// let pool = swapctx::StackPool::new(64 * 1024, 16).unwrap();
/// std::thread::spawn(move || drop(pool));
/// ```
pub struct StackPool {
    shared: Arc<Shared>,
    /// Not Send, not Sync: `local` is this thread's.
    _thread: PhantomData<*mut ()>,
}

/// Settings for a [`StackPool`]; from [`StackPool::builder`].
///
/// # Examples
/// ```
/// use swapctx::{GuardKind, Release, StackPool};
///
/// let pool = StackPool::builder()
///     .stack_size(32 * 1024)
///     .max_idle(1000)
///     .release(Release::OnReturn)
///     .guard(GuardKind::Mprotect)
///     .build()?;
/// assert_eq!(pool.stack()?.guard_kind(), GuardKind::Mprotect);
/// # Ok::<(), swapctx::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StackPoolBuilder {
    size: usize,
    max_idle: usize,
    release: Release,
    guard: Option<GuardKind>,
    guard_size: usize,
}

impl StackPoolBuilder {
    /// Usable bytes per stack, rounded as by [`Stack::new`]; default
    /// [`Stack::DEFAULT_SIZE`].
    pub fn stack_size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// At most this many idle stacks are kept; more that come back are
    /// unmapped. Default 1024.
    pub fn max_idle(mut self, n: usize) -> Self {
        self.max_idle = n;
        self
    }

    /// What happens to the pages of a stack that comes back; default
    /// [`Release::Never`].
    pub fn release(mut self, release: Release) -> Self {
        self.release = release;
        self
    }

    /// The kind of guard page for new stacks, as by [`Stack::new_with`];
    /// default: [`GuardKind::preferred`], with its fallback.
    pub fn guard(mut self, kind: GuardKind) -> Self {
        self.guard = Some(kind);
        self
    }

    /// The size of the guard region below each stack, as by
    /// [`Stack::with_guard_size`]; default [`Stack::DEFAULT_GUARD_SIZE`].
    ///
    /// # Examples
    /// ```
    /// use swapctx::StackPool;
    ///
    /// // Frames of up to 8 MiB end in the overflow message on every target.
    /// let pool = StackPool::builder().guard_size(8 << 20).build()?;
    /// assert_eq!(pool.stack()?.guard().1, 8 << 20);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn guard_size(mut self, bytes: usize) -> Self {
        self.guard_size = bytes;
        self
    }

    /// Makes the pool (no stack is mapped yet; see [`StackPool::prefill`]).
    ///
    /// # Errors
    /// [`Error::ZeroStackSize`](crate::Error::ZeroStackSize) or
    /// [`Error::StackSizeOverflow`](crate::Error::StackSizeOverflow) for a
    /// size that [`Stack::new`] would refuse.
    pub fn build(self) -> Result<StackPool> {
        let (usable, _) = super::sizes(self.size, self.guard_size)?;
        let owner = crate::thread::id();
        Ok(StackPool {
            shared: Arc::new(Shared {
                owner,
                local: UnsafeCell::new({
                    let mut local = Local {
                        idle: Vec::with_capacity(self.max_idle.min(1024)),
                        fast_limit: 0,
                        closed: false,
                    };
                    local.update_fast_limit(self.max_idle, self.release);
                    local
                }),
                remote: Mutex::new(Remote {
                    idle: Vec::new(),
                    closed: false,
                }),
                remote_len: AtomicUsize::new(0),
                size: usable,
                max_idle: self.max_idle,
                release: self.release,
                guard: self.guard,
                guard_size: self.guard_size,
            }),
            _thread: PhantomData,
        })
    }
}

impl StackPool {
    /// A pool of stacks of `stack_size` usable bytes that keeps at most
    /// `max_idle` idle ones; other settings as [`StackPool::builder`].
    ///
    /// # Errors
    /// As [`StackPoolBuilder::build`].
    ///
    /// # Examples
    /// ```
    /// let pool = swapctx::StackPool::new(64 * 1024, 16)?;
    /// assert_eq!(pool.stack()?.size(), 64 * 1024);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn new(stack_size: usize, max_idle: usize) -> Result<StackPool> {
        StackPool::builder()
            .stack_size(stack_size)
            .max_idle(max_idle)
            .build()
    }

    /// Settings, starting from the defaults: [`Stack::DEFAULT_SIZE`], at
    /// most 1024 idle stacks, [`Release::Never`], the preferred guard of
    /// [`Stack::DEFAULT_GUARD_SIZE`].
    ///
    /// # Examples
    /// ```
    /// let pool = swapctx::StackPool::builder().max_idle(4).build()?;
    /// assert_eq!(pool.stack_size(), swapctx::Stack::DEFAULT_SIZE);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn builder() -> StackPoolBuilder {
        StackPoolBuilder {
            size: Stack::DEFAULT_SIZE,
            max_idle: 1024,
            release: Release::Never,
            guard: None,
            guard_size: Stack::DEFAULT_GUARD_SIZE,
        }
    }

    /// An idle stack if there is one, else a new one; dropping it gives it
    /// back to this pool.
    ///
    /// # Errors
    /// As [`Stack::new`], when a new stack must be mapped and cannot be.
    ///
    /// # Examples
    /// ```
    /// let pool = swapctx::StackPool::new(64 * 1024, 16)?;
    /// let first = pool.stack()?;
    /// let bottom = first.bottom();
    /// drop(first);
    /// assert_eq!(pool.stack()?.bottom(), bottom); // the same stack again
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    #[inline]
    pub fn stack(&self) -> Result<Stack> {
        if let Some(stack) = self.pop() {
            stack.data().set_tools(crate::tools::stack_mapped(
                stack.bottom() as usize,
                stack.top() as usize,
            ));
            return Ok(stack);
        }
        self.fresh()
    }

    /// The last idle stack, taking in those that came back on other
    /// threads if this thread has none.
    #[inline]
    fn pop(&self) -> Option<Stack> {
        // SAFETY: the pool is on its own thread (`!Send`, `!Sync`); the
        // borrow ends before anything that could drop a stack.
        let local = unsafe { &mut *self.shared.local.get() };
        if let Some(stack) = local.idle.pop() {
            return Some(stack);
        }
        if self.shared.remote_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.take_remote();
        // SAFETY: as above.
        unsafe { &mut *self.shared.local.get() }.idle.pop()
    }

    /// Moves the stacks that came back on other threads to this thread's
    /// list, unmapping those beyond `max_idle`.
    #[cold]
    fn take_remote(&self) {
        let came_back = {
            let mut remote = self.shared.remote.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.remote_len.store(0, Ordering::Relaxed);
            core::mem::take(&mut remote.idle)
        };
        let mut excess = Vec::new();
        {
            // SAFETY: as in `pop`; no stack is dropped while it is borrowed.
            let local = unsafe { &mut *self.shared.local.get() };
            for stack in came_back {
                if local.idle.len() < self.shared.max_idle {
                    local.idle.push(stack);
                } else {
                    excess.push(stack);
                }
            }
            local.update_fast_limit(self.shared.max_idle, self.shared.release);
        }
        excess.into_iter().for_each(unmap_pooled);
    }

    #[cold]
    fn fresh(&self) -> Result<Stack> {
        let (size, guard) = (self.shared.size, self.shared.guard_size);
        let stack = match self.shared.guard {
            Some(kind) => Stack::map(size, guard, kind, false)?,
            None => Stack::map(size, guard, GuardKind::preferred(), true)?,
        };
        set_link(&stack, &self.shared);
        Ok(stack)
    }

    /// Maps stacks until `n` are idle (never more than `max_idle`), so that
    /// the next `n` [`stack`](StackPool::stack) calls cost no system call.
    ///
    /// # Errors
    /// As [`Stack::new`]; the stacks mapped before the error stay idle.
    ///
    /// # Examples
    /// ```
    /// let pool = swapctx::StackPool::new(64 * 1024, 16)?;
    /// pool.prefill(8)?;
    /// assert_eq!(pool.idle(), 8);
    /// pool.prefill(100)?;
    /// assert_eq!(pool.idle(), 16);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn prefill(&self, n: usize) -> Result<()> {
        let n = n.min(self.shared.max_idle);
        while self.idle() < n {
            let stack = self.fresh()?;
            drop(stack); // comes back as idle
        }
        Ok(())
    }

    /// How many idle stacks this thread's list holds.
    pub fn idle(&self) -> usize {
        // SAFETY: as in `pop`: our thread, a read of the length only.
        unsafe { &*self.shared.local.get() }.idle.len()
    }

    /// The usable size of the pool's stacks (rounded as by [`Stack::new`]).
    pub fn stack_size(&self) -> usize {
        self.shared.size
    }

    /// The most idle stacks the pool keeps.
    pub fn max_idle(&self) -> usize {
        self.shared.max_idle
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        let local = {
            // SAFETY: as in `pop`; the borrow ends before the stacks drop.
            let local = unsafe { &mut *self.shared.local.get() };
            local.closed = true;
            local.update_fast_limit(self.shared.max_idle, self.shared.release);
            core::mem::take(&mut local.idle)
        };
        let remote = {
            let mut remote = self.shared.remote.lock().unwrap_or_else(|e| e.into_inner());
            remote.closed = true;
            core::mem::take(&mut remote.idle)
        };
        // Each comes back to a closed pool, so it is unmapped.
        drop(local);
        drop(remote);
    }
}

impl core::fmt::Debug for StackPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StackPool")
            .field("stack_size", &self.shared.size)
            .field("max_idle", &self.shared.max_idle)
            .field("idle", &self.idle())
            .field("release", &self.shared.release)
            .field("guard", &self.shared.guard)
            .field("guard_size", &self.shared.guard_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Coroutine, CoroutineResult};

    #[cfg(windows)]
    fn resident(_: &Stack) -> usize {
        unreachable!("the residency tests are ignored on Windows")
    }

    #[cfg(unix)]
    fn resident(stack: &Stack) -> usize {
        let page = crate::stack::page_size();
        let mut vec = vec![0u8; stack.size() / page];
        // SAFETY: the usable range of a live stack, one byte per page.
        let rc = unsafe { libc::mincore(stack.bottom().cast(), stack.size(), vec.as_mut_ptr()) };
        assert_eq!(rc, 0);
        vec.iter().filter(|b| **b & 1 != 0).count()
    }

    #[test]
    fn a_stack_is_two_words_and_its_record_starts_clean() {
        assert_eq!(
            core::mem::size_of::<Stack>(),
            2 * core::mem::size_of::<usize>()
        );
        let pool = StackPool::new(Stack::MIN_SIZE, 1).unwrap();
        let a = pool.stack().unwrap();
        let b = pool.stack().unwrap();
        assert!(a.is_pooled() && b.is_pooled());
        drop(a); // kept idle
        drop(b); // the pool is full: unmapped, its record freed for reuse
        assert_eq!(pool.idle(), 1);
        let fresh = Stack::new_with(Stack::MIN_SIZE, GuardKind::Mprotect).unwrap();
        assert!(!fresh.is_pooled());
        assert_eq!(fresh.guard_kind(), GuardKind::Mprotect);
        assert_eq!(fresh.size(), Stack::MIN_SIZE);
        drop(fresh); // unmapped, not given to the pool
        assert_eq!(pool.idle(), 1);
    }

    #[test]
    fn a_stack_comes_back_and_is_handed_out_again() {
        let pool = StackPool::new(64 * 1024, 4).unwrap();
        let s = pool.stack().unwrap();
        assert!(s.is_pooled());
        let (bottom, top) = (s.bottom(), s.top());
        assert_eq!(pool.idle(), 0);
        drop(s);
        assert_eq!(pool.idle(), 1);
        let again = pool.stack().unwrap();
        assert_eq!((again.bottom(), again.top()), (bottom, top));
        assert_eq!(pool.idle(), 0);
    }

    #[test]
    fn at_most_max_idle_stacks_are_kept() {
        let pool = StackPool::new(Stack::MIN_SIZE, 3).unwrap();
        let stacks: Vec<Stack> = (0..10).map(|_| pool.stack().unwrap()).collect();
        drop(stacks);
        assert_eq!(pool.idle(), 3);
        pool.prefill(10).unwrap();
        assert_eq!(pool.idle(), 3);
    }

    #[test]
    fn coroutines_give_their_stack_back_however_they_end() {
        let pool = StackPool::new(64 * 1024, 8).unwrap();
        // Returned.
        let mut co = Coroutine::<u8, (), u8>::with_stack(pool.stack().unwrap(), |_, x| x);
        assert_eq!(co.resume(3), CoroutineResult::Return(3));
        drop(co);
        assert_eq!(pool.idle(), 1);
        // Dropped while suspended mid-body: its stack unwinds, then returns.
        let dropped = std::rc::Rc::new(core::cell::Cell::new(false));
        struct Flag(std::rc::Rc<core::cell::Cell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let flag = Flag(dropped.clone());
        let mut co = Coroutine::<(), (), ()>::with_stack(pool.stack().unwrap(), move |y, ()| {
            let _keep = flag;
            y.suspend(());
        });
        assert_eq!(co.resume(()), CoroutineResult::Yield(()));
        assert_eq!(pool.idle(), 0);
        drop(co);
        assert!(dropped.get(), "the suspended body was not unwound");
        assert_eq!(pool.idle(), 1);
        // Panicked.
        let mut co = Coroutine::<(), (), ()>::with_stack(pool.stack().unwrap(), |_, ()| {
            panic!("inside");
        });
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| co.resume(())));
        assert!(r.is_err());
        assert_eq!(pool.idle(), 0);
        drop(co);
        assert_eq!(pool.idle(), 1);
        // Never resumed.
        let co = Coroutine::<(), (), ()>::with_stack(pool.stack().unwrap(), |_, ()| {});
        drop(co);
        assert_eq!(pool.idle(), 1);
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "reads page residency with mincore, which Windows lacks"
    )]
    fn release_on_return_gives_the_pages_back() {
        let pool = StackPool::builder()
            .stack_size(64 * 1024)
            .release(Release::OnReturn)
            .build()
            .unwrap();
        let s = pool.stack().unwrap();
        // SAFETY: the top 8 KiB of our own live stack.
        unsafe { s.top().sub(8192).write_bytes(1, 8192) };
        assert!(resident(&s) >= 2);
        drop(s);
        let s = pool.stack().unwrap();
        assert_eq!(resident(&s), 0);
        // SAFETY: a byte of our own live stack; it reads as zero again.
        assert_eq!(unsafe { s.top().sub(1).read() }, 0);
    }

    #[test]
    #[cfg_attr(
        windows,
        ignore = "reads page residency with mincore, which Windows lacks"
    )]
    fn release_above_idle_keeps_the_first_ones() {
        let pool = StackPool::builder()
            .stack_size(64 * 1024)
            .release(Release::AboveIdle(1))
            .build()
            .unwrap();
        let a = pool.stack().unwrap();
        let b = pool.stack().unwrap();
        for s in [&a, &b] {
            // SAFETY: the top byte of a live stack of ours.
            unsafe { s.top().sub(1).write(9) };
        }
        let (a_bottom, b_bottom) = (a.bottom(), b.bottom());
        drop(a); // 0 idle: kept as is
        drop(b); // 1 idle: released
        let b = pool.stack().unwrap();
        let a = pool.stack().unwrap();
        assert_eq!((a.bottom(), b.bottom()), (a_bottom, b_bottom));
        assert_eq!(resident(&a), 1);
        assert_eq!(resident(&b), 0);
    }

    #[test]
    fn a_stack_dropped_on_another_thread_comes_back() {
        let pool = StackPool::new(64 * 1024, 4).unwrap();
        let s = pool.stack().unwrap();
        let bottom = s.bottom() as usize;
        std::thread::spawn(move || drop(s)).join().unwrap();
        assert_eq!(pool.idle(), 0); // in the other list until needed
        let again = pool.stack().unwrap();
        assert_eq!(again.bottom() as usize, bottom);
    }

    #[test]
    fn stacks_outliving_their_pool_are_unmapped() {
        let pool = StackPool::new(64 * 1024, 4).unwrap();
        let shared = Arc::downgrade(&pool.shared);
        let s = pool.stack().unwrap();
        let t = pool.stack().unwrap();
        drop(t);
        assert_eq!(pool.idle(), 1);
        assert_eq!(shared.strong_count(), 3); // pool, s, idle t
        drop(pool); // unmaps t
        assert_eq!(shared.strong_count(), 1); // s
        drop(s); // unmapped too, with its link: nothing is left
        assert_eq!(shared.strong_count(), 0);
    }

    #[test]
    fn zero_and_huge_sizes_are_refused_up_front() {
        assert!(StackPool::new(0, 4).is_err());
        assert!(StackPool::new(usize::MAX, 4).is_err());
    }
}
