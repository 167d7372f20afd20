//! `swapctx bench`: switch latency on this machine, in a few seconds, for
//! swapctx and the peers the criterion suite measures (`benches/switch.rs`),
//! in one run, as ratios.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::roundtrip::{RoundTrip, SwapctxCoroutine, SwapctxRaw, ThreadPingPong};

/// The version of the JSON that `swapctx bench --json` prints. Raised when
/// a field changes meaning or goes away (new fields do not raise it).
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// The name of the row every ratio is relative to.
const BASE: &str = "swapctx coroutine";

/// One implementation's result.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Short name, e.g. "corosensei".
    pub name: &'static str,
    /// What one round trip is, for this implementation.
    pub what: &'static str,
    /// Timed batches (each many round trips) behind min, median and max.
    pub runs: usize,
    /// Round trip (two switches; a call and its return for the floor), in
    /// nanoseconds: the fastest, the median and the slowest batch.
    pub min_ns: f64,
    pub median_ns: f64,
    pub max_ns: f64,
    /// `median_ns` divided by the swapctx coroutine's.
    pub vs_swapctx_coroutine: f64,
}

/// A peer that this build cannot measure, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotMeasured {
    pub name: &'static str,
    pub reason: &'static str,
}

/// Everything `--json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    schema_version: u32,
    cpu: String,
    arch: &'static str,
    switch: &'static str,
    /// Every ratio is `median_ns` over this row's `median_ns`.
    ratios_relative_to: &'static str,
    results: &'a [Measured],
    not_measured: &'a [NotMeasured],
}

/// Per-batch nanoseconds per round trip, `runs` batches each about `batch`
/// long, sorted.
fn measure(imp: &mut dyn RoundTrip, runs: usize, batch: Duration) -> Vec<f64> {
    // Warm up, and find how many round trips fill a batch.
    let mut n = 16u64;
    loop {
        let t = Instant::now();
        std::hint::black_box(imp.round_trips(n));
        let e = t.elapsed();
        if e >= batch / 4 || n >= 1 << 30 {
            let per = e.as_secs_f64() / n as f64;
            n = ((batch.as_secs_f64() / per) as u64).max(1);
            break;
        }
        n *= 4;
    }
    let mut ns: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(imp.round_trips(n));
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    ns.sort_by(|a, b| a.total_cmp(b));
    ns
}

/// The CPU's model name, as the kernel reports it.
pub fn cpu_name() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    for key in ["model name", "Model", "Hardware", "uarch", "CPU part"] {
        if let Some(v) = info
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_once(':'))
        {
            return v.1.trim().to_string();
        }
    }
    std::env::consts::ARCH.to_string()
}

/// The floor: a plain call of a function the compiler cannot inline or
/// see through, and its return.
struct FunctionCall(fn(u64) -> u64);

#[inline(never)]
fn plus_one(x: u64) -> u64 {
    x.wrapping_add(1)
}

impl RoundTrip for FunctionCall {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let mut x = 0;
        for _ in 0..n {
            x = std::hint::black_box(self.0)(x);
        }
        x
    }
}

type Make = fn() -> Box<dyn RoundTrip>;

/// What to measure on this target, and what cannot be.
// Which of `missing`'s pushes come first, if any, depends on the target
// (none on an architecture without the optional peers: riscv64, x86, arm
// without Boost.Context).
#[allow(clippy::vec_init_then_push)]
fn plan() -> (Vec<(&'static str, &'static str, Make)>, Vec<NotMeasured>) {
    let mut plan: Vec<(&'static str, &'static str, Make)> = vec![
        (
            "function call",
            "a call of a non-inlined function and its return (the floor)",
            || Box::new(FunctionCall(plus_one)),
        ),
        (BASE, "Coroutine::resume + Yielder::suspend", || {
            Box::new(SwapctxCoroutine::new())
        }),
        (
            "swapctx raw",
            "raw::switch there and back (full C-ABI save)",
            || Box::new(SwapctxRaw::new()),
        ),
    ];
    // Empty and never pushed to on a machine that has every peer.
    #[allow(unused_mut)]
    let mut missing = Vec::new();
    #[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
    plan.push(("corosensei", "Coroutine::resume + Yielder::suspend", || {
        Box::new(super::peers::Corosensei::new())
    }));
    #[cfg(any(target_arch = "powerpc64", target_arch = "s390x"))]
    missing.push(NotMeasured {
        name: "corosensei",
        reason: "corosensei has no switch for this architecture on stable Rust",
    });
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    plan.push(("context crate", "Context::resume there and back", || {
        Box::new(super::peers::ContextCrate::new())
    }));
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    missing.push(NotMeasured {
        name: "context crate",
        reason: "the context crate has no switch for this architecture",
    });
    #[cfg(swapctx_boost_context)]
    plan.push(("Boost.Context", "jump_fcontext there and back", || {
        Box::new(super::peers::boost::Fcontext::new())
    }));
    #[cfg(not(swapctx_boost_context))]
    missing.push(NotMeasured {
        name: "Boost.Context",
        reason: "libboost_context.so was not found when swapctx-cli was built; \
                 install libboost-context-dev and rebuild (cargo clean -p swapctx-cli)",
    });
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    plan.push(("glibc swapcontext", "swapcontext there and back", || {
        Box::new(super::roundtrip::Ucontext::new())
    }));
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    missing.push(NotMeasured {
        name: "glibc swapcontext",
        reason: "the libc crate declares swapcontext for x86_64 and aarch64 only",
    });
    plan.push(("OS threads", "two threads on one CPU, futex token", || {
        Box::new(ThreadPingPong::new())
    }));
    (plan, missing)
}

