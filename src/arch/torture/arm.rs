//! arm's callee-saved state for the register torture: r4-r11, d8-d15 and
//! FPSCR (AAPCS hard-float).

use super::SwitchFn;

/// r4-r11, then d8-d15 as bit patterns, then FPSCR, at the offsets the asm
/// of [`switch_with`] uses: r4-r11 at +0 .. +28, d8-d15 at +32 .. +88,
/// FPSCR at +96.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub gp: [u32; 8],
    pub fp: [u64; 8],
    pub fpscr: u32,
    pub pad: u32,
}

const _: () = assert!(core::mem::size_of::<Regs>() == 104);
// The offsets the asm of `switch_with` uses.
const _: () = assert!(core::mem::offset_of!(Regs, fp) == 32);
const _: () = assert!(core::mem::offset_of!(Regs, fpscr) == 96);

impl Regs {
    /// Distinct values for every register, from `seed`; FPSCR gets an
    /// unusual rounding mode, flush-to-zero and default-NaN setting unless
    /// `default_fp_modes`.
    pub fn pattern(seed: u64, default_fp_modes: bool) -> Regs {
        let mut r = Regs::default();
        for (i, v) in r.gp.iter_mut().enumerate() {
            *v = (seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(i as u32 * 5 + 1)
                >> 16) as u32
                ^ (i as u32 + 1);
        }
        for (i, v) in r.fp.iter_mut().enumerate() {
            *v = seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(i as u32 * 7 + 3)
                ^ (i as u64 + 17);
        }
        if !default_fp_modes {
            // RMode (bits 22-23), FZ (24), DN (25); no trap enables.
            r.fpscr = ((((seed >> 3) & 3) as u32) << 22)
                | ((((seed >> 5) & 1) as u32) << 24)
                | ((((seed >> 6) & 1) as u32) << 25);
        }
        r
    }
}

/// Loads `vals` into every callee-saved register, calls `switch` through a
/// register, and stores what those registers hold afterwards into `out`.
///
/// # Safety
/// As `swapctx_switch` (`switch` is it, or has its contract).
pub unsafe fn switch_with(
    switch: SwitchFn,
    save: *mut *mut u8,
    to: *mut u8,
    value: usize,
    vals: &Regs,
    out: &mut Regs,
) -> usize {
    let ret: usize;
    // SAFETY: the asm saves and restores r6, r7, r11 (which cannot be named
    // as operands) and FPSCR, declares every other register it touches, and
    // calls the switch with sp 16-byte aligned.
    unsafe {
        macro_rules! torture_asm {
            ($($caller_saved:tt)*) => {
                core::arch::asm!(
                    "push {{r6, r7, r11, lr}}",  // the caller's r6, r7, r11
                    "mov r6, sp",
                    "bic r7, r6, #15",
                    "sub r7, r7, #16",
                    "mov sp, r7",                // sp 16-byte aligned, 16 bytes of room
                    "str r6, [sp]",              // the original sp
                    "str r12, [sp, #4]",         // the out pointer
                    "vmrs r6, fpscr",
                    "str r6, [sp, #8]",          // the caller's FPSCR
                    "ldr r6, [r3, #96]",
                    "vmsr fpscr, r6",
                    "add r12, r3, #32",
                    "vldmia r12, {{d8-d15}}",
                    "ldm r3, {{r4-r11}}",
                    "blx lr",
                    "ldr r12, [sp, #4]",
                    "stm r12, {{r4-r11}}",
                    "add r3, r12, #32",
                    "vstmia r3, {{d8-d15}}",
                    "vmrs r3, fpscr",
                    "str r3, [r12, #96]",
                    "ldr r3, [sp, #8]",
                    "vmsr fpscr, r3",            // the caller's FPSCR back
                    "ldr r3, [sp]",
                    "mov sp, r3",                // the original sp back
                    "pop {{r6, r7, r11, lr}}",   // the caller's r6, r7, r11 back
                    in("lr") switch,
                    in("r0") save,
                    in("r1") to,
                    in("r2") value,
                    in("r3") vals as *const Regs,
                    in("r12") out as *mut Regs,
                    lateout("r0") ret,
                    out("r4") _, out("r5") _, out("r8") _, out("r9") _, out("r10") _,
                    out("d8") _, out("d9") _, out("d10") _, out("d11") _,
                    out("d12") _, out("d13") _, out("d14") _, out("d15") _,
                    $($caller_saved)*
                )
            };
        }
        // The caller-saved set of the AAPCS: `clobber_abi("C")`, but by
        // name on bare metal (a Cortex-M4F's FPU has no d16-d31, which
        // `clobber_abi` would list).
        #[cfg(not(target_os = "none"))]
        torture_asm!(clobber_abi("C"));
        #[cfg(target_os = "none")]
        torture_asm!(
            lateout("r1") _, lateout("r2") _, lateout("r3") _, lateout("r12") _,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _,
            out("d4") _, out("d5") _, out("d6") _, out("d7") _,
        );
    }
    ret
}
