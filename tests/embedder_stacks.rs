//! Coroutines and generators on the embedder's memory (`StackBuf`): a
//! `static` buffer, a `Box<[u8]>`, and the errors for memory that breaks
//! the rules. Runs in every build of the library, and `.ci/run` runs it
//! without `std` (the harness has `std`; the library does not):
//!
//! ```text
//! cargo test -p swapctx --no-default-features --test embedder_stacks
//! cargo test -p swapctx --no-default-features --features alloc --test embedder_stacks
//! ```
//!
//! Also under Valgrind (the `valgrind` feature): a `StackBuf` registers its
//! memory as a stack, as `Stack` does.

use core::cell::Cell;
use core::ptr::addr_of_mut;
use std::rc::Rc;

use swapctx::coroutine::abandoned_stacks;
use swapctx::{Coroutine, CoroutineResult, Error, Generator, StackArea, StackBuf, StackMemory};

/// 64 KiB of static memory for each test that needs one.
macro_rules! static_stack {
    () => {{
        static mut AREA: StackArea<{ 64 * 1024 }> = StackArea::new();
        // SAFETY: each expansion has its own AREA, used once, by the one
        // test that expands it; what runs on it fits in 64 KiB.
        unsafe { StackBuf::from_static(&mut (*addr_of_mut!(AREA)).0) }.unwrap()
    }};
}

#[test]
fn a_coroutine_on_a_static_buffer_passes_values_both_ways() {
    let stack = static_stack!();
    let (bottom, top) = (stack.bottom() as usize, stack.top() as usize);
    let mut co =
        Coroutine::<u32, u32, &'static str, StackBuf>::with_stack(stack, move |y, first| {
            // The coroutine runs inside the buffer.
            let sp = swapctx::raw::current_stack_pointer();
            assert!(bottom < sp && sp < top);
            let second = y.suspend(first * 2);
            let _ = y.suspend(second + 1);
            "done"
        });
    assert!(co.is_fresh());
    assert_eq!(co.resume(5), CoroutineResult::Yield(10));
    assert_eq!(co.resume(7), CoroutineResult::Yield(8));
    assert_eq!(co.resume(0), CoroutineResult::Return("done"));
    assert!(co.is_done());
    // A finished coroutine gives its memory back.
    let stack = co.try_into_stack().expect("not abandoned");
    assert_eq!(
        (stack.bottom() as usize, stack.top() as usize),
        (bottom, top)
    );
}

#[test]
fn a_generator_on_a_static_buffer_is_an_iterator() {
    let fib = Generator::with_stack(static_stack!(), |y| {
        let (mut a, mut b) = (0u64, 1u64);
        loop {
            y.suspend(a);
            (a, b) = (b, a + b);
        }
    });
    let first: Vec<u64> = fib.take(10).collect();
    assert_eq!(first, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);
}

#[test]
fn the_same_buffer_runs_coroutine_after_coroutine() {
    let mut stack = static_stack!();
    for i in 0..100u64 {
        let mut co = Coroutine::<(), u64, u64, StackBuf>::with_stack(stack, move |y, ()| {
            y.suspend(i);
            i * 2
        });
        assert_eq!(co.resume(()), CoroutineResult::Yield(i));
        assert_eq!(co.resume(()), CoroutineResult::Return(i * 2));
        stack = co.try_into_stack().unwrap();
    }
}

