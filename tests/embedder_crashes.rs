//! A coroutine on the embedder's memory (no guard page) that overflows
//! into its canary: the next switch back ends the program with the
//! message, in a forked child. With `std` the message is printed and the
//! process aborts; without `std` it goes to the panic handler (here the
//! test harness's, which prints it).
//!
//! ```text
//! cargo test --test embedder_crashes
//! cargo test -p swapctx --no-default-features --test embedder_crashes
//! ```
//!
//! Not with `valgrind` (these stacks are plain memory) nor `asan` (the
//! overflow writes below the buffer on purpose).

// Forks children that stop on purpose: Unix only. Elsewhere the file is one
// check listed as ignored, with the reason.
#[cfg(unix)]
#[path = "."]
mod unix {
    #[path = "common/child.rs"]
    mod child;

    #[cfg(not(any(feature = "valgrind", feature = "asan")))]
    pub fn main() {
        use child::{in_child, run_checks, Check};

        let checks: Vec<Check<'_>> = vec![
            (
                "overflow_into_the_canary_is_reported_at_the_next_switch",
                Box::new(|| {
                    let out = in_child(overflow_into_the_canary);
                    let said = out
                        .output
                        .contains("swapctx: a coroutine has overflowed its stack: the canary")
                        && out.output.contains("the canary at the bottom of the stack")
                        && out.output.contains("(8192 bytes, no guard page)");
                    // std: abort (SIGABRT); no std: a panic, which this child
                    // turns into exit code 3.
                    let stopped = out.signal == Some(libc::SIGABRT) || out.exit == Some(3);
                    if said && stopped && !out.output.contains("returned normally") {
                        Ok(())
                    } else {
                        Err(format!(
                            "signal {:?}, exit {:?}, output:\n{}",
                            out.signal, out.exit, out.output
                        ))
                    }
                }),
            ),
            (
                "a_deep_but_fitting_coroutine_is_not_reported",
                Box::new(|| {
                    let out = in_child(fits);
                    if out.exit == Some(0) && out.output.contains("fits: returned ") {
                        Ok(())
                    } else {
                        Err(format!("{:?} {:?}:\n{}", out.signal, out.exit, out.output))
                    }
                }),
            ),
        ];
        run_checks(checks);
    }

    #[cfg(any(feature = "valgrind", feature = "asan"))]
    pub fn main() {
        println!("embedder_crashes: skipped (valgrind/asan builds): 0 passed; 0 failed");
    }

    /// Recurses `depth` frames of 256 bytes each, every byte written.
    #[cfg(not(any(feature = "valgrind", feature = "asan")))]
    #[inline(never)]
    fn recurse(depth: u32) -> u32 {
        let mut frame = [depth as u8; 256];
        std::hint::black_box(&mut frame);
        if depth == 0 {
            return frame[7] as u32;
        }
        recurse(depth - 1) + std::hint::black_box(frame[255]) as u32
    }

    /// 64 KiB of memory; the coroutine's stack is its top 8 KiB, so that the
    /// overflow lands in the lower 56 KiB, which belong to this test.
    #[cfg(not(any(feature = "valgrind", feature = "asan")))]
    fn run_on_top_8k(depth: u32) -> u32 {
        use swapctx::{Coroutine, CoroutineResult, StackBuf};
        let mut memory = vec![0u128; 4096]; // 64 KiB, 16-byte aligned
        let base = memory.as_mut_ptr().cast::<u8>();
        // SAFETY: the top 8 KiB of `memory`, which outlives the coroutine;
        // an overflow writes into the rest of `memory`, which nothing uses.
        let stack = unsafe { StackBuf::from_raw_parts(base.add(56 * 1024), 8 * 1024) }.unwrap();
        let mut co = Coroutine::<(), (), u32, StackBuf>::with_stack(stack, move |y, ()| {
            let r = recurse(depth);
            y.suspend(());
            r
        });
        let _ = co.resume(());
        let CoroutineResult::Return(r) = co.resume(()) else {
            panic!("no return")
        };
        drop(co);
        drop(memory);
        r
    }

    #[cfg(not(any(feature = "valgrind", feature = "asan")))]
    fn overflow_into_the_canary() {
        // 100 frames of at least 256 bytes: 25 KiB on an 8 KiB stack.
        let r = std::panic::catch_unwind(|| run_on_top_8k(100));
        if r.is_err() {
            // Without std, the message came through the (harness's) panic
            // handler and unwound to here.
            // SAFETY: ends the child at once, as in_child does.
            unsafe { libc::_exit(3) };
        }
        println!("returned normally");
    }

    #[cfg(not(any(feature = "valgrind", feature = "asan")))]
    fn fits() {
        // 10 frames: well inside 8 KiB.
        let r = run_on_top_8k(10);
        println!("fits: returned {r}");
    }
}

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
#[path = "common/harness.rs"]
mod harness;

#[cfg(not(unix))]
fn main() {
    harness::run(vec![harness::cannot_run(
        "embedder_crashes",
        "forks children that stop on purpose: Unix only",
    )]);
}
