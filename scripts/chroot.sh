#!/bin/bash
# A Debian chroot to build modules in, for kernels that Debian built with
# another compiler (and C library) than the machine's: made once with
# debootstrap from Debian's archive and kept in build/chroot/SUITE.
#
# usage: [DEBIAN_MIRROR=URL] chroot.sh SUITE run CMD...   run CMD in the chroot, in the current
#                                     directory, which is bind-mounted at
#                                     the same path; makes the chroot first
#                                     if it is missing or out of date
#        chroot.sh SUITE make         only make it
#
# DEBIAN_MIRROR (config.mk's; kmake.sh passes it from versions.env) is
# where debootstrap fetches from. Needs root (debootstrap, chroot, mounts). The mounts live in a private
# mount namespace (unshare -m), so they vanish with CMD, whatever happens.
set -euo pipefail

suite=$1 cmd=$2
shift 2
root=$(realpath -m "build/chroot/$suite")
die() { echo "chroot: error: $*" >&2; exit 1; }

# What the kernel's build, its selftests (7.3's link libuuid) and lint's
# sparse need; the compiler is the suite's default gcc, which modules.sh
# checks against the kernel's CONFIG_CC_VERSION_TEXT.
pkgs=gcc,make,bc,flex,bison,libelf-dev,libssl-dev,cpio,xz-utils,kmod,python3,dwarves,sparse,uuid-dev
mirror=${DEBIAN_MIRROR:?chroot: DEBIAN_MIRROR is not set}
stamp="$suite $mirror $pkgs"

make_chroot() {
	if [ -f "$root/.chroot-stamp" ] && [ "$(cat "$root/.chroot-stamp")" = "$stamp" ]; then
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "making the $suite chroot needs root (debootstrap)"
	command -v debootstrap >/dev/null || die "debootstrap missing; run 'make deps'"
	echo "chroot: debootstrap $suite into $root (once; about a minute)" >&2
	mkdir -p "${root%/*}"
	rm -rf "$root.tmp"
	debootstrap --variant=minbase --include="$pkgs" "$suite" "$root.tmp" \
		"$mirror" > "$root.log" 2>&1 ||
		die "debootstrap $suite failed; see $root.log"
	echo "$stamp" > "$root.tmp/.chroot-stamp"
	rm -rf "$root"
	mv "$root.tmp" "$root"
}

case $cmd in
make)
	make_chroot
	;;
run)
	make_chroot
	here=$(pwd)
	mkdir -p "$root$here"
	# shellcheck disable=SC2016 # expanded by the inner shell
	exec unshare -m sh -c '
		root=$1 here=$2
		shift 2
		mount --make-rprivate / &&
		mount --bind "$here" "$root$here" &&
		mount --rbind /dev "$root/dev" &&
		mount -t proc proc "$root/proc" &&
		exec chroot "$root" sh -c "cd \"\$0\" && exec \"\$@\"" "$here" "$@"
	' chroot "$root" "$here" "$@"
	;;
*)
	die "unknown command $cmd (run or make)"
	;;
esac
