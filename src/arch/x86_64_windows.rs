//! x86_64 Windows (Microsoft x64 ABI, PE): the saved frame of
//! `asm/switch_x86_64_ms_pe_gas.S` and the coroutine switch.
//!
//! One module per architecture and ABI: Windows x64 differs from System V
//! in its callee-saved set (rdi, rsi and xmm6-xmm15 too), its argument
//! registers (rcx, rdx, r8, r9, with 32 bytes of shadow space), its unwind
//! information (SEH `.pdata`/`.xdata`, not DWARF CFI) and in the Thread
//! Environment Block fields that a context owns (the `.S` file says which
//! and why). It reads like `x86_64.rs`, the fully commented reference, and
//! comments in full where it differs.
//!
//! A fresh raw context, as `init_stack` leaves it (addresses grow upwards):
//!
//! ```text
//!   top ──────────────►  +--------------------------+  (16-byte aligned)
//!                        | TOP_RESERVED (16 bytes)  |  zero: the trampoline's
//!   top-16 ───────────►  +--------------------------+  "return address"
//!                        | return addr: trampoline  |  +280
//!                        | rbp = 0, rbx = data      |  +272, +264
//!                        | rdi, rsi = 0             |  +256, +248
//!                        | r12 = entry              |  +240
//!                        | r13 = on_return          |  +232
//!                        | r14, r15 = 0             |  +224, +216
//!                        | TEB: base = top, limit,  |  +208 .. +168
//!                        | deallocation, fiber,     |
//!                        | guarantee = 0, chain = -1|
//!                        | MXCSR, x87 CW            |  +160, +164
//!                        | xmm6 .. xmm15 = 0        |  +0 .. +144
//!   sp = top-304 ─────►  +--------------------------+  (16-byte aligned)
//! ```
//!
//! A raw context knows only its stack's top, so its `StackLimit` and
//! `DeallocationStack` are 0 (every frame below the top is accepted by the
//! exception dispatcher). Coroutines, whose `Stack` is known, get the
//! stack's real bounds ([`set_coroutine_stack`]).

use super::{STACK_ALIGN, TOP_RESERVED};

// The frame offsets, one source for this module, the .S file (through
// build.rs's layout.h) and the tests.
#[cfg_attr(not(test), allow(dead_code))]
mod layout;
pub(crate) use self::layout::*;

const _: () = assert!(OFF_RET + 8 == FRAME_SIZE);
const _: () = assert!(FRAME_SIZE % STACK_ALIGN == 0);
const _: () = assert!(OFF_XMM6 % 16 == 0 && OFF_XMM15 == OFF_XMM6 + 9 * 16);
const _: () = assert!(OFF_MXCSR == OFF_XMM15 + 16 && OFF_X87CW == OFF_MXCSR + 4);
const _: () = assert!(TOP_RESERVED % STACK_ALIGN == 0);
const _: () = assert!(CO_FRAME_SIZE == CO_OFF_RESUME_COPY + 8);
const _: () = assert!(COROUTINE_INIT_SIZE % STACK_ALIGN == 0);
const _: () = assert!(INIT_OFF_STACK_BASE + 8 < COROUTINE_INIT_SIZE);

/// The MXCSR a fresh context starts with: the power-on default (all
/// exceptions masked, round to nearest).
pub(crate) const DEFAULT_MXCSR: u32 = 0x1f80;
/// The x87 control word a fresh context starts with (all exceptions
/// masked, round to nearest). Windows x64 runs the x87 unit at 53-bit
/// precision (`_PC_53`, 0x027f); `fninit`'s default (0x037f, 64-bit) is
/// kept here, as on System V, so that both switches start alike.
pub(crate) const DEFAULT_X87CW: u16 = 0x037f;

/// `ExceptionList` of a context that has pushed no x86 SEH frame: the
/// end-of-chain marker, -1.
const EXCEPTION_CHAIN_END: usize = usize::MAX;

