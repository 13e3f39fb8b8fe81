#!/bin/bash
# Style and static checks of everything we own:
#  - shellcheck on every shell script, flake8 on every Python script;
#  - scripts/checkpatch.pl --strict on the patches of the kernel's series, and
#    on each file the series adds (vpid.c, vpid.h, the selftests) as a
#    whole, in the patched tree;
#  - struct kvm_mmu (root_mmu's included) as big as in Debian's kvm.ko;
#  - sparse and W=1 on vpid.c: no warning at all;
#  - sparse on the files the patches change: no warning on a line that a
#    patch added (upstream's own warnings in those files are counted and
#    left alone).
#
# usage: lint.sh CACHE TREE
set -uo pipefail

cache=$(realpath "$1") tree=$(realpath "$2")
top=$(pwd)
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=/dev/null
. "$cache/versions.env"
kmake=(scripts/kmake.sh "$cache" "$tree" -s)
fail=0
bad() { echo "lint: FAILED: $*"; fail=1; }

# 0. The tooling: scripts are told apart by their first line (/init and
# the guest's tests have no suffix).
first_line_matches() { # regex: our files whose first line matches
	git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do
		[ -f "$f" ] && head -n 1 "$f" | grep -qE "$1" && echo "$f"
	done
}
mapfile -t sh < <(first_line_matches '^#!(/usr)?/bin/(env )?(ba)?sh|^# shellcheck shell=')
mapfile -t py < <(first_line_matches '^#!.*python')
mapfile -t -O "${#py[@]}" py < <(git ls-files --cached --others \
					   --exclude-standard -- '*.py')
mapfile -t py < <(printf '%s\n' "${py[@]}" | sort -u)
if shellcheck -x "${sh[@]}"; then
	echo "lint: shellcheck: ${#sh[@]} shell scripts"
else
	bad "shellcheck"
fi
if flake8 "${py[@]}"; then
	echo "lint: flake8: ${#py[@]} Python files"
else
	bad "flake8"
fi

# 1. checkpatch
# The patches of the series; the cover letter (0000) has no diff to check.
sdir=$KERNEL_SERIES
mapfile -t patches < <(read_list "$sdir/series")
# The files the series creates: ours as a whole.
added_files() {
	for p in "${patches[@]}"; do
		sed -n '/^--- \/dev\/null$/{n;s|^+++ b/||p}' "$sdir/$p"
	done
}
owned=$(added_files)
# checkpatch asks whether MAINTAINERS needs updating for every new file:
# it does not if the KVM entry already covers the file, checked here.
for f in $owned; do
	(cd "$tree" && scripts/get_maintainer.pl --no-git --no-rolestats -f "$f") |
		grep -qxF 'kvm@vger.kernel.org' ||
		bad "$f is not covered by KVM's entries in MAINTAINERS"
done
# Debian's source has no git history, so checkpatch cannot look up the
# upstream commits that a Fixes: tag names (UNKNOWN_COMMIT_ID); their form
# it still checks.
for p in "${patches[@]}"; do
	out=$(cd "$tree" && scripts/checkpatch.pl --strict --quiet \
		--ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID "$top/$sdir/$p" 2>&1) ||
		{ echo "$out"; bad "checkpatch: $p"; }
done
for f in $owned; do
	out=$(cd "$tree" && scripts/checkpatch.pl --strict --quiet -f "$f" 2>&1) ||
		{ echo "$out"; bad "checkpatch: $f"; }
done
echo "lint: checkpatch --strict: ${#patches[@]} patches," \
     "$(echo "$owned" | wc -w) files"

