//! Chapter 3: the aarch64 switch, state by state.
//!
//! The same three states as chapter 2, on aarch64: a fresh context's first
//! frame, main's frame while the context runs, and the context's frame
//! while it is suspended, at the offsets of the grid at the top of
//! `asm/switch_aarch64_aapcs_elf_gas.S`. The marks go into x20-x28 and
//! d8-d15 (x19 and x29 are reserved by the compiler and cannot be named in
//! inline assembly, so they show whatever the compiled code held).
//!
//! aarch64 only. On an x86_64 machine, run it under qemu:
//!
//! ```text
//! cargo run --target aarch64-unknown-linux-gnu --example ch03_aarch64
//! ```

#[cfg(target_arch = "aarch64")]
mod a64 {
    use std::ffi::c_void;

    use swapctx::raw::{self, Context};
    use swapctx::Stack;

    /// x20..x28 get 0xa020..0xa028 in main and 0xc020..0xc028 in the
    /// context; d8..d15 get 0xad08..0xad15 and 0xcd08..0xcd15.
    #[derive(Clone, Copy)]
    struct Marks {
        x: [u64; 9],
        d: [u64; 8],
    }

    fn marks(x_base: u64, d_base: u64) -> Marks {
        // Register numbers as hex digits: x20 -> base + 0x20, d8 -> base + 0x08,
        // d15 -> base + 0x15.
        let hex = |n: u64| (n / 10) * 16 + n % 10;
        Marks {
            x: std::array::from_fn(|i| x_base + hex(20 + i as u64)),
            d: std::array::from_fn(|i| d_base + hex(8 + i as u64)),
        }
    }

    /// Calls the switch as compiled code would (`blr`), with marks in
    /// x20-x28 and d8-d15.
    ///
    /// # Safety
    /// As `raw::switch`: `to` is a suspended context with a live stack and
    /// `save` stays valid until something switches back through it.
    unsafe fn switch_marked(save: *mut *mut u8, to: *mut u8, value: usize, m: Marks) -> usize {
        let ret: usize;
        // SAFETY: the switch is a C function: arguments in x0-x2, result
        // in x0, x30 (lr) and every caller-saved register clobbered
        // (clobber_abi). x20-x28 and the low halves of v8-v15 are
        // callee-saved, so the switch hands them back unchanged and plain
        // inputs are right. sp is 16-byte aligned, as always on aarch64.
        unsafe {
            core::arch::asm!(
                "blr {switch}",
                switch = in(reg) raw::swapctx_switch as *const () as usize,
                in("x0") save, in("x1") to, in("x2") value,
                in("x20") m.x[0], in("x21") m.x[1], in("x22") m.x[2],
                in("x23") m.x[3], in("x24") m.x[4], in("x25") m.x[5],
                in("x26") m.x[6], in("x27") m.x[7], in("x28") m.x[8],
                in("v8") m.d[0], in("v9") m.d[1], in("v10") m.d[2], in("v11") m.d[3],
                in("v12") m.d[4], in("v13") m.d[5], in("v14") m.d[6], in("v15") m.d[7],
                lateout("x0") ret,
                clobber_abi("C"),
            );
        }
        ret
    }

    /// The 20 words of a saved frame: d8..d15 (+0..+56), x19..x28
    /// (+64..+136), x29 (+144), x30 (+152).
    ///
    /// # Safety
    /// `sp` is a suspended context's saved stack pointer.
    unsafe fn read_frame(sp: *const u8) -> [u64; 20] {
        // SAFETY: a suspended context's sp points at its 160-byte frame.
        std::array::from_fn(|i| unsafe { sp.add(8 * i).cast::<u64>().read() })
    }

    /// Prints the frame two columns wide; `names` overrides the number
    /// printed for a slot (by slot index).
    fn print_frame(f: &[u64; 20], names: &[(usize, &str)]) {
        let reg = |i: usize| match i {
            0..=7 => format!("d{}", 8 + i),
            8..=17 => format!("x{}", 19 + i - 8),
            18 => "x29 (fp)".to_string(),
            _ => "x30 (lr)".to_string(),
        };
        let val = |i: usize| match names.iter().find(|(j, _)| *j == i) {
            Some((_, n)) => n.to_string(),
            None => format!("{:#x}", f[i]),
        };
        // Left column d8..d15 and x19, right column x20..x30.
        for row in 0..11 {
            let left = if row < 9 {
                format!("+{:<4}{:<10}{:<14}", 8 * row, reg(row), val(row))
            } else {
                String::new()
            };
            let r = 9 + row;
            println!("    {left:<28}  +{:<4}{:<10}{}", 8 * r, reg(r), val(r));
        }
    }

