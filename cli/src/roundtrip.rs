//! One round trip (there and back: two switches) for each way of switching
//! that `swapctx bench` and the criterion benches measure. Each type keeps
//! its partner suspended between calls, so only switching is timed.
//!
//! Shared between the `swapctx` program (`swapctx bench`) and `benches/`
//! (through `#[path]`), so that both measure exactly the same code.

#![allow(dead_code)]

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use swapctx::raw::{self, Context};
use swapctx::{Coroutine, CoroutineResult, Stack};

/// Something that can do `n` round trips and returns a value that depends
/// on all of them (so that nothing is optimised away).
pub trait RoundTrip {
    /// Does `n` round trips.
    fn round_trips(&mut self, n: u64) -> u64;
}

/// `Coroutine::resume` + `Yielder::suspend`.
pub struct SwapctxCoroutine(Coroutine<u64, u64, ()>);

impl SwapctxCoroutine {
    pub fn new() -> Self {
        SwapctxCoroutine(Coroutine::new(|y, mut x: u64| loop {
            x = y.suspend(x.wrapping_add(1));
        }))
    }
}

/// `n` round trips into a coroutine that yields its input plus one,
/// feeding each yield back in; the last value. Inlined into each
/// `round_trips`, so that the loop is what is measured.
#[inline(always)]
pub fn resume_loop(co: &mut Coroutine<u64, u64, ()>, n: u64) -> u64 {
    let mut x = 0;
    for _ in 0..n {
        match co.resume(x) {
            CoroutineResult::Yield(v) => x = v,
            CoroutineResult::Return(()) => unreachable!(),
        }
    }
    x
}

impl RoundTrip for SwapctxCoroutine {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        resume_loop(&mut self.0, n)
    }
}

/// `swapctx::raw::switch` there and back: the full C-ABI switch, which
/// saves every callee-saved register and the floating-point control words.
pub struct SwapctxRaw {
    state: Box<RawState>,
    _stack: Stack,
}

struct RawState {
    main: Context,
    fiber: Context,
}

unsafe extern "C" fn raw_fiber(mut value: usize, data: *mut c_void) -> ! {
    let st = data.cast::<RawState>();
    loop {
        // SAFETY: `st` outlives the fiber (SwapctxRaw owns both); main is
        // suspended in `main` whenever the fiber runs.
        value = unsafe {
            let main = std::mem::take(&mut (*st).main);
            raw::switch(&mut (*st).fiber, main, value.wrapping_add(1))
        };
    }
}

impl SwapctxRaw {
    pub fn new() -> Self {
        let stack = Stack::new(64 * 1024).expect("stack");
        let mut state = Box::new(RawState {
            main: Context::empty(),
            fiber: Context::empty(),
        });
        let data: *mut RawState = &mut *state;
        // SAFETY: the stack and the state live as long as the fiber can run
        // (both are owned by the returned value); raw_fiber never returns.
        state.fiber = unsafe { Context::new(stack.top(), raw_fiber, data.cast()) };
        SwapctxRaw {
            state,
            _stack: stack,
        }
    }
}

impl RoundTrip for SwapctxRaw {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let st: *mut RawState = &mut *self.state;
        let mut x = 0usize;
        for _ in 0..n {
            // SAFETY: the fiber is suspended in `fiber`; it switches back
            // into `main`.
            x = unsafe {
                let fiber = std::mem::take(&mut (*st).fiber);
                raw::switch(&mut (*st).main, fiber, x)
            };
        }
        x as u64
    }
}

