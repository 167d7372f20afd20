//! arm (ARMv7-A, AAPCS hard-float): the saved frame of
//! `asm/switch_arm_aapcs_elf_gas.S`. src/arch/x86_64.rs is the fully
//! commented reference; this module comments where arm differs.
//!
//! A fresh context, as `init_stack` leaves it:
//!
//! ```text
//!   top ───────────►  +-------------------------+ (16-byte aligned)
//!                     | TOP_RESERVED (16 bytes) | coroutine slots
//!   top-16 ────────►  +-------------------------+ sp when the trampoline runs
//!                     | lr = trampoline         | +108
//!                     | r12's slot = 0          | +104
//!                     | r11 .. r7 = 0           | +100 .. +84
//!                     | r6 = on_return          | +80
//!                     | r5 = data               | +76
//!                     | r4 = entry              | +72
//!                     | d15 .. d8 = 0           | +64 .. +8
//!                     | padding, FPSCR = 0      | +4, +0
//!   sp = top-128 ──►  +-------------------------+ (16-byte aligned)
//! ```

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_FPSCR + 4 == OFF_PAD && OFF_PAD + 4 == OFF_D8);
const _: () = assert!(OFF_D8 + 8 * 8 == OFF_R4);
const _: () = assert!(OFF_R4 + 4 * 8 == OFF_R12);
const _: () = assert!(OFF_R12 + 4 == OFF_LR && OFF_LR + 4 == FRAME_SIZE);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0);
const _: () = assert!(TOP_RESERVED % STACK_ALIGN == 0);
const _: () = assert!(CO_OFF_R6 == CO_OFF_RESUME + 4 && CO_OFF_R7 == CO_OFF_R6 + 4);
const _: () = assert!(CO_OFF_R11 == CO_OFF_R7 + 4 && CO_FRAME_SIZE == CO_OFF_R11 + 4);

/// The FPSCR a fresh context starts with: round to nearest, no
/// flush-to-zero, no default NaN, no exceptions trapped (the AAPCS's and
/// Linux's start state).
pub(crate) const DEFAULT_FPSCR: u32 = 0;

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
    // writable; `sp` is 16-byte aligned, so every 4-byte slot is aligned.
    unsafe {
        let words = sp.cast::<u32>();
        for i in 0..(FRAME_SIZE / 4) {
            words.add(i).write(0);
        }
        sp.add(OFF_FPSCR).cast::<u32>().write(DEFAULT_FPSCR);
        sp.add(OFF_R4).cast::<usize>().write(entry);
        sp.add(OFF_R4 + 4).cast::<usize>().write(data);
        sp.add(OFF_R4 + 8).cast::<usize>().write(on_return);
        sp.add(OFF_LR)
            .cast::<usize>()
            .write(super::swapctx_trampoline as *const () as usize);
        top.sub(TOP_RESERVED).cast::<[usize; 4]>().write([0; 4]);
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
        let mut r = Regs::default();
        for i in 0..8 {
            r.gp[i] = sp.add(OFF_R4 + 4 * i).cast::<u32>().read();
        }
        for i in 0..8 {
            r.fp[i] = sp.add(OFF_D8 + 8 * i).cast::<u64>().read();
        }
        r.fpscr = sp.add(OFF_FPSCR).cast::<u32>().read();
        r
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch: inline asm, as on x86_64 (see src/arch/x86_64.rs
// for the scheme, and the arm `.S` file for the frames). r6 (LLVM's base
// pointer) and the frame pointer (r11 in ARM code, r7 in Thumb code) cannot
// be asm operands, so r6, r7 and r11 are saved by hand, which is right in
// both instruction sets; r4, r5, r8-r10 and d8-d15 are declared clobbered,
// so the compiler saves those that are live. `bl` into the switch and the
// coroutine's matching `bx lr` keep the return stack balanced; the way into
// the coroutine is a `bx r12` to its saved resume address. FPSCR is not
// saved: a coroutine that changes the rounding mode restores it before it
// suspends (the raw switch does save it).
//
// A suspended side's stack, at its saved stack pointer:
//
//   resumer (in `resume`)          coroutine (in `suspend`)
//   sp+0   return address (lr)     sp+0   resume address (label 2)
//   sp+4   r6                      sp+4   r6
//   sp+8   r7                      sp+8   r7
//   sp+12  r11                     sp+12  r11

/// `asm!` for `resume` and `suspend`, followed by the operands both share:
/// r4, r5, r8-r10 and d8-d15 declared clobbered (the other side runs
/// arbitrary code in between; r6, r7 and r11 are saved by hand in the
/// template), and the rest of the caller-saved set of the ABI. One list,
/// so the two sides cannot drift apart.
#[cfg(not(swapctx_mclass))]
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("r4") _, out("r5") _, out("r8") _, out("r9") _, out("r10") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            clobber_abi("C"),
        )
    };
}
/// The M profile (Cortex-M4F): the same list, with the caller-saved set
/// named (r1-r3, r12, lr, d0-d7): its FPU (FPv4-SP-D16) has no d16-d31,
/// which `clobber_abi("C")` would list.
#[cfg(swapctx_mclass)]
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("r4") _, out("r5") _, out("r8") _, out("r9") _, out("r10") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _,
            out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            lateout("r1") _, out("r2") _, out("r3") _, out("r12") _, out("lr") _,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
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
            "push {{r6, r7, r11}}\n", // save r6, r7, r11 (not operands)
            "bl {enter}\n",           // lr = our resume address; swapctx_coroutine_enter
            // pushes it, saves sp in link, loads `this`, jumps in
            "pop {{r6, r7, r11}}\n", // back: restore r6, r7, r11
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
    // SAFETY: per the contract. sp, r6, r7 and r11 are as they were when
    // the coroutine switches back; every other register is declared
    // clobbered.
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("r1") slots,
            out("r0") _
        );
    }
}

