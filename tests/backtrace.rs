//! Backtraces walk from a coroutine's frames onto the stack of whoever
//! resumed it (the CFI of the coroutine trampoline), and end cleanly.
//! Every architecture's coroutine trampoline carries that CFI.

use std::backtrace::Backtrace;

use swapctx::{Coroutine, CoroutineResult};

#[inline(never)]
fn leaf_in_coroutine() -> String {
    std::hint::black_box(Backtrace::force_capture().to_string())
}

#[inline(never)]
fn middle_in_coroutine(depth: u32) -> String {
    if std::hint::black_box(depth) == 0 {
        leaf_in_coroutine()
    } else {
        middle_in_coroutine(depth - 1)
    }
}

#[inline(never)]
fn the_function_that_resumes() -> String {
    let mut co = Coroutine::<(), (), String>::new(|_, ()| middle_in_coroutine(3));
    match co.resume(()) {
        CoroutineResult::Return(bt) => bt,
        CoroutineResult::Yield(()) => unreachable!(),
    }
}

/// The function names in a captured backtrace, in order.
fn frames(bt: &str) -> Vec<String> {
    bt.lines()
        .filter_map(|l| l.trim().split_once(": ").map(|(_, f)| f.to_string()))
        .filter(|f| !f.starts_with("at "))
        .collect()
}

#[test]
fn a_backtrace_inside_a_coroutine_reaches_the_resumer() {
    let bt = the_function_that_resumes();
    let f = frames(&bt);
    // A frame of that very function (not a closure inside it).
    let pos = |name: &str| f.iter().position(|l| l.ends_with(name));
    let leaf = pos("leaf_in_coroutine").unwrap_or_else(|| panic!("no leaf frame in:\n{bt}"));
    let middle = pos("middle_in_coroutine").unwrap_or_else(|| panic!("no middle frame in:\n{bt}"));
    let resumer = pos("the_function_that_resumes")
        .unwrap_or_else(|| panic!("the backtrace stops at the switch:\n{bt}"));
    let test = pos("a_backtrace_inside_a_coroutine_reaches_the_resumer")
        .unwrap_or_else(|| panic!("the backtrace does not reach the test:\n{bt}"));
    assert!(
        leaf < middle && middle < resumer && resumer < test,
        "frames out of order:\n{bt}"
    );
    // It passes through the coroutine's trampoline on the way.
    let tramp = pos("coroutine_trampoline").unwrap_or_else(|| panic!("no trampoline frame:\n{bt}"));
    assert!(
        middle < tramp && tramp < resumer,
        "trampoline out of place:\n{bt}"
    );
}

#[test]
fn a_backtrace_from_a_nested_coroutine_reaches_both_resumers() {
    #[inline(never)]
    fn outer_resumer() -> String {
        let mut outer = Coroutine::<(), (), String>::new(|_, ()| the_function_that_resumes());
        match outer.resume(()) {
            CoroutineResult::Return(bt) => bt,
            CoroutineResult::Yield(()) => unreachable!(),
        }
    }
    let bt = outer_resumer();
    let f = frames(&bt);
    // A frame of that very function (not a closure inside it).
    let pos = |name: &str| f.iter().position(|l| l.ends_with(name));
    let inner = pos("the_function_that_resumes").unwrap_or_else(|| panic!("{bt}"));
    let outer = pos("outer_resumer").unwrap_or_else(|| panic!("{bt}"));
    assert!(inner < outer, "{bt}");
    assert_eq!(
        f.iter()
            .filter(|l| l.ends_with("coroutine_trampoline"))
            .count(),
        2,
        "{bt}"
    );
}
