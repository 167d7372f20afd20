//! The coroutine switch against its named layout (`CO_*`, `INIT_*`,
//! `SLOT_*` in `layout.rs`): a suspended side's saved words are where the
//! names say, and the coroutine trampoline's CFI, which an unwinder follows
//! from a coroutine into its resumer, gives the resumer's registers as they
//! were saved. Swapping two `.cfi_offset` rows or changing the CFA offset
//! of a trampoline fails `the_unwinder_sees_the_resumers_saved_registers`;
//! swapping two saves of `resume_template!` or `suspend_template!` (with
//! the layout left as it was) fails the `..._live_registers` tests, which
//! run those templates with known values in the registers.

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
// VRSAVE, also saved by hand, has no CFI row (see the .S file).
#[cfg(target_arch = "powerpc64")]
const SAVED: [(i32, usize, &str); 3] = [
    (2, super::CO_OFF_R2, "r2"),
    (30, super::CO_OFF_R30, "r30"),
    (31, super::CO_OFF_R31, "r31"),
];
#[cfg(target_arch = "s390x")]
const SAVED: [(i32, usize, &str); 1] = [(11, super::CO_OFF_R11, "r11")];
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

    /// A coroutine whose entry gets its own slots as its data.
    fn with_slots_as_data(entry: extern "C" fn(usize, *mut c_void) -> !) -> Manual {
        let co = Manual::new(entry, ptr::null_mut());
        // SAFETY: as in `new`: the init words are ours to rewrite.
        unsafe {
            let sp = init_coroutine(
                co.slots.cast(),
                entry as *const () as usize,
                co.slots as usize,
            );
            co.slots.write([ptr::null_mut(), sp]);
        }
        co
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
        finish(slots)
    }
}

/// Resumes `co` once; not inlined, so that its return address is known.
#[inline(never)]
fn resume_once(co: &Manual) {
    // SAFETY: the coroutine is fresh or suspended, on a live stack.
    unsafe { resume(co.slots) }
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "a coroutine made by hand is not announced to AddressSanitizer"
)]
#[cfg_attr(
    windows,
    ignore = "libgcc's SEH unwinder gives no registers (_Unwind_GetGR aborts); \
              x86_64_windows::tests walks with RtlVirtualUnwind instead"
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

/// Suspends once, then ends.
extern "C" fn suspending_entry(_value: usize, data: *mut c_void) -> ! {
    let slots = data as *mut [*mut u8; 2];
    // SAFETY: `data` is this coroutine's slots; the resumer waits in
    // `resume`, and resumes us once more before the stack goes.
    unsafe {
        suspend(slots);
        finish(slots)
    }
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "a coroutine made by hand is not announced to AddressSanitizer"
)]
fn a_suspended_coroutines_words_are_where_the_layout_says() {
    let co = Manual::with_slots_as_data(suspending_entry);
    resume_once(&co);
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
    resume_once(&co);
    drop(co.stack);
}