/// Measures everything in [`plan`], prints a table (or JSON), and returns
/// the rows.
pub fn run(json: bool, quick: bool) -> Vec<Measured> {
    let (runs, batch) = if quick {
        (5, Duration::from_millis(5))
    } else {
        (21, Duration::from_millis(25))
    };
    let (plan, missing) = plan();
    // Progress only where a person watches it: never into a pipe or a log.
    let progress = std::io::stderr().is_terminal();
    let total = plan.len();
    let mut rows: Vec<(&'static str, &'static str, Vec<f64>)> = Vec::new();
    for (i, (name, what, make)) in plan.into_iter().enumerate() {
        if progress {
            eprint!("\r[{}/{total}] measuring {name:<20}", i + 1);
            let _ = std::io::stderr().flush();
        }
        let mut imp = make();
        let ns = measure(&mut *imp, runs, batch);
        drop(imp);
        rows.push((name, what, ns));
    }
    if progress {
        eprint!("\r{:<50}\r", "");
        let _ = std::io::stderr().flush();
    }

    let median = |ns: &[f64]| ns[ns.len() / 2];
    let base = rows
        .iter()
        .find(|r| r.0 == BASE)
        .map(|r| median(&r.2))
        .expect("the swapctx coroutine is always measured");
    let results: Vec<Measured> = rows
        .iter()
        .map(|(name, what, ns)| Measured {
            name,
            what,
            runs: ns.len(),
            min_ns: ns[0],
            median_ns: median(ns),
            max_ns: ns[ns.len() - 1],
            vs_swapctx_coroutine: median(ns) / base,
        })
        .collect();

    if json {
        let report = Report {
            schema_version: JSON_SCHEMA_VERSION,
            cpu: cpu_name(),
            arch: std::env::consts::ARCH,
            switch: env!("SWAPCTX_SWITCH_ABI"),
            ratios_relative_to: BASE,
            results: &results,
            not_measured: &missing,
        };
        let text = serde_json::to_string_pretty(&report).expect("the report serialises");
        println!("{text}");
    } else {
        print_table(&results, &missing, runs);
    }
    results
}

fn print_table(results: &[Measured], missing: &[NotMeasured], runs: usize) {
    println!(
        "swapctx bench: round-trip latency on {} ({}), {runs} runs each",
        cpu_name(),
        env!("SWAPCTX_SWITCH_ABI")
    );
    println!();
    println!(
        "{:<20} {:>11} {:>23} {:>11}   what",
        "implementation", "median", "min .. max", "× swapctx"
    );
    for m in results {
        println!(
            "{:<20} {:>11} {:>23} {:>11}   {}",
            m.name,
            fmt_ns(m.median_ns),
            format!("{} .. {}", fmt_ns(m.min_ns), fmt_ns(m.max_ns)),
            format!("{:.2}×", m.vs_swapctx_coroutine),
            m.what
        );
    }
    for m in missing {
        println!("{:<20} not measured: {}", m.name, m.reason);
    }
    println!();
    println!(
        "A round trip is two switches: into the other side and back (for the function call, \
         a call and its return). × swapctx is the median over the swapctx coroutine's median. \
         Times drift on a busy machine; the ratios of one run are what to compare."
    );
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else if ns >= 100.0 {
        format!("{ns:.0} ns")
    } else {
        format!("{ns:.2} ns")
    }
}
