//! x86_64 System V: the saved frame of `asm/switch_x86_64_sysv_elf_gas.S`.
//!
//! A fresh context, as `init_stack` leaves it (addresses grow upwards):
//!
//! ```text
//!   top ──────────────►  +------------------------+  (16-byte aligned)
//!                        | TOP_RESERVED (16 bytes)|  coroutine slots
//!   top-16 ───────────►  +------------------------+  rsp when the trampoline runs
//!                        | return addr: trampoline|  +56
//!                        | rbp = 0                |  +48
//!                        | rbx = data             |  +40
//!                        | r12 = entry            |  +32
//!                        | r13 = on_return        |  +24
//!                        | r14 = 0, r15 = 0       |  +16, +8
//!                        | MXCSR, x87 CW          |  +0, +4
//!   sp = top-80 ──────►  +------------------------+  (16-byte aligned)
//! ```
//!
//! A suspended context looks the same, with the values its switch saved and
//! its own return address; a running one has no saved frame at all.

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_RET + 8 == FRAME_SIZE);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0);
// The trampoline runs with rsp = top - TOP_RESERVED, which must be 16-byte
// aligned so that its `call` gives the entry a correctly aligned frame.
const _: () = assert!(TOP_RESERVED % STACK_ALIGN == 0);

/// The MXCSR a fresh context starts with: the power-on default (all
/// exceptions masked, round to nearest).
pub(crate) const DEFAULT_MXCSR: u32 = 0x1f80;
/// The x87 control word a fresh context starts with: the `fninit` default
/// (all exceptions masked, 64-bit precision, round to nearest).
pub(crate) const DEFAULT_X87CW: u16 = 0x037f;

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
    // writable; every offset is below FRAME_SIZE and 8-byte aligned.
    unsafe {
        sp.add(OFF_MXCSR).cast::<u32>().write(DEFAULT_MXCSR);
        sp.add(OFF_X87CW).cast::<u16>().write(DEFAULT_X87CW);
        sp.add(OFF_X87CW + 2).cast::<u16>().write(0);
        sp.add(OFF_R15).cast::<usize>().write(0);
        sp.add(OFF_R14).cast::<usize>().write(0);
        sp.add(OFF_R13).cast::<usize>().write(on_return);
        sp.add(OFF_R12).cast::<usize>().write(entry);
        sp.add(OFF_RBX).cast::<usize>().write(data);
        sp.add(OFF_RBP).cast::<usize>().write(0);
        sp.add(OFF_RET)
            .cast::<usize>()
            .write(super::swapctx_trampoline as *const () as usize);
        // The reserved words: zero, so a stray read sees nothing.
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
        Regs {
            gp: [
                w(OFF_RBX),
                w(OFF_RBP),
                w(OFF_R12),
                w(OFF_R13),
                w(OFF_R14),
                w(OFF_R15),
            ],
            mxcsr: sp.add(OFF_MXCSR).cast::<u32>().read(),
            x87cw: sp.add(OFF_X87CW).cast::<u16>().read(),
            pad: 0,
        }
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch.
//
// Coroutines do not go through the C-ABI switch: `resume` and `suspend`
// below are inline asm that save only what the compiler cannot (rbx and rbp
// are reserved by LLVM, so they are pushed by hand) plus a resume address,
// and declare every other register clobbered, so the compiler saves only
// the registers that are live at that point. The floating-point control
// words are not saved: a coroutine that changes the rounding mode must
// restore it before it suspends (the raw switch does save them).
//
// Return-stack buffer: `resume` enters the switch with a `call` (to
// `swapctx_coroutine_enter` in the .S file), and the coroutine comes back
// with the `ret` that matches it, so that return is predicted; the way in
// is an indirect `jmp` to the coroutine's saved resume address, which the
// branch predictor learns. No `ret` ever goes to a different place than
// its `call` came from.
//
// A suspended side's stack, at its saved stack pointer:
//
//   resumer (in `resume`)          coroutine (in `suspend`)
//   sp+0   return address         sp+0   resume address (label 2)
//   sp+8   rbx                    sp+8   rbx
//   sp+16  rbp                    sp+16  rbp

/// `asm!` for `resume` and `suspend`, followed by the operands both share:
/// r13-r15 declared clobbered (the other side runs arbitrary code in
/// between; rbx and rbp, which cannot be operands, are saved by hand in the
/// template), and the rest of the caller-saved set of the ABI. One list, so
/// the two sides cannot drift apart.
///
/// r12 is not in the list: it is the slots register. Both sides pass the
/// coroutine's slots in r12 (`in("r12")`), so every switch into a side
/// arrives with r12 = the slots that side passed, and the compiler keeps
/// the pointer there across the switch, and across calls (r12 is
/// callee-saved), instead of reloading it for every switch.
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("r13") _, out("r14") _, out("r15") _,
            clobber_abi("sysv64"),
        )
    };
}

