//! The safe layer, case by case: values both ways, panics, drop, nesting,
//! many coroutines, threads, generators, scopes.
//!
//! Random sequences of operations checked against a model are the job of
//! one tester, the interpreter in `tests/ops/`, which `tests/fuzz_ops.rs`
//! runs over seeded and fresh random inputs and `cargo fuzz` under
//! libFuzzer; this file has the hand-written cases, each named for what it
//! shows.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use swapctx::{Coroutine, CoroutineResult, Generator, Stack, Yielder};

/// Counts drops.
struct DropCounter(Rc<Cell<u32>>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string payload>".into()
    }
}

#[test]
fn values_travel_both_ways_over_many_rounds() {
    let mut co = Coroutine::new(|y: &Yielder<u64, (u64, f64)>, mut x: u64| {
        let mut sum = 0u64;
        let mut f = 0.5f64;
        for _ in 0..10_000 {
            sum = sum.wrapping_add(x);
            f = f * 1.5 + x as f64;
            x = y.suspend((sum, f));
        }
        format!("sum={sum}")
    });
    let mut expect_sum = 0u64;
    let mut expect_f = 0.5f64;
    let local_f = std::hint::black_box(3.25f64);
    for i in 0..10_000u64 {
        let x = i * 7 + 1;
        expect_sum = expect_sum.wrapping_add(x);
        expect_f = expect_f * 1.5 + x as f64;
        match co.resume(x) {
            CoroutineResult::Yield((s, f)) => {
                assert_eq!(s, expect_sum);
                assert_eq!(f.to_bits(), expect_f.to_bits());
            }
            CoroutineResult::Return(r) => panic!("returned early: {r}"),
        }
        assert_eq!(local_f, 3.25);
    }
    assert_eq!(
        co.resume(0),
        CoroutineResult::Return(format!("sum={expect_sum}"))
    );
    assert!(co.is_done());
}

/// A value of `N` words, each word its index plus `seed`, that counts its
/// drops: too big for the mailbox from 3 words up (it then travels by
/// address), so both ways of passing are used.
struct Words<const N: usize> {
    words: [u64; N],
    drops: Rc<Cell<u32>>,
}

impl<const N: usize> Words<N> {
    fn new(seed: u64, drops: &Rc<Cell<u32>>) -> Self {
        Words {
            words: core::array::from_fn(|i| seed + i as u64),
            drops: drops.clone(),
        }
    }
    fn seed(&self) -> u64 {
        for (i, w) in self.words.iter().enumerate() {
            assert_eq!(
                *w,
                self.words[0] + i as u64,
                "word {i} of {N} was not carried"
            );
        }
        self.words[0]
    }
}

