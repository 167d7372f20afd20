//! Under fire: signals in the middle of switches, a user's `SIGSEGV`
//! handler behind swapctx's, and `fork` with suspended coroutines.
//!
//! This file has its own `main` (`harness = false` in Cargo.toml): it must
//! be single-threaded, so that `fork` is safe and every `SIGALRM` of the
//! interval timer lands on the thread that switches. It prints one line per
//! test and a closing `N passed, M failed`, and exits non-zero on failure.
//!
//! Run alone with `cargo test --test signals`; a substring argument runs
//! only the tests whose names contain it.
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

// Built by mistake with the libtest harness (no `[[test]] harness = false`
// entry for this file), nothing here runs: keep that build quiet, and say
// why through the one ignored test below. With `harness = false`,
// `cfg(test)` is not set and none of this applies.
#![cfg_attr(test, allow(dead_code, unused_imports))]

#[cfg(test)]
#[test]
#[ignore = "tests/signals.rs has its own main: it needs `harness = false` in Cargo.toml"]
fn needs_harness_false() {}

use std::cell::Cell;
use std::ffi::c_void;
use std::hint::black_box;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use swapctx::raw::Context;
use swapctx::{Coroutine, CoroutineResult, Stack, Yielder};

// ---------------------------------------------------------------------------
// The harness.

/// The stack pointer itself (not a local's address: under AddressSanitizer
/// locals may live on its fake stack, on the heap).
#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer into a register; nothing else.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "riscv64")]
    unsafe {
        std::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

type Test = (&'static str, fn());

fn main() {
    if cfg!(feature = "valgrind") {
        // Valgrind runs the program's threads one at a time and delivers
        // signals between its own translated blocks; the storms and the
        // handler tests measure the real thing, natively and under qemu.
        println!("tests/signals.rs is not run under the `valgrind` feature");
        println!("0 passed, 0 failed");
        return;
    }
    // The main stack: the handler accepts interrupted stack pointers from
    // 8 MiB below this one to 256 KiB above it as "the main stack".
    let here = stack_pointer();
    MAIN_LO.store(here - 8 * 1024 * 1024, Relaxed);
    MAIN_HI.store(here + 256 * 1024, Relaxed);

    // Order matters: the SIGSEGV tests need a process in which swapctx has
    // not installed its handler yet, so they come before anything that
    // makes a stack.
    let tests: &[Test] = &[
        (
            "user_sigsegv_siginfo_handler_still_runs",
            user_sigsegv_siginfo_handler_still_runs,
        ),
        (
            "user_sigsegv_plain_handler_still_runs",
            user_sigsegv_plain_handler_still_runs,
        ),
        (
            "fork_child_finishes_suspended_coroutines",
            fork_child_finishes_suspended_coroutines,
        ),
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        (
            "signal_storm_callee_saved_registers",
            signal_storm_callee_saved_registers,
        ),
        (
            "signal_storm_coroutine_values",
            signal_storm_coroutine_values,
        ),
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return;
    }
    if args.iter().any(|a| a == "--ignored") {
        println!("0 passed, 0 failed");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        println!("test {name} ...");
        let t0 = Instant::now();
        match panic::catch_unwind(*test) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.2} s)", t0.elapsed().as_secs_f64());
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
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

// ---------------------------------------------------------------------------
// A user's SIGSEGV handler behind swapctx's.
//
// In a fresh child of a process that has made no stack yet, the user
// installs a SIGSEGV handler; then a coroutine is made, which installs
// swapctx's handler on top (it records the user's as the one to chain
// to). A write to a PROT_NONE page the test mapped itself is not a guard
// page hit, so swapctx must hand it to the user's handler, which makes
// the page writable and returns: the write then succeeds. Once from the
// main stack, once from inside a coroutine.

static USER_HITS: AtomicUsize = AtomicUsize::new(0);
static FAULT_PAGE: AtomicUsize = AtomicUsize::new(0);
static FAULT_ADDR: AtomicUsize = AtomicUsize::new(0);

/// Makes FAULT_PAGE writable if `addr` (or, for the plain handler, any
/// address) is in it; otherwise restores the default action, so that the
/// retried access kills the child.
fn user_fix(addr: Option<usize>) {
    let page = FAULT_PAGE.load(Relaxed);
    let len = page_size();
    let in_page = match addr {
        Some(a) => a >= page && a < page + len,
        None => true,
    };
    // SAFETY: mprotect and signal are async-signal-safe; `page` is the
    // test's own mapping.
    unsafe {
        if page != 0 && in_page {
            USER_HITS.fetch_add(1, Relaxed);
            FAULT_ADDR.store(addr.unwrap_or(0), Relaxed);
            libc::mprotect(page as *mut c_void, len, libc::PROT_READ | libc::PROT_WRITE);
        } else {
            libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        }
    }
}

extern "C" fn user_segv_siginfo(_sig: libc::c_int, info: *mut libc::siginfo_t, _uc: *mut c_void) {
    // SAFETY: the kernel (or swapctx, chaining) passes a valid siginfo.
    let addr = unsafe { (*info).si_addr() } as usize;
    user_fix(Some(addr));
}

extern "C" fn user_segv_plain(_sig: libc::c_int) {
    user_fix(None);
}

fn sigsegv_action() -> usize {
    // SAFETY: a query: only `old` is written.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGSEGV, ptr::null(), &mut old);
        old.sa_sigaction
    }
}

/// A fresh PROT_NONE page of our own, published in FAULT_PAGE.
fn protected_page() -> *mut u64 {
    // SAFETY: a fresh anonymous mapping, checked below.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            page_size(),
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    FAULT_PAGE.store(p as usize, Relaxed);
    p.cast()
}

fn user_sigsegv_case(siginfo: bool) {
    assert!(
        !STACKS_MADE.load(Relaxed),
        "this test must run before anything makes a swapctx stack"
    );
    let code = in_child("user SIGSEGV handler", move || {
        let user = if siginfo {
            user_segv_siginfo as *const () as usize
        } else {
            user_segv_plain as *const () as usize
        };
        // SAFETY: installs a handler that only calls async-signal-safe
        // functions.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = user;
            act.sa_flags = if siginfo { libc::SA_SIGINFO } else { 0 };
            libc::sigemptyset(&mut act.sa_mask);
            if libc::sigaction(libc::SIGSEGV, &act, ptr::null_mut()) != 0 {
                return 2;
            }
        }
        // Making a coroutine installs swapctx's handler, which chains.
        let mut co = Coroutine::<usize, u64, ()>::with_stack(new_stack(64 * 1024), |y, addr| {
            let p = addr as *mut u64;
            // SAFETY: the test's own page; the first write faults and the
            // user's handler makes it writable.
            unsafe { ptr::write_volatile(p.add(3), 0xc0ffee) };
            // SAFETY: now writable.
            y.suspend(unsafe { ptr::read_volatile(p.add(3)) });
        });
        if sigsegv_action() == user {
            eprintln!("swapctx did not install its handler over the user's");
            return 3;
        }
        // A fault on the main stack.
        let p = protected_page();
        // SAFETY: the test's own page; the user's handler makes it
        // writable.
        unsafe { ptr::write_volatile(p.add(1), 42) };
        // SAFETY: now writable.
        let v = unsafe { ptr::read_volatile(p.add(1)) };
        if v != 42 || USER_HITS.load(Relaxed) != 1 {
            eprintln!("main stack: value {v}, user handler ran {USER_HITS:?} times");
            return 4;
        }
        if siginfo && FAULT_ADDR.load(Relaxed) != p.wrapping_add(1) as usize {
            eprintln!("the user's handler saw the wrong fault address");
            return 5;
        }
        // A fault on a coroutine's stack.
        let q = protected_page();
        match co.resume(q as usize) {
            CoroutineResult::Yield(0xc0ffee) => {}
            other => {
                eprintln!("coroutine: {other:?}");
                return 6;
            }
        }
        if USER_HITS.load(Relaxed) != 2 {
            eprintln!("coroutine: user handler ran {USER_HITS:?} times");
            return 7;
        }
        if siginfo && FAULT_ADDR.load(Relaxed) != q.wrapping_add(3) as usize {
            eprintln!("the user's handler saw the wrong fault address (coroutine)");
            return 8;
        }
        drop(co);
        0
    });
    assert_eq!(code, 0, "the child failed with code {code}");
}

