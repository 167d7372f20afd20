//! Installing a stack's guard page, and finding out once per process
//! whether the kernel can do it in place.
//!
//! `madvise(addr, len, MADV_GUARD_INSTALL)` (Linux 6.13+) puts "guard
//! markers" in the page tables of `[addr, addr + len)`: the range stays part
//! of its mapping, and any access to it faults with `SIGSEGV`/`SEGV_MAPERR`
//! and `si_addr` the faulting address (an `mprotect`ed page gives
//! `SEGV_ACCERR` and the same `si_addr`; the overflow handler only reads
//! `si_addr`). Kernels without it answer `EINVAL`.
//!
//! One trap: an emulator may answer success without doing anything.
//! qemu-user (7.2 at least) treats unknown `madvise` advice as a hint and
//! returns 0, so a guard "installed" under qemu would not exist. Detection
//! therefore checks that the guard really faults, without faulting:
//! `access(2)` reads its path argument from the guard page, and fails with
//! `EFAULT` only if the page cannot be read (an ordinary zero page reads as
//! the empty path: `ENOENT`).

#[cfg(unix)]
use core::ffi::c_int;
#[cfg(unix)]
use core::ptr;
use core::sync::atomic::{AtomicU8, Ordering};

#[cfg(unix)]
use crate::error::{Error, Result};

/// `MADV_GUARD_INSTALL` from `<linux/mman.h>` (Linux 6.13); not in every
/// libc release yet.
#[cfg(unix)]
pub(crate) const MADV_GUARD_INSTALL: c_int = 102;

/// How a stack's guard page is made; see [`Stack::guard_kind`](crate::Stack::guard_kind).
///
/// # Examples
/// ```
/// use swapctx::GuardKind;
///
/// // What `Stack::new` uses in this process.
/// let kind = GuardKind::preferred();
/// println!("guard pages are made with {kind:?}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GuardKind {
    /// In place, with `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+): the guard
    /// page stays inside the stack's mapping, so a stack costs one mapping
    /// (and neighbouring stacks merge into one). A touch faults with
    /// `SIGSEGV`, `si_code` `SEGV_MAPERR`.
    Madvise,
    /// With `mprotect(PROT_NONE)`: the guard page becomes a mapping of its
    /// own, so a stack costs two mappings, and `vm.max_map_count` (65,530
    /// by default) caps a process at about 32,000 stacks. A touch faults
    /// with `SIGSEGV`, `si_code` `SEGV_ACCERR`. Works on every kernel.
    Mprotect,
}

/// What this process knows about in-place guards.
const UNKNOWN: u8 = 0;
const SUPPORTED: u8 = 1;
const UNSUPPORTED: u8 = 2;
#[cfg_attr(windows, allow(dead_code))]
const FORCED_OFF: u8 = 3;
static SUPPORT: AtomicU8 = AtomicU8::new(UNKNOWN);

impl GuardKind {
    /// The kind [`Stack::new`](crate::Stack::new) uses in this process:
    /// [`GuardKind::Madvise`] if the kernel installs guard pages in place,
    /// else [`GuardKind::Mprotect`].
    ///
    /// The first call finds out, with a one-page test mapping, and the
    /// answer is kept for the life of the process. If the environment
    /// variable `SWAPCTX_GUARD` is `mprotect` at that moment, the answer is
    /// [`GuardKind::Mprotect`]: that forces the fallback for a whole
    /// program (`SWAPCTX_GUARD=mprotect cargo test`).
    ///
    /// # Examples
    /// ```
    /// use swapctx::{GuardKind, Stack};
    ///
    /// let kind = GuardKind::preferred();
    /// assert_eq!(Stack::new(64 * 1024)?.guard_kind(), kind);
    /// # Ok::<(), swapctx::Error>(())
    /// ```
    pub fn preferred() -> GuardKind {
        let mut state = SUPPORT.load(Ordering::Relaxed);
        if state == UNKNOWN {
            state = detect();
            SUPPORT.store(state, Ordering::Relaxed);
        }
        if state == SUPPORTED {
            GuardKind::Madvise
        } else {
            GuardKind::Mprotect
        }
    }
}

/// Windows has no guard made in place: every guard page is one the system
/// protects (`PAGE_GUARD`), reported as [`GuardKind::Mprotect`].
#[cfg(windows)]
fn detect() -> u8 {
    UNSUPPORTED
}