impl<const N: usize> Drop for Words<N> {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

/// Inputs, yields and returns of 1, 3 and 70 words (1 word fits the
/// mailbox, 3 and 70 go by address; a return of 70 words is too big for
/// the mailbox's result slot too): every word arrives, and every value is
/// dropped exactly once, by whoever received it.
#[test]
fn values_of_every_size_arrive_whole_and_are_dropped_once() {
    fn round<const A: usize, const B: usize, const C: usize>() {
        let drops = Rc::new(Cell::new(0));
        let d = drops.clone();
        let mut co = Coroutine::new(move |y: &Yielder<Words<A>, Words<B>>, first: Words<A>| {
            let mut seed = first.seed();
            for _ in 0..5 {
                let next = y.suspend(Words::new(seed * 10, &d));
                seed = next.seed();
            }
            Words::<C>::new(seed + 1, &d)
        });
        for i in 1..=5u32 {
            match co.resume(Words::new(i.into(), &drops)) {
                CoroutineResult::Yield(w) => assert_eq!(w.seed(), u64::from(i) * 10),
                CoroutineResult::Return(_) => panic!("returned early"),
            }
            // Each yield is dropped here, each input by the body's loop,
            // except the first, which the closure holds until it ends.
            assert_eq!(drops.get(), 2 * i - 1, "after round {i}");
        }
        match co.resume(Words::new(6, &drops)) {
            CoroutineResult::Return(w) => assert_eq!(w.seed(), 7),
            CoroutineResult::Yield(_) => panic!("yielded instead of returning"),
        }
        drop(co);
        // 6 inputs, 5 yields, 1 return.
        assert_eq!(
            drops.get(),
            12,
            "{A}/{B}/{C} words: every value dropped once"
        );
    }
    round::<1, 1, 1>();
    round::<3, 3, 3>();
    round::<70, 1, 70>();
    round::<1, 70, 3>();
}

/// Zero-sized, but aligned to 64 bytes: the mailbox aligns its slots for it.
#[derive(Debug, PartialEq)]
#[repr(align(64))]
struct Aligned;

#[test]
fn values_aligned_beyond_the_stack_alignment_travel_too() {
    #[derive(Debug, PartialEq)]
    #[repr(align(32))]
    struct Wide(u64);
    let mut co = Coroutine::new(|y: &Yielder<Aligned, Wide>, first: Aligned| {
        assert_eq!(&first as *const Aligned as usize % 64, 0);
        let again = y.suspend(Wide(7));
        assert_eq!(&again as *const Aligned as usize % 64, 0);
        Wide(8)
    });
    assert_eq!(co.resume(Aligned), CoroutineResult::Yield(Wide(7)));
    assert_eq!(co.resume(Aligned), CoroutineResult::Return(Wide(8)));
}

#[test]
fn the_issue_example_works_as_written() {
    let mut co: Coroutine<i32, i32, &'static str> =
        Coroutine::new(|y: &Yielder<i32, i32>, first: i32| {
            let second = y.suspend(first * 2);
            let _ = y.suspend(second + 1);
            "done"
        });
    assert!(co.is_fresh());
    assert!(matches!(co.resume(5), CoroutineResult::Yield(10)));
    assert!(!co.is_fresh());
    assert!(matches!(co.resume(7), CoroutineResult::Yield(8)));
    assert!(matches!(co.resume(0), CoroutineResult::Return("done")));
    assert!(co.is_done());
}

#[test]
fn resume_after_return_panics_with_a_message() {
    let mut co = Coroutine::<(), (), u8>::new(|_, ()| 3);
    assert_eq!(co.resume(()), CoroutineResult::Return(3));
    let err = panic::catch_unwind(AssertUnwindSafe(|| co.resume(()))).unwrap_err();
    assert_eq!(
        panic_message(&*err),
        "resume called on a coroutine that has already returned"
    );
}

#[test]
fn a_panic_crosses_back_with_its_payload_and_unwinds_the_coroutine() {
    let drops = Rc::new(Cell::new(0));
    let d = DropCounter(drops.clone());
    let mut co = Coroutine::<u32, u32, ()>::new(move |y, x| {
        let _held = d;
        let again = y.suspend(x + 1);
        if again == 99 {
            panic::panic_any(42u64);
        }
    });
    assert_eq!(co.resume(1), CoroutineResult::Yield(2));
    assert_eq!(drops.get(), 0);
    let err = panic::catch_unwind(AssertUnwindSafe(|| co.resume(99))).unwrap_err();
    assert_eq!(err.downcast_ref::<u64>(), Some(&42));
    assert_eq!(drops.get(), 1, "the coroutine's stack was not unwound");
    assert!(co.is_done());
    let err = panic::catch_unwind(AssertUnwindSafe(|| co.resume(0))).unwrap_err();
    assert_eq!(
        panic_message(&*err),
        "resume called on a coroutine that has panicked"
    );
    // Dropping it now does nothing more.
    drop(co);
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_string_panic_keeps_its_message() {
    let mut co = Coroutine::<(), (), ()>::new(|_, ()| panic!("boom {}", 7));
    let err = panic::catch_unwind(AssertUnwindSafe(|| co.resume(()))).unwrap_err();
    assert_eq!(panic_message(&*err), "boom 7");
}

#[test]
fn dropping_a_suspended_coroutine_runs_every_destructor_on_its_stack() {
    let drops = Rc::new(Cell::new(0));
    let order = Rc::new(RefCell::new(Vec::new()));
    let (d, o) = (drops.clone(), order.clone());
    let mut co = Coroutine::<(), u32, ()>::new(move |y, ()| {
        struct Named(&'static str, Rc<RefCell<Vec<&'static str>>>);
        impl Drop for Named {
            fn drop(&mut self) {
                self.1.borrow_mut().push(self.0);
            }
        }
        let _outer = Named("outer", o.clone());
        fn deeper(
            y: &Yielder<(), u32>,
            d: Rc<Cell<u32>>,
            o: Rc<RefCell<Vec<&'static str>>>,
            n: u32,
        ) {
            let _c = DropCounter(d.clone());
            let _n = Named("inner", o.clone());
            if n == 0 {
                y.suspend(1);
                unreachable!("a dropped coroutine never comes back from suspend");
            }
            deeper(y, d, o, n - 1);
        }
        deeper(y, d, o.clone(), 9);
    });
    assert_eq!(co.resume(()), CoroutineResult::Yield(1));
    assert_eq!(drops.get(), 0);
    drop(co);
    assert_eq!(drops.get(), 10);
    let order = order.borrow();
    assert_eq!(order.len(), 11);
    assert_eq!(
        order.last(),
        Some(&"outer"),
        "destructors ran out of order: {order:?}"
    );
}

#[test]
fn catch_unwind_inside_the_body_cannot_swallow_the_clean_up() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let caught = Rc::new(Cell::new(0));
    let c = caught.clone();
    let mut co = Coroutine::<(), (), ()>::new(move |y, ()| {
        let _g = DropCounter(d);
        // Swallow the first unwind, then try to carry on suspending.
        if panic::catch_unwind(AssertUnwindSafe(|| y.suspend(()))).is_err() {
            c.set(c.get() + 1);
        }
        let _g2 = DropCounter(_g.0.clone());
        y.suspend(());
        unreachable!("suspend must re-raise the clean-up");
    });
    let _ = co.resume(());
    drop(co);
    assert_eq!(caught.get(), 1);
    assert_eq!(
        drops.get(),
        2,
        "a destructor on the coroutine's stack did not run"
    );
}

#[test]
fn a_body_that_catches_the_clean_up_and_returns_is_dropped_too() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let mut co = Coroutine::<(), (), String>::new(move |y, ()| {
        let _g = DropCounter(d);
        let _ = panic::catch_unwind(AssertUnwindSafe(|| y.suspend(())));
        "returned anyway".to_string()
    });
    let _ = co.resume(());
    drop(co);
    assert_eq!(drops.get(), 1);
}

