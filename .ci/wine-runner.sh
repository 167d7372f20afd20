#!/usr/bin/env bash
# Runs a Windows program under Wine, in the prefix .ci/wine-setup.sh made:
# the runner for x86_64-pc-windows-gnu (.cargo/config.toml, or
# CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER). Wine's own messages are off
# (WINEDEBUG=-all); the program's exit status is passed on.
dir="${SWAPCTX_WINE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/swapctx-wine}"
export WINEPREFIX="$dir/prefix"
export WINEDEBUG="${WINEDEBUG:--all}"
if [ ! -f "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
    echo "wine-runner: no prepared Wine prefix at $WINEPREFIX; run .ci/wine-setup.sh first" >&2
    exit 127
fi
# `wine-runner.sh --wineserver ARGS`: the prefix's wineserver instead (for
# .ci/run, which keeps one running for the whole Windows step).
if [ "${1:-}" = "--wineserver" ]; then
    shift
    exec /usr/lib/wine/wineserver "$@"
fi
exec "${SWAPCTX_WINE:-/usr/lib/wine/wine64}" "$@"
