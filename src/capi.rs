//! The C API: what `include/swapctx.h` declares, for programs in C (or
//! anything with a C FFI) that want stackful contexts without a runtime.
//!
//! The header is the documentation C users read; this file says the same
//! things for Rust readers. The compilers hold the two together
//! (`header_check.rs`, unit tests): rustc checks a table of every function's
//! Rust type against the functions here, and GCC compiles the header with
//! the table's C rendering, so a declaration that differs does not
//! compile; `enum swapctx_status` is generated from [`Status`] (values,
//! [`Status::name`], and [`Status::description`] as each comment). The
//! descriptions of [`Error`]'s codes are the error's own texts, written
//! once in `src/error.rs`.
//!
//! Rules for everything here:
//! - errors are return codes ([`Status`]), never panics: a panic in the
//!   crate is caught at the boundary and becomes `SWAPCTX_ERR_PANIC`;
//! - pointers are checked for NULL where the header says so; everything
//!   else the header states as a precondition is the caller's to keep.

#[cfg(feature = "std")]
use core::ffi::c_void;
use core::ffi::{c_char, c_int, CStr};
#[cfg(feature = "std")]
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::text;
#[cfg(feature = "std")]
use crate::raw::{self, Context};
use crate::Error;
#[cfg(feature = "std")]
use crate::{Stack, StackPool};

mod coro;
#[cfg(all(test, feature = "std"))]
mod header_check;

/// The return codes, `enum swapctx_status` in the header. The first four
/// after `Ok`, and `MapCountLimit` and `AddressSpaceLimit` (added later,
/// at the end), are the variants of [`Error`], in order; the rest are
/// errors only the C boundary can have.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `SWAPCTX_OK`: success.
    Ok = 0,
    /// `SWAPCTX_ERR_ZERO_STACK_SIZE`: [`Error::ZeroStackSize`].
    ZeroStackSize = 1,
    /// `SWAPCTX_ERR_STACK_SIZE_OVERFLOW`: [`Error::StackSizeOverflow`].
    StackSizeOverflow = 2,
    /// `SWAPCTX_ERR_MAP`: [`Error::Map`].
    Map = 3,
    /// `SWAPCTX_ERR_GUARD_PAGE`: [`Error::GuardPage`].
    GuardPage = 4,
    /// `SWAPCTX_ERR_NULL`: a pointer argument that must not be NULL was.
    Null = 5,
    /// `SWAPCTX_ERR_BAD_CONTEXT`: the context to switch to is empty (never
    /// made, or already resumed) or its stack pointer is misaligned.
    BadContext = 6,
    /// `SWAPCTX_ERR_PANIC`: a bug in swapctx panicked; the panic was
    /// caught at the boundary instead of unwinding into C.
    Panic = 7,
    /// `SWAPCTX_ERR_MAP_COUNT_LIMIT`: [`Error::MapCountLimit`].
    MapCountLimit = 8,
    /// `SWAPCTX_ERR_ADDRESS_SPACE_LIMIT`: [`Error::AddressSpaceLimit`].
    AddressSpaceLimit = 9,
    /// `SWAPCTX_ERR_STACK_TOO_SMALL`: [`Error::StackTooSmall`].
    StackTooSmall = 10,
    /// `SWAPCTX_ERR_STACK_MISALIGNED`: [`Error::StackMisaligned`].
    StackMisaligned = 11,
    /// `SWAPCTX_ERR_CORO_DONE`: resume of a coroutine whose function has
    /// returned.
    CoroDone = 12,
    /// `SWAPCTX_ERR_CORO_RUNNING`: resume or destroy of a running
    /// coroutine.
    CoroRunning = 13,
    /// `SWAPCTX_ERR_CORO_NOT_RUNNING`: yield for a coroutine that is not
    /// running, or not from its own stack.
    CoroNotRunning = 14,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 15] = [
        Status::Ok,
        Status::ZeroStackSize,
        Status::StackSizeOverflow,
        Status::Map,
        Status::GuardPage,
        Status::Null,
        Status::BadContext,
        Status::Panic,
        Status::MapCountLimit,
        Status::AddressSpaceLimit,
        Status::StackTooSmall,
        Status::StackMisaligned,
        Status::CoroDone,
        Status::CoroRunning,
        Status::CoroNotRunning,
    ];

    /// The status for a code, if it is one.
    pub fn from_code(code: c_int) -> Option<Status> {
        Status::ALL.into_iter().find(|s| *s as c_int == code)
    }

    /// The constant's name in the header (`SWAPCTX_ERR_MAP`).
    pub fn name(self) -> &'static CStr {
        match self {
            Status::Ok => c"SWAPCTX_OK",
            Status::ZeroStackSize => c"SWAPCTX_ERR_ZERO_STACK_SIZE",
            Status::StackSizeOverflow => c"SWAPCTX_ERR_STACK_SIZE_OVERFLOW",
            Status::Map => c"SWAPCTX_ERR_MAP",
            Status::GuardPage => c"SWAPCTX_ERR_GUARD_PAGE",
            Status::Null => c"SWAPCTX_ERR_NULL",
            Status::BadContext => c"SWAPCTX_ERR_BAD_CONTEXT",
            Status::Panic => c"SWAPCTX_ERR_PANIC",
            Status::MapCountLimit => c"SWAPCTX_ERR_MAP_COUNT_LIMIT",
            Status::AddressSpaceLimit => c"SWAPCTX_ERR_ADDRESS_SPACE_LIMIT",
            Status::StackTooSmall => c"SWAPCTX_ERR_STACK_TOO_SMALL",
            Status::StackMisaligned => c"SWAPCTX_ERR_STACK_MISALIGNED",
            Status::CoroDone => c"SWAPCTX_ERR_CORO_DONE",
            Status::CoroRunning => c"SWAPCTX_ERR_CORO_RUNNING",
            Status::CoroNotRunning => c"SWAPCTX_ERR_CORO_NOT_RUNNING",
        }
    }

    /// What the code means, for people: what went wrong, why, and what to
    /// do. For the codes of [`Error`]'s variants, the variant's own text
    /// (`crate::error::text`, also the start of its Rust message); the
    /// others are written here. `include/swapctx.h` repeats each as the
    /// comment of its constant, in the enum generated from this one
    /// (`header_check.rs`).
    pub fn description(self) -> &'static CStr {
        match self {
            Status::Ok => c"success",
            Status::ZeroStackSize => text::ZERO_STACK_SIZE,
            Status::StackSizeOverflow => text::STACK_SIZE_OVERFLOW,
            Status::Map => text::MAP,
            Status::GuardPage => text::GUARD_PAGE,
            Status::Null => c"a pointer argument that must not be NULL was NULL",
            Status::BadContext => {
                c"the context to switch to is empty (never made, or already resumed) or \
                  not a suspended context; nothing was switched"
            }
            Status::Panic => {
                c"internal error: swapctx panicked (a bug; please report it); the panic was \
                  stopped at the boundary"
            }
            Status::MapCountLimit => text::MAP_COUNT_LIMIT,
            Status::AddressSpaceLimit => text::ADDRESS_SPACE_LIMIT,
            Status::StackTooSmall => text::STACK_TOO_SMALL,
            Status::StackMisaligned => text::STACK_MISALIGNED,
            Status::CoroDone => {
                c"the coroutine is done (its function returned); it cannot be resumed, only \
                  destroyed"
            }
            Status::CoroRunning => {
                c"the coroutine is running (it is the caller, or resumed the caller); it \
                  cannot be resumed or destroyed until it yields"
            }
            Status::CoroNotRunning => {
                c"swapctx_coro_yield must be called by the coroutine itself, on its own \
                  stack, while it runs; nothing was switched"
            }
        }
    }
}

