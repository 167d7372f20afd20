//! Create + run to completion + drop: swapctx with a fresh stack, swapctx
//! reusing one stack, swapctx with a `StackPool`, corosensei, and
//! `std::thread::spawn` + `join`. Then "many": make 10,000 coroutines,
//! each suspended after touching its stack, and drop them all (see also
//! `examples/scale.rs`).
//!
//! `cargo bench --bench create`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use swapctx::{Coroutine, CoroutineResult, Stack, StackPool, Yielder};

fn create(c: &mut Criterion) {
    let mut g = c.benchmark_group("create, run, drop");
    g.bench_function("swapctx, fresh stack", |b| {
        b.iter(|| {
            let mut co = Coroutine::<u64, (), u64>::new(|_, x| x + 1);
            assert_eq!(
                co.resume(std::hint::black_box(1)),
                CoroutineResult::Return(2)
            );
        })
    });
    let mut spare = Some(Stack::with_default_size().unwrap());
    g.bench_function("swapctx, reused stack", |b| {
        b.iter(|| {
            let mut co = Coroutine::<u64, (), u64>::with_stack(spare.take().unwrap(), |_, x| x + 1);
            assert_eq!(
                co.resume(std::hint::black_box(1)),
                CoroutineResult::Return(2)
            );
            spare = Some(co.into_stack());
        })
    });
    let pool = StackPool::new(Stack::DEFAULT_SIZE, 16).unwrap();
    g.bench_function("swapctx, pool", |b| {
        b.iter(|| {
            let mut co = Coroutine::<u64, (), u64>::with_stack(pool.stack().unwrap(), |_, x| x + 1);
            assert_eq!(
                co.resume(std::hint::black_box(1)),
                CoroutineResult::Return(2)
            );
        })
    });
    g.bench_function("corosensei, fresh stack", |b| {
        b.iter(|| {
            let mut co = corosensei::Coroutine::<u64, (), u64>::new(|_, x| x + 1);
            assert!(matches!(
                co.resume(std::hint::black_box(1)),
                corosensei::CoroutineResult::Return(2)
            ));
        })
    });
    let mut cstack = Some(corosensei::stack::DefaultStack::default());
    g.bench_function("corosensei, reused stack", |b| {
        b.iter(|| {
            let stack = cstack.take().unwrap();
            let mut co = corosensei::Coroutine::<u64, (), u64, _>::with_stack(stack, |_, x| x + 1);
            assert!(matches!(
                co.resume(std::hint::black_box(1)),
                corosensei::CoroutineResult::Return(2)
            ));
            cstack = Some(co.into_stack());
        })
    });
    g.sample_size(30);
    g.bench_function("std::thread::spawn + join", |b| {
        b.iter(|| {
            std::thread::spawn(|| std::hint::black_box(1u64) + 1)
                .join()
                .unwrap()
        })
    });
    g.finish();
}

/// How many coroutines each "many" iteration keeps alive at once.
const MANY: usize = 10_000;

/// A body that touches its stack and suspends once.
fn touch_and_suspend(suspend: impl FnOnce(u64) -> u64) -> u64 {
    let buf = std::hint::black_box([7u8; 512]);
    suspend(buf[3] as u64) + buf[5] as u64
}

fn many(c: &mut Criterion) {
    let mut g = c.benchmark_group("many: make 10,000 suspended, drop all");
    g.sample_size(10);
    g.throughput(Throughput::Elements(MANY as u64));
    let mut live: Vec<Coroutine<u64, u64, u64>> = Vec::with_capacity(MANY);
    g.bench_function("swapctx, fresh stacks", |b| {
        b.iter(|| {
            for _ in 0..MANY {
                let mut co = Coroutine::with_stack(
                    Stack::with_default_size().unwrap(),
                    |y: &Yielder<u64, u64>, _| touch_and_suspend(|v| y.suspend(v)),
                );
                let _ = co.resume(0);
                live.push(co);
            }
            live.clear();
        })
    });
    let pool = StackPool::new(Stack::DEFAULT_SIZE, MANY).unwrap();
    pool.prefill(MANY).unwrap();
    g.bench_function("swapctx, pool", |b| {
        b.iter(|| {
            for _ in 0..MANY {
                let mut co =
                    Coroutine::with_stack(pool.stack().unwrap(), |y: &Yielder<u64, u64>, _| {
                        touch_and_suspend(|v| y.suspend(v))
                    });
                let _ = co.resume(0);
                live.push(co);
            }
            live.clear();
        })
    });
    type Coro = corosensei::Coroutine<u64, u64, u64, corosensei::stack::DefaultStack>;
    g.bench_function("corosensei, fresh default stacks", |b| {
        b.iter_batched_ref(
            || Vec::<Coro>::with_capacity(MANY),
            |live| {
                for _ in 0..MANY {
                    let mut co =
                        corosensei::Coroutine::new(|y: &corosensei::Yielder<u64, u64>, _| {
                            touch_and_suspend(|v| y.suspend(v))
                        });
                    co.resume(0);
                    live.push(co);
                }
                live.clear();
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, create, many);
criterion_main!(benches);
