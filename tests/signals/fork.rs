//! `fork` with suspended coroutines: the child finishes them with its own
//! inputs (and drops one suspended), while the parent's copies stay
//! suspended with their own state and finish with theirs.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use swapctx::{Coroutine, CoroutineResult, Yielder};

use crate::unix::{mix, new_stack, wait_child, DropFlag};

const FORK_COROS: u64 = 5;
const FORK_STEPS: u64 = 12;
const FORK_BEFORE: u64 = 4;

type ForkCo = Coroutine<u64, u64, (u64, u64, u64)>;

/// The body of each fork-test coroutine: running sums in locals, a heap
/// vector and a float, `FORK_STEPS` suspends, then the totals.
fn fork_body(id: u64) -> impl FnOnce(&Yielder<u64, u64>, u64) -> (u64, u64, u64) {
    move |y, mut input| {
        let mut acc = id;
        let mut f = id as f64 + 0.5;
        let mut seen = Vec::new();
        for _ in 0..FORK_STEPS {
            acc = mix(acc, input);
            f = f * 1.000_001 + (input % 1000) as f64 * 0.25;
            seen.push(input);
            input = y.suspend(acc);
        }
        (acc, f.to_bits(), seen.iter().fold(0, |a, &b| mix(a, b)))
    }
}

/// What `fork_body(id)` yields and returns for `inputs`.
fn fork_model(id: u64, inputs: &[u64]) -> (Vec<u64>, (u64, u64, u64)) {
    let (mut acc, mut f, mut seen) = (id, id as f64 + 0.5, Vec::new());
    let mut yields = Vec::new();
    for &input in &inputs[..FORK_STEPS as usize] {
        acc = mix(acc, input);
        f = f * 1.000_001 + (input % 1000) as f64 * 0.25;
        seen.push(input);
        yields.push(acc);
    }
    let ret = (acc, f.to_bits(), seen.iter().fold(0, |a, &b| mix(a, b)));
    (yields, ret)
}

/// Coroutine `id`'s inputs: a shared history before the fork, then one
/// that depends on `side` (0 parent before, 1 child, 2 parent after).
fn fork_inputs(id: u64, side: u64) -> Vec<u64> {
    (0..=FORK_STEPS)
        .map(|i| {
            if i < FORK_BEFORE {
                mix(id, i)
            } else {
                mix(id * 31 + side, i)
            }
        })
        .collect()
}

/// Resumes coroutine `id` from step `from` on with `inputs`, checking each
/// yield, and returns its final triple.
fn finish_fork_coroutine(co: &mut ForkCo, id: u64, inputs: &[u64], from: u64) -> (u64, u64, u64) {
    let (yields, ret) = fork_model(id, inputs);
    for i in from..=FORK_STEPS {
        match co.resume(inputs[i as usize]) {
            CoroutineResult::Yield(v) => {
                assert_eq!(v, yields[i as usize], "coroutine {id} step {i}")
            }
            CoroutineResult::Return(r) => {
                assert_eq!(i, FORK_STEPS, "coroutine {id} returned early");
                assert_eq!(r, ret, "coroutine {id}'s result");
                return r;
            }
        }
    }
    panic!("coroutine {id} did not return")
}

pub fn fork_child_finishes_suspended_coroutines() {
    let drops = Rc::new(Cell::new(0u32));
    let mut cos: Vec<ForkCo> = (0..FORK_COROS)
        .map(|id| {
            let d = DropFlag(drops.clone());
            let body = fork_body(id);
            Coroutine::with_stack(new_stack(64 * 1024), move |y, x| {
                let _d = d;
                body(y, x)
            })
        })
        .collect();
    // Everyone suspended mid-body, FORK_BEFORE steps in.
    for (id, co) in cos.iter_mut().enumerate() {
        let inputs = fork_inputs(id as u64, 0);
        let (yields, _) = fork_model(id as u64, &inputs);
        for i in 0..FORK_BEFORE as usize {
            assert_eq!(co.resume(inputs[i]), CoroutineResult::Yield(yields[i]));
        }
    }

    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: single-threaded process (harness = false).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // The child: finish every coroutine with its own inputs, except the
        // last, which is dropped suspended (its stack unwinds in the child).
        let code = panic::catch_unwind(AssertUnwindSafe(|| {
            let mut out = Vec::new();
            let last = cos.pop().expect("coroutines");
            for (id, co) in cos.iter_mut().enumerate() {
                let inputs = fork_inputs(id as u64, 1);
                let r = finish_fork_coroutine(co, id as u64, &inputs, FORK_BEFORE);
                out.extend([r.0, r.1, r.2]);
            }
            drop(last);
            cos.clear();
            out.push(u64::from(drops.get()));
            // SAFETY: writes our own buffer to our end of the pipe.
            let n = unsafe { libc::write(fds[1], out.as_ptr().cast(), out.len() * 8) };
            i32::from(n != (out.len() * 8) as isize)
        }))
        .unwrap_or(101);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let want = (FORK_COROS as usize - 1) * 3 + 1;
    let mut got = vec![0u64; want];
    let mut filled = 0;
    while filled < want * 8 {
        // SAFETY: reads into the unfilled tail of `got`.
        let n = unsafe {
            libc::read(
                fds[0],
                got.as_mut_ptr().cast::<u8>().add(filled).cast(),
                want * 8 - filled,
            )
        };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    // SAFETY: our read end.
    unsafe { libc::close(fds[0]) };
    let code = wait_child("fork", pid);
    assert_eq!(code, 0, "the child failed with code {code}");
    assert_eq!(filled, want * 8, "short report from the child");
    for id in 0..FORK_COROS - 1 {
        let (_, ret) = fork_model(id, &fork_inputs(id, 1));
        let i = id as usize * 3;
        assert_eq!(
            (got[i], got[i + 1], got[i + 2]),
            ret,
            "child's coroutine {id}"
        );
    }
    assert_eq!(
        got[want - 1],
        FORK_COROS,
        "the child dropped every coroutine's captures"
    );

    // The parent's coroutines are untouched: still suspended at step
    // FORK_BEFORE, with their own state, and finish with their own inputs.
    assert_eq!(drops.get(), 0);
    for (id, co) in cos.iter_mut().enumerate() {
        assert!(!co.is_done());
        let inputs = fork_inputs(id as u64, 2);
        finish_fork_coroutine(co, id as u64, &inputs, FORK_BEFORE);
    }
    assert_eq!(u64::from(drops.get()), FORK_COROS);
}