impl From<Error> for Status {
    /// No wildcard: a new [`Error`] variant does not compile until it has
    /// a code here and in the header.
    fn from(e: Error) -> Status {
        match e {
            Error::ZeroStackSize => Status::ZeroStackSize,
            Error::StackSizeOverflow { .. } => Status::StackSizeOverflow,
            Error::Map { .. } => Status::Map,
            Error::GuardPage { .. } => Status::GuardPage,
            Error::MapCountLimit { .. } => Status::MapCountLimit,
            Error::AddressSpaceLimit { .. } => Status::AddressSpaceLimit,
            Error::StackTooSmall { .. } => Status::StackTooSmall,
            Error::StackMisaligned { .. } => Status::StackMisaligned,
        }
    }
}

/// `swapctx_entry_fn`: a C entry function. The header types it as
/// returning `void` (C has no never-returning function pointer type); it
/// must not return, exactly like [`raw::EntryFn`].
#[cfg(feature = "std")]
pub type CEntryFn = unsafe extern "C" fn(value: usize, data: *mut c_void);

/// Runs `f`, turning a panic into [`Status::Panic`].
#[cfg(feature = "std")]
fn guarded(f: impl FnOnce() -> Status) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(status) => status as c_int,
        Err(payload) => {
            // Dropping a payload runs foreign code that could panic again;
            // leaking it is the safe choice at the boundary.
            std::mem::forget(payload);
            Status::Panic as c_int
        }
    }
}

