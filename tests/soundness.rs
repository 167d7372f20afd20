//! The soundness rules of `swapctx::coroutine` ("What is sound, and why"),
//! each pinned by a test named after the behaviour it pins. Programs that
//! must crash (or be built with `panic = "abort"`) are in
//! `tests/soundness_crashes.rs`; what must not compile is in
//! `src/compile_fail.rs`.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use swapctx::{Coroutine, CoroutineResult, Stack, Yielder};

thread_local! {
    /// Calls of the panic hook on this thread.
    static HOOK_CALLS: Cell<usize> = const { Cell::new(0) };
    /// Where the last panic on this thread was raised, as `file:line`.
    static LAST_LOCATION: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Counts panic-hook calls per thread (the tests run in parallel) and
/// records where each panic was raised, then prints as usual.
fn count_hook_calls() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            HOOK_CALLS.with(|c| c.set(c.get() + 1));
            if let Some(l) = info.location() {
                LAST_LOCATION.with(|s| *s.borrow_mut() = format!("{}:{}", l.file(), l.line()));
            }
            previous(info);
        }));
    });
}

fn hook_calls() -> usize {
    HOOK_CALLS.with(Cell::get)
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<not a string>".into()
    }
}

/// Sets its flag when dropped.
struct SetOnDrop<'a>(&'a Cell<bool>);
impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

// ---------------------------------------------------------------------------
// Leaks: a scope owns its coroutines.

#[test]
fn a_forgotten_scoped_coroutine_joins_the_threads_it_started_before_its_scope_returns() {
    let data = vec![1u64, 2, 3, 4];
    let stop = AtomicBool::new(false);
    let reads = AtomicUsize::new(0);
    let joined = AtomicBool::new(false);
    swapctx::scope(|s| {
        let mut co = s.coroutine(|y: &Yielder<(), ()>, ()| {
            std::thread::scope(|ts| {
                // Set during the clean-up unwind, so the thread stops and
                // the thread scope can join it.
                struct Stop<'a>(&'a AtomicBool);
                impl Drop for Stop<'_> {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::SeqCst);
                    }
                }
                let _stop = Stop(&stop);
                ts.spawn(|| {
                    while !stop.load(Ordering::SeqCst) {
                        assert_eq!(data.iter().sum::<u64>(), 10);
                        reads.fetch_add(1, Ordering::SeqCst);
                        std::thread::yield_now();
                    }
                });
                y.suspend(());
            });
            joined.store(true, Ordering::SeqCst);
        });
        assert_eq!(co.resume(()), CoroutineResult::Yield(()));
        std::mem::forget(co);
    });
    // The scope unwound the coroutine: the thread scope inside it joined
    // its thread (the code after the thread scope did not run: it was an
    // unwind).
    assert!(stop.load(Ordering::SeqCst));
    assert!(!joined.load(Ordering::SeqCst));
    let seen = reads.load(Ordering::SeqCst);
    drop(data);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(
        reads.load(Ordering::SeqCst),
        seen,
        "the thread still ran after the scope"
    );
}

#[test]
fn a_scoped_coroutine_leaked_in_an_rc_cycle_is_unwound_by_its_scope() {
    let unwound = Cell::new(false);
    let flag = &unwound;
    swapctx::scope(|s| {
        type Slot<'s> = Rc<RefCell<Option<swapctx::ScopedCoroutine<'s, (), (), ()>>>>;
        let slot: Slot<'_> = Rc::new(RefCell::new(None));
        let inside = slot.clone();
        let mut co = s.coroutine(move |y, ()| {
            let _keep = inside; // the cycle: the coroutine owns its own handle
            let _flag = SetOnDrop(flag);
            y.suspend(());
        });
        assert_eq!(co.resume(()), CoroutineResult::Yield(()));
        *slot.borrow_mut() = Some(co);
    });
    assert!(unwound.get());
}

#[test]
fn a_forgotten_fresh_scoped_coroutine_has_its_closure_dropped_by_its_scope() {
    let dropped = Cell::new(false);
    swapctx::scope(|s| {
        let flag = SetOnDrop(&dropped);
        let co = s.coroutine(move |_: &Yielder<(), ()>, ()| drop(flag));
        std::mem::forget(co);
        assert!(!dropped.get());
    });
    assert!(dropped.get());
}