fn user_sigsegv_siginfo_handler_still_runs() {
    user_sigsegv_case(true);
}

fn user_sigsegv_plain_handler_still_runs() {
    user_sigsegv_case(false);
}

// ---------------------------------------------------------------------------
// fork with suspended coroutines.

const FORK_COROS: u64 = 5;
const FORK_STEPS: u64 = 12;
const FORK_BEFORE: u64 = 4;

type ForkCo = Coroutine<u64, u64, (u64, u64, u64)>;

/// The body of each fork-test coroutine: running sums in locals, a heap
/// vector and a float, `FORK_STEPS` suspends, then the totals.
fn fork_body(id: u64) -> impl FnOnce(&Yielder<u64, u64>, u64) -> (u64, u64, u64) {
    move |y, mut input| {
        let mut acc = id;
        let mut f = id as f64 + 0.5;
        let mut seen = Vec::new();
        for _ in 0..FORK_STEPS {
            acc = mix(acc, input);
            f = f * 1.000_001 + (input % 1000) as f64 * 0.25;
            seen.push(input);
            input = y.suspend(acc);
        }
        (acc, f.to_bits(), seen.iter().fold(0, |a, &b| mix(a, b)))
    }
}

/// What `fork_body(id)` yields and returns for `inputs`.
fn fork_model(id: u64, inputs: &[u64]) -> (Vec<u64>, (u64, u64, u64)) {
    let (mut acc, mut f, mut seen) = (id, id as f64 + 0.5, Vec::new());
    let mut yields = Vec::new();
    for &input in &inputs[..FORK_STEPS as usize] {
        acc = mix(acc, input);
        f = f * 1.000_001 + (input % 1000) as f64 * 0.25;
        seen.push(input);
        yields.push(acc);
    }
    let ret = (acc, f.to_bits(), seen.iter().fold(0, |a, &b| mix(a, b)));
    (yields, ret)
}

/// Coroutine `id`'s inputs: a shared history before the fork, then one
/// that depends on `side` (0 parent before, 1 child, 2 parent after).
fn fork_inputs(id: u64, side: u64) -> Vec<u64> {
    (0..=FORK_STEPS)
        .map(|i| {
            if i < FORK_BEFORE {
                mix(id, i)
            } else {
                mix(id * 31 + side, i)
            }
        })
        .collect()
}

/// Resumes coroutine `id` from step `from` on with `inputs`, checking each
/// yield, and returns its final triple.
fn finish_fork_coroutine(co: &mut ForkCo, id: u64, inputs: &[u64], from: u64) -> (u64, u64, u64) {
    let (yields, ret) = fork_model(id, inputs);
    for i in from..=FORK_STEPS {
        match co.resume(inputs[i as usize]) {
            CoroutineResult::Yield(v) => {
                assert_eq!(v, yields[i as usize], "coroutine {id} step {i}")
            }
            CoroutineResult::Return(r) => {
                assert_eq!(i, FORK_STEPS, "coroutine {id} returned early");
                assert_eq!(r, ret, "coroutine {id}'s result");
                return r;
            }
        }
    }
    panic!("coroutine {id} did not return")
}

