//! Chapter 5: guard pages, and what an overflow looks like.
//!
//! A coroutine's stack is an `mmap`'d region with one no-access page
//! below it. This example prints that layout, then overflows a small stack
//! on purpose. The overflow kills the process that has it, so the example
//! runs it in a child: it starts itself again (`current_exe`) with the
//! argument `overflow`, and prints what the child wrote to stderr and the
//! signal that ended it.
//!
//! Under qemu-user (the aarch64 tests on an x86_64 machine) the child
//! cannot be started: it is this program `exec`'d again, and the host
//! kernel runs an aarch64 program only through qemu's binfmt handler, which
//! a plain qemu-user install does not register. Run this one natively.
//!
//! The addresses change from run to run; the chapter's test replaces every
//! hexadecimal number with 0xADDR before comparing.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use swapctx::{Coroutine, Stack};

/// Recurses until the stack runs out. Each call keeps 1 KiB alive across
/// the next call, so the compiler cannot turn this into a loop.
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0; // never: only here so that the recursion has an end
    }
    let mut buf = [0u8; 1024];
    buf[0] = depth as u8;
    let buf = std::hint::black_box(buf);
    let below = recurse(std::hint::black_box(depth + 1));
    below + buf[0] as u64
}

/// The child: overflows a 16 KiB coroutine stack. Never returns.
fn child() {
    let stack = Stack::new(16 * 1024).expect("a stack");
    let mut co = Coroutine::<(), (), u64>::with_stack(stack, |_y, ()| recurse(0));
    let _ = co.resume(());
    unreachable!("the overflow aborts the process");
}

fn main() -> Result<(), swapctx::Error> {
    if std::env::args().nth(1).as_deref() == Some("overflow") {
        child();
    }

    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    let stack = Stack::new(16 * 1024)?;
    let (guard, guard_len) = stack.guard();
    println!("a 16 KiB stack:");
    println!(
        "  top()    {:p}   the first frame is built below here",
        stack.top()
    );
    println!(
        "  bottom() {:p}   {} usable bytes above",
        stack.bottom(),
        stack.size()
    );
    println!("  guard    {guard:p}   {guard_len} bytes, no access");
    println!(
        "  the guard page ends exactly at bottom(): {}",
        guard as usize + guard_len == stack.bottom() as usize
    );
    println!("  the guard is one page: {}", guard_len == page);
    drop(stack);

    println!("overflowing a 16 KiB coroutine stack in a child process...");
    let out = Command::new(std::env::current_exe().expect("the path of this program"))
        .arg("overflow")
        .output()
        .expect("the child runs");
    println!("child's stderr:");
    print!("  {}", String::from_utf8_lossy(&out.stderr));
    match out.status.signal() {
        Some(libc::SIGABRT) => println!("child ended by signal {} (SIGABRT)", libc::SIGABRT),
        Some(sig) => println!("child ended by signal {sig}"),
        None => println!("child exited with {}", out.status),
    }
    Ok(())
}
