//! riscv64 LP64D: the saved frame of `asm/switch_riscv64_lp64d_elf_gas.S`.
//!
//! A fresh context, as `init_stack` leaves it:
//!
//! ```text
//!   top ───────────►  +-------------------------+ (16-byte aligned)
//!                     | TOP_RESERVED (16 bytes) | coroutine slots
//!   top-16 ────────►  +-------------------------+ sp when the trampoline runs
//!                     | ra = trampoline         | +200
//!                     | s0 = 0                  | +192
//!                     | padding = 0             | +184
//!                     | s11 .. s4 = 0           | +176 .. +120
//!                     | s3 = on_return          | +112
//!                     | s2 = data               | +104
//!                     | s1 = entry              | +96
//!                     | fs11 .. fs0 = 0         | +88 .. +0
//!   sp = top-224 ──►  +-------------------------+
//! ```

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_FS0 + 8 * 12 == OFF_S1);
const _: () = assert!(OFF_S1 + 8 * 11 == OFF_PAD);
const _: () = assert!(OFF_PAD + 8 == OFF_S0);
const _: () = assert!(OFF_S0 + 8 == OFF_RA);
const _: () = assert!(OFF_RA + 8 == FRAME_SIZE);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0);
// The trampoline runs with sp = top - TOP_RESERVED, which must be 16-byte
// aligned so that the entry function starts on an aligned stack.
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
        sp.add(OFF_S1).cast::<usize>().write(entry);
        sp.add(OFF_S1 + 8).cast::<usize>().write(data);
        sp.add(OFF_S1 + 16).cast::<usize>().write(on_return);
        sp.add(OFF_RA)
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
///
/// # Safety
/// `sp` must be a suspended context's stack pointer.
#[cfg(test)]
pub(crate) unsafe fn read_frame(sp: *const u8) -> Regs {
    // SAFETY: the caller passes a suspended context's stack pointer, whose
    // FRAME_SIZE bytes are the saved frame.
    unsafe {
        let w = |off: usize| sp.add(off).cast::<u64>().read();
        let mut r = Regs::default();
        r.gp[0] = w(OFF_S0);
        for i in 1..12 {
            r.gp[i] = w(OFF_S1 + 8 * (i - 1));
        }
        for i in 0..12 {
            r.fp[i] = w(OFF_FS0 + 8 * i);
        }
        r
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch: inline asm, as on x86_64 and aarch64 (see
// src/arch/x86_64.rs for the scheme, and the riscv64 `.S` file for the
// frames and the return-address prediction). s0 and s1 cannot be asm
// operands (LLVM's frame and base pointer), so they are saved by hand;
// `call` into the switch and the coroutine's matching `ret` keep the
// return-address stack balanced; the way into the coroutine is a jump
// through t1 to its saved resume address. s2-s11 and fs0-fs11 are declared
// clobbered, so the compiler saves those that are live.
//
// A suspended side's stack, at its saved stack pointer:
//
//   resumer (in `resume`)          coroutine (in `suspend`)
//   sp+0   return address (ra)     sp+0   resume address (label 2)
//   sp+8   unused                  sp+8   unused
//   sp+16  s0                      sp+16  s0
//   sp+24  s1                      sp+24  s1

/// `asm!` for `resume` and `suspend`, followed by the operands both share:
/// s2-s11 and fs0-fs11 declared clobbered (the other side runs arbitrary
/// code in between; s0 and s1, which cannot be operands, are saved by hand
/// in the template), and the rest of the caller-saved set of the ABI. One
/// list, so the two sides cannot drift apart.
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("s2") _, out("s3") _, out("s4") _, out("s5") _, out("s6") _,
            out("s7") _, out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("fs0") _, out("fs1") _, out("fs2") _, out("fs3") _,
            out("fs4") _, out("fs5") _, out("fs6") _, out("fs7") _,
            out("fs8") _, out("fs9") _, out("fs10") _, out("fs11") _,
            clobber_abi("C"),
        )
    };
}

/// The template of [`resume`]; its stores put s0 and s1 at `CO_OFF_S0`
/// and `CO_OFF_S1` of the resumer's saved words. The layout tests
/// (`coroutine_tests.rs`) assemble the same template between loads of
/// known values, so a change here that the layout does not follow fails
/// them.
macro_rules! resume_template {
    () => {
        concat!(
            "addi sp, sp, -16\n", // room for s0 and s1
            "sd s0, 0(sp)\n",     // save s0 (fp; not an operand)
            "sd s1, 8(sp)\n",     // save s1 (base pointer; not an operand)
            "call {enter}\n",     // ra = our resume address; swapctx_coroutine_enter
            // saves it and sp in link, loads `this`, jumps in
            "ld s0, 0(sp)\n",    // back: restore s0
            "ld s1, 8(sp)\n",    // and s1
            "addi sp, sp, 16\n", // pop them
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
    // SAFETY: per the contract. sp, s0 and s1 are as they were when the
    // coroutine switches back; every other register is declared clobbered.
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("a1") slots,
            out("a0") _
        );
    }
}

/// The template of [`suspend`]: saves the same words as
/// `resume_template!`, in the same places.
macro_rules! suspend_template {
    () => {
        concat!(
            "addi sp, sp, -16\n", // room for s0 and s1
            "sd s0, 0(sp)\n",     // save s0
            "sd s1, 8(sp)\n",     // save s1
            "lla t1, 2f\n",       // where we resume
            "addi sp, sp, -16\n", // room for it (16: sp stays aligned)
            "sd t1, 0(sp)\n",     // save it
            "sd sp, 8(a1)\n",     // this = our stack pointer
            "ld sp, 0(a1)\n",     // load the resumer's stack pointer
            "ld ra, 0(sp)\n",     // restore its return address
            "addi sp, sp, 16\n",  // and pop it
            "ret\n",              // return into resume, matching its call
            "2:\n",
            "ld s0, 0(sp)\n",    // resumed: restore s0
            "ld s1, 8(sp)\n",    // and s1
            "addi sp, sp, 16\n", // pop them
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
            in("a1") slots,
            out("a0") _
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
            "ld sp, 0(a1)",                 // load the resumer's stack pointer
            "ld ra, 0(sp)",                 // restore its return address
            "addi sp, sp, 16",              // and pop it
            "ret",                          // return into resume
            in("a1") slots,
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
    unsafe { (*uc).uc_mcontext.__gregs[libc::REG_SP] as usize }
}

/// Rewrites the interrupted context so that the return from the handler
/// enters `swapctx_trap_trampoline` (asm) with `sp`, `slots` in s1 (for
/// its CFI), `entry` in s2, and `entry`'s arguments `(data, slots)`.
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
    // SAFETY: per the contract; plain stores into the saved registers.
    unsafe {
        let g = &mut (*uc).uc_mcontext.__gregs;
        g[libc::REG_PC] = super::swapctx_trap_trampoline as *const () as usize as libc::c_ulong;
        g[libc::REG_SP] = sp as libc::c_ulong;
        g[libc::REG_S1] = slots as libc::c_ulong;
        g[libc::REG_S2] = entry as libc::c_ulong;
        g[libc::REG_A0] = data as libc::c_ulong;
        g[libc::REG_A0 + 1] = slots as libc::c_ulong;
        g[libc::REG_S0] = 0;
        g[libc::REG_RA] = 0;
    }
}
