//! Calls on another stack: `swapctx::on_stack` (a stack of the caller's)
//! and `Yielder::on_parent_stack` (the resumer's). The scenarios of
//! corosensei's `on_stack` tests and its `panics_propagated_via_parent`,
//! written for swapctx's API, and what swapctx adds (stack reuse, a
//! suspend from inside, a drop that unwinds through).

use std::backtrace::Backtrace;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use swapctx::{on_stack, Coroutine, CoroutineResult, Stack, StackPool};

/// Sets its flag when dropped.
struct SetOnDrop(Rc<Cell<bool>>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// The stack pointer. (Read from the register: the address of a local
/// would not do under AddressSanitizer, whose fake stacks are elsewhere.)
#[inline(never)]
fn here() -> usize {
    swapctx::raw::current_stack_pointer()
}

/// Recursion with a 10 000-byte frame, touching every frame.
fn recurse(i: u32, p: &mut [u8; 10_000]) -> u32 {
    let p = std::hint::black_box(p);
    p[i as usize % 10_000] = i as u8;
    if i > 0 {
        recurse(i - 1, &mut [0; 10_000]) + 1
    } else {
        0
    }
}

#[test]
fn smoke_result_comes_back_and_the_closure_runs_on_the_stack() {
    let mut stack = Stack::new(256 * 1024).unwrap();
    let (lo, hi) = (stack.bottom() as usize, stack.top() as usize);
    let hit = Rc::new(Cell::new(false));
    let hit2 = hit.clone();
    let (result, sp) = on_stack(&mut stack, move || {
        hit2.set(true);
        ("hello".to_string(), here())
    });
    assert!(hit.get());
    assert_eq!(result, "hello");
    assert!(lo <= sp && sp < hi, "{sp:#x} not in {lo:#x}..{hi:#x}");
    let caller = here();
    assert!(!(lo <= caller && caller < hi), "back on the caller's stack");
}

#[test]
fn panics_propagated_with_their_payload_after_dropping_what_the_closure_held() {
    let dropped = Rc::new(Cell::new(false));
    let b = SetOnDrop(dropped.clone());
    let mut stack = Stack::new(64 * 1024).unwrap();
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        on_stack(&mut stack, move || {
            drop(b);
            panic!("foobar");
        })
    }));
    assert!(dropped.get());
    let payload = result.unwrap_err();
    assert_eq!(*payload.downcast::<&str>().unwrap(), "foobar");
    // The stack is fine for another call.
    assert_eq!(on_stack(&mut stack, || 7), 7);
}

#[test]
fn stack_growth_uses_about_500_kib() {
    let mut stack = Stack::new(1024 * 1024).unwrap();
    let n = on_stack(&mut stack, || recurse(50, &mut [0; 10_000]));
    assert_eq!(n, 50);
}

#[test]
fn the_same_stack_serves_many_calls_and_a_pooled_stack_works_too() {
    let mut stack = Stack::new(1024 * 1024).unwrap();
    for i in 0..100u32 {
        assert_eq!(
            on_stack(&mut stack, || recurse(i % 40, &mut [0; 10_000])),
            i % 40
        );
    }
    let pool = StackPool::new(512 * 1024, 4).unwrap();
    let mut pooled = pool.stack().unwrap();
    assert_eq!(on_stack(&mut pooled, || recurse(30, &mut [0; 10_000])), 30);
    drop(pooled);
    assert_eq!(pool.idle(), 1);
}

#[test]
fn nested_calls_on_two_stacks() {
    let mut a = Stack::new(64 * 1024).unwrap();
    let mut b = Stack::new(64 * 1024).unwrap();
    let (b_lo, b_hi) = (b.bottom() as usize, b.top() as usize);
    let v = on_stack(&mut a, || on_stack(&mut b, || (here(), 5)));
    assert!(b_lo <= v.0 && v.0 < b_hi);
    assert_eq!(v.1, 5);
}

#[test]
fn backward_stack_address_panic_from_another_thread() {
    // Stack made before the thread: (on Linux) above the thread's stack.
    let stack = Stack::new(1024 * 1024).unwrap();
    let result = std::thread::spawn(move || {
        let mut stack = stack;
        on_stack(&mut stack, || panic!("foobar"));
    })
    .join();
    let payload = result.unwrap_err();
    assert_eq!(*payload.downcast::<&str>().unwrap(), "foobar");
}

