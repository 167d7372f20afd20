//! A coroutine that recurses until its stack runs into the MPU guard below
//! it: the MemManage handler prints swapctx's overflow message (the words
//! of a guard page's overflow on Linux) over semihosting and stops with a
//! failure status.
#![no_std]
#![no_main]

use core::ptr::addr_of_mut;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use swapctx::Coroutine;
use swapctx_cortex_m4f::{run_on_process_stack, MpuStack};

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    swapctx_cortex_m4f::exit(false)
}

#[repr(C, align(256))]
struct Guarded([u8; 4096]);
static mut COROUTINE_STACK: Guarded = Guarded([0; 4096]);
static mut MAIN_STACK: [u8; 8192] = [0; 8192];

#[entry]
fn main() -> ! {
    // SAFETY: the only use of MAIN_STACK.
    let stack = unsafe { &mut *addr_of_mut!(MAIN_STACK) };
    run_on_process_stack(stack, run)
}

extern "C" fn run() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    // SAFETY: the only use of COROUTINE_STACK.
    let mem = unsafe { &mut (*addr_of_mut!(COROUTINE_STACK)).0 };
    let stack = MpuStack::new(&mut p.MPU, mem);
    hprintln!("recursing in a coroutine on a 4096-byte stack with a 256-byte MPU guard");
    let mut co: Coroutine<u32, (), u32, MpuStack> = Coroutine::with_stack(stack, |_, n| depth(n));
    let _ = co.resume(0);
    hprintln!("the coroutine returned: the guard did not stop it");
    swapctx_cortex_m4f::exit(true)
}

/// Recurses until the stack runs into its guard (on purpose).
#[inline(never)]
#[allow(unconditional_recursion)]
fn depth(n: u32) -> u32 {
    let buf = core::hint::black_box([n; 16]);
    depth(n + 1) + buf[3]
}