/// Lays out a fresh context's first frame below `top` and returns its saved
/// stack pointer.
///
/// # Safety
/// `top` must be 16-byte aligned and the top of writable memory with at
/// least `TOP_RESERVED + FRAME_SIZE` bytes below it.
pub(crate) unsafe fn init_stack(
    top: *mut u8,
    entry: usize,
    data: usize,
    on_return: usize,
) -> *mut u8 {
    debug_assert!(top as usize % STACK_ALIGN == 0, "stack top must be aligned");
    let sp = top.wrapping_sub(TOP_RESERVED + FRAME_SIZE);
    // SAFETY: the caller guarantees the bytes from `sp` to `top` are
    // writable; every offset is below FRAME_SIZE and 8-byte aligned.
    unsafe {
        sp.cast::<[u8; FRAME_SIZE]>().write([0; FRAME_SIZE]);
        sp.add(OFF_MXCSR).cast::<u32>().write(DEFAULT_MXCSR);
        sp.add(OFF_X87CW).cast::<u16>().write(DEFAULT_X87CW);
        let w = |off: usize, v: usize| sp.add(off).cast::<usize>().write(v);
        w(OFF_EXCEPTION_LIST, EXCEPTION_CHAIN_END);
        w(OFF_STACK_BASE, top as usize);
        w(OFF_R13, on_return);
        w(OFF_R12, entry);
        w(OFF_RBX, data);
        w(OFF_RET, super::swapctx_trampoline as *const () as usize);
        // The reserved words: zero, the trampoline's "return address".
        top.sub(TOP_RESERVED).cast::<[usize; 2]>().write([0, 0]);
    }
    sp
}

/// The TEB fields of a stack, as a coroutine on it runs with them (and as
/// `swapctx_on_stack` reads them, in this order).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TebStack {
    /// `StackBase`: the stack's top.
    pub(crate) base: usize,
    /// `StackLimit`: its lowest committed byte.
    pub(crate) limit: usize,
    /// `DeallocationStack`: the start of its reservation.
    pub(crate) deallocation: usize,
    /// `GuaranteedStackBytes`: the room kept for the overflow exception.
    pub(crate) guarantee: usize,
}

/// Writes the TEB fields of a fresh coroutine's stack into the words that
/// its trampoline loads (the `INIT_OFF_*` of the layout), after
/// [`init_coroutine`](super::init_coroutine).
///
/// # Safety
/// `sp` is what `init_coroutine` returned, and nothing has resumed it yet.
pub(crate) unsafe fn set_coroutine_stack(sp: *mut u8, teb: TebStack) {
    // SAFETY: per the contract: the words are inside the fresh frame.
    unsafe {
        let w = |off: usize, v: usize| sp.add(off).cast::<usize>().write(v);
        w(INIT_OFF_STACK_BASE, teb.base);
        w(INIT_OFF_STACK_LIMIT, teb.limit);
        w(INIT_OFF_DEALLOCATION_STACK, teb.deallocation);
        w(INIT_OFF_GUARANTEE, teb.guarantee);
    }
}

extern "C" {
    /// Windows' `on_stack` (the contract in `src/arch/mod.rs`), which also
    /// takes the other stack's TEB fields: `f` runs with them.
    #[link_name = concat!("swapctx_", env!("SWAPCTX_SYM_TAG"), "_on_stack")]
    pub(crate) fn swapctx_on_stack(
        arg: *mut u8,
        sp: *mut u8,
        f: unsafe extern "C" fn(*mut u8),
        teb: *const TebStack,
    );
}

/// The TEB fields a resumer suspended in `resume` saved, at its saved
/// stack pointer `link` (for `Yielder::on_parent_stack`, which runs on the
/// resumer's stack).
///
/// # Safety
/// `link` is a resumer's saved stack pointer, suspended in [`resume`].
pub(crate) unsafe fn resumer_teb(link: *const u8) -> TebStack {
    // SAFETY: per the contract, CO_FRAME_SIZE saved bytes at `link`.
    unsafe {
        let w = |off: usize| link.add(off).cast::<usize>().read();
        TebStack {
            base: w(CO_OFF_STACK_BASE),
            limit: w(CO_OFF_STACK_LIMIT),
            deallocation: w(CO_OFF_DEALLOCATION_STACK),
            guarantee: w(CO_OFF_GUARANTEE),
        }
    }
}