#[test]
fn memory_too_small_or_misaligned_gets_its_own_error() {
    static mut AREA: StackArea<16384> = StackArea::new();
    // SAFETY: AREA is used by this test only; every call is refused before
    // anything is written.
    let bytes = unsafe { &mut (*addr_of_mut!(AREA)).0 };
    let p = bytes.as_mut_ptr();
    // SAFETY: as above.
    unsafe {
        let err = StackBuf::from_raw_parts(p, 8176).unwrap_err();
        assert_eq!(
            err,
            Error::StackTooSmall {
                size: 8176,
                min: StackBuf::MIN_SIZE
            }
        );
        assert!(
            err.to_string()
                .contains("8176 bytes given; the minimum is 8192"),
            "{err}"
        );
        let err = StackBuf::from_raw_parts(p.add(4), 2048).unwrap_err();
        assert_eq!(
            err,
            Error::StackMisaligned {
                address: p as usize + 4,
                size: 2048
            }
        );
        assert!(err.to_string().contains("multiples of 16 bytes"), "{err}");
        let err = StackBuf::from_raw_parts(p, 2050).unwrap_err();
        assert!(matches!(err, Error::StackMisaligned { size: 2050, .. }));
        let err = StackBuf::from_raw_parts(core::ptr::null_mut(), 8).unwrap_err();
        assert!(matches!(err, Error::StackMisaligned { address: 0, .. }));
    }
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "AddressSanitizer's frames are larger than the minimum allows for"
)]
fn the_smallest_accepted_memory_runs_a_small_coroutine() {
    static mut AREA: StackArea<{ StackBuf::MIN_SIZE }> = StackArea::new();
    // SAFETY: AREA is used by this test only; the coroutine does little.
    let stack = unsafe { StackBuf::from_static(&mut (*addr_of_mut!(AREA)).0) }.unwrap();
    assert_eq!(stack.size(), StackBuf::MIN_SIZE);
    let mut co = Coroutine::<u8, u8, u8, StackBuf>::with_stack(stack, |y, x| y.suspend(x + 1) + 1);
    assert_eq!(co.resume(1), CoroutineResult::Yield(2));
    assert_eq!(co.resume(5), CoroutineResult::Return(6));
}

/// Counts its drops.
struct Counted(Rc<Cell<u32>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Dropping a suspended coroutine: unwound with `std` (its destructors
/// run), abandoned without (its memory is leaked, never reused, and
/// counted), as with `panic = "abort"`.
#[test]
fn dropping_a_suspended_coroutine_follows_the_no_unwind_rule_without_std() {
    let drops = Rc::new(Cell::new(0));
    let before = abandoned_stacks();
    let held = Counted(drops.clone());
    let mut co = Coroutine::<(), (), (), StackBuf>::with_stack(static_stack!(), move |y, ()| {
        let _held = held;
        y.suspend(());
    });
    assert_eq!(co.resume(()), CoroutineResult::Yield(()));
    drop(co);
    if cfg!(all(feature = "std", panic = "unwind")) {
        assert_eq!(drops.get(), 1, "the stack was unwound");
        assert_eq!(abandoned_stacks(), before);
    } else {
        assert_eq!(drops.get(), 0, "nothing on the stack was dropped");
        // At least this one: the count is the process's, and the other
        // tests, on other threads, may abandon stacks meanwhile.
        assert!(
            abandoned_stacks() > before,
            "the abandoned stack is counted"
        );
    }
}

/// A fresh coroutine's closure is dropped in every build (no unwinding
/// needed: it never ran).
#[test]
fn a_fresh_coroutine_drops_its_closure_and_gives_its_memory_back() {
    let drops = Rc::new(Cell::new(0));
    let held = Counted(drops.clone());
    let co = Coroutine::<(), (), (), StackBuf>::with_stack(static_stack!(), move |_, ()| {
        let _held = held;
    });
    assert!(co.try_into_stack().is_some());
    assert_eq!(drops.get(), 1);
}

#[cfg(feature = "alloc")]
#[test]
fn a_coroutine_on_a_boxed_buffer() {
    let boxed = vec![0u8; 32 * 1024 + 7].into_boxed_slice();
    let (start, end) = (
        boxed.as_ptr() as usize,
        boxed.as_ptr() as usize + boxed.len(),
    );
    // SAFETY: what runs on it fits in 32 KiB.
    let stack = unsafe { StackBuf::from_box(boxed) }.unwrap();
    // The aligned part of the box.
    assert_eq!(stack.bottom() as usize % 16, 0);
    assert_eq!(stack.top() as usize % 16, 0);
    assert!(start <= stack.bottom() as usize && stack.top() as usize <= end);
    assert!(stack.size() >= 32 * 1024 + 7 - 30);
    let mut co = Coroutine::<(), u32, (), StackBuf>::with_stack(stack, |y, ()| {
        for i in 0..3 {
            y.suspend(i);
        }
    });
    let got: Vec<u32> = core::iter::from_fn(|| co.resume(()).as_yield().copied()).collect();
    assert_eq!(got, [0, 1, 2]);
    assert!(co.is_done());
    // Dropped: the box is freed.
    drop(co);

    // What is left of a small box is too small; the box is freed.
    // SAFETY: refused before use.
    let err = unsafe { StackBuf::from_box(vec![0u8; 1030].into_boxed_slice()) }.unwrap_err();
    assert!(matches!(err, Error::StackTooSmall { .. }), "{err:?}");
}
