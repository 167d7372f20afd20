//! Stacks on Windows: `VirtualAlloc`'d, with a guard region laid out the
//! way Windows lays out a thread's stack, so that an overflow raises
//! `STATUS_STACK_OVERFLOW` with room left for the handler.
//!
//! ```text
//!   top()    ─►  +---------------------------+  high addresses: TEB StackBase
//!                |   usable stack: size()    |  committed, read/write
//!   bottom() ─►  +---------------------------+  TEB StackLimit
//!                |   guard page              |  PAGE_GUARD: the first touch
//!                +---------------------------+  raises the overflow
//!                |   the guarantee           |  reserved; committed by the OS
//!                |   (guard size - 2 pages)  |  when it raises the overflow:
//!                |                           |  room for the exception handler
//!                +---------------------------+
//!                |   one page                |  reserved, never committed
//!   mapping  ─►  +---------------------------+  TEB DeallocationStack
//! ```
//!
//! How Windows (and Wine, which does the same) handle a touch of a
//! `PAGE_GUARD` page on the running stack: the page loses its guard
//! attribute, and if it lies more than one page plus
//! `TEB.GuaranteedStackBytes` above `TEB.DeallocationStack` the stack
//! grows (the next page down becomes the guard page, `StackLimit` moves);
//! otherwise the OS commits the guaranteed bytes and raises
//! `STATUS_STACK_OVERFLOW`, whose exception frames then fit below. A
//! coroutine runs with its stack's TEB fields (the switch loads them):
//! `GuaranteedStackBytes` = the guard region minus one page, so the guard
//! page is already inside the guarantee and the first touch raises the
//! overflow, never a silent growth into the guard region. The vectored
//! handler in `src/overflow_windows.rs` turns it into swapctx's message.
//!
//! The usable part is committed at once (commit is a charge against the
//! system's commit limit, not memory: a page costs memory only once it is
//! touched), so `StackLimit` stays `bottom()` for the stack's life.
//!
//! Errors: `Error::Map` carries the Windows error code of `VirtualAlloc`
//! (`GetLastError`) in its `errno` field (its message is the system's
//! text for that code); `Error::GuardPage` that of the guard page's
//! commit. There is no mapping count limit (`MapCountLimit`) or
//! `RLIMIT_AS` (`AddressSpaceLimit`) on Windows.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::{registry, sizes, GuardKind, Stack};
use crate::arch::TebStack;
use crate::error::{Error, Result};

// The few kernel32 functions this needs, declared here rather than
// through a bindings crate.
const MEM_COMMIT: u32 = 0x1000;
const MEM_RESERVE: u32 = 0x2000;
const MEM_DECOMMIT: u32 = 0x4000;
const MEM_RELEASE: u32 = 0x8000;
const PAGE_READWRITE: u32 = 0x04;
const PAGE_GUARD: u32 = 0x100;

/// `SYSTEM_INFO`, of which only the page size is read.
#[repr(C)]
struct SystemInfo {
    processor_architecture: u16,
    reserved: u16,
    page_size: u32,
    minimum_application_address: *mut c_void,
    maximum_application_address: *mut c_void,
    active_processor_mask: usize,
    number_of_processors: u32,
    processor_type: u32,
    allocation_granularity: u32,
    processor_level: u16,
    processor_revision: u16,
}

const _: () = assert!(core::mem::size_of::<SystemInfo>() == 48);

