#!/bin/bash
# Build kvm.ko, kvm-intel.ko and kvm-amd.ko from the patched tree with
# Debian's own config and the compiler Debian built the kernel with (its
# CONFIG_CC_VERSION_TEXT), so that they load into Debian's stock kernel.
# A kernel of another Debian release is built in a chroot of that release
# (KERNEL_BUILD_IN in versions.env, scripts/chroot.sh).
#
# usage: modules.sh CACHE TREE OUT
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$(realpath "$1") tree=$2 out=$3
die() { echo "modules: error: $*" >&2; exit 1; }

# shellcheck source=/dev/null
. "$cache/versions.env"
image=$cache/../image
headers=$cache/../headers
# The image's packages into image/, the headers' into headers/.
unpack() { # dir packages...
	local dir=$1 stamp pkg
	shift
	stamp="$*"
	[ -f "$dir/.unpacked" ] && [ "$(cat "$dir/.unpacked")" = "$stamp" ] && return
	rm -rf "$dir" && mkdir -p "$dir"
	for pkg; do
		dpkg-deb -x "$cache/${pkg}_"*.deb "$dir" || die "cannot unpack $pkg"
	done
	echo "$stamp" > "$dir/.unpacked"
}
# shellcheck disable=SC2086 # one package per word
unpack "$image" $KERNEL_IMAGE_PKGS
unpack "$headers" "linux-headers-$KERNEL_RELEASE"

config=$(image_file "$image" "$KERNEL_RELEASE" config) || die "no config in the image"
symvers=$headers/usr/src/linux-headers-$KERNEL_RELEASE/Module.symvers
[ -f "$symvers" ] || die "$symvers missing"

kmake=(scripts/kmake.sh "$cache" "$tree" -j"$(nproc)")
# The compiler the kernel was built with, by the name Debian called it
# (kmake.sh builds with it).
cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$config")
have=$(scripts/kmake.sh "$cache" "$tree" --cc-version) ||
	die "cannot run ${cc_text%% *} to build for $KERNEL_RELEASE (in: $KERNEL_BUILD_IN)"
[ "$have" = "$cc_text" ] ||
	echo "modules: warning: $KERNEL_RELEASE was built with '$cc_text', building with '$have'" >&2

# The release is <kernelversion><LOCALVERSION>: 6.12.117 + "+deb12-amd64".
version=$(make -s -C "$tree" kernelversion)
[ "${KERNEL_RELEASE%%+*}" = "$version" ] ||
	die "the tree's version $version does not match $KERNEL_RELEASE"

if ! cmp -s "$config" "$tree/.config.debian"; then
	cp "$config" "$tree/.config"
	cp "$config" "$tree/.config.debian"
fi
cp "$symvers" "$tree/Module.symvers"
"${kmake[@]}" -s olddefconfig
"${kmake[@]}" -s modules_prepare
release=$(cat "$tree/include/config/kernel.release")
[ "$release" = "$KERNEL_RELEASE" ] ||
	die "tree release $release differs from the image's $KERNEL_RELEASE"

# BTF for modules needs vmlinux, which Debian does not ship: kbuild says
# so once per module, which is noise here.
log=$tree/.kvm-build.log
if ! "${kmake[@]}" -s M=arch/x86/kvm modules > "$log" 2>&1; then
	cat "$log" >&2
	die "building arch/x86/kvm failed"
fi
grep -v '^Skipping BTF generation' "$log" >&2 || true

mkdir -p "$out"
for m in kvm kvm-intel kvm-amd; do
	ko=$tree/arch/x86/kvm/$m.ko
	magic=$(modinfo -F vermagic "$ko")
	case "$magic" in
	"$KERNEL_RELEASE "*) ;;
	*) die "$m.ko vermagic '$magic' does not start with $KERNEL_RELEASE";;
	esac
	cp "$ko" "$out/$m.ko.tmp"
	mv "$out/$m.ko.tmp" "$out/$m.ko"
done
echo "modules: kvm.ko kvm-intel.ko kvm-amd.ko ($KERNEL_RELEASE) in $out"
