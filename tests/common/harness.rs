//! The runner of the `harness = false` test files that fork: libtest-mimic
//! (the output, filters, `--list`, `--ignored` and `--exact` of
//! `cargo test`), with every test run on the main thread, one at a time,
//! whatever `--test-threads` says. The process stays single-threaded, so a
//! `fork` copies every lock free and every signal of a per-process timer
//! lands on the thread that runs the test.
//!
//! A check that cannot run here is listed as ignored, with the reason,
//! never as passed.

#![allow(dead_code)]

pub use libtest_mimic::{Completion, Failed, Trial};

/// Runs `trials` in order on the main thread and exits with libtest's
/// status (non-zero if any failed).
pub fn run(trials: Vec<Trial>) -> ! {
    let mut args = libtest_mimic::Arguments::from_args();
    // libtest-mimic runs the tests on the calling thread, in order, only
    // when it is told one thread; more would spawn a pool.
    args.test_threads = Some(1);
    libtest_mimic::run(&args, trials).exit()
}

/// A test that passes when `check` returns `Ok`; `Err` says what went
/// wrong.
pub fn check(name: &str, check: fn() -> Result<(), String>) -> Trial {
    Trial::test(name, move || check().map_err(Failed::from))
}

/// A test that passes unless `test` panics.
pub fn test(name: &str, test: fn()) -> Trial {
    Trial::test(name, move || {
        test();
        Ok(())
    })
}

/// A test that cannot run here: reported as ignored, with `why`.
pub fn cannot_run(name: &str, why: &str) -> Trial {
    let why = why.to_string();
    Trial::ignorable_test(name, move || Ok(Completion::ignored_with(why)))
}