fn fork_child_finishes_suspended_coroutines() {
    let drops = Rc::new(Cell::new(0u32));
    let mut cos: Vec<ForkCo> = (0..FORK_COROS)
        .map(|id| {
            let d = DropFlag(drops.clone());
            let body = fork_body(id);
            Coroutine::with_stack(new_stack(64 * 1024), move |y, x| {
                let _d = d;
                body(y, x)
            })
        })
        .collect();
    // Everyone suspended mid-body, FORK_BEFORE steps in.
    for (id, co) in cos.iter_mut().enumerate() {
        let inputs = fork_inputs(id as u64, 0);
        let (yields, _) = fork_model(id as u64, &inputs);
        for i in 0..FORK_BEFORE as usize {
            assert_eq!(co.resume(inputs[i]), CoroutineResult::Yield(yields[i]));
        }
    }

    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: single-threaded process (harness = false).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // The child: finish every coroutine with its own inputs, except the
        // last, which is dropped suspended (its stack unwinds in the child).
        let code = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut out = Vec::new();
            let last = cos.pop().expect("coroutines");
            for (id, co) in cos.iter_mut().enumerate() {
                let inputs = fork_inputs(id as u64, 1);
                let r = finish_fork_coroutine(co, id as u64, &inputs, FORK_BEFORE);
                out.extend([r.0, r.1, r.2]);
            }
            drop(last);
            cos.clear();
            out.push(u64::from(drops.get()));
            // SAFETY: writes our own buffer to our end of the pipe.
            let n = unsafe { libc::write(fds[1], out.as_ptr().cast(), out.len() * 8) };
            i32::from(n != (out.len() * 8) as isize)
        }))
        .unwrap_or(101);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let want = (FORK_COROS as usize - 1) * 3 + 1;
    let mut got = vec![0u64; want];
    let mut filled = 0;
    while filled < want * 8 {
        // SAFETY: reads into the unfilled tail of `got`.
        let n = unsafe {
            libc::read(
                fds[0],
                got.as_mut_ptr().cast::<u8>().add(filled).cast(),
                want * 8 - filled,
            )
        };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    // SAFETY: our read end.
    unsafe { libc::close(fds[0]) };
    let code = wait_child("fork", pid);
    assert_eq!(code, 0, "the child failed with code {code}");
    assert_eq!(filled, want * 8, "short report from the child");
    for id in 0..FORK_COROS - 1 {
        let (_, ret) = fork_model(id, &fork_inputs(id, 1));
        let i = id as usize * 3;
        assert_eq!(
            (got[i], got[i + 1], got[i + 2]),
            ret,
            "child's coroutine {id}"
        );
    }
    assert_eq!(
        got[want - 1],
        FORK_COROS,
        "the child dropped every coroutine's captures"
    );

    // The parent's coroutines are untouched: still suspended at step
    // FORK_BEFORE, with their own state, and finish with their own inputs.
    assert_eq!(drops.get(), 0);
    for (id, co) in cos.iter_mut().enumerate() {
        assert!(!co.is_done());
        let inputs = fork_inputs(id as u64, 2);
        finish_fork_coroutine(co, id as u64, &inputs, FORK_BEFORE);
    }
    assert_eq!(u64::from(drops.get()), FORK_COROS);
}

// ---------------------------------------------------------------------------
// The storm: the timer, the handler, and where signals landed.

static MAIN_LO: AtomicUsize = AtomicUsize::new(0);
static MAIN_HI: AtomicUsize = AtomicUsize::new(0);
const MAX_RANGES: usize = 64;
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_PAIR: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
/// The test's stacks, as (bottom, top) pairs, for the handler's check.
static RANGES: [[AtomicUsize; 2]; MAX_RANGES] = [ZERO_PAIR; MAX_RANGES];
static NRANGES: AtomicUsize = AtomicUsize::new(0);

static RUNS: AtomicU64 = AtomicU64::new(0);
static ON_MAIN: AtomicU64 = AtomicU64::new(0);
static ON_STACKS: AtomicU64 = AtomicU64::new(0);
static IN_SWITCH: AtomicU64 = AtomicU64::new(0);
static BAD_SP: AtomicU64 = AtomicU64::new(0);
static FIRST_BAD_SP: AtomicUsize = AtomicUsize::new(0);
/// The storm's timer (a `timer_t`, which may be 0), valid while
/// HAVE_TIMER is set.
static TIMER: AtomicUsize = AtomicUsize::new(0);
static HAVE_TIMER: AtomicBool = AtomicBool::new(false);
/// The timer's current period.
static PERIOD_NS: AtomicU64 = AtomicU64::new(0);
/// Bumped by the switching loops; the handler backs off when it stalls.
static PROGRESS: AtomicU64 = AtomicU64::new(0);
static SEEN_PROGRESS: AtomicU64 = AtomicU64::new(0);
static STALLS: AtomicU64 = AtomicU64::new(0);

/// Bytes from the switch's first instruction to its `ret`, inclusive (the
/// functions in `asm/`); a signal whose interrupted pc is inside, past the
/// first instruction, landed in the middle of a switch. An approximation
/// kept for the report only.
#[cfg(target_arch = "x86_64")]
const SWITCH_LEN: usize = 60;
#[cfg(target_arch = "aarch64")]
const SWITCH_LEN: usize = 108;
#[cfg(target_arch = "riscv64")]
const SWITCH_LEN: usize = 114;

