#!/bin/bash
# Build kvm.ko, kvm-intel.ko and kvm-amd.ko from the patched tree with
# Debian's own config and the compiler Debian built the kernel with (its
# CONFIG_CC_VERSION_TEXT), so that they load into Debian's stock kernel
# (scripts/kvm-build.sh).
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

scripts/kvm-build.sh "$tree" "$config" "$symvers" "$KERNEL_RELEASE" "${kmake[@]}"

mkdir -p "$out"
for m in kvm kvm-intel kvm-amd; do
	ko=$tree/arch/x86/kvm/$m.ko
	cp "$ko" "$out/$m.ko.tmp"
	mv "$out/$m.ko.tmp" "$out/$m.ko"
done
echo "modules: kvm.ko kvm-intel.ko kvm-amd.ko ($KERNEL_RELEASE) in $out"
