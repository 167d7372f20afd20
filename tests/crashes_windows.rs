//! Crashes that must be clear, on Windows: the checks of `tests/crashes.rs`
//! that apply there, each scenario run in a child process (Windows has no
//! `fork`: the test binary runs itself again, with the scenario's name in
//! `SWAPCTX_CRASH_SCENARIO`, and only the `child` test, which runs it).
//!
//! - a coroutine that recurses without end, and one with a single frame
//!   larger than its stack, hit the guard page: the message names the
//!   stack's bounds and size, and the process aborts (the vectored handler
//!   of `src/overflow_windows.rs`);
//! - a thread that overflows its own stack after swapctx installed its
//!   handler still gets Rust's own report;
//! - an access violation that is not in a guard page still ends the
//!   process with `STATUS_ACCESS_VIOLATION`, without swapctx's message;
//! - a raw context whose entry function returns aborts with a message.
//!
//! Elsewhere every test reports itself ignored: `tests/crashes.rs` checks
//! the same with `fork`.

use std::ffi::c_void;
use std::hint::black_box;
use std::process::Command;

use swapctx::raw::{self, Context};
use swapctx::{Coroutine, Stack, Yielder};

const SCENARIO: &str = "SWAPCTX_CRASH_SCENARIO";

/// `STATUS_ACCESS_VIOLATION` as a process exit code.
const ACCESS_VIOLATION: i32 = 0xC000_0005_u32 as i32;

/// Prints the stack's bounds the way the overflow message does.
fn announce(stack: &Stack) {
    eprintln!(
        "bounds {:#x}..{:#x}",
        stack.bottom() as usize,
        stack.top() as usize
    );
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let pad = black_box([depth; 16]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + pad[3]
}

fn deep_recursion() {
    let stack = Stack::new(64 * 1024).unwrap();
    announce(&stack);
    let mut co = Coroutine::<(), (), u64>::with_stack(stack, |_y: &Yielder<(), ()>, ()| recurse(0));
    let _ = co.resume(());
}

/// A function whose one frame holds `N` bytes of locals.
#[inline(never)]
fn frame_of<const N: usize>() -> u8 {
    let buf = black_box([1u8; N]);
    buf[black_box(100)]
}

fn large_frame() {
    let stack = Stack::new(64 * 1024).unwrap();
    announce(&stack);
    let mut co = Coroutine::<(), (), u8>::with_stack(stack, |_, ()| frame_of::<{ 512 * 1024 }>());
    let _ = co.resume(());
}

fn overflow_inside_on_stack() {
    let mut stack = Stack::new(64 * 1024).unwrap();
    announce(&stack);
    swapctx::on_stack(&mut stack, || recurse(0));
}

fn thread_overflow_after_swapctx() {
    // Install swapctx's handler, then overflow a plain thread.
    let _stack = Stack::new(64 * 1024).unwrap();
    let t = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| recurse(0))
        .unwrap();
    let _ = t.join();
}

fn fault_elsewhere() {
    let _stack = Stack::new(64 * 1024).unwrap();
    // SAFETY: none: the write faults on purpose (address 16 is never
    // mapped), which is the scenario.
    unsafe { std::ptr::write_volatile(black_box(16usize) as *mut u64, 1) };
}

static mut SLOT: Context = Context::empty();

/// An entry function must never return; this one does (it gets the entry
/// type through a transmute) to check that the trampoline catches it.
extern "C" fn returning_entry(_value: usize, _data: *mut c_void) -> usize {
    7
}

fn raw_entry_returns() {
    let stack = Stack::new(64 * 1024).unwrap();
    // SAFETY: the transmute makes an entry that returns, which is exactly
    // the contract violation under test; the trampoline must abort.
    unsafe {
        let entry: raw::EntryFn = std::mem::transmute::<
            extern "C" fn(usize, *mut c_void) -> usize,
            raw::EntryFn,
        >(returning_entry);
        let ctx = Context::new(stack.top(), entry, std::ptr::null_mut());
        raw::switch(&mut *std::ptr::addr_of_mut!(SLOT), ctx, 0);
    }
}