#[test]
fn leaked_scoped_coroutines_are_finished_oldest_first() {
    let order = RefCell::new(Vec::new());
    swapctx::scope(|s| {
        for i in 0..4 {
            let order = &order;
            let mut co = s.coroutine(move |y: &Yielder<(), ()>, ()| {
                struct Log<'a>(&'a RefCell<Vec<i32>>, i32);
                impl Drop for Log<'_> {
                    fn drop(&mut self) {
                        self.0.borrow_mut().push(self.1);
                    }
                }
                let _log = Log(order, i);
                y.suspend(());
            });
            let _ = co.resume(());
            std::mem::forget(co);
        }
    });
    assert_eq!(*order.borrow(), [0, 1, 2, 3]);
}

#[test]
fn a_scoped_coroutine_whose_frames_hold_another_handle_drops_it_once_during_clean_up() {
    let drops = Cell::new(0);
    let drops_ref = &drops;
    swapctx::scope(|s| {
        struct Count<'a>(&'a Cell<i32>);
        impl Drop for Count<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        // `inner` is older; `outer` holds its handle in a suspended frame.
        let mut inner = s.coroutine(move |y: &Yielder<(), ()>, ()| {
            let _c = Count(drops_ref);
            y.suspend(());
        });
        let _ = inner.resume(());
        let mut outer = s.coroutine(move |y: &Yielder<(), ()>, ()| {
            let _c = Count(drops_ref);
            let _held = inner;
            y.suspend(());
        });
        let _ = outer.resume(());
        std::mem::forget(outer);
    });
    assert_eq!(drops.get(), 2);
}

/// Leaked allocations stay reachable from here, so leak checkers
/// (Valgrind, LeakSanitizer) do not report them.
static KEEP: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn keep<T>(leaked: *const T) {
    KEEP.lock().unwrap().push(leaked as usize);
}

type Handle<'s> = swapctx::ScopedCoroutine<'s, (), (), ()>;

#[test]
fn a_leaked_handle_resumed_while_its_coroutine_is_finished_is_refused() {
    let refused = RefCell::new(String::new());
    let refused_ref = &refused;
    swapctx::scope(|s| {
        let slot: &Cell<Option<&mut Handle<'_>>> = Box::leak(Box::new(Cell::new(None)));
        keep(slot);
        let co = s.coroutine(move |y: &Yielder<(), ()>, ()| {
            struct Again<'s>(&'s Cell<Option<&'s mut Handle<'s>>>, &'s RefCell<String>);
            impl Drop for Again<'_> {
                fn drop(&mut self) {
                    if let Some(me) = self.0.take() {
                        let err = panic::catch_unwind(AssertUnwindSafe(|| me.resume(())))
                            .expect_err("a coroutine being finished was resumed");
                        *self.1.borrow_mut() = message(&*err);
                    }
                }
            }
            let _again = Again(slot, refused_ref);
            y.suspend(());
        });
        let co: &mut Handle<'_> = Box::leak(Box::new(co));
        keep(co);
        let _ = co.resume(());
        slot.set(Some(co));
    });
    assert!(
        refused.borrow().contains("being finished"),
        "{}",
        refused.borrow()
    );
}

#[test]
fn a_scope_whose_closure_panics_still_finishes_its_coroutines() {
    let unwound = Cell::new(false);
    let err = panic::catch_unwind(AssertUnwindSafe(|| {
        swapctx::scope(|s| {
            let mut co = s.coroutine(|y: &Yielder<(), ()>, ()| {
                let _flag = SetOnDrop(&unwound);
                y.suspend(());
            });
            let _ = co.resume(());
            std::mem::forget(co);
            panic!("the scope's own panic");
        })
    }))
    .unwrap_err();
    assert_eq!(message(&*err), "the scope's own panic");
    assert!(unwound.get());
}

