//! The one thread-local word swapctx keeps per thread: the thread's id,
//! whose first use also readies the thread for coroutines.
//!
//! Everything that runs a coroutine or switches a context on a thread
//! calls [`prepare`] first, and the stack pool tells its own thread apart
//! by [`id`]. Both read the same word: one thread-local per thread, where
//! there were two (a flag and the id). Each read is one load where the
//! compiler inlines the thread-local's accessor, and a call to it where
//! rustc put the accessor in another codegen unit of the user's crate
//! (BENCHMARKS.md, "Creating coroutines").

use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering};

std::thread_local! {
    /// The calling thread's id; 0 until its first use.
    static ID: Cell<usize> = const { Cell::new(0) };
}

/// A process-unique id for the calling thread, never 0 (and never reused,
/// unlike a thread-local's address or a `pthread_t`).
#[inline]
pub(crate) fn id() -> usize {
    // A const-initialised Cell without a destructor: `with` is a plain
    // thread-local load and never fails.
    ID.with(|id| match id.get() {
        0 => first_use(id),
        known => known,
    })
}

/// Makes sure the calling thread is ready to run coroutines: its first use
/// gives it an alternate signal stack (see `crate::first_use_of_thread`),
/// so that an overflow on a coroutine's stack can be reported there.
/// Cheap enough for every coroutine made and every C API switch.
#[inline]
pub(crate) fn prepare() {
    let _ = id();
}

/// The calling thread's id if it has one yet, else 0 (no thread's id): to
/// compare with a known id without giving the thread one.
#[inline]
pub(crate) fn known_id() -> usize {
    ID.with(Cell::get)
}

#[cold]
#[inline(never)]
fn first_use(id: &Cell<usize>) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let new = NEXT.fetch_add(1, Ordering::Relaxed);
    id.set(new);
    crate::first_use_of_thread();
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_per_thread_and_never_zero() {
        let here = id();
        assert_ne!(here, 0);
        assert_eq!(id(), here, "the same thread keeps its id");
        let there = std::thread::spawn(id).join().unwrap();
        assert_ne!(there, 0);
        assert_ne!(there, here, "another thread gets another id");
    }
}
