//! The C coroutine API: `swapctx_coro_*` in `include/swapctx.h`.
//! Asymmetric, like the Rust [`Coroutine`](crate::Coroutine): `resume`
//! runs a coroutine until it yields or returns, `yield` goes back to
//! whoever resumed it, and a `void *` travels each way.
//!
//! Where everything lives: a coroutine's control block ([`Coro`], what C
//! calls `swapctx_coro *`) sits at the top of its own stack, and the
//! coroutine's slots and first frame right below it. Nothing is allocated:
//! on the caller's memory (`swapctx_coro_new`) this works without `std`,
//! which is how the static library in `capi/` builds.
//!
//! ```text
//!   top ─►  +--------------------------+
//!           | Coro (the control block) |  <- swapctx_coro *
//!           +--------------------------+
//!           | closure: fn, Coro pointer|
//!           | slots, frames ...        |  grow down
//!           +--------------------------+
//!           | canary (caller's memory) |
//!   bottom  +--------------------------+
//! ```
//!
//! Destroying a suspended coroutine leaves its frames where they are: C
//! frames have nothing to clean up (as after `longjmp`), and the Rust
//! frames under them (the entry) hold only `Copy` data. So the memory is
//! the caller's again at once, and a pooled stack goes back to its pool.

use core::ffi::{c_int, c_void};
use core::ptr;

use super::Status;
use crate::coroutine::{CoroutineResult, RawCoroutine, Yielder};
use crate::memory::{StackBuf, StackMemory};
#[cfg(feature = "std")]
use crate::{Stack, StackPool};

/// `swapctx_coro_fn`: a coroutine's C function. It gets its coroutine and
/// the first resume's value; what it returns is the last value its
/// coroutine hands out.
pub type CoroFn = unsafe extern "C" fn(co: *mut Coro, arg: *mut c_void) -> *mut c_void;

/// The value each way.
type Value = *mut c_void;

/// `enum swapctx_coro_status`: `SWAPCTX_CORO_SUSPENDED` (fresh, or waiting
/// in `swapctx_coro_yield`).
pub const CORO_SUSPENDED: c_int = 0;
/// `SWAPCTX_CORO_RUNNING`: running (or resuming another coroutine).
pub const CORO_RUNNING: c_int = 1;
/// `SWAPCTX_CORO_DONE`: its function returned.
pub const CORO_DONE: c_int = 2;

/// The stack a C coroutine runs on.
enum CStack {
    /// The caller's memory: no guard, so a canary.
    Memory(StackBuf),
    /// A `swapctx_stack` the caller keeps (and frees after the coroutine).
    #[cfg(feature = "std")]
    Borrowed(*const Stack),
    /// A stack from a pool, given back when the coroutine is destroyed.
    #[cfg(feature = "std")]
    Pooled(Stack),
}

// SAFETY: each variant is a stack that keeps its own rules: a StackBuf
// (checked alignment and size), a live `swapctx_stack` that the caller
// keeps for the coroutine's life (the contract of
// `swapctx_coro_new_on_stack`), or a pooled Stack owned here. Only Stacks
// are guarded. A C coroutine's stack is never leaked by `mem::forget`
// (`swapctx_coro_destroy` discards the frames; see the module docs).
unsafe impl StackMemory for CStack {
    #[inline]
    fn top(&self) -> *mut u8 {
        match self {
            CStack::Memory(m) => m.top(),
            #[cfg(feature = "std")]
            // SAFETY: the caller keeps the stack alive (see above).
            CStack::Borrowed(s) => unsafe { (**s).top() },
            #[cfg(feature = "std")]
            CStack::Pooled(s) => s.top(),
        }
    }

    #[inline]
    fn bottom(&self) -> *mut u8 {
        match self {
            CStack::Memory(m) => m.bottom(),
            #[cfg(feature = "std")]
            // SAFETY: as in `top`.
            CStack::Borrowed(s) => unsafe { (**s).bottom() },
            #[cfg(feature = "std")]
            CStack::Pooled(s) => s.bottom(),
        }
    }

    #[inline]
    fn is_guarded(&self) -> bool {
        !matches!(self, CStack::Memory(_))
    }
}

