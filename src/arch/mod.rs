//! The per-architecture layer: everything about one architecture lives in
//! one place, and every architecture provides the same items. Adding one
//! is a checklist: `docs/porting.md`.
//!
//! # The contract
//!
//! An architecture `<arch>` is:
//!
//! - **`asm/switch_<arch>_<abi>_elf_gas.S`** (named like Boost.Context's
//!   files; `build.rs`'s `SUPPORTED` table picks it), which defines, with a
//!   grid of the saved frame, a comment on every instruction that saves or
//!   restores state, and CFI:
//!   - `swapctx_<tag>_switch(save_sp, load_sp, value)`: the raw, C-ABI
//!     switch; saves every callee-saved register and the floating-point
//!     control state the ABI says must survive;
//!   - `swapctx_<tag>_trampoline`: where a fresh raw context starts (calls
//!     `entry(value, data)`, and `on_return(entry)` if that returns);
//!   - `swapctx_<tag>_coroutine_enter`: the way into a coroutine, called
//!     from `resume`'s inline asm: saves the resumer's stack pointer in
//!     `slots.link`, loads `slots.this`, pops the resume address and jumps;
//!   - `swapctx_<tag>_coroutine_trampoline`: where a fresh coroutine
//!     starts; its CFI (a `DW_CFA_def_cfa_expression` through `slots.link`)
//!     walks from the coroutine into its resumer;
//!   - `swapctx_<tag>_on_stack(arg, sp, f)`: calls `f(arg)` on another
//!     stack (`swapctx::on_stack`), with frame-pointer CFI back to the
//!     caller;
//!   - `swapctx_<tag>_trap_trampoline`: where a coroutine stopped by a trap
//!     continues, with the same CFI as the coroutine trampoline.
//! - **`src/arch/<arch>/layout.rs`**: every offset of those frames, named
//!   once (`pub const NAME: usize = <number>;` and nothing else): the raw
//!   switch's `FRAME_SIZE` and `OFF_*`; a suspended coroutine side's
//!   `CO_OFF_RESUME`, `CO_OFF_<register>` and `CO_FRAME_SIZE`; a fresh
//!   coroutine's `COROUTINE_INIT_SIZE` and `INIT_OFF_TRAMPOLINE`,
//!   `INIT_OFF_ENTRY`, `INIT_OFF_DATA`. `build.rs` turns the file into
//!   `layout.h` (`SWAPCTX_<NAME>`), which the `.S` file includes, uses in
//!   its CFI and addressing, and checks with `#if` where the code fixes an
//!   offset by its shape (the order of pushes). The shared slot offsets are
//!   in `src/arch/layout.rs`.
//! - **`src/arch/<arch>.rs`**, re-exported from here:
//!   - `init_stack(top, entry, data, on_return) -> sp`: a fresh raw
//!     context's first frame, at the layout's offsets;
//!   - `resume(slots)`, `suspend(slots)`, `finish(slots) -> !`: the
//!     coroutine switch, as inline asm that saves by hand only what cannot
//!     be an operand (the frame pointer and LLVM's reserved registers), in
//!     the order the layout's `CO_OFF_*` names, and declares every other
//!     register clobbered, with one clobber list for `resume` and
//!     `suspend` (a `switch_asm!` macro); a `call`/`ret` pair (or the
//!     architecture's equivalent) so the return-stack predictor stays
//!     paired. No value crosses in a register: the coroutine layer passes
//!     every value through the mailbox above the slots (`coroutine.rs`,
//!     `Mail`), which both sides reach from the slots pointer. The slots
//!     go in an argument register, or, where the ABI has one that the
//!     switch can leave alone, in a callee-saved register that both sides
//!     keep (the *slots register*: r12 on x86_64 System V), so the
//!     compiler keeps the pointer there instead of reloading it. Their
//!     instructions are two macros, `resume_template!` and
//!     `suspend_template!`, which the tests assemble too (see below);
//!   - `trap_sp(ucontext)` and `set_trap_return(ucontext, ...)`: reading
//!     and redirecting an interrupted context, for trap recovery;
//!   - for the unit tests: `Regs` (every callee-saved register), a
//!     register-loading `torture_switch`, and `read_frame` (a saved raw
//!     frame read at the layout's offsets).
//!
//! Windows x64 is a module of its own, `x86_64_windows` (another ABI, PE
//! and SEH instead of ELF and CFI, and the TEB fields a context owns);
//! it has no trap recovery (`trap_sp`, `set_trap_return` and the trap
//! trampoline are Unix only); `docs/porting.md` says what else differs.
//!
//! The items common to all architectures are here: the symbols, the
//! alignment, `init_coroutine` (which writes the `INIT_OFF_*` words), and
//! the tests that hold every architecture to its layout (`tests.rs`: the
//! raw frame read back and every register surviving random switches;
//! `coroutine_tests.rs`: a suspended coroutine's words read back, and the
//! trampoline's CFI checked against the resumer's saved registers through
//! the platform unwinder). `coroutine_tests.rs` also has, per
//! architecture, `swapctx_test_resume_loaded` and
//! `swapctx_test_suspend_loaded` (`global_asm!`): the two templates with
//! known values loaded into the hand-saved registers first, so that the
//! saved words and the unwinder's view are checked against live register
//! contents, not only against each other.

