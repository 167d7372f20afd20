//! Debugging tools see through the switch. Each check runs in a forked
//! child (this file is `harness = false`, run by tests/common/harness.rs
//! on the main thread, so that the process is single-threaded when it
//! forks), whose output is checked:
//!
//! - a panic inside a coroutine, with `RUST_BACKTRACE=1`: the backtrace the
//!   panic hook prints walks from the coroutine's frames onto the resumer's;
//! - with the `asan` feature, under `-Zsanitizer=address` (.ci/asan.sh):
//!   AddressSanitizer still catches a real use-after-free inside a
//!   coroutine, and names the coroutine's frames (without the feature,
//!   that check is listed as ignored).

// Forks children that crash on purpose and reads their reports: Unix only.
// Elsewhere the file is one check listed as ignored, with the reason.
#[cfg(unix)]
#[path = "."]
mod unix {
    #[path = "common/child.rs"]
    mod child;
    #[path = "common/harness.rs"]
    mod harness;

    use swapctx::Coroutine;

    #[inline(never)]
    fn panics_deep_in_the_coroutine(depth: u32) {
        if std::hint::black_box(depth) == 0 {
            panic!("deliberate panic for the backtrace test");
        }
        panics_deep_in_the_coroutine(depth - 1);
    }

    #[inline(never)]
    fn resumer_of_the_panicking_coroutine() {
        let mut co = Coroutine::<(), (), ()>::new(|_, ()| panics_deep_in_the_coroutine(2));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| co.resume(())));
        assert!(caught.is_err());
    }

    #[cfg(feature = "asan")]
    #[inline(never)]
    fn use_after_free_in_a_coroutine() {
        let mut co = Coroutine::<(), (), u8>::new(|_, ()| {
            let b = Box::new([7u8; 64]);
            let p: *const u8 = &b[10];
            drop(b);
            // SAFETY: none: this is the bug ASan must catch.
            unsafe { std::ptr::read_volatile(p) }
        });
        let _ = co.resume(());
    }

    #[cfg(feature = "asan")]
    fn asan_catches_a_use_after_free_in_a_coroutine() -> Result<(), String> {
        let o = child::in_child(use_after_free_in_a_coroutine);
        if o.exit == Some(0) {
            return Err(format!("the use-after-free went unnoticed:\n{}", o.output));
        }
        if !o
            .output
            .contains("ERROR: AddressSanitizer: heap-use-after-free")
        {
            return Err(format!("no ASan report:\n{}", o.output));
        }
        if !o.output.contains("use_after_free_in_a_coroutine") {
            return Err(format!(
                "the report does not name the coroutine's frames:\n{}",
                o.output
            ));
        }
        Ok(())
    }

    /// The trampolines' CFI leads to the resumer.
    fn a_panic_backtrace_reaches_the_resumer() -> Result<(), String> {
        let o = child::in_child(|| {
            std::env::set_var("RUST_BACKTRACE", "1");
            resumer_of_the_panicking_coroutine();
        });
        if o.exit != Some(0) {
            return Err(format!(
                "child ended with {:?}/{:?}:\n{}",
                o.exit, o.signal, o.output
            ));
        }
        let lines: Vec<&str> = o.output.lines().collect();
        let pos = |name: &str| lines.iter().position(|l| l.trim_end().ends_with(name));
        let (Some(deep), Some(tramp), Some(resumer)) = (
            pos("panics_deep_in_the_coroutine"),
            pos("coroutine_trampoline"),
            pos("resumer_of_the_panicking_coroutine"),
        ) else {
            return Err(format!(
                "frames missing from the panic's backtrace:\n{}",
                o.output
            ));
        };
        if !(deep < tramp && tramp < resumer) {
            return Err(format!("frames out of order:\n{}", o.output));
        }
        if !o.output.contains("deliberate panic for the backtrace test") {
            return Err("the panic message is missing".into());
        }
        Ok(())
    }

    pub fn main() {
        const ASAN: &str = "asan_catches_a_use_after_free_in_a_coroutine";
        #[cfg(feature = "asan")]
        let asan = harness::check(ASAN, asan_catches_a_use_after_free_in_a_coroutine);
        #[cfg(not(feature = "asan"))]
        let asan = harness::cannot_run(
            ASAN,
            "needs the `asan` feature under -Zsanitizer=address (.ci/asan.sh)",
        );
        harness::run(vec![
            asan,
            harness::check(
                "a_panic_backtrace_reaches_the_resumer",
                a_panic_backtrace_reaches_the_resumer,
            ),
        ]);
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
        "debug_tools",
        "forks children that crash on purpose and reads their reports: Unix only",
    )]);
}
