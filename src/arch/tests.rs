//! The switch against the ABI: every callee-saved register survives, and
//! the saved frame is where the grid at the top of the `.S` file says.

use super::torture::{self, Regs, Torture};
use super::{init_stack, read_frame, swapctx_switch, TOP_RESERVED};
use core::ffi::c_void;
use core::ptr;

/// A 64 KiB stack from the heap, with a 16-byte aligned top (the arch tests do not
/// depend on `Stack`).
struct TestStack(Vec<u128>, crate::tools::StackId);

impl TestStack {
    fn new() -> TestStack {
        let mut v = vec![0u128; 64 * 1024 / 16];
        let lo = v.as_mut_ptr() as usize;
        // Told to Valgrind like any Stack (a no-op without the feature).
        let id = crate::tools::stack_mapped(lo, lo + v.len() * 16);
        TestStack(v, id)
    }
    fn top(&mut self) -> *mut u8 {
        let len = self.0.len();
        // SAFETY: one past the end of the vector's buffer.
        let end: *mut u8 = unsafe { self.0.as_mut_ptr().add(len).cast() };
        // u128 is only 8-byte aligned on some 32-bit targets (arm).
        end.wrapping_sub(end as usize % 16)
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        crate::tools::stack_unmapped(self.1);
    }
}

unsafe fn make(
    stack: &mut TestStack,
    entry: super::super::raw::EntryFn,
    data: *mut c_void,
) -> *mut u8 {
    // SAFETY: the test stack is 64 KiB of writable, aligned memory.
    unsafe {
        init_stack(
            stack.top(),
            entry as usize,
            data as usize,
            super::entry_returned as *const () as usize,
        )
    }
}

// ---------------------------------------------------------------------------
// The saved frame's layout.

struct Layout {
    main_sp: *mut u8,
    fiber_sp: *mut u8,
    vals: Regs,
}

unsafe extern "C" fn layout_entry(_value: usize, data: *mut c_void) -> ! {
    let l = data.cast::<Layout>();
    let mut out = Regs::default();
    loop {
        // SAFETY: `l` outlives the test; main is suspended in main_sp.
        unsafe {
            let vals = (*l).vals;
            torture::switch_with(
                swapctx_switch,
                ptr::addr_of_mut!((*l).fiber_sp),
                (*l).main_sp,
                0,
                &vals,
                &mut out,
            );
        }
    }
}

#[test]
fn saved_frame_matches_the_documented_offsets() {
    let mut stack = TestStack::new();
    for seed in [1u64, 0xdead_beef, u64::MAX / 3] {
        let mut l = Layout {
            main_sp: ptr::null_mut(),
            fiber_sp: ptr::null_mut(),
            vals: Regs::pattern(seed, crate::tools::running_on_valgrind()),
        };
        // SAFETY: the fiber runs on `stack`, which outlives it; it only
        // switches back to main through `l`.
        unsafe {
            l.fiber_sp = make(&mut stack, layout_entry, ptr::addr_of_mut!(l).cast());
            swapctx_switch(&mut l.main_sp, l.fiber_sp, 0);
            // The fiber is now suspended with its registers set to `vals`.
            let saved = read_frame(l.fiber_sp);
            assert_eq!(
                saved, l.vals,
                "seed {seed:#x}: frame does not match the grid"
            );
            assert_eq!(
                l.fiber_sp as usize % super::SAVED_SP_ALIGN,
                0,
                "saved stack pointer misaligned"
            );
            // The frame ends FRAME_SIZE below where the fiber's caller's
            // stack pointer was, inside the fiber's stack.
            assert!((l.fiber_sp as usize) < stack.top() as usize - TOP_RESERVED);
        }
    }
}

// ---------------------------------------------------------------------------
// Register torture: contexts switch at random, each loading distinct values
// into every callee-saved register before each switch and checking them
// after.

const FIBERS: usize = 4;
const SWITCHES: usize = 100_000;

// The torture's defaults are the ones `init_stack` writes.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
const _: () = assert!(
    torture::DEFAULT_MXCSR == super::DEFAULT_MXCSR
        && torture::DEFAULT_X87CW == super::DEFAULT_X87CW
);

#[test]
fn callee_saved_registers_survive_random_switches() {
    let mut stacks: Vec<TestStack> = (0..FIBERS).map(|_| TestStack::new()).collect();
    // Valgrind emulates only the default floating-point modes.
    let default_fp_modes = crate::tools::running_on_valgrind();
    let mut t = Torture::new(
        swapctx_switch,
        FIBERS,
        0x5eed_1234_abcd_ef01,
        default_fp_modes,
        || {},
    );
    for (i, stack) in stacks.iter_mut().enumerate() {
        let data = t.fiber_data(i + 1);
        // SAFETY: each fiber gets its own stack, which outlives the test's
        // switches; its data lives as long as `t`.
        t.sps[i + 1] = unsafe { make(stack, torture::fiber_entry, data) };
    }
    let tp: *mut Torture = &mut *t;
    // SAFETY: main is context 0 and every fiber is suspended on a live
    // stack.
    unsafe { torture::run(tp, SWITCHES) };
    assert!(t.counter >= SWITCHES, "only {} switches", t.counter);
    t.assert_clean(SWITCHES / (FIBERS + 1) / 2 + 1);
}
