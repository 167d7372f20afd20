//! The operation interpreter that both `tests/fuzz_ops.rs` (seeded and
//! fresh random sequences) and `fuzz/fuzz_targets/ops.rs` (libFuzzer) run:
//! the one model-based random tester of the safe layer (`tests/coroutine.rs`
//! has the hand-written cases).
//!
//! [`run`] reads its input as a sequence of operations on up to
//! [`SLOTS`] coroutines: create (with one of several stack sizes, or a
//! stack recycled by `into_stack`), resume with a value, resume until done,
//! drop (fresh, suspended mid-body, or finished), recycle the stack. Each
//! coroutine's body is fixed by a few bytes at creation: how many times it
//! suspends, how deep in its own calls it suspends, whether and where it
//! panics, and whether it runs an inner coroutine of its own on every step
//! (nesting; the inner ones panic now and then, and the outer body catches
//! that). Beside every coroutine runs a model, a plain state machine that
//! computes what it must yield or return; every result is checked against
//! it. Every body holds a tracker whose drop is logged, and after every
//! operation each tracker must have been dropped exactly once if its
//! coroutine is finished or gone, and never if it is still alive.
//!
//! A mismatch panics with a message (the panic hook prints it): a fuzzer
//! reports that as a crash, the seeded test as a failed seed.

#![allow(dead_code)]

use std::any::Any;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use swapctx::{Coroutine, CoroutineResult, Stack, Yielder};

/// How many coroutines can be alive at once.
pub const SLOTS: usize = 8;
/// At most this many operations are read from one input.
pub const MAX_OPS: usize = 256;
/// Stacks kept for reuse.
const POOL: usize = 4;

/// What one input did, for reports.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub ops: u64,
    pub created: u64,
    pub reused_stacks: u64,
    pub resumes: u64,
    pub yields: u64,
    pub returns: u64,
    pub panics: u64,
    pub resumes_after_end: u64,
    pub drops_fresh: u64,
    pub drops_suspended: u64,
    pub drops_finished: u64,
    pub recycled: u64,
    pub inner_created: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.ops += o.ops;
        self.created += o.created;
        self.reused_stacks += o.reused_stacks;
        self.resumes += o.resumes;
        self.yields += o.yields;
        self.returns += o.returns;
        self.panics += o.panics;
        self.resumes_after_end += o.resumes_after_end;
        self.drops_fresh += o.drops_fresh;
        self.drops_suspended += o.drops_suspended;
        self.drops_finished += o.drops_finished;
        self.recycled += o.recycled;
        self.inner_created += o.inner_created;
    }
}

/// The payload of the panics the bodies raise on purpose (with
/// `resume_unwind`, so no panic hook runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Boom {
    id: u64,
    step: u64,
}

/// The message `resume` panics with for a coroutine that has ended starts
/// with this.
const RESUME_AFTER_END: &str = "resume called on a coroutine that has";

/// Installs a panic hook that stays quiet for the panics the interpreter
/// expects (resuming an ended coroutine) and prints every other one as the
/// default hook does. Call once per process.
pub fn quiet_expected_panics() {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| p.downcast_ref::<String>().map(String::as_str));
        if msg.is_some_and(|m| m.starts_with(RESUME_AFTER_END)) {
            return;
        }
        default(info);
    }));
}

fn mix(a: u64, b: u64) -> u64 {
    (a ^ b).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23) ^ (a >> 7)
}

// ---------------------------------------------------------------------------
// Drop tracking.

/// How many times each tracker id was dropped.
#[derive(Default)]
struct Log {
    drops: RefCell<HashMap<u64, u32>>,
}

struct Tracker {
    id: u64,
    log: Rc<Log>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        *self.log.drops.borrow_mut().entry(self.id).or_insert(0) += 1;
    }
}

// ---------------------------------------------------------------------------
// The bodies.

/// Fixed at creation: what an outer coroutine does.
#[derive(Debug, Clone, Copy)]
struct Spec {
    id: u64,
    /// How many times it suspends before returning.
    steps: u64,
    /// Panics instead of running step `n` (`n == steps`: instead of
    /// returning).
    panic_at: Option<u64>,
    /// Runs an inner coroutine, resumed once per step.
    nest: bool,
    /// Suspends this many calls deep.
    depth: u32,
}

