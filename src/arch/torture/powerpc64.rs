//! powerpc64 (ELFv2)'s callee-saved state for the register torture:
//! r14-r31, f14-f31, v20-v31, the condition register fields CR2-CR4 and
//! VRSAVE, plus r2 (the TOC), which is checked but not varied: it is the
//! same throughout the module, and code between two switches may rely on
//! it.

use super::SwitchFn;

/// The bits of CR2, CR3 and CR4 in the 32-bit condition register (CR0 is
/// the top nibble): the nonvolatile fields.
pub const CR_NONVOLATILE: u64 = 0x00FF_F000;

/// v20-v31 at +0 .. +176 (16-byte aligned, for `lvx`/`stvx`), r14-r31 at
/// +192 .. +328, f14-f31 as bit patterns at +336 .. +472, the CR fields at
/// +480, VRSAVE at +488 and r2 at +496: the offsets the asm of
/// [`switch_with`] uses.
#[repr(C, align(16))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Regs {
    pub v: [[u64; 2]; 12],
    pub gp: [u64; 18],
    pub fp: [u64; 18],
    pub cr: u64,
    pub vrsave: u64,
    pub toc: u64,
    pad: u64,
}

const _: () = assert!(core::mem::size_of::<Regs>() == 512);

impl Regs {
    /// Distinct values for every register, from `seed` (the flag is for
    /// x86_64's floating-point modes; powerpc64 has none to keep); r2 is
    /// the running code's.
    pub fn pattern(seed: u64, _default_fp_modes: bool) -> Regs {
        let mut r = Regs::default();
        let mut next = {
            let mut i = 0u64;
            move || {
                i += 1;
                seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(i as u32 * 5 + 1)
                    ^ i
            }
        };
        for v in r.v.iter_mut() {
            *v = [next(), next()];
        }
        for g in r.gp.iter_mut().chain(r.fp.iter_mut()) {
            *g = next();
        }
        r.cr = next() & CR_NONVOLATILE;
        r.vrsave = next() & 0xFFFF_FFFF;
        let toc: u64;
        // SAFETY: copies r2 into a register; nothing else.
        unsafe {
            core::arch::asm!("mr {}, 2", out(reg) toc, options(nomem, nostack, preserves_flags))
        };
        r.toc = toc;
        r
    }
}

