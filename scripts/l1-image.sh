#!/bin/bash
# What a test that boots an L1 Linux (vm/guest/nested_vpid_l1_linux)
# needs in the emulated machine's root: Debian's QEMU with the shared
# libraries and firmware it loads, and in /l1 L1's kernel (the same
# Debian image as L0's) and initramfs: busybox, Debian's stock kvm
# modules, vm/l1/init and the programs it names (built in TESTDIR).
# With "l2", also /l1/initrd-l2: the same initramfs with QEMU, and in
# /l2 the kernel and initramfs of the L2 Linux that L1 boots in the
# context-switch experiment (busybox, vm/l2/init and TESTDIR's ctxsw).
#
# usage: l1-image.sh CACHE TREE TESTDIR ROOT [l2]
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$1 tree=$2 testdir=$3 root=$4 l2=${5:-}
die() { echo "l1-image: error: $*" >&2; exit 1; }
# shellcheck source=/dev/null
. "$cache/versions.env"
image=$cache/../image
qemu=/usr/bin/qemu-system-x86_64
[ -x $qemu ] || die "$qemu missing; run 'make deps' (qemu-system-x86)"

# QEMU, what ldd says it loads, and its firmware for -kernel boots.
install_qemu() { # root
	install -D $qemu "$1$qemu"
	while read -r lib; do
		install -D "$lib" "$1$lib"
	done < <(ldd $qemu | grep -o '/[^ ]*' | sort -u)
	for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		 /usr/share/qemu/kvmvapic.bin; do
		install -D -m 0644 "$(realpath "$f")" "$1$f"
	done
}
install_qemu "$root"

# L1's initramfs.
l1=$(mktemp -d "$root/../l1root.XXXXXX")
trap 'rm -rf "$l1"' EXIT
mkdir -p "$l1"/{bin,lib/modules,tests,proc,sys,dev,tmp}
# L0's busybox (vm-image.sh put it there).
install -m 0755 "$root/bin/busybox" "$l1/bin/busybox"
ln -s busybox "$l1/bin/sh"
install -m 0755 vm/l1/init "$l1/init"
mods=$(image_modules "$image" "$KERNEL_RELEASE")/kernel || die "the image has no modules"
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-intel; do
	xz -dc "$mods/$m.ko.xz" > "$l1/lib/modules/${m##*/}.ko"
done
while read -r t; do
	[ -x "$testdir/$t" ] || die "L1 runs $t, which is not built in $testdir"
	cp "$testdir/$t" "$l1/tests/$t"
done < <(sed -n 's/^L1_[A-Z]*=\([a-z0-9_,]*\)$/\1/p' vm/l1/init |
	 tr , '\n')
mkdir -p "$root/l1"
vmlinuz=$(image_file "$image" "$KERNEL_RELEASE" vmlinuz)
cp "$vmlinuz" "$root/l1/vmlinuz"
initramfs "$tree" "$l1" "$root/l1/initrd" || die "cannot make L1's initramfs"
[ "$l2" = l2 ] || exit 0

# L2's initramfs, and L1's with QEMU and L2.
l2root=$(mktemp -d "$root/../l2root.XXXXXX")
trap 'rm -rf "$l1" "$l2root"' EXIT
mkdir -p "$l2root"/{bin,proc,sys,dev,tmp}
install -m 0755 "$root/bin/busybox" "$l2root/bin/busybox"
ln -s busybox "$l2root/bin/sh"
install -m 0755 vm/l2/init "$l2root/init"
[ -x "$testdir/ctxsw" ] || die "L2 runs ctxsw, which is not built in $testdir"
install -m 0755 "$testdir/ctxsw" "$l2root/ctxsw"
mkdir -p "$l1/l2"
cp "$vmlinuz" "$l1/l2/vmlinuz"
initramfs "$tree" "$l2root" "$l1/l2/initrd" || die "cannot make L2's initramfs"
install_qemu "$l1"
initramfs "$tree" "$l1" "$root/l1/initrd-l2" || die "cannot make L1's initramfs with L2"