/// Puts `stack` in entry `i` of the handler's table (replacing what was
/// there: a dropped stack's entry is reused by its replacement).
fn register_range(i: usize, stack: &Stack) {
    assert!(i < MAX_RANGES, "too many stacks for the handler's table");
    RANGES[i][0].store(stack.bottom() as usize, Relaxed);
    RANGES[i][1].store(stack.top() as usize, Relaxed);
    NRANGES.fetch_max(i + 1, Relaxed);
}

/// The interrupted context's stack pointer and program counter.
///
/// # Safety
/// `uc` is the third argument of an `SA_SIGINFO` handler.
unsafe fn interrupted(uc: *mut c_void) -> (usize, usize) {
    let uc = uc.cast::<libc::ucontext_t>();
    // SAFETY: per the contract, the kernel's (or qemu's) ucontext.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        {
            let g = &(*uc).uc_mcontext.gregs;
            (
                g[libc::REG_RSP as usize] as usize,
                g[libc::REG_RIP as usize] as usize,
            )
        }
        #[cfg(target_arch = "aarch64")]
        {
            let m = &(*uc).uc_mcontext;
            (m.sp as usize, m.pc as usize)
        }
        #[cfg(target_arch = "riscv64")]
        {
            // __gregs[0] is the pc, __gregs[2] is sp (REG_PC, REG_SP).
            let g = &(*uc).uc_mcontext.__gregs;
            (g[2] as usize, g[0] as usize)
        }
    }
}

extern "C" fn on_alarm(_sig: libc::c_int, _info: *mut libc::siginfo_t, uc: *mut c_void) {
    // SAFETY: installed with SA_SIGINFO.
    let (sp, pc) = unsafe { interrupted(uc) };
    let switch = swapctx::raw::swapctx_switch as *const () as usize;
    if pc > switch && pc < switch + SWITCH_LEN {
        IN_SWITCH.fetch_add(1, Relaxed);
    }
    if sp > MAIN_LO.load(Relaxed) && sp <= MAIN_HI.load(Relaxed) {
        ON_MAIN.fetch_add(1, Relaxed);
    } else {
        let n = NRANGES.load(Relaxed).min(MAX_RANGES);
        let hit = RANGES[..n]
            .iter()
            .any(|[lo, hi]| sp > lo.load(Relaxed) && sp <= hi.load(Relaxed));
        if hit {
            ON_STACKS.fetch_add(1, Relaxed);
        } else {
            BAD_SP.fetch_add(1, Relaxed);
            let _ = FIRST_BAD_SP.compare_exchange(0, sp, Relaxed, Relaxed);
        }
    }
    // Use a kilobyte of whatever stack we are on.
    let mut scratch = [0u64; 128];
    for (i, s) in scratch.iter_mut().enumerate() {
        // SAFETY: a live local.
        unsafe { ptr::write_volatile(s, (i as u64).wrapping_mul(sp as u64)) };
    }
    let mut sum = 0u64;
    for s in &scratch {
        // SAFETY: a live local.
        sum = sum.wrapping_add(unsafe { ptr::read_volatile(s) });
    }
    // And the floating-point registers: sixteen live doubles.
    let mut f = [0f64; 16];
    for (i, v) in f.iter_mut().enumerate() {
        *v = black_box(i as f64 + 0.5);
    }
    for _ in 0..4 {
        for i in 0..16 {
            f[i] = f[i] * f[(i + 5) % 16] / (1.0 + f[(i + 3) % 16]) + (sum % 7) as f64;
        }
    }
    black_box((sum, f));
    RUNS.fetch_add(1, Relaxed);
    back_off_if_starved();
}

/// The interval timer, armed while this lives; dropping it disarms it. The
/// handler stays installed (a late signal is harmless).
struct Storm {
    start: Instant,
}

