//! The raw, symmetric layer: `makecontext`/`swapcontext` without the system
//! call.
//!
//! A [`Context`] is a suspended execution: a stack pointer whose stack holds
//! the callee-saved registers the switch saved. [`Context::new`] makes a
//! fresh one on a stack with an entry function; [`switch`] saves the running
//! context into a slot and resumes *any* suspended context, passing one
//! `usize` across. There is no parent and no return: an entry function ends
//! by switching away for the last time.
//!
//! Everything here is `unsafe`: nothing checks that a context is resumed at
//! most once per suspension, that its stack is still alive, or that a panic
//! does not try to unwind out of an entry function. The safe layer
#![cfg_attr(
    feature = "std",
    doc = "([`Coroutine`](crate::Coroutine)) does all that on top."
)]
#![cfg_attr(
    not(feature = "std"),
    doc = "(`Coroutine`, with the `std` feature) does all that on top."
)]
//!
//! # Examples
//! Two contexts ping-pong a counter, the `main` side and one on its own
//! stack:
//! ```
//! use core::ffi::c_void;
//! use swapctx::raw::{self, Context};
//! use swapctx::Stack;
//!
//! static mut MAIN: Context = Context::empty();
//! static mut PONG: Context = Context::empty();
//!
//! unsafe extern "C" fn pong(mut value: usize, _data: *mut c_void) -> ! {
//!     loop {
//!         // SAFETY: MAIN holds the suspended main context; PONG is ours.
//!         value = unsafe {
//!             raw::switch(&mut *core::ptr::addr_of_mut!(PONG),
//!                         core::ptr::addr_of_mut!(MAIN).replace(Context::empty()),
//!                         value + 1)
//!         };
//!     }
//! }
//!
//! let stack = Stack::new(64 * 1024)?;
//! // SAFETY: the stack outlives every switch into PONG, and `pong` never
//! // returns; this thread is the only one touching the statics.
//! unsafe {
//!     PONG = Context::new(stack.top(), pong, core::ptr::null_mut());
//!     let mut v = 0;
//!     for _ in 0..3 {
//!         v = raw::switch(&mut *core::ptr::addr_of_mut!(MAIN),
//!                         core::ptr::addr_of_mut!(PONG).replace(Context::empty()),
//!                         v);
//!     }
//!     assert_eq!(v, 3);
//! }
//! # Ok::<(), swapctx::Error>(())
//! ```

use core::ffi::c_void;

use crate::arch;

/// The switch itself, as the C-ABI function in `asm/`, for code that calls
/// it from assembly, a JIT or C:
///
/// ```c
/// uintptr_t swapctx_switch(void **save_sp, void *load_sp, uintptr_t value);
/// ```
///
/// It is what [`switch`] calls. Its symbol carries the crate version
/// (`swapctx_0_1_0_switch`) and is hidden, so take its address from here.
///
/// # Safety
/// As [`switch`], with `save_sp` the slot and `load_sp` the suspended
/// context's stack pointer.
pub use crate::arch::swapctx_switch;

/// An entry function: runs on a fresh context's stack. `value` is what the
/// first switch into the context passed, `data` what [`Context::new`] was
/// given. It must never return (it switches away for the last time); if it
/// does, the process aborts with a message saying so.
///
/// It must not let a panic escape either: there is no frame above it to
/// unwind into. Catch panics inside it (`std::panic::catch_unwind`).
pub type EntryFn = unsafe extern "C" fn(value: usize, data: *mut c_void) -> !;

/// A suspended context: the stack pointer its last switch saved, or a fresh
/// context's first frame. Empty when nothing is suspended in it.
///
/// A `Context` is a one-shot token: [`switch`] consumes the context it
/// resumes, and fills the slot of the one it leaves.
#[repr(transparent)]
#[derive(Debug)]
pub struct Context {
    sp: *mut u8,
}

impl Context {
    /// An empty slot, to be filled by a [`switch`] away from the running
    /// context.
    ///
    /// ```
    /// assert!(swapctx::raw::Context::empty().is_empty());
    /// ```
    pub const fn empty() -> Context {
        Context {
            sp: core::ptr::null_mut(),
        }
    }

    /// Bytes a fresh context uses at the top of its stack before its entry
    /// function runs; the stack needs this much plus whatever the entry
    /// function uses.
    pub const INITIAL_FRAME_SIZE: usize = arch::TOP_RESERVED + arch::CALLER_AREA + arch::FRAME_SIZE;

