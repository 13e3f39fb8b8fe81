#!/bin/bash
# Build the patched kernel tree: pristine Debian source, then the series
# of the kernel's base applied in order with zero fuzz.
#
# usage: tree.sh CACHE TREE [SERIES]
# SERIES, a series file whose patches are in its directory, defaults to
# the kernel's (KERNEL_SERIES/series in CACHE/versions.env);
# series-check.sh passes an empty one.
# The tree is rebuilt from pristine whenever the source package or a patch
# changed; otherwise nothing is done.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$(realpath "$1") tree=$2
die() { echo "tree: error: $*" >&2; exit 1; }

[ -f "$cache/versions.env" ] || die "no $cache/versions.env; run 'make fetch'"
# shellcheck source=/dev/null
. "$cache/versions.env"
series=${3:-$KERNEL_SERIES/series}
dir=$(dirname "$series")
src_deb=$(compgen -G "$cache/${KERNEL_SOURCE_PKG}_*.deb" | head -n 1 || true)
[ -n "$src_deb" ] || die "no $KERNEL_SOURCE_PKG .deb in $cache; run 'make fetch'"

mapfile -t patches < <(read_list "$series" 2>/dev/null || true)

stamp=$({ sha256sum "$src_deb" | cut -d' ' -f1
	  for p in "${patches[@]}"; do sha256sum "$dir/$p"; done; } |
	sha256sum | cut -d' ' -f1)

if [ -f "$tree/.tree-stamp" ] && [ "$(cat "$tree/.tree-stamp")" = "$stamp" ]; then
	echo "tree: $tree is up to date"
	exit 0
fi

tmp=$tree.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
echo "tree: unpacking $(basename "$src_deb")"
unpack_source "$cache" "$tmp" ||
	die "unpacking $src_deb failed (disk full? $(df -h "$tmp" | tail -n 1))"

for p in "${patches[@]}"; do
	[ -f "$dir/$p" ] || die "$series names $p, which does not exist"
	echo "tree: apply $p"
	(cd "$tmp" && patch -p1 -F0 -N --no-backup-if-mismatch -s) < "$dir/$p" ||
		die "patch $p does not apply (zero fuzz) onto the pristine tree"
done

echo "$stamp" > "$tmp/.tree-stamp"
rm -rf "$tree"
mv "$tmp" "$tree"
echo "tree: $tree ready (${#patches[@]} patches)"
