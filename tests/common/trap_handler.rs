//! A fault handler for tests of `swapctx::coroutine::trap`: the thread
//! names the coroutine that runs (a `TrapHandle`) and what its trap should
//! return; the handler redirects the coroutine, or passes the fault on to
//! the handler it replaced.

#![allow(dead_code)]

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use swapctx::coroutine::trap::{self, TrapHandle};

/// What the trap hands back: called in the handler with the signal and
/// the fault address, it makes the trap's closure (and redirects).
pub type OnTrap = unsafe fn(TrapHandle<i32>, *mut c_void, i32, usize) -> bool;

thread_local! {
    /// The coroutine that runs on this thread, and what its trap returns.
    pub static HANDLER: Cell<Option<(TrapHandle<i32>, OnTrap)>> = const { Cell::new(None) };
}

/// Faults the handler passed on (no coroutine named, or not on its stack).
pub static PASSED_ON: AtomicUsize = AtomicUsize::new(0);

const SIGNALS: [i32; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

// SAFETY: all-zero bytes are a valid `sigaction` (SIG_DFL, no flags).
static mut OLD: [libc::sigaction; 4] = [unsafe { std::mem::zeroed() }; 4];

extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, uc: *mut c_void) {
    // SAFETY: the kernel's siginfo for a fault signal.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some((handle, f)) = HANDLER.with(|h| h.get()) {
        // SAFETY: the tests name a coroutine only while it runs, and its
        // frames hold nothing that must be dropped.
        if unsafe { f(handle, uc, sig, addr) } {
            return;
        }
    }
    PASSED_ON.fetch_add(1, Ordering::Relaxed);
    let i = SIGNALS.iter().position(|&s| s == sig).unwrap();
    // SAFETY: OLD was written before this handler was installed.
    let old = unsafe { ptr::addr_of!(OLD[i]).read() };
    if old.sa_sigaction == libc::SIG_DFL || old.sa_sigaction == libc::SIG_IGN {
        // SAFETY: back to the default action; the fault happens again.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    } else {
        // SAFETY: the previous handler, called as the kernel would.
        unsafe {
            let f: extern "C" fn(i32, *mut libc::siginfo_t, *mut c_void) =
                std::mem::transmute(old.sa_sigaction);
            f(sig, info, uc);
        }
    }
}

/// Installs the handler once per process, after swapctx's overflow
/// handler, so that it runs first.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        trap::install_overflow_handler();
        // SAFETY: plain sigaction calls; OLD is written before the handler
        // that reads it is in place (each signal's slot by its own call).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            for (i, &sig) in SIGNALS.iter().enumerate() {
                assert_eq!(
                    libc::sigaction(sig, &sa, ptr::addr_of_mut!(OLD[i])),
                    0,
                    "sigaction"
                );
            }
        }
    });
}

/// Names `handle` as the coroutine running on this thread until the guard
/// is dropped.
pub fn running(handle: TrapHandle<i32>, f: OnTrap) -> impl Drop {
    struct Unset;
    impl Drop for Unset {
        fn drop(&mut self) {
            HANDLER.with(|h| h.set(None));
        }
    }
    install();
    HANDLER.with(|h| h.set(Some((handle, f))));
    Unset
}

/// Faults with an illegal instruction.
#[inline(never)]
pub fn illegal_instruction() {
    // SAFETY: traps; the test's handler redirects the coroutine.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("ud2");
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("udf #0");
        #[cfg(target_arch = "riscv64")]
        std::arch::asm!("unimp");
        // Primary opcode 0: no instruction (`trap` would be a SIGTRAP).
        #[cfg(target_arch = "powerpc64")]
        std::arch::asm!(".long 0");
        // Opcode 0x00: no instruction.
        #[cfg(target_arch = "s390x")]
        std::arch::asm!(".short 0");
        #[cfg(target_arch = "x86")]
        std::arch::asm!("ud2");
        #[cfg(target_arch = "arm")]
        std::arch::asm!("udf #0");
    }
}

/// Writes to an unmapped address.
#[inline(never)]
pub fn segfault() {
    // SAFETY: faults; the test's handler redirects the coroutine.
    unsafe { ptr::write_volatile(std::hint::black_box(8usize) as *mut u8, 0) };
}

/// Recurses until the stack's guard page stops it (small frames, every
/// page touched, also where the compiler emits no stack probes).
#[allow(unconditional_recursion)]
#[inline(never)]
pub fn recurse_forever(p: &mut [u8; 100]) {
    let p = std::hint::black_box(p);
    recurse_forever(&mut [p[0]; 100]);
    std::hint::black_box(p);
}

/// The stack pointer, read from the register (not inlined: a function to
/// pass to `on_stack`).
#[inline(never)]
pub fn stack_pointer() -> usize {
    swapctx::raw::current_stack_pointer()
}
