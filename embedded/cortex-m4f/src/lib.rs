//! Bare-metal support shared by the programs: the MPU guard under each
//! coroutine stack, the fault handler that names the stack that overflowed,
//! and output over semihosting.
#![no_std]

use core::sync::atomic::{AtomicUsize, Ordering};

use cortex_m::peripheral::MPU;
use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprint, hprintln};

/// The size of the no-access region at the bottom of a guarded stack: the
/// MPU's regions are powers of two from 32 bytes, aligned to their size.
pub const GUARD_SIZE: usize = 256;

/// At most this many guarded stacks: the M4's MPU has 8 regions; region 0
/// is left for the program.
pub const MAX_GUARDS: usize = 7;

/// The guarded stacks, for the fault handler: `[lo, hi)` of each stack
/// (guard included), 0 when free.
static GUARDS: [[AtomicUsize; 2]; MAX_GUARDS] =
    [const { [AtomicUsize::new(0), AtomicUsize::new(0)] }; MAX_GUARDS];

/// MPU_RASR: region enable, and SIZE = log2(size) - 1.
const RASR_ENABLE: u32 = 1;
/// MPU_RASR.AP = 0b000: no access, privileged or not.
const RASR_AP_NONE: u32 = 0 << 24;
/// MPU_RASR.XN: never execute.
const RASR_XN: u32 = 1 << 28;
/// MPU_CTRL: enable, and PRIVDEFENA (the default memory map for privileged
/// code outside the regions).
const MPU_CTRL_ENABLE: u32 = 1 | (1 << 2);
/// SCB_SHCSR.MEMFAULTENA: MemManage faults go to their own handler.
const SHCSR_MEMFAULTENA: u32 = 1 << 16;

/// Makes the lowest [`GUARD_SIZE`] bytes of `stack` a no-access MPU region
/// and records the stack for the fault handler; returns the region used.
///
/// # Panics
/// If `stack` does not start on a `GUARD_SIZE` boundary, or every region
/// is in use.
pub fn guard(mpu: &mut MPU, stack: &[u8]) -> (usize, usize) {
    let lo = stack.as_ptr() as usize;
    let hi = lo + stack.len();
    assert!(
        lo.is_multiple_of(GUARD_SIZE),
        "a guarded stack must start on a {GUARD_SIZE}-byte boundary"
    );
    let slot = GUARDS
        .iter()
        .position(|g| g[0].load(Ordering::Relaxed) == 0)
        .expect("every MPU region is in use");
    GUARDS[slot][0].store(lo, Ordering::Relaxed);
    GUARDS[slot][1].store(hi, Ordering::Relaxed);
    let size_field = (GUARD_SIZE.trailing_zeros() - 1) << 1;
    // SAFETY: programs the MPU region `slot + 1` (region 0 is left alone)
    // over memory that only this stack's overflow would touch; the MPU and
    // the MemManage fault are then enabled, with the default map for
    // everything else.
    unsafe {
        mpu.rnr.write(slot as u32 + 1);
        mpu.rbar.write(lo as u32);
        mpu.rasr
            .write(RASR_XN | RASR_AP_NONE | size_field | RASR_ENABLE);
        mpu.ctrl.write(MPU_CTRL_ENABLE);
        (*cortex_m::peripheral::SCB::PTR)
            .shcsr
            .modify(|v| v | SHCSR_MEMFAULTENA);
    }
    cortex_m::asm::dsb();
    cortex_m::asm::isb();
    (lo, hi)
}

/// The stack whose guard holds `addr`, as `[lo, hi)`.
fn guarded_stack(addr: usize) -> Option<(usize, usize)> {
    GUARDS.iter().find_map(|g| {
        let lo = g[0].load(Ordering::Relaxed);
        let hi = g[1].load(Ordering::Relaxed);
        (lo != 0 && addr >= lo && addr < lo + GUARD_SIZE).then_some((lo, hi))
    })
}

