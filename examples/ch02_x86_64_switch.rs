//! Chapter 2: the x86_64 switch, state by state.
//!
//! We make a fresh context and print its first frame, word by word, at the
//! offsets of the grid at the top of `asm/switch_x86_64_sysv_elf_gas.S`.
//! Then we switch into it with recognisable values in r12-r15, and the
//! context prints *main's* saved frame: main is now the suspended one.
//! Last, the context switches back with its own marks, and main prints the
//! context's saved frame.
//!
//! Code addresses differ from run to run, so the example checks what they
//! point at and prints a name instead of the number.
//!
//! x86_64 only: on another machine it says so and exits (chapter 3 has the
//! aarch64 version).

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::ffi::c_void;

    use swapctx::raw::{self, Context};
    use swapctx::Stack;

    /// Marks main puts in r12, r13, r14, r15 before it switches.
    const MAIN_MARKS: [u64; 4] = [0x1212_1212, 0x1313_1313, 0x1414_1414, 0x1515_1515];
    /// Marks the context puts in r12..r15 before it switches back.
    const CTX_MARKS: [u64; 4] = [0xc012, 0xc013, 0xc014, 0xc015];

    /// Calls the switch exactly as compiled code would (`call`), but with
    /// `marks` in r12..r15 so that we can find them in the saved frame.
    ///
    /// # Safety
    /// As `raw::switch`: `to` is a suspended context with a live stack and
    /// `save` stays valid until something switches back through it.
    unsafe fn switch_marked(
        save: *mut *mut u8,
        to: *mut u8,
        value: usize,
        marks: [u64; 4],
    ) -> usize {
        let ret: usize;
        // SAFETY: the switch is a C function; the asm passes its three
        // arguments in rdi, rsi, rdx, takes the result from rax and tells
        // the compiler that every caller-saved register may change
        // (clobber_abi). r12-r15 are callee-saved: the switch gives them
        // back as it found them, so plain inputs are right. Rust guarantees
        // a call-aligned stack and no red zone use across an asm block that
        // does not say `nostack`.
        unsafe {
            core::arch::asm!(
                "call {switch}",
                switch = in(reg) raw::swapctx_switch as *const () as usize,
                in("rdi") save,
                in("rsi") to,
                in("rdx") value,
                in("r12") marks[0],
                in("r13") marks[1],
                in("r14") marks[2],
                in("r15") marks[3],
                lateout("rax") ret,
                clobber_abi("C"),
            );
        }
        ret
    }

    /// One saved frame, read at the offsets of the grid in the .S file.
    struct Frame {
        mxcsr: u32,
        x87cw: u16,
        /// r15, r14, r13, r12, rbx, rbp, return address: +8 .. +56.
        words: [u64; 7],
    }

    /// # Safety
    /// `sp` is a suspended context's saved stack pointer.
    unsafe fn read_frame(sp: *const u8) -> Frame {
        // SAFETY: a suspended context's stack pointer points at its 64-byte
        // saved frame, 16-byte aligned.
        unsafe {
            Frame {
                mxcsr: sp.cast::<u32>().read(),
                x87cw: sp.add(4).cast::<u16>().read(),
                words: std::array::from_fn(|i| sp.add(8 + 8 * i).cast::<u64>().read()),
            }
        }
    }

    /// Prints a frame; `names[i]` describes `words[i]` when it is an
    /// address (None: print the number).
    fn print_frame(f: &Frame, names: [Option<&str>; 7]) {
        println!("    +0   MXCSR           {:#06x}", f.mxcsr);
        println!("    +4   x87 CW          {:#06x}", f.x87cw);
        let regs = ["r15", "r14", "r13", "r12", "rbx", "rbp", "return address"];
        for (i, (reg, name)) in regs.iter().zip(names).enumerate() {
            let shown = match name {
                Some(n) => n.to_string(),
                None => format!("{:#x}", f.words[i]),
            };
            println!("    +{:<3} {:<15} {}", 8 + 8 * i, reg, shown);
        }
    }

    struct Shared {
        main: Context,
        this: Context,
        stack_lo: usize,
        stack_hi: usize,
    }

    fn on_stack(s: &Shared, addr: usize) -> bool {
        (s.stack_lo..s.stack_hi).contains(&addr)
    }

    unsafe extern "C" fn entry(value: usize, data: *mut c_void) -> ! {
        let s = data.cast::<Shared>();
        let local = 0u8;
        let here = std::hint::black_box(&local) as *const u8 as usize;
        // SAFETY: `data` is main's Shared, alive for as long as this
        // context runs; `main` holds main, suspended in `switch_marked`.
        unsafe {
            println!("RUNNING in the context: entry(value = {value}, data = &shared)");
            println!(
                "  its rsp is inside the context's stack: {}",
                on_stack(&*s, here)
            );
            let main_sp = (*s).main.stack_pointer();
            println!("  main is SUSPENDED; its saved frame, read at its saved rsp:");
            let f = read_frame(main_sp);
            print_frame(
                &f,
                [
                    None,
                    None,
                    None,
                    None,
                    Some("(main's rbx)"),
                    Some("(main's rbp)"),
                    Some("(back into main, after its call)"),
                ],
            );
            println!(
                "  main's saved rsp is 16-byte aligned: {}",
                main_sp as usize % 16 == 0
            );
            let main = std::mem::take(&mut (*s).main).into_stack_pointer();
            let this = std::ptr::addr_of_mut!((*s).this).cast::<*mut u8>();
            switch_marked(this, main, value + 1, CTX_MARKS);
        }
        unreachable!("nothing resumes this context again")
    }

    pub fn run() -> Result<(), swapctx::Error> {
        let stack = Stack::new(64 * 1024)?;
        let mut shared = Shared {
            main: Context::empty(),
            this: Context::empty(),
            stack_lo: stack.bottom() as usize,
            stack_hi: stack.top() as usize,
        };
        let s: *mut Shared = &mut shared;

        // SAFETY: `stack` outlives every switch into the context, `entry`
        // never returns, `shared` stays put until the context is done.
        unsafe {
            let ctx = Context::new(stack.top(), entry, s.cast());
            let sp = ctx.stack_pointer();
            let f = read_frame(sp);
            let switch_at = raw::swapctx_switch as *const () as usize;
            let trampoline_near = f.words[6].abs_diff(switch_at as u64) < 512;
            println!("FRESH context made by Context::new:");
            println!(
                "  saved rsp = top - {}, 16-byte aligned: {}",
                stack.top() as usize - sp as usize,
                sp as usize % 16 == 0
            );
            print_frame(
                &f,
                [
                    None,
                    None,
                    Some("(on_return: reports an entry that returns)"),
                    Some(if f.words[3] == entry as *const () as usize as u64 {
                        "(entry: our entry function)"
                    } else {
                        "(?)"
                    }),
                    Some(if f.words[4] == s as u64 {
                        "(data: the pointer given to Context::new)"
                    } else {
                        "(?)"
                    }),
                    None,
                    Some(if trampoline_near {
                        "(the trampoline, next to swapctx_switch)"
                    } else {
                        "(?)"
                    }),
                ],
            );

            println!("main: switch into it with value 7 and r12..r15 = 0x12121212..0x15151515");
            let to = ctx.into_stack_pointer();
            let main_slot = std::ptr::addr_of_mut!((*s).main).cast::<*mut u8>();
            let got = switch_marked(main_slot, to, 7, MAIN_MARKS);

            println!("RUNNING in main again: the switch returned {got}");
            let sp = (*s).this.stack_pointer();
            println!("  the context is SUSPENDED; its saved frame:");
            let f = read_frame(sp);
            print_frame(
                &f,
                [
                    None,
                    None,
                    None,
                    None,
                    Some("(the context's rbx)"),
                    Some("(the context's rbp)"),
                    Some("(back into entry, after its call)"),
                ],
            );
            println!(
                "  its saved rsp is 16-byte aligned and inside its stack: {}",
                sp as usize % 16 == 0 && on_stack(&*s, sp as usize)
            );
        }
        Ok(())
    }
}

#[cfg(target_arch = "x86_64")]
fn main() -> Result<(), swapctx::Error> {
    x86::run()
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("chapter 2's example is for x86_64; on this machine run ch03_aarch64");
}
