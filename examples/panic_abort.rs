//! What swapctx does when it cannot unwind: this program is built with
//! `panic = "abort"` (`cargo run --profile panic-abort --example
//! panic_abort`) and checks that a dropped suspended coroutine's stack is
//! leaked, never freed or reused, while values on it were not dropped.
//! `tests/soundness.rs` builds and runs it.
//!
//! `panic_abort` runs the checks and prints one line each; `panic_abort
//! scoped` drops a suspended scoped coroutine, which must abort with
//! swapctx's message.

use std::pin::pin;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use swapctx::coroutine::abandoned_stacks;
use swapctx::{Coroutine, CoroutineResult, StackPool, Yielder};

/// A value pinned on a coroutine's stack; its bytes must stay as they are
/// until its `Drop` runs (it never does here).
struct Pinned([u64; 4]);

const PATTERN: [u64; 4] = [0x5157_4150_4354_5821, 1, 2, 3];

impl Drop for Pinned {
    fn drop(&mut self) {
        println!("Pinned dropped (it must not be: there is no unwinding)");
        std::process::exit(1);
    }
}

fn check(what: &str, ok: bool) {
    println!("{}: {what}", if ok { "ok" } else { "FAILED" });
    if !ok {
        std::process::exit(1);
    }
}

/// A coroutine that pins a value on its stack, hands out its address and
/// suspends.
fn pinning_coroutine(pool: &StackPool) -> (Coroutine<(), usize, ()>, *const [u64; 4]) {
    let mut co = Coroutine::with_stack(pool.stack().unwrap(), |y: &Yielder<(), usize>, ()| {
        let p = pin!(Pinned(PATTERN));
        y.suspend(&p.0 as *const [u64; 4] as usize);
    });
    let CoroutineResult::Yield(at) = co.resume(()) else {
        unreachable!()
    };
    (co, at as *const [u64; 4])
}

fn main() {
    if cfg!(panic = "unwind") {
        eprintln!("build this program with panic = \"abort\": --profile panic-abort");
        std::process::exit(2);
    }
    if std::env::args().nth(1).as_deref() == Some("scoped") {
        swapctx::scope(|s| {
            let mut co = s.coroutine(|y: &Yielder<(), ()>, ()| y.suspend(()));
            let _ = co.resume(());
            drop(co); // cannot be unwound, cannot be leaked: abort
        });
        println!("still running after dropping a suspended scoped coroutine");
        std::process::exit(1);
    }

    let pool = StackPool::new(64 * 1024, 8).unwrap();

    // Drop: the stack is leaked, not given back to the pool.
    let (co, at) = pinning_coroutine(&pool);
    let old_top = co.stack().top();
    drop(co);
    check("drop counts an abandoned stack", abandoned_stacks() == 1);
    let again = pool.stack().unwrap();
    check(
        "the pool does not hand out the leaked stack",
        again.top() != old_top,
    );
    drop(again);
    // SAFETY: the leaked stack stays mapped for good; nothing writes it.
    let bytes = unsafe { ptr::read_volatile(at) };
    check("the pinned value's bytes are untouched", bytes == PATTERN);

    // into_stack: a new stack instead of the leaked one.
    let (co, at) = pinning_coroutine(&pool);
    let old_top = co.stack().top();
    let fresh = co.into_stack();
    check(
        "into_stack counts an abandoned stack",
        abandoned_stacks() == 2,
    );
    check("into_stack gives a different stack", fresh.top() != old_top);
    let mut reuse = Coroutine::<(), (), u8>::with_stack(fresh, |_, ()| 7);
    check(
        "that stack runs a coroutine",
        reuse.resume(()) == CoroutineResult::Return(7),
    );
    // SAFETY: as above.
    let bytes = unsafe { ptr::read_volatile(at) };
    check("the pinned value's bytes are untouched", bytes == PATTERN);

    // A thread started inside the coroutine keeps reading the coroutine's
    // locals after the drop: they stay mapped.
    static READS: AtomicUsize = AtomicUsize::new(0);
    let mut co = Coroutine::<(), (), ()>::new(|y, ()| {
        let local = [7u64; 64];
        std::thread::scope(|ts| {
            ts.spawn(|| loop {
                assert_eq!(std::hint::black_box(&local).iter().sum::<u64>(), 7 * 64);
                READS.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            });
            y.suspend(());
        });
    });
    let _ = co.resume(());
    drop(co);
    let before = READS.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    check(
        "a thread reading the dropped coroutine's locals still runs",
        READS.load(Ordering::SeqCst) > before,
    );
    check("three stacks abandoned in all", abandoned_stacks() == 3);
}
