#!/usr/bin/env bash
# The Cortex-M4F program (embedded/cortex-m4f, docs/10-embedding.md) under
# qemu-system-arm: clippy and rustfmt on the package; the demo (producer ->
# consumer, a generator, the register torture) must pass; an overflow into
# the MPU guard must end in swapctx's message with a failure status; and
# both outputs must be what chapter 10 quotes (addresses aside).
set -euo pipefail
cd "$(dirname "$0")/.."
chapter=docs/10-embedding.md
pkg=embedded/cortex-m4f

# The block after `<!-- qemu-system-arm: NAME -->` in the chapter.
quoted() {
    awk -v m="<!-- qemu-system-arm: $1 -->" '
        $0 == m { want = 1; next }
        want && /^```text$/ { inside = 1; next }
        inside && /^```$/ { exit }
        inside { print }' "$chapter"
}
# Hexadecimal numbers become 0xADDR: the addresses depend on the build.
addrs() { sed -E 's/0x[0-9a-f]+/0xADDR/g'; }

(cd "$pkg" && cargo fmt --check && cargo clippy --release --bins -- -D warnings)
(cd "$pkg" && cargo build --release --bins)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

status=0
(cd "$pkg" && timeout 120 cargo run --release --quiet --bin demo) >"$out/demo" || status=$?
cat "$out/demo"
if [ "$status" -ne 0 ]; then
    echo "cortex-m: the demo exited with status $status" >&2
    exit 1
fi
quoted demo >"$out/demo.quoted"
diff -u "$out/demo.quoted" "$out/demo" \
    || { echo "cortex-m: the demo's output is not what $chapter quotes" >&2; exit 1; }

status=0
(cd "$pkg" && timeout 120 cargo run --release --quiet --bin overflow) >"$out/overflow" || status=$?
cat "$out/overflow"
if [ "$status" -eq 0 ]; then
    echo "cortex-m: the overflow program exited with status 0" >&2
    exit 1
fi
grep -q "^swapctx: a coroutine has overflowed its stack: fault at 0x[0-9a-f]* in the guard page" "$out/overflow" \
    || { echo "cortex-m: no overflow message" >&2; exit 1; }
quoted overflow | addrs >"$out/overflow.quoted"
addrs <"$out/overflow" | diff -u "$out/overflow.quoted" - \
    || { echo "cortex-m: the overflow output is not what $chapter quotes" >&2; exit 1; }
echo "cortex-m: the demo, the register torture and the MPU overflow check passed"
