//! x86_64 Windows' callee-saved state for the register torture: rbx, rbp,
//! rdi, rsi, r12-r15, xmm6-xmm15 (all 128 bits), MXCSR and the x87
//! control word (Microsoft x64 ABI).

use super::SwitchFn;

/// MXCSR at reset: every exception masked, round to nearest.
pub const DEFAULT_MXCSR: u32 = 0x1f80;
/// The x87 control word at reset: every exception masked, 64-bit
/// precision, round to nearest.
pub const DEFAULT_X87CW: u16 = 0x037f;

/// rbx, rbp, rdi, rsi, r12-r15, xmm6-xmm15, then MXCSR and the x87 control
/// word, at the offsets the asm of [`switch_with`] uses.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub gp: [u64; 8],
    pub xmm: [u128; 10],
    pub mxcsr: u32,
    pub x87cw: u16,
    pub pad: u16,
}

const _: () = assert!(core::mem::offset_of!(Regs, xmm) == 64);
const _: () = assert!(core::mem::offset_of!(Regs, mxcsr) == 224);
const _: () = assert!(core::mem::offset_of!(Regs, x87cw) == 228);

impl Regs {
    /// Distinct values for every register, from `seed`; MXCSR and the x87
    /// control word get an unusual rounding mode (and precision), unless
    /// `default_fp_modes`.
    pub fn pattern(seed: u64, default_fp_modes: bool) -> Regs {
        let mut gp = [0u64; 8];
        for (i, r) in gp.iter_mut().enumerate() {
            *r = seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(i as u32 * 7 + 1)
                ^ (i as u64 + 1);
        }
        let mut xmm = [0u128; 10];
        for (i, x) in xmm.iter_mut().enumerate() {
            let lo = seed
                .wrapping_mul(0xD6E8_FEB8_6659_FD93)
                .rotate_left(i as u32 * 5 + 3);
            let hi = !lo.rotate_left(17) ^ (i as u64 + 0x100);
            *x = (hi as u128) << 64 | lo as u128;
        }
        if default_fp_modes {
            return Regs {
                gp,
                xmm,
                mxcsr: DEFAULT_MXCSR,
                x87cw: DEFAULT_X87CW,
                pad: 0,
            };
        }
        // As on System V: rounding mode, FTZ and DAZ in MXCSR; precision
        // and rounding in the x87 control word.
        let rc = ((seed >> 3) & 3) as u32;
        let mxcsr = DEFAULT_MXCSR
            | (rc << 13)
            | (((seed >> 5) & 1) as u32) << 15
            | (((seed >> 6) & 1) as u32) << 6;
        let pc = [0u16, 2, 3][(seed % 3) as usize];
        let x87cw = 0x007f | (pc << 8) | ((((seed >> 7) & 3) as u16) << 10);
        Regs {
            gp,
            xmm,
            mxcsr,
            x87cw,
            pad: 0,
        }
    }
}

/// Loads `vals` into every callee-saved register, calls `switch` (with the
/// Microsoft ABI: rcx, rdx, r8 and 32 bytes of shadow space) through a
/// register, and stores what those registers hold when it returns into
/// `out`. The caller's own rbx, rbp, MXCSR and control word are kept; rdi,
/// rsi and xmm6-xmm15 are declared clobbered, so the compiler keeps them.
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
    // found them, declares every other register it touches (the sysv64
    // list covers rdi, rsi and all xmm registers), and calls the switch
    // with a 16-byte aligned stack and shadow space.
    unsafe {
        core::arch::asm!(
            "push rbx",                 // the caller's rbx
            "push rbp",                 // and rbp
            "mov r9, rsp",
            "and rsp, -16",
            "sub rsp, 64",              // shadow space (32) and our 32 bytes
            "mov [rsp + 32], r9",       // the original rsp
            "mov [rsp + 40], rax",      // the out pointer
            "stmxcsr [rsp + 48]",       // the caller's MXCSR
            "fnstcw [rsp + 52]",        // and x87 control word
            "mov rbx, [r11]",
            "mov rbp, [r11 + 8]",
            "mov rdi, [r11 + 16]",
            "mov rsi, [r11 + 24]",
            "mov r12, [r11 + 32]",
            "mov r13, [r11 + 40]",
            "mov r14, [r11 + 48]",
            "mov r15, [r11 + 56]",
            "movups xmm6, [r11 + 64]",
            "movups xmm7, [r11 + 80]",
            "movups xmm8, [r11 + 96]",
            "movups xmm9, [r11 + 112]",
            "movups xmm10, [r11 + 128]",
            "movups xmm11, [r11 + 144]",
            "movups xmm12, [r11 + 160]",
            "movups xmm13, [r11 + 176]",
            "movups xmm14, [r11 + 192]",
            "movups xmm15, [r11 + 208]",
            "ldmxcsr [r11 + 224]",
            "fldcw [r11 + 228]",
            "call r10",                 // switch(rcx = save, rdx = to, r8 = value)
            "mov rcx, [rsp + 40]",
            "mov [rcx], rbx",
            "mov [rcx + 8], rbp",
            "mov [rcx + 16], rdi",
            "mov [rcx + 24], rsi",
            "mov [rcx + 32], r12",
            "mov [rcx + 40], r13",
            "mov [rcx + 48], r14",
            "mov [rcx + 56], r15",
            "movups [rcx + 64], xmm6",
            "movups [rcx + 80], xmm7",
            "movups [rcx + 96], xmm8",
            "movups [rcx + 112], xmm9",
            "movups [rcx + 128], xmm10",
            "movups [rcx + 144], xmm11",
            "movups [rcx + 160], xmm12",
            "movups [rcx + 176], xmm13",
            "movups [rcx + 192], xmm14",
            "movups [rcx + 208], xmm15",
            "stmxcsr [rcx + 224]",
            "fnstcw [rcx + 228]",
            "ldmxcsr [rsp + 48]",       // the caller's MXCSR back
            "fldcw [rsp + 52]",         // and control word
            "mov rsp, [rsp + 32]",      // the original rsp back
            "pop rbp",                  // the caller's rbp back
            "pop rbx",                  // and rbx
            in("r10") switch,
            in("rcx") save,
            in("rdx") to,
            in("r8") value,
            in("r11") vals as *const Regs,
            inlateout("rax") out as *mut Regs => ret,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            clobber_abi("sysv64"),
        );
    }
    ret
}
