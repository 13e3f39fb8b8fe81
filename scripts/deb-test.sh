#!/bin/bash
# The Debian package as a host operator meets it: lintian first; then,
# in a clean Debian chroot (debootstrap --variant=minbase, kept as a
# tarball in OUT and unpacked afresh for each run), with the .debs
# fetched for CACHE's kernel: its image; linux-source and
# nested-vpid-dkms; the kernel's headers, whose hook must build and
# install our modules (vermagic, the new parameters: the modules modprobe
# would load are ours); the suite's default kernel's headers, which we
# cannot build and which must install all the same, the hook saying why;
# linux-source again after a dkms remove, whose trigger must build them
# again; then remove the package: the stock modules are back.
#
# usage: deb-test.sh CACHE DEB OUT
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$(realpath "$1") deb=$(realpath "$2") out=$(realpath -m "$3")
die() { echo "deb-test: FAILED: $*" >&2; exit 1; }
say() { echo "deb-test: $*"; }
# shellcheck source=/dev/null
. "$cache/versions.env"
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts)"

suites=$KERNEL_SUITES
# What the package says it supports: the bases of every series
# (versions.env's BASES, from config.mk), "6.12.y 7.3.y".
supported=$(for b in $BASES; do printf '%s.y ' "$b"; done)
supported=${supported% }
suite=${suites%% *}
mirror=$DEBIAN_MIRROR
pristine=$out/$suite-minbase.tar
root=$out/root
if [ ! -f "$pristine" ]; then
	say "debootstrap $suite (once; about a minute)"
	rm -rf "$root" && mkdir -p "$out"
	debootstrap --variant=minbase "$suite" "$root" "$mirror" \
		> "$out/debootstrap.log" 2>&1 ||
		die "debootstrap $suite failed; see $out/debootstrap.log"
	tar -C "$root" -cf "$pristine.tmp" . && mv "$pristine.tmp" "$pristine"
fi
rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xf "$pristine"

# The kernel's suites, as config.mk names them (6.12.117+deb12 is in
# bookworm-security).
: > "$root/etc/apt/sources.list"
for s in $suites; do
	case $s in
	*-security) m=$DEBIAN_SECURITY_MIRROR ;;
	*) m=$mirror ;;
	esac
	echo "deb $m $s main" >> "$root/etc/apt/sources.list"
done
debs=$root/debs
mkdir -p "$debs" "$out/archives"
read -ra image <<< "$(image_pkgs "$KERNEL_IMAGE_PKGS" "$KERNEL_RELEASE")"
# debs PACKAGE...: their .debs, as the chroot sees them.
debs() { for p; do printf ' /debs/%s' "$(basename "$debs/${p}_"*.deb)"; done; }
for p in "${image[@]}" "$(headers_pkg "$KERNEL_RELEASE")" "$KERNEL_SOURCE_PKG"; do
	cp "$cache/${p}_"*.deb "$debs/"
done
cp "$deb" "$debs/"

# in_root CMD: CMD in the chroot, with /dev, /proc and apt's download
# cache (kept in OUT between runs) mounted in a private mount namespace.
in_root() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare -m sh -c '
		root=$1 archives=$2
		shift 2
		mount --make-rprivate / &&
		mount --rbind /dev "$root/dev" &&
		mount -t proc proc "$root/proc" &&
		mount --bind "$archives" "$root/var/cache/apt/archives" &&
		exec chroot "$root" env DEBIAN_FRONTEND=noninteractive \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -ec "$*"
	' in_root "$root" "$out/archives" "$@"
}
log=$out/deb-test.log
: > "$log"
run() { # what CMD
	say "$1"
	in_root "$2" >> "$log" 2>&1 || die "$1 (see $log)"
}

# Debian's own review of the package first.
lintian --fail-on error,warning "$deb" > "$out/lintian.log" 2>&1 ||
	die "lintian: $(grep -v 'root privileges' "$out/lintian.log")"
say "lintian: no error, no warning"