const SCENARIOS: &[(&str, fn())] = &[
    ("deep_recursion", deep_recursion),
    ("large_frame", large_frame),
    ("overflow_inside_on_stack", overflow_inside_on_stack),
    (
        "thread_overflow_after_swapctx",
        thread_overflow_after_swapctx,
    ),
    ("fault_elsewhere", fault_elsewhere),
    ("raw_entry_returns", raw_entry_returns),
];

/// The child's side: runs the scenario named in the environment.
#[test]
#[ignore = "runs only in the child processes of the other tests"]
fn child() {
    let name = std::env::var(SCENARIO).expect("SWAPCTX_CRASH_SCENARIO names the scenario");
    let (_, body) = SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    body();
    println!("the scenario {name} ended without a crash");
}

/// How a child ended: its exit code and its output (stderr, then stdout).
struct Outcome {
    code: Option<i32>,
    output: String,
}

fn in_child(name: &str) -> Outcome {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO, name)
        .output()
        .unwrap();
    Outcome {
        code: out.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ),
    }
}

/// An abort: neither a normal exit (0, or 101 for a failed test) nor an
/// access violation that went unreported.
fn aborted(o: &Outcome) -> bool {
    !matches!(o.code, Some(0) | Some(101) | Some(ACCESS_VIOLATION))
}

fn overflow_reported(name: &str) {
    let o = in_child(name);
    assert!(
        aborted(&o),
        "{name}: exit {:?}, output:\n{}",
        o.code,
        o.output
    );
    let line = o
        .output
        .lines()
        .find(|l| l.starts_with("swapctx: a coroutine has overflowed its stack"))
        .unwrap_or_else(|| panic!("{name}: no overflow message in:\n{}", o.output));
    let bounds = o
        .output
        .lines()
        .find_map(|l| l.strip_prefix("bounds "))
        .expect("the child announces its stack");
    let named = format!("below the stack {bounds} (65536 bytes)");
    assert!(
        line.contains(&named),
        "{name}: {line:?} does not say {named:?}"
    );
    assert!(line.contains("guard page"), "{name}: {line:?}");
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "Windows only: tests/crashes.rs checks this on Unix"
)]
fn a_coroutine_that_recurses_forever_gets_the_message() {
    overflow_reported("deep_recursion");
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "Windows only: tests/crashes.rs checks this on Unix"
)]
fn a_frame_larger_than_the_stack_gets_the_message() {
    overflow_reported("large_frame");
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "Windows only: tests/crashes.rs checks this on Unix"
)]
fn an_overflow_inside_on_stack_gets_the_message() {
    overflow_reported("overflow_inside_on_stack");
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "Windows only: tests/crashes.rs checks this on Unix"
)]
fn a_thread_overflow_gets_rusts_report() {
    let o = in_child("thread_overflow_after_swapctx");
    assert!(
        o.output.contains("has overflowed its stack"),
        "exit {:?}, output:\n{}",
        o.code,
        o.output
    );
    assert!(!o.output.contains("swapctx: a coroutine"), "{}", o.output);
    assert_ne!(o.code, Some(0));
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "Windows only: tests/crashes.rs checks this on Unix"
)]
fn other_faults_are_not_ours() {
    let o = in_child("fault_elsewhere");
    assert_eq!(o.code, Some(ACCESS_VIOLATION), "output:\n{}", o.output);
    assert!(!o.output.contains("swapctx:"), "{}", o.output);
}

#[test]
#[cfg_attr(
    not(windows),
    ignore = "Windows only: tests/crashes.rs checks this on Unix"
)]
fn a_raw_entry_that_returns_aborts_with_a_message() {
    let o = in_child("raw_entry_returns");
    assert!(aborted(&o), "exit {:?}, output:\n{}", o.code, o.output);
    assert!(
        o.output.contains("of a raw context returned"),
        "output:\n{}",
        o.output
    );
}