#[link(name = "kernel32")]
extern "system" {
    fn VirtualAlloc(addr: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
    fn VirtualFree(addr: *mut c_void, size: usize, kind: u32) -> i32;
    fn GetSystemInfo(info: *mut SystemInfo);
}

/// The smallest guard region on Windows: the never-committed page, one
/// page of guarantee, and the guard page would leave the handler too
/// little room; 16 KiB leaves it 12 KiB.
const MIN_GUARD: usize = 16 * 1024;

impl Stack {
    /// Reserves and commits a stack with at least `size` usable bytes and
    /// a guard region of `guard_size` bytes (at least [`MIN_GUARD`])
    /// below. There is one kind of guard on Windows: `kind` must be
    /// [`GuardKind::Mprotect`] (a page the OS protects), or, with
    /// `fallback`, anything.
    pub(super) fn map(
        size: usize,
        guard_size: usize,
        kind: GuardKind,
        fallback: bool,
    ) -> Result<Stack> {
        if kind != GuardKind::Mprotect && !fallback {
            // As on a Linux kernel without MADV_GUARD_INSTALL.
            return Err(Error::GuardPage {
                errno: ERROR_NOT_SUPPORTED,
            });
        }
        let (usable, guard) = sizes(size, guard_size.max(MIN_GUARD))?;
        let page = page_size();
        let len = usable + guard;
        // SAFETY: a fresh reservation at an address of the system's
        // choosing; the result is checked. Its protection is what a page
        // gets when the system commits it (the guarantee, on an
        // overflow): read/write, as for a thread's stack. Reserved pages
        // fault whatever it says.
        let mapping = unsafe { VirtualAlloc(ptr::null_mut(), len, MEM_RESERVE, PAGE_READWRITE) };
        if mapping.is_null() {
            return Err(Error::Map {
                size: len,
                errno: last_error(),
            });
        }
        // Own the reservation first, so that any failure below releases it.
        let top = mapping.cast::<u8>().wrapping_add(len);
        let stack = Stack {
            top,
            reg: registry::register(mapping as usize, mapping as usize + guard, top as usize),
        };
        let data = stack.data();
        debug_assert!(!stack.is_pooled());
        data.set_tools(crate::tools::StackId::default());
        data.kind
            .store(GuardKind::Mprotect as u8, Ordering::Relaxed);
        let bottom = stack.bottom();
        // SAFETY: the usable part of our own reservation.
        let usable_ok = unsafe { VirtualAlloc(bottom.cast(), usable, MEM_COMMIT, PAGE_READWRITE) };
        if usable_ok.is_null() {
            return Err(Error::Map {
                size: len,
                errno: last_error(),
            });
        }
        // SAFETY: the page right below the usable part, in our reservation.
        let guard_ok = unsafe {
            VirtualAlloc(
                bottom.wrapping_sub(page).cast(),
                page,
                MEM_COMMIT,
                PAGE_READWRITE | PAGE_GUARD,
            )
        };
        if guard_ok.is_null() {
            return Err(Error::GuardPage {
                errno: last_error(),
            });
        }
        Ok(stack)
    }

    /// The TEB fields a coroutine on this stack runs with (see the module
    /// docs).
    pub(crate) fn teb(&self) -> TebStack {
        teb_of(self)
    }

    /// Releases the reservation and gives the record back.
    ///
    /// # Safety
    /// Only from `Drop`: the registration is moved out of `self`, which
    /// must not be used afterwards.
    #[inline(never)]
    pub(super) unsafe fn unmap(&mut self) {
        let mapping = self.mapping();
        // SAFETY: per the contract, `self.reg` is not used again.
        registry::unregister(unsafe { ptr::read(&self.reg) });
        // SAFETY: we own this reservation; nothing runs on a stack that is
        // being dropped. A failure leaves the address space reserved:
        // nothing else can be done in a destructor.
        unsafe { VirtualFree(mapping.cast(), 0, MEM_RELEASE) };
    }
}

/// `ERROR_NOT_SUPPORTED`: the in-place guard kind asked for on Windows.
const ERROR_NOT_SUPPORTED: i32 = 50;

/// Gives the pages of `[bottom, bottom + size)` back to the system: they
/// read as zeroes again and cost no memory until touched (decommitted and
/// committed again).
///
/// # Safety
/// The range must be the usable part of a stack we own, on which nothing
/// runs.
pub(super) unsafe fn release_usable(bottom: *mut u8, size: usize) {
    // SAFETY: per the contract. If the commit fails the pages stay
    // decommitted and a touch faults in the stack's own range, which the
    // overflow handler does not claim (it is not the guard region).
    unsafe {
        VirtualFree(bottom.cast(), size, MEM_DECOMMIT);
        VirtualAlloc(bottom.cast(), size, MEM_COMMIT, PAGE_READWRITE);
    }
}

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The page size, read once.
#[inline]
pub(crate) fn page_size() -> usize {
    let p = PAGE_SIZE.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    let mut info = core::mem::MaybeUninit::<SystemInfo>::zeroed();
    // SAFETY: GetSystemInfo fills the struct we pass.
    let p = unsafe {
        GetSystemInfo(info.as_mut_ptr());
        info.assume_init().page_size as usize
    };
    let p = if p.is_power_of_two() { p } else { 4096 };
    PAGE_SIZE.store(p, Ordering::Relaxed);
    p
}

/// The calling thread's last Windows error code.
pub(super) fn last_error() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The TEB fields a coroutine on `stack` runs with: its bounds, and its
/// guard region (the reservation's start, and the guard minus the page
/// that `PAGE_GUARD` turns into the overflow exception), or none for
/// memory without one (the embedder's).
pub(crate) fn teb_of<S: crate::StackMemory>(stack: &S) -> TebStack {
    let (deallocation, guarantee) = match stack.guard_region() {
        Some((lo, len)) => (lo as usize, len.saturating_sub(page_size())),
        None => (stack.bottom() as usize, 0),
    };
    TebStack {
        base: stack.top() as usize,
        limit: stack.bottom() as usize,
        deallocation,
        guarantee,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_region_is_laid_out_as_drawn() {
        let stack = Stack::new(64 * 1024).unwrap();
        let (lo, len) = stack.guard();
        const _: () = assert!(Stack::DEFAULT_GUARD_SIZE >= MIN_GUARD);
        assert!(len >= Stack::DEFAULT_GUARD_SIZE);
        let teb = stack.teb();
        assert_eq!(teb.base, stack.top() as usize);
        assert_eq!(teb.limit, stack.bottom() as usize);
        assert_eq!(teb.deallocation, lo as usize);
        // The guard page lies inside the guarantee: the first touch is an
        // overflow, never a growth.
        let guard_page = stack.bottom() as usize - page_size();
        assert!(guard_page < teb.deallocation + page_size() + teb.guarantee);
        // The usable part is committed and zeroed.
        // SAFETY: the stack's own usable bytes.
        unsafe {
            assert_eq!(stack.bottom().read(), 0);
            stack.top().sub(1).write(7);
        }
    }

    #[test]
    fn released_pages_read_as_zeroes() {
        let stack = Stack::new(64 * 1024).unwrap();
        // SAFETY: the usable part of our stack, on which nothing runs.
        unsafe {
            stack.bottom().write(1);
            release_usable(stack.bottom(), stack.size());
            assert_eq!(stack.bottom().read(), 0);
        }
    }

    #[test]
    fn the_in_place_guard_is_refused_with_a_reason() {
        let e = Stack::new_with(64 * 1024, GuardKind::Madvise).unwrap_err();
        assert_eq!(
            e,
            Error::GuardPage {
                errno: ERROR_NOT_SUPPORTED
            }
        );
    }
}
