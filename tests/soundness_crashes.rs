//! The soundness rules whose result is the end of the process, each run in
//! a forked child (this file is `harness = false`, run by
//! tests/common/harness.rs on the main thread, so that the process is
//! single-threaded when it forks). The rest is in tests/soundness.rs.

// Forks children that abort on purpose: Unix only. Elsewhere the file is one
// check listed as ignored, with the reason.
#[cfg(unix)]
#[path = "."]
mod unix {
    #[path = "common/child.rs"]
    mod child;
    #[path = "common/harness.rs"]
    mod harness;

    use child::in_child;
    use swapctx::{Coroutine, Yielder};

    /// A coroutine that panics, with a destructor on its stack that suspends
    /// without catching the refusal: a panic in a destructor during an unwind,
    /// so the process aborts, after swapctx's message.
    fn suspend_in_the_coroutines_own_unwind_aborts_with_the_message() -> Result<(), String> {
        let out = in_child(|| {
            let mut co = Coroutine::<(), u8, ()>::new(|y, ()| {
                struct SuspendInDrop<'a>(&'a Yielder<(), u8>);
                impl Drop for SuspendInDrop<'_> {
                    fn drop(&mut self) {
                        self.0.suspend(1);
                    }
                }
                let _s = SuspendInDrop(y);
                panic!("the body's panic");
            });
            let _ = co.resume(());
        });
        let said = out
            .output
            .contains("Yielder::suspend called while the thread is panicking");
        if out.signal == Some(libc::SIGABRT) && said {
            Ok(())
        } else {
            Err(format!(
                "signal {:?}, exit {:?}, output:\n{}",
                out.signal, out.exit, out.output
            ))
        }
    }

    pub fn main() {
        harness::run(vec![harness::check(
            "suspend_in_the_coroutines_own_unwind_aborts_with_the_message",
            suspend_in_the_coroutines_own_unwind_aborts_with_the_message,
        )]);
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
        "soundness_crashes",
        "forks children that abort on purpose: Unix only",
    )]);
}
