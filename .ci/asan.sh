#!/usr/bin/env bash
# The test suite under AddressSanitizer (nightly), with every coroutine
# switch announced to ASan (feature `asan`). tests/debug_tools.rs also
# checks that ASan still catches a use-after-free inside a coroutine.
#
#   handle_segv=0: Rust's own overflow handler (and swapctx's, chained in
#   front of it) handle SIGSEGV, as in a normal build; otherwise ASan's would
#   stand in for them and tests/crashes.rs would see ASan's report instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="-Zsanitizer=address"
export ASAN_OPTIONS="handle_segv=0:detect_leaks=1"
export CARGO_TARGET_DIR=target/asan
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --target: so that build scripts are not instrumented.
cargo +nightly test --features asan --target x86_64-unknown-linux-gnu --lib --tests 2>&1 | tee "$log"
# No report of any kind may reach the output (the deliberate use-after-free
# in tests/debug_tools.rs runs in a child whose output the test captures).
if grep -E '==[0-9]+==(WARNING|ERROR)' "$log"; then
    echo "AddressSanitizer reported the lines above"
    exit 1
fi