#[test]
fn coroutines_made_while_a_scope_cleans_up_are_finished_too() {
    let late = Cell::new(false);
    swapctx::scope(|s| {
        let late = &late;
        let mut co = s.coroutine(move |y: &Yielder<(), ()>, ()| {
            struct MakeAnother<'s, 'e>(&'s swapctx::Scope<'s, 'e>, &'s Cell<bool>);
            impl Drop for MakeAnother<'_, '_> {
                fn drop(&mut self) {
                    let flag = SetOnDrop(self.1);
                    let another = self.0.coroutine(move |_: &Yielder<(), ()>, ()| drop(flag));
                    std::mem::forget(another);
                }
            }
            let _m = MakeAnother(s, late);
            y.suspend(());
        });
        let _ = co.resume(());
        std::mem::forget(co);
    });
    assert!(late.get());
}

// ---------------------------------------------------------------------------
// Unwinding and panics.

#[test]
fn suspend_during_the_coroutines_own_unwind_is_refused_and_the_resumer_never_sees_it() {
    count_hook_calls();
    let refusal = Rc::new(RefCell::new(String::new()));
    let inner = refusal.clone();
    let mut co = Coroutine::<(), u32, ()>::new(move |y, ()| {
        struct SuspendInDrop<'a>(&'a Yielder<(), u32>, Rc<RefCell<String>>);
        impl Drop for SuspendInDrop<'_> {
            fn drop(&mut self) {
                let y = self.0;
                let err = panic::catch_unwind(AssertUnwindSafe(|| y.suspend(7)))
                    .expect_err("suspend during an unwind was allowed");
                *self.1.borrow_mut() = message(&*err);
            }
        }
        let _s = SuspendInDrop(y, inner);
        panic!("the body's panic");
    });
    let lock = Mutex::new(0);
    let guard = lock.lock().unwrap();
    let err = panic::catch_unwind(AssertUnwindSafe(|| co.resume(()))).unwrap_err();
    assert_eq!(message(&*err), "the body's panic");
    assert!(!std::thread::panicking());
    drop(guard);
    assert!(!lock.is_poisoned(), "the resumer's mutex was poisoned");
    assert!(
        refusal.borrow().contains("while the thread is panicking"),
        "{}",
        refusal.borrow()
    );
    assert!(co.is_done());
    drop(co);
}

#[test]
fn a_coroutine_resumed_during_the_resumers_unwind_cannot_suspend() {
    let refusal = RefCell::new(String::new());
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        struct DriveInDrop<'a>(&'a RefCell<String>);
        impl Drop for DriveInDrop<'_> {
            fn drop(&mut self) {
                let mut g = Coroutine::<(), u8, ()>::new(|y, ()| {
                    y.suspend(1);
                });
                let err = panic::catch_unwind(AssertUnwindSafe(|| g.resume(())))
                    .expect_err("a coroutine suspended while its resumer unwound");
                *self.0.borrow_mut() = message(&*err);
            }
        }
        let _d = DriveInDrop(&refusal);
        panic!("the resumer's panic");
    }));
    assert!(
        refusal.borrow().contains("while the thread is panicking"),
        "{}",
        refusal.borrow()
    );
}

#[test]
fn a_coroutine_resumed_during_the_resumers_unwind_may_return() {
    let got = Cell::new(None);
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        struct RunInDrop<'a>(&'a Cell<Option<u8>>);
        impl Drop for RunInDrop<'_> {
            fn drop(&mut self) {
                let mut co = Coroutine::<u8, (), u8>::new(|_, x| x + 1);
                if let CoroutineResult::Return(v) = co.resume(41) {
                    self.0.set(Some(v));
                }
            }
        }
        let _d = RunInDrop(&got);
        panic!("the resumer's panic");
    }));
    assert_eq!(got.get(), Some(42));
}