/// `swapctx_coro`: a C coroutine's control block, at the top of its stack.
#[repr(C, align(16))]
pub struct Coro {
    raw: RawCoroutine<'static, Value, Value, Value, CStack>,
    /// The Yielder lent to the closure, while the function runs.
    yielder: *const Yielder<Value, Value>,
    /// `swapctx_coro_data`.
    data: *mut c_void,
    /// Between a resume and the switch back.
    running: bool,
}

/// Bytes the control block takes at the top of the stack.
const BLOCK: usize = core::mem::size_of::<Coro>();

/// The coroutine's closure: calls the C function with its control block.
/// Two words, `Copy`: nothing to drop when the frames are discarded.
#[derive(Clone, Copy)]
struct Call {
    f: CoroFn,
    co: *mut Coro,
}

/// Makes a coroutine on `stack`, its control block at the top; stores it
/// in `*co_out`.
///
/// # Safety
/// The stack is unused, at least `StackBuf::MIN_SIZE` bytes (checked by
/// the callers), and `co_out` writable.
unsafe fn make(stack: CStack, f: CoroFn, data: *mut c_void, co_out: *mut *mut Coro) -> Status {
    let block = (stack.top() as usize - BLOCK) as *mut Coro;
    let call = Call { f, co: block };
    let body = move |y: &Yielder<Value, Value>, first: Value| -> Value {
        let call = call;
        // SAFETY: the block is at the top of this coroutine's stack and
        // outlives the function (destroy discards it only while the
        // function is suspended or done); the C function keeps the
        // header's contract.
        unsafe {
            (*call.co).yielder = y;
            let r = (call.f)(call.co, first);
            (*call.co).yielder = ptr::null();
            r
        }
    };
    let raw = RawCoroutine::with_stack_below(stack, block.cast(), body);
    // SAFETY: the block's place is ours (the top of the stack, above the
    // coroutine's closure and slots), 16-byte aligned like the top.
    unsafe {
        block.write(Coro {
            raw,
            yielder: ptr::null(),
            data,
            running: false,
        });
        co_out.write(block);
    }
    Status::Ok
}

/// `int swapctx_coro_new(void *memory, size_t size, swapctx_coro_fn fn,
/// void *data, swapctx_coro **co_out);`
///
/// Makes a coroutine on the caller's memory, which must start at a
/// multiple of 16 bytes, be a multiple of 16 bytes long and at least
/// `SWAPCTX_CORO_MIN_SIZE` (8192) bytes. It has no guard page: the lowest
/// 32 bytes hold a canary, checked at every switch back from the
/// coroutine. On error `*co_out` is set to NULL.
///
/// # Safety
/// - `memory` is writable for `size` bytes and used by nothing else until
///   the coroutine is destroyed; what the function needs fits in it;
/// - `co_out` is NULL (refused) or writable.
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_new(
    memory: *mut c_void,
    size: usize,
    f: Option<CoroFn>,
    data: *mut c_void,
    co_out: *mut *mut Coro,
) -> c_int {
    if co_out.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: checked non-null; the caller guarantees it is writable.
    unsafe { co_out.write(ptr::null_mut()) };
    let (Some(f), false) = (f, memory.is_null()) else {
        return Status::Null as c_int;
    };
    // SAFETY: the caller's promise on the memory; the rules are checked.
    let stack = match unsafe { StackBuf::from_raw_parts(memory.cast(), size) } {
        Ok(stack) => stack,
        Err(e) => return Status::from(e) as c_int,
    };
    // SAFETY: a checked, unused stack; `co_out` is writable.
    unsafe { make(CStack::Memory(stack), f, data, co_out) as c_int }
}

/// `int swapctx_coro_new_on_stack(swapctx_stack *stack, swapctx_coro_fn
/// fn, void *data, swapctx_coro **co_out);`
///
/// Makes a coroutine on a guarded stack from `swapctx_stack_new`, which
/// stays the caller's: free it after destroying the coroutine.
///
/// # Safety
/// `stack` is NULL or a live stack that nothing else uses until the
/// coroutine is destroyed; `co_out` is NULL or writable.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_new_on_stack(
    stack: *mut Stack,
    f: Option<CoroFn>,
    data: *mut c_void,
    co_out: *mut *mut Coro,
) -> c_int {
    if co_out.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: checked non-null; the caller guarantees it is writable.
    unsafe { co_out.write(ptr::null_mut()) };
    let (Some(f), false) = (f, stack.is_null()) else {
        return Status::Null as c_int;
    };
    // SAFETY: a live stack (the caller's promise), far above the minimum.
    super::guarded(|| unsafe { make(CStack::Borrowed(stack), f, data, co_out) })
}