/// The gdb command for this architecture, and the docs' list of a suspended
/// coroutine's words, say what the layout says.
#[test]
#[cfg_attr(
    windows,
    ignore = "the gdb script's swapctx-bt commands are for the ELF targets' frames"
)]
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
    #[cfg(target_arch = "powerpc64")]
    let (sp, docs_words) = (
        "r1",
        format!(
            "powerpc64: `[sp+{}]`, `[sp+{}]` r2, `[sp+{}]` r30, `[sp+{}]` r31",
            CO_OFF_RESUME,
            super::CO_OFF_R2,
            super::CO_OFF_R30,
            super::CO_OFF_R31
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
    #[cfg(target_arch = "s390x")]
    let (sp, docs_words) = (
        "r15",
        format!(
            "s390x: `[sp+{}]`, `[sp+{}]` r11",
            CO_OFF_RESUME,
            super::CO_OFF_R11
        ),
    );
    // The resume address: at +0 but on powerpc64 and s390x, where it sits
    // in the slot the ABI gives a saved return address.
    let pc = if CO_OFF_RESUME == 0 {
        "set $pc = *(unsigned long *) $__swapctx_s".to_string()
    } else {
        format!("set $pc = *(unsigned long *) ($__swapctx_s + {CO_OFF_RESUME})")
    };
    let mut lines = vec![pc, format!("set ${sp} = $__swapctx_s + {CO_FRAME_SIZE}")];
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

// ---------------------------------------------------------------------------
// The same switch templates, between loads of known values: the words a
// switch saves, and the unwinder's view of them, against the registers'
// live contents.

/// Known values for the registers in `SAVED`, in its order, one set per
/// side: distinct, odd, and not addresses of anything.
const RESUMER_VALUES: [usize; SAVED.len()] = known_values(0x5a5a_1357);
const COROUTINE_VALUES: [usize; SAVED.len()] = known_values(0x7e57_0001);

/// `N` distinct odd values from `seed`.
const fn known_values<const N: usize>(seed: usize) -> [usize; N] {
    let mut v = [0; N];
    let mut i = 0;
    while i < N {
        v[i] = (seed + 0x0101_0202 * i) | 1;
        i += 1;
    }
    v
}

/// `.globl NAME` and `.hidden NAME`: the start of each test function
/// written through a macro below (the architectures whose two functions
/// are spelled out in full do not use it).
#[allow(unused_macros)]
macro_rules! hidden_global {
    ($name:literal) => {
        concat!(".globl ", $name, "\n", ".hidden ", $name, "\n")
    };
}

// `swapctx_test_resume_loaded(value, slots, values)` saves every
// callee-saved register, loads `values` into the `SAVED` registers, runs
// `resume_template!` (the very template of `resume`), and restores;
// `swapctx_test_suspend_loaded` does the same around `suspend_template!`.
// No unwind info: the walk stops in them.
/// x86_64 (System V): saves rbx, rbp and r12-r15, loads rbx and rbp, runs
/// `$template` (r12 = the slots, rdi = the value, as the templates want).
#[cfg(all(target_arch = "x86_64", not(windows)))]
macro_rules! x86_64_test_function {
    ($name:literal, $template:expr) => {
        concat!(
            hidden_global!($name),
            $name,
            ":\n", // (value rdi, slots rsi, values rdx)
            "push rbp\n",
            "push rbx\n", // save the callee-saved registers
            "push r12\n",
            "push r13\n",
            "push r14\n",
            "push r15\n",
            "sub rsp, 8\n",     // keep rsp 16-byte aligned
            "mov r12, rsi\n",   // the slots register
            "mov rbx, [rdx]\n", // load the known values
            "mov rbp, [rdx + 8]\n",
            $template,
            "add rsp, 8\n",
            "pop r15\n",
            "pop r14\n",
            "pop r13\n",
            "pop r12\n",
            "pop rbx\n",
            "pop rbp\n",      // restore them
            "mov rax, rdi\n", // the value
            "ret\n",
        )
    };
}

#[cfg(all(target_arch = "x86_64", not(windows)))]
core::arch::global_asm!(
    ".text",
    ".p2align 4",
    x86_64_test_function!("swapctx_test_resume_loaded", super::resume_template!()),
    ".p2align 4",
    x86_64_test_function!("swapctx_test_suspend_loaded", super::suspend_template!()),
    enter = sym super::swapctx_coroutine_enter,
);

/// Windows x64: saves rbx, rbp, rdi, rsi, r12-r15 and xmm6-xmm15 (the
/// Microsoft ABI's callee-saved set) in a frame that keeps rsp 16-byte
/// aligned, and moves the arguments (rcx, rdx) to the templates' rdi, rsi.
#[cfg(all(target_arch = "x86_64", windows))]
macro_rules! windows_save_all {
    () => {
        concat!(
            "push rbp\n",
            "push rbx\n",
            "push rdi\n",
            "push rsi\n",
            "push r12\n",
            "push r13\n",
            "push r14\n",
            "push r15\n",
            "sub rsp, 168\n",
            "movaps [rsp], xmm6\n",
            "movaps [rsp + 16], xmm7\n",
            "movaps [rsp + 32], xmm8\n",
            "movaps [rsp + 48], xmm9\n",
            "movaps [rsp + 64], xmm10\n",
            "movaps [rsp + 80], xmm11\n",
            "movaps [rsp + 96], xmm12\n",
            "movaps [rsp + 112], xmm13\n",
            "movaps [rsp + 128], xmm14\n",
            "movaps [rsp + 144], xmm15\n",
            "mov rdi, rcx\n",
            "mov rsi, rdx\n",
        )
    };
}
/// Restores what `windows_save_all!` saved; rax = rdi (the value).
#[cfg(all(target_arch = "x86_64", windows))]
macro_rules! windows_restore_all {
    () => {
        concat!(
            "mov rax, rdi\n",
            "movaps xmm6, [rsp]\n",
            "movaps xmm7, [rsp + 16]\n",
            "movaps xmm8, [rsp + 32]\n",
            "movaps xmm9, [rsp + 48]\n",
            "movaps xmm10, [rsp + 64]\n",
            "movaps xmm11, [rsp + 80]\n",
            "movaps xmm12, [rsp + 96]\n",
            "movaps xmm13, [rsp + 112]\n",
            "movaps xmm14, [rsp + 128]\n",
            "movaps xmm15, [rsp + 144]\n",
            "add rsp, 168\n",
            "pop r15\n",
            "pop r14\n",
            "pop r13\n",
            "pop r12\n",
            "pop rsi\n",
            "pop rdi\n",
            "pop rbx\n",
            "pop rbp\n",
        )
    };
}

#[cfg(all(target_arch = "x86_64", windows))]
core::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl swapctx_test_resume_loaded",
    "swapctx_test_resume_loaded:",  // (value: rcx, slots: rdx, values: r8)
    windows_save_all!(),            // save the callee-saved registers
    "mov rbx, [r8]",                // load the known values
    "mov rbp, [r8 + 8]",
    super::resume_template!(),
    windows_restore_all!(),         // restore them; rax = the value passed back
    "ret",
    ".globl swapctx_test_suspend_loaded",
    "swapctx_test_suspend_loaded:", // (value: rcx, slots: rdx, values: r8)
    windows_save_all!(),            // save the callee-saved registers
    "mov rbx, [r8]",                // load the known values
    "mov rbp, [r8 + 8]",
    super::suspend_template!(),
    windows_restore_all!(),         // restore them; rax = the next resume's value
    "ret",
    enter = sym super::swapctx_coroutine_enter,
);

/// aarch64: saves x19-x30 and d8-d15, loads x29 and x19, runs `$template`
/// (x1 = the slots, x0 = the value).
#[cfg(target_arch = "aarch64")]
macro_rules! aarch64_test_function {
    ($name:literal, $template:expr) => {
        concat!(
            hidden_global!($name),
            $name,
            ":\n",                          // (value x0, slots x1, values x2)
            "stp x29, x30, [sp, #-160]!\n", // save the callee-saved registers and lr
            "stp x19, x20, [sp, #16]\n",
            "stp x21, x22, [sp, #32]\n",
            "stp x23, x24, [sp, #48]\n",
            "stp x25, x26, [sp, #64]\n",
            "stp x27, x28, [sp, #80]\n",
            "stp d8, d9, [sp, #96]\n",
            "stp d10, d11, [sp, #112]\n",
            "stp d12, d13, [sp, #128]\n",
            "stp d14, d15, [sp, #144]\n",
            "ldr x29, [x2]\n", // load the known values
            "ldr x19, [x2, #8]\n",
            $template,
            "ldp d14, d15, [sp, #144]\n",
            "ldp d12, d13, [sp, #128]\n",
            "ldp d10, d11, [sp, #112]\n",
            "ldp d8, d9, [sp, #96]\n",
            "ldp x27, x28, [sp, #80]\n",
            "ldp x25, x26, [sp, #64]\n",
            "ldp x23, x24, [sp, #48]\n",
            "ldp x21, x22, [sp, #32]\n",
            "ldp x19, x20, [sp, #16]\n",
            "ldp x29, x30, [sp], #160\n", // restore them and lr
            "ret\n",                      // x0: the value
        )
    };
}

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".text",
    ".p2align 2",
    aarch64_test_function!("swapctx_test_resume_loaded", super::resume_template!()),
    aarch64_test_function!("swapctx_test_suspend_loaded", super::suspend_template!()),
    enter = sym super::swapctx_coroutine_enter,
);

