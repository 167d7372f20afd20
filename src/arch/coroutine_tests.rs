//! The coroutine switch against its named layout (`CO_*`, `INIT_*`,
//! `SLOT_*` in `layout.rs`): a suspended side's saved words are where the
//! names say, and the coroutine trampoline's CFI, which an unwinder follows
//! from a coroutine into its resumer, gives the resumer's registers as they
//! were saved. Swapping two `.cfi_offset` rows or changing the CFA offset
//! of a trampoline fails `the_unwinder_sees_the_resumers_saved_registers`.

use core::ffi::c_void;
use core::ptr;

use super::{
    finish, init_coroutine, resume, suspend, swapctx_coroutine_trampoline, CO_FRAME_SIZE,
    CO_OFF_RESUME, STACK_ALIGN,
};
use crate::stack::Stack;

/// The registers the coroutine switch saves by hand besides the resume
/// address: (DWARF register number, offset in a suspended side's words,
/// name).
#[cfg(target_arch = "x86_64")]
const SAVED: [(i32, usize, &str); 2] =
    [(3, super::CO_OFF_RBX, "rbx"), (6, super::CO_OFF_RBP, "rbp")];
#[cfg(target_arch = "aarch64")]
const SAVED: [(i32, usize, &str); 2] = [
    (29, super::CO_OFF_X29, "x29"),
    (19, super::CO_OFF_X19, "x19"),
];
#[cfg(target_arch = "riscv64")]
const SAVED: [(i32, usize, &str); 2] = [(8, super::CO_OFF_S0, "s0"), (9, super::CO_OFF_S1, "s1")];
// i386 DWARF numbers (as in .eh_frame on Linux): esi 6, ebp 5.
#[cfg(target_arch = "x86")]
const SAVED: [(i32, usize, &str); 2] =
    [(6, super::CO_OFF_ESI, "esi"), (5, super::CO_OFF_EBP, "ebp")];

// arm's unwinder (ARM EHABI, not DWARF) reads core registers by their
// number, r0-r15, which are also their DWARF numbers.
#[cfg(target_arch = "arm")]
const SAVED: [(i32, usize, &str); 3] = [
    (6, super::CO_OFF_R6, "r6"),
    (7, super::CO_OFF_R7, "r7"),
    (11, super::CO_OFF_R11, "r11"),
];

// The unwinder of the platform (libgcc_s, which the standard library links).
extern "C" {
    fn _Unwind_Backtrace(
        trace: extern "C" fn(ctx: *mut c_void, arg: *mut c_void) -> i32,
        arg: *mut c_void,
    ) -> i32;
}
#[cfg(not(target_arch = "arm"))]
extern "C" {
    fn _Unwind_GetCFA(ctx: *mut c_void) -> usize;
    fn _Unwind_GetIP(ctx: *mut c_void) -> usize;
    fn _Unwind_GetGR(ctx: *mut c_void, index: i32) -> usize;
    fn _Unwind_FindEnclosingFunction(pc: *mut c_void) -> *mut c_void;
}
#[cfg(target_arch = "arm")]
use self::ehabi::{_Unwind_FindEnclosingFunction, _Unwind_GetCFA, _Unwind_GetGR, _Unwind_GetIP};

/// ARM EHABI's libgcc exports neither `_Unwind_GetIP`, `_Unwind_GetGR`
/// nor `_Unwind_FindEnclosingFunction`: its `unwind.h` makes the first two
/// inline functions over `_Unwind_VRS_Get`, and has no third; its
/// `_Unwind_GetCFA` exists but returns 0. The same, here: registers
/// through `_Unwind_VRS_Get`, the CFA as the frame's sp (r13: the
/// unwinder's "vsp" once the frame below is unwound, which is what DWARF
/// calls that frame's CFA), and the function that holds
/// an address from the `.ARM.exidx` table (one entry per function, sorted
/// by address) that glibc's `__gnu_Unwind_Find_exidx` finds.
#[cfg(target_arch = "arm")]
#[allow(non_snake_case)]
mod ehabi {
    use core::ffi::c_void;

