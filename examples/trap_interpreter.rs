//! A toy interpreter whose memory accesses are not bounds-checked: the
//! hardware checks them. Guest memory is 4 KiB of readable, writable pages
//! at the start of a 64 KiB reservation whose rest is inaccessible, and a
//! guest address is 16 bits, so every access lands in the reservation. An
//! access past the 4 KiB faults (`SIGSEGV`); the fault handler stops the
//! coroutine that runs the guest with `TrapHandle::return_from_trap`, and
//! the guest's result becomes `Err(Trap::OutOfBounds { .. })`, the way a
//! Wasm runtime turns a guard-page hit into a trap.
//!
//! ```text
//! cargo run --example trap_interpreter
//! ```

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;

use swapctx::coroutine::trap::{self, TrapHandle};
use swapctx::{Coroutine, CoroutineResult, Stack};

/// Bytes the guest may use.
const MEMORY: usize = 4096;
/// Bytes a 16-bit guest address can reach: the rest is a guard region.
const RESERVED: usize = 1 << 16;

/// One instruction of the stack machine.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Pushes a constant.
    Push(i64),
    /// Pops an address, pushes the byte there.
    Load,
    /// Pops a value, then an address; stores the value's low byte there.
    Store,
    /// Pops two values, pushes their sum.
    Add,
    /// Stops; the top of the stack is the result.
    Halt,
}

/// Why a guest stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trap {
    /// The guest touched `addr`, outside its memory, at instruction `pc`.
    OutOfBounds { addr: usize, pc: usize },
}

type Outcome = Result<i64, Trap>;

thread_local! {
    /// The guest that runs on this thread: its coroutine's trap handle and
    /// its memory's base address. Const-initialised `Cell`s: a signal
    /// handler may read them.
    static GUEST: Cell<Option<(TrapHandle<Outcome>, usize)>> = const { Cell::new(None) };
    /// The instruction the guest is at, for the trap's report.
    static PC: Cell<usize> = const { Cell::new(0) };
}

/// The handler that `fault_handler` replaced, for faults that are not the
/// guest's.
// SAFETY: all-zero bytes are a valid `sigaction` (SIG_DFL, no flags).
static mut PREVIOUS: libc::sigaction = unsafe { std::mem::zeroed() };

extern "C" fn fault_handler(sig: i32, info: *mut libc::siginfo_t, uc: *mut c_void) {
    // SAFETY: the kernel's siginfo for SIGSEGV.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some((handle, base)) = GUEST.with(|g| g.get()) {
        if (base..base + RESERVED).contains(&addr) {
            let trap = Trap::OutOfBounds {
                addr: addr - base,
                pc: PC.with(|p| p.get()),
            };
            // SAFETY: a synchronous SIGSEGV of the guest's coroutine, which
            // runs on this thread; its frames hold plain data (integers and
            // a `&'static` program), so forgetting them is fine.
            if unsafe { handle.return_from_trap(uc, move || Err(trap)) } {
                return;
            }
        }
    }
    // Not the guest's fault: what would have happened without us.
    // SAFETY: PREVIOUS was written before this handler was installed.
    let previous = unsafe { ptr::addr_of!(PREVIOUS).read() };
    if previous.sa_sigaction == libc::SIG_DFL || previous.sa_sigaction == libc::SIG_IGN {
        // SAFETY: the default action; the fault happens again and kills.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    } else {
        // SAFETY: the previous SA_SIGINFO handler (swapctx's overflow
        // report), called as the kernel would.
        unsafe {
            let f: extern "C" fn(i32, *mut libc::siginfo_t, *mut c_void) =
                std::mem::transmute(previous.sa_sigaction);
            f(sig, info, uc);
        }
    }
}

/// Installs `fault_handler` after swapctx's overflow handler, so that it
/// runs first and passes on what is not the guest's.
fn install_handler() {
    trap::install_overflow_handler();
    // SAFETY: plain sigaction; PREVIOUS is written before our handler runs.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = fault_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        let rc = libc::sigaction(libc::SIGSEGV, &sa, ptr::addr_of_mut!(PREVIOUS));
        assert_eq!(rc, 0, "sigaction: {}", std::io::Error::last_os_error());
    }
}