    /// Makes a fresh context on the stack that ends at `stack_top` (the
    /// highest address, exclusive). The first switch into it calls
    /// `entry(value, data)` on that stack.
    ///
    /// `stack_top` is rounded down to 16 bytes.
    ///
    /// # Safety
    /// - `stack_top` must be the end of writable memory with at least
    ///   [`Context::INITIAL_FRAME_SIZE`] bytes below it, plus what `entry`
    ///   will use; that memory must stay valid, and be used for nothing
    ///   else, for as long as the context can run.
    /// - `entry` must uphold the contract of [`EntryFn`].
    ///
    /// # Examples
    /// See the [module documentation](self).
    pub unsafe fn new(stack_top: *mut u8, entry: EntryFn, data: *mut c_void) -> Context {
        let top = (stack_top as usize & !(arch::STACK_ALIGN - 1)) as *mut u8;
        debug_assert!(!stack_top.is_null(), "stack_top must not be null");
        // SAFETY: the caller guarantees INITIAL_FRAME_SIZE writable bytes
        // below `stack_top`; `top` is at most 15 bytes lower and still in it.
        let sp = unsafe {
            arch::init_stack(
                top,
                entry as usize,
                data as usize,
                arch::entry_returned as *const () as usize,
            )
        };
        Context { sp }
    }

    /// True if nothing is suspended in this slot.
    pub fn is_empty(&self) -> bool {
        self.sp.is_null()
    }

    /// The saved stack pointer (null if empty). For tools and debuggers:
    /// the saved frame's layout is drawn at the top of the `.S` file.
    pub fn stack_pointer(&self) -> *mut u8 {
        self.sp
    }

    /// Makes a context from a stack pointer saved by [`switch`] (for
    /// example one handed through C).
    ///
    /// # Safety
    /// `sp` must be a stack pointer that a switch saved, or that
    /// [`Context::new`] made, and that has not been resumed since.
    pub unsafe fn from_stack_pointer(sp: *mut u8) -> Context {
        Context { sp }
    }

    /// Gives up the token and returns the raw stack pointer.
    pub fn into_stack_pointer(self) -> *mut u8 {
        self.sp
    }
}

impl Default for Context {
    fn default() -> Context {
        Context::empty()
    }
}

/// Saves the running context into `save` and resumes `to`, handing it
/// `value`. Returns when some context switches back into `save`, with the
/// value that one passed.
///
/// The whole callee-saved state of the ABI is saved and restored (x86_64:
/// rbx, rbp, r12-r15, MXCSR, x87 control word; aarch64: x19-x30, d8-d15),
/// so this is a plain C call from the compiler's point of view.
///
/// # Safety
/// - `to` must be a suspended context: made by [`Context::new`] or filled
///   by a switch, not resumed since, whose stack is still alive.
/// - `save` must stay where it is (it is written now and read when some
///   context switches back into it).
/// - No frame of the current context may be unwound by a panic across a
///   switch; `to` may be on another thread's stack only if that thread
///   will never run it.
///
/// # Examples
/// See the [module documentation](self).
#[inline(always)]
pub unsafe fn switch(save: &mut Context, to: Context, value: usize) -> usize {
    debug_assert!(!to.is_empty(), "switch to an empty context");
    debug_assert!(
        to.sp as usize % arch::SAVED_SP_ALIGN == 0,
        "switch to a misaligned stack pointer"
    );
    // SAFETY: the caller guarantees `to` is a suspended context with a live
    // stack; `save` is a valid slot for our own stack pointer.
    unsafe { arch::swapctx_switch(&mut save.sp, to.sp, value) }
}

/// The stack pointer of the code that calls this, read from the register:
/// which stack is running, and how deep. (The address of a local would not
/// do: under AddressSanitizer, locals may live on its fake stack.)
///
/// # Examples
/// ```
/// use swapctx::{Coroutine, CoroutineResult, Stack};
///
/// let stack = Stack::new(64 * 1024)?;
/// let (lo, hi) = (stack.bottom() as usize, stack.top() as usize);
/// let mut co = Coroutine::<(), (), usize>::with_stack(stack, |_, ()| {
///     swapctx::raw::current_stack_pointer()
/// });
/// let CoroutineResult::Return(sp) = co.resume(()) else { unreachable!() };
/// assert!(lo < sp && sp < hi); // the coroutine ran on its own stack
/// # Ok::<(), swapctx::Error>(())
/// ```
#[inline(always)]
pub fn current_stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies the stack pointer into a register; nothing else.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "riscv64")]
    unsafe {
        core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above (r1 is the stack pointer).
    #[cfg(target_arch = "powerpc64")]
    unsafe {
        core::arch::asm!("mr {}, 1", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above (r15 is the stack pointer).
    #[cfg(target_arch = "s390x")]
    unsafe {
        core::arch::asm!("lgr {}, %r15", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "x86")]
    unsafe {
        core::arch::asm!("mov {}, esp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "arm")]
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}
