#!/usr/bin/env bash
# The library as a project that depends on it gets it: a fresh crate in a
# temporary directory with `swapctx = { path = ... }`.
#
#   .ci/consumer.sh            checks that the library's normal dependency
#                              tree is swapctx and libc, nothing else, then
#                              builds and runs the consumer
#   .ci/consumer.sh TOOLCHAIN  builds and runs it with `cargo +TOOLCHAIN`
#                              (the minimum Rust version), with the default
#                              features and without them (no_std raw layer)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
toolchain=${1:-}
cargo_cmd=(cargo)
[ -n "$toolchain" ] && cargo_cmd=(cargo "+$toolchain")

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export CARGO_TARGET_DIR="$dir/target"

make_consumer() {
    # make_consumer NAME DEPENDENCY-LINE MAIN-BODY
    mkdir -p "$dir/$1/src"
    cat >"$dir/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$2

[workspace]
TOML
    printf '%s\n' "$3" >"$dir/$1/src/main.rs"
}

make_consumer consumer "swapctx = { path = \"$repo\" }" '
use swapctx::{Coroutine, CoroutineResult, Generator, StackPool, Yielder};

fn main() -> Result<(), swapctx::Error> {
    let mut co = Coroutine::new(|y: &Yielder<i32, i32>, first: i32| y.suspend(first * 2) + 1);
    assert_eq!(co.resume(5), CoroutineResult::Yield(10));
    assert_eq!(co.resume(7), CoroutineResult::Return(8));
    let evens: Vec<u64> = Generator::new(|y: &Yielder<(), u64>| {
        for i in 0..4 {
            y.suspend(i * 2);
        }
    })
    .collect();
    assert_eq!(evens, [0, 2, 4, 6]);
    let pool = StackPool::new(64 * 1024, 4)?;
    let mut co = Coroutine::<u32, (), u32>::with_stack(pool.stack()?, |_, x| x + 1);
    assert_eq!(co.resume(1), CoroutineResult::Return(2));
    println!("consumer: coroutine, generator and pool work");
    Ok(())
}'

make_consumer consumer_no_std \
    "swapctx = { path = \"$repo\", default-features = false }" '
// The no_std raw layer, as a dependency: a context on a stack of our own.
use core::ffi::c_void;
use swapctx::raw::{self, Context};

struct Slots {
    main: Context,
    other: Context,
}

unsafe extern "C" fn add_one(mut value: usize, data: *mut c_void) -> ! {
    let slots = data.cast::<Slots>();
    loop {
        // SAFETY: `slots` outlives the context; main is suspended in it.
        value = unsafe {
            let main = core::mem::take(&mut (*slots).main);
            raw::switch(&mut (*slots).other, main, value + 1)
        };
    }
}

#[repr(align(16))]
struct StackMem([u8; 64 * 1024]);

fn main() {
    let mut mem = Box::new(StackMem([0; 64 * 1024]));
    // SAFETY: one past the end of the same allocation.
    let top = unsafe { mem.0.as_mut_ptr().add(mem.0.len()) };
    let mut slots = Slots { main: Context::empty(), other: Context::empty() };
    let slots: *mut Slots = &mut slots;
    // SAFETY: the stack and the slots outlive every switch; add_one never
    // returns.
    unsafe {
        (*slots).other = Context::new(top, add_one, slots.cast());
        for i in 0..3 {
            let to = core::mem::take(&mut (*slots).other);
            assert_eq!(raw::switch(&mut (*slots).main, to, i), i + 1);
        }
    }
    println!("consumer_no_std: the raw switch works");
}'

if [ -z "$toolchain" ]; then
    # `cargo tree -e normal`: what a plain dependency brings (build
    # dependencies such as `cc` are not linked into the user's program).
    deps=$(cd "$dir/consumer" && cargo tree -e normal --prefix none --format '{p}' \
        | awk '{print $1}' | grep -vx consumer | sort -u | tr '\n' ' ')
    echo "the library's normal dependencies: $deps"
    if [ "$deps" != "libc swapctx " ]; then
        echo "expected only swapctx and libc"
        (cd "$dir/consumer" && cargo tree -e normal)
        exit 1
    fi
fi

for c in consumer consumer_no_std; do
    echo "-- $c (${cargo_cmd[*]})"
    (cd "$dir/$c" && "${cargo_cmd[@]}" run --quiet)
done