/// The inner coroutine number `n` of outer coroutine `outer`: yields
/// `k = n % 3 + 1` times, then returns; every fourth one panics instead of
/// its last yield.
#[derive(Debug, Clone, Copy)]
struct InnerSpec {
    id: u64,
    k: u64,
    panics: bool,
}

impl InnerSpec {
    fn new(outer: u64, n: u64) -> InnerSpec {
        InnerSpec {
            id: (outer << 16) | (n + 1),
            k: n % 3 + 1,
            panics: (outer + n) % 4 == 3,
        }
    }
}

type Co = Coroutine<u64, u64, u64>;

/// Suspends `depth` calls deep; each frame checks its locals afterwards.
#[inline(never)]
fn suspend_deep(y: &Yielder<u64, u64>, depth: u32, v: u64) -> u64 {
    if depth == 0 {
        return y.suspend(v);
    }
    let locals = [v, v.rotate_left(depth), u64::from(depth)];
    let f = black_box(v as f64 * 0.5 + f64::from(depth));
    let input = suspend_deep(y, depth - 1, v);
    let again = [v, v.rotate_left(depth), u64::from(depth)];
    assert_eq!(black_box(locals), again, "a frame lost its locals");
    assert_eq!(
        f.to_bits(),
        (v as f64 * 0.5 + f64::from(depth)).to_bits(),
        "a frame lost its float"
    );
    input
}

fn make_inner(spec: InnerSpec, log: &Rc<Log>) -> Co {
    let tracker = Tracker {
        id: spec.id,
        log: log.clone(),
    };
    let stack = Stack::new(Stack::MIN_SIZE).expect("a stack");
    Coroutine::with_stack(stack, move |y, x0| {
        let _t = tracker;
        let mut a = mix(spec.id, x0);
        for j in 0..spec.k {
            if spec.panics && j == spec.k - 1 {
                panic::resume_unwind(Box::new(Boom {
                    id: spec.id,
                    step: j,
                }));
            }
            let x = y.suspend(a);
            a = mix(a, x.wrapping_add(j));
        }
        a
    })
}

fn make_outer(spec: Spec, stack: Stack, log: &Rc<Log>) -> Co {
    let tracker = Tracker {
        id: spec.id,
        log: log.clone(),
    };
    let log = log.clone();
    Coroutine::with_stack(stack, move |y, first| {
        let _t = tracker;
        let mut acc = mix(spec.id, first);
        let mut n = 0;
        let mut inner = spec
            .nest
            .then(|| make_inner(InnerSpec::new(spec.id, 0), &log));
        for step in 0..spec.steps {
            if spec.panic_at == Some(step) {
                panic::resume_unwind(Box::new(Boom { id: spec.id, step }));
            }
            let mut out = mix(acc, step);
            if let Some(co) = inner.as_mut() {
                let ended = match panic::catch_unwind(AssertUnwindSafe(|| co.resume(out))) {
                    Ok(CoroutineResult::Yield(v)) => {
                        out ^= v;
                        false
                    }
                    Ok(CoroutineResult::Return(v)) => {
                        out = out.wrapping_add(v);
                        true
                    }
                    Err(p) => {
                        if p.downcast_ref::<Boom>().is_none() {
                            panic::resume_unwind(p);
                        }
                        out = out.rotate_left(1);
                        true
                    }
                };
                if ended {
                    n += 1;
                    *co = make_inner(InnerSpec::new(spec.id, n), &log);
                }
            }
            let input = suspend_deep(y, spec.depth, out);
            acc = mix(acc ^ out, input);
        }
        if spec.panic_at == Some(spec.steps) {
            panic::resume_unwind(Box::new(Boom {
                id: spec.id,
                step: spec.steps,
            }));
        }
        acc
    })
}

// ---------------------------------------------------------------------------
// The models.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Yield(u64),
    Return(u64),
    Panic(Boom),
    /// `resume` on an ended coroutine panics with this in its message.
    Ended(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Fresh,
    /// Suspended after yielding at this step.
    Suspended(u64),
    Returned,
    Panicked,
}