#[test]
fn forward_stack_address_panic_from_another_thread() {
    let result = std::thread::spawn(|| {
        let mut stack = Stack::new(1024 * 1024).unwrap();
        on_stack(&mut stack, || panic!("foobar"));
    })
    .join();
    let payload = result.unwrap_err();
    assert_eq!(*payload.downcast::<&str>().unwrap(), "foobar");
}

/// The function names in a captured backtrace, in order.
fn frames(bt: &str) -> Vec<String> {
    bt.lines()
        .filter_map(|l| l.trim().split_once(": ").map(|(_, f)| f.to_string()))
        .filter(|f| !f.starts_with("at "))
        .collect()
}

#[inline(never)]
fn capture_inside() -> String {
    std::hint::black_box(Backtrace::force_capture().to_string())
}

#[inline(never)]
fn look_for_me_on_stack() -> String {
    let mut stack = Stack::new(256 * 1024).unwrap();
    on_stack(&mut stack, capture_inside)
}

#[test]
fn backtrace_traces_to_host() {
    let bt = look_for_me_on_stack();
    let f = frames(&bt);
    let pos = |name: &str| f.iter().position(|l| l.ends_with(name));
    let leaf = pos("capture_inside").unwrap_or_else(|| panic!("no leaf frame:\n{bt}"));
    let host = pos("look_for_me_on_stack")
        .unwrap_or_else(|| panic!("the backtrace stops at the other stack:\n{bt}"));
    let test = pos("backtrace_traces_to_host")
        .unwrap_or_else(|| panic!("the backtrace does not reach the test:\n{bt}"));
    // The assembly trampoline: swapctx_<version>_on_stack.
    let tramp = f
        .iter()
        .position(|l| l.starts_with("swapctx_") && l.ends_with("_on_stack"))
        .unwrap_or_else(|| panic!("no trampoline frame:\n{bt}"));
    assert!(
        leaf < tramp && tramp < host && host < test,
        "frames out of order:\n{bt}"
    );
}

#[inline(never)]
fn look_for_me_on_parent_stack() -> String {
    let mut co = Coroutine::<(), (), String>::new(|y, ()| y.on_parent_stack(capture_inside));
    match co.resume(()) {
        CoroutineResult::Return(bt) => bt,
        CoroutineResult::Yield(()) => unreachable!(),
    }
}

#[test]
fn backtrace_from_the_parent_stack_traces_through_the_coroutine_to_its_resumer() {
    let bt = look_for_me_on_parent_stack();
    let f = frames(&bt);
    let pos = |name: &str| f.iter().position(|l| l.ends_with(name));
    let leaf = pos("capture_inside").unwrap_or_else(|| panic!("no leaf frame:\n{bt}"));
    let co_tramp =
        pos("coroutine_trampoline").unwrap_or_else(|| panic!("no coroutine frames:\n{bt}"));
    let host = pos("look_for_me_on_parent_stack")
        .unwrap_or_else(|| panic!("the backtrace does not reach the resumer:\n{bt}"));
    assert!(
        leaf < co_tramp && co_tramp < host,
        "frames out of order:\n{bt}"
    );
}

#[test]
fn on_parent_stack_runs_on_the_resumers_stack_below_its_frames() {
    let resumer_sp = here();
    let mut co = Coroutine::<(), (), (usize, usize)>::with_stack(
        Stack::new(Stack::MIN_SIZE).unwrap(),
        |y, ()| {
            let inside = here();
            let parent = y.on_parent_stack(here);
            (inside, parent)
        },
    );
    let stack = (co.stack().bottom() as usize, co.stack().top() as usize);
    let CoroutineResult::Return((inside, parent)) = co.resume(()) else {
        panic!("no return")
    };
    assert!(stack.0 <= inside && inside < stack.1);
    assert!(
        !(stack.0 <= parent && parent < stack.1),
        "f ran on the coroutine's stack"
    );
    // On the resumer's stack, below this frame and not far from it.
    assert!(parent < resumer_sp && resumer_sp - parent < 1024 * 1024);
}

#[test]
fn on_parent_stack_gives_a_small_coroutine_room_for_deep_work() {
    // The resumer runs on a thread with room for the work.
    let h = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(|| {
            let mut co = Coroutine::<u32, u32, u32>::with_stack(
                Stack::new(Stack::MIN_SIZE).unwrap(),
                |y, n| {
                    // 20 frames of 10 kB: far more than the coroutine's 16 KiB.
                    let deep = y.on_parent_stack(move || recurse(n, &mut [0; 10_000]));
                    let again = y.suspend(deep);
                    y.on_parent_stack(move || recurse(again, &mut [0; 10_000]))
                },
            );
            assert_eq!(co.resume(20), CoroutineResult::Yield(20));
            assert_eq!(co.resume(30), CoroutineResult::Return(30));
        })
        .unwrap();
    h.join().unwrap();
}

