#!/usr/bin/env bash
# gdb, in batch mode, on examples/debug_me.rs (x86_64):
#  1. stopped at a breakpoint inside a coroutine, `bt` lists the coroutine's
#     frames, the trampoline, then the resumer's frames down to `main`, and
#     ends without "corrupt stack" or a loop;
#  2. stopped while the coroutine is suspended, scripts/swapctx.gdb's
#     `swapctx-bt` shows the suspended coroutine's frames, and the program
#     then runs on to a normal exit.
# This checks the shape of the walk only. The gdb sessions quoted in
# docs/debugging.md (frame numbers, functions, FILE:LINE, and that every
# .S line gdb names is an instruction) are compared with gdb's output by
# tests/docs_examples.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --example debug_me
bin=target/debug/examples/debug_me
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() { echo "gdb check FAILED: $*"; echo "---- gdb output ----"; cat "$out"; exit 1; }
in_order() { # in_order PATTERN... : each pattern appears, in this order
    local last=0 n
    for p in "$@"; do
        n=$(grep -n -m1 -E "$p" "$out" | cut -d: -f1) || fail "no line matches '$p'"
        [ "$n" -gt "$last" ] || fail "'$p' is out of order"
        last=$n
    done
}

gdb -batch -nx -ex 'set pagination off' -ex 'break breakpoint_here' -ex run -ex bt "$bin" >"$out" 2>&1
in_order '^#0 .*breakpoint_here' 'work_in_coroutine' 'coroutine_entry' \
    'swapctx_0_1_0_coroutine_trampoline' 'run_the_coroutine \(\)' 'debug_me::main'
! grep -qiE 'corrupt stack|previous frame identical|inner to this frame' "$out" \
    || fail "gdb reports a broken unwind"
frames=$(grep -cE '^#[0-9]+' "$out")
[ "$frames" -lt 40 ] || fail "$frames frames: the unwind loops"
echo "gdb: breakpoint in a coroutine: $frames frames, coroutine -> trampoline -> resumer -> main"

gdb -batch -nx -x scripts/swapctx.gdb -ex 'set pagination off' -ex 'break inspect_suspended' \
    -ex run -ex 'swapctx-bt saved_sp' -ex continue "$bin" >"$out" 2>&1
in_order 'inspect_suspended' 'work_in_coroutine' 'swapctx_0_1_0_coroutine_trampoline' 'exited normally'
echo "gdb: swapctx-bt on a suspended coroutine shows its frames; the program exits normally"
