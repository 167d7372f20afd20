#!/usr/bin/env bash
# Prepares Wine to run the x86_64-pc-windows-gnu test binaries: a Wine
# prefix of our own ($SWAPCTX_WINE_DIR/prefix, by default in
# ~/.cache/swapctx-wine: not in target/, which cargo must create itself
# (it marks the directory with CACHEDIR.TAG only then, and tests/capi.rs
# reads that mark), and kept across `cargo clean`) with
# bcryptprimitives.dll built from .ci/wine/processprng.c in its system32
# (Rust's std needs ProcessPrng, which Wine 8 lacks). Idempotent: a second
# run rebuilds nothing that is up to date. Expects wine64 and
# gcc-mingw-w64-x86-64 installed (.ci/run installs them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
wine="${SWAPCTX_WINE:-/usr/lib/wine/wine64}"
dir="${SWAPCTX_WINE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/swapctx-wine}"
prefix="$dir/prefix"
build="$dir"
src="$root/.ci/wine/processprng.c"
dll="$build/bcryptprimitives.dll"

[ -x "$wine" ] || { echo "wine-setup: $wine not found (apt-get install wine64)" >&2; exit 1; }
command -v x86_64-w64-mingw32-gcc >/dev/null \
    || { echo "wine-setup: x86_64-w64-mingw32-gcc not found (apt-get install gcc-mingw-w64-x86-64)" >&2; exit 1; }

mkdir -p "$build"
if [ ! -f "$dll" ] || [ "$src" -nt "$dll" ]; then
    x86_64-w64-mingw32-gcc -O2 -shared -o "$dll" "$src" -ladvapi32
fi

export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$prefix/system.reg" ]; then
    mkdir -p "$prefix"
    "$wine" wineboot --init >/dev/null 2>&1
    # wineboot returns before the prefix is fully written: wait for it.
    /usr/lib/wine/wineserver -w 2>/dev/null || wineserver -w 2>/dev/null || true
fi
# An unhandled exception ends the program with its code, as on Windows,
# instead of starting winedbg (tests/crashes_windows.rs checks the code).
if ! grep -q '"Debugger"="false"' "$prefix/system.reg" 2>/dev/null; then
    "$wine" reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\AeDebug' \
        /v Debugger /d false /f >/dev/null 2>&1
    /usr/lib/wine/wineserver -w 2>/dev/null || true
fi
sys32="$prefix/drive_c/windows/system32"
[ -d "$sys32" ] || { echo "wine-setup: $prefix has no system32: wineboot failed" >&2; exit 1; }
if ! cmp -s "$dll" "$sys32/bcryptprimitives.dll"; then
    cp "$dll" "$sys32/bcryptprimitives.dll"
fi
echo "wine-setup: prefix $prefix ready"