struct InnerModel {
    spec: InnerSpec,
    a: u64,
    phase: Phase,
}

impl InnerModel {
    fn new(spec: InnerSpec) -> InnerModel {
        InnerModel {
            spec,
            a: 0,
            phase: Phase::Fresh,
        }
    }

    fn resume(&mut self, x: u64) -> Expect {
        let j = match self.phase {
            Phase::Fresh => {
                self.a = mix(self.spec.id, x);
                0
            }
            Phase::Suspended(j) => {
                self.a = mix(self.a, x.wrapping_add(j));
                j + 1
            }
            _ => unreachable!("the outer body never resumes an ended inner coroutine"),
        };
        if j == self.spec.k {
            self.phase = Phase::Returned;
            return Expect::Return(self.a);
        }
        if self.spec.panics && j == self.spec.k - 1 {
            self.phase = Phase::Panicked;
            return Expect::Panic(Boom {
                id: self.spec.id,
                step: j,
            });
        }
        self.phase = Phase::Suspended(j);
        Expect::Yield(self.a)
    }
}

struct OuterModel {
    spec: Spec,
    acc: u64,
    last_out: u64,
    phase: Phase,
    n: u64,
    inner: Option<InnerModel>,
}

/// Tracker ids whose drop is due, and those that must not be dropped yet.
#[derive(Default)]
struct Expected {
    alive: BTreeSet<u64>,
    dropped: BTreeSet<u64>,
}

impl Expected {
    fn born(&mut self, id: u64) {
        assert!(self.alive.insert(id), "tracker id {id} used twice");
    }
    fn died(&mut self, id: u64) {
        assert!(
            self.alive.remove(&id),
            "tracker {id} died twice in the model"
        );
        self.dropped.insert(id);
    }
}

impl OuterModel {
    fn new(spec: Spec) -> OuterModel {
        OuterModel {
            spec,
            acc: 0,
            last_out: 0,
            phase: Phase::Fresh,
            n: 0,
            inner: None,
        }
    }

    fn resume(&mut self, input: u64, exp: &mut Expected, stats: &mut Stats) -> Expect {
        let step = match self.phase {
            Phase::Fresh => {
                self.acc = mix(self.spec.id, input);
                if self.spec.nest {
                    let s = InnerSpec::new(self.spec.id, 0);
                    exp.born(s.id);
                    stats.inner_created += 1;
                    self.inner = Some(InnerModel::new(s));
                }
                0
            }
            Phase::Suspended(s) => {
                self.acc = mix(self.acc ^ self.last_out, input);
                s + 1
            }
            Phase::Returned => return Expect::Ended("already returned"),
            Phase::Panicked => return Expect::Ended("has panicked"),
        };
        if step == self.spec.steps && self.spec.panic_at != Some(step) {
            self.end(Phase::Returned, exp);
            return Expect::Return(self.acc);
        }
        if self.spec.panic_at == Some(step) {
            self.end(Phase::Panicked, exp);
            return Expect::Panic(Boom {
                id: self.spec.id,
                step,
            });
        }
        let mut out = mix(self.acc, step);
        if let Some(inner) = self.inner.as_mut() {
            let ended = match inner.resume(out) {
                Expect::Yield(v) => {
                    out ^= v;
                    false
                }
                Expect::Return(v) => {
                    out = out.wrapping_add(v);
                    true
                }
                Expect::Panic(_) => {
                    out = out.rotate_left(1);
                    true
                }
                Expect::Ended(_) => unreachable!(),
            };
            if ended {
                exp.died(inner.spec.id);
                self.n += 1;
                let s = InnerSpec::new(self.spec.id, self.n);
                exp.born(s.id);
                stats.inner_created += 1;
                *inner = InnerModel::new(s);
            }
        }
        self.last_out = out;
        self.phase = Phase::Suspended(step);
        Expect::Yield(out)
    }

    /// The body ends (returns, panics, or is unwound by a drop): its
    /// tracker and its current inner coroutine's are dropped.
    fn end(&mut self, phase: Phase, exp: &mut Expected) {
        exp.died(self.spec.id);
        if let Some(inner) = self.inner.take() {
            exp.died(inner.spec.id);
        }
        self.phase = phase;
    }

