//! The soak: many coroutines on several threads, created, switched and
//! dropped at a high rate for a given time; at the end the switch counts
//! add up, and memory (RSS) and the bytes of anonymous mappings are back
//! where they were after a warm-up.
//!
//! Ignored by default. Run it with
//!
//! ```text
//! SWAPCTX_SOAK_SECS=30 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! SWAPCTX_SOAK_SECS (default 30) is the length of the main round,
//! SWAPCTX_SOAK_THREADS (default 3) the number of threads.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use swapctx::{Coroutine, CoroutineResult, Stack, Yielder};

/// Coroutines alive at once on each thread.
const PER_THREAD: usize = 64;
/// Stacks kept for reuse on each thread.
const POOL: usize = 16;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// The mappings of this process: the number of lines of /proc/self/maps,
/// and the bytes of those that are anonymous and unnamed (every swapctx
/// stack, guard included; also the threads' stacks and the allocator's
/// arenas, but not the main heap or stack, which have names).
fn mappings() -> (usize, u64) {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    let mut anon = 0;
    for line in maps.lines() {
        // address perms offset dev inode [pathname]
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 5 || fields[4] != "0" {
            continue;
        }
        let (lo, hi) = fields[0].split_once('-').expect("an address range");
        let lo = u64::from_str_radix(lo, 16).expect("a hexadecimal address");
        let hi = u64::from_str_radix(hi, 16).expect("a hexadecimal address");
        anon += hi - lo;
    }
    (maps.lines().count(), anon)
}

/// What one thread did.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// Resumes, counted by the resumer.
    resumes: u64,
    /// Suspends and returns, counted by the coroutines themselves.
    coroutine_side: u64,
    created: u64,
    dropped_suspended: u64,
    finished: u64,
    reused_stacks: u64,
}

/// Every switch either way, from every thread, counted by the coroutines.
static TOTAL_SWITCHES: AtomicU64 = AtomicU64::new(0);

type Co = Coroutine<u64, u64, u64>;

/// A coroutine that suspends `steps` times, a few calls deep, touching
/// `touch` bytes of its stack, then returns its running sum. It counts
/// every switch back to the resumer in `count`.
fn make(stack: Stack, steps: u64, touch: usize, count: Rc<Cell<u64>>) -> Co {
    Coroutine::with_stack(stack, move |y: &Yielder<u64, u64>, mut x: u64| {
        let mut buf = vec![0u8; 0];
        let mut sum = 0u64;
        let mut scratch = [0u8; 256];
        for i in 0..steps {
            if i == 0 && touch > 0 {
                sum += touch_stack(touch);
            }
            scratch[(i % 256) as usize] = x as u8;
            sum = sum.wrapping_mul(31).wrapping_add(x);
            if i % 8 == 0 {
                buf.push(x as u8); // some heap traffic, freed on drop
            }
            count.set(count.get() + 1);
            x = y.suspend(sum);
        }
        count.set(count.get() + 1);
        sum ^ u64::from(std::hint::black_box(scratch)[0]) ^ buf.len() as u64
    })
}

/// Uses `bytes` of stack (committing those pages), in 4 KiB frames.
#[inline(never)]
fn touch_stack(bytes: usize) -> u64 {
    let mut page = [0u8; 4096];
    page[0] = 1;
    page[4095] = bytes as u8;
    let page = std::hint::black_box(page);
    let below = if bytes > 4096 {
        touch_stack(bytes - 4096)
    } else {
        0
    };
    below + u64::from(page[0]) + u64::from(page[4095])
}

/// One thread's churn until `deadline`.
fn churn(seed: u64, deadline: Instant) -> Tally {
    let mut rng = StdRng::seed_from_u64(seed);
    let count = Rc::new(Cell::new(0u64));
    let mut tally = Tally::default();
    let mut pool: Vec<Stack> = Vec::new();
    let mut live: Vec<(Co, u64)> = Vec::new();
    let mut ops = 0u64;
    loop {
        ops += 1;
        if ops % 1024 == 0 && Instant::now() >= deadline {
            break;
        }
        if live.len() < PER_THREAD {
            let stack = match pool.pop() {
                Some(s) => {
                    tally.reused_stacks += 1;
                    s
                }
                None => Stack::new(64 * 1024).expect("a stack"),
            };
            let steps = rng.gen_range(0..200);
            // One in eight coroutines commits 16-44 KiB (4 to 11 pages) of its
            // stack.
            let touch = if rng.gen_range(0..8) == 0 {
                rng.gen_range(4..12) * 4096
            } else {
                0
            };
            live.push((make(stack, steps, touch, count.clone()), 0));
            tally.created += 1;
        }
        let i = rng.gen_range(0..live.len());
        if rng.gen_range(0..1000) == 0 {
            // Drop one mid-body (or fresh), sometimes keeping its stack.
            let (co, _) = live.swap_remove(i);
            if !co.is_done() && !co.is_fresh() {
                tally.dropped_suspended += 1;
            }
            if pool.len() < POOL && rng.gen_bool(0.5) {
                pool.push(co.into_stack());
            }
            continue;
        }
        let (co, n) = &mut live[i];
        tally.resumes += 1;
        match co.resume(*n) {
            CoroutineResult::Yield(_) => *n += 1,
            CoroutineResult::Return(_) => {
                tally.finished += 1;
                let (co, _) = live.swap_remove(i);
                // Half the stacks are kept for reuse, half unmapped.
                if pool.len() < POOL && rng.gen_bool(0.5) {
                    pool.push(co.into_stack());
                }
            }
        }
    }
    drop(live);
    drop(pool);
    tally.coroutine_side = count.get();
    TOTAL_SWITCHES.fetch_add(tally.resumes + tally.coroutine_side, Relaxed);
    tally
}

