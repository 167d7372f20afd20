//! libFuzzer target: the input is a sequence of coroutine operations, run
//! by the interpreter in `tests/ops/` (the one `tests/fuzz_ops.rs` runs
//! over seeded random sequences) and checked against its model.
//!
//! `cargo +nightly fuzz run ops` from the repository root; the seed corpus
//! is `fuzz/corpus/ops/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/ops/mod.rs"]
mod ops;

fuzz_target!(
    init: {
        ops::quiet_expected_panics();
    },
    |data: &[u8]| {
        ops::run(data);
    }
);
