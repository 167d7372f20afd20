//! powerpc64 ELFv2 (ppc64le Linux): the saved frame of
//! `asm/switch_powerpc64_elfv2_elf_gas.S`.
//!
//! A fresh context, as `init_stack` leaves it:
//!
//! ```text
//!   top ───────────►  +-------------------------+ (16-byte aligned)
//!                     | TOP_RESERVED (16 bytes) | coroutine slots
//!   top-16 ────────►  +-------------------------+
//!                     | TOC save = 0            | +552  the trampoline's
//!                     | LR = trampoline         | +544  header (HEADER_SIZE),
//!                     | CR = 0                  | +536  where the entry
//!                     | back chain = 0          | +528  saves its LR
//!   top-48 ────────►  +-------------------------+ r1 when the trampoline runs
//!                     | v31 .. v20 = 0          | +512 .. +336
//!                     | VRSAVE = the creator's  | +320
//!                     | f31 .. f14 = 0          | +312 .. +176
//!                     | r31 .. r17 = 0          | +168 .. +56
//!                     | r16 = on_return         | +48
//!                     | r15 = data              | +40
//!                     | r14 = entry             | +32
//!                     | r2 = this module's TOC  | +24
//!                     | (header, unused)        | +8 .. +16
//!                     | back chain = top-48     | +0
//!   sp = top-576 ──►  +-------------------------+
//! ```

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_BACKCHAIN == 0 && OFF_R2 == 24 && OFF_R2 + 8 == OFF_R14);
const _: () = assert!(OFF_R14 + 8 * 18 == OFF_F14);
const _: () = assert!(OFF_F14 + 8 * 18 == OFF_VRSAVE);
const _: () = assert!(OFF_VRSAVE + 16 == OFF_V20 && OFF_V20 % 16 == 0);
const _: () = assert!(OFF_V20 + 16 * 12 == FRAME_SIZE);
const _: () = assert!(OFF_CR == FRAME_SIZE + 8 && OFF_LR == FRAME_SIZE + 16);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0 && HEADER_SIZE % STACK_ALIGN == 0);
const _: () = assert!(TOP_RESERVED % STACK_ALIGN == 0);
// The inline asm below spells these offsets as numbers.
const _: () = assert!(
    CO_OFF_RESUME == 16
        && CO_OFF_R2 == 24
        && CO_OFF_R30 == 32
        && CO_OFF_R31 == 40
        && CO_OFF_VRSAVE == 48
        && CO_FRAME_SIZE == 64
);
const _: () = assert!(INIT_OFF_TRAMPOLINE == CO_OFF_RESUME && COROUTINE_INIT_SIZE >= HEADER_SIZE);

/// Bytes a fresh context needs above the switch's frame, besides
/// `TOP_RESERVED`: the header the trampoline gives the entry function.
pub(crate) const CALLER_AREA: usize = HEADER_SIZE;

/// This module's TOC pointer (r2), which a fresh context starts with.
fn toc() -> usize {
    let r2: usize;
    // SAFETY: copies r2 into a register; nothing else.
    unsafe { core::arch::asm!("mr {}, 2", out(reg) r2, options(nomem, nostack, preserves_flags)) };
    r2
}