    /// The coroutine is dropped (or recycled) in its current phase.
    fn drop_now(&mut self, exp: &mut Expected, stats: &mut Stats) {
        match self.phase {
            Phase::Fresh => {
                stats.drops_fresh += 1;
                self.end(Phase::Returned, exp);
            }
            Phase::Suspended(_) => {
                stats.drops_suspended += 1;
                self.end(Phase::Returned, exp);
            }
            Phase::Returned | Phase::Panicked => stats.drops_finished += 1,
        }
    }
}

// ---------------------------------------------------------------------------
// The interpreter.

/// Reads bytes; zeroes once the input is used up.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn word(&mut self) -> u64 {
        let lo = u64::from(self.byte());
        let hi = u64::from(self.byte());
        mix(lo | hi << 8, 0x5157)
    }
}

struct Entry {
    co: Co,
    model: OuterModel,
}

/// The sizes a `create` picks from: 0 takes a recycled stack if there is
/// one (else the minimum), the last means `Coroutine::new`'s default.
const SIZES: [usize; 5] = [0, Stack::MIN_SIZE, 20_000, 64 * 1024, usize::MAX];

struct Machine {
    slots: Vec<Option<Entry>>,
    pool: Vec<Stack>,
    log: Rc<Log>,
    exp: Expected,
    next_id: u64,
    stats: Stats,
}

fn describe(p: &(dyn Any + Send)) -> String {
    if let Some(b) = p.downcast_ref::<Boom>() {
        format!("{b:?}")
    } else if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<another payload>".to_string()
    }
}

impl Machine {
    fn new() -> Machine {
        Machine {
            slots: (0..SLOTS).map(|_| None).collect(),
            pool: Vec::new(),
            log: Rc::new(Log::default()),
            exp: Expected::default(),
            next_id: 1,
            stats: Stats::default(),
        }
    }

    fn create(&mut self, b: &mut Bytes<'_>) {
        let slot = usize::from(b.byte()) % SLOTS;
        let (b1, b2, b3) = (b.byte(), b.byte(), b.byte());
        let steps = u64::from(b1 % 8);
        let panic_at = (b2 % 4 == 0).then_some(u64::from(b2 >> 2) % (steps + 1));
        let spec = Spec {
            id: self.next_id,
            steps,
            panic_at: panic_at.filter(|_| cfg!(panic = "unwind")),
            nest: b3 & 1 == 1,
            depth: u32::from(b3 >> 1) % 4,
        };
        self.next_id += 1;
        self.drop_slot(slot);
        let size = SIZES[usize::from(b3 >> 3) % SIZES.len()];
        let stack = match (size, self.pool.pop()) {
            (0, Some(s)) => {
                self.stats.reused_stacks += 1;
                s
            }
            (usize::MAX, popped) => {
                self.pool.extend(popped);
                Stack::with_default_size().expect("a stack")
            }
            (size, popped) => {
                self.pool.extend(popped);
                Stack::new(size.max(1)).expect("a stack")
            }
        };
        let (top, len) = (stack.top(), stack.size());
        assert!(len >= size.clamp(Stack::MIN_SIZE, Stack::DEFAULT_SIZE));
        self.exp.born(spec.id);
        let co = make_outer(spec, stack, &self.log);
        assert_eq!(co.stack().top(), top, "the coroutine is not on its stack");
        assert!(co.is_fresh());
        self.stats.created += 1;
        self.slots[slot] = Some(Entry {
            co,
            model: OuterModel::new(spec),
        });
    }