/// Saves ra, s0-s11 and fs0-fs11 in a 208-byte frame (riscv64).
#[cfg(target_arch = "riscv64")]
macro_rules! riscv64_save_all {
    () => {
        concat!(
            "addi sp, sp, -208\n",
            "sd ra, 0(sp)\n",
            "sd s0, 8(sp)\n",
            "sd s1, 16(sp)\n",
            "sd s2, 24(sp)\n",
            "sd s3, 32(sp)\n",
            "sd s4, 40(sp)\n",
            "sd s5, 48(sp)\n",
            "sd s6, 56(sp)\n",
            "sd s7, 64(sp)\n",
            "sd s8, 72(sp)\n",
            "sd s9, 80(sp)\n",
            "sd s10, 88(sp)\n",
            "sd s11, 96(sp)\n",
            "fsd fs0, 104(sp)\n",
            "fsd fs1, 112(sp)\n",
            "fsd fs2, 120(sp)\n",
            "fsd fs3, 128(sp)\n",
            "fsd fs4, 136(sp)\n",
            "fsd fs5, 144(sp)\n",
            "fsd fs6, 152(sp)\n",
            "fsd fs7, 160(sp)\n",
            "fsd fs8, 168(sp)\n",
            "fsd fs9, 176(sp)\n",
            "fsd fs10, 184(sp)\n",
            "fsd fs11, 192(sp)\n",
        )
    };
}
/// Restores what `riscv64_save_all!` saved.
#[cfg(target_arch = "riscv64")]
macro_rules! riscv64_restore_all {
    () => {
        concat!(
            "ld ra, 0(sp)\n",
            "ld s0, 8(sp)\n",
            "ld s1, 16(sp)\n",
            "ld s2, 24(sp)\n",
            "ld s3, 32(sp)\n",
            "ld s4, 40(sp)\n",
            "ld s5, 48(sp)\n",
            "ld s6, 56(sp)\n",
            "ld s7, 64(sp)\n",
            "ld s8, 72(sp)\n",
            "ld s9, 80(sp)\n",
            "ld s10, 88(sp)\n",
            "ld s11, 96(sp)\n",
            "fld fs0, 104(sp)\n",
            "fld fs1, 112(sp)\n",
            "fld fs2, 120(sp)\n",
            "fld fs3, 128(sp)\n",
            "fld fs4, 136(sp)\n",
            "fld fs5, 144(sp)\n",
            "fld fs6, 152(sp)\n",
            "fld fs7, 160(sp)\n",
            "fld fs8, 168(sp)\n",
            "fld fs9, 176(sp)\n",
            "fld fs10, 184(sp)\n",
            "fld fs11, 192(sp)\n",
            "addi sp, sp, 208\n",
        )
    };
}

