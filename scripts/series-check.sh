#!/bin/bash
# Check that the kernel's series is self-contained and bisectable: onto
# the pristine source, 'git am' each patch in turn, and after each build
# kvm.ko, kvm-intel.ko and kvm-amd.ko, and, after a patch that touches the
# KVM selftests, the selftests of ours it has added so far and one
# upstream nested test (the library), with nothing copied in from
# outside the series.
#
# usage: series-check.sh CACHE WORKDIR
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$1 work=$2
top=$(pwd)
die() { echo "series-check: error: $*" >&2; exit 1; }

# shellcheck source=/dev/null
. "$cache/versions.env"
dir=$KERNEL_SERIES
mapfile -t patches < <(read_list "$dir/series")
tree=$work/linux
scripts/tree.sh "$cache" "$tree" /dev/null >/dev/null
rm -f "$tree/.tree-stamp"
git -C "$tree" init -q
git -C "$tree" add -A -f  # Debian's .gitignore ignores the whole top level
git -C "$tree" -c user.name=series-check -c user.email=series-check@localhost \
	commit -q -m base
scripts/modules.sh "$cache" "$tree" "$work/modules" >/dev/null ||
	die "the tree without patches does not build"
echo "series-check: base (the pristine tree) builds"

kselftest=tools/testing/selftests/kvm
build_selftests() { # the tests of ours in the tree, and one upstream one
	local t targets=()
	for t in "$tree/$kselftest"/x86*/nested_vpid_*.c \
		 "$tree/$kselftest"/x86*/vmx_tsc_adjust_test.c; do
		[ -f "$t" ] || continue
		t=${t%.c}
		targets+=("$top/$t")
	done
	scripts/kmake.sh "$cache" "$tree" -s headers >/dev/null &&
	scripts/kmake.sh "$cache" "$tree" -s -C "$kselftest" \
		OUTPUT="$top/$tree/$kselftest" "${targets[@]}" >/dev/null
}

n=0
for p in "${patches[@]}"; do
	n=$((n + 1))
	git -C "$tree" -c user.name=series-check -c user.email=series-check@localhost \
		am -q "$top/$dir/$p" || die "git am of patch $n ($p) failed"
	start=$(date +%s)
	scripts/modules.sh "$cache" "$tree" "$work/modules" >/dev/null ||
		die "kvm does not build after patch $n ($p)"
	what=kvm
	if grep -q "^+++ b/$kselftest/" "$dir/$p"; then
		build_selftests || die "the selftests do not build after patch $n ($p)"
		what="kvm and selftests"
	fi
	echo "series-check: $n/${#patches[@]} $p: $what build ($(( $(date +%s) - start )) s)"
done