/// Loads `vals` into every callee-saved register, calls `switch` through
/// CTR, and stores what those registers hold afterwards into `out` (the
/// CR fields masked to CR2-CR4).
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
    // SAFETY: the asm makes a frame with `stdu` and saves in it r2, r30,
    // r31 (which cannot be named as operands) and VRSAVE, restores them at
    // the end, declares every other register it touches, and keeps r1
    // 16-byte aligned. `switch` is entered at its global entry point
    // (r12 = its address).
    unsafe {
        core::arch::asm!(
            "stdu 1, -64(1)",
            "std 2, 24(1)",              // the caller's r2
            "std 30, 32(1)",             // the caller's r30
            "std 31, 40(1)",             // the caller's r31
            "std 7, 48(1)",              // the out pointer
            "mfvrsave 0",
            "std 0, 56(1)",              // the caller's VRSAVE
            "li 8, 0",
            "lvx 20, 6, 8",
            "li 8, 16",
            "lvx 21, 6, 8",
            "li 8, 32",
            "lvx 22, 6, 8",
            "li 8, 48",
            "lvx 23, 6, 8",
            "li 8, 64",
            "lvx 24, 6, 8",
            "li 8, 80",
            "lvx 25, 6, 8",
            "li 8, 96",
            "lvx 26, 6, 8",
            "li 8, 112",
            "lvx 27, 6, 8",
            "li 8, 128",
            "lvx 28, 6, 8",
            "li 8, 144",
            "lvx 29, 6, 8",
            "li 8, 160",
            "lvx 30, 6, 8",
            "li 8, 176",
            "lvx 31, 6, 8",
            "ld 14, 192(6)",
            "ld 15, 200(6)",
            "ld 16, 208(6)",
            "ld 17, 216(6)",
            "ld 18, 224(6)",
            "ld 19, 232(6)",
            "ld 20, 240(6)",
            "ld 21, 248(6)",
            "ld 22, 256(6)",
            "ld 23, 264(6)",
            "ld 24, 272(6)",
            "ld 25, 280(6)",
            "ld 26, 288(6)",
            "ld 27, 296(6)",
            "ld 28, 304(6)",
            "ld 29, 312(6)",
            "ld 30, 320(6)",
            "ld 31, 328(6)",
            "lfd 14, 336(6)",
            "lfd 15, 344(6)",
            "lfd 16, 352(6)",
            "lfd 17, 360(6)",
            "lfd 18, 368(6)",
            "lfd 19, 376(6)",
            "lfd 20, 384(6)",
            "lfd 21, 392(6)",
            "lfd 22, 400(6)",
            "lfd 23, 408(6)",
            "lfd 24, 416(6)",
            "lfd 25, 424(6)",
            "lfd 26, 432(6)",
            "lfd 27, 440(6)",
            "lfd 28, 448(6)",
            "lfd 29, 456(6)",
            "lfd 30, 464(6)",
            "lfd 31, 472(6)",
            "ld 0, 480(6)",
            "mtcrf 0x38, 0",             // CR2-CR4
            "ld 0, 488(6)",
            "mtvrsave 0",
            "mtctr 12",
            "bctrl",
            "ld 7, 48(1)",
            "li 8, 0",
            "stvx 20, 7, 8",
            "li 8, 16",
            "stvx 21, 7, 8",
            "li 8, 32",
            "stvx 22, 7, 8",
            "li 8, 48",
            "stvx 23, 7, 8",
            "li 8, 64",
            "stvx 24, 7, 8",
            "li 8, 80",
            "stvx 25, 7, 8",
            "li 8, 96",
            "stvx 26, 7, 8",
            "li 8, 112",
            "stvx 27, 7, 8",
            "li 8, 128",
            "stvx 28, 7, 8",
            "li 8, 144",
            "stvx 29, 7, 8",
            "li 8, 160",
            "stvx 30, 7, 8",
            "li 8, 176",
            "stvx 31, 7, 8",
            "std 14, 192(7)",
            "std 15, 200(7)",
            "std 16, 208(7)",
            "std 17, 216(7)",
            "std 18, 224(7)",
            "std 19, 232(7)",
            "std 20, 240(7)",
            "std 21, 248(7)",
            "std 22, 256(7)",
            "std 23, 264(7)",
            "std 24, 272(7)",
            "std 25, 280(7)",
            "std 26, 288(7)",
            "std 27, 296(7)",
            "std 28, 304(7)",
            "std 29, 312(7)",
            "std 30, 320(7)",
            "std 31, 328(7)",
            "stfd 14, 336(7)",
            "stfd 15, 344(7)",
            "stfd 16, 352(7)",
            "stfd 17, 360(7)",
            "stfd 18, 368(7)",
            "stfd 19, 376(7)",
            "stfd 20, 384(7)",
            "stfd 21, 392(7)",
            "stfd 22, 400(7)",
            "stfd 23, 408(7)",
            "stfd 24, 416(7)",
            "stfd 25, 424(7)",
            "stfd 26, 432(7)",
            "stfd 27, 440(7)",
            "stfd 28, 448(7)",
            "stfd 29, 456(7)",
            "stfd 30, 464(7)",
            "stfd 31, 472(7)",
            "mfcr 0",
            "std 0, 480(7)",
            "mfvrsave 0",
            "std 0, 488(7)",
            "std 2, 496(7)",
            "ld 0, 56(1)",
            "mtvrsave 0",                // the caller's VRSAVE back
            "ld 31, 40(1)",              // the caller's r31 back
            "ld 30, 32(1)",              // the caller's r30 back
            "ld 2, 24(1)",               // the caller's r2 back
            "addi 1, 1, 64",
            in("r12") switch,
            in("r3") save,
            in("r4") to,
            in("r5") value,
            in("r6") vals as *const Regs,
            in("r7") out as *mut Regs,
            lateout("r3") ret,
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
        );
    }
    out.cr &= CR_NONVOLATILE;
    ret
}