#[cfg(target_arch = "riscv64")]
core::arch::global_asm!(
    ".text",
    ".p2align 2",
    ".globl swapctx_test_resume_loaded",
    ".hidden swapctx_test_resume_loaded",
    "swapctx_test_resume_loaded:",  // (value: a0, slots: a1, values: a2)
    riscv64_save_all!(),            // save the callee-saved registers and ra
    "ld s0, 0(a2)",                 // load the known values
    "ld s1, 8(a2)",
    super::resume_template!(),
    riscv64_restore_all!(),         // restore them
    "ret",                          // a0: the value the coroutine passed back
    ".globl swapctx_test_suspend_loaded",
    ".hidden swapctx_test_suspend_loaded",
    "swapctx_test_suspend_loaded:", // (value: a0, slots: a1, values: a2)
    riscv64_save_all!(),            // save the callee-saved registers and ra
    "ld s0, 0(a2)",                 // load the known values
    "ld s1, 8(a2)",
    super::suspend_template!(),
    riscv64_restore_all!(),         // restore them
    "ret",                          // a0: the value of the next resume
    enter = sym super::swapctx_coroutine_enter,
);

/// powerpc64 (ELFv2): saves LR, CR, r2, r14-r31, f14-f31 and v20-v31 in a
/// 528-byte frame with its back chain.
#[cfg(target_arch = "powerpc64")]
macro_rules! powerpc64_save_all {
    () => {
        concat!(
            "mflr 0\n",
            "std 0, 16(1)\n",    // LR, in the caller's header
            "stdu 1, -528(1)\n", // our frame, back chain kept
            "std 2, 24(1)\n",    // r2, in our header's TOC slot
            "mfcr 0\n",
            "std 0, 512(1)\n", // CR
            "std 14, 32(1)\n",
            "std 15, 40(1)\n",
            "std 16, 48(1)\n",
            "std 17, 56(1)\n",
            "std 18, 64(1)\n",
            "std 19, 72(1)\n",
            "std 20, 80(1)\n",
            "std 21, 88(1)\n",
            "std 22, 96(1)\n",
            "std 23, 104(1)\n",
            "std 24, 112(1)\n",
            "std 25, 120(1)\n",
            "std 26, 128(1)\n",
            "std 27, 136(1)\n",
            "std 28, 144(1)\n",
            "std 29, 152(1)\n",
            "std 30, 160(1)\n",
            "std 31, 168(1)\n",
            "stfd 14, 176(1)\n",
            "stfd 15, 184(1)\n",
            "stfd 16, 192(1)\n",
            "stfd 17, 200(1)\n",
            "stfd 18, 208(1)\n",
            "stfd 19, 216(1)\n",
            "stfd 20, 224(1)\n",
            "stfd 21, 232(1)\n",
            "stfd 22, 240(1)\n",
            "stfd 23, 248(1)\n",
            "stfd 24, 256(1)\n",
            "stfd 25, 264(1)\n",
            "stfd 26, 272(1)\n",
            "stfd 27, 280(1)\n",
            "stfd 28, 288(1)\n",
            "stfd 29, 296(1)\n",
            "stfd 30, 304(1)\n",
            "stfd 31, 312(1)\n",
            "li 0, 320\n",
            "stvx 20, 1, 0\n",
            "li 0, 336\n",
            "stvx 21, 1, 0\n",
            "li 0, 352\n",
            "stvx 22, 1, 0\n",
            "li 0, 368\n",
            "stvx 23, 1, 0\n",
            "li 0, 384\n",
            "stvx 24, 1, 0\n",
            "li 0, 400\n",
            "stvx 25, 1, 0\n",
            "li 0, 416\n",
            "stvx 26, 1, 0\n",
            "li 0, 432\n",
            "stvx 27, 1, 0\n",
            "li 0, 448\n",
            "stvx 28, 1, 0\n",
            "li 0, 464\n",
            "stvx 29, 1, 0\n",
            "li 0, 480\n",
            "stvx 30, 1, 0\n",
            "li 0, 496\n",
            "stvx 31, 1, 0\n",
        )
    };
}
/// Restores what `powerpc64_save_all!` saved, and returns.
#[cfg(target_arch = "powerpc64")]
macro_rules! powerpc64_restore_all_and_return {
    () => {
        concat!(
            "li 0, 320\n",
            "lvx 20, 1, 0\n",
            "li 0, 336\n",
            "lvx 21, 1, 0\n",
            "li 0, 352\n",
            "lvx 22, 1, 0\n",
            "li 0, 368\n",
            "lvx 23, 1, 0\n",
            "li 0, 384\n",
            "lvx 24, 1, 0\n",
            "li 0, 400\n",
            "lvx 25, 1, 0\n",
            "li 0, 416\n",
            "lvx 26, 1, 0\n",
            "li 0, 432\n",
            "lvx 27, 1, 0\n",
            "li 0, 448\n",
            "lvx 28, 1, 0\n",
            "li 0, 464\n",
            "lvx 29, 1, 0\n",
            "li 0, 480\n",
            "lvx 30, 1, 0\n",
            "li 0, 496\n",
            "lvx 31, 1, 0\n",
            "lfd 14, 176(1)\n",
            "lfd 15, 184(1)\n",
            "lfd 16, 192(1)\n",
            "lfd 17, 200(1)\n",
            "lfd 18, 208(1)\n",
            "lfd 19, 216(1)\n",
            "lfd 20, 224(1)\n",
            "lfd 21, 232(1)\n",
            "lfd 22, 240(1)\n",
            "lfd 23, 248(1)\n",
            "lfd 24, 256(1)\n",
            "lfd 25, 264(1)\n",
            "lfd 26, 272(1)\n",
            "lfd 27, 280(1)\n",
            "lfd 28, 288(1)\n",
            "lfd 29, 296(1)\n",
            "lfd 30, 304(1)\n",
            "lfd 31, 312(1)\n",
            "ld 14, 32(1)\n",
            "ld 15, 40(1)\n",
            "ld 16, 48(1)\n",
            "ld 17, 56(1)\n",
            "ld 18, 64(1)\n",
            "ld 19, 72(1)\n",
            "ld 20, 80(1)\n",
            "ld 21, 88(1)\n",
            "ld 22, 96(1)\n",
            "ld 23, 104(1)\n",
            "ld 24, 112(1)\n",
            "ld 25, 120(1)\n",
            "ld 26, 128(1)\n",
            "ld 27, 136(1)\n",
            "ld 28, 144(1)\n",
            "ld 29, 152(1)\n",
            "ld 30, 160(1)\n",
            "ld 31, 168(1)\n",
            "ld 0, 512(1)\n",
            "mtcr 0\n",         // CR
            "ld 2, 24(1)\n",    // r2
            "addi 1, 1, 528\n", // drop our frame
            "ld 0, 16(1)\n",
            "mtlr 0\n", // LR
            "blr\n",    // r3: the value
        )
    };
}

