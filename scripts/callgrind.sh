#!/usr/bin/env bash
# Instructions per round trip, counted by valgrind's callgrind: for each
# implementation, run benches/instructions.rs with N and with 2N round trips
# and divide the difference by N, so that start-up and set-up cancel out.
# Deterministic for a given binary, whatever else the machine is doing.
#
#   scripts/callgrind.sh [N]          (default N = 100000)
#
# Prints a markdown table; needs valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
cargo bench --bench instructions --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -n 1)

count() { # count IMPL N -> total instructions (Ir)
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$1" "$2" >/dev/null 2>&1
    local ir
    ir=$(grep -E '^(summary|totals):' "$out" | head -n 1 | awk '{print $2}')
    rm -f "$out"
    echo "$ir"
}

echo "| implementation | instructions per round trip |"
echo "| --- | ---: |"
for impl in swapctx corosensei context boost swapctx-raw swapcontext create-pool create-corosensei; do
    if ! "$bin" "$impl" 1 >/dev/null 2>&1; then
        continue # not built in (boost without libboost-context-dev)
    fi
    a=$(count "$impl" "$N")
    b=$(count "$impl" $((2 * N)))
    per=$(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / n }')
    echo "| $impl | $per |"
done
