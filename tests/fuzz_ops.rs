//! The model-based random tester of the safe layer: the operation
//! interpreter of `tests/ops/` (also the `cargo fuzz` target's) over a few
//! thousand seeded random sequences (the same every run), a hundred more
//! from a fresh seed each run (new ground every time), and every file of
//! the fuzz seed corpus. A failing sequence prints its seed and bytes.
//! (`tests/coroutine.rs` has the hand-written cases.)
//!
//! SWAPCTX_FUZZ_CASES sets the number of seeded sequences (default 3000);
//! SWAPCTX_FUZZ_SEED runs one seed alone, in place of both random tests'
//! seeds.

mod ops;

use std::panic;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs the random sequence of `seed`.
fn run_seed(seed: u64, total: &mut ops::Stats) {
    let mut rng = StdRng::seed_from_u64(seed);
    let len = rng.gen_range(0..=400);
    let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    run_one(
        &format!("seed {seed} (SWAPCTX_FUZZ_SEED={seed})"),
        &data,
        total,
    );
}

/// Runs one input; on failure prints what reproduces it and fails.
fn run_one(what: &str, data: &[u8], total: &mut ops::Stats) {
    match panic::catch_unwind(|| ops::run(data)) {
        Ok(stats) => total.add(&stats),
        Err(p) => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!("{what} failed; its {} bytes: {hex}", data.len());
            panic::resume_unwind(p);
        }
    }
}

#[test]
fn seeded_random_operation_sequences_match_the_model() {
    ops::quiet_expected_panics();
    let cases = env_u64("SWAPCTX_FUZZ_CASES").unwrap_or(3000);
    let seeds: Vec<u64> = match env_u64("SWAPCTX_FUZZ_SEED") {
        Some(seed) => vec![seed],
        None => (0..cases).collect(),
    };
    let mut total = ops::Stats::default();
    for seed in seeds {
        run_seed(seed, &mut total);
    }
    println!("{total:?}");
    // The sequences reach every kind of operation and outcome.
    assert!(total.created > 0 && total.reused_stacks > 0 && total.recycled > 0);
    assert!(total.yields > 0 && total.returns > 0 && total.resumes_after_end > 0);
    assert!(total.drops_fresh > 0 && total.drops_suspended > 0 && total.drops_finished > 0);
    assert!(total.inner_created > 0);
    if cfg!(panic = "unwind") && cases >= 100 {
        assert!(total.panics > 0);
    }
}

/// Sequences no earlier run has seen: a hundred seeds from a fresh random
/// base (a failure prints the one to rerun).
#[test]
fn fresh_random_operation_sequences_match_the_model() {
    ops::quiet_expected_panics();
    let seeds: Vec<u64> = match env_u64("SWAPCTX_FUZZ_SEED") {
        Some(seed) => vec![seed],
        None => {
            let base: u64 = rand::thread_rng().gen();
            (0..100).map(|k| base.wrapping_add(k)).collect()
        }
    };
    let mut total = ops::Stats::default();
    for seed in seeds {
        run_seed(seed, &mut total);
    }
    assert!(total.ops > 0, "no operation ran");
}

#[test]
fn the_fuzz_seed_corpus_matches_the_model() {
    ops::quiet_expected_panics();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/ops");
    let mut total = ops::Stats::default();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).expect("the seed corpus") {
        let path = entry.expect("a corpus entry").path();
        let data = std::fs::read(&path).expect("a corpus file");
        run_one(&path.display().to_string(), &data, &mut total);
        files += 1;
    }
    println!("{files} corpus files: {total:?}");
    assert!(files >= 4, "the seed corpus has only {files} files");
}