/// `int swapctx_coro_new_from_pool(swapctx_pool *pool, swapctx_coro_fn fn,
/// void *data, swapctx_coro **co_out);`
///
/// Makes a coroutine on a stack from `pool`; destroying the coroutine
/// gives the stack back.
///
/// # Safety
/// `pool` is NULL or a live pool of this thread; `co_out` is NULL or
/// writable.
#[cfg(feature = "std")]
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_new_from_pool(
    pool: *mut StackPool,
    f: Option<CoroFn>,
    data: *mut c_void,
    co_out: *mut *mut Coro,
) -> c_int {
    if co_out.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: checked non-null; the caller guarantees it is writable.
    unsafe { co_out.write(ptr::null_mut()) };
    // SAFETY: NULL or a live pool.
    let (Some(f), Some(pool)) = (f, unsafe { pool.as_ref() }) else {
        return Status::Null as c_int;
    };
    super::guarded(|| match pool.stack() {
        // SAFETY: a fresh pooled stack, owned by the coroutine.
        Ok(stack) => unsafe { make(CStack::Pooled(stack), f, data, co_out) },
        Err(e) => Status::from(e),
    })
}

/// `int swapctx_coro_resume(swapctx_coro *co, void *value, void **out);`
///
/// Runs the coroutine until it yields or returns; `value` is its
/// function's argument (first resume) or what its `swapctx_coro_yield`
/// returns. What it yields or returns goes to `*out` (if `out` is not
/// NULL); `swapctx_coro_status` then says which.
///
/// # Safety
/// `co` is NULL or a live coroutine of this thread; `out` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_resume(
    co: *mut Coro,
    value: *mut c_void,
    out: *mut *mut c_void,
) -> c_int {
    if co.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: a live coroutine (the caller's promise); fields are reached
    // through the pointer, as the coroutine's closure writes `yielder`.
    unsafe {
        if (*co).running {
            return Status::CoroRunning as c_int;
        }
        if (*co).raw.is_done() {
            return Status::CoroDone as c_int;
        }
        #[cfg(feature = "std")]
        crate::thread::prepare();
        (*co).running = true;
        let raw = ptr::addr_of_mut!((*co).raw);
        let got = match (*raw).resume(value) {
            CoroutineResult::Yield(v) | CoroutineResult::Return(v) => v,
        };
        (*co).running = false;
        if !out.is_null() {
            out.write(got);
        }
    }
    Status::Ok as c_int
}

/// `int swapctx_coro_yield(swapctx_coro *co, void *value, void **in);`
///
/// From inside the running coroutine `co` (on its own stack): hands
/// `value` to whoever resumed it and suspends; when resumed, stores the
/// value passed to `swapctx_coro_resume` in `*in` (if `in` is not NULL).
///
/// # Safety
/// `co` is NULL or a live coroutine; `input` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_yield(
    co: *mut Coro,
    value: *mut c_void,
    input: *mut *mut c_void,
) -> c_int {
    if co.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: a live coroutine (the caller's promise).
    unsafe {
        let sp = crate::raw::current_stack_pointer();
        let stack = (*co).raw.stack();
        let on_own_stack = stack.bottom() as usize <= sp && sp < stack.top() as usize;
        if !(*co).running || (*co).yielder.is_null() || !on_own_stack {
            return Status::CoroNotRunning as c_int;
        }
        (*co).running = false;
        // The yielder is the one lent to this coroutine's closure, which
        // is running (checked: we are on its stack, inside its function).
        let got = (*(*co).yielder).suspend(value);
        (*co).running = true;
        if !input.is_null() {
            input.write(got);
        }
    }
    Status::Ok as c_int
}

/// `int swapctx_coro_status(const swapctx_coro *co);`
///
/// `SWAPCTX_CORO_SUSPENDED`, `SWAPCTX_CORO_RUNNING` or `SWAPCTX_CORO_DONE`;
/// `SWAPCTX_ERR_NULL` for NULL.
///
/// # Safety
/// `co` is NULL or a live coroutine.
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_status(co: *const Coro) -> c_int {
    // SAFETY: NULL or a live coroutine.
    match unsafe { co.as_ref() } {
        None => Status::Null as c_int,
        Some(co) if co.running => CORO_RUNNING,
        Some(co) if co.raw.is_done() => CORO_DONE,
        Some(_) => CORO_SUSPENDED,
    }
}

/// `void *swapctx_coro_data(const swapctx_coro *co);`
///
/// The `data` given when the coroutine was made; NULL for NULL.
///
/// # Safety
/// `co` is NULL or a live coroutine.
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_data(co: *const Coro) -> *mut c_void {
    // SAFETY: NULL or a live coroutine.
    unsafe { co.as_ref() }.map_or(ptr::null_mut(), |co| co.data)
}

/// `int swapctx_coro_destroy(swapctx_coro *co);`
///
/// Ends a coroutine that is not running: a suspended one is abandoned
/// where it stopped (its C frames need no clean-up), a done one is simply
/// forgotten. Its memory is the caller's again; a pooled stack goes back
/// to its pool. A running coroutine is refused (`SWAPCTX_ERR_CORO_RUNNING`)
/// and stays as it is.
///
/// # Safety
/// `co` is NULL or a live coroutine, not used again after `SWAPCTX_OK`.
#[no_mangle]
pub unsafe extern "C" fn swapctx_coro_destroy(co: *mut Coro) -> c_int {
    if co.is_null() {
        return Status::Null as c_int;
    }
    // SAFETY: a live coroutine; moved out of its block (which may be on a
    // pooled stack that goes back below) before anything else. Nothing on
    // its stack needs dropping: C frames, and the entry's `Copy` closure.
    unsafe {
        if (*co).running {
            return Status::CoroRunning as c_int;
        }
        let raw = ptr::read(ptr::addr_of!((*co).raw));
        drop(raw.discard());
    }
    Status::Ok as c_int
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::StackPool;

    fn code(s: Status) -> c_int {
        s as c_int
    }

    /// Yields its argument + 1 forever (as pointer-sized numbers).
    unsafe extern "C" fn counter(co: *mut Coro, arg: *mut c_void) -> *mut c_void {
        let mut n = arg as usize;
        loop {
            let mut next = ptr::null_mut();
            // SAFETY: `co` is the running coroutine, on its own stack.
            let rc = unsafe { swapctx_coro_yield(co, (n + 1) as *mut c_void, &mut next) };
            assert_eq!(rc, 0);
            if next.is_null() {
                return (n * 100) as *mut c_void;
            }
            n = next as usize;
        }
    }

    /// 16 bytes, 16-byte aligned on every target (u128 is 8-byte aligned
    /// on some).
    #[repr(C, align(16))]
    #[derive(Clone, Copy)]
    struct Chunk([u8; 16]);

    /// 16 KiB of aligned memory.
    fn memory() -> Vec<Chunk> {
        vec![Chunk([0; 16]); 1024]
    }

    #[test]
    fn resume_and_yield_pass_values_and_status_follows() {
        let mut mem = memory();
        let mut co = ptr::null_mut();
        // SAFETY: `mem` outlives the coroutine, destroyed below.
        unsafe {
            let rc = swapctx_coro_new(
                mem.as_mut_ptr().cast(),
                16384,
                Some(counter),
                7 as _,
                &mut co,
            );
            assert_eq!(rc, 0);
            assert_eq!(swapctx_coro_status(co), CORO_SUSPENDED);
            assert_eq!(swapctx_coro_data(co) as usize, 7);
            let mut out = ptr::null_mut();
            assert_eq!(swapctx_coro_resume(co, 1 as _, &mut out), 0);
            assert_eq!(out as usize, 2);
            assert_eq!(swapctx_coro_resume(co, 41 as _, &mut out), 0);
            assert_eq!(out as usize, 42);
            assert_eq!(swapctx_coro_status(co), CORO_SUSPENDED);
            // NULL ends it: it returns n * 100.
            assert_eq!(swapctx_coro_resume(co, ptr::null_mut(), &mut out), 0);
            assert_eq!(out as usize, 4100);
            assert_eq!(swapctx_coro_status(co), CORO_DONE);
            // Resume after done: an error code, nothing runs.
            assert_eq!(
                swapctx_coro_resume(co, 1 as _, &mut out),
                code(Status::CoroDone)
            );
            assert_eq!(swapctx_coro_destroy(co), 0);
        }
    }

    #[test]
    #[cfg_attr(
        feature = "asan",
        ignore = "AddressSanitizer's frames and its no-return hook need more than the minimum"
    )]
    fn the_smallest_memory_runs_a_coroutine() {
        let mut mem = memory();
        let mut co = ptr::null_mut();
        // SAFETY: `mem` outlives the coroutine; `counter` needs little.
        unsafe {
            let p = mem.as_mut_ptr().cast();
            let rc = swapctx_coro_new(
                p,
                StackBuf::MIN_SIZE,
                Some(counter),
                ptr::null_mut(),
                &mut co,
            );
            assert_eq!(rc, 0);
            let mut out = ptr::null_mut();
            assert_eq!(swapctx_coro_resume(co, 3 as _, &mut out), 0);
            assert_eq!(out as usize, 4);
            assert_eq!(swapctx_coro_resume(co, ptr::null_mut(), &mut out), 0);
            assert_eq!(out as usize, 300);
            assert_eq!(swapctx_coro_status(co), CORO_DONE);
            assert_eq!(swapctx_coro_destroy(co), 0);
        }
    }

    #[test]
    fn bad_arguments_get_codes() {
        let mut mem = memory();
        let p = mem.as_mut_ptr().cast::<c_void>();
        let mut co = 1 as *mut Coro;
        // SAFETY: every call is refused before the memory is used.
        unsafe {
            let f = Some(counter as CoroFn);
            let null = ptr::null_mut();
            assert_eq!(
                swapctx_coro_new(p, 16384, f, null, ptr::null_mut()),
                code(Status::Null)
            );
            assert_eq!(
                swapctx_coro_new(null, 16384, f, null, &mut co),
                code(Status::Null)
            );
            assert!(co.is_null());
            assert_eq!(
                swapctx_coro_new(p, 16384, None, null, &mut co),
                code(Status::Null)
            );
            let small = swapctx_coro_new(p, 1024, f, null, &mut co);
            assert_eq!(small, code(Status::StackTooSmall));
            let misaligned = swapctx_coro_new(p.cast::<u8>().add(4).cast(), 4096, f, null, &mut co);
            assert_eq!(misaligned, code(Status::StackMisaligned));
            assert_eq!(
                swapctx_coro_new(p, 4100, f, null, &mut co),
                code(Status::StackMisaligned)
            );
            assert!(co.is_null());
            assert_eq!(
                swapctx_coro_resume(ptr::null_mut(), null, null.cast()),
                code(Status::Null)
            );
            assert_eq!(
                swapctx_coro_yield(ptr::null_mut(), null, null.cast()),
                code(Status::Null)
            );
            assert_eq!(swapctx_coro_status(ptr::null()), code(Status::Null));
            assert!(swapctx_coro_data(ptr::null()).is_null());
            assert_eq!(swapctx_coro_destroy(ptr::null_mut()), code(Status::Null));
            assert_eq!(
                swapctx_coro_new_on_stack(null.cast(), f, null, &mut co),
                code(Status::Null)
            );
            assert_eq!(
                swapctx_coro_new_from_pool(null.cast(), f, null, &mut co),
                code(Status::Null)
            );
        }
    }

    /// Tries what a running coroutine may not do to itself, and reports
    /// the codes it got.
    unsafe extern "C" fn misbehave(co: *mut Coro, _arg: *mut c_void) -> *mut c_void {
        // SAFETY: `co` is the running coroutine.
        unsafe {
            let resume = swapctx_coro_resume(co, ptr::null_mut(), ptr::null_mut());
            let destroy = swapctx_coro_destroy(co);
            let status = swapctx_coro_status(co);
            (resume * 10000 + destroy * 100 + status) as usize as *mut c_void
        }
    }

    #[test]
    fn a_running_coroutine_cannot_be_resumed_or_destroyed() {
        let mut mem = memory();
        let mut co = ptr::null_mut();
        // SAFETY: as above.
        unsafe {
            let p = mem.as_mut_ptr().cast();
            assert_eq!(
                swapctx_coro_new(p, 16384, Some(misbehave), ptr::null_mut(), &mut co),
                0
            );
            let mut out = ptr::null_mut();
            assert_eq!(swapctx_coro_resume(co, ptr::null_mut(), &mut out), 0);
            let running = code(Status::CoroRunning) as usize;
            assert_eq!(
                out as usize,
                running * 10000 + running * 100 + CORO_RUNNING as usize
            );
            assert_eq!(swapctx_coro_destroy(co), 0);
        }
    }

    #[test]
    fn yield_from_outside_the_coroutine_is_refused() {
        let mut mem = memory();
        let mut co = ptr::null_mut();
        // SAFETY: as above.
        unsafe {
            let p = mem.as_mut_ptr().cast();
            assert_eq!(
                swapctx_coro_new(p, 16384, Some(counter), ptr::null_mut(), &mut co),
                0
            );
            // Fresh, and then suspended: neither is running.
            let refused = code(Status::CoroNotRunning);
            assert_eq!(
                swapctx_coro_yield(co, ptr::null_mut(), ptr::null_mut()),
                refused
            );
            assert_eq!(swapctx_coro_resume(co, 1 as _, ptr::null_mut()), 0);
            assert_eq!(
                swapctx_coro_yield(co, ptr::null_mut(), ptr::null_mut()),
                refused
            );
            assert_eq!(swapctx_coro_status(co), CORO_SUSPENDED);
            assert_eq!(swapctx_coro_destroy(co), 0);
        }
    }

    #[test]
    fn destroy_while_suspended_gives_the_memory_back_at_once() {
        let mut mem = memory();
        let p = mem.as_mut_ptr().cast::<c_void>();
        // SAFETY: as above; the same memory is used again after destroy.
        unsafe {
            for round in 0..3usize {
                let mut co = ptr::null_mut();
                assert_eq!(
                    swapctx_coro_new(p, 16384, Some(counter), ptr::null_mut(), &mut co),
                    0
                );
                let mut out = ptr::null_mut();
                assert_eq!(swapctx_coro_resume(co, round as _, &mut out), 0);
                assert_eq!(out as usize, round + 1);
                assert_eq!(swapctx_coro_destroy(co), 0);
            }
        }
    }

    #[test]
    fn coroutines_on_a_guarded_stack_and_from_a_pool() {
        // SAFETY: the stack and the pool outlive their coroutines.
        unsafe {
            let mut stack = ptr::null_mut();
            assert_eq!(super::super::swapctx_stack_new(64 * 1024, &mut stack), 0);
            let mut co = ptr::null_mut();
            let rc = swapctx_coro_new_on_stack(stack, Some(counter), ptr::null_mut(), &mut co);
            assert_eq!(rc, 0);
            let mut out = ptr::null_mut();
            assert_eq!(swapctx_coro_resume(co, 5 as _, &mut out), 0);
            assert_eq!(out as usize, 6);
            assert_eq!(swapctx_coro_destroy(co), 0);
            super::super::swapctx_stack_free(stack);

            let mut pool: *mut StackPool = ptr::null_mut();
            assert_eq!(super::super::swapctx_pool_new(64 * 1024, 4, &mut pool), 0);
            for i in 0..10usize {
                let rc = swapctx_coro_new_from_pool(pool, Some(counter), ptr::null_mut(), &mut co);
                assert_eq!(rc, 0);
                assert_eq!(swapctx_coro_resume(co, i as _, &mut out), 0);
                assert_eq!(out as usize, i + 1);
                // Destroyed while suspended: the stack goes back.
                assert_eq!(swapctx_coro_destroy(co), 0);
                assert_eq!((*pool).idle(), 1);
            }
            super::super::swapctx_pool_free(pool);
        }
    }
}
