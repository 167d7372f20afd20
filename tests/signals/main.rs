//! Under fire: signals in the middle of switches, a user's `SIGSEGV`
//! handler behind swapctx's, and `fork` with suspended coroutines.
//!
//! - `user_handler.rs`: a user's `SIGSEGV` handler still runs behind
//!   swapctx's, for faults on the main stack and on a coroutine's;
//! - `fork.rs`: a forked child finishes the coroutines it inherited
//!   suspended, and the parent's are untouched;
//! - `storm.rs`: the signal storm both storms share (timer, handler,
//!   counts);
//! - `register_storm.rs`: raw contexts with every callee-saved register
//!   loaded (the torture of `src/arch/torture/`), under the storm;
//! - `coroutine_storm.rs`: coroutines checked against a model, under the
//!   storm.
//!
//! This target is `harness = false` (Cargo.toml): tests/common/harness.rs
//! runs it with libtest-mimic, every test on the main thread, one at a
//! time, so that the process stays single-threaded: `fork` is safe and
//! every `SIGALRM` of the interval timer lands on the thread that
//! switches. `cargo test --test signals` runs it; a name filter runs part
//! of it (`cargo test --test signals -- storm`); a test that cannot run
//! here is listed as ignored, with the reason.
//!
//! The signal storms arm a `CLOCK_MONOTONIC` timer (`timer_create`) with a
//! 20 µs period (SWAPCTX_SIGNAL_PERIOD_US overrides it) and a `SIGALRM`
//! handler installed *without* `SA_ONSTACK`, so it runs on
//! whatever stack is current: the main stack or a coroutine's. The handler
//! reads the interrupted stack pointer from its `ucontext` and checks that
//! it lies inside a stack (the main one or one of the test's), writes a
//! kilobyte of stack, does floating-point work, and counts. If the
//! switching loop stops making progress between signals (qemu-user takes
//! longer than 20 µs to deliver one), the handler doubles the period, up to
//! 2 ms, so the storm cannot livelock the test. A storm runs
//! for at least a second and until enough signals have landed (bounded by
//! a cap), so its lower bounds hold on a slow machine or under qemu.

// Signal storms, user handlers and fork: Unix only. Elsewhere the file is
// one check listed as ignored, with the reason.
#[cfg(unix)]
#[path = "."]
mod unix {
    // Built by mistake with the libtest harness (no `[[test]] harness = false`
    // entry for this target), nothing here runs: keep that build quiet, and
    // say why through the one ignored test below. With `harness = false`,
    // `cfg(test)` is not set and none of this applies.
    #![cfg_attr(test, allow(dead_code, unused_imports))]

    #[cfg(test)]
    #[test]
    #[ignore = "tests/signals/main.rs has its own main: it needs `harness = false` in Cargo.toml"]
    fn needs_harness_false() {}

    #[path = "../common/harness.rs"]
    mod harness;
    #[path = "../../src/arch/torture/mod.rs"]
    mod torture;

    mod coroutine_storm;
    mod fork;
    mod register_storm;
    mod storm;
    mod user_handler;

    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::rc::Rc;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

    use swapctx::Stack;

    // ---------------------------------------------------------------------------
    // Helpers for every topic.

    /// A test: its name, its function, and why it cannot run under Valgrind
    /// (if it cannot).
    type Entry = (&'static str, fn(), Option<&'static str>);

    pub fn main() {
        // The main stack: the handler accepts interrupted stack pointers from
        // 8 MiB below this one to 256 KiB above it as "the main stack".
        let here = swapctx::raw::current_stack_pointer();
        storm::MAIN_LO.store(here - 8 * 1024 * 1024, Relaxed);
        storm::MAIN_HI.store(here + 256 * 1024, Relaxed);

        // Order matters: the SIGSEGV tests need a process in which swapctx has
        // not installed its handler yet, so they come before anything that
        // makes a stack. The third field says why a test cannot run under
        // Valgrind (the `valgrind` feature), if it cannot.
        const FAULTS: &str = "under Valgrind its deliberate write to a PROT_NONE page is a \
                          memcheck error";
        const STORM: &str = "Valgrind delivers signals only between its own translated \
                         blocks; the storms run natively and under qemu";
        let tests: [Entry; 5] = [
            (
                "user_sigsegv_siginfo_handler_still_runs",
                user_handler::user_sigsegv_siginfo_handler_still_runs,
                Some(FAULTS),
            ),
            (
                "user_sigsegv_plain_handler_still_runs",
                user_handler::user_sigsegv_plain_handler_still_runs,
                Some(FAULTS),
            ),
            (
                "fork_child_finishes_suspended_coroutines",
                fork::fork_child_finishes_suspended_coroutines,
                None,
            ),
            (
                "signal_storm_callee_saved_registers",
                register_storm::signal_storm_callee_saved_registers,
                Some(STORM),
            ),
            (
                "signal_storm_coroutine_values",
                coroutine_storm::signal_storm_coroutine_values,
                Some(STORM),
            ),
        ];
        let trials = tests
            .into_iter()
            .map(
                |(name, test, not_under_valgrind)| match not_under_valgrind {
                    Some(why) if cfg!(feature = "valgrind") => harness::cannot_run(name, why),
                    _ => harness::test(name, test),
                },
            )
            .collect();
        harness::run(trials);
    }

    /// Set once anything in this process made a swapctx stack (and with it,
    /// installed swapctx's fault handler).
    static STACKS_MADE: AtomicBool = AtomicBool::new(false);

    fn new_stack(size: usize) -> Stack {
        STACKS_MADE.store(true, Relaxed);
        Stack::new(size).expect("a stack")
    }

    fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
    }

    /// Runs `child` in a forked child, which exits with `child`'s code (101 if
    /// it panics) without running any destructor or atexit handler of the
    /// parent's; returns the child's exit code, or panics if a signal killed
    /// it.
    fn in_child(what: &str, child: impl FnOnce() -> i32) -> i32 {
        // SAFETY: this process is single-threaded (harness = false), so the
        // child is a full copy in which every lock is free.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = panic::catch_unwind(AssertUnwindSafe(child)).unwrap_or(101);
            // SAFETY: _exit ends the child at once, as fork's child should.
            unsafe { libc::_exit(code) }
        }
        wait_child(what, pid)
    }

    fn wait_child(what: &str, pid: libc::pid_t) -> i32 {
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a live local.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(rc, pid, "waitpid failed");
        if libc::WIFSIGNALED(status) {
            panic!(
                "{what}: the child was killed by signal {}",
                libc::WTERMSIG(status)
            );
        }
        assert!(
            libc::WIFEXITED(status),
            "{what}: odd wait status {status:#x}"
        );
        libc::WEXITSTATUS(status)
    }

    fn mix(a: u64, b: u64) -> u64 {
        (a ^ b).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23) ^ (a >> 7)
    }

    struct DropFlag(Rc<Cell<u32>>);
    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
}

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
#[path = "../common/harness.rs"]
mod harness;

#[cfg(not(unix))]
fn main() {
    harness::run(vec![harness::cannot_run(
        "signals",
        "signal storms, user handlers and fork: Unix only",
    )]);
}
