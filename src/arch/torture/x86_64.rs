//! x86_64's callee-saved state for the register torture: rbx, rbp,
//! r12-r15, MXCSR and the x87 control word (System V ABI).

use super::SwitchFn;

/// MXCSR at reset: every exception masked, round to nearest.
pub const DEFAULT_MXCSR: u32 = 0x1f80;
/// The x87 control word at reset: every exception masked, 64-bit
/// precision, round to nearest.
pub const DEFAULT_X87CW: u16 = 0x037f;

/// rbx, rbp, r12-r15, then MXCSR and the x87 control word, at the offsets
/// the asm of [`switch_with`] uses.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub gp: [u64; 6],
    pub mxcsr: u32,
    pub x87cw: u16,
    pub pad: u16,
}

const _: () = assert!(core::mem::size_of::<Regs>() == 56);

impl Regs {
    /// Distinct values for every register, from `seed`; MXCSR and the x87
    /// control word get an unusual rounding mode (and precision), unless
    /// `default_fp_modes`.
    pub fn pattern(seed: u64, default_fp_modes: bool) -> Regs {
        let mut gp = [0u64; 6];
        for (i, r) in gp.iter_mut().enumerate() {
            *r = seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(i as u32 * 9 + 1)
                ^ (i as u64 + 1);
        }
        if default_fp_modes {
            return Regs {
                gp,
                mxcsr: DEFAULT_MXCSR,
                x87cw: DEFAULT_X87CW,
                pad: 0,
            };
        }
        // All exceptions masked; rounding mode bits 13-14, FTZ (15), DAZ (6).
        let rc = ((seed >> 3) & 3) as u32;
        let mxcsr = DEFAULT_MXCSR
            | (rc << 13)
            | (((seed >> 5) & 1) as u32) << 15
            | (((seed >> 6) & 1) as u32) << 6;
        // Exceptions masked (0x7f with reserved bit 6 set); precision bits
        // 8-9 (0b01 is reserved, so 0b00, 0b10, 0b11), rounding bits 10-11.
        let pc = [0u16, 2, 3][(seed % 3) as usize];
        let x87cw = 0x007f | (pc << 8) | ((((seed >> 7) & 3) as u16) << 10);
        Regs {
            gp,
            mxcsr,
            x87cw,
            pad: 0,
        }
    }
}

/// Loads `vals` into every callee-saved register, calls `switch` through a
/// register, and stores what those registers hold when it returns into
/// `out`. The caller's own rbx, rbp, MXCSR and control word are kept.
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
    // SAFETY: the asm keeps rsp, rbx, rbp, MXCSR and the control word as it
    // found them, declares every other register it touches, and calls the
    // switch with a 16-byte aligned stack as the ABI wants.
    unsafe {
        core::arch::asm!(
            "push rbx",                 // the caller's rbx
            "push rbp",                 // and rbp
            "mov rax, rsp",
            "and rsp, -16",
            "sub rsp, 32",
            "mov [rsp + 16], rax",      // the original rsp
            "mov [rsp + 24], r9",       // the out pointer
            "stmxcsr [rsp]",            // the caller's MXCSR
            "fnstcw [rsp + 4]",         // and x87 control word
            "mov rbx, [r8]",
            "mov rbp, [r8 + 8]",
            "mov r12, [r8 + 16]",
            "mov r13, [r8 + 24]",
            "mov r14, [r8 + 32]",
            "mov r15, [r8 + 40]",
            "ldmxcsr [r8 + 48]",
            "fldcw [r8 + 52]",
            "call r10",
            "mov rcx, [rsp + 24]",
            "mov [rcx], rbx",
            "mov [rcx + 8], rbp",
            "mov [rcx + 16], r12",
            "mov [rcx + 24], r13",
            "mov [rcx + 32], r14",
            "mov [rcx + 40], r15",
            "stmxcsr [rcx + 48]",
            "fnstcw [rcx + 52]",
            "ldmxcsr [rsp]",            // the caller's MXCSR back
            "fldcw [rsp + 4]",          // and control word
            "mov rsp, [rsp + 16]",      // the original rsp back
            "pop rbp",                  // the caller's rbp back
            "pop rbx",                  // and rbx
            in("r10") switch,
            in("rdi") save,
            in("rsi") to,
            in("rdx") value,
            in("r8") vals as *const Regs,
            in("r9") out as *mut Regs,
            lateout("rax") ret,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            clobber_abi("C"),
        );
    }
    ret
}
