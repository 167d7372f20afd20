//! s390x's callee-saved state for the register torture: r6-r13 and
//! f8-f15 (r15 is the stack pointer, r14 the return address).

use super::SwitchFn;

/// r6-r13, then f8-f15 as bit patterns: r6-r13 at +0 .. +56, f8-f15 at
/// +64 .. +120, the offsets the asm of [`switch_with`] uses.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub gp: [u64; 8],
    pub fp: [u64; 8],
}

const _: () = assert!(core::mem::size_of::<Regs>() == 128);

impl Regs {
    /// Distinct values for every register, from `seed` (the flag is for
    /// x86_64's floating-point modes; s390x has none to keep).
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

/// Loads `vals` into every callee-saved register, calls `switch` through
/// a register, and stores what those registers hold afterwards into `out`.
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
    // SAFETY: the asm makes a frame (a 160-byte register save area for
    // the switch, then two words), saves r11 (the frame pointer, which
    // cannot be named as an operand) and restores it at the end, and
    // declares every other register it touches.
    unsafe {
        core::arch::asm!(
            "aghi %r15, -176",
            "stg %r11, 160(%r15)",       // the caller's r11
            "stg %r0, 168(%r15)",        // the out pointer
            "lmg %r6, %r13, 0(%r5)",
            "ld %f8, 64(%r5)",
            "ld %f9, 72(%r5)",
            "ld %f10, 80(%r5)",
            "ld %f11, 88(%r5)",
            "ld %f12, 96(%r5)",
            "ld %f13, 104(%r5)",
            "ld %f14, 112(%r5)",
            "ld %f15, 120(%r5)",
            "basr %r14, %r1",
            "lg %r1, 168(%r15)",
            "stmg %r6, %r13, 0(%r1)",
            "std %f8, 64(%r1)",
            "std %f9, 72(%r1)",
            "std %f10, 80(%r1)",
            "std %f11, 88(%r1)",
            "std %f12, 96(%r1)",
            "std %f13, 104(%r1)",
            "std %f14, 112(%r1)",
            "std %f15, 120(%r1)",
            "lg %r11, 160(%r15)",        // the caller's r11 back
            "aghi %r15, 176",
            in("r1") switch,
            in("r0") out as *mut Regs,
            in("r2") save,
            in("r3") to,
            in("r4") value,
            in("r5") vals as *const Regs,
            lateout("r2") ret,
            out("r6") _, out("r7") _, out("r8") _, out("r9") _, out("r10") _,
            out("r12") _, out("r13") _,
            out("f8") _, out("f9") _, out("f10") _, out("f11") _,
            out("f12") _, out("f13") _, out("f14") _, out("f15") _,
            clobber_abi("C"),
        );
    }
    ret
}