/// Runs `threads` churning threads for `secs` and returns their tallies.
fn round(threads: u64, secs: f64) -> Vec<Tally> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..threads)
        .map(|t| std::thread::spawn(move || churn(0x50a4 + t, deadline)))
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a soak thread panicked"))
        .collect()
}

#[test]
#[ignore = "a soak: runs SWAPCTX_SOAK_SECS (default 30) seconds"]
fn soak_many_threads_create_switch_drop() {
    let secs = env_u64("SWAPCTX_SOAK_SECS", 30) as f64;
    let threads = env_u64("SWAPCTX_SOAK_THREADS", 3);
    // Warm-up: the same threads and work, so that the allocator's arenas,
    // the thread stacks it caches and the handler's alternate stacks exist
    // before the baseline is taken.
    round(threads, (secs / 10.0).clamp(0.5, 3.0));
    let rss0 = rss_kib();
    let (maps0, anon0) = mappings();
    TOTAL_SWITCHES.store(0, Relaxed);

    let t0 = Instant::now();
    let tallies = round(threads, secs);
    let elapsed = t0.elapsed().as_secs_f64();
    let rss1 = rss_kib();
    let (maps1, anon1) = mappings();

    let mut sum = Tally::default();
    for (i, t) in tallies.iter().enumerate() {
        println!("thread {i}: {t:?}");
        // Every resume is answered by one suspend or return.
        assert_eq!(
            t.resumes, t.coroutine_side,
            "thread {i}: resumes and the coroutines' own count differ"
        );
        assert!(t.created > 0 && t.finished > 0 && t.dropped_suspended > 0);
        sum.resumes += t.resumes;
        sum.coroutine_side += t.coroutine_side;
        sum.created += t.created;
        sum.dropped_suspended += t.dropped_suspended;
        sum.finished += t.finished;
        sum.reused_stacks += t.reused_stacks;
    }
    let switches = sum.resumes + sum.coroutine_side;
    assert_eq!(
        TOTAL_SWITCHES.load(Relaxed),
        switches,
        "the per-thread counts do not add up to the total"
    );
    println!(
        "soak: {threads} threads, {elapsed:.1} s: {switches} switches ({:.0}/s), {} coroutines \
         made ({:.0}/s), {} dropped mid-body, {} stacks reused",
        switches as f64 / elapsed,
        sum.created,
        sum.created as f64 / elapsed,
        sum.dropped_suspended,
        sum.reused_stacks,
    );
    println!(
        "soak: RSS {rss0} KiB after warm-up, {rss1} KiB at the end ({:+} KiB); anonymous \
         mappings {} KiB -> {} KiB in {maps0} -> {maps1} lines",
        rss1 as i64 - rss0 as i64,
        anon0 / 1024,
        anon1 / 1024,
    );
    // Every stack is unmapped: a leaked stack adds its 64 KiB and its guard
    // page to the anonymous mappings. (Counting lines of /proc/self/maps
    // would not do: with in-place guard pages a stack is one mapping, and
    // neighbouring stacks with the same protection merge into one line, so
    // a leaked stack may add no line at all.) The threads' stacks and the
    // allocator's arenas made in the warm-up are reused by the round.
    assert!(
        anon1 <= anon0,
        "anonymous mappings grew from {} KiB to {} KiB: stacks leaked",
        anon0 / 1024,
        anon1 / 1024
    );
    // RSS back within 4 MiB + 10% of the warmed-up baseline. A thread's
    // 64 coroutines commit about 1 MiB of stack at any moment; leaking the
    // stacks of a run would be hundreds of MiB.
    let margin = 4096 + rss0 / 10;
    assert!(
        rss1 <= rss0 + margin,
        "RSS grew from {rss0} KiB to {rss1} KiB (margin {margin} KiB)"
    );
}