/// The timer's period: 20 µs, or SWAPCTX_SIGNAL_PERIOD_US.
fn period_us() -> u32 {
    std::env::var("SWAPCTX_SIGNAL_PERIOD_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}
/// A storm runs at least this long...
const MIN_TIME: Duration = Duration::from_millis(1200);
/// ...and until this many signals landed (on a coroutine's stack, too)...
const MIN_SIGNALS: u64 = 1000;
const MIN_ON_STACKS: u64 = 100;
/// ...but never longer than this.
const MAX_TIME: Duration = Duration::from_secs(30);

impl Storm {
    fn start() -> Storm {
        for c in [&RUNS, &ON_MAIN, &ON_STACKS, &IN_SWITCH, &BAD_SP, &PROGRESS] {
            c.store(0, Relaxed);
        }
        FIRST_BAD_SP.store(0, Relaxed);
        NRANGES.store(0, Relaxed);
        SEEN_PROGRESS.store(u64::MAX, Relaxed);
        STALLS.store(0, Relaxed);
        PERIOD_NS.store(u64::from(period_us()) * 1000, Relaxed);
        // SAFETY: installs a handler that only touches atomics, its own
        // locals and timer_settime (async-signal-safe); no SA_ONSTACK, on
        // purpose. Then makes a CLOCK_MONOTONIC timer that sends SIGALRM.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_alarm as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGALRM, &act, ptr::null_mut()), 0);
            let mut sev: libc::sigevent = std::mem::zeroed();
            sev.sigev_notify = libc::SIGEV_SIGNAL;
            sev.sigev_signo = libc::SIGALRM;
            let mut timer: libc::timer_t = ptr::null_mut();
            assert_eq!(
                libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer),
                0,
                "timer_create failed"
            );
            TIMER.store(timer as usize, Relaxed);
            HAVE_TIMER.store(true, Relaxed);
        }
        arm_timer(PERIOD_NS.load(Relaxed));
        Storm {
            start: Instant::now(),
        }
    }

    /// True while the storm should go on: `extra_goal` is one more count
    /// to wait for.
    fn going(&self, extra_goal: bool) -> bool {
        let t = self.start.elapsed();
        if t >= MAX_TIME {
            return false;
        }
        t < MIN_TIME
            || RUNS.load(Relaxed) < MIN_SIGNALS
            || ON_STACKS.load(Relaxed) < MIN_ON_STACKS
            || !extra_goal
    }

    /// Stops the timer and checks where the signals landed.
    fn finish(self, what: &str, switches: u64) {
        let secs = self.start.elapsed().as_secs_f64();
        drop(self);
        let runs = RUNS.load(Relaxed);
        println!(
            "    {what}: {runs} signals in {secs:.2} s ({:.0}/s, final period {} us): {} on the \
             main stack, {} on coroutine stacks, {} inside the switch; {switches} switches \
             ({:.0}/s)",
            runs as f64 / secs,
            PERIOD_NS.load(Relaxed) / 1000,
            ON_MAIN.load(Relaxed),
            ON_STACKS.load(Relaxed),
            IN_SWITCH.load(Relaxed),
            switches as f64 / secs,
        );
        assert_eq!(
            BAD_SP.load(Relaxed),
            0,
            "a signal interrupted a stack pointer outside every stack (first: {:#x})",
            FIRST_BAD_SP.load(Relaxed)
        );
        assert!(
            runs >= MIN_SIGNALS,
            "only {runs} signals landed in {secs:.1} s"
        );
        assert!(
            ON_STACKS.load(Relaxed) >= MIN_ON_STACKS,
            "only {} signals landed on a coroutine stack",
            ON_STACKS.load(Relaxed)
        );
        assert!(
            ON_MAIN.load(Relaxed) > 0,
            "no signal landed on the main stack"
        );
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        HAVE_TIMER.store(false, Relaxed);
        let timer = TIMER.load(Relaxed);
        // SAFETY: deletes the timer that `start` made (no signal is sent
        // after this returns; a pending one is harmless).
        unsafe { libc::timer_delete(timer as libc::timer_t) };
        NRANGES.store(0, Relaxed);
    }
}

/// Arms the storm's timer with `ns` as both first expiry and period.
fn arm_timer(ns: u64) {
    let t = libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    };
    let spec = libc::itimerspec {
        it_interval: t,
        it_value: t,
    };
    let timer = TIMER.load(Relaxed);
    if HAVE_TIMER.load(Relaxed) {
        // SAFETY: a live timer made by Storm::start; timer_settime is
        // async-signal-safe, so the handler may call this too.
        unsafe { libc::timer_settime(timer as libc::timer_t, 0, &spec, ptr::null_mut()) };
    }
}

/// Called by the handler: if the switching loop made no progress over the
/// last 32 signals (an emulator such as qemu-user can spend longer than
/// a period delivering one), the period doubles, up to 2 ms.
fn back_off_if_starved() {
    let p = PROGRESS.load(Relaxed);
    if SEEN_PROGRESS.swap(p, Relaxed) != p {
        STALLS.store(0, Relaxed);
        return;
    }
    if STALLS.fetch_add(1, Relaxed) + 1 >= 32 {
        STALLS.store(0, Relaxed);
        let period = (PERIOD_NS.load(Relaxed) * 2).min(2_000_000);
        PERIOD_NS.store(period, Relaxed);
        arm_timer(period);
    }
}

/// On x86_64 a signal lands inside the switch often enough to wait for a
/// few; qemu only delivers signals between translated blocks, so under it
/// (aarch64 here) the count is reported, not awaited.
fn mid_switch_goal() -> bool {
    cfg!(not(target_arch = "x86_64")) || IN_SWITCH.load(Relaxed) >= 20
}