/// The running thread's (or context's) stack as the TEB says.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn current_teb_stack() -> TebStack {
    let (base, limit, deallocation, guarantee): (usize, usize, usize, usize);
    // SAFETY: reads four words of the running thread's TEB (gs).
    unsafe {
        core::arch::asm!(
            "mov {0}, gs:[0x8]",
            "mov {1}, gs:[0x10]",
            "mov {2}, gs:[0x1478]",
            "mov {3}, gs:[0x1748]",
            out(reg) base,
            out(reg) limit,
            out(reg) deallocation,
            out(reg) guarantee,
            options(nostack, readonly, preserves_flags)
        );
    }
    TebStack {
        base,
        limit,
        deallocation,
        guarantee,
    }
}

const _: () = assert!(
    TEB_STACK_BASE == 0x8
        && TEB_STACK_LIMIT == 0x10
        && TEB_DEALLOCATION_STACK == 0x1478
        && TEB_GUARANTEED_STACK_BYTES == 0x1748
        && TEB_FIBER_DATA == 0x20
        && TEB_EXCEPTION_LIST == 0
);

// The register test's view of the callee-saved state.
#[cfg(test)]
use super::torture::Regs;

/// Reads a suspended context's saved frame at the offsets above.
///
/// # Safety
/// `sp` is a suspended raw context's stack pointer (`FRAME_SIZE` bytes).
#[cfg(test)]
pub(crate) unsafe fn read_frame(sp: *const u8) -> Regs {
    // SAFETY: the caller passes a suspended context's stack pointer, whose
    // FRAME_SIZE bytes are the saved frame.
    unsafe {
        let w = |off: usize| sp.add(off).cast::<u64>().read();
        let mut xmm = [0u128; 10];
        for (i, x) in xmm.iter_mut().enumerate() {
            *x = sp.add(OFF_XMM6 + 16 * i).cast::<u128>().read_unaligned();
        }
        Regs {
            gp: [
                w(OFF_RBX),
                w(OFF_RBP),
                w(OFF_RDI),
                w(OFF_RSI),
                w(OFF_R12),
                w(OFF_R13),
                w(OFF_R14),
                w(OFF_R15),
            ],
            xmm,
            mxcsr: sp.add(OFF_MXCSR).cast::<u32>().read(),
            x87cw: sp.add(OFF_X87CW).cast::<u16>().read(),
            pad: 0,
        }
    }
}

/// The TEB fields saved in a suspended raw context's frame.
///
/// # Safety
/// `sp` is a suspended raw context's stack pointer, as for `read_frame`.
#[cfg(test)]
pub(crate) unsafe fn read_frame_teb(sp: *const u8) -> TebStack {
    // SAFETY: as `read_frame`.
    unsafe {
        let w = |off: usize| sp.add(off).cast::<usize>().read();
        TebStack {
            base: w(OFF_STACK_BASE),
            limit: w(OFF_STACK_LIMIT),
            deallocation: w(OFF_DEALLOCATION_STACK),
            guarantee: w(OFF_GUARANTEE),
        }
    }
}

// ---------------------------------------------------------------------------
// The coroutine switch.
//
// As on System V (x86_64.rs): inline asm that saves by hand only rbx and
// rbp (reserved by LLVM) and a resume address, and declares every other
// register clobbered. On Windows that includes rdi, rsi and xmm6-xmm15,
// which the Microsoft ABI calls callee-saved: the sysv64 clobber list says
// all sixteen xmm registers (and the upper halves of the ymm/zmm ones) are
// clobbered, so the compiler saves whichever of xmm6-xmm15 it has live, in
// full, in the function's prologue. Each side also pushes its six TEB
// fields and pops them when it resumes, so that Windows always sees the
// stack that runs. The floating-point control words are not saved (as on
// System V).
//
// A suspended side's stack, at its saved stack pointer:
//
//   sp+0   resume address         sp+40  TEB FiberData
//   sp+8   rbx                    sp+48  TEB DeallocationStack
//   sp+16  rbp                    sp+56  TEB StackLimit
//   sp+24  TEB ExceptionList      sp+64  TEB StackBase
//   sp+32  TEB GuaranteedStackBytes
//                                 sp+72  the resume address again, for
//                                        the unwinder (see the .S file's
//                                        coroutine trampoline)

/// `asm!` for `resume` and `suspend`, followed by the operands both share:
/// r12-r15 and everything of the sysv64 clobber list (rdi, rsi, xmm0-15
/// included), which together are every register but rbx, rbp and rsp.
macro_rules! switch_asm {
    ($($body:tt)*) => {
        core::arch::asm!(
            $($body)*,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            clobber_abi("sysv64"),
        )
    };
}

