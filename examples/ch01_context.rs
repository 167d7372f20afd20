//! Chapter 1: what a context is.
//!
//! Three small demonstrations, from docs/01-what-is-a-context.md:
//!
//! 1. a *stackless* coroutine: a hand-written state machine (what a Python
//!    generator or a Duff's-device coroutine in C compiles to). All of its
//!    state is the fields we gave it;
//! 2. a *stackful* coroutine: a tree walk that suspends from deep inside
//!    its own recursion, which a stackless one cannot do without keeping a
//!    stack of its own by hand;
//! 3. the context underneath: a stack, a saved stack pointer, and on that
//!    stack the registers and the address to continue at.
//!
//! Run it with `cargo run --example ch01_context`.

use std::ffi::c_void;

use swapctx::raw::{self, Context};
use swapctx::{Generator, Stack, Yielder};

// ---------------------------------------------------------------------------
// 1. Stackless: the whole coroutine is this struct.

/// Counts down from `n`. Every "resume" is a call to `next`, which must
/// return to its caller before anything else can happen: it has no stack of
/// its own to stay suspended on.
struct Countdown {
    n: u32,
}

impl Iterator for Countdown {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(self.n + 1)
    }
}

// ---------------------------------------------------------------------------
// 2. Stackful: suspend from inside recursion.

enum Tree {
    Leaf,
    Node(Box<Tree>, u32, Box<Tree>),
}

fn node(l: Tree, v: u32, r: Tree) -> Tree {
    Tree::Node(Box::new(l), v, Box::new(r))
}

/// The balanced tree 1..=7.
fn sample_tree() -> Tree {
    use Tree::Leaf;
    let t1 = node(Leaf, 1, Leaf);
    let t3 = node(Leaf, 3, Leaf);
    let t5 = node(Leaf, 5, Leaf);
    let t7 = node(Leaf, 7, Leaf);
    node(node(t1, 2, t3), 4, node(t5, 6, t7))
}

/// An ordinary recursive walk. `suspend` may be called at any depth: the
/// frames of `walk` below it simply stay on the coroutine's stack.
fn walk(t: &Tree, depth: u32, y: &Yielder<(), (u32, u32)>) {
    if let Tree::Node(l, v, r) = t {
        walk(l, depth + 1, y);
        y.suspend((*v, depth));
        walk(r, depth + 1, y);
    }
}

/// The same walk, stackless: the recursion has to become a loop over an
/// explicit stack that the iterator carries in its fields.
struct StacklessWalk<'a> {
    pending: Vec<&'a Tree>,
    cur: &'a Tree,
    max_pending: usize,
}

impl<'a> Iterator for StacklessWalk<'a> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        loop {
            match self.cur {
                Tree::Node(l, _, _) => {
                    self.pending.push(self.cur);
                    self.max_pending = self.max_pending.max(self.pending.len());
                    self.cur = l;
                }
                Tree::Leaf => {
                    let Tree::Node(_, v, r) = self.pending.pop()? else {
                        unreachable!("only nodes are pushed")
                    };
                    self.cur = r;
                    return Some(*v);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3. The raw context: a stack and a saved stack pointer.

/// What `main` and the context share.
struct Shared {
    main: Context,
    this: Context,
    /// The address of a local variable of the entry function.
    local_addr: usize,
}

/// Runs on the context's own stack. It must never return: it ends by
/// switching away for the last time.
unsafe extern "C" fn entry(value: usize, data: *mut c_void) -> ! {
    let shared = data.cast::<Shared>();
    let local = 0u64;
    // SAFETY: `data` is main's `Shared`, alive until main is done with us;
    // `main` holds main's suspended context, which we resume exactly once.
    unsafe {
        (*shared).local_addr = std::hint::black_box(&local) as *const u64 as usize;
        let main = std::mem::take(&mut (*shared).main);
        raw::switch(&mut (*shared).this, main, value + 1);
    }
    unreachable!("nothing resumes this context again")
}

fn main() -> Result<(), swapctx::Error> {
    // 1.
    let down: Vec<String> = Countdown { n: 3 }.map(|n| n.to_string()).collect();
    println!("stackless countdown: {}", down.join(" "));

    // 2.
    let tree = sample_tree();
    let mut walker = StacklessWalk {
        pending: Vec::new(),
        cur: &tree,
        max_pending: 0,
    };
    let stackless: Vec<String> = walker.by_ref().map(|v| v.to_string()).collect();
    println!(
        "stackless in-order walk: {} (kept an explicit stack of up to {} nodes)",
        stackless.join(" "),
        walker.max_pending
    );
    let gen = Generator::new(move |y| walk(&tree, 1, y));
    let (values, depths): (Vec<u32>, Vec<u32>) = gen.unzip();
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    println!(
        "stackful in-order walk:  {} (suspended from up to {} calls deep)",
        values.join(" "),
        depths.iter().max().unwrap()
    );

    // 3.
    let stack = Stack::new(64 * 1024)?;
    let mut shared = Shared {
        main: Context::empty(),
        this: Context::empty(),
        local_addr: 0,
    };
    let data: *mut Shared = &mut shared;
    // SAFETY: `stack` outlives every switch into the context, `entry` never
    // returns, and `shared` stays where it is until the context is done.
    let got = unsafe {
        let ctx = Context::new(stack.top(), entry, data.cast());
        let sp = ctx.stack_pointer() as usize;
        println!(
            "a fresh context: a {}-byte stack, and a stack pointer just below its first frame \
             (Context::INITIAL_FRAME_SIZE bytes at the top): {}",
            stack.size(),
            stack.top() as usize - sp == Context::INITIAL_FRAME_SIZE
        );
        raw::switch(&mut (*data).main, ctx, 41)
    };
    let lo = stack.bottom() as usize;
    let hi = stack.top() as usize;
    println!("switched in with 41, got back {got}");
    println!(
        "the entry function's local lived on the context's stack: {}",
        (lo..hi).contains(&shared.local_addr)
    );
    println!(
        "the context is suspended again: {}",
        !shared.this.is_empty()
    );
    Ok(())
}
