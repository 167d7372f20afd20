//! A user's SIGSEGV handler behind swapctx's.
//!
//! In a fresh child of a process that has made no stack yet, the user
//! installs a SIGSEGV handler; then a coroutine is made, which installs
//! swapctx's handler on top (it records the user's as the one to chain
//! to). A write to a PROT_NONE page the test mapped itself is not a guard
//! page hit, so swapctx must hand it to the user's handler, which makes
//! the page writable and returns: the write then succeeds. Once from the
//! main stack, once from inside a coroutine.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use swapctx::{Coroutine, CoroutineResult};

use crate::unix::{in_child, new_stack, page_size, STACKS_MADE};

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
        if siginfo && !same_fault_address(FAULT_ADDR.load(Relaxed), p.wrapping_add(1) as usize) {
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
        if siginfo && !same_fault_address(FAULT_ADDR.load(Relaxed), q.wrapping_add(3) as usize) {
            eprintln!("the user's handler saw the wrong fault address (coroutine)");
            return 8;
        }
        drop(co);
        0
    });
    assert_eq!(code, 0, "the child failed with code {code}");
}

/// Whether `si_addr` names the faulting store to the `u64` at `want`: an
/// address inside that word (a 32-bit target may store it as two halves,
/// either one first), but on s390x, whose hardware reports only the page
/// of a fault (Linux passes the page's address on), the page.
fn same_fault_address(seen: usize, want: usize) -> bool {
    if cfg!(target_arch = "s390x") {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        seen & !(page - 1) == want & !(page - 1)
    } else {
        (want..want + 8).contains(&seen)
    }
}

pub fn user_sigsegv_siginfo_handler_still_runs() {
    user_sigsegv_case(true);
}

pub fn user_sigsegv_plain_handler_still_runs() {
    user_sigsegv_case(false);
}
