#!/bin/bash
# Build the emulated machine's boot CD: Debian's stock kernel, an
# initramfs with busybox, our modules, the test binaries and a plan.
#
# usage: vm-image.sh CACHE TREE MODULES TESTDIR PLAN OUT.iso
set -euo pipefail

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
cp "$work/pkgs/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 vm/init "$root/init"
cp "$plan" "$root/plan"
xz -dc "$image/lib/modules/$KERNEL_RELEASE/kernel/virt/lib/irqbypass.ko.xz" \
	> "$root/lib/modules/irqbypass.ko"
for m in kvm kvm-intel; do
	[ -f "$modules/$m.ko" ] || die "$modules/$m.ko missing; run 'make modules'"
	strip --strip-debug -o "$root/lib/modules/$m.ko" "$modules/$m.ko"
done
# TEST+WRAPPER: both run (vm/init).
mapfile -t tests < <(cut -d';' -f3 "$plan" | tr + '\n' | sort -u)
for t in "${tests[@]}"; do
	[ -x "$testdir/$t" ] || die "test $t is not built in $testdir"
	cp "$testdir/$t" "$root/tests/$t"
done
# A test may be a script (vm/guest/*) that runs a test binary with
# arguments: copy the binaries it names as /tests/NAME too.
for t in "${tests[@]}"; do
	[ "$(head -c 2 "$testdir/$t")" = '#!' ] || continue
	while read -r dep; do
		dep=${dep#/tests/}
		[ -x "$testdir/$dep" ] || die "test $t runs $dep, which is not built in $testdir"
		cp "$testdir/$dep" "$root/tests/$dep"
	done < <(grep -o '/tests/[A-Za-z0-9_.-]*' "$testdir/$t" | sort -u)
done

# gen_init_cpio makes /dev/console without needing root.
gen=$work/gen_init_cpio
cc -O2 -o "$gen" "$tree/usr/gen_init_cpio.c"
{
	echo "nod /dev/console 0600 0 0 c 5 1"
	(cd "$root" && find . -mindepth 1 | sort) | while read -r f; do
		f=${f#.}
		if [ -L "$root$f" ]; then
			echo "slink $f $(readlink "$root$f") 0777 0 0"
		elif [ -d "$root$f" ]; then
			echo "dir $f 0755 0 0"
		else
			echo "file $f $root$f $(stat -c %a "$root$f") 0 0"
		fi
	done
} > "$work/cpio.list"

cd_root=$work/cd
mkdir -p "$cd_root/isolinux"
"$gen" "$work/cpio.list" | zstd -q -3 -T0 > "$cd_root/initrd.img"
cp "$image/boot/vmlinuz-$KERNEL_RELEASE" "$cd_root/vmlinuz"
cp "$work/pkgs/usr/lib/ISOLINUX/isolinux.bin" \
   "$work/pkgs/usr/lib/syslinux/modules/bios/ldlinux.c32" "$cd_root/isolinux/"
cp vm/isolinux.cfg "$cd_root/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -o "$iso.tmp" -b isolinux/isolinux.bin \
	-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
	-boot-info-table "$cd_root" 2>"$work/xorriso.err" ||
	die "xorriso failed: $(cat "$work/xorriso.err")"
mv "$iso.tmp" "$iso"
