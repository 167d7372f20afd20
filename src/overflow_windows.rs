//! Windows: turns a stack overflow on one of our stacks into a clear
//! message and an abort, as `src/overflow.rs` does with a signal handler
//! on Unix.
//!
//! A vectored exception handler, installed once (when the first guard
//! region is registered) and first in line, sees every exception of the
//! process before any frame-based handler. It claims:
//!
//! - `STATUS_STACK_OVERFLOW`, `STATUS_GUARD_PAGE_VIOLATION` or
//!   `STATUS_ACCESS_VIOLATION` whose faulting address (the exception
//!   record's second parameter) is in a registered guard region;
//! - any of the three whose stack pointer (the exception's context) is in
//!   a guard region, or `STATUS_STACK_OVERFLOW` with the stack pointer
//!   less than [`ABOVE`] bytes above one (the system raises it with no
//!   address when the guarantee is reached);
//!
//! prints
//!
//! ```text
//! swapctx: a coroutine has overflowed its stack: fault at 0x... in the guard pages 0x...0x... below the stack 0x...0x... (262144 bytes); make the stack bigger (Stack::new, Coroutine::with_stack)
//! ```
//!
//! and aborts. Everything else goes on to the next handler
//! (`EXCEPTION_CONTINUE_SEARCH`): Rust's own overflow report for threads,
//! the frame-based handlers, a debugger.
//!
//! The handler runs on the faulting stack. The room it needs is what
//! Windows keeps for a thread's overflow handler, `GuaranteedStackBytes`
//! (`SetThreadStackGuarantee`): each coroutine runs with its stack's own
//! guarantee, the guard region less one page, which the system commits
//! when it raises the overflow (src/stack/windows.rs); the handler itself
//! uses well under a KiB (a fixed buffer, one `WriteFile`).

use core::ffi::c_void;
use core::ptr;
use std::sync::Once;

use crate::overflow_message::{write_message, MessageBuf as Buf, Overflow};
use crate::stack::page_size;
use crate::stack::registry::{find, GuardRange};

/// How far above a guard region the stack pointer may be for a
/// `STATUS_STACK_OVERFLOW` without an address to count as ours: the system
/// raises it when a probe or a push touches the guard page, with the stack
/// pointer at most a frame above it (probed frames move it only after the
/// probe).
const ABOVE: usize = 64 * 1024;

const STATUS_GUARD_PAGE_VIOLATION: u32 = 0x8000_0001;
const STATUS_ACCESS_VIOLATION: u32 = 0xC000_0005;
const STATUS_STACK_OVERFLOW: u32 = 0xC000_00FD;
/// What a vectored handler returns to pass an exception on.
const EXCEPTION_CONTINUE_SEARCH: i32 = 0;
/// `STD_ERROR_HANDLE`: (DWORD)-12.
const STD_ERROR_HANDLE: u32 = -12i32 as u32;

/// `EXCEPTION_RECORD` (x64).
#[repr(C)]
struct ExceptionRecord {
    code: u32,
    flags: u32,
    record: *mut ExceptionRecord,
    address: *mut c_void,
    number_parameters: u32,
    information: [usize; 15],
}

/// `EXCEPTION_POINTERS`.
#[repr(C)]
struct ExceptionPointers {
    record: *mut ExceptionRecord,
    context: *mut u8,
}

/// Offset of `Rsp` in the x64 `CONTEXT` (after the six home words,
/// the flags, MXCSR, the six segment selectors, EFlags, Dr0-Dr7 and
/// Rax, Rcx, Rdx, Rbx); checked against `RtlCaptureContext` by a test.
const CONTEXT_RSP: usize = 0x98;
/// Size of the x64 `CONTEXT`.
#[cfg(test)]
const CONTEXT_SIZE: usize = 1232;

const _: () = assert!(core::mem::offset_of!(ExceptionRecord, information) == 32);
const _: () = assert!(core::mem::size_of::<ExceptionRecord>() == 152);

type VectoredHandler = unsafe extern "system" fn(*mut ExceptionPointers) -> i32;

#[link(name = "kernel32")]
extern "system" {
    fn AddVectoredExceptionHandler(first: u32, handler: VectoredHandler) -> *mut c_void;
    fn GetStdHandle(which: u32) -> *mut c_void;
    fn WriteFile(
        file: *mut c_void,
        buf: *const u8,
        len: u32,
        written: *mut u32,
        overlapped: *mut c_void,
    ) -> i32;
    #[cfg(test)]
    fn RtlCaptureContext(context: *mut u8);
}

static INSTALL: Once = Once::new();

/// Installs the handler, first in line, once per process.
pub(crate) fn install_handler() {
    INSTALL.call_once(|| {
        // SAFETY: registers a function that lives as long as the program.
        let h = unsafe { AddVectoredExceptionHandler(1, handler) };
        if h.is_null() {
            crate::fatal(format_args!(
                "swapctx: cannot install the stack overflow handler \
                 (AddVectoredExceptionHandler failed)"
            ));
        }
    });
}

