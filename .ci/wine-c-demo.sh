#!/usr/bin/env bash
# The C API on Windows: builds libswapctx.a and swapctx.dll for
# x86_64-pc-windows-gnu, compiles examples/c/producer_consumer.c against each
# with mingw-w64's gcc, runs both under Wine (.ci/wine-runner.sh) and checks
# the output as tests/capi.rs does natively (Wine has neither cargo nor a C
# compiler inside, so the test itself cannot do it there). Needs
# .ci/wine-setup.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu
out=target/$target/debug
demo=target/wine/c-demo
mkdir -p "$demo"

cargo rustc -p swapctx --lib --quiet --target $target --no-default-features --features std \
    --crate-type staticlib,cdylib
# What `rustc --print native-static-libs` asks for on this target.
libs=(-lkernel32 -lntdll -luserenv -lws2_32 -ldbghelp)
cc=x86_64-w64-mingw32-gcc
flags=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude)
$cc "${flags[@]}" examples/c/producer_consumer.c "$out/libswapctx.a" "${libs[@]}" \
    -o "$demo/producer_consumer_static.exe"
$cc "${flags[@]}" examples/c/producer_consumer.c "$out/libswapctx.dll.a" \
    -o "$demo/producer_consumer_shared.exe"
cp "$out/swapctx.dll" "$demo/"

check() {
    # check EXE: the seeded exchange, ten numbers each way, then the summary.
    local got
    got=$(.ci/wine-runner.sh "$1" | tr -d '\r')
    local sent received
    sent=$(grep -c '^# producer: sending data [0-9]*$' <<<"$got" || true)
    received=$(grep -c '^# consumer: receiving data [0-9]*$' <<<"$got" || true)
    if [ "$sent" != 10 ] || [ "$received" != 10 ] \
        || [ "$(tail -n 1 <<<"$got")" != "# producer: done, the consumer received 10 items" ] \
        || [ "$(grep -o '[0-9]*$' <<<"$(grep '^# producer: sending' <<<"$got")")" \
            != "$(grep -o '[0-9]*$' <<<"$(grep '^# consumer: receiving' <<<"$got")")" ]; then
        echo "wine-c-demo: $1 printed:"
        echo "$got"
        return 1
    fi
    echo "wine-c-demo: $1: 10 numbers sent and received"
}
check "$demo/producer_consumer_static.exe"
check "$demo/producer_consumer_shared.exe"