# 2. Only guest_mmu may keep more previous roots than upstream: struct
# kvm_mmu, root_mmu's included, is as big as in Debian's kvm.ko. pahole
# reads ours from the DWARF of the kvm.ko built here, Debian's from the
# BTF of its kvm.ko, whose base is the BTF of its vmlinux.
image=$cache/../image
btf=$(mktemp -d)
kvm_mmu_size() { # pahole's arguments
	pahole "$@" -C kvm_mmu 2>/dev/null |
		sed -n 's|.*/\* size: \([0-9]*\),.*|\1|p'
}
if stock=$(image_modules "$image" "$KERNEL_RELEASE") &&
   vmlinuz=$(image_file "$image" "$KERNEL_RELEASE" vmlinuz) &&
   xz -dc "$stock/kernel/arch/x86/kvm/kvm.ko.xz" > "$btf/kvm.ko" &&
   "$tree/scripts/extract-vmlinux" "$vmlinuz" > "$btf/vmlinux" 2>/dev/null; then
	theirs=$(kvm_mmu_size --btf_base "$btf/vmlinux" "$btf/kvm.ko")
	ours=$(kvm_mmu_size "$tree/arch/x86/kvm/kvm.ko")
	if [ -z "$theirs" ] || [ -z "$ours" ]; then
		bad "pahole found no struct kvm_mmu (Debian's: '$theirs', ours: '$ours')"
	elif [ "$ours" != "$theirs" ]; then
		bad "struct kvm_mmu is $ours bytes, $theirs in Debian's kvm.ko"
	else
		echo "lint: struct kvm_mmu: $ours bytes, as in Debian's kvm.ko"
	fi
else
	bad "cannot read Debian's kvm.ko and vmlinux from $image"
fi
rm -rf "$btf"

# 3. sparse and W=1 on vpid.c: nothing at all. Not -s: kbuild's CHECK
# line shows that sparse ran; a kernel's scripts/checker-valid.sh turns
# C=2 into nothing when the sparse at hand is too old for it.
rm -f "$tree/arch/x86/kvm/vmx/vpid.o"
# Without the calling make's -s (MAKEFLAGS), which would hide it.
full=$(MAKEFLAGS='' scripts/kmake.sh "$cache" "$tree" C=2 W=1 M=arch/x86/kvm vmx/vpid.o 2>&1)
out=$(echo "$full" |
	grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving) directory|^  (CC \[M\]|CHECK) |C=2 specified, but sparse is not available')
sparse_ran=$(echo "$full" | grep -c '^  CHECK ' || true)
if [ -n "$out" ]; then
	echo "$out"
	bad "sparse/W=1 warnings in vpid.c"
elif [ "$sparse_ran" -eq 0 ]; then
	echo "lint: W=1 on vpid.c: no warning; sparse NOT RUN: $KERNEL_RELEASE's" \
	     "scripts/checker-valid.sh rejects the sparse of its build environment" \
	     "(too old for this kernel), so C=2 checks nothing here"
else
	echo "lint: sparse and W=1 on vpid.c: no warning"
fi

# 4. sparse on the upstream files the patches touch (not those they
# create), judged by the lines the patches added.
pristine=$(mktemp -d)
trap 'rm -rf "$pristine"' EXIT
files=$(for p in "${patches[@]}"; do
		sed -n 's|^+++ b/\(arch/x86/kvm/.*\.c\)$|\1|p' "$sdir/$p"
	done | sort -u | grep -vxF -f <(added_files))
{ [ -n "$files" ] && [ "$sparse_ran" -ne 0 ]; } || exit $fail
# shellcheck disable=SC2086 # one argument per file
unpack_source "$cache" "$pristine" $files
objs=()
for f in $files; do
	f=${f#arch/x86/kvm/}
	objs+=("${f%.c}.o")
done
warnings=$("${kmake[@]}" C=2 M=arch/x86/kvm "${objs[@]}" 2>&1 | grep -E ': (warning|error):')
new=0 old=0
for f in $files; do
	added=$(diff --unchanged-line-format= --old-line-format= \
		--new-line-format='%dn ' "$pristine/$f" "$tree/$f")
	while IFS= read -r w; do
		line=$(echo "$w" | cut -d: -f2)
		if [[ " $added " == *" $line "* ]]; then
			echo "$w"
			new=$((new + 1))
		fi
	done < <(echo "$warnings" | grep "^$f:")
done
old=$(( $(echo "$warnings" | grep -c .) - new ))
if [ $new -ne 0 ]; then
	bad "$new sparse warnings on lines the patches add"
else
	echo "lint: sparse on ${files//$'\n'/ }: no warning on a patched line" \
	     "($old upstream warnings left alone)"
fi
exit $fail
