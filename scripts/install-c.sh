#!/usr/bin/env bash
# Installs swapctx for C programs into a prefix:
#
#   scripts/install-c.sh PREFIX
#
# builds the library in release (the `std` feature only: no command-line
# program, no dependency but libc) as a static and a shared library, and
# writes
#
#   PREFIX/include/swapctx.h
#   PREFIX/lib/libswapctx.a
#   PREFIX/lib/libswapctx.so
#   PREFIX/lib/pkgconfig/swapctx.pc
#
# The .pc file's Libs.private are the native libraries rustc names for the
# static library (`--print native-static-libs`), so
# `pkg-config --static --libs swapctx` is right for this toolchain.
# Environment: CARGO (default cargo), CARGO_TARGET_DIR as usual.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 PREFIX    (e.g. $0 \"\$HOME/.local\" or $0 /usr/local)" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
cargo=${CARGO:-cargo}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
target_dir=$("$cargo" metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$version" ] && [ -n "$target_dir" ] \
    || { echo "$0: cannot read the version or target directory from $root/Cargo.toml" >&2; exit 1; }

# rustc prints the native libraries as a note (cargo replays it when the
# build is already up to date).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$cargo" rustc --manifest-path "$root/Cargo.toml" -p swapctx --lib --release \
    --no-default-features --features std --crate-type staticlib,cdylib \
    -- --print native-static-libs 2>"$log"; then
    cat "$log" >&2
    echo "$0: building the library failed" >&2
    exit 1
fi
native=$(sed -n 's/^note: native-static-libs: //p' "$log" | tail -n 1)
[ -n "$native" ] || { cat "$log" >&2; echo "$0: rustc did not name the native libraries" >&2; exit 1; }

install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 "$root/include/swapctx.h" "$prefix/include/swapctx.h"
install -m 644 "$target_dir/release/libswapctx.a" "$prefix/lib/libswapctx.a"
install -m 755 "$target_dir/release/libswapctx.so" "$prefix/lib/libswapctx.so"
cat >"$prefix/lib/pkgconfig/swapctx.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: swapctx
Description: Stackful contexts for C: guarded stacks and a hand-written context switch
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lswapctx
Libs.private: $native
PC

echo "installed swapctx $version into $prefix:"
echo "  $prefix/include/swapctx.h"
echo "  $prefix/lib/libswapctx.a, $prefix/lib/libswapctx.so"
echo "  $prefix/lib/pkgconfig/swapctx.pc"
echo "build with: PKG_CONFIG_PATH=$prefix/lib/pkgconfig cc prog.c \$(pkg-config --cflags --libs swapctx) -Wl,-rpath,$prefix/lib"
