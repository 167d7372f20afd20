//! How many coroutines a process can keep alive, and what each costs.
//!
//! ```text
//! cargo run --release --example scale -- [N] [STACK_SIZE] [MODE] [GUARD_SIZE]
//! cargo run --release --example scale -- 100000 256k swapctx
//! cargo run --release --example scale -- 100000 1m corosensei
//! cargo run --release --example scale -- 1000000 16k swapctx-pool
//! ```
//!
//! Makes up to `N` coroutines (default 100,000) on stacks of `STACK_SIZE`
//! usable bytes (default 256k; `k` and `m` suffixes), resumes each once so
//! that it touches its stack (a 512-byte buffer and the frames under it:
//! less than a page) and suspends, and keeps them all alive. Then it prints
//! how many are live, and what they cost over a baseline taken before the
//! first one: resident memory (`VmRSS` in `/proc/self/status`), page
//! tables (`VmPTE`, which `VmRSS` leaves out) and mappings (lines of
//! `/proc/self/maps`), per coroutine. Last it resumes each to its end and
//! drops them all, and prints the time of each phase per coroutine.
//!
//! `MODE` is one of
//! - `swapctx` (the default): `Stack::new`, with the guard page in place
//!   where the kernel can (Linux 6.13+);
//! - `swapctx-mprotect`: `Stack::new_with(.., GuardKind::Mprotect)`, the
//!   fallback for older kernels: two mappings per stack;
//! - `swapctx-pool`: stacks from a `StackPool` (as `swapctx` for the first
//!   round; the drop phase gives the stacks back instead of unmapping);
//! - `corosensei`: `corosensei::stack::DefaultStack::new(STACK_SIZE)`
//!   (its default size is 1m), measured the same way.
//!
//! `GUARD_SIZE` (`swapctx` and `swapctx-pool` only) is the guard region
//! below each stack (`Stack::with_guard_size`); default
//! `Stack::DEFAULT_GUARD_SIZE`.
//!
//! If a stack cannot be had, the example stops making more, prints the
//! error, and measures the coroutines it has.

use std::hint::black_box;
use std::time::{Duration, Instant};

use swapctx::{Coroutine, CoroutineResult, GuardKind, Stack, StackPool, Yielder};

/// One reading of what the process uses.
#[derive(Clone, Copy)]
struct Usage {
    rss_kib: u64,
    pte_kib: u64,
    mappings: u64,
}

/// Reads `/proc` files in small pieces: at the mapping limit, a large
/// allocation (which needs a new mapping) fails.
fn usage() -> Usage {
    use std::io::Read;
    let mut buf = [0u8; 8192];
    let mut status = std::fs::File::open("/proc/self/status").expect("/proc/self/status");
    let mut len = 0;
    while let Ok(n @ 1..) = status.read(&mut buf[len..]) {
        len += n;
    }
    let text = std::str::from_utf8(&buf[..len]).unwrap_or("");
    let field = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    let (rss_kib, pte_kib) = (field("VmRSS:"), field("VmPTE:"));
    let mut maps = std::fs::File::open("/proc/self/maps").expect("/proc/self/maps");
    let mut mappings = 0;
    while let Ok(n @ 1..) = maps.read(&mut buf) {
        mappings += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Usage {
        rss_kib,
        pte_kib,
        mappings,
    }
}

/// "256k", "1m", "16384" → bytes.
fn parse_size(s: &str) -> usize {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = s.strip_suffix('k') {
        (n, 1024)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 1024 * 1024)
    } else {
        (s.as_str(), 1)
    };
    num.replace('_', "")
        .parse::<usize>()
        .unwrap_or_else(|_| panic!("not a size: {s}"))
        * mult
}

/// The body every coroutine runs: touch the stack, suspend, finish.
#[inline(never)]
fn touch_and_suspend(suspend: impl FnOnce(u64) -> u64) -> u64 {
    let mut buf = black_box([7u8; 512]);
    buf[black_box(3)] = 1;
    let back = suspend(buf[black_box(5)] as u64);
    back + buf[black_box(3)] as u64
}

/// Something that can be resumed to its end.
trait Live {
    fn finish(&mut self) -> u64;
}

impl Live for Coroutine<u64, u64, u64> {
    fn finish(&mut self) -> u64 {
        match self.resume(1) {
            CoroutineResult::Return(v) => v,
            CoroutineResult::Yield(_) => unreachable!("suspends only once"),
        }
    }
}

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))] // no corosensei there
impl Live for corosensei::Coroutine<u64, u64, u64, corosensei::stack::DefaultStack> {
    fn finish(&mut self) -> u64 {
        match self.resume(1) {
            corosensei::CoroutineResult::Return(v) => v,
            corosensei::CoroutineResult::Yield(_) => unreachable!("suspends only once"),
        }
    }
}