/// The template of [`resume`]: r12 = the slots, `{enter}`
/// = `swapctx_coroutine_enter`. Its pushes put rbx at `CO_OFF_RBX` and rbp
/// at `CO_OFF_RBP` of the resumer's saved words, and the `call` the resume
/// address at `CO_OFF_RESUME`; the layout tests (`coroutine_tests.rs`)
/// assemble the same template between loads of known values, so a change
/// of order here that the layout does not follow fails them.
macro_rules! resume_template {
    () => {
        concat!(
            "push rbp\n",     // save rbp (LLVM may not let us clobber it)
            "push rbx\n",     // save rbx (reserved by LLVM)
            "call {enter}\n", // push our resume address; swapctx_coroutine_enter
            // saves rsp in link, loads `this`, jumps in
            "pop rbx\n", // back: restore rbx
            "pop rbp\n", // and rbp
        )
    };
}
#[cfg(test)]
pub(crate) use resume_template;

/// The template of [`suspend`]: r12 = the slots (`link` at +0, `this` at
/// +8: `SLOT_LINK`, `SLOT_THIS`). Saves the same words as
/// `resume_template!`, in the same places.
macro_rules! suspend_template {
    () => {
        concat!(
            "push rbp\n",            // save rbp
            "push rbx\n",            // save rbx
            "lea rax, [rip + 2f]\n", // where we resume
            "push rax\n",            // save it
            "mov [r12 + 8], rsp\n",  // this = our stack pointer
            "mov rsp, [r12]\n",      // load the resumer's stack pointer
            "ret\n",                 // return into resume, matching its call
            "2:\n",
            "pop rbx\n", // resumed: restore rbx
            "pop rbp\n", // and rbp
        )
    };
}
#[cfg(test)]
pub(crate) use suspend_template;

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
    // SAFETY: per the contract. The asm leaves rsp, rbx and rbp as it
    // found them when the coroutine switches back, and declares every other
    // register clobbered (the coroutine runs arbitrary code meanwhile).
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("r12") slots,
            out("rdi") _
        );
    }
}

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
            in("r12") slots,
            out("rdi") _
        );
    }
}

/// The coroutine's last switch: back to its resumer, never to return (so
/// nothing of the coroutine is saved).
///
/// # Safety
/// As [`suspend`]; nothing may resume the coroutine afterwards.
#[inline(always)]
pub(crate) unsafe fn finish(slots: *mut [*mut u8; 2]) -> ! {
    // SAFETY: per the contract: `link` holds the resumer, suspended in
    // `resume`, which expects the slots register back. (The slots come in
    // rsi, not r12: then the entry functions, which end here, need not
    // save and keep r12, callee-saved, just to hand it over; an asm that
    // never returns may leave any register changed.)
    unsafe {
        core::arch::asm!(
            "mov r12, rsi",             // the slots register, for the resumer
            "mov rsp, [rsi]",           // load the resumer's stack pointer
            "ret",                      // return into resume, matching its call
            in("rsi") slots,
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
    unsafe { (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as usize }
}

/// Rewrites the interrupted context so that the return from the handler
/// enters `swapctx_trap_trampoline` (asm) with `sp`, `slots` in rbx (for
/// its CFI), `entry` in r12, and `entry`'s arguments `(data, slots)`.
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
    /// EFLAGS' direction flag: the ABI wants it clear on function entry.
    const EFLAGS_DF: i64 = 1 << 10;
    // SAFETY: per the contract; plain stores into the saved registers.
    unsafe {
        let g = &mut (*uc).uc_mcontext.gregs;
        g[libc::REG_RIP as usize] = super::swapctx_trap_trampoline as *const () as usize as i64;
        g[libc::REG_RSP as usize] = sp as i64;
        g[libc::REG_RBX as usize] = slots as i64;
        g[libc::REG_R12 as usize] = entry as i64;
        g[libc::REG_RDI as usize] = data as i64;
        g[libc::REG_RSI as usize] = slots as i64;
        g[libc::REG_RBP as usize] = 0;
        g[libc::REG_EFL as usize] &= !EFLAGS_DF;
    }
}