#[cfg(target_arch = "powerpc64")]
core::arch::global_asm!(
    ".text",
    ".p2align 4",
    ".globl swapctx_test_resume_loaded",
    ".hidden swapctx_test_resume_loaded",
    "swapctx_test_resume_loaded:",  // (value: r3, slots: r4, values: r5)
    powerpc64_save_all!(),
    "ld 2, 0(5)",                   // load the known values
    "ld 30, 8(5)",
    "ld 31, 16(5)",
    super::resume_template!(),
    powerpc64_restore_all_and_return!(),
    ".globl swapctx_test_suspend_loaded",
    ".hidden swapctx_test_suspend_loaded",
    "swapctx_test_suspend_loaded:", // (value: r3, slots: r4, values: r5)
    powerpc64_save_all!(),
    "ld 2, 0(5)",                   // load the known values
    "ld 30, 8(5)",
    "ld 31, 16(5)",
    super::suspend_template!(),
    powerpc64_restore_all_and_return!(),
    enter = sym super::swapctx_coroutine_enter,
);

/// s390x: saves r6-r15 in the caller's register save area and f8-f15 in a
/// frame of its own (160-byte save area for its callees, back chain kept).
#[cfg(target_arch = "s390x")]
macro_rules! s390x_save_all {
    () => {
        concat!(
            "stmg %r6, %r15, 48(%r15)\n", // r6-r15, in the caller's save area
            "lgr %r1, %r15\n",
            "aghi %r15, -224\n",  // our frame: 160 + f8-f15
            "stg %r1, 0(%r15)\n", // back chain
            "std %f8, 160(%r15)\n",
            "std %f9, 168(%r15)\n",
            "std %f10, 176(%r15)\n",
            "std %f11, 184(%r15)\n",
            "std %f12, 192(%r15)\n",
            "std %f13, 200(%r15)\n",
            "std %f14, 208(%r15)\n",
            "std %f15, 216(%r15)\n",
        )
    };
}
/// Restores what `s390x_save_all!` saved, and returns.
#[cfg(target_arch = "s390x")]
macro_rules! s390x_restore_all_and_return {
    () => {
        concat!(
            "ld %f8, 160(%r15)\n",
            "ld %f9, 168(%r15)\n",
            "ld %f10, 176(%r15)\n",
            "ld %f11, 184(%r15)\n",
            "ld %f12, 192(%r15)\n",
            "ld %f13, 200(%r15)\n",
            "ld %f14, 208(%r15)\n",
            "ld %f15, 216(%r15)\n",
            "aghi %r15, 224\n",          // drop our frame
            "lmg %r6, %r15, 48(%r15)\n", // r6-r15
            "br %r14\n",                 // r2: the value
        )
    };
}