/// glibc's `swapcontext` there and back (each call also makes an
/// `rt_sigprocmask` system call). The `libc` crate declares it for x86_64
/// and aarch64 only.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub struct Ucontext {
    pair: Box<UcPair>,
    _stack: Stack,
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
struct UcPair {
    main: libc::ucontext_t,
    fiber: libc::ucontext_t,
    value: u64,
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
extern "C" fn uc_fiber(lo: u32, hi: u32) {
    let pair = ((hi as u64) << 32 | lo as u64) as *mut UcPair;
    loop {
        // SAFETY: the pair outlives the fiber; main is suspended in it.
        unsafe {
            (*pair).value = (*pair).value.wrapping_add(1);
            libc::swapcontext(&mut (*pair).fiber, &(*pair).main);
        }
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
impl Ucontext {
    pub fn new() -> Self {
        let stack = Stack::new(64 * 1024).expect("stack");
        // SAFETY: ucontext_t is a plain C struct; getcontext fills it.
        let mut pair: Box<UcPair> = Box::new(unsafe { std::mem::zeroed() });
        let p: *mut UcPair = &mut *pair;
        // SAFETY: getcontext/makecontext on our own ucontext_t, with a stack
        // that lives as long as the fiber; the pointer travels as two ints,
        // the documented way to pass one through makecontext.
        unsafe {
            libc::getcontext(&mut (*p).fiber);
            (*p).fiber.uc_stack.ss_sp = stack.bottom().cast();
            (*p).fiber.uc_stack.ss_size = stack.size();
            (*p).fiber.uc_link = std::ptr::null_mut();
            let f: extern "C" fn(u32, u32) = uc_fiber;
            let f: extern "C" fn() =
                std::mem::transmute::<extern "C" fn(u32, u32), extern "C" fn()>(f);
            libc::makecontext(
                &mut (*p).fiber,
                f,
                2,
                p as u64 as u32,
                ((p as u64) >> 32) as u32,
            );
        }
        Ucontext {
            pair,
            _stack: stack,
        }
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
impl RoundTrip for Ucontext {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let p: *mut UcPair = &mut *self.pair;
        for _ in 0..n {
            // SAFETY: the fiber is suspended in `fiber` and switches back.
            unsafe { libc::swapcontext(&mut (*p).main, &(*p).fiber) };
        }
        self.pair.value
    }
}

/// Two OS threads handing a token back and forth through a futex, both
/// pinned to one CPU so that every hand-over is a real context switch in
/// the kernel (as a coroutine switch is, in user space).
pub struct ThreadPingPong {
    shared: Arc<Shared>,
    partner: Option<std::thread::JoinHandle<()>>,
    old_mask: Option<libc::cpu_set_t>,
}

struct Shared {
    /// 1: the partner's turn; 0: ours.
    token: AtomicU32,
    stop: AtomicBool,
}

fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT on a live, aligned u32; spurious wake-ups are
    // handled by the callers' loops.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned u32.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

/// Pins the calling thread to `cpu`; returns the mask it had.
fn pin_to(cpu: usize) -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is a plain bit set; the calls only read and write
    // the sets we pass.
    unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut old) != 0 {
            return None;
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        (libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0)
            .then_some(old)
    }
}

impl ThreadPingPong {
    pub fn new() -> Self {
        let shared = Arc::new(Shared {
            token: AtomicU32::new(0),
            stop: AtomicBool::new(false),
        });
        let old_mask = pin_to(0);
        let s = shared.clone();
        let partner = std::thread::spawn(move || {
            pin_to(0);
            loop {
                while s.token.load(Ordering::Acquire) != 1 {
                    futex_wait(&s.token, 0);
                }
                if s.stop.load(Ordering::Acquire) {
                    return;
                }
                s.token.store(0, Ordering::Release);
                futex_wake(&s.token);
            }
        });
        ThreadPingPong {
            shared,
            partner: Some(partner),
            old_mask,
        }
    }
}

impl RoundTrip for ThreadPingPong {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let t = &self.shared.token;
        for _ in 0..n {
            t.store(1, Ordering::Release);
            futex_wake(t);
            while t.load(Ordering::Acquire) != 0 {
                futex_wait(t, 1);
            }
        }
        n
    }
}

impl Drop for ThreadPingPong {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.token.store(1, Ordering::Release);
        futex_wake(&self.shared.token);
        if let Some(p) = self.partner.take() {
            let _ = p.join();
        }
        if let Some(mask) = self.old_mask.take() {
            // SAFETY: restores the mask read by pin_to.
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mask) };
        }
    }
}

/// A ring of `N` raw contexts plus the caller: each "round trip" here is
/// `N + 1` single switches, each straight to the next context, so the time
/// per hop is the cost of one switch, measured as such.
pub struct SwapctxRing {
    ring: Box<Ring>,
    _stacks: Vec<Stack>,
}

/// Contexts in the ring besides the caller.
pub const RING_FIBERS: usize = 3;

struct Ring {
    slots: [Context; RING_FIBERS + 1],
    ids: [(*mut Ring, usize); RING_FIBERS + 1],
}

unsafe extern "C" fn ring_fiber(mut value: usize, data: *mut c_void) -> ! {
    // SAFETY: `data` is this fiber's (ring, id) pair, alive with the ring.
    let (ring, id) = unsafe { *data.cast::<(*mut Ring, usize)>() };
    loop {
        // SAFETY: the next context is suspended in its slot; we save into
        // ours. Only the running context touches the ring.
        value = unsafe {
            let next = std::mem::take(&mut (*ring).slots[(id + 1) % (RING_FIBERS + 1)]);
            raw::switch(&mut (*ring).slots[id], next, value.wrapping_add(1))
        };
    }
}

impl SwapctxRing {
    pub fn new() -> Self {
        let mut ring = Box::new(Ring {
            slots: std::array::from_fn(|_| Context::empty()),
            ids: [(std::ptr::null_mut(), 0); RING_FIBERS + 1],
        });
        let rp: *mut Ring = &mut *ring;
        let stacks: Vec<Stack> = (0..RING_FIBERS)
            .map(|_| Stack::new(64 * 1024).expect("stack"))
            .collect();
        for (i, stack) in stacks.iter().enumerate() {
            let id = i + 1;
            ring.ids[id] = (rp, id);
            let data: *mut (*mut Ring, usize) = &mut ring.ids[id];
            // SAFETY: stacks and ring live as long as the fibers can run.
            ring.slots[id] = unsafe { Context::new(stack.top(), ring_fiber, data.cast()) };
        }
        SwapctxRing {
            ring,
            _stacks: stacks,
        }
    }

    /// Single switches per call of `round_trips(1)`.
    pub const HOPS: u64 = (RING_FIBERS + 1) as u64;
}

impl RoundTrip for SwapctxRing {
    #[inline(never)]
    fn round_trips(&mut self, n: u64) -> u64 {
        let rp: *mut Ring = &mut *self.ring;
        let mut x = 0usize;
        for _ in 0..n {
            // SAFETY: fiber 1 is suspended; the last fiber switches back
            // into slot 0.
            x = unsafe {
                let first = std::mem::take(&mut (*rp).slots[1]);
                raw::switch(&mut (*rp).slots[0], first, x)
            };
        }
        x as u64
    }
}