fn swapctx_coroutine(stack: Stack) -> Coroutine<u64, u64, u64> {
    let mut co = Coroutine::with_stack(stack, |y: &Yielder<u64, u64>, _first: u64| {
        touch_and_suspend(|v| y.suspend(v))
    });
    assert_eq!(co.resume(0), CoroutineResult::Yield(7));
    co
}

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))] // no corosensei there
fn corosensei_coroutine(
    stack: corosensei::stack::DefaultStack,
) -> corosensei::Coroutine<u64, u64, u64, corosensei::stack::DefaultStack> {
    let mut co = corosensei::Coroutine::with_stack(
        stack,
        |y: &corosensei::Yielder<u64, u64>, _first: u64| touch_and_suspend(|v| y.suspend(v)),
    );
    assert!(matches!(
        co.resume(0),
        corosensei::CoroutineResult::Yield(7)
    ));
    co
}

/// Makes up to `n` live coroutines with `make`, then measures, finishes and
/// drops them.
fn run<C: Live, E: std::fmt::Display>(n: usize, mut make: impl FnMut() -> Result<C, E>) {
    let base = usage();
    let mut live: Vec<C> = Vec::with_capacity(n);
    let t0 = Instant::now();
    let mut stopped = None;
    for _ in 0..n {
        match make() {
            Ok(co) => live.push(co),
            Err(e) => {
                stopped = Some(e.to_string());
                break;
            }
        }
    }
    let create = t0.elapsed();
    let peak = usage();
    let count = live.len().max(1) as f64;
    println!("live coroutines: {} of {n} asked", live.len());
    if let Some(e) = stopped {
        println!("  stopped: {e}");
    }
    println!(
        "  RSS:         {:8.2} KiB per coroutine ({} KiB over the baseline)",
        (peak.rss_kib.saturating_sub(base.rss_kib)) as f64 / count,
        peak.rss_kib.saturating_sub(base.rss_kib)
    );
    println!(
        "  page tables: {:8.2} KiB per coroutine (VmPTE, not in RSS)",
        (peak.pte_kib.saturating_sub(base.pte_kib)) as f64 / count
    );
    println!(
        "  mappings:    {:8.4} per coroutine ({} over the baseline of {})",
        (peak.mappings.saturating_sub(base.mappings)) as f64 / count,
        peak.mappings.saturating_sub(base.mappings),
        base.mappings
    );
    let t1 = Instant::now();
    let mut sum = 0;
    for co in &mut live {
        sum += co.finish();
    }
    let resume = t1.elapsed();
    assert_eq!(sum, 2 * live.len() as u64);
    let n_live = live.len();
    let t2 = Instant::now();
    drop(live);
    let drop_time = t2.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e9 / n_live.max(1) as f64;
    println!(
        "  time per coroutine: create + first resume {:.0} ns, last resume {:.0} ns, drop {:.0} ns",
        per(create),
        per(resume),
        per(drop_time)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = args.first().map_or(100_000, |s| parse_size(s));
    let size = args.get(1).map_or(Stack::DEFAULT_SIZE, |s| parse_size(s));
    let mode = args.get(2).map_or("swapctx", String::as_str);
    let guard = args
        .get(3)
        .map_or(Stack::DEFAULT_GUARD_SIZE, |s| parse_size(s));

    // Warm up what every coroutine shares (the fault handler, the
    // alternate signal stack, the guard-kind test), outside the baseline.
    drop(swapctx_coroutine(Stack::new(size).expect("a first stack")));
    #[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
    drop(corosensei_coroutine(
        corosensei::stack::DefaultStack::new(size).expect("a first stack"),
    ));

    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap_or_default();
    println!(
        "{mode}: {n} coroutines on {} KiB stacks, {} KiB guards; vm.max_map_count = {}",
        size / 1024,
        guard / 1024,
        max_map_count.trim()
    );
    match mode {
        "swapctx" => {
            println!("guard pages: {:?}", GuardKind::preferred());
            run(n, || {
                Stack::with_guard_size(size, guard).map(swapctx_coroutine)
            });
        }
        "swapctx-mprotect" => {
            println!("guard pages: Mprotect (forced)");
            run(n, || {
                Stack::new_with(size, GuardKind::Mprotect).map(swapctx_coroutine)
            });
        }
        "swapctx-pool" => {
            println!(
                "guard pages: {:?}, from a StackPool",
                GuardKind::preferred()
            );
            let pool = StackPool::builder()
                .stack_size(size)
                .max_idle(n)
                .guard_size(guard)
                .build()
                .expect("a pool");
            run(n, || pool.stack().map(swapctx_coroutine));
            println!("  idle in the pool afterwards: {}", pool.idle());
            let t = Instant::now();
            drop(pool);
            println!(
                "  unmapping the pool: {:.0} ns per stack",
                t.elapsed().as_secs_f64() * 1e9 / n as f64
            );
        }
        #[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
        "corosensei" => {
            println!("guard pages: mprotect (corosensei's DefaultStack)");
            run(n, || {
                corosensei::stack::DefaultStack::new(size).map(corosensei_coroutine)
            });
        }
        other => {
            eprintln!("unknown mode {other}: swapctx, swapctx-mprotect, swapctx-pool, corosensei");
            std::process::exit(2);
        }
    }
}
