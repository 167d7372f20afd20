#!/usr/bin/env bash
# The C coroutine API from a C program that links no Rust std
# (README.md, "Use from C"): the no_std static library in capi/ (swapctx
# without std, panic = "abort", its own panic handler), the example built
# with a plain `cc` line and nothing but the C library, run and checked.
# Prints the sizes: the static library, the stripped example, and the same
# example against the std static library for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cargo build --release --quiet --manifest-path capi/Cargo.toml
lib=capi/target/release/libswapctx_nostd.a

cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude \
    examples/c/producer_consumer_coro.c "$lib" -o "$out/producer_consumer_coro"

expect_coro_demo() {
    # expect_coro_demo EXE: runs the example and checks its last two lines.
    local got
    got=$("$1")
    echo "$got" | tail -n 2
    [ "$(echo "$got" | tail -n 2 | head -n 1)" = "# producer: done, the consumer received 10 items" ] \
        && [ "$(echo "$got" | tail -n 1)" = "# errors: 7 of 7 checks passed" ] \
        || { echo "unexpected output from $1:"; echo "$got"; return 1; }
}
expect_coro_demo "$out/producer_consumer_coro"

# The round-trip program of BENCHMARKS.md builds and runs.
cc -O2 -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude \
    examples/c/coro_round_trip.c "$lib" -o "$out/coro_round_trip"
[ "$("$out/coro_round_trip" 1000)" = "1000 round trips, sum 500500" ] \
    || { echo "coro_round_trip: unexpected output"; exit 1; }

# No Rust std inside: no symbol from it, and nothing but libc needed.
if nm "$out/producer_consumer_coro" | grep -q '_ZN3std'; then
    echo "the example links Rust's std"
    exit 1
fi

# The same example against the std static library, for the sizes.
cargo rustc --lib --release --quiet --no-default-features --features std \
    --crate-type staticlib --target-dir "$out/std-target"
cc -std=c11 -Iinclude examples/c/producer_consumer_coro.c \
    "$out/std-target/release/libswapctx.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc \
    -o "$out/producer_consumer_coro_std"
expect_coro_demo "$out/producer_consumer_coro_std" >/dev/null

strip -o "$out/nostd.stripped" "$out/producer_consumer_coro"
strip -o "$out/std.stripped" "$out/producer_consumer_coro_std"
size_of() { stat -c %s "$1"; }
echo "sizes (bytes):"
echo "  libswapctx_nostd.a (no_std, panic=abort, LTO):  $(size_of "$lib")"
echo "  libswapctx.a (std):                             $(size_of "$out/std-target/release/libswapctx.a")"
echo "  example, stripped, on libswapctx_nostd.a:       $(size_of "$out/nostd.stripped")"
echo "  example, stripped, on libswapctx.a (std):       $(size_of "$out/std.stripped")"
