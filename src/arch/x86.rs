//! x86 (i386, 32-bit) System V: the saved frame of
//! `asm/switch_i386_sysv_elf_gas.S`. src/arch/x86_64.rs is the fully
//! commented reference; this module comments where i386 differs.
//!
//! A fresh context, as `init_stack` leaves it (addresses grow upwards):
//!
//! ```text
//!   top ──────────────►  +------------------------+  (16-byte aligned)
//!                        | TOP_RESERVED (16 bytes)|  coroutine slots
//!   top-16 ───────────►  +------------------------+  esp when the trampoline runs
//!                        | return addr: trampoline|  +28
//!                        | ebp = 0                |  +24
//!                        | ebx = on_return        |  +20
//!                        | esi = entry            |  +16
//!                        | edi = data             |  +12
//!                        | padding                |  +8
//!                        | MXCSR, x87 CW          |  +0, +4
//!   sp = top-48 ──────►  +------------------------+  (16-byte aligned)
//! ```

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_X87CW + 4 == OFF_PAD);
const _: () = assert!(OFF_PAD + 4 == OFF_EDI);
const _: () = assert!(OFF_EDI + 4 == OFF_ESI && OFF_ESI + 4 == OFF_EBX);
const _: () = assert!(OFF_EBX + 4 == OFF_EBP && OFF_EBP + 4 == OFF_RET);
const _: () = assert!(OFF_RET + 4 == FRAME_SIZE);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0);
const _: () = assert!(TOP_RESERVED % STACK_ALIGN == 0);
const _: () = assert!(CO_OFF_ESI == CO_OFF_RESUME + 4 && CO_OFF_EBP == CO_OFF_ESI + 4);
const _: () = assert!(CO_FRAME_SIZE == CO_OFF_EBP + 4);

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
    // writable; every offset is below FRAME_SIZE and 4-byte aligned.
    unsafe {
        sp.add(OFF_MXCSR).cast::<u32>().write(DEFAULT_MXCSR);
        sp.add(OFF_X87CW).cast::<u16>().write(DEFAULT_X87CW);
        sp.add(OFF_X87CW + 2).cast::<u16>().write(0);
        sp.add(OFF_PAD).cast::<usize>().write(0);
        sp.add(OFF_EDI).cast::<usize>().write(data);
        sp.add(OFF_ESI).cast::<usize>().write(entry);
        sp.add(OFF_EBX).cast::<usize>().write(on_return);
        sp.add(OFF_EBP).cast::<usize>().write(0);
        sp.add(OFF_RET)
            .cast::<usize>()
            .write(super::swapctx_trampoline as *const () as usize);
        // The reserved words: zero, so a stray read sees nothing.
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
        let w = |off: usize| sp.add(off).cast::<u32>().read();
        Regs {
            gp: [w(OFF_EBX), w(OFF_ESI), w(OFF_EDI), w(OFF_EBP)],
            mxcsr: w(OFF_MXCSR),
            x87cw: sp.add(OFF_X87CW).cast::<u16>().read(),
            pad: 0,
        }
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch: inline asm, as on x86_64 (see src/arch/x86_64.rs
// for the scheme). On i386 LLVM reserves esi (its base pointer) and ebp
// (the frame pointer), so those two are saved by hand; ebx and edi are
// declared clobbered. `resume` enters with a `call` and the coroutine
// comes back with the matching `ret`.
//
// i386 has no eip-relative `lea`, and an absolute address in the code
// would be a text relocation in a position-independent executable; so
// `suspend` finds its resume address with `call 3f; 3: pop`, a call to the
// next instruction, which processors treat as a way to read eip and do not
// push on their return-stack predictor.
//
// A suspended side's stack, at its saved stack pointer:
//
//   resumer (in `resume`)          coroutine (in `suspend`)
//   sp+0   return address         sp+0   resume address (label 2)
//   sp+4   esi                    sp+4   esi
//   sp+8   ebp                    sp+8   ebp

/// `asm!` for `resume` and `suspend` (in AT&T syntax, like the .S file:
/// LLVM's Intel-syntax parser takes no difference of two labels as an
/// immediate), followed by the operands both share:
/// ebx and edi declared clobbered (the other side runs arbitrary code in
/// between; esi and ebp, which cannot be operands, are saved by hand in the
/// template), and the rest of the caller-saved set of the ABI. One list, so
/// the two sides cannot drift apart.
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("ebx") _, out("edi") _,
            clobber_abi("C"),
            options(att_syntax),
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
            "pushl %ebp\n",    // save ebp (the frame pointer)
            "pushl %esi\n",    // save esi (LLVM's base pointer)
            "calll {enter}\n", // push our resume address; swapctx_coroutine_enter
            // saves esp in link, loads `this`, jumps in
            "popl %esi\n", // back: restore esi
            "popl %ebp\n", // and ebp
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
    // SAFETY: per the contract. The asm leaves esp, esi and ebp as it
    // found them when the coroutine switches back, and declares every other
    // register clobbered (the coroutine runs arbitrary code meanwhile).
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("ecx") slots,
            out("eax") _
        );
    }
}

/// The template of [`suspend`]: saves the same words as
/// `resume_template!`, in the same places.
macro_rules! suspend_template {
    () => {
        concat!(
            "pushl %ebp\n", // save ebp
            "pushl %esi\n", // save esi
            "calll 3f\n",   // read eip (a call to the next instruction)
            "3:\n",
            "popl %edx\n",             // edx = label 3
            "addl $(2f - 3b), %edx\n", // edx = label 2, where we resume
            "pushl %edx\n",            // save it
            "movl %esp, 4(%ecx)\n",    // this = our stack pointer
            "movl (%ecx), %esp\n",     // load the resumer's stack pointer
            "retl\n",                  // return into resume, matching its call
            "2:\n",
            "popl %esi\n", // resumed: restore esi
            "popl %ebp\n", // and ebp
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
            in("ecx") slots,
            out("eax") _
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
    // `resume`.
    unsafe {
        core::arch::asm!(
            "movl (%ecx), %esp",        // load the resumer's stack pointer
            "retl",                     // return into resume, matching its call
            in("ecx") slots,
            options(noreturn, att_syntax),
        )
    }
}

// `suspend` writes `this` at [ecx + 4] and `finish` reads `link` at [ecx]:
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
    unsafe { (*uc).uc_mcontext.gregs[libc::REG_ESP as usize] as u32 as usize }
}

/// Rewrites the interrupted context so that the return from the handler
/// enters `swapctx_trap_trampoline` (asm) with `sp`, `slots` in ebx (for
/// its CFI), `entry` in esi and `data` in edi (the trampoline pushes
/// `entry`'s arguments `(data, slots)`).
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
    const EFLAGS_DF: i32 = 1 << 10;
    // SAFETY: per the contract; plain stores into the saved registers.
    unsafe {
        let g = &mut (*uc).uc_mcontext.gregs;
        g[libc::REG_EIP as usize] = super::swapctx_trap_trampoline as *const () as usize as i32;
        g[libc::REG_ESP as usize] = sp as i32;
        g[libc::REG_UESP as usize] = sp as i32;
        g[libc::REG_EBX as usize] = slots as i32;
        g[libc::REG_ESI as usize] = entry as i32;
        g[libc::REG_EDI as usize] = data as i32;
        g[libc::REG_EBP as usize] = 0;
        g[libc::REG_EFL as usize] &= !EFLAGS_DF;
    }
}
