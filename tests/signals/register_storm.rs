//! The register storm: raw contexts switching at random through the
//! public `swapctx_switch`, every callee-saved register loaded with fresh
//! values before each switch and checked after it (the register torture of
//! `src/arch/torture/`, which the library's unit tests run without
//! signals), while the storm's signals land, inside the switch too.

use std::sync::atomic::Ordering::Relaxed;

use swapctx::raw::Context;
use swapctx::Stack;

use crate::unix::new_stack;
use crate::unix::storm::{mid_switch_goal, register_range, Storm, PROGRESS};
use crate::unix::torture::{self, Torture};

const FIBERS: usize = 6;
/// Switches between two looks at the storm's clock.
const BATCH: usize = 2_000;

pub fn signal_storm_callee_saved_registers() {
    let stacks: Vec<Stack> = (0..FIBERS).map(|_| new_stack(64 * 1024)).collect();
    let mut t = Torture::new(
        swapctx::raw::swapctx_switch,
        FIBERS,
        0x5eed_f1e2_0f0f,
        // qemu-i386 (7.2) resets the x87 control word when it delivers a
        // signal and does not restore it on return (Linux does): on x86 the
        // storm keeps the default floating-point modes, and the unit
        // tests' torture, without signals, checks the others.
        cfg!(target_arch = "x86"),
        || {
            PROGRESS.fetch_add(1, Relaxed);
        },
    );
    for (i, stack) in stacks.iter().enumerate() {
        let data = t.fiber_data(i + 1);
        // SAFETY: each fiber has its own stack, which outlives every switch
        // into it (the fibers are abandoned, suspended, before the stacks
        // are dropped; nothing on them needs dropping); its data lives as
        // long as `t`.
        t.sps[i + 1] =
            unsafe { Context::new(stack.top(), torture::fiber_entry, data).into_stack_pointer() };
    }
    let storm = Storm::start();
    for (i, s) in stacks.iter().enumerate() {
        register_range(i, s);
    }
    let tp: *mut Torture = &mut *t;
    while storm.going(mid_switch_goal()) {
        // SAFETY: main is context 0 and running; every fiber is suspended
        // on a live stack, and hands back to main when the batch is used
        // up.
        unsafe { torture::run(tp, BATCH) };
    }
    storm.finish("registers", t.counter as u64);
    t.assert_clean(1);
    drop(stacks);
}
