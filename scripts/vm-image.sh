#!/bin/bash
# Build the emulated machine's boot CD: Debian's stock kernel, an
# initramfs with busybox, our modules, the test binaries and a plan.
#
# usage: vm-image.sh CACHE TREE MODULES TESTDIR PLAN OUT.iso
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

cache=$(realpath "$1") tree=$2 modules=$3 testdir=$4 plan=$5 iso=$6
die() { echo "vm-image: error: $*" >&2; exit 1; }
# shellcheck source=/dev/null
. "$cache/versions.env"
image=$cache/../image
work=$(mktemp -d "${iso%/*}/.vm-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Packages whose files go on the CD.
for pkg in busybox-static isolinux syslinux-common; do
	dpkg-deb -x "$cache/${pkg}_"*.deb "$work/pkgs" || die "cannot unpack $pkg"
done

root=$work/root
mkdir -p "$root"/{bin,lib/modules,tests,proc,sys,dev,tmp}
# /bin/busybox up to Debian 12, /usr/bin/busybox from Debian 13 on.
busybox=$(compgen -G "$work/pkgs/bin/busybox" || compgen -G "$work/pkgs/usr/bin/busybox") ||
	die "no busybox in busybox-static"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 vm/init "$root/init"
cp "$plan" "$root/plan"
stock=$(image_modules "$image" "$KERNEL_RELEASE") || die "the image has no modules"
# kvm's dependency, and /dev/cpu/N/msr for tlbstat (the emulated CPU's
# TLB counters).
for ko in virt/lib/irqbypass arch/x86/kernel/msr; do
	xz -dc "$stock/kernel/$ko.ko.xz" > "$root/lib/modules/${ko##*/}.ko"
done
# Ours, and Debian's own in lib/modules/stock/ (the set "stock").
mkdir "$root/lib/modules/stock"
for m in kvm kvm-intel; do
	[ -f "$modules/$m.ko" ] || die "$modules/$m.ko missing; run 'make modules'"
	strip --strip-debug -o "$root/lib/modules/$m.ko" "$modules/$m.ko"
	xz -dc "$stock/kernel/arch/x86/kvm/$m.ko.xz" > "$root/lib/modules/stock/$m.ko"
done
# The programs of each test's command (the plan's fourth field): its
# first word, and each other word that names a program built in TESTDIR
# (a wrapper such as vm/guest/vpid runs the test it is given).
mapfile -t cmds < <(cut -d';' -f4 "$plan" | sort -u)
tests=()
for c in "${cmds[@]}"; do
	read -r -a words <<< "$c"
	[ -x "$testdir/${words[0]}" ] || die "test program ${words[0]} is not built in $testdir"
	for w in "${words[@]}"; do
		[[ $w =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -x $testdir/$w ]] && tests+=("$w")
	done
done
mapfile -t tests < <(printf '%s\n' "${tests[@]}" | sort -u)
for t in "${tests[@]}"; do
	cp "$testdir/$t" "$root/tests/$t"
done
# A test may be a script (vm/guest/*) that runs a test binary with
# arguments, or an awk program beside it: copy the files it names as
# /tests/NAME too, and those that they name.
while [ ${#tests[@]} -gt 0 ]; do
	t=${tests[0]}
	tests=("${tests[@]:1}")
	[ "$(head -c 2 "$testdir/$t")" = '#!' ] || continue
	while read -r dep; do
		dep=${dep#/tests/}
		[ -f "$root/tests/$dep" ] && continue
		[ -f "$testdir/$dep" ] || die "test $t uses $dep, which is not in $testdir"
		cp "$testdir/$dep" "$root/tests/$dep"
		tests+=("$dep")
	done < <(grep -o '/tests/[A-Za-z0-9_.-]*' "$testdir/$t" | sort -u)
done

# A test that boots an L1 Linux with QEMU (vm/guest/nested_vpid_l1_linux)
# needs QEMU and L1's kernel and initramfs in /l1; one whose L1 boots an
# L2 Linux (vm/guest/nested_vpid_l2_linux), L1's initramfs with L2's.
if grep -qs '^/usr/bin/qemu-system' "$root"/tests/*; then
	l2=
	grep -qs 'initrd-l2' "$root"/tests/* && l2=l2
	scripts/l1-image.sh "$cache" "$tree" "$testdir" "$root" $l2
fi

cd_root=$work/cd
mkdir -p "$cd_root/isolinux"
initramfs "$tree" "$root" "$cd_root/initrd.img" || die "cannot make the initramfs"
cp "$(image_file "$image" "$KERNEL_RELEASE" vmlinuz)" "$cd_root/vmlinuz"
cp "$work/pkgs/usr/lib/ISOLINUX/isolinux.bin" \
   "$work/pkgs/usr/lib/syslinux/modules/bios/ldlinux.c32" "$cd_root/isolinux/"
# The kernel's own extra command line (config.mk's _CMDLINE).
sed "s|^\tAPPEND .*|& $KERNEL_CMDLINE|" vm/isolinux.cfg > "$cd_root/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -o "$iso.tmp" -b isolinux/isolinux.bin \
	-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
	-boot-info-table "$cd_root" 2>"$work/xorriso.err" ||
	die "xorriso failed: $(cat "$work/xorriso.err")"
mv "$iso.tmp" "$iso"
