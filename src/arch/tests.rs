//! The switch against the ABI: every callee-saved register survives, and
//! the saved frame is where the grid at the top of the `.S` file says.

use super::{init_stack, read_frame, swapctx_switch, torture_switch, Regs, TOP_RESERVED};
use core::ffi::c_void;
use core::ptr;

/// A 64 KiB, 16-byte aligned stack from the heap (the arch tests do not
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
        unsafe { self.0.as_mut_ptr().add(len).cast() }
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
            torture_switch(
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
            vals: Regs::pattern(seed),
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
                l.fiber_sp as usize % 16,
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

struct Torture {
    sps: [*mut u8; FIBERS + 1],
    remaining: usize,
    counter: usize,
    rng: u64,
    mismatches: usize,
    first_mismatch: Option<String>,
    wrong_values: usize,
    visits: [usize; FIBERS + 1],
}

impl Torture {
    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// One switch away from context `me`, with fresh register values, and the
/// checks once something switches back.
unsafe fn torture_step(t: *mut Torture, me: usize) {
    // SAFETY: `t` outlives every context; only the running one touches it.
    unsafe {
        let next = if (*t).remaining == 0 {
            0
        } else {
            (*t).remaining -= 1;
            let r = (*t).next_rand() as usize % FIBERS;
            (me + 1 + r) % (FIBERS + 1)
        };
        let vals = Regs::pattern((*t).next_rand());
        (*t).counter += 1;
        let sent = (*t).counter;
        let mut out = Regs::default();
        let to = (*t).sps[next];
        (*t).sps[next] = ptr::null_mut();
        let got = torture_switch(ptr::addr_of_mut!((*t).sps[me]), to, sent, &vals, &mut out);
        (*t).visits[me] += 1;
        if got != (*t).counter {
            (*t).wrong_values += 1;
        }
        if out != vals {
            (*t).mismatches += 1;
            if (*t).first_mismatch.is_none() {
                (*t).first_mismatch = Some(format!("context {me}: set {vals:x?}, got {out:x?}"));
            }
        }
    }
}

unsafe extern "C" fn torture_entry(_value: usize, data: *mut c_void) -> ! {
    let (t, me) = {
        // SAFETY: data points at a (torture, id) pair that outlives us.
        let p = unsafe { &*data.cast::<(*mut Torture, usize)>() };
        (p.0, p.1)
    };
    loop {
        // SAFETY: as in torture_step.
        unsafe { torture_step(t, me) };
    }
}

#[test]
fn callee_saved_registers_survive_random_switches() {
    let mut stacks: Vec<TestStack> = (0..FIBERS).map(|_| TestStack::new()).collect();
    let mut t = Box::new(Torture {
        sps: [ptr::null_mut(); FIBERS + 1],
        remaining: SWITCHES,
        counter: 0,
        rng: 0x5eed_1234_abcd_ef01,
        mismatches: 0,
        first_mismatch: None,
        wrong_values: 0,
        visits: [0; FIBERS + 1],
    });
    let tp: *mut Torture = &mut *t;
    let mut ids: Vec<(*mut Torture, usize)> = (1..=FIBERS).map(|i| (tp, i)).collect();
    for (i, stack) in stacks.iter_mut().enumerate() {
        // SAFETY: each fiber gets its own stack, which outlives the test's
        // switches; `ids` outlives them too.
        unsafe {
            (*tp).sps[i + 1] = make(stack, torture_entry, ptr::addr_of_mut!(ids[i]).cast());
        }
    }
    // SAFETY: main is context 0; the loop ends when a fiber hands back with
    // nothing remaining.
    unsafe {
        while core::ptr::read_volatile(core::ptr::addr_of!((*tp).remaining)) > 0 {
            torture_step(tp, 0);
        }
    }
    assert_eq!(t.first_mismatch, None);
    assert_eq!(t.mismatches, 0);
    assert_eq!(t.wrong_values, 0, "a switch delivered the wrong value");
    assert!(t.counter >= SWITCHES, "only {} switches", t.counter);
    for (i, v) in t.visits.iter().enumerate() {
        assert!(
            *v > SWITCHES / (FIBERS + 1) / 2,
            "context {i} ran only {v} times"
        );
    }
}