/// The running thread's VRSAVE, which a fresh context starts with.
fn vrsave() -> usize {
    let v: usize;
    // SAFETY: reads VRSAVE (SPR 256) into a register; nothing else.
    unsafe {
        core::arch::asm!("mfvrsave {}", out(reg) v, options(nomem, nostack, preserves_flags))
    };
    v
}

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
    let header = top.wrapping_sub(TOP_RESERVED + HEADER_SIZE);
    let sp = header.wrapping_sub(FRAME_SIZE);
    // SAFETY: the caller guarantees the bytes from `sp` to `top` are
    // writable; `sp` is 16-byte aligned, so every 8-byte slot is aligned.
    unsafe {
        let words = sp.cast::<usize>();
        for i in 0..((FRAME_SIZE + HEADER_SIZE) / 8) {
            words.add(i).write(0);
        }
        sp.add(OFF_BACKCHAIN).cast::<usize>().write(header as usize);
        sp.add(OFF_R2).cast::<usize>().write(toc());
        sp.add(OFF_R14).cast::<usize>().write(entry);
        sp.add(OFF_R14 + 8).cast::<usize>().write(data);
        sp.add(OFF_R14 + 16).cast::<usize>().write(on_return);
        sp.add(OFF_VRSAVE).cast::<u32>().write(vrsave() as u32);
        sp.add(OFF_LR)
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
    // FRAME_SIZE bytes and the caller's header above them are the saved
    // frame.
    unsafe {
        let w = |off: usize| sp.add(off).cast::<u64>().read();
        let w32 = |off: usize| u64::from(sp.add(off).cast::<u32>().read());
        let mut r = Regs::default();
        for i in 0..18 {
            r.gp[i] = w(OFF_R14 + 8 * i);
            r.fp[i] = w(OFF_F14 + 8 * i);
        }
        for i in 0..12 {
            r.v[i] = [w(OFF_V20 + 16 * i), w(OFF_V20 + 16 * i + 8)];
        }
        r.cr = w32(OFF_CR) & super::torture::CR_NONVOLATILE;
        r.vrsave = w32(OFF_VRSAVE);
        r.toc = w(OFF_R2);
        r
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch: inline asm, as on the other architectures (see
// src/arch/x86_64.rs for the scheme, and the powerpc64 `.S` file for the
// frames and the return-address prediction). Each side makes a frame with
// `stdu` (the back chain stays whole) and saves in it by hand what cannot
// be an asm operand: r2 (the TOC), r30 and r31 (LLVM's base and frame
// pointers) and VRSAVE. `bl` into the switch and the coroutine's matching
// `blr` keep the link stack balanced; the way into the coroutine is a
// `bctr` to its saved resume address. r14-r29, f14-f31, v20-v31 and
// CR2-CR4 are declared clobbered, so the compiler saves those that are
// live.
//
// A suspended side's stack, at its saved r1:
//
//   r1+0   back chain           r1+32  r30
//   r1+8   (unused)             r1+40  r31
//   r1+16  resume address       r1+48  VRSAVE
//   r1+24  r2                   r1+56  (padding)

/// `asm!` for `resume` and `suspend`, followed by the operands both share:
/// r14-r29, f14-f31, v20-v31 and CR2-CR4 declared clobbered (the other
/// side runs arbitrary code in between; r2, r30, r31 and VRSAVE, which
/// cannot be operands, are saved by hand in the template), and the rest of
/// the caller-saved set of the ABI. One list, so the two sides cannot
/// drift apart.
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("r14") _, out("r15") _, out("r16") _, out("r17") _, out("r18") _,
            out("r19") _, out("r20") _, out("r21") _, out("r22") _, out("r23") _,
            out("r24") _, out("r25") _, out("r26") _, out("r27") _, out("r28") _,
            out("r29") _,
            out("f14") _, out("f15") _, out("f16") _, out("f17") _, out("f18") _,
            out("f19") _, out("f20") _, out("f21") _, out("f22") _, out("f23") _,
            out("f24") _, out("f25") _, out("f26") _, out("f27") _, out("f28") _,
            out("f29") _, out("f30") _, out("f31") _,
            out("v20") _, out("v21") _, out("v22") _, out("v23") _, out("v24") _,
            out("v25") _, out("v26") _, out("v27") _, out("v28") _, out("v29") _,
            out("v30") _, out("v31") _,
            out("cr2") _, out("cr3") _, out("cr4") _,
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
            "stdu 1, -64(1)\n", // a frame for the words below (back chain kept)
            "std 2, 24(1)\n",   // save r2 (the TOC; reserved)
            "std 30, 32(1)\n",  // save r30 (base pointer; not an operand)
            "std 31, 40(1)\n",  // save r31 (frame pointer; not an operand)
            "mfvrsave 0\n",     // r0 = VRSAVE (reserved)
            "std 0, 48(1)\n",   // save it
            "bl {enter}\n",     // LR = our resume address; swapctx_coroutine_enter
            // saves it and r1 in link, loads `this`, jumps in
            "ld 0, 48(1)\n",   // back: r0 = the saved VRSAVE
            "mtvrsave 0\n",    // restore VRSAVE
            "ld 2, 24(1)\n",   // restore r2
            "ld 30, 32(1)\n",  // restore r30
            "ld 31, 40(1)\n",  // restore r31
            "addi 1, 1, 64\n", // drop the frame
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
    // SAFETY: per the contract. r1, r2, r30, r31 and VRSAVE are as they
    // were when the coroutine switches back; every other register is
    // declared clobbered.
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("r4") slots,
            out("r3") _
        );
    }
}

