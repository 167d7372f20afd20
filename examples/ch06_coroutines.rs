//! Chapter 6: from the raw switch to safe coroutines.
//!
//! Three things the raw layer leaves to you and `Coroutine` does for you:
//!
//! 1. values of any type, both ways, with the first `resume` starting the
//!    closure and each later one returning from a `suspend`;
//! 2. a panic inside the coroutine unwinds the coroutine's own stack and
//!    comes out of `resume` with its original payload;
//! 3. dropping a suspended coroutine runs the destructors of everything on
//!    its stack.

use std::panic::{self, AssertUnwindSafe};

use swapctx::{Coroutine, CoroutineResult, Yielder};

/// Prints when it is dropped, so we can see which frames were cleaned up.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("    drop {}", self.0);
    }
}

/// A nested call that suspends from two frames down.
fn inner(y: &Yielder<(), &'static str>) {
    let _g = Noisy("inner's guard");
    y.suspend("suspended inside inner()");
    unreachable!("this coroutine is dropped, never resumed again");
}

fn main() {
    // 1. Values both ways: Input = i64 in, Yield = String out, Return = usize.
    println!("1. values");
    let mut acc: Coroutine<i64, String, usize> =
        Coroutine::new(|y: &Yielder<i64, String>, first: i64| {
            // `first` is the input of the first resume.
            let mut total = first;
            let mut rounds = 1;
            while total < 100 {
                // Hands a String out; returns the input of the next resume.
                let next = y.suspend(format!("total so far {total}"));
                total += next;
                rounds += 1;
            }
            rounds // the closure's return value ends the coroutine
        });
    for input in [10, 20, 30, 40] {
        match acc.resume(input) {
            CoroutineResult::Yield(s) => println!("  resume({input}) -> Yield({s:?})"),
            CoroutineResult::Return(n) => println!("  resume({input}) -> Return({n})"),
        }
    }
    println!("  done: {}", acc.is_done());

    // 2. A panic crosses back as a panic of `resume`, payload intact.
    println!("2. panics");
    panic::set_hook(Box::new(|_| {})); // the panic is expected: no message
    let mut bad = Coroutine::<(), (), ()>::new(|_y, ()| {
        let _g = Noisy("the panicking coroutine's guard");
        panic!("a message from inside the coroutine");
    });
    let err = panic::catch_unwind(AssertUnwindSafe(|| bad.resume(()))).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or("?");
    println!("  resume panicked with {msg:?}");
    println!("  done: {}", bad.is_done());
    let again = panic::catch_unwind(AssertUnwindSafe(|| bad.resume(()))).unwrap_err();
    let msg = again.downcast_ref::<&str>().copied().unwrap_or("?");
    println!("  resuming it again panics too: {msg:?}");
    let _ = panic::take_hook();

    // 3. Drop a suspended coroutine: its stack is unwound.
    println!("3. drop");
    let mut co = Coroutine::<(), &'static str, ()>::new(|y, ()| {
        let _g = Noisy("the closure's guard");
        inner(y);
    });
    if let CoroutineResult::Yield(s) = co.resume(()) {
        println!("  resume -> Yield({s:?})");
    }
    println!("  dropping the suspended coroutine:");
    drop(co);
    println!("  dropped");
}
