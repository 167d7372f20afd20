//! Chapter 4: why the switch is correct, checked at run time.
//!
//! docs/04-why-it-is-correct.md argues, rule by rule, that the switch keeps
//! every promise of the calling convention (System V AMD64 psABI §3.2.1 on
//! x86_64, AAPCS64 §6.1.1/§6.1.2 on aarch64) in each transition a context
//! can make. This program checks one observable consequence of each rule,
//! transition by transition, and prints `[ok]` or `[FAILED]` per check.
//!
//! A check cannot prove a rule (the argument in the chapter does that), but
//! a switch that broke one of these rules would fail here.

// The checks below are written for x86_64 and aarch64, the architectures
// whose ABI chapter 4 walks through.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod checks {

    use std::ffi::c_void;
    use std::panic;

    use swapctx::raw::{self, Context};
    use swapctx::Stack;

    /// Callee-saved registers we can name in inline assembly: r12-r15 on
    /// x86_64 (rbx and rbp are reserved by the compiler); x20-x28 and d8-d15
    /// on aarch64 (x19 and x29 are reserved).
    #[cfg(target_arch = "x86_64")]
    type Marks = [u64; 4];
    #[cfg(target_arch = "aarch64")]
    type Marks = [u64; 17];

    fn marks(seed: u64) -> Marks {
        std::array::from_fn(|i| seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i as u64 + 1))
    }

    /// Switches with `m` in the callee-saved registers and returns the value
    /// that comes back together with what those registers hold afterwards.
    ///
    /// # Safety
    /// As `raw::switch`.
    #[cfg(target_arch = "x86_64")]
    unsafe fn switch_checked(
        save: *mut *mut u8,
        to: *mut u8,
        value: usize,
        m: Marks,
    ) -> (usize, Marks) {
        let mut m = m;
        let ret: usize;
        // SAFETY: a plain C call of the switch (arguments in rdi, rsi, rdx,
        // result in rax, caller-saved registers clobbered); r12-r15 are
        // declared as read and written so that the compiler makes no
        // assumption about them and we see what the switch left there.
        unsafe {
            core::arch::asm!(
                "call {switch}",
                switch = in(reg) raw::swapctx_switch as *const () as usize,
                in("rdi") save, in("rsi") to, in("rdx") value,
                inout("r12") m[0], inout("r13") m[1], inout("r14") m[2], inout("r15") m[3],
                lateout("rax") ret,
                clobber_abi("C"),
            );
        }
        (ret, m)
    }

    /// As the x86_64 version, with x20-x28 and d8-d15.
    ///
    /// # Safety
    /// As `raw::switch`.
    #[cfg(target_arch = "aarch64")]
    unsafe fn switch_checked(
        save: *mut *mut u8,
        to: *mut u8,
        value: usize,
        m: Marks,
    ) -> (usize, Marks) {
        let mut m = m;
        let ret: usize;
        // SAFETY: a plain C call of the switch (x0-x2 in, x0 out, caller-saved
        // registers and lr clobbered); the callee-saved registers we can name
        // are read and written so that we see what the switch left there.
        unsafe {
            core::arch::asm!(
                "blr {switch}",
                switch = in(reg) raw::swapctx_switch as *const () as usize,
                in("x0") save, in("x1") to, in("x2") value,
                inout("x20") m[0], inout("x21") m[1], inout("x22") m[2], inout("x23") m[3],
                inout("x24") m[4], inout("x25") m[5], inout("x26") m[6], inout("x27") m[7],
                inout("x28") m[8],
                inout("v8") m[9], inout("v9") m[10], inout("v10") m[11], inout("v11") m[12],
                inout("v12") m[13], inout("v13") m[14], inout("v14") m[15], inout("v15") m[16],
                lateout("x0") ret,
                clobber_abi("C"),
            );
        }
        (ret, m)
    }

    /// x86_64: reads MXCSR.
    #[cfg(target_arch = "x86_64")]
    fn mxcsr() -> u32 {
        let mut v = 0u32;
        // SAFETY: stmxcsr writes 4 bytes to a live local.
        unsafe { core::arch::asm!("stmxcsr [{}]", in(reg) &mut v, options(nostack)) };
        v
    }

    /// x86_64: writes MXCSR.
    ///
    /// # Safety
    /// Changes how every later SSE instruction of this context rounds; Rust
    /// assumes the default mode, so no float code may run until it is reset.
    #[cfg(target_arch = "x86_64")]
    unsafe fn set_mxcsr(v: u32) {
        // SAFETY: ldmxcsr reads 4 bytes from a live local; the caller keeps
        // float code away while the mode is not the default.
        unsafe { core::arch::asm!("ldmxcsr [{}]", in(reg) &v, options(nostack)) };
    }

    /// x86_64: reads the x87 control word.
    #[cfg(target_arch = "x86_64")]
    fn x87cw() -> u16 {
        let mut v = 0u16;
        // SAFETY: fnstcw writes 2 bytes to a live local.
        unsafe { core::arch::asm!("fnstcw [{}]", in(reg) &mut v, options(nostack)) };
        v
    }

    fn check(ok: bool, what: &str) {
        println!("  [{}] {what}", if ok { "ok" } else { "FAILED" });
    }

    #[repr(align(16))]
    struct Aligned16([f64; 2]);

    /// The address of a 16-byte aligned local: the compiler trusts the ABI's
    /// stack alignment and does not realign, so a misaligned stack shows here.
    #[inline(never)]
    fn aligned_local() -> usize {
        let a = Aligned16([0.5, 1.5]);
        let p = std::hint::black_box(&a);
        assert_eq!(p.0[0] + p.0[1], 2.0);
        p as *const Aligned16 as usize
    }

    struct Shared {
        main: Context,
        this: Context,
        stack: (usize, usize),
    }

    /// The context's side of every transition.
    unsafe extern "C" fn entry(value: usize, data: *mut c_void) -> ! {
        let s = data.cast::<Shared>();
        println!("fresh -> running");
        check(
            value == 7,
            "the first switch's value is entry's first argument",
        );
        check(
            aligned_local() % 16 == 0,
            "the stack is 16-byte aligned in entry (an align(16) local is)",
        );
        check(
            format!("{:.3}", std::hint::black_box(std::f64::consts::PI)) == "3.142",
            "float formatting (aligned SIMD spills) works on the fresh stack",
        );
        #[cfg(target_arch = "x86_64")]
        check(
            mxcsr() == 0x1f80 && x87cw() == 0x037f,
            "MXCSR and the x87 control word start at their defaults (0x1f80, 0x037f)",
        );
        let here = std::hint::black_box(&value) as *const usize as usize;
        // SAFETY: `data` is main's Shared, alive while this context runs.
        let (lo, hi) = unsafe { (*s).stack };
        check(
            (lo..hi).contains(&here),
            "entry's locals are on the context's own stack",
        );

        // Switch back to main with our own marks in the callee-saved
        // registers, so main's come back only if the switch restored them.
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a rounding mode of our own (toward zero); no float code runs
        // until it is reset below.
        unsafe {
            set_mxcsr(0x7f80)
        };
        // SAFETY: `main` holds main, suspended in its switch_checked.
        let (v, mine) = unsafe {
            let main = std::mem::take(&mut (*s).main).into_stack_pointer();
            let this = std::ptr::addr_of_mut!((*s).this).cast::<*mut u8>();
            switch_checked(this, main, value + 1, marks(2))
        };
        #[cfg(target_arch = "x86_64")]
        {
            let kept = mxcsr() == 0x7f80;
            // SAFETY: back to the default before any float code.
            unsafe { set_mxcsr(0x1f80) };
            check(
                kept,
                "the context's own MXCSR (round toward zero) came back with it",
            );
        }
        check(
            mine == marks(2),
            "the context's callee-saved registers came back too",
        );
        check(
            v == 100,
            "the value main passed is the return value of the context's switch",
        );

        // running -> finished: a panic is caught on this stack, never unwound
        // through the switch, and the last switch goes out with the verdict.
        let caught = panic::catch_unwind(|| panic!("inside the context")).is_err();
        // SAFETY: main is suspended in its second switch_checked; nothing
        // switches back into this context, so `this` is a slot nobody reads.
        unsafe {
            let main = std::mem::take(&mut (*s).main).into_stack_pointer();
            let this = std::ptr::addr_of_mut!((*s).this).cast::<*mut u8>();
            switch_checked(this, main, caught as usize, marks(3));
        }
        unreachable!("a finished context is never resumed")
    }

    pub fn main() -> Result<(), swapctx::Error> {
        // The panic in the context is expected: keep stderr quiet.
        panic::set_hook(Box::new(|_| {}));
        let stack = Stack::new(64 * 1024)?;
        let mut shared = Shared {
            main: Context::empty(),
            this: Context::empty(),
            stack: (stack.bottom() as usize, stack.top() as usize),
        };
        let s: *mut Shared = &mut shared;
        let main_slot = std::ptr::addr_of_mut!(shared.main).cast::<*mut u8>();
        // SAFETY: `stack` outlives every switch into the context; `entry`
        // never returns; `shared` stays put until the context has finished.
        let (v, mine) = unsafe {
            let ctx = Context::new(stack.top(), entry, s.cast());
            switch_checked(main_slot, ctx.into_stack_pointer(), 7, marks(1))
        };
        println!("running -> suspended -> running (main's side)");
        check(
            mine == marks(1),
            "main's callee-saved registers survived the context's run",
        );
        #[cfg(target_arch = "x86_64")]
        check(
            mxcsr() == 0x1f80,
            "main's MXCSR is its own again (the context changed its own)",
        );
        check(
            v == 8,
            "the value the context passed is the return value of main's switch",
        );
        check(
            !shared.this.is_empty(),
            "the context is suspended in its slot",
        );

        println!("suspended -> running (the context's side)");
        // SAFETY: the context is suspended in `this`; main saves into `main`.
        let (v, mine) = unsafe {
            let ctx = std::mem::take(&mut (*s).this).into_stack_pointer();
            switch_checked(main_slot, ctx, 100, marks(4))
        };

        println!("running -> finished");
        check(
            v == 1,
            "a panic inside the context was caught on its own stack",
        );
        check(
            mine == marks(4),
            "main's callee-saved registers survived the last switch too",
        );
        drop(stack);
        println!(
            "  [ok] the finished context's stack was unmapped; nothing switches into it again"
        );
        Ok(())
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn main() -> Result<(), swapctx::Error> {
    checks::main()
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn main() {
    println!("chapter 4's checks are written for x86_64 and aarch64");
}