    struct Shared {
        main: Context,
        this: Context,
        stack: (usize, usize),
    }

    unsafe extern "C" fn entry(value: usize, data: *mut c_void) -> ! {
        let s = data.cast::<Shared>();
        let local = 0u8;
        let here = std::hint::black_box(&local) as *const u8 as usize;
        // SAFETY: `data` is main's Shared, alive while this context runs;
        // `main` holds main, suspended in `switch_marked`.
        unsafe {
            let (lo, hi) = (*s).stack;
            println!("RUNNING in the context: entry(value = {value}, data = &shared)");
            println!(
                "  its sp is inside the context's stack: {}",
                (lo..hi).contains(&here)
            );
            let main_sp = (*s).main.stack_pointer();
            println!("  main is SUSPENDED; its saved frame:");
            print_frame(
                &read_frame(main_sp),
                &[
                    (8, "(main's)"),
                    (18, "(main's fp)"),
                    (19, "(back into main)"),
                ],
            );
            let main = std::mem::take(&mut (*s).main).into_stack_pointer();
            let this = std::ptr::addr_of_mut!((*s).this).cast::<*mut u8>();
            switch_marked(this, main, value + 1, marks(0xc000, 0xcd00));
        }
        unreachable!("nothing resumes this context again")
    }

    pub fn run() -> Result<(), swapctx::Error> {
        let stack = Stack::new(64 * 1024)?;
        let mut shared = Shared {
            main: Context::empty(),
            this: Context::empty(),
            stack: (stack.bottom() as usize, stack.top() as usize),
        };
        let s: *mut Shared = &mut shared;
        // SAFETY: `stack` outlives every switch into the context, `entry`
        // never returns, `shared` stays put until the context is done.
        unsafe {
            let ctx = Context::new(stack.top(), entry, s.cast());
            let sp = ctx.stack_pointer();
            let f = read_frame(sp);
            let near_switch =
                f[19].abs_diff(raw::swapctx_switch as *const () as usize as u64) < 512;
            println!("FRESH context made by Context::new:");
            println!(
                "  saved sp = top - {}, 16-byte aligned: {}",
                stack.top() as usize - sp as usize,
                sp as usize % 16 == 0
            );
            let is_entry = f[8] == entry as *const () as usize as u64;
            let is_data = f[9] == s as u64;
            print_frame(
                &f,
                &[
                    (8, if is_entry { "(entry)" } else { "(?)" }),
                    (9, if is_data { "(data)" } else { "(?)" }),
                    (10, "(on_return)"),
                    (19, if near_switch { "(trampoline)" } else { "(?)" }),
                ],
            );

            println!("main: switch in with value 7, x20..x28 = 0xa020.., d8..d15 = 0xad08..");
            let to = ctx.into_stack_pointer();
            let main_slot = std::ptr::addr_of_mut!((*s).main).cast::<*mut u8>();
            let got = switch_marked(main_slot, to, 7, marks(0xa000, 0xad00));

            println!("RUNNING in main again: the switch returned {got}");
            let sp = (*s).this.stack_pointer();
            println!("  the context is SUSPENDED; its saved frame:");
            print_frame(
                &read_frame(sp),
                &[
                    (8, "(its own)"),
                    (18, "(its fp)"),
                    (19, "(back into entry)"),
                ],
            );
            let (lo, hi) = shared.stack;
            println!(
                "  its saved sp is 16-byte aligned and inside its stack: {}",
                sp as usize % 16 == 0 && (lo..hi).contains(&(sp as usize))
            );
        }
        Ok(())
    }
}

#[cfg(target_arch = "aarch64")]
fn main() -> Result<(), swapctx::Error> {
    a64::run()
}

#[cfg(not(target_arch = "aarch64"))]
fn main() {
    println!(
        "chapter 3's example is for aarch64; run it under qemu with \
         `cargo run --target aarch64-unknown-linux-gnu --example ch03_aarch64`"
    );
}
