//! Items per second from a producer into a consumer: a coroutine consumer
//! against two threads joined by `std::sync::mpsc`.
//!
//! `cargo bench --bench pipeline`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use swapctx::{Coroutine, CoroutineResult};

const ITEMS: u64 = 10_000;

fn pipeline(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(ITEMS));
    g.bench_function("coroutine consumer", |b| {
        b.iter(|| {
            let mut consumer = Coroutine::<Option<u64>, (), u64>::new(|y, first| {
                let mut sum = 0u64;
                let mut next = first;
                while let Some(v) = next {
                    sum = sum.wrapping_add(v);
                    next = y.suspend(());
                }
                sum
            });
            for i in 0..ITEMS {
                let _ = consumer.resume(Some(i));
            }
            match consumer.resume(None) {
                CoroutineResult::Return(sum) => assert_eq!(sum, ITEMS * (ITEMS - 1) / 2),
                CoroutineResult::Yield(()) => unreachable!(),
            }
        })
    });
    g.sample_size(20);
    g.bench_function("mpsc between two threads", |b| {
        b.iter(|| {
            let (tx, rx) = std::sync::mpsc::channel::<u64>();
            let consumer =
                std::thread::spawn(move || rx.iter().fold(0u64, |a, v| a.wrapping_add(v)));
            for i in 0..ITEMS {
                tx.send(i).unwrap();
            }
            drop(tx);
            assert_eq!(consumer.join().unwrap(), ITEMS * (ITEMS - 1) / 2);
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