/// The template of [`resume`]: rsi = the slots, `{enter}`
/// = `swapctx_coroutine_enter`. Its pushes put the words at the layout's
/// `CO_OFF_*`; the layout tests (`coroutine_tests.rs`) assemble the same
/// template between loads of known values.
macro_rules! resume_template {
    () => {
        concat!(
            "lea rax, [rip + 3f]\n", // the resume address, for the unwinder's copy
            "push rax\n",            // the copy                      -> +72
            "push qword ptr gs:[0x8]\n", // save StackBase                -> +64
            "push qword ptr gs:[0x10]\n", // save StackLimit               -> +56
            "push qword ptr gs:[0x1478]\n", // save DeallocationStack      -> +48
            "push qword ptr gs:[0x20]\n", // save FiberData                -> +40
            "push qword ptr gs:[0x1748]\n", // save GuaranteedStackBytes   -> +32
            "push qword ptr gs:[0x0]\n", // save ExceptionList            -> +24
            "push rbp\n",            // save rbp                      -> +16
            "push rbx\n",            // save rbx                      -> +8
            "call {enter}\n",        // push our resume address (+0); the stub
            // saves rsp in link, loads `this`, jumps in
            "3:\n",
            "pop rbx\n",                   // back: restore rbx
            "pop rbp\n",                   // and rbp
            "pop qword ptr gs:[0x0]\n",    // restore ExceptionList
            "pop qword ptr gs:[0x1748]\n", // restore GuaranteedStackBytes
            "pop qword ptr gs:[0x20]\n",   // restore FiberData
            "pop qword ptr gs:[0x1478]\n", // restore DeallocationStack
            "pop qword ptr gs:[0x10]\n",   // restore StackLimit
            "pop qword ptr gs:[0x8]\n",    // restore StackBase
            "lea rsp, [rsp + 8]\n",        // drop the copy of the resume address
        )
    };
}
#[cfg(test)]
pub(crate) use resume_template;

/// Switches from the resumer into the coroutine whose slots are at `slots`
/// (`[link, this]`): saves the resumer's stack pointer into `link` and
/// loads `this`. No value crosses in a register: every value travels in
/// the coroutine's mailbox (`coroutine.rs`), whose address is the slots'.
///
/// # Safety
/// `this` must hold a suspended coroutine's stack pointer (from
/// [`init_coroutine`](super::init_coroutine) or [`suspend`]) on a live stack.
#[inline(always)]
pub(crate) unsafe fn resume(slots: *mut [*mut u8; 2]) {
    // SAFETY: per the contract. The asm leaves rsp, rbx, rbp and the TEB
    // fields as it found them when the coroutine switches back, and
    // declares every other register clobbered.
    unsafe {
        switch_asm!(
            resume_template!(),
            enter = sym super::swapctx_coroutine_enter,
            in("rsi") slots,
            out("rdi") _
        );
    }
}

/// The template of [`suspend`]: saves the same words as
/// `resume_template!`, in the same places.
macro_rules! suspend_template {
    () => {
        concat!(
            "lea rax, [rip + 2f]\n",        // where we resume
            "push rax\n",                   // the copy (same frame as resume's) -> +72
            "push qword ptr gs:[0x8]\n",    // save StackBase                -> +64
            "push qword ptr gs:[0x10]\n",   // save StackLimit               -> +56
            "push qword ptr gs:[0x1478]\n", // save DeallocationStack      -> +48
            "push qword ptr gs:[0x20]\n",   // save FiberData                -> +40
            "push qword ptr gs:[0x1748]\n", // save GuaranteedStackBytes   -> +32
            "push qword ptr gs:[0x0]\n",    // save ExceptionList            -> +24
            "push rbp\n",                   // save rbp                      -> +16
            "push rbx\n",                   // save rbx                      -> +8
            "push rax\n",                   // save the resume address       -> +0
            "mov [rsi + 8], rsp\n",         // this = our stack pointer
            "mov rsp, [rsi]\n",             // load the resumer's stack pointer
            "ret\n",                        // return into resume, matching its call
            "2:\n",
            "pop rbx\n",                   // resumed: restore rbx
            "pop rbp\n",                   // and rbp
            "pop qword ptr gs:[0x0]\n",    // restore ExceptionList
            "pop qword ptr gs:[0x1748]\n", // restore GuaranteedStackBytes
            "pop qword ptr gs:[0x20]\n",   // restore FiberData
            "pop qword ptr gs:[0x1478]\n", // restore DeallocationStack
            "pop qword ptr gs:[0x10]\n",   // restore StackLimit
            "pop qword ptr gs:[0x8]\n",    // restore StackBase
            "lea rsp, [rsp + 8]\n",        // drop the copy
        )
    };
}
#[cfg(test)]
pub(crate) use suspend_template;