#[test]
fn dropping_a_suspended_coroutine_poisons_a_mutex_it_holds() {
    // Documented: the clean-up is an unwind, and the coroutine stopped
    // half-way through what the lock protects.
    let lock = std::sync::Arc::new(Mutex::new(0));
    let inner = lock.clone();
    let mut co = Coroutine::<(), (), ()>::new(move |y, ()| {
        let mut g = inner.lock().unwrap();
        *g += 1;
        y.suspend(());
        *g += 1;
    });
    assert_eq!(co.resume(()), CoroutineResult::Yield(()));
    drop(co);
    assert!(lock.is_poisoned());
    assert_eq!(*lock.lock().unwrap_or_else(|e| e.into_inner()), 1);
}

#[test]
fn dropping_an_outer_coroutine_suspended_inside_an_inner_one_unwinds_both_quietly() {
    count_hook_calls();
    let before = hook_calls();
    let log = Rc::new(RefCell::new(Vec::<&str>::new()));
    let l = log.clone();
    let mut outer = Coroutine::<(), u32, ()>::new(move |yo, ()| {
        struct Log(Rc<RefCell<Vec<&'static str>>>, &'static str);
        impl Drop for Log {
            fn drop(&mut self) {
                self.0.borrow_mut().push(self.1);
            }
        }
        let _o = Log(l.clone(), "outer frame");
        swapctx::scope(|s| {
            let mut inner = s.coroutine(|_yi: &Yielder<(), ()>, ()| {
                let _i = Log(l.clone(), "inner frame");
                yo.suspend(1); // suspends the OUTER coroutine from inside the inner one
                unreachable!("resumed after its drop");
            });
            let _ = inner.resume(());
            unreachable!("the inner coroutine came back");
        });
    });
    assert_eq!(outer.resume(()), CoroutineResult::Yield(1));
    drop(outer);
    assert_eq!(*log.borrow(), ["inner frame", "outer frame"]);
    assert_eq!(
        hook_calls(),
        before,
        "the clean-up went through the panic hook"
    );
}

#[test]
fn an_outer_body_that_catches_its_clean_up_runs_only_the_documented_rounds() {
    count_hook_calls();
    let before = hook_calls();
    let rounds = Rc::new(Cell::new(0));
    let r = rounds.clone();
    let mut outer = Coroutine::<(), u32, ()>::new(move |yo, ()| {
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            swapctx::scope(|s| {
                let mut inner = s.coroutine(|_yi: &Yielder<(), ()>, ()| {
                    yo.suspend(1);
                });
                let _ = inner.resume(());
            })
        }));
        // Caught the clean-up (a private payload, not a panic message).
        assert!(caught.is_err());
        r.set(r.get() + 1);
        // Suspending again: drop answers with another clean-up round.
        yo.suspend(2);
        r.set(100);
    });
    assert_eq!(outer.resume(()), CoroutineResult::Yield(1));
    drop(outer);
    assert_eq!(rounds.get(), 1);
    assert_eq!(hook_calls(), before);
}

#[test]
fn a_nested_coroutine_suspended_through_the_outer_yielder_resumes_where_it_stopped() {
    let mut outer = Coroutine::<u32, u32, u32>::new(move |yo, first| {
        swapctx::scope(|s| {
            let mut inner = s.coroutine(|_yi: &Yielder<(), u32>, ()| {
                let second = yo.suspend(first + 1);
                second * 10
            });
            match inner.resume(()) {
                CoroutineResult::Return(v) => v,
                CoroutineResult::Yield(_) => unreachable!(),
            }
        })
    });
    assert_eq!(outer.resume(1), CoroutineResult::Yield(2));
    assert_eq!(outer.resume(4), CoroutineResult::Return(40));
}

/// A payload whose drop panics.
struct Bomb;
impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's drop panics");
    }
}

#[test]
fn a_fresh_closure_whose_drop_panics_with_a_panicking_payload_is_dropped_quietly() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic::panic_any(Bomb);
        }
    }
    let p = PanicsOnDrop;
    let co = Coroutine::<(), (), ()>::new(move |_, ()| drop(p));
    drop(co); // neither aborts nor panics out of drop
}

