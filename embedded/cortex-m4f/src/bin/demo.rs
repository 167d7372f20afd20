//! swapctx on a Cortex-M4F: the producer -> consumer demo (a consumer
//! coroutine that receives each value, as Python's generator `send()`),
//! a generator on a canary-checked buffer, and the register torture of
//! the raw switch: r4-r11, d8-d15 and FPSCR loaded with patterns before
//! each of thousands of random switches between contexts on static
//! stacks, and checked after.
#![no_std]
#![no_main]

use core::ffi::c_void;
use core::ptr::addr_of_mut;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use swapctx::{Coroutine, CoroutineResult, Generator, StackArea, StackBuf};
use swapctx_cortex_m4f::{run_on_process_stack, MpuStack};

/// The switch under test: `swapctx_switch`'s signature (for the torture
/// file below).
type SwitchFn = unsafe extern "C" fn(*mut *mut u8, *mut u8, usize) -> usize;
/// The register torture's view of arm's callee-saved state: the same file
/// the library's own tests use.
#[path = "../../../../src/arch/torture/arm.rs"]
mod torture;
use torture::{switch_with, Regs};

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    swapctx_cortex_m4f::exit(false)
}

/// The consumer's stack: 8 KiB, the lowest 256 bytes an MPU guard.
#[repr(C, align(256))]
struct Guarded([u8; 8192]);
static mut CONSUMER_STACK: Guarded = Guarded([0; 8192]);
/// The generator's stack: the embedder's memory, with a canary.
static mut GENERATOR_STACK: StackArea<8192> = StackArea::new();
/// The thread's own (process) stack.
static mut MAIN_STACK: [u8; 16384] = [0; 16384];

#[entry]
fn main() -> ! {
    // SAFETY: the only use of MAIN_STACK.
    let stack = unsafe { &mut *addr_of_mut!(MAIN_STACK) };
    run_on_process_stack(stack, run)
}

extern "C" fn run() -> ! {
    let mut p = cortex_m::Peripherals::take().unwrap();
    // SAFETY: the only use of CONSUMER_STACK.
    let mem = unsafe { &mut (*addr_of_mut!(CONSUMER_STACK)).0 };
    let stack = MpuStack::new(&mut p.MPU, mem);
    producer_consumer(stack);
    generator();
    let failures = register_torture(20_000);
    if failures == 0 {
        hprintln!("# all checks passed");
    }
    swapctx_cortex_m4f::exit(failures == 0)
}

/// The demo: the producer sends each item into the consumer coroutine.
fn producer_consumer(stack: MpuStack) {
    let mut consumer: Coroutine<Option<u32>, (), u32, MpuStack> =
        Coroutine::with_stack(stack, |y, mut item: Option<u32>| {
            let mut total = 0;
            while let Some(v) = item {
                hprintln!("# consumer: receiving data {}", v);
                total += v;
                item = y.suspend(());
            }
            total
        });
    let mut state: u32 = 7;
    let mut sent = 0;
    for _ in 0..5 {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let v = (state >> 16) % 10 + 1;
        hprintln!("# producer: sending data {}", v);
        sent += v;
        assert!(matches!(
            consumer.resume(Some(v)),
            CoroutineResult::Yield(())
        ));
    }
    match consumer.resume(None) {
        CoroutineResult::Return(total) => {
            assert_eq!(total, sent);
            hprintln!("# consumer returned {}, the sum of what was sent", total);
        }
        CoroutineResult::Yield(()) => panic!("the consumer did not end"),
    }
}

/// A generator of Fibonacci numbers on a buffer without a guard.
fn generator() {
    // SAFETY: the only use of GENERATOR_STACK; what runs on it fits.
    let stack = unsafe { StackBuf::from_static(&mut (*addr_of_mut!(GENERATOR_STACK)).0) }.unwrap();
    let fib = Generator::with_stack(stack, |y| {
        let (mut a, mut b) = (0u32, 1u32);
        loop {
            y.suspend(a);
            (a, b) = (b, a + b);
        }
    });
    let mut line = [0u32; 10];
    for (slot, v) in line.iter_mut().zip(fib) {
        *slot = v;
    }
    hprintln!("# generator: {:?}", line);
}

// The register torture: contexts 1..=FIBERS on static stacks and the main
// context 0 switch at random; before each switch the switching side loads
// a fresh pattern into every callee-saved register, and checks them when
// something switches back to it.

const FIBERS: usize = 3;
const FIBER_STACK: usize = 4096;
static mut FIBER_STACKS: [[u8; FIBER_STACK]; FIBERS] = [[0; FIBER_STACK]; FIBERS];
static mut SPS: [*mut u8; FIBERS + 1] = [core::ptr::null_mut(); FIBERS + 1];
static mut STEPS: u32 = 0;
static mut LIMIT: u32 = 0;
static mut RNG: u32 = 0x2545_f491;
static mut FAILURES: u32 = 0;

/// One context's part: switch on until the budget is spent, then back to
/// the main context (0), which returns.
///
/// # Safety
/// Runs on context `me`; the statics are touched by the running context
/// only.
unsafe fn torture_loop(me: usize) {
    // SAFETY: per the contract: one context runs at a time.
    unsafe {
        loop {
            let done = STEPS >= LIMIT;
            if done && me == 0 {
                return;
            }
            STEPS += 1;
            RNG ^= RNG << 13;
            RNG ^= RNG >> 17;
            RNG ^= RNG << 5;
            let mut next = if done { 0 } else { RNG as usize % (FIBERS + 1) };
            if next == me {
                next = (me + 1) % (FIBERS + 1);
            }
            let vals = Regs::pattern(u64::from(STEPS) * 31 + me as u64, false);
            let mut out = Regs::default();
            let sps = &mut *addr_of_mut!(SPS);
            let to = sps[next];
            switch_with(
                swapctx::raw::swapctx_switch,
                &mut sps[me],
                to,
                0,
                &vals,
                &mut out,
            );
            if out != vals {
                FAILURES += 1;
                hprintln!(
                    "context {}: registers changed across a switch: {:?} != {:?}",
                    me,
                    out,
                    vals
                );
            }
        }
    }
}

unsafe extern "C" fn fiber(_value: usize, data: *mut c_void) -> ! {
    // SAFETY: a fiber runs its loop; it never ends (the main context stops
    // switching to it).
    unsafe { torture_loop(data as usize) };
    unreachable!("only the main context leaves the loop")
}

fn register_torture(switches: u32) -> u32 {
    // SAFETY: the fibers' stacks are used by these contexts only; the
    // statics are touched by the running context only.
    unsafe {
        LIMIT = switches;
        let stacks = &mut *addr_of_mut!(FIBER_STACKS);
        let sps = &mut *addr_of_mut!(SPS);
        for (i, s) in stacks.iter_mut().enumerate() {
            let top = s.as_mut_ptr().add(FIBER_STACK);
            let top = (top as usize & !15) as *mut u8;
            sps[i + 1] =
                swapctx::raw::Context::new(top, fiber, (i + 1) as *mut c_void).into_stack_pointer();
        }
        torture_loop(0);
        let (steps, failures) = (STEPS, FAILURES);
        hprintln!(
            "# register torture: {} switches among {} contexts, r4-r11, d8-d15 and FPSCR checked: {} failures",
            steps,
            FIBERS + 1,
            failures
        );
        failures
    }
}