/// The template of [`suspend`]: saves the same words as
/// `resume_template!`, in the same places.
macro_rules! suspend_template {
    () => {
        concat!(
            "stdu 1, -64(1)\n",     // a frame for the words below
            "std 2, 24(1)\n",       // save r2
            "std 30, 32(1)\n",      // save r30
            "std 31, 40(1)\n",      // save r31
            "mfvrsave 0\n",         // r0 = VRSAVE
            "std 0, 48(1)\n",       // save it
            "bcl 20, 31, 3f\n",     // LR = address of 3 (no link-stack push)
            "3: mflr 5\n",          // r5 = address of 3
            "addi 5, 5, 2f - 3b\n", // r5 = where we resume
            "std 5, 16(1)\n",       // save it (the header's LR doubleword)
            "std 1, 8(4)\n",        // this = our stack pointer
            "ld 1, 0(4)\n",         // load the resumer's stack pointer
            "ld 0, 16(1)\n",        // its resume address
            "mtlr 0\n",             // into LR
            "blr\n",                // return into resume, matching its bl
            "2:\n",
            "ld 0, 48(1)\n",   // resumed: r0 = the saved VRSAVE
            "mtvrsave 0\n",    // restore VRSAVE
            "ld 2, 24(1)\n",   // restore r2
            "ld 30, 32(1)\n",  // restore r30
            "ld 31, 40(1)\n",  // restore r31
            "addi 1, 1, 64\n", // drop the frame
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
            in("r4") slots,
            out("r3") _
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
            "ld 1, 0(4)",                   // load the resumer's stack pointer
            "ld 0, 16(1)",                  // its resume address
            "mtlr 0",                       // into LR
            "blr",                          // return into resume
            in("r4") slots,
            options(noreturn),
        )
    }
}

// ---------------------------------------------------------------------------
// Trap recovery (src/coroutine/trap.rs): reading and rewriting the context
// a signal interrupted. The kernel's register file (`gp_regs`, as
// `struct pt_regs`): r0-r31 at 0-31, then NIP (32), MSR, ORIG_R3, CTR
// (35), LINK (36).

/// `gp_regs` index of the next instruction address.
#[cfg(feature = "std")]
const PT_NIP: usize = 32;
/// `gp_regs` index of CTR.
#[cfg(feature = "std")]
const PT_CTR: usize = 35;
/// `gp_regs` index of LR.
#[cfg(feature = "std")]
const PT_LNK: usize = 36;

/// The stack pointer of the context a signal interrupted.
///
/// # Safety
/// `uc` is the `ucontext_t` a `SA_SIGINFO` handler was given.
#[cfg(feature = "std")]
pub(crate) unsafe fn trap_sp(uc: *const libc::ucontext_t) -> usize {
    // SAFETY: per the contract.
    unsafe { (*uc).uc_mcontext.gp_regs[1] as usize }
}

/// Rewrites the interrupted context so that the return from the handler
/// enters `swapctx_trap_trampoline` (asm) with r1 a header below `sp`,
/// `slots` in r14 (for its CFI), `entry` in r12 and CTR (its global entry
/// point wants r12), and `entry`'s arguments `(data, slots)`.
///
/// # Safety
/// `uc` is the `ucontext_t` a `SA_SIGINFO` handler was given; `sp` is
/// 16-byte aligned on a stack the entry may use, with `HEADER_SIZE`
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
    let r1 = sp - HEADER_SIZE;
    // SAFETY: per the contract; plain stores into the saved registers, and
    // the back chain of the entry's header (0: the end of the chain).
    unsafe {
        (r1 as *mut usize).write(0);
        let g = &mut (*uc).uc_mcontext.gp_regs;
        g[PT_NIP] = super::swapctx_trap_trampoline as *const () as usize as libc::c_ulong;
        g[1] = r1 as libc::c_ulong;
        g[14] = slots as libc::c_ulong;
        g[12] = entry as libc::c_ulong;
        g[PT_CTR] = entry as libc::c_ulong;
        g[3] = data as libc::c_ulong;
        g[4] = slots as libc::c_ulong;
        g[31] = 0;
        g[PT_LNK] = 0;
    }
}