#[test]
fn dropping_a_fresh_coroutine_drops_its_closure_without_running_it() {
    let drops = Rc::new(Cell::new(0));
    let d = DropCounter(drops.clone());
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let co = Coroutine::<(), (), ()>::new(move |_, ()| {
        let _d = d;
        r.set(true);
    });
    drop(co);
    assert_eq!(drops.get(), 1);
    assert!(!ran.get());
}

#[test]
fn dropping_while_the_resumer_unwinds_still_cleans_up() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let result = panic::catch_unwind(AssertUnwindSafe(move || {
        let mut co = Coroutine::<(), (), ()>::new(move |y, ()| {
            let _g = DropCounter(d);
            y.suspend(());
        });
        let _ = co.resume(());
        panic!("resumer fails");
    }));
    assert!(result.is_err());
    assert_eq!(drops.get(), 1);
}

#[test]
fn coroutines_nest_to_any_depth() {
    fn nest(depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let mut co =
            Coroutine::<u32, u64, u64>::with_stack(Stack::new(64 * 1024).unwrap(), |y, d| {
                let inner = nest(d - 1);
                let back = y.suspend(inner);
                inner + back as u64
            });
        let CoroutineResult::Yield(inner) = co.resume(depth) else {
            panic!()
        };
        let CoroutineResult::Return(total) = co.resume(1) else {
            panic!()
        };
        assert_eq!(total, inner + 1);
        total
    }
    assert_eq!(nest(64), 65);
}

#[test]
fn a_generator_reads_from_a_generator() {
    let numbers = Generator::new(|y: &Yielder<(), u64>| {
        for i in 1..=20 {
            y.suspend(i);
        }
    });
    let mut numbers = Some(numbers);
    let squares_of_odds = Generator::new(move |y: &Yielder<(), u64>| {
        for n in numbers.take().unwrap() {
            if n % 2 == 1 {
                y.suspend(n * n);
            }
        }
    });
    let got: Vec<u64> = squares_of_odds.collect();
    let want: Vec<u64> = (1..=20u64).filter(|n| n % 2 == 1).map(|n| n * n).collect();
    assert_eq!(got, want);
}

#[test]
fn a_generator_is_fused_and_reraises_panics() {
    let mut g = Generator::new(|y: &Yielder<(), u8>| {
        y.suspend(1);
        panic!("generator broke");
    });
    assert_eq!(g.next(), Some(1));
    let err = panic::catch_unwind(AssertUnwindSafe(|| g.next())).unwrap_err();
    assert_eq!(panic_message(&*err), "generator broke");
    assert_eq!(g.next(), None);
    assert_eq!(g.next(), None);
}