#[cfg(all(target_arch = "x86_64", not(windows)))]
mod x86_64;
#[cfg(all(target_arch = "x86_64", not(windows)))]
pub(crate) use self::x86_64::*;

// Windows x64: another ABI, another module (asm/switch_x86_64_ms_pe_gas.S).
#[cfg(all(target_arch = "x86_64", windows))]
mod x86_64_windows;
#[cfg(all(target_arch = "x86_64", windows))]
pub(crate) use self::x86_64_windows::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub(crate) use self::aarch64::*;

#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "riscv64")]
pub(crate) use self::riscv64::*;

#[cfg(target_arch = "powerpc64")]
mod powerpc64;
#[cfg(target_arch = "powerpc64")]
pub(crate) use self::powerpc64::*;

#[cfg(target_arch = "s390x")]
mod s390x;
#[cfg(target_arch = "s390x")]
pub(crate) use self::s390x::*;

#[cfg(target_arch = "x86")]
mod x86;
#[cfg(target_arch = "x86")]
pub(crate) use self::x86::*;

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub(crate) use self::arm::*;

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "powerpc64",
    target_arch = "s390x",
    target_arch = "x86",
    target_arch = "arm"
)))]
compile_error!(
    "swapctx supports x86_64, aarch64, riscv64, powerpc64 (ELFv2), s390x, x86 and arm \
     (see build.rs)"
);

// Offsets the assembly and the tests use; Rust code uses some of them.
#[cfg_attr(not(test), allow(dead_code, unused_imports))]
#[cfg_attr(target_pointer_width = "32", path = "layout_32.rs")]
mod layout;
#[cfg_attr(not(test), allow(unused_imports))]
pub(crate) use self::layout::*;

/// Stack pointers are 16-byte aligned on every supported architecture, at
/// every call (x86_64, x86 on Linux), at all times (aarch64, powerpc64) or
/// on entry to every procedure (riscv64); s390x asks for 8 and arm's AAPCS
/// for 8 at public interfaces, and swapctx's own frames there keep 16.
pub(crate) const STACK_ALIGN: usize = 16;

/// The alignment of a suspended context's saved stack pointer: what the
/// switch leaves below the caller's stack pointer at its call, so
/// [`STACK_ALIGN`], but 8 on s390x, whose ABI (and rustc's frames there)
/// keep r15 only 8-byte aligned, and on arm, where the AAPCS keeps sp
/// 8-byte aligned at calls (the frame is a multiple of 16, so the saved sp
/// is as aligned as the caller's). Fresh contexts are 16-byte aligned
/// everywhere.
pub(crate) const SAVED_SP_ALIGN: usize = if cfg!(any(target_arch = "s390x", target_arch = "arm")) {
    8
} else {
    STACK_ALIGN
};

/// Bytes a fresh raw context needs above the switch's saved frame, besides
/// [`TOP_RESERVED`]: none, but on powerpc64 and s390x, whose ABIs make a
/// caller provide its callee a frame header or a register save area (the
/// trampoline provides it to the entry function).
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
pub(crate) const CALLER_AREA: usize = 0;

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
    /// links the two stacks for unwinders. `f` must not unwind. (Windows
    /// declares its own, which also takes the other stack's TEB fields.)
    #[cfg(not(windows))]
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_on_stack")]
    pub(crate) fn swapctx_on_stack(arg: *mut u8, sp: *mut u8, f: unsafe extern "C" fn(*mut u8));

    /// Where a coroutine stopped by a trap continues (never called: a
    /// signal handler's return lands there, see `set_trap_return`).
    #[cfg(unix)]
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_trap_trampoline")]
    pub(crate) fn swapctx_trap_trampoline();
}

/// Lays out a fresh coroutine under `slots` (16-byte aligned, with its
/// frames to grow below) and returns its saved stack pointer: the words
/// `INIT_OFF_*` of the architecture's layout, which its
/// `swapctx_coroutine_enter` and coroutine trampoline read. The first
/// `resume` lands in the trampoline, which calls `entry(value, data)`.
///
/// # Safety
/// `slots` must be 16-byte aligned, with `COROUTINE_INIT_SIZE` writable
/// bytes below it.
#[inline(always)]
pub(crate) unsafe fn init_coroutine(slots: *mut u8, entry: usize, data: usize) -> *mut u8 {
    debug_assert!(slots as usize % STACK_ALIGN == 0);
    let sp = slots.wrapping_sub(COROUTINE_INIT_SIZE);
    const WORD: usize = core::mem::size_of::<usize>();
    let mut words = [0usize; COROUTINE_INIT_SIZE / WORD];
    words[INIT_OFF_TRAMPOLINE / WORD] = swapctx_coroutine_trampoline as *const () as usize;
    words[INIT_OFF_ENTRY / WORD] = entry;
    words[INIT_OFF_DATA / WORD] = data;
    // SAFETY: per the contract; `sp` is 16-byte aligned (so is the size).
    unsafe {
        sp.cast::<[usize; COROUTINE_INIT_SIZE / WORD]>()
            .write(words)
    };
    sp
}

const _: () = assert!(COROUTINE_INIT_SIZE % STACK_ALIGN == 0);

#[cfg(test)]
mod coroutine_tests;
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