#[test]
fn panics_propagated_via_parent() {
    let dropped = Rc::new(Cell::new(false));
    let b = SetOnDrop(dropped.clone());
    let mut co = Coroutine::<(), (), ()>::new(move |y, ()| {
        drop(b);
        y.on_parent_stack(|| {
            panic!("foobar");
        });
    });
    let result = panic::catch_unwind(AssertUnwindSafe(|| co.resume(())));
    assert!(dropped.get());
    assert_eq!(*result.unwrap_err().downcast::<&str>().unwrap(), "foobar");
    assert!(co.is_done());
}

#[test]
fn a_panic_on_the_parent_stack_unwinds_the_coroutines_frames_and_can_be_caught_there() {
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let mut co = Coroutine::<(), u8, u8>::new(move |y, ()| {
        let _guard = SetOnDrop(d);
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            y.on_parent_stack(|| -> u8 { panic!("on the parent") })
        }));
        let msg = *caught.unwrap_err().downcast::<&str>().unwrap();
        assert_eq!(msg, "on the parent");
        y.suspend(1);
        2
    });
    assert_eq!(co.resume(()), CoroutineResult::Yield(1));
    assert!(!dropped.get());
    assert_eq!(co.resume(()), CoroutineResult::Return(2));
    assert!(dropped.get());
}

#[test]
fn on_parent_stack_from_a_nested_coroutine_runs_on_its_own_resumer() {
    // The inner coroutine's parent is the outer coroutine's stack.
    let mut outer = Coroutine::<(), (), bool>::new(|_, ()| {
        let mut inner = Coroutine::<(), (), usize>::new(|y, ()| y.on_parent_stack(here));
        let outer_sp = here();
        let CoroutineResult::Return(sp) = inner.resume(()) else {
            panic!("no return")
        };
        sp < outer_sp && outer_sp - sp < 64 * 1024
    });
    assert_eq!(outer.resume(()), CoroutineResult::Return(true));
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "ASan is told the coroutine resumes on its own stack, not on the other one"
)]
fn a_suspend_inside_on_stack_stops_the_coroutine_there_and_resumes_it() {
    let mut co = Coroutine::<u32, u32, u32>::new(|y, x| {
        let mut big = Stack::new(1024 * 1024).unwrap();
        let (lo, hi) = (big.bottom() as usize, big.top() as usize);
        on_stack(&mut big, || {
            let a = y.suspend(x + 1);
            let sp = here();
            assert!(lo <= sp && sp < hi, "resumed on the other stack");
            a + recurse(20, &mut [0; 10_000])
        })
    });
    assert_eq!(co.resume(1), CoroutineResult::Yield(2));
    assert_eq!(co.resume(10), CoroutineResult::Return(30));
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "ASan is told the coroutine resumes on its own stack, not on the other one"
)]
fn dropping_a_coroutine_suspended_inside_on_stack_unwinds_both_stacks() {
    let on_other = Rc::new(Cell::new(false));
    let on_own = Rc::new(Cell::new(false));
    let (a, b) = (on_other.clone(), on_own.clone());
    let mut co = Coroutine::<(), (), ()>::new(move |y, ()| {
        let _own = SetOnDrop(b);
        let mut big = Stack::new(256 * 1024).unwrap();
        on_stack(&mut big, move || {
            let _other = SetOnDrop(a);
            y.suspend(());
            unreachable!("dropped, never resumed");
        })
    });
    assert_eq!(co.resume(()), CoroutineResult::Yield(()));
    drop(co);
    assert!(on_other.get() && on_own.get());
}

#[test]
fn on_parent_stack_in_a_scoped_coroutine_may_borrow_from_outside_the_scope() {
    let words = ["stack", "ful"];
    let total = swapctx::scope(|s| {
        let mut co = s.coroutine(|y, ()| {
            // `&[&str; 2]` is Send: the closure may borrow it.
            let n = y.on_parent_stack(|| words.iter().map(|w| w.len()).sum::<usize>());
            y.suspend(n);
            n * 2
        });
        assert_eq!(co.resume(()), CoroutineResult::Yield(8));
        match co.resume(()) {
            CoroutineResult::Return(n) => n,
            CoroutineResult::Yield(_) => unreachable!(),
        }
    });
    assert_eq!(total, 16);
}