/// Finds out whether in-place guards work here (see the module docs).
#[cfg(unix)]
fn detect() -> u8 {
    if std::env::var_os("SWAPCTX_GUARD").is_some_and(|v| v == "mprotect") {
        return FORCED_OFF;
    }
    // Valgrind passes the advice to the kernel but does not know that the
    // page now faults: it reads client memory itself (leak checks, stack
    // scans) and dies on the guard. Its own `mprotect` tracking is fine.
    if under_valgrind() {
        return UNSUPPORTED;
    }
    let page = super::page_size();
    // SAFETY: a fresh one-page anonymous mapping, checked, and unmapped
    // below; nothing else knows of it.
    unsafe {
        let m = libc::mmap(
            ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        if m == libc::MAP_FAILED {
            // Cannot test now: "no" this time, without remembering it.
            return UNKNOWN;
        }
        let ok = libc::madvise(m, page, MADV_GUARD_INSTALL) == 0 && really_guarded(m.cast());
        libc::munmap(m, page);
        if ok {
            SUPPORTED
        } else {
            UNSUPPORTED
        }
    }
}

/// True under Valgrind: its client request where the `valgrind` feature is
/// on, else the preload library it injects into every program it runs.
#[cfg(unix)]
fn under_valgrind() -> bool {
    crate::tools::running_on_valgrind()
        || std::env::var_os("LD_PRELOAD")
            .is_some_and(|v| v.to_str().is_some_and(|s| s.contains("vgpreload")))
}

/// True if reading `page` faults: `access` gets `EFAULT` copying its path.
///
/// # Safety
/// `page` must be the start of a page of one of our own mappings.
#[cfg(unix)]
unsafe fn really_guarded(page: *const u8) -> bool {
    // SAFETY: `access` only reads the path; a fault while the kernel
    // copies it is reported as EFAULT, not as a signal.
    let rc = unsafe { libc::access(page.cast(), libc::F_OK) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

/// Installs a guard of `kind` on `[start, start + len)` and says which kind
/// it made. [`GuardKind::Madvise`] is made exactly, or fails with `EINVAL`
/// where the kernel cannot (and the process then remembers that) or under
/// Valgrind.
///
/// # Safety
/// `[start, start + len)` must be page-aligned, part of a fresh anonymous
/// mapping of the caller's, and unused.
#[cfg(unix)]
pub(super) unsafe fn install(start: *mut u8, len: usize, kind: GuardKind) -> Result<GuardKind> {
    debug_assert_eq!(start as usize % super::page_size(), 0);
    match kind {
        GuardKind::Madvise => {
            // Unsupported here, or under Valgrind (see `detect`).
            if SUPPORT.load(Ordering::Relaxed) == UNSUPPORTED || under_valgrind() {
                return Err(Error::GuardPage {
                    errno: libc::EINVAL,
                });
            }
            // The kernel may ask to restart the operation (EINTR, EAGAIN):
            // try a few times.
            let mut rc = 0;
            for _ in 0..8 {
                // SAFETY: our own fresh range, per the contract.
                rc = unsafe { libc::madvise(start.cast(), len, MADV_GUARD_INSTALL) };
                let e = crate::stack::last_errno();
                if rc == 0 || (e != libc::EINTR && e != libc::EAGAIN) {
                    break;
                }
            }
            if rc != 0 {
                let errno = crate::stack::last_errno();
                if errno == libc::EINVAL {
                    SUPPORT.store(UNSUPPORTED, Ordering::Relaxed);
                }
                return Err(super::limits::guard_failed(errno));
            }
            // Until the process knows the kernel does what it says, check
            // (qemu-user says yes and does nothing).
            let state = SUPPORT.load(Ordering::Relaxed);
            if state != SUPPORTED {
                // SAFETY: `start` is a page of our own mapping.
                if !unsafe { really_guarded(start) } {
                    SUPPORT.store(UNSUPPORTED, Ordering::Relaxed);
                    return Err(Error::GuardPage {
                        errno: libc::EINVAL,
                    });
                }
                // Remember a "yes" only if nothing was decided (a forced
                // `SWAPCTX_GUARD=mprotect` stays in force for `Stack::new`).
                let _ = SUPPORT.compare_exchange(
                    UNKNOWN,
                    SUPPORTED,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            Ok(GuardKind::Madvise)
        }
        GuardKind::Mprotect => {
            // SAFETY: our own fresh range, per the contract.
            if unsafe { libc::mprotect(start.cast(), len, libc::PROT_NONE) } != 0 {
                return Err(super::limits::guard_failed(crate::stack::last_errno()));
            }
            Ok(GuardKind::Mprotect)
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::Stack;

    #[test]
    fn both_kinds_of_guard_really_fault() {
        let mprotect = Stack::new_with(64 * 1024, GuardKind::Mprotect).unwrap();
        assert_eq!(mprotect.guard_kind(), GuardKind::Mprotect);
        let preferred = Stack::new(64 * 1024).unwrap();
        assert_eq!(preferred.guard_kind(), GuardKind::preferred());
        let in_place = Stack::new_with(64 * 1024, GuardKind::Madvise);
        match &in_place {
            Ok(s) => assert_eq!(s.guard_kind(), GuardKind::Madvise),
            // The kernel (or emulator) has none: then the preferred kind
            // must be the fallback.
            Err(e) => {
                assert_eq!(
                    *e,
                    Error::GuardPage {
                        errno: libc::EINVAL
                    }
                );
                assert_eq!(GuardKind::preferred(), GuardKind::Mprotect);
            }
        }
        if under_valgrind() {
            // Valgrind checks a system call's path argument by reading it
            // itself, and dies on the guard page: the probe below cannot run
            // there (tests/crashes.rs checks the faults, natively).
            return;
        }
        for stack in [Some(&mprotect), Some(&preferred), in_place.as_ref().ok()]
            .into_iter()
            .flatten()
        {
            let (guard, len) = stack.guard();
            assert_eq!(guard as usize + len, stack.bottom() as usize);
            // SAFETY: the first page of a live stack's guard, and the lowest
            // usable page; `access` only reads.
            unsafe {
                assert!(really_guarded(guard), "{stack:?}: the guard reads");
                assert!(
                    !really_guarded(stack.bottom()),
                    "{stack:?}: the stack faults"
                );
            }
        }
    }
}
