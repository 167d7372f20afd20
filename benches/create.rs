//! Create + run to completion + drop: swapctx with a fresh stack, swapctx
//! reusing one stack, corosensei, and `std::thread::spawn` + `join`.
//!
//! `cargo bench --bench create`.

use criterion::{criterion_group, criterion_main, Criterion};
use swapctx::{Coroutine, CoroutineResult, Stack};

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

criterion_group!(benches, create);
criterion_main!(benches);