#[cfg(feature = "std")]
/// `int swapctx_stack_new(size_t size, swapctx_stack **stack_out);`
///
/// Maps a stack with at least `size` usable bytes and a guard page below
/// them (see [`Stack::new`]), and stores it in `*stack_out`. On error
/// `*stack_out` is set to NULL.
///
/// # Safety
/// `stack_out` must be NULL (then `SWAPCTX_ERR_NULL` is returned) or valid
/// for a pointer-sized write.
#[no_mangle]
pub unsafe extern "C" fn swapctx_stack_new(size: usize, stack_out: *mut *mut Stack) -> c_int {
    if stack_out.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: checked non-null above; the caller guarantees it is writable.
    unsafe { stack_out.write(core::ptr::null_mut()) };
    guarded(|| match Stack::new(size) {
        Ok(stack) => {
            // SAFETY: as above.
            unsafe { stack_out.write(Box::into_raw(Box::new(stack))) };
            Status::Ok
        }
        Err(e) => Status::from(e),
    })
}

#[cfg(feature = "std")]
/// `void swapctx_stack_free(swapctx_stack *stack);`
///
/// Unmaps a stack made by [`swapctx_stack_new`]. NULL is ignored.
///
/// # Safety
/// `stack` must be NULL or a stack from `swapctx_stack_new` that was not
/// freed yet; no context made on it may run again (a context suspended on
/// it is simply abandoned: nothing on its stack is cleaned up).
#[no_mangle]
pub unsafe extern "C" fn swapctx_stack_free(stack: *mut Stack) {
    if stack.is_null() {
        return;
    }
    // A failure here (a bug) cannot be reported: the stack is gone either way.
    let _ = guarded(|| {
        // SAFETY: the caller passes a stack from swapctx_stack_new, which
        // came from Box::into_raw and has not been freed.
        drop(unsafe { Box::from_raw(stack) });
        Status::Ok
    });
}

#[cfg(feature = "std")]
/// `size_t swapctx_stack_size(const swapctx_stack *stack);`
///
/// The usable bytes of a stack (the size asked for, rounded up to whole
/// pages and at least the minimum); 0 for NULL.
///
/// # Safety
/// `stack` must be NULL or a live stack from `swapctx_stack_new`.
#[no_mangle]
pub unsafe extern "C" fn swapctx_stack_size(stack: *const Stack) -> usize {
    // SAFETY: the caller passes NULL or a live stack.
    match unsafe { stack.as_ref() } {
        Some(stack) => stack.size(),
        None => 0,
    }
}

#[cfg(feature = "std")]
/// `int swapctx_context_new(swapctx_stack *stack, swapctx_entry_fn entry,
/// void *data, swapctx_context *context_out);`
///
/// Makes a fresh context on `stack` (see [`Context::new`]): the first
/// switch into it calls `entry(value, data)` on that stack.
///
/// # Safety
/// - `stack` must be NULL or a live stack from `swapctx_stack_new` that no
///   other context is using; it must outlive every switch into the context.
/// - `context_out` must be NULL or valid for a write.
/// - `entry` must never return (it ends by switching away for the last
///   time; if it does return, the process aborts with a message).
#[no_mangle]
pub unsafe extern "C" fn swapctx_context_new(
    stack: *mut Stack,
    entry: Option<CEntryFn>,
    data: *mut c_void,
    context_out: *mut Context,
) -> c_int {
    // SAFETY: the caller passes NULL or a live stack.
    let (Some(stack), Some(entry), false) =
        (unsafe { stack.as_ref() }, entry, context_out.is_null())
    else {
        return Status::Null as c_int;
    };
    // SAFETY: the two function pointer types differ only in the return
    // type, `()` against `!`, which have the same C ABI (no value in a
    // register). The entry is only ever called by the trampoline, which
    // handles a return by aborting with a message.
    let entry: raw::EntryFn = unsafe { core::mem::transmute::<CEntryFn, raw::EntryFn>(entry) };
    // SAFETY: a Stack is at least Stack::MIN_SIZE bytes of writable memory
    // below top(), far more than Context::INITIAL_FRAME_SIZE; the caller
    // keeps it alive and unshared while the context can run.
    let context = unsafe { Context::new(stack.top(), entry, data) };
    // SAFETY: checked non-null above; the caller guarantees it is writable.
    unsafe { context_out.write(context) };
    Status::Ok as c_int
}