#[test]
fn a_body_that_swallows_its_clean_up_and_panics_does_not_panic_out_of_drop() {
    let mut co = Coroutine::<(), (), ()>::new(|y, ()| {
        let _ = panic::catch_unwind(AssertUnwindSafe(|| y.suspend(())));
        panic::panic_any(Bomb);
    });
    assert_eq!(co.resume(()), CoroutineResult::Yield(()));
    let dropped = panic::catch_unwind(AssertUnwindSafe(move || drop(co)));
    assert!(dropped.is_ok(), "a panic escaped Coroutine::drop");
}

#[test]
fn resuming_a_finished_coroutine_names_the_callers_line() {
    let mut co = Coroutine::<(), (), ()>::new(|_, ()| {});
    assert_eq!(co.resume(()), CoroutineResult::Return(()));
    count_hook_calls();
    let line = line!() + 1;
    let err = panic::catch_unwind(AssertUnwindSafe(|| co.resume(()))).unwrap_err();
    assert!(message(&*err).contains("already returned"));
    let location = LAST_LOCATION.with(|s| s.borrow().clone());
    assert_eq!(location, format!("{}:{line}", file!()));
}

// ---------------------------------------------------------------------------
// What the stack-size check accepts runs, in every profile (the crash side
// of this, a closure that does not fit, is in tests/coroutine.rs).

/// Stack bytes a coroutine with a closure of `N` bytes uses before and
/// while its body runs a little (a `format!`), measured by filling the
/// stack with a pattern first. `None` if the size check refused it.
fn stack_used<const N: usize>(stack_size: usize) -> Option<usize> {
    let stack = Stack::new(stack_size).unwrap();
    let (bottom, top) = (stack.bottom(), stack.top());
    // SAFETY: the stack's usable bytes are ours and nothing runs on them.
    unsafe { std::ptr::write_bytes(bottom, 0xA5, top as usize - bottom as usize) };
    let big = [3u8; N];
    let made = panic::catch_unwind(AssertUnwindSafe(|| {
        Coroutine::<(), (), usize>::with_stack(stack, move |_, ()| {
            let s = format!("{}", std::hint::black_box(&big)[N - 1]);
            s.len() + big.iter().map(|&b| b as usize).sum::<usize>()
        })
    }));
    let mut co = match made {
        Ok(co) => co,
        Err(e) => {
            assert!(message(&*e).contains("does not fit"), "{}", message(&*e));
            return None;
        }
    };
    assert_eq!(co.resume(()), CoroutineResult::Return(1 + 3 * N));
    let untouched = (0..top as usize - bottom as usize)
        // SAFETY: inside the stack, which the coroutine (done) owns.
        .take_while(|&i| unsafe { *bottom.add(i) } == 0xA5)
        .count();
    let used = top as usize - bottom as usize - untouched;
    eprintln!("closure {N} bytes on {stack_size}: {used} bytes used");
    Some(used)
}

/// Every accepted closure leaves at least this much of its stack unused
/// (the body above does little; what is left is for real bodies).
fn check_sizes(stack_size: usize, sizes: &[(usize, Option<usize>)]) {
    for &(n, used) in sizes {
        if let Some(used) = used {
            assert!(
                used <= stack_size * 3 / 4,
                "a {n}-byte closure was accepted on a {stack_size}-byte stack and used {used} bytes"
            );
        }
    }
}

#[test]
#[cfg_attr(
    feature = "valgrind",
    ignore = "Memcheck forbids reading a stack below its stack pointer, which this measurement does"
)]
fn every_closure_the_size_check_accepts_runs_with_room_to_spare() {
    let min = Stack::MIN_SIZE;
    let small = [
        (1024, stack_used::<1024>(min)),
        (2048, stack_used::<2048>(min)),
        (2560, stack_used::<2560>(min)),
        (4096, stack_used::<4096>(min)),
        (7168, stack_used::<7168>(min)),
    ];
    check_sizes(min, &small);
    // What was the issue in debug builds: 2 KiB fits the minimum stack.
    assert!(
        small[1].1.is_some(),
        "a 2 KiB closure no longer fits 16 KiB"
    );
    assert!(
        small[4].1.is_none(),
        "a 7 KiB closure was accepted on 16 KiB"
    );
    let k64 = 64 * 1024;
    let large = [
        (8192, stack_used::<8192>(k64)),
        (10240, stack_used::<10240>(k64)),
        (16384, stack_used::<16384>(k64)),
        (30720, stack_used::<30720>(k64)),
    ];
    check_sizes(k64, &large);
    assert!(
        large[3].1.is_none(),
        "a 30 KiB closure was accepted on 64 KiB"
    );
}

