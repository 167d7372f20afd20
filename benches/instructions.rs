//! Instructions per round trip, for callgrind: `scripts/callgrind.sh` runs
//! this binary under `valgrind --tool=callgrind` twice per implementation,
//! with N and 2N round trips, and divides the difference by N, so that set-up
//! and tear-down cancel out. Deterministic, unlike wall time.
//!
//! Usage: `instructions IMPL N` with IMPL one of swapctx, swapctx-raw,
//! corosensei, context, boost, swapcontext (N round trips), or create-pool,
//! create-corosensei (N coroutines created, run to completion and dropped,
//! reusing their stack). Without arguments (as `cargo
//! bench` runs it) it checks that every implementation runs.

#[path = "../cli/src/peers.rs"]
mod peers;
#[path = "../cli/src/roundtrip.rs"]
mod roundtrip;

use roundtrip::RoundTrip;

fn make(name: &str) -> Option<Box<dyn RoundTrip>> {
    Some(match name {
        "swapctx" => Box::new(roundtrip::SwapctxCoroutine::new()),
        "swapctx-raw" => Box::new(roundtrip::SwapctxRaw::new()),
        "corosensei" => Box::new(peers::Corosensei::new()),
        "create-pool" => Box::new(peers::CreatePool::new()),
        "create-corosensei" => Box::new(peers::CreateCorosensei::new()),
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        "context" => Box::new(peers::ContextCrate::new()),
        #[cfg(swapctx_boost_context)]
        "boost" => Box::new(peers::boost::Fcontext::new()),
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        "swapcontext" => Box::new(roundtrip::Ucontext::new()),
        _ => return None,
    })
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let [name, n] = &args[..] {
        let n: u64 = n.parse().expect("N");
        let mut imp = make(name).unwrap_or_else(|| panic!("unknown implementation {name}"));
        std::hint::black_box(imp.round_trips(n));
        return;
    }
    for name in [
        "swapctx",
        "swapctx-raw",
        "corosensei",
        "context",
        "boost",
        "swapcontext",
    ] {
        if let Some(mut imp) = make(name) {
            assert!(imp.round_trips(1000) > 0, "{name}");
            println!("{name}: runs");
        }
    }
}
