//! riscv64's callee-saved state for the register torture: s0-s11 and
//! fs0-fs11 (LP64D).

use super::SwitchFn;

/// s0-s11, then fs0-fs11 as bit patterns: s0-s11 at +0 .. +88, fs0-fs11 at
/// +96 .. +184, the offsets the asm of [`switch_with`] uses.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub gp: [u64; 12],
    pub fp: [u64; 12],
}

const _: () = assert!(core::mem::size_of::<Regs>() == 192);

impl Regs {
    /// Distinct values for every register, from `seed` (the flag is for
    /// x86_64's floating-point modes; riscv64 has none to keep).
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
    // SAFETY: the asm saves and restores s0 (the frame pointer) and s1
    // (LLVM's base pointer), which cannot be named as operands, declares
    // every other register it touches, and keeps sp 16-byte aligned.
    unsafe {
        core::arch::asm!(
            "addi sp, sp, -32",
            "sd s0, 0(sp)",              // the caller's s0
            "sd s1, 8(sp)",              // the caller's s1
            "sd a4, 16(sp)",             // the out pointer
            "ld s0, 0(a3)",
            "ld s1, 8(a3)",
            "ld s2, 16(a3)",
            "ld s3, 24(a3)",
            "ld s4, 32(a3)",
            "ld s5, 40(a3)",
            "ld s6, 48(a3)",
            "ld s7, 56(a3)",
            "ld s8, 64(a3)",
            "ld s9, 72(a3)",
            "ld s10, 80(a3)",
            "ld s11, 88(a3)",
            "fld fs0, 96(a3)",
            "fld fs1, 104(a3)",
            "fld fs2, 112(a3)",
            "fld fs3, 120(a3)",
            "fld fs4, 128(a3)",
            "fld fs5, 136(a3)",
            "fld fs6, 144(a3)",
            "fld fs7, 152(a3)",
            "fld fs8, 160(a3)",
            "fld fs9, 168(a3)",
            "fld fs10, 176(a3)",
            "fld fs11, 184(a3)",
            "jalr t1",
            "ld t0, 16(sp)",
            "sd s0, 0(t0)",
            "sd s1, 8(t0)",
            "sd s2, 16(t0)",
            "sd s3, 24(t0)",
            "sd s4, 32(t0)",
            "sd s5, 40(t0)",
            "sd s6, 48(t0)",
            "sd s7, 56(t0)",
            "sd s8, 64(t0)",
            "sd s9, 72(t0)",
            "sd s10, 80(t0)",
            "sd s11, 88(t0)",
            "fsd fs0, 96(t0)",
            "fsd fs1, 104(t0)",
            "fsd fs2, 112(t0)",
            "fsd fs3, 120(t0)",
            "fsd fs4, 128(t0)",
            "fsd fs5, 136(t0)",
            "fsd fs6, 144(t0)",
            "fsd fs7, 152(t0)",
            "fsd fs8, 160(t0)",
            "fsd fs9, 168(t0)",
            "fsd fs10, 176(t0)",
            "fsd fs11, 184(t0)",
            "ld s1, 8(sp)",              // the caller's s1 back
            "ld s0, 0(sp)",              // the caller's s0 back
            "addi sp, sp, 32",
            in("t1") switch,
            in("a0") save,
            in("a1") to,
            in("a2") value,
            in("a3") vals as *const Regs,
            in("a4") out as *mut Regs,
            lateout("a0") ret,
            out("s2") _, out("s3") _, out("s4") _, out("s5") _, out("s6") _,
            out("s7") _, out("s8") _, out("s9") _, out("s10") _, out("s11") _,
            out("fs0") _, out("fs1") _, out("fs2") _, out("fs3") _,
            out("fs4") _, out("fs5") _, out("fs6") _, out("fs7") _,
            out("fs8") _, out("fs9") _, out("fs10") _, out("fs11") _,
            clobber_abi("C"),
        );
    }
    ret
}