#[cfg(feature = "std")]
/// `int swapctx_context_switch(swapctx_context *save, swapctx_context *to,
/// uintptr_t value, uintptr_t *received);`
///
/// Takes the context out of `*to` (leaving it empty), saves the running
/// context into `*save` and resumes the one taken, handing it `value`
/// (see [`raw::switch`]). Returns `SWAPCTX_OK` when some context switches
/// back into `*save`, with the value that one passed in `*received`.
///
/// # Safety
/// - `save` must be NULL or valid for writes, and stay where it is until
///   something switches back into it.
/// - `to` must be NULL or point at an empty context or a suspended one
///   (made by `swapctx_context_new` or filled by a switch) whose stack is
///   alive, belonging to this thread.
/// - `received` must be NULL (the value is then dropped) or valid for a
///   write when the switch comes back.
#[no_mangle]
pub unsafe extern "C" fn swapctx_context_switch(
    save: *mut Context,
    to: *mut Context,
    value: usize,
    received: *mut usize,
) -> c_int {
    if save.is_null() || to.is_null() {
        return Status::Null as c_int;
    }
    // A thread made with pthread_create has no alternate signal stack, and
    // without one an overflow of the context's stack could not be reported.
    crate::thread::prepare();
    // SAFETY: checked non-null; the caller guarantees a valid context.
    let sp = unsafe { (*to).stack_pointer() };
    if sp.is_null() || sp as usize % crate::arch::SAVED_SP_ALIGN != 0 {
        return Status::BadContext as c_int;
    }
    // SAFETY: `*to` is a suspended context (the caller's promise, and
    // non-empty and aligned as checked); taking it leaves the slot empty.
    // `*save` is writable and stays put until something switches back.
    let got = unsafe {
        let to = core::mem::take(&mut *to);
        raw::switch(&mut *save, to, value)
    };
    if !received.is_null() {
        // SAFETY: the caller guarantees it is writable now.
        unsafe { received.write(got) };
    }
    Status::Ok as c_int
}

/// `int swapctx_pool_new(size_t stack_size, size_t max_idle, swapctx_pool
/// **pool_out);`
///
/// Makes a pool of stacks of at least `stack_size` usable bytes that keeps
/// up to `max_idle` idle stacks (see [`StackPool::new`]), for
/// `swapctx_coro_new_from_pool`. On error `*pool_out` is set to NULL.
///
/// # Safety
/// `pool_out` must be NULL or valid for a pointer-sized write.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn swapctx_pool_new(
    stack_size: usize,
    max_idle: usize,
    pool_out: *mut *mut StackPool,
) -> c_int {
    if pool_out.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: checked non-null above; the caller guarantees it is writable.
    unsafe { pool_out.write(core::ptr::null_mut()) };
    guarded(|| match StackPool::new(stack_size, max_idle) {
        Ok(pool) => {
            // SAFETY: as above.
            unsafe { pool_out.write(Box::into_raw(Box::new(pool))) };
            Status::Ok
        }
        Err(e) => Status::from(e),
    })
}

/// `void swapctx_pool_free(swapctx_pool *pool);`
///
/// Frees a pool and its idle stacks. NULL is ignored. Stacks still used by
/// coroutines are unmapped when those are destroyed.
///
/// # Safety
/// `pool` must be NULL or a pool from `swapctx_pool_new`, on the thread
/// that made it, not freed yet.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn swapctx_pool_free(pool: *mut StackPool) {
    if pool.is_null() {
        return;
    }
    let _ = guarded(|| {
        // SAFETY: from Box::into_raw in swapctx_pool_new, not freed yet.
        drop(unsafe { Box::from_raw(pool) });
        Status::Ok
    });
}

/// `const char *swapctx_strerror(int code);`
///
/// What a return code means, as a static NUL-terminated string; unknown
/// codes get a string saying so. Never NULL.
#[no_mangle]
pub extern "C" fn swapctx_strerror(code: c_int) -> *const c_char {
    match Status::from_code(code) {
        Some(status) => status.description().as_ptr(),
        None => c"unknown swapctx status code".as_ptr(),
    }
}

