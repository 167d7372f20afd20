#!/usr/bin/env bash
# The C library as a C user gets it (README.md, "Use from C"): installed
# into a fresh prefix by scripts/install-c.sh, then the C example built
# outside cargo with a plain `cc $(pkg-config ...)` line, shared and
# static, and run. Also: the header's static link line is the one rustc
# asks for.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
scripts/install-c.sh "$prefix"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

expect_demo() {
    # expect_demo EXE: runs the example and checks its last line.
    local out
    out=$("$1")
    echo "$out" | tail -n 3
    [ "$(echo "$out" | tail -n 1)" = "# producer: done, the consumer received 10 items" ] \
        || { echo "unexpected output from $1:"; echo "$out"; return 1; }
}

echo "-- shared, through pkg-config"
cc -std=c99 -Wall -Wextra -Werror examples/c/producer_consumer.c \
    $(pkg-config --cflags --libs swapctx) -Wl,-rpath,"$prefix/lib" \
    -o "$prefix/producer_consumer"
expect_demo "$prefix/producer_consumer"

echo "-- static, through pkg-config --static"
cc -std=c99 -Wall -Wextra -Werror examples/c/producer_consumer.c \
    $(pkg-config --cflags swapctx) "$prefix/lib/libswapctx.a" \
    $(pkg-config --static --libs-only-l swapctx | sed 's/-lswapctx//') \
    -o "$prefix/producer_consumer_static"
expect_demo "$prefix/producer_consumer_static"

echo "-- the C coroutine example, shared, through pkg-config"
cc -std=c11 -Wall -Wextra -Werror examples/c/producer_consumer_coro.c \
    $(pkg-config --cflags --libs swapctx) -Wl,-rpath,"$prefix/lib" \
    -o "$prefix/producer_consumer_coro"
coro_out=$("$prefix/producer_consumer_coro")
echo "$coro_out" | tail -n 2
[ "$(echo "$coro_out" | tail -n 1)" = "# errors: 7 of 7 checks passed" ] \
    || { echo "unexpected output:"; echo "$coro_out"; exit 1; }

echo "-- the header's link line against rustc's"
native=$(sed -n 's/^Libs.private: //p' "$prefix/lib/pkgconfig/swapctx.pc")
if grep -qF -- "libswapctx.a\" \\" include/swapctx.h \
    && grep -qF -- " *      $native -o prog" include/swapctx.h; then
    echo "include/swapctx.h names: $native"
else
    echo "include/swapctx.h's static link line does not end in rustc's native libraries:"
    echo "  $native"
    exit 1
fi