/// The guest's memory: `MEMORY` usable bytes at the start of a
/// `RESERVED`-byte inaccessible reservation.
fn map_memory() -> *mut u8 {
    // SAFETY: a fresh anonymous mapping, checked; then its first pages
    // made accessible.
    unsafe {
        let base = libc::mmap(
            ptr::null_mut(),
            RESERVED,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        );
        assert_ne!(
            base,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        let rc = libc::mprotect(base, MEMORY, libc::PROT_READ | libc::PROT_WRITE);
        assert_eq!(rc, 0, "mprotect: {}", std::io::Error::last_os_error());
        base.cast()
    }
}

/// Runs `program` against the memory at `base`, with no bounds checks:
/// an address is a 16-bit offset, and a bad one faults.
fn interpret(program: &'static [Op], base: *mut u8) -> Outcome {
    let mut stack: Vec<i64> = Vec::with_capacity(16);
    for (pc, op) in program.iter().enumerate() {
        PC.with(|p| p.set(pc));
        match *op {
            Op::Push(v) => stack.push(v),
            Op::Load => {
                let addr = stack.pop().unwrap() as u16 as usize;
                // SAFETY: `addr` is inside the reservation: a read of the
                // guest's memory, or a fault the handler turns into a trap.
                let byte = unsafe { ptr::read_volatile(base.add(addr)) };
                stack.push(byte as i64);
            }
            Op::Store => {
                let value = stack.pop().unwrap();
                let addr = stack.pop().unwrap() as u16 as usize;
                // SAFETY: as for Load.
                unsafe { ptr::write_volatile(base.add(addr), value as u8) };
            }
            Op::Add => {
                let (b, a) = (stack.pop().unwrap(), stack.pop().unwrap());
                stack.push(a + b);
            }
            Op::Halt => break,
        }
    }
    Ok(stack.pop().unwrap_or(0))
}

/// Runs a guest in a coroutine on `stack`; gives the outcome and the stack
/// back for the next guest.
fn run_guest(program: &'static [Op], base: *mut u8, stack: Stack) -> (Outcome, Stack) {
    let base_addr = base as usize;
    let mut co = Coroutine::<(), (), Outcome>::with_stack(stack, move |_, ()| {
        interpret(program, base_addr as *mut u8)
    });
    GUEST.with(|g| g.set(Some((co.trap_handle(), base_addr))));
    let outcome = match co.resume(()) {
        CoroutineResult::Return(outcome) => outcome,
        CoroutineResult::Yield(()) => unreachable!("the guest never yields"),
    };
    GUEST.with(|g| g.set(None));
    // SAFETY: after a trap, the abandoned frames are `interpret`'s: a
    // `&'static` program, integers, and the operand stack's `Vec`, whose
    // heap buffer is leaked (a few bytes per trap) but pinned by nothing
    // and seen by no thread. Reusing the stack under them is fine.
    let stack = unsafe { co.into_stack_after_trap() };
    (outcome, stack)
}

static STORE_THEN_LOAD: [Op; 8] = [
    Op::Push(100),
    Op::Push(40),
    Op::Store, // mem[100] = 40
    Op::Push(100),
    Op::Load,
    Op::Push(2),
    Op::Add, // mem[100] + 2
    Op::Halt,
];

static OUT_OF_BOUNDS: [Op; 5] = [
    Op::Push(1),
    Op::Push(5000), // past the 4 KiB of memory
    Op::Load,
    Op::Add,
    Op::Halt,
];

fn main() {
    install_handler();
    let memory = map_memory();
    let mut stack = Stack::new(64 * 1024).expect("a coroutine stack");
    for (name, program, expected) in [
        ("store then load", &STORE_THEN_LOAD[..], Ok(42)),
        (
            "out of bounds",
            &OUT_OF_BOUNDS[..],
            Err(Trap::OutOfBounds { addr: 5000, pc: 2 }),
        ),
        ("again, on the same stack", &STORE_THEN_LOAD[..], Ok(42)),
    ] {
        let (outcome, back) = run_guest(program, memory, stack);
        stack = back;
        println!("{name}: {outcome:?}");
        assert_eq!(outcome, expected);
    }
}