/// Unix keeps an alternate signal stack per thread; a Windows handler runs
/// on the faulting stack, in the room its guarantee keeps: nothing to do.
pub(crate) fn prepare_thread() {}

/// Decides whether an exception is one of our stacks overflowing.
fn classify(code: u32, addr: Option<usize>, sp: usize) -> Option<(Overflow, GuardRange)> {
    if !matches!(
        code,
        STATUS_STACK_OVERFLOW | STATUS_GUARD_PAGE_VIOLATION | STATUS_ACCESS_VIOLATION
    ) {
        return None;
    }
    if let Some(addr) = addr {
        if let Some(g) = find(addr, 0, 0) {
            return Some((Overflow::Fault { addr }, g));
        }
    }
    // A thread's own overflow: sp is in no registered stack, and the
    // lookup is one walk of a bucket chain or two.
    let above = if code == STATUS_STACK_OVERFLOW {
        ABOVE
    } else {
        0
    };
    let g = find(sp, 0, above)?;
    Some((Overflow::StackPointer { addr: None, sp }, g))
}

/// The message for an overflow of the stack guarded by `g` (the one text
/// of `src/overflow_message.rs`).
fn overflow_message(buf: &mut Buf, what: Overflow, g: GuardRange) {
    write_message(buf, what, g.guard_lo, g.guard_hi, g.stack_hi, page_size());
}

/// The vectored exception handler.
///
/// # Safety
/// Called by the system only, with the pointers of an exception.
unsafe extern "system" fn handler(info: *mut ExceptionPointers) -> i32 {
    // SAFETY: the system passes valid exception pointers to a vectored
    // handler; the record and the context live while it runs.
    let (code, addr, sp) = unsafe {
        let rec = &*(*info).record;
        let addr = (rec.number_parameters >= 2).then_some(rec.information[1]);
        let sp = (*info)
            .context
            .add(CONTEXT_RSP)
            .cast::<usize>()
            .read_unaligned();
        (rec.code, addr, sp)
    };
    // Kept small: a thread's overflow passes through here on the little
    // stack its guarantee left, on its way to Rust's own report.
    match classify(code, addr, sp) {
        Some((what, g)) => report(what, g),
        None => EXCEPTION_CONTINUE_SEARCH,
    }
}

/// Prints the message and aborts (the buffer lives here, off the path of
/// the exceptions that are not ours).
#[cold]
#[inline(never)]
fn report(what: Overflow, g: GuardRange) -> ! {
    let mut buf = Buf::new();
    overflow_message(&mut buf, what, g);
    let mut written = 0u32;
    // SAFETY: writes our live buffer to the standard error handle.
    unsafe {
        WriteFile(
            GetStdHandle(STD_ERROR_HANDLE),
            buf.as_bytes().as_ptr(),
            buf.as_bytes().len() as u32,
            &mut written,
            ptr::null_mut(),
        );
    }
    std::process::abort()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_offset_of_rsp_is_right() {
        #[repr(C, align(16))]
        struct Context([u8; CONTEXT_SIZE]);
        let mut ctx = Context([0; CONTEXT_SIZE]);
        let sp = crate::raw::current_stack_pointer();
        // SAFETY: RtlCaptureContext fills a 16-byte aligned CONTEXT.
        unsafe { RtlCaptureContext(ctx.0.as_mut_ptr()) };
        let rsp = usize::from_ne_bytes(ctx.0[CONTEXT_RSP..CONTEXT_RSP + 8].try_into().unwrap());
        assert!(
            rsp <= sp + 64 && rsp + 4096 > sp,
            "CONTEXT.Rsp {rsp:#x}, the stack pointer {sp:#x}"
        );
    }

    #[test]
    fn faults_in_a_guard_are_ours_and_others_are_not() {
        let stack = crate::Stack::new(64 * 1024).unwrap();
        let (lo, len) = stack.guard();
        let lo = lo as usize;
        let top = stack.top() as usize;
        let inside = lo + len - 8;
        assert_eq!(
            classify(STATUS_GUARD_PAGE_VIOLATION, Some(inside), top - 64).map(|c| c.0),
            Some(Overflow::Fault { addr: inside })
        );
        assert_eq!(
            classify(STATUS_STACK_OVERFLOW, None, lo + len + 128).map(|c| c.0),
            Some(Overflow::StackPointer {
                addr: None,
                sp: lo + len + 128
            })
        );
        // An access violation elsewhere, or another exception, is not ours.
        assert_eq!(classify(STATUS_ACCESS_VIOLATION, Some(16), top - 64), None);
        assert_eq!(classify(0xC000_0094, Some(inside), inside), None);
    }
}