#[cfg(target_arch = "s390x")]
core::arch::global_asm!(
    ".text",
    ".p2align 3",
    ".globl swapctx_test_resume_loaded",
    ".hidden swapctx_test_resume_loaded",
    "swapctx_test_resume_loaded:",  // (value: r2, slots: r3, values: r4)
    s390x_save_all!(),
    "lg %r11, 0(%r4)",              // load the known value
    super::resume_template!(),
    s390x_restore_all_and_return!(),
    ".globl swapctx_test_suspend_loaded",
    ".hidden swapctx_test_suspend_loaded",
    "swapctx_test_suspend_loaded:", // (value: r2, slots: r3, values: r4)
    s390x_save_all!(),
    "lg %r11, 0(%r4)",              // load the known value
    super::suspend_template!(),
    s390x_restore_all_and_return!(),
    enter = sym super::swapctx_coroutine_enter,
);

/// x86 (i386, cdecl): the arguments are on the stack; saves ebp, ebx, esi
/// and edi, and puts the value and the slots where the templates want them
/// (eax, ecx).
#[cfg(target_arch = "x86")]
macro_rules! x86_test_function {
    ($name:literal, $template:expr) => {
        concat!(
            hidden_global!($name),
            ".type ",
            $name,
            ", @function\n",
            $name,
            ":\n", // (value, slots, values)
            "pushl %ebp\n",
            "pushl %ebx\n",
            "pushl %esi\n",
            "pushl %edi\n",
            "movl 20(%esp), %eax\n", // the value
            "movl 24(%esp), %ecx\n", // the slots
            "movl 28(%esp), %edx\n", // the known values
            "movl (%edx), %esi\n",   // into esi and ebp
            "movl 4(%edx), %ebp\n",
            $template,
            "popl %edi\n",
            "popl %esi\n",
            "popl %ebx\n",
            "popl %ebp\n",
            "retl\n", // eax: the value
        )
    };
}