    extern "C" {
        fn _Unwind_VRS_Get(
            ctx: *mut c_void,
            class: i32,
            regno: u32,
            repr: i32,
            value: *mut u32,
        ) -> i32;
        fn __gnu_Unwind_Find_exidx(pc: usize, count: *mut i32) -> *const [u32; 2];
    }

    /// `_UVRSC_CORE`, `_UVRSD_UINT32`, `_UVRSR_OK`.
    const UVRSC_CORE: i32 = 0;
    const UVRSD_UINT32: i32 = 0;
    const UVRSR_OK: i32 = 0;

    /// Core register `index` (r0-r15) of the frame `ctx` describes.
    pub unsafe fn _Unwind_GetGR(ctx: *mut c_void, index: i32) -> usize {
        let mut v = 0u32;
        // SAFETY: `ctx` is the unwinder's, valid during the callback.
        let r = unsafe { _Unwind_VRS_Get(ctx, UVRSC_CORE, index as u32, UVRSD_UINT32, &mut v) };
        assert_eq!(r, UVRSR_OK, "_Unwind_VRS_Get(r{index}) failed");
        v as usize
    }

    /// The CFA of the frame below (the callee's): this frame's sp.
    pub unsafe fn _Unwind_GetCFA(ctx: *mut c_void) -> usize {
        // SAFETY: as above.
        unsafe { _Unwind_GetGR(ctx, 13) }
    }

    /// The frame's pc, without the Thumb bit.
    pub unsafe fn _Unwind_GetIP(ctx: *mut c_void) -> usize {
        // SAFETY: as above.
        unsafe { _Unwind_GetGR(ctx, 15) & !1 }
    }

