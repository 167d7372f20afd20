//! s390x (64-bit z/Architecture, Linux): the saved frame of
//! `asm/switch_s390x_sysv_elf_gas.S`.
//!
//! A fresh context, as `init_stack` leaves it:
//!
//! ```text
//!   top ───────────►  +-------------------------+ (16-byte aligned)
//!                     | TOP_RESERVED (16 bytes) | coroutine slots
//!   top-16 ────────►  +-------------------------+
//!                     | f0, f2, f4, f6 slots = 0| +192 .. +216  the trampoline's
//!                     | r15 = top-176           | +184          register save
//!                     | r14 = trampoline        | +176          area
//!                     | r13 .. r9 = 0           | +168 .. +136  (SAVE_AREA_SIZE),
//!                     | r8 = on_return          | +128          which the entry
//!                     | r7 = data               | +120          stores into
//!                     | r6 = entry              | +112
//!                     | (back chain, r2-r5) = 0 | +64 .. +104
//!   top-176 ───────►  +-------------------------+ r15 when the trampoline runs
//!                     | f15 .. f8 = 0           | +56 .. +0
//!   sp = top-240 ──►  +-------------------------+
//! ```
//!
//! s390x is big-endian: the frame is read and written in whole 8-byte
//! words, never in parts.

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_F8 == 0 && OFF_F8 + 8 * 8 == FRAME_SIZE);
const _: () = assert!(OFF_R6 == FRAME_SIZE + SAVE_AREA_R6);
const _: () = assert!(OFF_R6 + 8 * 8 == OFF_R14 && OFF_R14 + 8 == OFF_R15);
const _: () = assert!(OFF_R15 + 8 <= FRAME_SIZE + SAVE_AREA_SIZE);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0 && SAVE_AREA_SIZE % STACK_ALIGN == 0);
const _: () = assert!(TOP_RESERVED % STACK_ALIGN == 0);
// The inline asm below spells these offsets as numbers.
const _: () = assert!(
    CO_OFF_RESUME == SAVE_AREA_R6 + 8 * (14 - 6)
        && CO_OFF_RESUME == 112
        && CO_OFF_R11 == SAVE_AREA_R6 + 8 * (11 - 6)
        && CO_OFF_R11 == 88
        && CO_FRAME_SIZE == SAVE_AREA_SIZE
        && CO_FRAME_SIZE == 160
);
const _: () =
    assert!(INIT_OFF_TRAMPOLINE == CO_OFF_RESUME && COROUTINE_INIT_SIZE == SAVE_AREA_SIZE);

/// Bytes a fresh context needs above the switch's frame, besides
/// `TOP_RESERVED`: the register save area the trampoline gives the entry
/// function.
pub(crate) const CALLER_AREA: usize = SAVE_AREA_SIZE;