#[cfg(target_arch = "x86")]
core::arch::global_asm!(
    ".text",
    x86_test_function!("swapctx_test_resume_loaded", super::resume_template!()),
    x86_test_function!("swapctx_test_suspend_loaded", super::suspend_template!()),
    enter = sym super::swapctx_coroutine_enter,
    options(att_syntax),
);

/// arm (AAPCS): saves r3-r11, lr and d8-d15 (r3 keeps sp 8-byte aligned),
/// with unwind tables (the ARM unwinder calls a walk's callback only for
/// frames it has an entry for), and loads r6, r7, r11.
#[cfg(target_arch = "arm")]
macro_rules! arm_test_function {
    ($name:literal, $template:expr) => {
        concat!(
            hidden_global!($name),
            ".type ",
            $name,
            ", %function\n",
            $name,
            ":\n", // (value r0, slots r1, values r2)
            ".fnstart\n",
            "push {{r3-r11, lr}}\n", // the callee-saved registers and lr
            ".save {{r3-r11, lr}}\n",
            "vpush {{d8-d15}}\n",
            ".vsave {{d8-d15}}\n",
            "ldr r6, [r2]\n", // the known values
            "ldr r7, [r2, #4]\n",
            "ldr r11, [r2, #8]\n",
            $template,
            "vpop {{d8-d15}}\n",
            "pop {{r3-r11, lr}}\n",
            "bx lr\n", // r0: the value
            ".fnend\n",
        )
    };
}