#[test]
fn a_thousand_coroutines_resumed_in_random_order() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    // (id, coroutine, the model's last value, steps taken)
    type Entry = (usize, Coroutine<u64, u64, u64>, u64, u32);
    let mut cos: Vec<Entry> = (0..1000)
        .map(|id| {
            // With arm's default guard region (4 MiB + 64 KiB: no stack
            // probes), a thousand stacks would take all of a 32-bit address
            // space; these coroutines' frames are small: one guard page.
            let stack = if cfg!(target_pointer_width = "32") {
                Stack::with_guard_size(32 * 1024, 4096)
            } else {
                Stack::new(32 * 1024)
            };
            let co = Coroutine::with_stack(stack.unwrap(), move |y, mut x: u64| {
                let mut acc = id as u64;
                for _ in 0..(id % 7 + 3) {
                    acc = acc.wrapping_mul(31).wrapping_add(x);
                    x = y.suspend(acc);
                }
                acc ^ 0xffff
            });
            (id, co, id as u64, 0)
        })
        .collect();
    let mut finished = 0;
    while !cos.is_empty() {
        let i = rng.gen_range(0..cos.len());
        let x: u64 = rng.gen();
        let (id, co, model, steps) = &mut cos[i];
        let expected = model.wrapping_mul(31).wrapping_add(x);
        let rounds = (*id % 7 + 3) as u32;
        match co.resume(x) {
            CoroutineResult::Yield(v) => {
                assert!(*steps < rounds, "coroutine {id} yielded too often");
                assert_eq!(v, expected, "coroutine {id} step {steps}");
                *model = v;
                *steps += 1;
            }
            CoroutineResult::Return(r) => {
                assert_eq!(*steps, rounds);
                assert_eq!(r, *model ^ 0xffff);
                cos.swap_remove(i);
                finished += 1;
            }
        }
    }
    assert_eq!(finished, 1000);
}

#[test]
fn coroutines_on_different_threads_are_independent() {
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut total = 0u64;
                for round in 0..50u64 {
                    let mut co = Coroutine::<u64, u64, u64>::new(move |y, mut x| {
                        for _ in 0..100 {
                            x = y.suspend(x * 2 + t);
                        }
                        x
                    });
                    let mut x = round;
                    while let CoroutineResult::Yield(v) = co.resume(x) {
                        assert_eq!(v, x * 2 + t);
                        x = v % 1000;
                    }
                    total += x;
                }
                total
            })
        })
        .collect();
    let totals: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // Every thread ran the same computation with its own `t`; recompute.
    for (t, total) in totals.iter().enumerate() {
        let mut want = 0;
        for round in 0..50u64 {
            let mut x = round;
            for _ in 0..100 {
                x = (x * 2 + t as u64) % 1000;
            }
            want += x;
        }
        assert_eq!(*total, want, "thread {t}");
    }
}

#[test]
fn a_stack_is_reused_after_the_coroutine_finishes() {
    let mut co = Coroutine::<(), (), u32>::with_stack(Stack::new(64 * 1024).unwrap(), |_, ()| 1);
    let top = co.stack().top();
    assert_eq!(co.resume(()), CoroutineResult::Return(1));
    let stack = co.into_stack();
    assert_eq!(stack.top(), top);
    let mut again = Coroutine::<(), (), u32>::with_stack(stack, |_, ()| 2);
    assert_eq!(again.resume(()), CoroutineResult::Return(2));
    assert_eq!(again.stack().top(), top);
}

#[test]
fn into_stack_of_a_suspended_coroutine_unwinds_it_first() {
    let drops = Rc::new(Cell::new(0));
    let d = drops.clone();
    let mut co = Coroutine::<(), (), ()>::new(move |y, ()| {
        let _g = DropCounter(d);
        y.suspend(());
    });
    let _ = co.resume(());
    let _stack = co.into_stack();
    assert_eq!(drops.get(), 1);
}

#[test]
fn a_closure_too_big_for_its_stack_is_refused_clearly() {
    let big = [7u8; 64 * 1024];
    let err = panic::catch_unwind(|| {
        Coroutine::<(), (), u8>::with_stack(Stack::new(Stack::MIN_SIZE).unwrap(), move |_, ()| {
            big[0]
        })
    })
    .unwrap_err();
    let msg = panic_message(&*err);
    assert!(msg.contains("does not fit"), "{msg}");
}

#[test]
fn scoped_generators_borrow_from_the_caller() {
    let data = vec![3u32, 1, 4, 1, 5, 9, 2, 6];
    let mut seen = Vec::new();
    let total: u32 = swapctx::scope(|s| {
        let g = s.generator(|y| {
            for x in &data {
                y.suspend(*x);
            }
        });
        let mut c = s.coroutine(|y, mut x: u32| loop {
            seen.push(x);
            x = y.suspend(());
        });
        let mut total = 0;
        for v in g {
            let _ = c.resume(v);
            total += v;
        }
        total
    });
    assert_eq!(total, data.iter().sum::<u32>());
    assert_eq!(seen, data);
}