/// Switches from the running coroutine back to its resumer: saves the
/// coroutine's stack pointer into `this` and loads `link`. (The yielded
/// value and the next input travel in the mailbox, `coroutine.rs`.)
///
/// # Safety
/// Must run on the coroutine whose slots are at `slots`, with `link`
/// holding its resumer, suspended in [`resume`].
#[inline(always)]
pub(crate) unsafe fn suspend(slots: *mut [*mut u8; 2]) {
    // SAFETY: per the contract; the mirror image of `resume`.
    unsafe {
        switch_asm!(
            suspend_template!(),
            in("rsi") slots,
            out("rdi") _
        );
    }
}

/// The coroutine's last switch: back to its resumer, never to return.
///
/// # Safety
/// As [`suspend`]; nothing may resume the coroutine afterwards.
#[inline(always)]
pub(crate) unsafe fn finish(slots: *mut [*mut u8; 2]) -> ! {
    // SAFETY: per the contract: `link` holds the resumer, suspended in
    // `resume`, which restores its TEB fields.
    unsafe {
        core::arch::asm!(
            "mov rsp, [rsi]",           // load the resumer's stack pointer
            "ret",                      // return into resume, matching its call
            in("rsi") slots,
            options(noreturn),
        )
    }
}

// ---------------------------------------------------------------------------
// Tests of what only Windows has: the TEB fields switched with a context,
// and the coroutine trampoline's SEH unwind codes.

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Stack;
    use crate::{Coroutine, CoroutineResult, Yielder};
    use core::ffi::c_void;
    use core::ptr;

    /// Offsets in the x64 `CONTEXT` (winnt.h): after the six home words,
    /// the flags, MXCSR, the segment selectors, EFlags and Dr0-Dr7 come
    /// Rax, Rcx, Rdx, Rbx, Rsp, Rbp, ... and Rip after r15.
    const CONTEXT_RBX: usize = 0x90;
    const CONTEXT_RSP: usize = 0x98;
    const CONTEXT_RBP: usize = 0xa0;
    const CONTEXT_RIP: usize = 0xf8;
    const CONTEXT_SIZE: usize = 1232;

    #[repr(C, align(16))]
    struct Context([u8; CONTEXT_SIZE]);

    impl Context {
        fn reg(&self, off: usize) -> usize {
            usize::from_ne_bytes(self.0[off..off + 8].try_into().unwrap())
        }
    }

    #[link(name = "kernel32")]
    extern "system" {
        fn RtlCaptureContext(context: *mut u8);
        fn RtlLookupFunctionEntry(
            pc: u64,
            image_base: *mut u64,
            history: *mut c_void,
        ) -> *mut c_void;
        fn RtlVirtualUnwind(
            handler_type: u32,
            image_base: u64,
            pc: u64,
            function: *mut c_void,
            context: *mut Context,
            handler_data: *mut *mut c_void,
            establisher_frame: *mut u64,
            context_pointers: *mut c_void,
        ) -> *mut c_void;
    }

    // ---- the raw switch ----

    struct Raw {
        main_sp: *mut u8,
        fiber_sp: *mut u8,
        seen: Option<TebStack>,
    }

    unsafe extern "C" fn teb_entry(_value: usize, data: *mut c_void) -> ! {
        let r = data.cast::<Raw>();
        // SAFETY: `r` outlives the test; main is suspended in main_sp.
        unsafe {
            (*r).seen = Some(current_teb_stack());
            super::super::swapctx_switch(ptr::addr_of_mut!((*r).fiber_sp), (*r).main_sp, 0);
        }
        unreachable!("resumed once only")
    }

    #[test]
    fn the_raw_switch_swaps_the_teb_fields() {
        let stack = Stack::new(64 * 1024).unwrap();
        let mut r = Raw {
            main_sp: ptr::null_mut(),
            fiber_sp: ptr::null_mut(),
            seen: None,
        };
        let thread = current_teb_stack();
        // SAFETY: the fiber runs on `stack`, which outlives it, and
        // switches back to main once.
        unsafe {
            r.fiber_sp = init_stack(
                stack.top(),
                teb_entry as *const () as usize,
                ptr::addr_of_mut!(r) as usize,
                super::super::entry_returned as *const () as usize,
            );
            super::super::swapctx_switch(&mut r.main_sp, r.fiber_sp, 0);
        }
        // A raw context runs with its top as StackBase, nothing below.
        let top = stack.top() as usize;
        assert_eq!(
            r.seen,
            Some(TebStack {
                base: top,
                limit: 0,
                deallocation: 0,
                guarantee: 0
            })
        );
        // Back on the thread's stack, with its own fields.
        assert_eq!(current_teb_stack(), thread);
        // The suspended fiber's frame holds what it ran with.
        // SAFETY: the fiber is suspended at fiber_sp.
        let saved = unsafe { read_frame_teb(r.fiber_sp) };
        assert_eq!(saved, r.seen.unwrap());
        // SAFETY: as above; the rest of the TEB words.
        unsafe {
            let w = |off: usize| r.fiber_sp.add(off).cast::<usize>().read();
            assert_eq!(w(OFF_FIBER_DATA), 0);
            assert_eq!(w(OFF_EXCEPTION_LIST), EXCEPTION_CHAIN_END);
        }
    }

    // ---- the coroutine switch ----

    #[test]
    fn a_coroutine_runs_with_its_stacks_teb_fields() {
        let stack = Stack::new(64 * 1024).unwrap();
        let expected = stack.teb();
        let thread = current_teb_stack();
        let mut co = Coroutine::with_stack(stack, |y: &Yielder<(), TebStack>, ()| {
            y.suspend(current_teb_stack());
            // A panic is caught inside the coroutine: the dispatcher walks
            // its frames against these fields.
            let caught = std::panic::catch_unwind(|| panic!("inside"));
            assert!(caught.is_err());
            current_teb_stack()
        });
        assert_eq!(co.resume(()), CoroutineResult::Yield(expected));
        assert_eq!(
            current_teb_stack(),
            thread,
            "the resumer's fields came back"
        );
        assert_eq!(co.resume(()), CoroutineResult::Return(expected));
        assert_eq!(current_teb_stack(), thread);
    }

    /// A coroutine made by hand from the arch module's parts.
    struct Manual {
        stack: Stack,
        slots: *mut [*mut u8; 2],
    }

    impl Manual {
        fn new(entry: extern "C" fn(usize, *mut c_void) -> !) -> Manual {
            let stack = Stack::new(64 * 1024).unwrap();
            let slots = (stack.top() as usize - TOP_RESERVED) as *mut [*mut u8; 2];
            // SAFETY: the slots and the init words below them lie in the
            // stack, which nothing else uses.
            unsafe {
                let sp = super::super::init_coroutine(
                    slots.cast(),
                    entry as *const () as usize,
                    slots as usize,
                );
                set_coroutine_stack(sp, stack.teb());
                slots.write([ptr::null_mut(), sp]);
            }
            Manual { stack, slots }
        }
    }

    extern "C" fn suspending_entry(_value: usize, data: *mut c_void) -> ! {
        let slots = data as *mut [*mut u8; 2];
        // SAFETY: `data` is this coroutine's slots; the resumer resumes us
        // once more before the stack goes.
        unsafe {
            suspend(slots);
            finish(slots)
        }
    }

    #[test]
    fn a_suspended_coroutine_keeps_its_teb_fields_at_the_layouts_offsets() {
        let co = Manual::new(suspending_entry);
        let teb = co.stack.teb();
        // SAFETY: fresh, on a live stack.
        unsafe { resume(co.slots) };
        // SAFETY: suspended: `this` is its saved sp with CO_FRAME_SIZE saved
        // bytes above it.
        unsafe {
            let this = (*co.slots)[1];
            let w = |off: usize| this.add(off).cast::<usize>().read();
            assert_eq!(w(CO_OFF_STACK_BASE), teb.base);
            assert_eq!(w(CO_OFF_STACK_LIMIT), teb.limit);
            assert_eq!(w(CO_OFF_DEALLOCATION_STACK), teb.deallocation);
            assert_eq!(w(CO_OFF_GUARANTEE), teb.guarantee);
            assert_eq!(w(CO_OFF_FIBER_DATA), 0);
            assert_eq!(w(CO_OFF_EXCEPTION_LIST), EXCEPTION_CHAIN_END);
            assert_eq!(w(CO_OFF_RESUME), w(CO_OFF_RESUME_COPY));
            resume(co.slots);
        }
    }

    /// What the walk out of the coroutine found.
    #[derive(Default, Debug)]
    struct Walk {
        link: usize,
        saved: [usize; 4],           // resume address, rbx, rbp, copy
        resumer: Option<[usize; 4]>, // rip, rsp, rbx, rbp
    }

    static mut WALK: Option<Walk> = None;

    /// Walks with RtlVirtualUnwind from here until the frame of the
    /// coroutine trampoline is unwound: the next context is the resumer.
    #[inline(never)]
    fn walk_out(slots: *mut [*mut u8; 2]) -> Walk {
        let mut walk = Walk::default();
        // SAFETY: the resumer is suspended at link, its CO_FRAME_SIZE
        // words readable.
        unsafe {
            let l = (*slots)[0];
            walk.link = l as usize;
            let w = |off: usize| l.add(off).cast::<usize>().read();
            walk.saved = [
                w(CO_OFF_RESUME),
                w(CO_OFF_RBX),
                w(CO_OFF_RBP),
                w(CO_OFF_RESUME_COPY),
            ];
        }
        let trampoline = super::super::swapctx_coroutine_trampoline as *const () as usize;
        let mut ctx = Context([0; CONTEXT_SIZE]);
        // SAFETY: the Rtl* functions read the unwind tables and update
        // `ctx`, a CONTEXT of the right size and alignment.
        unsafe {
            RtlCaptureContext(ctx.0.as_mut_ptr());
            for _ in 0..64 {
                let pc = ctx.reg(CONTEXT_RIP);
                let mut base = 0u64;
                let f = RtlLookupFunctionEntry(pc as u64, &mut base, ptr::null_mut());
                if f.is_null() {
                    break;
                }
                // The function's start: the first word of RUNTIME_FUNCTION.
                let start = base as usize + f.cast::<u32>().read() as usize;
                let (mut data, mut frame) = (ptr::null_mut(), 0u64);
                RtlVirtualUnwind(
                    0,
                    base,
                    pc as u64,
                    f,
                    &mut ctx,
                    &mut data,
                    &mut frame,
                    ptr::null_mut(),
                );
                if start == trampoline {
                    walk.resumer = Some([
                        ctx.reg(CONTEXT_RIP),
                        ctx.reg(CONTEXT_RSP),
                        ctx.reg(CONTEXT_RBX),
                        ctx.reg(CONTEXT_RBP),
                    ]);
                    break;
                }
            }
        }
        walk
    }

    extern "C" fn walking_entry(_value: usize, data: *mut c_void) -> ! {
        let slots = data as *mut [*mut u8; 2];
        let walk = walk_out(slots);
        // SAFETY: one test, the only user of WALK, runs this coroutine.
        unsafe { *ptr::addr_of_mut!(WALK) = Some(walk) };
        // SAFETY: the resumer waits in `resume`.
        unsafe { finish(slots) }
    }

    #[test]
    fn the_windows_unwinder_walks_from_a_coroutine_into_its_resumer() {
        let co = Manual::new(walking_entry);
        // SAFETY: fresh, on a live stack; the only user of WALK.
        let walk = unsafe {
            resume(co.slots);
            (*ptr::addr_of_mut!(WALK)).take().unwrap()
        };
        let [rip, rsp, rbx, rbp] = walk
            .resumer
            .expect("the walk never unwound the coroutine trampoline's frame");
        assert_eq!(walk.saved[0], walk.saved[3], "the two resume addresses");
        assert_eq!(rip, walk.saved[0], "the resumer's rip");
        assert_eq!(rsp, walk.link + CO_FRAME_SIZE, "the resumer's rsp");
        assert_eq!(rbx, walk.saved[1], "the resumer's rbx");
        assert_eq!(rbp, walk.saved[2], "the resumer's rbp");
    }
}
