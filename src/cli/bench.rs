//! `swapctx bench`: switch latency on this machine, in a few seconds.

use std::io::Write;
use std::time::{Duration, Instant};

use super::roundtrip::{RoundTrip, SwapctxCoroutine, SwapctxRaw, ThreadPingPong};

/// One implementation's result.
pub struct Measured {
    pub name: &'static str,
    pub what: &'static str,
    /// Median nanoseconds per round trip (two switches).
    pub round_trip_ns: f64,
    pub samples: usize,
}

/// Medians over `samples` timed batches, each about `batch` long.
fn measure(imp: &mut dyn RoundTrip, samples: usize, batch: Duration) -> f64 {
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
    let mut ns: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(imp.round_trips(n));
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    ns.sort_by(|a, b| a.total_cmp(b));
    ns[ns.len() / 2]
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

pub fn run(json: bool, quick: bool) -> Vec<Measured> {
    let (samples, batch) = if quick {
        (5, Duration::from_millis(5))
    } else {
        (21, Duration::from_millis(25))
    };
    type Make = fn() -> Box<dyn RoundTrip>;
    let mut plan: Vec<(&str, &str, Make)> = vec![
        (
            "swapctx coroutine",
            "Coroutine::resume + Yielder::suspend",
            || Box::new(SwapctxCoroutine::new()),
        ),
        (
            "swapctx raw",
            "raw::switch there and back (full C-ABI save)",
            || Box::new(SwapctxRaw::new()),
        ),
    ];
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    plan.push(("glibc swapcontext", "swapcontext there and back", || {
        Box::new(super::roundtrip::Ucontext::new())
    }));
    plan.push(("OS threads", "two threads on one CPU, futex token", || {
        Box::new(ThreadPingPong::new())
    }));
    let mut results = Vec::new();
    let total = plan.len();
    for (i, (name, what, make)) in plan.into_iter().enumerate() {
        eprint!("\r[{}/{total}] measuring {name:<20}", i + 1);
        let _ = std::io::stderr().flush();
        let mut imp = make();
        let ns = measure(&mut *imp, samples, batch);
        drop(imp);
        results.push(Measured {
            name,
            what,
            round_trip_ns: ns,
            samples,
        });
    }
    eprint!("\r{:<50}\r", "");
    let _ = std::io::stderr().flush();

    let base = results[0].round_trip_ns;
    if json {
        let items: Vec<String> = results
            .iter()
            .map(|m| {
                format!(
                    "    {{\"name\": \"{}\", \"what\": \"{}\", \"round_trip_ns\": {:.3}, \"per_switch_ns\": {:.3}, \"vs_swapctx_coroutine\": {:.3}, \"samples\": {}}}",
                    m.name,
                    m.what,
                    m.round_trip_ns,
                    m.round_trip_ns / 2.0,
                    m.round_trip_ns / base,
                    m.samples
                )
            })
            .collect();
        println!(
            "{{\n  \"cpu\": \"{}\",\n  \"arch\": \"{}\",\n  \"switch\": \"{}\",\n  \"results\": [\n{}\n  ]\n}}",
            cpu_name().replace('"', "'"),
            std::env::consts::ARCH,
            env!("SWAPCTX_SWITCH_ABI"),
            items.join(",\n")
        );
    } else {
        println!(
            "swapctx bench: switch latency on {} ({}), medians of {samples} runs",
            cpu_name(),
            env!("SWAPCTX_SWITCH_ABI")
        );
        println!();
        println!(
            "{:<20} {:>14} {:>12} {:>10}   what",
            "implementation", "round trip", "per switch", "× swapctx"
        );
        for m in &results {
            println!(
                "{:<20} {:>14} {:>12} {:>10}   {}",
                m.name,
                fmt_ns(m.round_trip_ns),
                fmt_ns(m.round_trip_ns / 2.0),
                format!("{:.1}×", m.round_trip_ns / base),
                m.what
            );
        }
        println!();
        println!("A round trip is two switches: into the other side and back. Times drift on a busy machine; the ratios of one run are what to compare.");
    }
    results
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