// ---------------------------------------------------------------------------
// Storm 1: raw contexts with every callee-saved register loaded.
// (x86_64 and aarch64: the register loads are inline asm for each; on
// riscv64 the arch unit tests torture the registers without signals.)

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use register_storm::signal_storm_callee_saved_registers;

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod register_storm {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    mod regs {
        /// rbx, rbp, r12-r15, MXCSR, x87 control word.
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Regs {
            pub gp: [u64; 6],
            pub mxcsr: u32,
            pub x87cw: u16,
            pub pad: u16,
        }

        impl Regs {
            /// Distinct values from `seed`, with unusual rounding modes and
            /// x87 precision.
            pub fn pattern(seed: u64) -> Regs {
                let mut gp = [0u64; 6];
                for (i, r) in gp.iter_mut().enumerate() {
                    *r = super::mix(seed, i as u64 + 1);
                }
                let rc = ((seed >> 3) & 3) as u32;
                let mxcsr = 0x1f80 | (rc << 13) | ((((seed >> 5) & 1) as u32) << 15);
                let pc = [0u16, 2, 3][(seed % 3) as usize];
                let x87cw = 0x007f | (pc << 8) | ((((seed >> 7) & 3) as u16) << 10);
                Regs {
                    gp,
                    mxcsr,
                    x87cw,
                    pad: 0,
                }
            }
        }

        /// Loads `vals` into every callee-saved register, calls the public
        /// `swapctx_switch` through a register, and stores what the registers
        /// hold when it returns into `out`.
        ///
        /// # Safety
        /// As `swapctx::raw::swapctx_switch`.
        pub unsafe fn switch(
            save: *mut *mut u8,
            to: *mut u8,
            value: usize,
            vals: &Regs,
            out: &mut Regs,
        ) -> usize {
            let f: unsafe extern "C" fn(*mut *mut u8, *mut u8, usize) -> usize =
                swapctx::raw::swapctx_switch;
            let ret: usize;
            // SAFETY: rsp, rbx, rbp, MXCSR and the control word are restored
            // before the end; every other register touched is declared; the
            // call is made with a 16-byte aligned stack.
            unsafe {
                core::arch::asm!(
                    "push rbx",
                    "push rbp",
                    "mov rax, rsp",
                    "and rsp, -16",
                    "sub rsp, 32",
                    "mov [rsp + 16], rax",
                    "mov [rsp + 24], r9",
                    "stmxcsr [rsp]",
                    "fnstcw [rsp + 4]",
                    "mov rbx, [r8]",
                    "mov rbp, [r8 + 8]",
                    "mov r12, [r8 + 16]",
                    "mov r13, [r8 + 24]",
                    "mov r14, [r8 + 32]",
                    "mov r15, [r8 + 40]",
                    "ldmxcsr [r8 + 48]",
                    "fldcw [r8 + 52]",
                    "call r10",
                    "mov rcx, [rsp + 24]",
                    "mov [rcx], rbx",
                    "mov [rcx + 8], rbp",
                    "mov [rcx + 16], r12",
                    "mov [rcx + 24], r13",
                    "mov [rcx + 32], r14",
                    "mov [rcx + 40], r15",
                    "stmxcsr [rcx + 48]",
                    "fnstcw [rcx + 52]",
                    "ldmxcsr [rsp]",
                    "fldcw [rsp + 4]",
                    "mov rsp, [rsp + 16]",
                    "pop rbp",
                    "pop rbx",
                    in("r10") f,
                    in("rdi") save,
                    in("rsi") to,
                    in("rdx") value,
                    in("r8") vals as *const Regs,
                    in("r9") out as *mut Regs,
                    lateout("rax") ret,
                    out("r12") _, out("r13") _, out("r14") _, out("r15") _,
                    clobber_abi("C"),
                );
            }
            ret
        }
    }

    #[cfg(target_arch = "aarch64")]
    mod regs {
        /// x19-x29, then d8-d15 as bit patterns.
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Regs {
            pub gp: [u64; 11],
            pub fp: [u64; 8],
        }

        impl Regs {
            /// Distinct values from `seed`.
            pub fn pattern(seed: u64) -> Regs {
                let mut r = Regs::default();
                for (i, v) in r.gp.iter_mut().chain(r.fp.iter_mut()).enumerate() {
                    *v = super::mix(seed, i as u64 + 1);
                }
                r
            }
        }

        /// Loads `vals` into every callee-saved register, calls the public
        /// `swapctx_switch` through a register, and stores what the registers
        /// hold when it returns into `out`.
        ///
        /// # Safety
        /// As `swapctx::raw::swapctx_switch`.
        pub unsafe fn switch(
            save: *mut *mut u8,
            to: *mut u8,
            value: usize,
            vals: &Regs,
            out: &mut Regs,
        ) -> usize {
            let f: unsafe extern "C" fn(*mut *mut u8, *mut u8, usize) -> usize =
                swapctx::raw::swapctx_switch;
            let ret: usize;
            // SAFETY: x19 and x29 (which cannot be operands) are saved and
            // restored; every other register touched is declared; sp stays
            // 16-byte aligned.
            unsafe {
                core::arch::asm!(
                    "stp x19, x29, [sp, #-16]!",
                    "stp x9, xzr, [sp, #-16]!",
                    "ldp x19, x20, [x8, #0]",
                    "ldp x21, x22, [x8, #16]",
                    "ldp x23, x24, [x8, #32]",
                    "ldp x25, x26, [x8, #48]",
                    "ldp x27, x28, [x8, #64]",
                    "ldr x29, [x8, #80]",
                    "ldp d8, d9, [x8, #88]",
                    "ldp d10, d11, [x8, #104]",
                    "ldp d12, d13, [x8, #120]",
                    "ldp d14, d15, [x8, #136]",
                    "blr x10",
                    "ldr x9, [sp]",
                    "stp x19, x20, [x9, #0]",
                    "stp x21, x22, [x9, #16]",
                    "stp x23, x24, [x9, #32]",
                    "stp x25, x26, [x9, #48]",
                    "stp x27, x28, [x9, #64]",
                    "str x29, [x9, #80]",
                    "stp d8, d9, [x9, #88]",
                    "stp d10, d11, [x9, #104]",
                    "stp d12, d13, [x9, #120]",
                    "stp d14, d15, [x9, #136]",
                    "add sp, sp, #16",
                    "ldp x19, x29, [sp], #16",
                    in("x10") f,
                    in("x0") save,
                    in("x1") to,
                    in("x2") value,
                    in("x8") vals as *const Regs,
                    in("x9") out as *mut Regs,
                    lateout("x0") ret,
                    out("x20") _, out("x21") _, out("x22") _, out("x23") _, out("x24") _,
                    out("x25") _, out("x26") _, out("x27") _, out("x28") _,
                    out("v8") _, out("v9") _, out("v10") _, out("v11") _,
                    out("v12") _, out("v13") _, out("v14") _, out("v15") _,
                    clobber_abi("C"),
                );
            }
            ret
        }
    }

    use regs::Regs;

    const FIBERS: usize = 6;
    const BATCH: usize = 2_000;

    /// Shared by the main context (0) and the fibers (1..=FIBERS); only the
    /// running one touches it.
    struct Torture {
        sps: [*mut u8; FIBERS + 1],
        remaining: usize,
        counter: usize,
        rng: u64,
        switches: u64,
        mismatches: u64,
        first_mismatch: Option<String>,
        wrong_values: u64,
        visits: [u64; FIBERS + 1],
    }

    impl Torture {
        fn next_rand(&mut self) -> u64 {
            self.rng ^= self.rng >> 12;
            self.rng ^= self.rng << 25;
            self.rng ^= self.rng >> 27;
            self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    /// One switch away from context `me` with fresh values in every
    /// callee-saved register, and the checks once something switches back.
    ///
    /// # Safety
    /// `t` is live, `me` is the running context, and every other context in
    /// `t.sps` is suspended.
    unsafe fn torture_step(t: *mut Torture, me: usize) {
        // SAFETY: per the contract; the switch hands `t` over with control.
        unsafe {
            let next = if (*t).remaining == 0 {
                0
            } else {
                (*t).remaining -= 1;
                let r = (*t).next_rand() as usize % FIBERS;
                (me + 1 + r) % (FIBERS + 1)
            };
            let vals = Regs::pattern((*t).next_rand());
            (*t).counter += 1;
            (*t).switches += 1;
            PROGRESS.fetch_add(1, Relaxed);
            let sent = (*t).counter;
            let mut out = Regs::default();
            let to = (*t).sps[next];
            (*t).sps[next] = ptr::null_mut();
            let got = regs::switch(ptr::addr_of_mut!((*t).sps[me]), to, sent, &vals, &mut out);
            (*t).visits[me] += 1;
            if got != (*t).counter {
                (*t).wrong_values += 1;
            }
            if out != vals {
                (*t).mismatches += 1;
                if (*t).first_mismatch.is_none() {
                    (*t).first_mismatch =
                        Some(format!("context {me}: set {vals:x?}, got {out:x?}"));
                }
            }
        }
    }

    unsafe extern "C" fn torture_entry(_value: usize, data: *mut c_void) -> ! {
        // SAFETY: data points at this fiber's (torture, id) pair, which
        // outlives it.
        let (t, me) = unsafe { *data.cast::<(*mut Torture, usize)>() };
        loop {
            // SAFETY: we are the running context `me`.
            unsafe { torture_step(t, me) };
        }
    }

    pub(super) fn signal_storm_callee_saved_registers() {
        let stacks: Vec<Stack> = (0..FIBERS).map(|_| new_stack(64 * 1024)).collect();
        let mut t = Box::new(Torture {
            sps: [ptr::null_mut(); FIBERS + 1],
            remaining: 0,
            counter: 0,
            rng: 0x5eed_f1e2_0f0f,
            switches: 0,
            mismatches: 0,
            first_mismatch: None,
            wrong_values: 0,
            visits: [0; FIBERS + 1],
        });
        let tp: *mut Torture = &mut *t;
        let mut ids: Vec<(*mut Torture, usize)> = (1..=FIBERS).map(|i| (tp, i)).collect();
        for (i, stack) in stacks.iter().enumerate() {
            // SAFETY: each fiber has its own stack, which outlives every switch
            // into it (the fibers are abandoned, suspended, before the stacks
            // are dropped; nothing on them needs dropping); `ids` outlives them.
            unsafe {
                (*tp).sps[i + 1] =
                    Context::new(stack.top(), torture_entry, ptr::addr_of_mut!(ids[i]).cast())
                        .into_stack_pointer();
            }
        }
        let storm = Storm::start();
        for (i, s) in stacks.iter().enumerate() {
            register_range(i, s);
        }
        while storm.going(mid_switch_goal()) {
            // SAFETY: main is context 0 and running; the fibers hand back to it
            // when the batch is used up.
            unsafe {
                (*tp).remaining = BATCH;
                loop {
                    torture_step(tp, 0);
                    if (*tp).remaining == 0 {
                        break;
                    }
                }
            }
        }
        let switches = t.switches;
        storm.finish("registers", switches);
        assert_eq!(t.first_mismatch, None);
        assert_eq!(t.mismatches, 0);
        assert_eq!(t.wrong_values, 0, "a switch delivered the wrong value");
        for (i, v) in t.visits.iter().enumerate() {
            assert!(*v > 0, "context {i} never ran");
        }
        drop(stacks);
    }
}

// ---------------------------------------------------------------------------
// Storm 2: coroutines keeping running sums in locals, deep in calls.

/// One step's report: everything a coroutine keeps in its locals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Report {
    id: u64,
    n: u64,
    isum: u64,
    fbits: u64,
    ring: u64,
}

/// The state a coroutine keeps in its locals, and the model keeps in the
/// resumer; both step it the same way.
struct Sums {
    id: u64,
    n: u64,
    isum: u64,
    f: f64,
    ring: [u64; 16],
}

impl Sums {
    fn new(id: u64) -> Sums {
        Sums {
            id,
            n: 0,
            isum: id,
            f: id as f64 * 0.75,
            ring: [id; 16],
        }
    }

    fn step(&mut self, input: u64) -> Report {
        self.n += 1;
        self.isum = self
            .isum
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(input);
        self.f = self.f * 0.999_999_7 + (input % 1024) as f64 * 0.125 + (self.n as f64).sqrt();
        let k = (self.n % 16) as usize;
        self.ring[k] = self.ring[k].rotate_left(7) ^ input;
        Report {
            id: self.id,
            n: self.n,
            isum: self.isum,
            fbits: self.f.to_bits(),
            ring: self.ring.iter().fold(0, |a, &b| mix(a, b)),
        }
    }
}

/// Suspends `depth` calls deep, each frame holding live locals that are
/// checked after the suspend returns.
#[inline(never)]
fn suspend_deep(y: &Yielder<u64, Report>, depth: u32, r: Report) -> u64 {
    if depth == 0 {
        return y.suspend(r);
    }
    let locals = [r.isum ^ depth as u64, r.n, r.fbits, r.ring, depth as u64];
    let fl = black_box(f64::from_bits(r.fbits) * 2.0 + depth as f64);
    let input = suspend_deep(y, depth - 1, r);
    let again = [r.isum ^ depth as u64, r.n, r.fbits, r.ring, depth as u64];
    assert_eq!(black_box(locals), again, "frame {depth} lost its locals");
    assert_eq!(
        fl.to_bits(),
        (f64::from_bits(r.fbits) * 2.0 + depth as f64).to_bits(),
        "frame {depth} lost its float"
    );
    input
}

fn combine(a: Report, b: Report) -> Report {
    Report {
        id: a.id,
        n: a.n,
        isum: a.isum ^ b.isum.rotate_left(1),
        fbits: a.fbits ^ b.fbits,
        ring: mix(a.ring, b.ring),
    }
}

type StormCo = Coroutine<u64, Report, ()>;

/// A coroutine that steps its sums forever; one given an `inner` stack
/// also runs an inner coroutine there, resumes it each step and folds its
/// report in.
fn storm_coroutine(stack: Stack, id: u64, inner: Option<Stack>, drops: Rc<Cell<u32>>) -> StormCo {
    let flag = DropFlag(drops);
    Coroutine::with_stack(stack, move |y, mut input| {
        let _flag = flag;
        let mut sums = Sums::new(id);
        let mut inner: Option<StormCo> = inner.map(|stack| {
            Coroutine::with_stack(stack, move |y2: &Yielder<u64, Report>, mut x: u64| {
                let mut s = Sums::new(id + 1000);
                loop {
                    x = suspend_deep(y2, (x % 3) as u32, s.step(x));
                }
            })
        });
        loop {
            let mut r = sums.step(input);
            if let Some(inner) = inner.as_mut() {
                match inner.resume(input ^ 0x55) {
                    CoroutineResult::Yield(ir) => r = combine(r, ir),
                    CoroutineResult::Return(()) => unreachable!(),
                }
            }
            input = suspend_deep(y, (input % 4) as u32, r);
        }
    })
}

/// The model of `storm_coroutine`.
struct StormModel {
    sums: Sums,
    inner: Option<Sums>,
}

impl StormModel {
    fn new(id: u64, nested: bool) -> StormModel {
        StormModel {
            sums: Sums::new(id),
            inner: nested.then(|| Sums::new(id + 1000)),
        }
    }

    fn step(&mut self, input: u64) -> Report {
        let r = self.sums.step(input);
        match self.inner.as_mut() {
            Some(inner) => combine(r, inner.step(input ^ 0x55)),
            None => r,
        }
    }
}

const STORM_COROS: usize = 8;
/// Every this many resumes of one coroutine, it is dropped suspended and
/// remade on the same stack.
const CHURN: u64 = 5000;

fn signal_storm_coroutine_values() {
    let drops = Rc::new(Cell::new(0u32));
    let mut made = 0u32;
    let storm = Storm::start();
    // Slot i's stack is entry 2i of the handler's table, its inner
    // coroutine's (every third slot has one) entry 2i+1.
    let inner_stack = |i: usize| {
        (i % 3 == 0).then(|| {
            let s = new_stack(32 * 1024);
            register_range(2 * i + 1, &s);
            s
        })
    };
    let mut slots: Vec<(StormCo, StormModel, u64)> = (0..STORM_COROS)
        .map(|i| {
            let stack = new_stack(64 * 1024);
            register_range(2 * i, &stack);
            made += 1;
            let inner = inner_stack(i);
            let nested = inner.is_some();
            (
                storm_coroutine(stack, i as u64, inner, drops.clone()),
                StormModel::new(i as u64, nested),
                0,
            )
        })
        .collect();
    let mut rng = 0x1234_5678_9abc_def1u64;
    let mut switches = 0u64;
    let main_locals = [black_box(1.5f64), black_box(-2.25), black_box(1e300)];
    // The coroutine layer may switch through another entry than the public
    // `swapctx_switch`, so signals inside the switch are counted (the
    // report) but not waited for here; the register storm waits for them.
    while storm.going(true) {
        for _ in 0..1_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let i = (rng % STORM_COROS as u64) as usize;
            let (co, model, count) = &mut slots[i];
            let input = rng >> 11;
            let want = model.step(input);
            match co.resume(input) {
                CoroutineResult::Yield(got) => assert_eq!(got, want, "coroutine {i}"),
                CoroutineResult::Return(()) => panic!("coroutine {i} returned"),
            }
            switches += if model.inner.is_some() { 4 } else { 2 };
            PROGRESS.fetch_add(1, Relaxed);
            *count += 1;
            if *count % CHURN == 0 {
                let id = i as u64 + 100 * u64::from(made);
                made += 1;
                let (old, _, count) = slots.swap_remove(i);
                let before = drops.get();
                let stack = old.into_stack();
                assert_eq!(drops.get(), before + 1, "drop did not unwind coroutine {i}");
                let inner = inner_stack(i);
                let nested = inner.is_some();
                slots.push((
                    storm_coroutine(stack, id, inner, drops.clone()),
                    StormModel::new(id, nested),
                    count,
                ));
                let last = slots.len() - 1;
                slots.swap(i, last);
            }
        }
    }
    storm.finish("coroutines", switches);
    assert_eq!(
        black_box(main_locals),
        [1.5, -2.25, 1e300],
        "main's locals changed"
    );
    drop(slots);
    assert_eq!(drops.get(), made, "every coroutine's captures were dropped");
}