/// Lays out a fresh context's first frame below `top` and returns its saved
/// stack pointer.
///
/// # Safety
/// `top` must be 16-byte aligned and the top of writable memory with at
/// least `TOP_RESERVED + CALLER_AREA + FRAME_SIZE` bytes below it.
pub(crate) unsafe fn init_stack(
    top: *mut u8,
    entry: usize,
    data: usize,
    on_return: usize,
) -> *mut u8 {
    debug_assert!(top as usize % STACK_ALIGN == 0, "stack top must be aligned");
    let area = top.wrapping_sub(TOP_RESERVED + SAVE_AREA_SIZE);
    let sp = area.wrapping_sub(FRAME_SIZE);
    // SAFETY: the caller guarantees the bytes from `sp` to `top` are
    // writable; `sp` is 16-byte aligned, so every 8-byte slot is aligned.
    unsafe {
        let words = sp.cast::<usize>();
        for i in 0..((FRAME_SIZE + SAVE_AREA_SIZE) / 8) {
            words.add(i).write(0);
        }
        sp.add(OFF_R6).cast::<usize>().write(entry);
        sp.add(OFF_R6 + 8).cast::<usize>().write(data);
        sp.add(OFF_R6 + 16).cast::<usize>().write(on_return);
        sp.add(OFF_R14)
            .cast::<usize>()
            .write(super::swapctx_trampoline as *const () as usize);
        sp.add(OFF_R15).cast::<usize>().write(area as usize);
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
    // FRAME_SIZE bytes and the caller's save area above them are the
    // saved frame.
    unsafe {
        let w = |off: usize| sp.add(off).cast::<u64>().read();
        let mut r = Regs::default();
        for i in 0..8 {
            r.gp[i] = w(OFF_R6 + 8 * i);
            r.fp[i] = w(OFF_F8 + 8 * i);
        }
        r
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch: inline asm, as on the other architectures (see
// src/arch/x86_64.rs for the scheme, and the s390x `.S` file for the frames
// and the return-address prediction). Each side makes a register save area
// of 160 bytes (what the stub it calls may store into) and keeps r11, the
// frame pointer, which cannot be an asm operand, in r11's slot; the resume
// address goes in r14's slot. `brasl` into the switch and the coroutine's
// matching `br %r14` pair a call with its return; the way into the
// coroutine is a `br %r1` to its saved resume address. r6-r10, r12, r13
// and f8-f15 are declared clobbered, so the compiler saves those that are
// live.
//
// A suspended side's stack, at its saved r15:
//
//   r15+88   r11
//   r15+112  resume address
//   the rest of the 160 bytes unused

/// `asm!` for `resume` and `suspend`, followed by the operands both share:
/// r6-r10, r12, r13 and f8-f15 declared clobbered (the other side runs
/// arbitrary code in between; r11, which cannot be an operand, is saved by
/// hand in the template), and the rest of the caller-saved set of the ABI
/// (r0-r5, r14, f0-f7, the vector registers, a2-a15). One list, so the two
/// sides cannot drift apart.
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("r6") _, out("r7") _, out("r8") _, out("r9") _, out("r10") _,
            out("r12") _, out("r13") _,
            out("f8") _, out("f9") _, out("f10") _, out("f11") _,
            out("f12") _, out("f13") _, out("f14") _, out("f15") _,
            clobber_abi("C"),
        )
    };
}

/// The template of [`resume`]; its saves put each hand-saved register at
/// its `CO_OFF_*` of the layout. The layout tests (`coroutine_tests.rs`)
/// assemble the same template between loads of known values, so a change
/// here that the layout does not follow fails them.
macro_rules! resume_template {
    () => {
        concat!(
            "aghi %r15, -160\n",     // a register save area for the stub
            "stg %r11, 88(%r15)\n",  // save r11 (fp; not an operand) in its slot
            "brasl %r14, {enter}\n", // r14 = our resume address; swapctx_coroutine_enter
            // saves it and r15 in link, loads `this`, jumps in
            "lg %r11, 88(%r15)\n", // back: restore r11
            "aghi %r15, 160\n",    // drop the save area
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
    // SAFETY: per the contract. r15 and r11 are as they were when the
    // coroutine switches back; every other register is declared clobbered.
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("r3") slots,
            out("r2") _
        );
    }
}

/// The template of [`suspend`]: saves the same words as
/// `resume_template!`, in the same places.
macro_rules! suspend_template {
    () => {
        concat!(
            "aghi %r15, -160\n",    // a register save area
            "stg %r11, 88(%r15)\n", // save r11 in its slot
            "larl %r1, 2f\n",       // where we resume
            "stg %r1, 112(%r15)\n", // save it in r14's slot
            "stg %r15, 8(%r3)\n",   // this = our stack pointer
            "lg %r15, 0(%r3)\n",    // load the resumer's stack pointer
            "lg %r14, 112(%r15)\n", // restore its return address
            "br %r14\n",            // return into resume, matching its brasl
            "2:\n",
            "lg %r11, 88(%r15)\n", // resumed: restore r11
            "aghi %r15, 160\n",    // drop the save area
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
            in("r3") slots,
            out("r2") _
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
            "lg %r15, 0(%r3)",              // load the resumer's stack pointer
            "lg %r14, 112(%r15)",           // restore its return address
            "br %r14",                      // return into resume
            in("r3") slots,
            options(noreturn),
        )
    }
}

// ---------------------------------------------------------------------------
// Trap recovery (src/coroutine/trap.rs): reading and rewriting the context
// a signal interrupted (`uc_mcontext`: the PSW, whose `addr` is the next
// instruction, and `gregs`, r0-r15).

/// The stack pointer of the context a signal interrupted.
///
/// # Safety
/// `uc` is the `ucontext_t` a `SA_SIGINFO` handler was given.
#[cfg(feature = "std")]
pub(crate) unsafe fn trap_sp(uc: *const libc::ucontext_t) -> usize {
    // SAFETY: per the contract.
    unsafe { (*uc).uc_mcontext.gregs[15] as usize }
}

/// Rewrites the interrupted context so that the return from the handler
/// enters `swapctx_trap_trampoline` (asm) with r15 a register save area
/// below `sp`, `slots` in r6 (for its CFI), `entry` in r7, and `entry`'s
/// arguments `(data, slots)`.
///
/// # Safety
/// `uc` is the `ucontext_t` a `SA_SIGINFO` handler was given; `sp` is
/// 16-byte aligned on a stack the entry may use, with `SAVE_AREA_SIZE`
/// writable bytes below it.
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
        let m = &mut (*uc).uc_mcontext;
        m.psw.addr = super::swapctx_trap_trampoline as *const () as usize as u64;
        m.gregs[15] = (sp - SAVE_AREA_SIZE) as u64;
        m.gregs[6] = slots as u64;
        m.gregs[7] = entry as u64;
        m.gregs[2] = data as u64;
        m.gregs[3] = slots as u64;
        m.gregs[11] = 0;
        m.gregs[14] = 0;
    }
}
