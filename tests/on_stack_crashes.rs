//! What ends the process, for `on_stack` and trap recovery, each run in a
//! forked child (this file is `harness = false`, run by
//! tests/common/harness.rs on the main thread, so that the process is
//! single-threaded when it forks): an overflow inside `on_stack` prints
//! swapctx's overflow message; a fault during a coroutine's unwind that a
//! trap handler tries to recover aborts with a message.

// Forks children that crash on purpose: Unix only. Elsewhere the file is one
// check listed as ignored, with the reason.
#[cfg(unix)]
#[path = "."]
mod unix {
    #[path = "common/child.rs"]
    mod child;
    #[path = "common/harness.rs"]
    mod harness;
    #[path = "common/trap_handler.rs"]
    mod trap_handler;

    use std::ffi::c_void;

    use child::in_child;
    use swapctx::coroutine::trap::TrapHandle;
    use swapctx::{on_stack, Coroutine, Stack};

    fn overflow_inside_on_stack_prints_swapctxs_message() -> Result<(), String> {
        let out = in_child(|| {
            let mut stack = Stack::new(64 * 1024).unwrap();
            on_stack(&mut stack, || trap_handler::recurse_forever(&mut [0; 100]));
        });
        let said = out.output.contains("swapctx: ") && out.output.contains("overflowed its stack");
        if out.signal == Some(libc::SIGABRT) && said {
            Ok(())
        } else {
            Err(format!(
                "signal {:?}, exit {:?}, output:\n{}",
                out.signal, out.exit, out.output
            ))
        }
    }

    unsafe fn return_1(h: TrapHandle<i32>, uc: *mut c_void, _sig: i32, _addr: usize) -> bool {
        // SAFETY: per the caller.
        unsafe { h.return_from_trap(uc, || 1) }
    }

    fn a_trap_during_the_coroutines_unwind_aborts_with_a_message() -> Result<(), String> {
        let out = in_child(|| {
            let mut co = Coroutine::<(), (), i32>::new(|_, ()| {
                struct FaultInDrop;
                impl Drop for FaultInDrop {
                    fn drop(&mut self) {
                        trap_handler::segfault();
                    }
                }
                let _f = FaultInDrop;
                panic!("the body's panic");
            });
            let _on = trap_handler::running(co.trap_handle(), return_1);
            let _ = co.resume(());
        });
        let said = out.output.contains("faulted while it was unwinding");
        if out.signal == Some(libc::SIGABRT) && said {
            Ok(())
        } else {
            Err(format!(
                "signal {:?}, exit {:?}, output:\n{}",
                out.signal, out.exit, out.output
            ))
        }
    }

    fn an_unhandled_fault_in_a_coroutine_still_kills_the_process() -> Result<(), String> {
        let out = in_child(|| {
            trap_handler::install();
            let mut co = Coroutine::<(), (), ()>::new(|_, ()| trap_handler::segfault());
            // No handle named: the handler passes the fault on.
            let _ = co.resume(());
            println!("survived");
        });
        if out.signal == Some(libc::SIGSEGV) && !out.output.contains("survived") {
            Ok(())
        } else {
            Err(format!(
                "signal {:?}, exit {:?}, output:\n{}",
                out.signal, out.exit, out.output
            ))
        }
    }

    pub fn main() {
        harness::run(vec![
            harness::check(
                "overflow_inside_on_stack_prints_swapctxs_message",
                overflow_inside_on_stack_prints_swapctxs_message,
            ),
            harness::check(
                "a_trap_during_the_coroutines_unwind_aborts_with_a_message",
                a_trap_during_the_coroutines_unwind_aborts_with_a_message,
            ),
            harness::check(
                "an_unhandled_fault_in_a_coroutine_still_kills_the_process",
                an_unhandled_fault_in_a_coroutine_still_kills_the_process,
            ),
        ]);
    }
}

#[cfg(unix)]
fn main() {
    unix::main()
}

#[cfg(not(unix))]
#[path = "common/harness.rs"]
mod harness;

#[cfg(not(unix))]
fn main() {
    harness::run(vec![harness::cannot_run(
        "on_stack_crashes",
        "forks children that crash on purpose: Unix only",
    )]);
}
