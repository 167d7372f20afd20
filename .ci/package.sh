#!/usr/bin/env bash
# What crates.io would get: `cargo package --list` holds what a user needs
# and nothing else, `cargo publish --dry-run` passes (it packages, builds
# the package on its own and uploads nothing), and every relative link in
# the README names a file in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

list=$(cargo package --list -p swapctx --allow-dirty 2>/dev/null)
echo "$list" | sed 's/^/  /'
bad=$(echo "$list" | grep -Ev '^(Cargo\.toml|Cargo\.toml\.orig|Cargo\.lock|\.cargo_vcs_info\.json|build\.rs|README\.md|LICENSE-MIT|LICENSE-APACHE|include/swapctx\.h|asm/[^/]+\.(S|h)|src/.+\.rs)$' || true)
if [ -n "$bad" ]; then
    echo "files in the package that a user does not need:"
    echo "$bad"
    exit 1
fi
for need in Cargo.toml build.rs README.md LICENSE-MIT LICENSE-APACHE include/swapctx.h asm/common.h src/lib.rs; do
    echo "$list" | grep -qx "$need" || { echo "the package lacks $need"; exit 1; }
done
for s in $(sed -n 's/.*("\(asm\/[^"]*\.S\)").*/\1/p' build.rs); do
    echo "$list" | grep -qx "$s" || { echo "the package lacks $s (named in build.rs)"; exit 1; }
done

cargo publish --dry-run -p swapctx --allow-dirty

# Relative links: GitHub resolves them in the repository, crates.io against
# the `repository` URL in Cargo.toml. Each must name a file that exists.
missing=0
for link in $(grep -o '](\([^)#:]*\))' README.md | sed 's/^](//; s/)$//' | sort -u); do
    if [ ! -e "$link" ]; then
        echo "README.md links to $link, which does not exist"
        missing=1
    fi
done
[ $missing -eq 0 ] || exit 1
echo "every relative link in README.md names a file in the repository"