rel=$KERNEL_RELEASE
pkg=$(dpkg-deb -f "$deb" Package) ver=$(dpkg-deb -f "$deb" Version)
src_deb=$(debs "$KERNEL_SOURCE_PKG")
status() { in_root "dkms status -m nested-vpid -v $ver -k $1" 2>> "$log"; }
# expect_installed STEP: DKMS has installed our modules for rel, and they
# are what modprobe would load: from updates/dkms, built for rel, with the
# new parameters.
expect_installed() {
	case $(status "$rel") in
	*": installed"*) ;;
	*) die "$1: dkms status '$(status "$rel")'; make.log: $(tail -5 "$root/var/lib/dkms/nested-vpid/$ver/build/make.log" 2>/dev/null)" ;;
	esac
	for m in kvm kvm_intel kvm_amd; do
		file=$(in_root "modinfo -k $rel -F filename $m")
		case $file in
		/lib/modules/$rel/updates/dkms/*) ;;
		*) die "$1: modprobe would load $file for $m, not the package's" ;;
		esac
		magic=$(in_root "modinfo -k $rel -F vermagic $m")
		case $magic in
		"$rel "*) ;;
		*) die "$1: $m's vermagic is '$magic', not $rel's" ;;
		esac
	done
	parms=$(in_root "modinfo -k $rel -F parmtype kvm_intel")
	for p in nested_vpid:bool nested_vpid_tags:uint; do
		grep -qx "$p" <<< "$parms" || die "$1: modinfo shows no parameter $p"
	done
	say "$1: $(status "$rel"); modinfo: kvm, kvm_intel, kvm_amd from updates/dkms, vermagic $rel, parameters nested_vpid:bool nested_vpid_tags:uint"
}
# apt_out STEP CMD: CMD's output, with apt's carriage returns taken out.
apt_out() {
	local text
	say "$1" >&2
	text=$(in_root "$2" 2>&1) || die "$1: $(tail -5 <<< "$text")"
	echo "$text" >> "$log"
	tr -d '\r' <<< "$text"
}

# INITRD=No: no initramfs, which nothing here boots.
run "apt: the kernel's image ($rel)" \
	"apt-get update && INITRD=No apt-get install -y --no-install-recommends $(debs "${image[@]}")"
stock=$(in_root "modinfo -k $rel -F filename kvm_intel")
case $stock in
/lib/modules/$rel/kernel/*) ;;
*) die "the stock kvm_intel of $rel is not where Debian puts it: $stock" ;;
esac

# The package before the headers: nothing to build yet.
run "apt: $pkg $ver and $KERNEL_SOURCE_PKG, no headers yet" \
	"apt-get install -y --no-install-recommends $src_deb /debs/$(basename "$deb")"
case $(status "$rel") in
*": added") ;;
*) die "dkms status for $rel without its headers: '$(status "$rel")', not added" ;;
esac

# A kernel update: the headers' postinst runs our hook, which builds and
# installs the modules.
run "apt: the kernel's headers (our hook builds for $rel)" \
	"apt-get install -y --no-install-recommends $(debs "$(headers_pkg "$rel")")"
expect_installed "kernel's hook"

# A kernel the package cannot build, here the suite's default kernel
# (6.1 on bookworm: no series; on trixie a 6.12 with no linux-source-6.12
# installed), must install all the same, and the hook must say why its
# stock modules stay.
hook=$(apt_out "apt: the suite's default kernel's headers (cannot be built)" \
	"apt-get install -y --no-install-recommends linux-headers-amd64")
other=$(in_root "dpkg-query -W -f '\${Depends}' linux-headers-amd64" |
	sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p')
if [ -z "$other" ] || [ "$other" = "$rel" ]; then
	die "linux-headers-amd64 names no other kernel ('$other')"
fi
case $(status "$other") in
*": added") ;;
*) die "dkms status for $other: '$(status "$other")', not added" ;;
esac
# What it must say: a base with no series, or a source that is missing.
other_base=$(sed -n 's/^\([0-9]*\.[0-9]*\)\..*/\1/p' <<< "$other")
if [ -d "$root/usr/src/nested-vpid-$ver/patches/$other_base" ]; then
	other_version=$(in_root "dpkg-query -W -f '\${Version}' linux-headers-$other")
	why="linux-source-$other_base is not installed: apt install linux-source-$other_base=$other_version"
else
	why="no series for this kernel; this package supports $supported"
fi
why="nested-vpid: $other: $why; its stock KVM modules stay in use"
grep -qxF "$why" <<< "$hook" || die "the hook does not say '$why'"
say "$why"

# A kernel whose source arrives after its headers: the linux-source
# tarball's trigger runs the postinst, which builds it and again names
# the kernel it cannot build.
run "dkms remove for $rel (as if its headers came before its source)" \
	"dkms remove -m nested-vpid -v $ver -k $rel"
trig=$(apt_out "apt: $KERNEL_SOURCE_PKG again (its trigger builds for $rel)" \
	"apt-get install -y --no-install-recommends --reinstall $src_deb")
expect_installed "linux-source's trigger"
grep -qxF "$why" <<< "$trig" || die "the trigger does not say '$why'"

# A kernel of a base with no series is refused by name.
refused=$(in_root "/usr/src/nested-vpid-$ver/nested-vpid-build --check 6.1.0-99-amd64" 2>&1) &&
	die "nested-vpid-build --check accepts a 6.1 kernel"
grep -qF "no series for this kernel; this package supports $supported" <<< "$refused" ||
	die "the refusal of a 6.1 kernel does not say what is supported: $refused"
say "a 6.1 kernel is refused: $refused"

run "apt: remove $pkg" "apt-get remove -y $pkg"
file=$(in_root "modinfo -k $rel -F filename kvm_intel")
[ "$file" = "$stock" ] || die "after removal modprobe would load $file, not the stock $stock"
in_root "modinfo -k $rel -F parmtype kvm_intel" | grep -q nested_vpid &&
	die "after removal kvm_intel still has nested_vpid"
[ -z "$(in_root "ls /lib/modules/$rel/updates/dkms 2>/dev/null")" ] ||
	die "modules left in /lib/modules/$rel/updates/dkms"
say "removed: the stock modules are back ($stock)"
