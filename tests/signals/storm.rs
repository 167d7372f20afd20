//! What both storms share: the interval timer, the `SIGALRM` handler, and
//! the count of where the signals landed.

use std::ffi::c_void;
use std::hint::black_box;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use swapctx::Stack;

pub static MAIN_LO: AtomicUsize = AtomicUsize::new(0);
pub static MAIN_HI: AtomicUsize = AtomicUsize::new(0);
const MAX_RANGES: usize = 64;
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_PAIR: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
/// The test's stacks, as (bottom, top) pairs, for the handler's check.
static RANGES: [[AtomicUsize; 2]; MAX_RANGES] = [ZERO_PAIR; MAX_RANGES];
static NRANGES: AtomicUsize = AtomicUsize::new(0);

static RUNS: AtomicU64 = AtomicU64::new(0);
static ON_MAIN: AtomicU64 = AtomicU64::new(0);
static ON_STACKS: AtomicU64 = AtomicU64::new(0);
pub static IN_SWITCH: AtomicU64 = AtomicU64::new(0);
static BAD_SP: AtomicU64 = AtomicU64::new(0);
static FIRST_BAD_SP: AtomicUsize = AtomicUsize::new(0);
/// The storm's timer (a `timer_t`, which may be 0), valid while
/// HAVE_TIMER is set.
static TIMER: AtomicUsize = AtomicUsize::new(0);
static HAVE_TIMER: AtomicBool = AtomicBool::new(false);
/// The timer's current period.
static PERIOD_NS: AtomicU64 = AtomicU64::new(0);
/// Bumped by the switching loops; the handler backs off when it stalls.
pub static PROGRESS: AtomicU64 = AtomicU64::new(0);
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
#[cfg(target_arch = "powerpc64")]
const SWITCH_LEN: usize = 560;
#[cfg(target_arch = "s390x")]
const SWITCH_LEN: usize = 96;
#[cfg(target_arch = "x86")]
const SWITCH_LEN: usize = 58;
#[cfg(target_arch = "arm")]
const SWITCH_LEN: usize = 56;

/// Puts `stack` in entry `i` of the handler's table (replacing what was
/// there: a dropped stack's entry is reused by its replacement).
pub fn register_range(i: usize, stack: &Stack) {
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
        #[cfg(target_arch = "powerpc64")]
        {
            // gp_regs[1] is r1 (the stack pointer), gp_regs[32] the NIP.
            let g = &(*uc).uc_mcontext.gp_regs;
            (g[1] as usize, g[32] as usize)
        }
        #[cfg(target_arch = "s390x")]
        {
            // r15 is the stack pointer; the PSW holds the next address.
            let m = &(*uc).uc_mcontext;
            (m.gregs[15] as usize, m.psw.addr as usize)
        }
        #[cfg(target_arch = "x86")]
        {
            let g = &(*uc).uc_mcontext.gregs;
            (
                g[libc::REG_ESP as usize] as u32 as usize,
                g[libc::REG_EIP as usize] as u32 as usize,
            )
        }
        #[cfg(target_arch = "arm")]
        {
            let m = &(*uc).uc_mcontext;
            (m.arm_sp as usize, m.arm_pc as usize)
        }
    }
}

// qemu-i386 (7.2) aligns a signal handler's frame to 8 bytes, where Linux
// aligns it to 16 as the i386 ABI wants; compiled SSE code (`movaps` to the
// stack) then faults in the handler. On x86 the handler is entered through
// this stub, which realigns the stack and calls it with the same arguments.
#[cfg(target_arch = "x86")]
core::arch::global_asm!(
    ".pushsection .text",
    ".globl swapctx_test_on_alarm_realigned",
    ".hidden swapctx_test_on_alarm_realigned",
    ".type swapctx_test_on_alarm_realigned, @function",
    "swapctx_test_on_alarm_realigned:",
    "pushl %ebp",
    "movl %esp, %ebp",
    "andl $-16, %esp",
    "subl $4, %esp",
    "pushl 16(%ebp)",
    "pushl 12(%ebp)",
    "pushl 8(%ebp)",
    "calll {handler}",
    "leave",
    "retl",
    ".popsection",
    handler = sym on_alarm,
    options(att_syntax),
);
#[cfg(target_arch = "x86")]
extern "C" {
    fn swapctx_test_on_alarm_realigned();
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
pub struct Storm {
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
    pub fn start() -> Storm {
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
            #[cfg(target_arch = "x86")]
            {
                act.sa_sigaction = swapctx_test_on_alarm_realigned as *const () as usize;
            }
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
    pub fn going(&self, extra_goal: bool) -> bool {
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
    pub fn finish(self, what: &str, switches: u64) {
        let secs = self.start.elapsed().as_secs_f64();
        drop(self);
        let runs = RUNS.load(Relaxed);
        // On a line of its own, between libtest's `test NAME ...` and `ok`.
        println!(
            "\n    {what}: {runs} signals in {secs:.2} s ({:.0}/s, final period {} us): {} on the \
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
/// (aarch64 and riscv64 here) the count is reported, not awaited.
pub fn mid_switch_goal() -> bool {
    cfg!(not(target_arch = "x86_64")) || IN_SWITCH.load(Relaxed) >= 20
}
