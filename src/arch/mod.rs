//! The per-architecture switch: the assembly symbols and the layout of a
//! saved frame.
//!
//! Every architecture module exports the same items:
//!
//! - `FRAME_SIZE` and the `OFF_*` consts: the saved frame, as the grid at
//!   the top of its `.S` file draws it (tests read a suspended frame back to
//!   check every offset);
//! - `init_stack`: lays out a fresh context's first frame so that the first
//!   switch into it lands in the trampoline.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub(crate) use self::aarch64::*;

#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "riscv64")]
pub(crate) use self::riscv64::*;

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
compile_error!("swapctx supports x86_64, aarch64 and riscv64 (see build.rs)");

/// Stack pointers are 16-byte aligned on every supported architecture, at
/// every call (x86_64), at all times (aarch64) or on entry to every
/// procedure (riscv64).
pub(crate) const STACK_ALIGN: usize = 16;

/// Bytes kept free at the very top of a stack, above the first frame. The
/// coroutine layer keeps its two stack-pointer slots there.
pub(crate) const TOP_RESERVED: usize = 16;

extern "C" {
    /// The switch in `asm/switch_<arch>_*.S`: saves the callee-saved state
    /// on the current stack, writes the stack pointer to `*save_sp`, loads
    /// `load_sp`, restores that side and returns `value` there.
    ///
    /// # Safety
    /// `load_sp` must be a suspended context's stack pointer (saved by this
    /// switch or made by `init_stack`) whose stack is alive; `save_sp` must
    /// be writable and stay valid until something switches back through it.
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_switch")]
    pub fn swapctx_switch(save_sp: *mut *mut u8, load_sp: *mut u8, value: usize) -> usize;

    /// The first code a fresh context runs (never called directly).
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_trampoline")]
    pub(crate) fn swapctx_trampoline();

    /// The first code a fresh coroutine runs (never called directly).
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_coroutine_trampoline")]
    pub(crate) fn swapctx_coroutine_trampoline();

    /// The way into a coroutine, called from the inline asm of `resume`
    /// (never from Rust).
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_coroutine_enter")]
    pub(crate) fn swapctx_coroutine_enter();

    /// Calls `f(arg)` with the stack pointer at `sp` (16-byte aligned, the
    /// top of another stack) and returns on the caller's stack; its CFI
    /// links the two stacks for unwinders. `f` must not unwind.
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_on_stack")]
    pub(crate) fn swapctx_on_stack(arg: *mut u8, sp: *mut u8, f: unsafe extern "C" fn(*mut u8));

    /// Where a coroutine stopped by a trap continues (never called: a
    /// signal handler's return lands there, see `set_trap_return`).
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_trap_trampoline")]
    pub(crate) fn swapctx_trap_trampoline();
}

/// Writes a fresh coroutine's first frame, the four words of `words`, right
/// under `slots`, and returns the coroutine's saved stack pointer (for each
/// architecture's `init_coroutine`, which chooses the words: the coroutine
/// trampoline first, where the first resume lands).
///
/// # Safety
/// `slots` must be 16-byte aligned, with `COROUTINE_INIT_SIZE` writable
/// bytes below it.
#[inline(always)]
unsafe fn write_coroutine_frame(slots: *mut u8, words: [usize; 4]) -> *mut u8 {
    debug_assert!(slots as usize % STACK_ALIGN == 0);
    let sp = slots.wrapping_sub(COROUTINE_INIT_SIZE);
    // SAFETY: per the contract; `sp` is 16-byte aligned (so is the size).
    unsafe { sp.cast::<[usize; 4]>().write(words) };
    sp
}

const _: () = assert!(COROUTINE_INIT_SIZE == core::mem::size_of::<[usize; 4]>());
const _: () = assert!(COROUTINE_INIT_SIZE % STACK_ALIGN == 0);

#[cfg(test)]
mod tests;
#[cfg(test)]
mod torture;

/// What the trampoline calls if an entry function returns: a clear abort,
/// never a return into nothing.
pub(crate) extern "C" fn entry_returned(entry: usize) -> ! {
    crate::fatal(format_args!(
        "swapctx: the entry function at {entry:#x} of a raw context returned; \
         an entry function must switch away for the last time instead of returning"
    ))
}
