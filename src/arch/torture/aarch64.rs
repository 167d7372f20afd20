//! aarch64's callee-saved state for the register torture: x19-x29 and
//! d8-d15 (AAPCS64).

use super::SwitchFn;

/// x19-x29, then d8-d15 as bit patterns, at the offsets the asm of
/// [`switch_with`] uses.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub gp: [u64; 11],
    pub fp: [u64; 8],
}

const _: () = assert!(core::mem::size_of::<Regs>() == 152);

impl Regs {
    /// Distinct values for every register, from `seed` (the flag is for
    /// x86_64's floating-point modes; aarch64 has none to keep).
    pub fn pattern(seed: u64, _default_fp_modes: bool) -> Regs {
        let mut r = Regs::default();
        for (i, v) in r.gp.iter_mut().chain(r.fp.iter_mut()).enumerate() {
            *v = seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(i as u32 * 5 + 1)
                ^ (i as u64 + 1);
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
    // SAFETY: the asm saves and restores x19 and x29 (which cannot be named
    // as operands), declares every other register it touches, and keeps sp
    // 16-byte aligned.
    unsafe {
        core::arch::asm!(
            "stp x19, x29, [sp, #-16]!", // the caller's x19 and x29
            "stp x9, xzr, [sp, #-16]!",  // the out pointer
            "ldp x19, x20, [x8, #0]",
            "ldp x21, x22, [x8, #16]",
            "ldp x23, x24, [x8, #32]",
            "ldp x25, x26, [x8, #48]",
            "ldp x27, x28, [x8, #64]",
            "ldr x29, [x8, #80]",
            "ldp d8, d9, [x8, #88]",
            "ldp d10, d11, [x8, #104]",
            "ldp d12, d13, [x8, #120]",
            "ldp d14, d15, [x8, #136]",
            "blr x10",
            "ldr x9, [sp]",
            "stp x19, x20, [x9, #0]",
            "stp x21, x22, [x9, #16]",
            "stp x23, x24, [x9, #32]",
            "stp x25, x26, [x9, #48]",
            "stp x27, x28, [x9, #64]",
            "str x29, [x9, #80]",
            "stp d8, d9, [x9, #88]",
            "stp d10, d11, [x9, #104]",
            "stp d12, d13, [x9, #120]",
            "stp d14, d15, [x9, #136]",
            "add sp, sp, #16",
            "ldp x19, x29, [sp], #16",   // the caller's x19 and x29 back
            in("x10") switch,
            in("x0") save,
            in("x1") to,
            in("x2") value,
            in("x8") vals as *const Regs,
            in("x9") out as *mut Regs,
            lateout("x0") ret,
            out("x20") _, out("x21") _, out("x22") _, out("x23") _, out("x24") _,
            out("x25") _, out("x26") _, out("x27") _, out("x28") _,
            out("v8") _, out("v9") _, out("v10") _, out("v11") _,
            out("v12") _, out("v13") _, out("v14") _, out("v15") _,
            clobber_abi("C"),
        );
    }
    ret
}
