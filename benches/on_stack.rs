//! What a call on another stack costs: `swapctx::on_stack` (a stack that
//! is reused), `Yielder::on_parent_stack`, corosensei's `on_stack` and,
//! on x86_64, the `stacker` crate (`maybe_grow` when there is room, which
//! is a plain call after a check, and `grow`, which maps a new stack for
//! every call), against a plain call of the same function.
//!
//! `cargo bench --bench on_stack`. Timings under an emulator are not
//! benchmark figures: run it natively.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use swapctx::{on_stack, Coroutine, CoroutineResult, Stack};

/// The work each call does: small, so that the call's own cost shows.
#[inline(never)]
fn work() -> u64 {
    let x = black_box([1u64, 2, 3, 4]);
    x.iter().sum()
}

fn bench_calls(c: &mut Criterion) {
    let mut g = c.benchmark_group("call on another stack");
    g.bench_function("plain call", |b| {
        b.iter(|| black_box(work as fn() -> u64)())
    });

    let mut stack = Stack::new(1024 * 1024).unwrap();
    g.bench_function("swapctx on_stack", |b| {
        b.iter(|| on_stack(&mut stack, black_box(work as fn() -> u64)))
    });

    // The coroutine makes `n` calls on its resumer's stack per resume and
    // times them itself.
    let mut co = Coroutine::<u64, Duration, ()>::new(|y, mut n| loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(y.on_parent_stack(black_box(work as fn() -> u64)));
        }
        n = y.suspend(start.elapsed());
    });
    g.bench_function("swapctx on_parent_stack", |b| {
        b.iter_custom(|iters| match co.resume(iters) {
            CoroutineResult::Yield(d) => d,
            CoroutineResult::Return(()) => unreachable!(),
        })
    });

    let mut coro_stack = corosensei::stack::DefaultStack::new(1024 * 1024).unwrap();
    g.bench_function("corosensei on_stack", |b| {
        b.iter(|| corosensei::on_stack(&mut coro_stack, black_box(work as fn() -> u64)))
    });

    #[cfg(target_arch = "x86_64")]
    {
        g.bench_function("stacker maybe_grow (room left)", |b| {
            b.iter(|| stacker::maybe_grow(32 * 1024, 1024 * 1024, black_box(work as fn() -> u64)))
        });
        g.bench_function("stacker grow (new stack)", |b| {
            b.iter(|| stacker::grow(1024 * 1024, black_box(work as fn() -> u64)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_calls);
criterion_main!(benches);
