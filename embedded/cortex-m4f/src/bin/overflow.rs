//! A stack that overflows into its MPU guard: the fault handler must print
//! swapctx's message and stop with a failure status.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use panic_halt as _;

#[repr(C, align(256))]
struct Stack([u8; 4096]);
static mut STACK: Stack = Stack([0; 4096]);

#[entry]
fn main() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    // SAFETY: the only use of the static.
    let stack = unsafe { &mut (*core::ptr::addr_of_mut!(STACK)).0 };
    swapctx_cortex_m4f::guard(&mut p.MPU, stack);
    swapctx_cortex_m4f::run_on_process_stack(stack, recurse_forever)
}

extern "C" fn recurse_forever() -> ! {
    hprintln!("recursing on a 4096-byte guarded stack");
    depth(0);
    unreachable!()
}

/// Recurses until the stack runs into its guard (on purpose).
#[inline(never)]
#[allow(unconditional_recursion)]
fn depth(n: u32) -> u32 {
    let buf = core::hint::black_box([n; 16]);
    depth(n + 1) + buf[3]
}