    /// Resumes the coroutine in `slot` (if any) and checks the result.
    /// Returns false once it has ended.
    fn resume(&mut self, slot: usize, input: u64) -> bool {
        let Some(e) = self.slots[slot].as_mut() else {
            return false;
        };
        let want = e.model.resume(input, &mut self.exp, &mut self.stats);
        self.stats.resumes += 1;
        let got = panic::catch_unwind(AssertUnwindSafe(|| e.co.resume(input)));
        let id = e.model.spec.id;
        match (want, got) {
            (Expect::Yield(w), Ok(CoroutineResult::Yield(g))) => {
                assert_eq!(g, w, "coroutine {id} yielded the wrong value");
                self.stats.yields += 1;
                assert!(!e.co.is_done());
                true
            }
            (Expect::Return(w), Ok(CoroutineResult::Return(g))) => {
                assert_eq!(g, w, "coroutine {id} returned the wrong value");
                self.stats.returns += 1;
                assert!(e.co.is_done());
                false
            }
            (Expect::Panic(w), Err(p)) if p.downcast_ref::<Boom>() == Some(&w) => {
                self.stats.panics += 1;
                assert!(e.co.is_done());
                false
            }
            (Expect::Ended(what), Err(p)) if describe(&*p).contains(what) => {
                self.stats.resumes_after_end += 1;
                false
            }
            (want, Ok(got)) => panic!("coroutine {id}: expected {want:?}, got {got:?}"),
            (want, Err(p)) => {
                panic!(
                    "coroutine {id}: expected {want:?}, got a panic: {}",
                    describe(&*p)
                )
            }
        }
    }

    fn drop_slot(&mut self, slot: usize) {
        if let Some(mut e) = self.slots[slot].take() {
            e.model.drop_now(&mut self.exp, &mut self.stats);
            drop(e.co);
        }
    }

    fn recycle(&mut self, slot: usize) {
        if let Some(mut e) = self.slots[slot].take() {
            e.model.drop_now(&mut self.exp, &mut self.stats);
            let top = e.co.stack().top();
            let stack = e.co.into_stack();
            assert_eq!(stack.top(), top);
            self.stats.recycled += 1;
            if self.pool.len() < POOL {
                self.pool.push(stack);
            }
        }
    }

    /// Every tracker of a finished or dropped body was dropped exactly
    /// once; no live body's was.
    fn check_drops(&self) {
        let drops = self.log.drops.borrow();
        for id in &self.exp.alive {
            assert_eq!(
                drops.get(id).copied().unwrap_or(0),
                0,
                "tracker {id} dropped while its body is alive"
            );
        }
        for id in &self.exp.dropped {
            assert_eq!(
                drops.get(id).copied().unwrap_or(0),
                1,
                "tracker {id}: wrong number of drops"
            );
        }
        assert_eq!(
            drops.len(),
            self.exp.dropped.len(),
            "an unknown tracker was dropped"
        );
    }

    fn step(&mut self, b: &mut Bytes<'_>) {
        self.stats.ops += 1;
        match b.byte() % 8 {
            0 | 1 => self.create(b),
            2 | 3 => {
                let slot = usize::from(b.byte()) % SLOTS;
                let input = b.word();
                self.resume(slot, input);
            }
            4 => {
                let slot = usize::from(b.byte()) % SLOTS;
                self.drop_slot(slot);
            }
            5 => {
                let slot = usize::from(b.byte()) % SLOTS;
                self.recycle(slot);
            }
            6 => {
                let slot = usize::from(b.byte()) % SLOTS;
                let n = b.byte() % 8 + 1;
                for i in 0..n {
                    if !self.resume(slot, mix(u64::from(i), slot as u64)) {
                        break;
                    }
                }
            }
            _ => {
                // Run to the end, then once more (an ended coroutine's
                // resume panics).
                let slot = usize::from(b.byte()) % SLOTS;
                let mut i = 0u64;
                while self.resume(slot, i) {
                    i += 1;
                    assert!(i < 64, "coroutine in slot {slot} never ends");
                }
                self.resume(slot, i);
            }
        }
        self.check_drops();
    }
}

/// Runs `data` as a sequence of operations, checking every result against
/// the model; panics on the first mismatch. Returns what it did.
pub fn run(data: &[u8]) -> Stats {
    let mut m = Machine::new();
    let mut b = Bytes { data, pos: 0 };
    while !b.done() && (m.stats.ops as usize) < MAX_OPS {
        m.step(&mut b);
    }
    // Whatever is left is dropped: suspended bodies unwind, fresh ones are
    // dropped, finished ones just free their stacks.
    for slot in 0..SLOTS {
        m.drop_slot(slot);
    }
    m.check_drops();
    assert!(m.exp.alive.is_empty(), "live trackers at the end");
    m.pool.clear();
    m.stats
}