/// `const char *swapctx_error_name(int code);`
///
/// The name of a return code's constant (`"SWAPCTX_ERR_MAP"`), as a static
/// NUL-terminated string; NULL for a code that is not one.
#[no_mangle]
pub extern "C" fn swapctx_error_name(code: c_int) -> *const c_char {
    match Status::from_code(code) {
        Some(status) => status.name().as_ptr(),
        None => core::ptr::null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_in_order_and_round_trip() {
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(*s as c_int, i as c_int);
            assert_eq!(Status::from_code(i as c_int), Some(*s));
        }
        assert_eq!(Status::from_code(Status::ALL.len() as c_int), None);
        assert_eq!(Status::from_code(-1), None);
    }

    #[test]
    fn every_error_variant_has_its_own_code() {
        let errors = [
            Error::ZeroStackSize,
            Error::StackSizeOverflow { requested: 1 },
            Error::Map { size: 1, errno: 12 },
            Error::GuardPage { errno: 12 },
            Error::MapCountLimit { limit: 65530 },
            Error::AddressSpaceLimit { size: 1, limit: 1 },
        ];
        let codes: Vec<Status> = errors.iter().map(|e| Status::from(*e)).collect();
        assert_eq!(codes[..4], Status::ALL[1..5]);
        assert_eq!(codes[4..], Status::ALL[8..10]);
        let embedder = [
            Error::StackTooSmall { size: 1, min: 1024 },
            Error::StackMisaligned {
                address: 1,
                size: 1024,
            },
        ];
        let codes: Vec<Status> = embedder.iter().map(|e| Status::from(*e)).collect();
        assert_eq!(codes, Status::ALL[10..12]);
    }

    #[test]
    fn names_and_descriptions_are_static_c_strings() {
        for s in Status::ALL {
            // SAFETY: both functions return static NUL-terminated strings
            // for every known code.
            let (name, desc) = unsafe {
                (
                    CStr::from_ptr(swapctx_error_name(s as c_int)),
                    CStr::from_ptr(swapctx_strerror(s as c_int)),
                )
            };
            assert_eq!(name, s.name());
            assert!(name.to_str().unwrap().starts_with("SWAPCTX_"));
            assert!(!desc.to_bytes().is_empty());
        }
        assert!(swapctx_error_name(99).is_null());
        // SAFETY: as above, for the unknown-code string.
        let unknown = unsafe { CStr::from_ptr(swapctx_strerror(99)) };
        assert!(unknown.to_str().unwrap().contains("unknown"));
    }

    #[test]
    fn bad_arguments_get_codes_not_crashes() {
        let mut ctx = Context::empty();
        let mut other = Context::empty();
        // SAFETY: every call passes NULL or valid pointers; the switch to
        // an empty context is refused before anything is switched.
        unsafe {
            assert_eq!(
                swapctx_stack_new(4096, core::ptr::null_mut()),
                Status::Null as c_int
            );
            let mut stack = core::ptr::null_mut();
            assert_eq!(
                swapctx_stack_new(0, &mut stack),
                Status::ZeroStackSize as c_int
            );
            assert!(stack.is_null());
            assert_eq!(
                swapctx_stack_new(usize::MAX, &mut stack),
                Status::StackSizeOverflow as c_int
            );
            assert_eq!(
                swapctx_context_new(core::ptr::null_mut(), None, core::ptr::null_mut(), &mut ctx),
                Status::Null as c_int
            );
            assert_eq!(
                swapctx_context_switch(&mut ctx, &mut other, 1, core::ptr::null_mut()),
                Status::BadContext as c_int
            );
            assert_eq!(
                swapctx_context_switch(core::ptr::null_mut(), &mut other, 1, core::ptr::null_mut()),
                Status::Null as c_int
            );
            assert_eq!(swapctx_stack_size(core::ptr::null()), 0);
            swapctx_stack_free(core::ptr::null_mut());
        }
    }

    static mut MAIN: Context = Context::empty();
    static mut ECHO: Context = Context::empty();

    unsafe extern "C" fn echo(mut value: usize, _data: *mut c_void) {
        loop {
            // SAFETY: MAIN holds the suspended test thread; ECHO is ours.
            unsafe {
                swapctx_context_switch(
                    core::ptr::addr_of_mut!(ECHO),
                    core::ptr::addr_of_mut!(MAIN),
                    value * 2,
                    &mut value,
                );
            }
        }
    }

    #[test]
    fn a_c_entry_doubles_what_it_is_sent() {
        // SAFETY: the stack outlives every switch into ECHO; only this test
        // touches the statics.
        unsafe {
            let mut stack = core::ptr::null_mut();
            assert_eq!(swapctx_stack_new(64 * 1024, &mut stack), 0);
            assert_eq!(swapctx_stack_size(stack), 64 * 1024);
            let ctx = core::ptr::addr_of_mut!(ECHO);
            assert_eq!(
                swapctx_context_new(stack, Some(echo), core::ptr::null_mut(), ctx),
                0
            );
            for i in 1..=5usize {
                let mut got = 0;
                let rc = swapctx_context_switch(core::ptr::addr_of_mut!(MAIN), ctx, i, &mut got);
                assert_eq!(rc, 0);
                assert_eq!(got, 2 * i);
            }
            swapctx_stack_free(stack);
        }
    }
}
