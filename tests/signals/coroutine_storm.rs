//! The coroutine storm: coroutines keeping running sums in locals, deep in
//! calls, some running an inner coroutine, each remade now and then,
//! checked against a model of each while the storm's signals land.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;

use swapctx::{Coroutine, CoroutineResult, Stack, Yielder};

use crate::unix::storm::{register_range, Storm, PROGRESS};
use crate::unix::{mix, new_stack, DropFlag};

/// One step's report: everything a coroutine keeps in its locals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Report {
    id: u64,
    n: u64,
    isum: u64,
    fbits: u64,
    ring: u64,
}

/// The state a coroutine keeps in its locals, and the model keeps in the
/// resumer; both step it the same way.
struct Sums {
    id: u64,
    n: u64,
    isum: u64,
    f: f64,
    ring: [u64; 16],
}

impl Sums {
    fn new(id: u64) -> Sums {
        Sums {
            id,
            n: 0,
            isum: id,
            f: id as f64 * 0.75,
            ring: [id; 16],
        }
    }

    fn step(&mut self, input: u64) -> Report {
        self.n += 1;
        self.isum = self
            .isum
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(input);
        self.f = self.f * 0.999_999_7 + (input % 1024) as f64 * 0.125 + (self.n as f64).sqrt();
        let k = (self.n % 16) as usize;
        self.ring[k] = self.ring[k].rotate_left(7) ^ input;
        Report {
            id: self.id,
            n: self.n,
            isum: self.isum,
            fbits: self.f.to_bits(),
            ring: self.ring.iter().fold(0, |a, &b| mix(a, b)),
        }
    }
}

/// Suspends `depth` calls deep, each frame holding live locals that are
/// checked after the suspend returns.
#[inline(never)]
fn suspend_deep(y: &Yielder<u64, Report>, depth: u32, r: Report) -> u64 {
    if depth == 0 {
        return y.suspend(r);
    }
    let locals = [r.isum ^ depth as u64, r.n, r.fbits, r.ring, depth as u64];
    let fl = black_box(f64::from_bits(r.fbits) * 2.0 + depth as f64);
    let input = suspend_deep(y, depth - 1, r);
    let again = [r.isum ^ depth as u64, r.n, r.fbits, r.ring, depth as u64];
    assert_eq!(black_box(locals), again, "frame {depth} lost its locals");
    assert_eq!(
        fl.to_bits(),
        (f64::from_bits(r.fbits) * 2.0 + depth as f64).to_bits(),
        "frame {depth} lost its float"
    );
    input
}

fn combine(a: Report, b: Report) -> Report {
    Report {
        id: a.id,
        n: a.n,
        isum: a.isum ^ b.isum.rotate_left(1),
        fbits: a.fbits ^ b.fbits,
        ring: mix(a.ring, b.ring),
    }
}

type StormCo = Coroutine<u64, Report, ()>;

/// A coroutine that steps its sums forever; one given an `inner` stack
/// also runs an inner coroutine there, resumes it each step and folds its
/// report in.
fn storm_coroutine(stack: Stack, id: u64, inner: Option<Stack>, drops: Rc<Cell<u32>>) -> StormCo {
    let flag = DropFlag(drops);
    Coroutine::with_stack(stack, move |y, mut input| {
        let _flag = flag;
        let mut sums = Sums::new(id);
        let mut inner: Option<StormCo> = inner.map(|stack| {
            Coroutine::with_stack(stack, move |y2: &Yielder<u64, Report>, mut x: u64| {
                let mut s = Sums::new(id + 1000);
                loop {
                    x = suspend_deep(y2, (x % 3) as u32, s.step(x));
                }
            })
        });
        loop {
            let mut r = sums.step(input);
            if let Some(inner) = inner.as_mut() {
                match inner.resume(input ^ 0x55) {
                    CoroutineResult::Yield(ir) => r = combine(r, ir),
                    CoroutineResult::Return(()) => unreachable!(),
                }
            }
            input = suspend_deep(y, (input % 4) as u32, r);
        }
    })
}

/// The model of `storm_coroutine`.
struct StormModel {
    sums: Sums,
    inner: Option<Sums>,
}

impl StormModel {
    fn new(id: u64, nested: bool) -> StormModel {
        StormModel {
            sums: Sums::new(id),
            inner: nested.then(|| Sums::new(id + 1000)),
        }
    }

    fn step(&mut self, input: u64) -> Report {
        let r = self.sums.step(input);
        match self.inner.as_mut() {
            Some(inner) => combine(r, inner.step(input ^ 0x55)),
            None => r,
        }
    }
}

const STORM_COROS: usize = 8;
/// Every this many resumes of one coroutine, it is dropped suspended and
/// remade on the same stack.
const CHURN: u64 = 5000;

pub fn signal_storm_coroutine_values() {
    let drops = Rc::new(Cell::new(0u32));
    let mut made = 0u32;
    let storm = Storm::start();
    // Slot i's stack is entry 2i of the handler's table, its inner
    // coroutine's (every third slot has one) entry 2i+1.
    let inner_stack = |i: usize| {
        (i % 3 == 0).then(|| {
            let s = new_stack(32 * 1024);
            register_range(2 * i + 1, &s);
            s
        })
    };
    let mut slots: Vec<(StormCo, StormModel, u64)> = (0..STORM_COROS)
        .map(|i| {
            let stack = new_stack(64 * 1024);
            register_range(2 * i, &stack);
            made += 1;
            let inner = inner_stack(i);
            let nested = inner.is_some();
            (
                storm_coroutine(stack, i as u64, inner, drops.clone()),
                StormModel::new(i as u64, nested),
                0,
            )
        })
        .collect();
    let mut rng = 0x1234_5678_9abc_def1u64;
    let mut switches = 0u64;
    let main_locals = [black_box(1.5f64), black_box(-2.25), black_box(1e300)];
    // The coroutine layer may switch through another entry than the public
    // `swapctx_switch`, so signals inside the switch are counted (the
    // report) but not waited for here; the register storm waits for them.
    while storm.going(true) {
        for _ in 0..1_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = (rng % STORM_COROS as u64) as usize;
            let (co, model, count) = &mut slots[i];
            let input = rng >> 11;
            let want = model.step(input);
            match co.resume(input) {
                CoroutineResult::Yield(got) => assert_eq!(got, want, "coroutine {i}"),
                CoroutineResult::Return(()) => panic!("coroutine {i} returned"),
            }
            switches += if model.inner.is_some() { 4 } else { 2 };
            PROGRESS.fetch_add(1, Relaxed);
            *count += 1;
            if *count % CHURN == 0 {
                let id = i as u64 + 100 * u64::from(made);
                made += 1;
                let (old, _, count) = slots.swap_remove(i);
                let before = drops.get();
                let stack = old.into_stack();
                assert_eq!(drops.get(), before + 1, "drop did not unwind coroutine {i}");
                let inner = inner_stack(i);
                let nested = inner.is_some();
                slots.push((
                    storm_coroutine(stack, id, inner, drops.clone()),
                    StormModel::new(id, nested),
                    count,
                ));
                let last = slots.len() - 1;
                slots.swap(i, last);
            }
        }
    }
    storm.finish("coroutines", switches);
    assert_eq!(
        black_box(main_locals),
        [1.5, -2.25, 1e300],
        "main's locals changed"
    );
    drop(slots);
    assert_eq!(drops.get(), made, "every coroutine's captures were dropped");
}
