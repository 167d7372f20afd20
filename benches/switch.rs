//! Switch latency: one round trip (two switches) for swapctx's coroutines
//! and raw switch, glibc's swapcontext, corosensei, the `context` crate,
//! Boost.Context (when installed) and two OS threads.
//!
//! `cargo bench --bench switch`. The "round trip" group times there and
//! back (two switches); the "one way" group times single hops around a ring
//! of raw contexts; the "return-stack buffer" group times a coroutine
//! round trip with `suspend` inlined into the coroutine's body and with
//! `suspend` inside a function the body calls (docs/08-measuring-a-switch.md).

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "../cli/src/peers.rs"]
mod peers;
#[path = "../cli/src/roundtrip.rs"]
mod roundtrip;

use roundtrip::RoundTrip;
use swapctx::{Coroutine, Yielder};

/// The coroutine suspends from inside a function it called, not inlined
/// into its body (as a tree walk or a parser does): at the `suspend`, the
/// coroutine's own call to the helper is on the return-stack buffer above
/// `resume`'s, so the `ret` out of `suspend` and the helper's `ret` after
/// the next resume are both predicted to the wrong place.
struct SuspendInHelper(Coroutine<u64, u64, ()>);

#[inline(never)]
fn helper(y: &Yielder<u64, u64>, x: u64) -> u64 {
    y.suspend(std::hint::black_box(x).wrapping_add(1))
}

impl SuspendInHelper {
    fn new() -> Self {
        SuspendInHelper(Coroutine::new(|y, mut x: u64| loop {
            x = helper(y, x);
        }))
    }
}

impl RoundTrip for SuspendInHelper {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        roundtrip::resume_loop(&mut self.0, n)
    }
}

fn bench_one(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut imp: impl RoundTrip,
) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let t = std::time::Instant::now();
            std::hint::black_box(imp.round_trips(iters));
            t.elapsed()
        })
    });
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("round trip");
    bench_one(
        &mut g,
        "swapctx coroutine",
        roundtrip::SwapctxCoroutine::new(),
    );
    bench_one(&mut g, "swapctx raw switch", roundtrip::SwapctxRaw::new());
    bench_one(&mut g, "corosensei", peers::Corosensei::new());
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    bench_one(&mut g, "context crate", peers::ContextCrate::new());
    #[cfg(swapctx_boost_context)]
    bench_one(&mut g, "boost jump_fcontext", peers::boost::Fcontext::new());
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    bench_one(&mut g, "glibc swapcontext", roundtrip::Ucontext::new());
    g.finish();
    let mut g = c.benchmark_group("round trip (kernel)");
    g.sample_size(20);
    bench_one(
        &mut g,
        "two threads, one CPU",
        roundtrip::ThreadPingPong::new(),
    );
    g.finish();
}

/// One switch, measured as such: a ring of raw contexts where each hop
/// goes straight to the next one, timed per hop.
fn one_way(c: &mut Criterion) {
    let mut g = c.benchmark_group("one way");
    let mut ring = roundtrip::SwapctxRing::new();
    g.bench_function("swapctx raw switch (ring hop)", |b| {
        b.iter_custom(|iters| {
            // Each lap is HOPS switches; time enough laps for `iters` hops.
            let laps = iters.div_ceil(roundtrip::SwapctxRing::HOPS);
            let t = std::time::Instant::now();
            std::hint::black_box(ring.round_trips(laps));
            let per_hop = t.elapsed().as_secs_f64() / (laps * roundtrip::SwapctxRing::HOPS) as f64;
            std::time::Duration::from_secs_f64(per_hop * iters as f64)
        })
    });
    g.finish();
}

/// Where the coroutine suspends decides whether its switches pair with the
/// return-stack buffer (docs/08-measuring-a-switch.md).
fn return_stack_buffer(c: &mut Criterion) {
    let mut g = c.benchmark_group("return-stack buffer");
    bench_one(
        &mut g,
        "coroutine, suspend inlined",
        roundtrip::SwapctxCoroutine::new(),
    );
    bench_one(
        &mut g,
        "coroutine, suspend in a non-inlined helper",
        SuspendInHelper::new(),
    );
    g.finish();
}

criterion_group!(benches, round_trip, one_way, return_stack_buffer);
criterion_main!(benches);