// ---------------------------------------------------------------------------
// panic = "abort": examples/panic_abort.rs, built with that profile.

/// Builds examples/panic_abort.rs with `panic = "abort"` (a build of its
/// own, in this test's scratch directory) and returns its path.
fn build_panic_abort_example() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("panic-abort");
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "swapctx",
            "--example",
            "panic_abort",
        ])
        .args([
            "--profile",
            "panic-abort",
            "--no-default-features",
            "--features",
            "std",
        ])
        .arg("--target-dir")
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("cargo could not be started");
    assert!(
        status.success(),
        "building the panic = \"abort\" example failed"
    );
    dir.join("panic-abort/examples/panic_abort")
}

#[test]
#[cfg_attr(
    any(not(target_arch = "x86_64"), windows),
    ignore = "builds and runs a program for the host: checked in the native x86_64 run"
)]
fn with_panic_abort_a_dropped_suspended_coroutines_stack_is_leaked_never_reused() {
    let exe = build_panic_abort_example();
    let out = std::process::Command::new(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        9,
        "{stdout}"
    );

    // A suspended scoped coroutine cannot be unwound nor leaked: abort.
    let out = std::process::Command::new(&exe)
        .arg("scoped")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{stderr}");
    }
    assert!(
        stderr.contains("a suspended scoped coroutine must be dropped"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// Random sequences of what a program can do with scoped handles.

/// Makes, resumes, drops, forgets, and moves scoped handles into other
/// suspended coroutines, at random, in nested scopes; every coroutine's
/// guard must be dropped exactly once by the time the outer scope returns.
#[test]
fn random_scoped_handles_are_each_finished_exactly_once() {
    use rand::{rngs::StdRng, Rng, SeedableRng};

    type H<'s> = swapctx::ScopedCoroutine<'s, u32, u32, ()>;

    struct Guard<'a>(&'a RefCell<Vec<u32>>, u32);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.borrow_mut().push(self.1);
        }
    }

    for seed in 0..40u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let dropped = RefCell::new(Vec::new());
        let mut made = 0u32;
        swapctx::scope(|s| {
            let mut live: Vec<H<'_>> = Vec::new();
            for _ in 0..60 {
                match rng.gen_range(0..6) {
                    0 | 1 => {
                        let (id, dropped) = (made, &dropped);
                        made += 1;
                        // Some hold another handle in their frames.
                        let held = if !live.is_empty() && rng.gen_bool(0.3) {
                            let i = rng.gen_range(0..live.len());
                            Some(live.swap_remove(i))
                        } else {
                            None
                        };
                        let g = Guard(dropped, id);
                        live.push(s.coroutine(move |y: &Yielder<u32, u32>, mut x: u32| {
                            let _g = g;
                            let _held = held;
                            loop {
                                if x % 7 == 6 {
                                    return;
                                }
                                x = y.suspend(x + 1);
                            }
                        }));
                    }
                    2 if !live.is_empty() => {
                        let i = rng.gen_range(0..live.len());
                        if !live[i].is_done() {
                            let _ = live[i].resume(rng.gen_range(0..10));
                        }
                    }
                    3 if !live.is_empty() => {
                        let i = rng.gen_range(0..live.len());
                        drop(live.swap_remove(i));
                    }
                    4 if !live.is_empty() => {
                        let i = rng.gen_range(0..live.len());
                        std::mem::forget(live.swap_remove(i));
                    }
                    _ => {}
                }
            }
            // The rest is dropped here or left to the scope.
            if rng.gen_bool(0.5) {
                live.into_iter().for_each(std::mem::forget);
            }
        });
        let mut ids = dropped.into_inner();
        ids.sort_unstable();
        assert_eq!(ids, (0..made).collect::<Vec<_>>(), "seed {seed}");
    }
}