    /// The start of the function that holds `pc`, from `.ARM.exidx`.
    pub unsafe fn _Unwind_FindEnclosingFunction(pc: *mut c_void) -> *mut c_void {
        let pc = pc as usize & !1;
        let mut count = 0i32;
        // SAFETY: a lookup in the loaded objects' tables.
        let table = unsafe { __gnu_Unwind_Find_exidx(pc, &mut count) };
        if table.is_null() || count <= 0 {
            return core::ptr::null_mut();
        }
        // Each entry's first word is a 31-bit offset from itself to the
        // function's start ("prel31").
        let start = |i: usize| {
            // SAFETY: `i < count`: an entry of the table.
            let entry = unsafe { table.add(i) };
            let word = entry as usize;
            // SAFETY: as above; the table is mapped with its object.
            let off = unsafe { (*entry)[0] };
            word.wrapping_add((((off << 1) as i32) >> 1) as usize)
        };
        let (mut lo, mut hi) = (0usize, count as usize);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if start(mid) <= pc {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if start(lo) <= pc {
            start(lo) as *mut c_void
        } else {
            core::ptr::null_mut()
        }
    }
}

/// `_URC_NO_REASON`: go on walking; `_URC_END_OF_STACK`: stop.
const URC_NO_REASON: i32 = 0;
const URC_END_OF_STACK: i32 = 5;

/// The start of the function that holds the return address `ret`.
fn enclosing(ret: usize) -> usize {
    // SAFETY: a lookup in the unwind tables; `ret - 1` is inside the call.
    unsafe { _Unwind_FindEnclosingFunction((ret - 1) as *mut c_void) as usize }
}

/// A coroutine made by hand from the arch module's parts, on a `Stack`.
struct Manual {
    stack: Stack,
    slots: *mut [*mut u8; 2],
}

impl Manual {
    fn new(entry: extern "C" fn(usize, *mut c_void) -> !, data: *mut c_void) -> Manual {
        let stack = Stack::new(64 * 1024).unwrap();
        let slots = (stack.top() as usize - 16) & !(STACK_ALIGN - 1);
        let slots = slots as *mut [*mut u8; 2];
        // SAFETY: the slots and the init words below them lie in the
        // stack, which nothing else uses.
        unsafe {
            let sp = init_coroutine(slots.cast(), entry as *const () as usize, data as usize);
            slots.write([ptr::null_mut(), sp]);
        }
        Manual { stack, slots }
    }
}

/// What the coroutine's walk found, in the order it found it.
#[derive(Default)]
struct Walk {
    slots: usize,
    seen_trampoline: bool,
    /// The CFA the trampoline's CFI gives.
    trampoline_cfa: Option<usize>,
    /// The resumer's frame, next after the trampoline: its IP and the
    /// saved registers as the unwinder gives them.
    resumer_ip: Option<usize>,
    resumer_regs: Vec<usize>,
    /// The resumer's saved words, read at the named offsets.
    link: usize,
    saved_resume: usize,
    saved_regs: Vec<usize>,
}

extern "C" fn trace(ctx: *mut c_void, arg: *mut c_void) -> i32 {
    // SAFETY: `arg` is the `Walk` the entry passed, alive meanwhile; `ctx`
    // is the unwinder's, valid during this call.
    unsafe {
        let walk = &mut *arg.cast::<Walk>();
        let ip = _Unwind_GetIP(ctx);
        if walk.seen_trampoline {
            // A frame's context holds the CFA of the frame below it (its
            // callee's): here, the trampoline's.
            walk.trampoline_cfa = Some(_Unwind_GetCFA(ctx));
            walk.resumer_ip = Some(ip);
            walk.resumer_regs = SAVED
                .iter()
                .map(|&(r, _, _)| _Unwind_GetGR(ctx, r))
                .collect();
            return URC_END_OF_STACK;
        }
        if enclosing(ip) == swapctx_coroutine_trampoline as *const () as usize {
            walk.seen_trampoline = true;
        }
        URC_NO_REASON
    }
}

/// Walks out of the coroutine into its resumer, reads the resumer's saved
/// words, and ends the coroutine.
extern "C" fn walking_entry(_value: usize, data: *mut c_void) -> ! {
    // SAFETY: `data` is the test's `Walk`; its `slots` are this coroutine's,
    // and `link` holds the resumer, suspended in `resume`.
    unsafe {
        let walk = &mut *data.cast::<Walk>();
        let slots = walk.slots as *mut [*mut u8; 2];
        let l = (*slots)[0] as usize;
        walk.link = l;
        walk.saved_resume = *((l + CO_OFF_RESUME) as *const usize);
        walk.saved_regs = SAVED
            .iter()
            .map(|&(_, off, _)| *((l + off) as *const usize))
            .collect();
        _Unwind_Backtrace(trace, data);
        finish(slots, 0)
    }
}

/// Resumes `co` once; not inlined, so that its return address is known.
#[inline(never)]
fn resume_once(co: &Manual) -> usize {
    // SAFETY: the coroutine is fresh or suspended, on a live stack.
    unsafe { resume(co.slots, 1) }
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "a coroutine made by hand is not announced to AddressSanitizer"
)]
fn the_unwinder_sees_the_resumers_saved_registers() {
    let mut walk = Walk::default();
    let co = Manual::new(walking_entry, (&mut walk as *mut Walk).cast());
    walk.slots = co.slots as usize;
    resume_once(&co);
    let cfa = walk
        .trampoline_cfa
        .expect("the walk out of the coroutine never got past its trampoline");
    // The trampoline's CFA rule: the resumer's stack pointer before the
    // switch, its saved words plus CO_FRAME_SIZE.
    assert_eq!(cfa, walk.link + CO_FRAME_SIZE, "the trampoline's CFA");
    // The resume address at CO_OFF_RESUME is a return into `resume_once`.
    assert_eq!(
        enclosing(walk.saved_resume),
        resume_once as *const () as usize
    );
    assert_eq!(walk.resumer_ip, Some(walk.saved_resume), "the resumer's IP");
    for (i, &(_, off, name)) in SAVED.iter().enumerate() {
        assert_eq!(
            walk.resumer_regs[i], walk.saved_regs[i],
            "the unwinder's {name} for the resumer is not the word saved at +{off}"
        );
    }
    drop(co.stack);
}

