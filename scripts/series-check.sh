#!/bin/bash
# Check that every patch of patches/series applies with zero fuzz and that
# kvm.ko, kvm-intel.ko and kvm-amd.ko build after each one in turn, so that
# the series can be bisected.
#
# usage: series-check.sh CACHE WORKDIR
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$1 work=$2
die() { echo "series-check: error: $*" >&2; exit 1; }

mapfile -t patches < <(read_list patches/series)
scripts/tree.sh "$cache" "$work/linux" /dev/null >/dev/null
# The pristine tree: patch in place from here on.
rm -f "$work/linux/.tree-stamp"
scripts/modules.sh "$cache" "$work/linux" "$work/modules" >/dev/null ||
	die "the tree without patches does not build"
echo "series-check: base (the pristine tree) builds"
n=0
for p in "${patches[@]}"; do
	n=$((n + 1))
	(cd "$work/linux" && patch -p1 -F0 -N --no-backup-if-mismatch -s) \
		< "patches/$p" || die "patch $n ($p) does not apply"
	start=$(date +%s)
	scripts/modules.sh "$cache" "$work/linux" "$work/modules" >/dev/null ||
		die "kvm does not build after patch $n ($p)"
	echo "series-check: $n/${#patches[@]} $p builds ($(( $(date +%s) - start )) s)"
done
