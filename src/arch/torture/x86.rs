//! x86 (i386)'s callee-saved state for the register torture: ebx, esi,
//! edi, ebp, MXCSR and the x87 control word (System V i386 ABI).

use super::SwitchFn;

/// MXCSR at reset: every exception masked, round to nearest.
pub const DEFAULT_MXCSR: u32 = 0x1f80;
/// The x87 control word at reset: every exception masked, 64-bit
/// precision, round to nearest.
pub const DEFAULT_X87CW: u16 = 0x037f;

/// ebx, esi, edi, ebp, then MXCSR and the x87 control word, at the offsets
/// the asm of [`switch_with`] uses.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub gp: [u32; 4],
    pub mxcsr: u32,
    pub x87cw: u16,
    pub pad: u16,
}

const _: () = assert!(core::mem::size_of::<Regs>() == 24);
// The offsets the asm of `switch_with` uses.
const _: () = assert!(core::mem::offset_of!(Regs, mxcsr) == 16);
const _: () = assert!(core::mem::offset_of!(Regs, x87cw) == 20);

impl Regs {
    /// Distinct values for every register, from `seed`; MXCSR and the x87
    /// control word get an unusual rounding mode (and precision), unless
    /// `default_fp_modes`.
    pub fn pattern(seed: u64, default_fp_modes: bool) -> Regs {
        let mut gp = [0u32; 4];
        for (i, r) in gp.iter_mut().enumerate() {
            *r = (seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(i as u32 * 9 + 1)
                >> 16) as u32
                ^ (i as u32 + 1);
        }
        if default_fp_modes {
            return Regs {
                gp,
                mxcsr: DEFAULT_MXCSR,
                x87cw: DEFAULT_X87CW,
                pad: 0,
            };
        }
        // As on x86_64: exceptions masked, rounding mode, FTZ and DAZ.
        let rc = ((seed >> 3) & 3) as u32;
        let mxcsr = DEFAULT_MXCSR
            | (rc << 13)
            | (((seed >> 5) & 1) as u32) << 15
            | (((seed >> 6) & 1) as u32) << 6;
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

/// Loads `vals` into every callee-saved register, calls `switch` (cdecl:
/// arguments on a 16-byte aligned stack), and stores what those registers
/// hold when it returns into `out`. The caller's own esi, ebp, MXCSR and
/// control word are kept.
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
    // Six operands and five usable registers: pass them through memory.
    let args: [usize; 6] = [
        switch as usize,
        save as usize,
        to as usize,
        value,
        vals as *const Regs as usize,
        out as *mut Regs as usize,
    ];
    let ret: usize;
    // SAFETY: the asm keeps esp, esi, ebp, MXCSR and the control word as it
    // found them, declares every other register it touches, and calls the
    // switch with a 16-byte aligned stack as the ABI wants.
    unsafe {
        core::arch::asm!(
            "push ebp",                 // the caller's ebp
            "push esi",                 // and esi
            "mov edx, esp",
            "and esp, -16",
            "sub esp, 32",
            "mov [esp + 24], edx",      // the original esp
            "mov [esp + 28], eax",      // the args pointer
            "stmxcsr [esp + 16]",       // the caller's MXCSR
            "fnstcw [esp + 20]",        // and x87 control word
            "mov ecx, [eax + 4]",
            "mov [esp], ecx",           // arg 1: save
            "mov ecx, [eax + 8]",
            "mov [esp + 4], ecx",       // arg 2: to
            "mov ecx, [eax + 12]",
            "mov [esp + 8], ecx",       // arg 3: value
            "mov edx, [eax]",           // the switch
            "mov ecx, [eax + 16]",      // vals
            "mov ebx, [ecx]",
            "mov esi, [ecx + 4]",
            "mov edi, [ecx + 8]",
            "mov ebp, [ecx + 12]",
            "ldmxcsr [ecx + 16]",
            "fldcw [ecx + 20]",
            "call edx",
            "mov ecx, [esp + 28]",
            "mov ecx, [ecx + 20]",      // out
            "mov [ecx], ebx",
            "mov [ecx + 4], esi",
            "mov [ecx + 8], edi",
            "mov [ecx + 12], ebp",
            "stmxcsr [ecx + 16]",
            "fnstcw [ecx + 20]",
            "ldmxcsr [esp + 16]",       // the caller's MXCSR back
            "fldcw [esp + 20]",         // and control word
            "mov esp, [esp + 24]",      // the original esp back
            "pop esi",                  // the caller's esi back
            "pop ebp",                  // and ebp
            inout("eax") args.as_ptr() => ret,
            out("ebx") _, out("edi") _,
            clobber_abi("C"),
        );
    }
    let _ = args;
    ret
}