#[cfg(target_arch = "arm")]
core::arch::global_asm!(
    ".text",
    ".p2align 2",
    arm_test_function!("swapctx_test_resume_loaded", super::resume_template!()),
    arm_test_function!("swapctx_test_suspend_loaded", super::suspend_template!()),
    enter = sym super::swapctx_coroutine_enter,
);

extern "C" {
    fn swapctx_test_resume_loaded(
        value: usize,
        slots: *mut [*mut u8; 2],
        values: *const usize,
    ) -> usize;
    fn swapctx_test_suspend_loaded(
        value: usize,
        slots: *mut [*mut u8; 2],
        values: *const usize,
    ) -> usize;
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "a coroutine made by hand is not announced to AddressSanitizer"
)]
#[cfg_attr(
    windows,
    ignore = "libgcc's SEH unwinder gives no registers (_Unwind_GetGR aborts); \
              x86_64_windows::tests walks with RtlVirtualUnwind instead"
)]
fn the_unwinder_sees_the_resumers_live_registers() {
    let mut walk = Walk::default();
    let co = Manual::new(walking_entry, (&mut walk as *mut Walk).cast());
    walk.slots = co.slots as usize;
    // SAFETY: the coroutine is fresh, on a live stack; it ends with `finish`.
    unsafe { swapctx_test_resume_loaded(1, co.slots, RESUMER_VALUES.as_ptr()) };
    let cfa = walk
        .trampoline_cfa
        .expect("the walk out of the coroutine never got past its trampoline");
    assert_eq!(cfa, walk.link + CO_FRAME_SIZE, "the trampoline's CFA");
    for (i, &(_, off, name)) in SAVED.iter().enumerate() {
        assert_eq!(
            walk.saved_regs[i], RESUMER_VALUES[i],
            "the resumer's {name} was {:#x}, but the word at +{off} is not it",
            RESUMER_VALUES[i]
        );
        assert_eq!(
            walk.resumer_regs[i], RESUMER_VALUES[i],
            "the resumer's {name} was {:#x}, but the unwinder gives another value",
            RESUMER_VALUES[i]
        );
    }
    drop(co.stack);
}

/// Suspends once (its value register holding 7) from `suspend_template!` with the
/// registers of `SAVED` holding `COROUTINE_VALUES`, then ends.
extern "C" fn loaded_suspending_entry(_value: usize, data: *mut c_void) -> ! {
    let slots = data as *mut [*mut u8; 2];
    // SAFETY: as in `suspending_entry`.
    unsafe {
        let _ = swapctx_test_suspend_loaded(7, slots, COROUTINE_VALUES.as_ptr());
        finish(slots)
    }
}

#[test]
#[cfg_attr(
    feature = "asan",
    ignore = "a coroutine made by hand is not announced to AddressSanitizer"
)]
fn a_suspended_coroutines_words_hold_its_live_registers() {
    let co = Manual::with_slots_as_data(loaded_suspending_entry);
    resume_once(&co);
    // SAFETY: the coroutine is suspended: `this` is its saved sp, with
    // CO_FRAME_SIZE saved bytes above it, inside its stack.
    unsafe {
        let this = (*co.slots)[1] as usize;
        let resume_at = *((this + CO_OFF_RESUME) as *const usize);
        let start = swapctx_test_suspend_loaded as *const () as usize;
        assert!(
            start < resume_at && resume_at < start + 1024,
            "the word at CO_OFF_RESUME ({resume_at:#x}) is not an address in \
             swapctx_test_suspend_loaded ({start:#x})"
        );
        for (i, &(_, off, name)) in SAVED.iter().enumerate() {
            assert_eq!(
                *((this + off) as *const usize),
                COROUTINE_VALUES[i],
                "the coroutine's {name} was {:#x}, but the word at +{off} is not it",
                COROUTINE_VALUES[i]
            );
        }
    }
    resume_once(&co);
    drop(co.stack);
}
