//! aarch64 AAPCS64: the saved frame of `asm/switch_aarch64_aapcs_elf_gas.S`.
//!
//! A fresh context, as `init_stack` leaves it:
//!
//! ```text
//!   top ───────────►  +-------------------------+ (16-byte aligned)
//!                     | TOP_RESERVED (16 bytes) | coroutine slots
//!   top-16 ────────►  +-------------------------+ sp when the trampoline runs
//!                     | x30 = trampoline        | +152
//!                     | x29 = 0                 | +144
//!                     | x28 .. x22 = 0          | +136 .. +88
//!                     | x21 = on_return         | +80
//!                     | x20 = data              | +72
//!                     | x19 = entry             | +64
//!                     | d15 .. d8 = 0           | +56 .. +0
//!   sp = top-176 ──►  +-------------------------+
//! ```

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_D8 + 8 * 8 == OFF_X19);
const _: () = assert!(OFF_X19 + 8 * 10 == OFF_X29);
const _: () = assert!(OFF_X30 + 8 == FRAME_SIZE);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0);
const _: () = assert!(TOP_RESERVED % STACK_ALIGN == 0);

/// Lays out a fresh context's first frame below `top` and returns its saved
/// stack pointer.
///
/// # Safety
/// `top` must be 16-byte aligned and the top of writable memory with at
/// least `TOP_RESERVED + FRAME_SIZE` bytes below it.
pub(crate) unsafe fn init_stack(
    top: *mut u8,
    entry: usize,
    data: usize,
    on_return: usize,
) -> *mut u8 {
    debug_assert!(top as usize % STACK_ALIGN == 0, "stack top must be aligned");
    let sp = top.wrapping_sub(TOP_RESERVED + FRAME_SIZE);
    // SAFETY: the caller guarantees the bytes from `sp` to `top` are
    // writable; `sp` is 16-byte aligned, so every 8-byte slot is aligned.
    unsafe {
        let words = sp.cast::<usize>();
        for i in 0..(FRAME_SIZE / 8) {
            words.add(i).write(0);
        }
        sp.add(OFF_X19).cast::<usize>().write(entry);
        sp.add(OFF_X19 + 8).cast::<usize>().write(data);
        sp.add(OFF_X19 + 16).cast::<usize>().write(on_return);
        sp.add(OFF_X30)
            .cast::<usize>()
            .write(super::swapctx_trampoline as *const () as usize);
        top.sub(TOP_RESERVED).cast::<[usize; 2]>().write([0, 0]);
    }
    sp
}

// The register test's view of the callee-saved state (one source for
// the unit tests and tests/signals/: `torture/`).
#[cfg(test)]
use super::torture::Regs;

/// Reads a suspended context's saved frame at the offsets above.
#[cfg(test)]
pub(crate) unsafe fn read_frame(sp: *const u8) -> Regs {
    // SAFETY: the caller passes a suspended context's stack pointer, whose
    // FRAME_SIZE bytes are the saved frame.
    unsafe {
        let w = |off: usize| sp.add(off).cast::<u64>().read();
        let mut r = Regs::default();
        for i in 0..10 {
            r.gp[i] = w(OFF_X19 + 8 * i);
        }
        r.gp[10] = w(OFF_X29);
        for i in 0..8 {
            r.fp[i] = w(OFF_D8 + 8 * i);
        }
        r
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch: inline asm, as on x86_64 (see src/arch/x86_64.rs
// for the scheme). x19 and x29 cannot be asm operands, so they are saved by
// hand; `bl` into the switch and the coroutine's matching `ret` keep the
// return-address stack balanced; the way into the coroutine is a `br` to
// its saved resume address. d8-d15 are declared clobbered (as v8-v15), so
// the compiler saves their low halves when they are live.
//
// A suspended side's stack, at its saved stack pointer:
//
//   resumer (in `resume`)          coroutine (in `suspend`)
//   sp+0   return address (x30)   sp+0   resume address (label 2)
//   sp+8   unused                 sp+8   unused
//   sp+16  x29                    sp+16  x29
//   sp+24  x19                    sp+24  x19

/// `asm!` for `resume` and `suspend`, followed by the operands both share:
/// x20-x28 and d8-d15 (as v8-v15) declared clobbered (the other side runs
/// arbitrary code in between; x19 and x29, which cannot be operands, are
/// saved by hand in the template), and the rest of the caller-saved set of
/// the ABI. One list, so the two sides cannot drift apart.
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("x20") _, out("x21") _, out("x22") _, out("x23") _, out("x24") _,
            out("x25") _, out("x26") _, out("x27") _, out("x28") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v12") _, out("v13") _, out("v14") _, out("v15") _,
            clobber_abi("C"),
        )
    };
}

/// The template of [`resume`]; its stores put x29 and x19 at `CO_OFF_X29`
/// and `CO_OFF_X19` of the resumer's saved words. The layout tests
/// (`coroutine_tests.rs`) assemble the same template between loads of
/// known values, so a change here that the layout does not follow fails
/// them.
macro_rules! resume_template {
    () => {
        concat!(
            "stp x29, x19, [sp, #-16]!\n", // save fp and x19 (not operands)
            "bl {enter}\n",                // x30 = our resume address; swapctx_coroutine_enter
            // saves sp in link, loads `this`, branches in
            "ldp x29, x19, [sp], #16\n", // back: restore fp and x19
        )
    };
}
#[cfg(test)]
pub(crate) use resume_template;