/// Suspends once with the value 7, then ends.
extern "C" fn suspending_entry(_value: usize, data: *mut c_void) -> ! {
    let slots = data as *mut [*mut u8; 2];
    // SAFETY: `data` is this coroutine's slots; the resumer waits in
    // `resume`, and resumes us once more before the stack goes.
    unsafe {
        let _ = suspend(slots, 7);
        finish(slots, 0)
    }
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "a coroutine made by hand is not announced to AddressSanitizer"
)]
fn a_suspended_coroutines_words_are_where_the_layout_says() {
    let co = Manual::new(suspending_entry, ptr::null_mut());
    // The entry's data is the slots themselves.
    // SAFETY: as in `Manual::new`: the init words are ours to rewrite.
    unsafe {
        let sp = init_coroutine(
            co.slots.cast(),
            suspending_entry as *const () as usize,
            co.slots as usize,
        );
        co.slots.write([ptr::null_mut(), sp]);
    }
    assert_eq!(resume_once(&co), 7);
    // SAFETY: the coroutine is suspended: `this` is its saved sp, with
    // CO_FRAME_SIZE saved bytes above it, inside its stack.
    unsafe {
        let this = (*co.slots)[1] as usize;
        let top = co.stack.top() as usize;
        assert!(this > co.stack.bottom() as usize && this + CO_FRAME_SIZE <= top);
        let resume_at = *((this + CO_OFF_RESUME) as *const usize);
        assert_eq!(
            enclosing(resume_at),
            suspending_entry as *const () as usize,
            "the word at CO_OFF_RESUME is not an address in the suspending function"
        );
    }
    assert_eq!(resume_once(&co), 0);
    drop(co.stack);
}

/// The gdb command for this architecture, and the docs' list of a suspended
/// coroutine's words, say what the layout says.
#[test]
fn the_gdb_script_and_the_docs_use_the_layout() {
    let script = include_str!("../../scripts/swapctx.gdb");
    let docs = include_str!("../../docs/debugging.md").replace('\n', " ");
    #[cfg(target_arch = "x86_64")]
    let (sp, docs_words) = (
        "rsp",
        format!(
            "x86_64: `[sp]` resume address, `[sp+{}]` rbx, `[sp+{}]` rbp",
            super::CO_OFF_RBX,
            super::CO_OFF_RBP
        ),
    );
    #[cfg(target_arch = "aarch64")]
    let (sp, docs_words) = (
        "sp",
        format!(
            "aarch64: `[sp]`, `[sp+{}]` x29, `[sp+{}]` x19",
            super::CO_OFF_X29,
            super::CO_OFF_X19
        ),
    );
    #[cfg(target_arch = "riscv64")]
    let (sp, docs_words) = (
        "sp",
        format!(
            "riscv64: `[sp]`, `[sp+{}]` s0, `[sp+{}]` s1",
            super::CO_OFF_S0,
            super::CO_OFF_S1
        ),
    );
    #[cfg(target_arch = "arm")]
    let (sp, docs_words) = (
        "sp",
        format!(
            "arm: `[sp]`, `[sp+{}]` r6, `[sp+{}]` r7, `[sp+{}]` r11",
            super::CO_OFF_R6,
            super::CO_OFF_R7,
            super::CO_OFF_R11
        ),
    );
    #[cfg(target_arch = "x86")]
    let (sp, docs_words) = (
        "esp",
        format!(
            "x86: `[sp]`, `[sp+{}]` esi, `[sp+{}]` ebp",
            super::CO_OFF_ESI,
            super::CO_OFF_EBP
        ),
    );
    assert_eq!(
        CO_OFF_RESUME, 0,
        "the script and the docs read the resume address at +0"
    );
    let mut lines = vec![
        "set $pc = *(unsigned long *) $__swapctx_s".to_string(),
        format!("set ${sp} = $__swapctx_s + {CO_FRAME_SIZE}"),
    ];
    for (_, off, name) in SAVED {
        lines.push(format!(
            "set ${name} = *(unsigned long *) ($__swapctx_s + {off})"
        ));
    }
    for line in lines {
        assert!(script.contains(&line), "scripts/swapctx.gdb lacks `{line}`");
    }
    assert!(
        docs.contains(&docs_words),
        "docs/debugging.md lacks `{docs_words}`"
    );
}