/// SCB_CFSR.MMARVALID: MMFAR holds the faulting address.
const CFSR_MMARVALID: u32 = 1 << 7;

#[exception]
fn MemoryManagement() -> ! {
    // SAFETY: reads of the fault status registers.
    let (cfsr, mmfar) = unsafe {
        let scb = &*cortex_m::peripheral::SCB::PTR;
        (scb.cfsr.read(), scb.mmfar.read())
    };
    // The thread's stack pointer (coroutines run on the process stack).
    let psp = cortex_m::register::psp::read() as usize;
    let fault = (cfsr & CFSR_MMARVALID != 0).then_some(mmfar as usize);
    match fault.and_then(guarded_stack).or_else(|| guarded_stack(psp)) {
        // The same words as a guard page's overflow on Linux or Windows.
        Some((lo, hi)) => hprint!(
            "{}",
            swapctx::memory::overflow_message(fault, psp, lo..lo + GUARD_SIZE, hi)
        ),
        None => hprintln!(
            "memory management fault (CFSR {:#010x}, MMFAR {:#010x})",
            cfsr,
            mmfar
        ),
    }
    exit(false)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("hard fault at pc {:#010x}", frame.pc());
    exit(false)
}

/// A coroutine stack on static memory whose lowest [`GUARD_SIZE`] bytes are
/// a no-access MPU region: an overflow faults before it writes below the
/// stack, into the MemManage handler, which prints swapctx's message.
pub struct MpuStack {
    lo: usize,
    hi: usize,
}

impl MpuStack {
    /// Guards the lowest [`GUARD_SIZE`] bytes of `mem` and makes the rest
    /// a stack.
    ///
    /// # Panics
    /// As [`guard`]: `mem` must start on a `GUARD_SIZE` boundary, and an
    /// MPU region must be free.
    pub fn new(mpu: &mut MPU, mem: &'static mut [u8]) -> MpuStack {
        let (lo, hi) = guard(mpu, mem);
        MpuStack { lo, hi }
    }
}

// SAFETY: `[bottom, top)` is the `'static mut` memory `new` took, ours
// alone; the top is 16-byte aligned; leaked, it is never used again (the
// MPU region stays); `is_guarded`: the MPU region below `bottom` faults on
// any access before it happens.
unsafe impl swapctx::StackMemory for MpuStack {
    fn top(&self) -> *mut u8 {
        (self.hi & !15) as *mut u8
    }
    fn bottom(&self) -> *mut u8 {
        (self.lo + GUARD_SIZE) as *mut u8
    }
    fn is_guarded(&self) -> bool {
        true
    }
    fn guard_region(&self) -> Option<(*const u8, usize)> {
        Some((self.lo as *const u8, GUARD_SIZE))
    }
}

/// Runs `f` in thread mode on the process stack `stack` (CONTROL.SPSEL =
/// 1), so that exceptions, which always run on the main stack, keep a
/// stack of their own when `f`'s stacks overflow.
pub fn run_on_process_stack(stack: &'static mut [u8], f: extern "C" fn() -> !) -> ! {
    let top = (stack.as_mut_ptr() as usize + stack.len()) & !7;
    // SAFETY: `top` is the 8-byte aligned top of a static buffer that
    // nothing else uses; `f` never returns, so nothing of this frame is
    // needed again.
    unsafe {
        core::arch::asm!(
            "msr psp, {top}",           // the process stack pointer
            "mrs r0, control",
            "orr r0, r0, #2",           // SPSEL: thread mode uses psp
            "msr control, r0",
            "isb",
            "bx {f}",                   // enter f on the new stack
            top = in(reg) top,
            f = in(reg) f,
            in("r0") 0,
            options(noreturn),
        )
    }
}

/// Ends the program with a success or failure status (semihosting's exit,
/// which ends qemu); waits for interrupts if the debugger does not stop it.
pub fn exit(success: bool) -> ! {
    debug::exit(if success {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}
