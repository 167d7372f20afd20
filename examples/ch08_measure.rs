//! Chapter 8: measuring a switch, the simple way.
//!
//! Times N round trips (into a context and back out: two switches) with
//! `std::time::Instant`, several times, and prints the best run in
//! nanoseconds per round trip. The best of several runs is the least
//! disturbed by other processes, interrupts and frequency changes; it is
//! still only one machine's number on one day. The third line suspends
//! from a non-inlined helper instead of the coroutine's own body, which
//! unpairs the return-stack buffer (docs/08-measuring-a-switch.md). Build
//! with `--release` to measure anything meaningful:
//!
//! ```text
//! cargo run --release --example ch08_measure
//! ```

use std::ffi::c_void;
use std::hint::black_box;
use std::time::Instant;

use swapctx::raw::{self, Context};
use swapctx::{Coroutine, Stack, Yielder};

const ROUND_TRIPS: u32 = 200_000;
const RUNS: u32 = 5;

/// Runs `f(ROUND_TRIPS)` `RUNS` times and returns the best time per round
/// trip, in nanoseconds.
fn best_ns(mut f: impl FnMut(u32)) -> f64 {
    f(1_000); // warm up: page in the stack, train the branch predictors
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f(ROUND_TRIPS);
            start.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// The raw round trip: main and `echo` switch back and forth.
struct Pair {
    main: Context,
    echo: Context,
}

unsafe extern "C" fn echo(mut value: usize, data: *mut c_void) -> ! {
    let pair = data.cast::<Pair>();
    loop {
        // SAFETY: `pair` outlives this context; main is suspended in `main`
        // every time we run.
        value = unsafe {
            let main = std::mem::take(&mut (*pair).main);
            raw::switch(&mut (*pair).echo, main, value)
        };
    }
}

/// Suspends on behalf of the coroutine's body, from a frame of its own.
#[inline(never)]
fn suspend_in_a_helper(y: &Yielder<usize, usize>, v: usize) -> usize {
    y.suspend(black_box(v))
}

#[inline(never)]
fn plain_call(x: usize) -> usize {
    black_box(x) + 1
}

fn main() -> Result<(), swapctx::Error> {
    println!(
        "{ROUND_TRIPS} round trips, best of {RUNS} runs ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );

    // 1. The raw switch, twice per round trip.
    let stack = Stack::new(64 * 1024)?;
    let mut pair = Box::new(Pair {
        main: Context::empty(),
        echo: Context::empty(),
    });
    let p: *mut Pair = &mut *pair;
    // SAFETY: the stack and the pair outlive every switch below; `echo`
    // never returns. The echo context stays suspended when we are done and
    // is simply never resumed (it owns nothing that needs dropping).
    unsafe { (*p).echo = Context::new(stack.top(), echo, p.cast()) };
    let raw_ns = best_ns(|n| {
        for i in 0..n as usize {
            // SAFETY: echo is suspended in `echo` between round trips.
            let v = unsafe {
                let to = std::mem::take(&mut (*p).echo);
                raw::switch(&mut (*p).main, to, i)
            };
            black_box(v);
        }
    });
    println!("raw::switch, in and out:          {raw_ns:>7.1} ns per round trip");

    // 2. The safe layer: resume + suspend, with its state checks and
    //    message passing.
    let mut co = Coroutine::<usize, usize, ()>::new(|y, mut v| loop {
        v = y.suspend(v);
    });
    let co_ns = best_ns(|n| {
        for i in 0..n as usize {
            let _ = black_box(co.resume(i));
        }
    });
    println!("Coroutine::resume + suspend:      {co_ns:>7.1} ns per round trip");

    // 3. The same, but the coroutine suspends from inside a function it
    //    called: its own call is then on the return-stack buffer above
    //    `resume`'s, and both returns that cross the switch are
    //    mispredicted (the chapter's "return-stack buffer" section).
    let mut co = Coroutine::<usize, usize, ()>::new(|y, mut v| loop {
        v = suspend_in_a_helper(y, v);
    });
    let helper_ns = best_ns(|n| {
        for i in 0..n as usize {
            let _ = black_box(co.resume(i));
        }
    });
    println!("  ... with suspend in a helper:   {helper_ns:>7.1} ns per round trip");

    // 4. For scale: an ordinary call and return.
    let call_ns = best_ns(|n| {
        for i in 0..n as usize {
            black_box(plain_call(i));
        }
    });
    println!("a plain function call and return: {call_ns:>7.1} ns per round trip");
    Ok(())
}
