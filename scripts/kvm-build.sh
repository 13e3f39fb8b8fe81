#!/bin/bash
# Build kvm.ko, kvm-intel.ko and kvm-amd.ko in a patched kernel tree for
# one Debian kernel release, so that they load into that stock kernel:
# its config, its headers' Module.symvers, modules_prepare, then
# arch/x86/kvm; fails unless the tree is of the release's version and
# each module's vermagic is the release's. Always the three together:
# the series changes kvm.ko's ABI. Used by scripts/modules.sh and by the
# Debian package's DKMS build (dkms/nested-vpid-build), which ships it.
#
# usage: kvm-build.sh TREE CONFIG SYMVERS RELEASE MAKE...
#   MAKE...  the command that runs make in TREE with the compiler the
#            kernel was built with and LOCALVERSION=+<release's suffix>
set -euo pipefail

tree=$1 config=$2 symvers=$3 release=$4
shift 4
kmake=("$@")
die() { echo "kvm-build: error: $*" >&2; exit 1; }

# The release is <kernelversion><LOCALVERSION>: 6.12.117 + "+deb12-amd64".
version=$(make -s -C "$tree" kernelversion)
[ "${release%%+*}" = "$version" ] ||
	die "the tree's version $version does not match $release"

if ! cmp -s "$config" "$tree/.config.debian"; then
	cp "$config" "$tree/.config"
	cp "$config" "$tree/.config.debian"
fi
cp "$symvers" "$tree/Module.symvers"
"${kmake[@]}" -s olddefconfig
"${kmake[@]}" -s modules_prepare
built=$(cat "$tree/include/config/kernel.release")
[ "$built" = "$release" ] || die "tree release $built differs from $release"

# BTF for modules needs vmlinux, which Debian does not ship: kbuild says
# so once per module, which is noise here.
log=$tree/.kvm-build.log
if ! "${kmake[@]}" -s M=arch/x86/kvm modules > "$log" 2>&1; then
	cat "$log" >&2
	die "building arch/x86/kvm failed"
fi
grep -v '^Skipping BTF generation' "$log" >&2 || true

for m in kvm kvm-intel kvm-amd; do
	magic=$(modinfo -F vermagic "$tree/arch/x86/kvm/$m.ko")
	case "$magic" in
	"$release "*) ;;
	*) die "$m.ko vermagic '$magic' does not start with $release";;
	esac
done