/// Switches from the resumer into the coroutine whose slots are at `slots`
/// (`[link, this]`): saves the resumer's stack pointer into `link` and
/// loads `this`. No value crosses in a register: every value travels in
/// the coroutine's mailbox (`coroutine.rs`), whose address is the slots'.
///
/// # Safety
/// `this` must hold a suspended coroutine's stack pointer (from
/// [`init_coroutine`](super::init_coroutine) or [`suspend`]) on a live stack.
#[inline(always)]
pub(crate) unsafe fn resume(slots: *mut [*mut u8; 2]) {
    // SAFETY: per the contract. sp, x19 and x29 are as they were when the
    // coroutine switches back; every other register is declared clobbered.
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("x1") slots,
            out("x0") _
        );
    }
}

/// The template of [`suspend`]: saves the same words as
/// `resume_template!`, in the same places.
macro_rules! suspend_template {
    () => {
        concat!(
            "stp x29, x19, [sp, #-16]!\n", // save fp and x19
            "adr x9, 2f\n",                // where we resume
            "str x9, [sp, #-16]!\n",       // push it
            "mov x9, sp\n",
            "str x9, [x1, #8]\n", // this = our stack pointer
            "ldr x9, [x1]\n",
            "mov sp, x9\n",         // load the resumer's stack pointer
            "ldr x30, [sp], #16\n", // pop its return address
            "ret\n",                // return into resume, matching its bl
            "2:\n",
            "ldp x29, x19, [sp], #16\n", // resumed: restore fp and x19
        )
    };
}
#[cfg(test)]
pub(crate) use suspend_template;

/// Switches from the running coroutine back to its resumer: saves the
/// coroutine's stack pointer into `this` and loads `link`. (The yielded
/// value and the next input travel in the mailbox, `coroutine.rs`.)
///
/// # Safety
/// Must run on the coroutine whose slots are at `slots`, with `link`
/// holding its resumer, suspended in [`resume`].
#[inline(always)]
pub(crate) unsafe fn suspend(slots: *mut [*mut u8; 2]) {
    // SAFETY: per the contract; the mirror image of `resume`.
    unsafe {
        switch_asm!(
            suspend_template!(),
            in("x1") slots,
            out("x0") _
        );
    }
}

/// The coroutine's last switch: back to its resumer, never to return.
///
/// # Safety
/// As [`suspend`]; nothing may resume the coroutine afterwards.
#[inline(always)]
pub(crate) unsafe fn finish(slots: *mut [*mut u8; 2]) -> ! {
    // SAFETY: per the contract: `link` holds the resumer, suspended in
    // `resume`.
    unsafe {
        core::arch::asm!(
            "ldr x9, [x1]",
            "mov sp, x9",                   // load the resumer's stack pointer
            "ldr x30, [sp], #16",           // pop its return address
            "ret",                          // return into resume
            in("x1") slots,
            options(noreturn),
        )
    }
}

// ---------------------------------------------------------------------------
// Trap recovery (src/coroutine/trap.rs): reading and rewriting the context
// a signal interrupted.

/// The stack pointer of the context a signal interrupted.
///
/// # Safety
/// `uc` is the `ucontext_t` a `SA_SIGINFO` handler was given.
#[cfg(feature = "std")]
pub(crate) unsafe fn trap_sp(uc: *const libc::ucontext_t) -> usize {
    // SAFETY: per the contract.
    unsafe { (*uc).uc_mcontext.sp as usize }
}

/// Rewrites the interrupted context so that the return from the handler
/// enters `swapctx_trap_trampoline` (asm) with `sp`, `slots` in x19 (for
/// its CFI), `entry` in x20, and `entry`'s arguments `(data, slots)`.
///
/// # Safety
/// `uc` is the `ucontext_t` a `SA_SIGINFO` handler was given; `sp` is
/// 16-byte aligned on a stack the entry may use.
#[cfg(feature = "std")]
pub(crate) unsafe fn set_trap_return(
    uc: *mut libc::ucontext_t,
    sp: usize,
    slots: usize,
    entry: usize,
    data: usize,
) {
    debug_assert!(sp % STACK_ALIGN == 0);
    /// PSTATE.BTYPE (bits 10-11): cleared, so that landing on the
    /// trampoline is never taken for a bad indirect branch.
    const PSTATE_BTYPE: u64 = 3 << 10;
    // SAFETY: per the contract; plain stores into the saved registers.
    unsafe {
        let m = &mut (*uc).uc_mcontext;
        m.pc = super::swapctx_trap_trampoline as *const () as usize as u64;
        m.sp = sp as u64;
        m.regs[19] = slots as u64;
        m.regs[20] = entry as u64;
        m.regs[0] = data as u64;
        m.regs[1] = slots as u64;
        m.regs[29] = 0;
        m.regs[30] = 0;
        m.pstate &= !PSTATE_BTYPE;
    }
}