/// The template of [`suspend`]: saves the same words as
/// `resume_template!`, in the same places. ARM state: `adr` gives the
/// address of label 2, where the stub's `bx` resumes us.
#[cfg(not(swapctx_thumb))]
macro_rules! suspend_template {
    () => {
        concat!(
            "push {{r6, r7, r11}}\n", // save r6, r7, r11
            "adr r12, 2f\n",          // r12 = where we resume
            "push {{r12}}\n",         // save it
            "str sp, [r1, #4]\n",     // this = our stack pointer
            "ldr sp, [r1]\n",         // load the resumer's stack pointer
            "pop {{lr}}\n",           // pop its return address
            "bx lr\n",                // return into resume, matching its bl
            "2:\n",
            "pop {{r6, r7, r11}}\n", // resumed: restore r6, r7, r11
        )
    };
}
/// Thumb state (the M profile): the resume address comes from a `bl`,
/// which sets bit 0 for `bx` itself, not from `adr`: LLVM's assembler
/// encoded `adr r12, 2f + 1` two bytes short when the `adr` sat at an
/// address that is not a multiple of 4, so the coroutine resumed on the
/// `bx lr` before label 2 (in one build of the Cortex-M demo, whose canary
/// check caught it). The M
/// profile has no return-stack predictor for the extra `bl` to unpair;
/// the resumed path takes one more instruction (`b 4f`).
#[cfg(swapctx_thumb)]
macro_rules! suspend_template {
    () => {
        concat!(
            "push {{r6, r7, r11}}\n", // save r6, r7, r11
            "bl 3f\n",                // lr = label 2, with bit 0 set; on to 3
            "2:\n",
            "pop {{r6, r7, r11}}\n", // resumed: restore r6, r7, r11
            "b 4f\n",                // and leave
            "3:\n",
            "push {{lr}}\n",      // save the resume address
            "str sp, [r1, #4]\n", // this = our stack pointer
            "ldr sp, [r1]\n",     // load the resumer's stack pointer
            "pop {{lr}}\n",       // pop its return address
            "bx lr\n",            // return into resume, matching its bl
            "4:\n",
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
            in("r1") slots,
            out("r0") _
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
            "ldr sp, [r1]",                 // load the resumer's stack pointer
            "pop {{lr}}",                   // pop its return address
            "bx lr",                        // return into resume
            in("r1") slots,
            options(noreturn),
        )
    }
}

// `suspend` writes `this` at [r1, #4] and `finish` reads `link` at [r1]:
const _: () = assert!(super::SLOT_LINK == 0 && super::SLOT_THIS == 4);

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
    unsafe { (*uc).uc_mcontext.arm_sp as usize }
}

/// Rewrites the interrupted context so that the return from the handler
/// enters `swapctx_trap_trampoline` (asm, ARM code) with `sp`, `slots` in
/// r4 (for its unwind tables), `entry` in r5, and `entry`'s arguments
/// `(data, slots)`.
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
    /// CPSR's T bit (Thumb state) and IT bits (the state of an IT block):
    /// the trampoline is ARM code, entered outside any IT block.
    const CPSR_T_AND_IT: u32 = (1 << 5) | (0x3f << 10) | (0x3 << 25);
    // SAFETY: per the contract; plain stores into the saved registers.
    unsafe {
        let m = &mut (*uc).uc_mcontext;
        m.arm_pc = super::swapctx_trap_trampoline as *const () as usize as _;
        m.arm_sp = sp as _;
        m.arm_r4 = slots as _;
        m.arm_r5 = entry as _;
        m.arm_r0 = data as _;
        m.arm_r1 = slots as _;
        m.arm_fp = 0;
        m.arm_r7 = 0;
        m.arm_lr = 0;
        m.arm_cpsr &= !(CPSR_T_AND_IT as libc::c_ulong);
    }
}
