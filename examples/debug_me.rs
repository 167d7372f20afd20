//! A small program to point a debugger at (docs/debugging.md): `main` calls
//! `run_the_coroutine`, which resumes a coroutine that calls
//! `work_in_coroutine` three deep and stops in `breakpoint_here`; then the
//! coroutine suspends, and `inspect_suspended` gets its saved stack
//! pointer, for gdb's `swapctx-bt` (scripts/swapctx.gdb).
//!
//! ```text
//! cargo build --example debug_me
//! gdb -x scripts/swapctx.gdb -ex 'break breakpoint_here' -ex run -ex bt target/debug/examples/debug_me
//! ```

use std::hint::black_box;

use swapctx::{Coroutine, CoroutineResult, Yielder};

/// Where the debugger stops, inside the coroutine.
#[inline(never)]
#[no_mangle]
pub extern "C" fn breakpoint_here(depth: u32) -> u32 {
    black_box(depth) + 1
}

#[inline(never)]
fn work_in_coroutine(y: &Yielder<(), u32>, n: u32) -> u32 {
    if black_box(n) == 0 {
        let r = breakpoint_here(7);
        y.suspend(r);
        return r;
    }
    work_in_coroutine(y, n - 1) + 1
}

/// Where the debugger stops while the coroutine is suspended: its saved
/// stack pointer is the argument.
#[inline(never)]
#[no_mangle]
pub extern "C" fn inspect_suspended(saved_sp: *const u8) -> usize {
    black_box(saved_sp) as usize
}

#[inline(never)]
fn run_the_coroutine() -> u32 {
    let mut co = Coroutine::<(), u32, u32>::new(|y, ()| work_in_coroutine(y, 2));
    let CoroutineResult::Yield(v) = co.resume(()) else {
        unreachable!()
    };
    inspect_suspended(co.saved_stack_pointer().unwrap_or(std::ptr::null()));
    let CoroutineResult::Return(r) = co.resume(()) else {
        unreachable!()
    };
    v + r
}

fn main() {
    println!("result {}", run_the_coroutine());
}
