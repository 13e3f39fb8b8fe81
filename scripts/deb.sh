#!/bin/bash
# Build the Debian package nested-vpid-dkms (dkms/): the series of every
# base (config.mk's kernels), DKMS's build step and scripts/kvm-build.sh
# in /usr/src/nested-vpid-VERSION, with dkms.conf; install-kernels, which
# the postinst, dpkg's trigger on linux-source-BASE and our kernel hook in
# /etc/kernel/header_postinst.d run. VERSION is 0.1.N, N
# the number of commits of the repository, so that each package is newer
# than the one before.
#
# usage: deb.sh OUT SERIES-DIR...   (writes OUT/nested-vpid-dkms_VERSION_all.deb)
set -euo pipefail

out=$1
shift
die() { echo "deb: error: $*" >&2; exit 1; }
version=0.1.$(git rev-list --count HEAD 2>/dev/null) ||
	die "the package's version comes from git: build it in the repository"
root=$out/root
# The bases of the series (6.12 7.3), as the package names them.
bases=()
for dir; do
	bases+=("$(basename "$dir")")
done
join() { # SEPARATOR WORD...: the words with SEPARATOR between them
	local sep=$1 out=$2
	shift 2
	for w; do
		out+="$sep$w"
	done
	echo "$out"
}
sources=$(join ' | ' "${bases[@]/#/linux-source-}")
sources_or=$(join ' or ' "${bases[@]/#/linux-source-}")
series=$(join ', ' "${bases[@]/%/.y}")
# versioned FILE DEST [MODE]: FILE with this package's version for
# @VERSION@, and for @SOURCES@, @SOURCES_OR@ and @BASES@ the bases'
# source packages ("linux-source-6.12 | linux-source-7.3", with "or") and
# the bases ("6.12.y, 7.3.y").
versioned() {
	sed -e "s/@VERSION@/$version/" -e "s/@SOURCES@/$sources/" \
	    -e "s/@SOURCES_OR@/$sources_or/" -e "s/@BASES@/$series/" "$1" > "$2"
	chmod "${3:-644}" "$2"
}
src=$root/usr/src/nested-vpid-$version
doc=$root/usr/share/doc/nested-vpid-dkms

rm -rf "$root" "$out"/nested-vpid-dkms_*_all.deb
mkdir -p "$src" "$doc/examples" "$root/DEBIAN"
for dir; do
	base=$(basename "$dir")
	mkdir -p "$src/patches/$base"
	cp "$dir/series" "$src/patches/$base/"
	while read -r p; do
		cp "$dir/$p" "$src/patches/$base/"
	done < "$dir/series"
done
install -m 755 dkms/nested-vpid-build scripts/kvm-build.sh "$src/"
versioned dkms/dkms.conf "$src/dkms.conf"
mkdir -p "$root/usr/lib/nested-vpid-dkms" "$root/etc/kernel/header_postinst.d"
versioned dkms/install-kernels "$root/usr/lib/nested-vpid-dkms/install-kernels" 755
install -m 755 dkms/kernel-hook "$root/etc/kernel/header_postinst.d/nested-vpid"
echo /etc/kernel/header_postinst.d/nested-vpid > "$root/DEBIAN/conffiles"
install -m 644 dkms/README.Debian dkms/copyright "$doc/"
# A native package's changelog: the commit it was built from.
{
	echo "nested-vpid-dkms ($version) unstable; urgency=medium"
	echo
	echo "  * The nested VPID series at commit $(git rev-parse --short=12 HEAD)."
	echo
	echo " -- Nested VPID developers <nested-vpid@example.org>  $(git log -1 --format=%aD)"
} | gzip -9n > "$doc/changelog.gz"
# KVM's modules have no MODULE_VERSION, so DKMS's version check finds ours
# "exactly" the stock ones and would not install them: Debian's DKMS skips
# that check for the modules named here.
mkdir -p "$root/usr/share/dkms/modules_to_force_install"
echo nested-vpid_version-override \
	> "$root/usr/share/dkms/modules_to_force_install/nested-vpid"
install -m 644 dkms/examples/kvm-intel-nested.conf "$doc/examples/"
versioned dkms/control "$root/DEBIAN/control"
# A new linux-source-BASE may be what a kernel waited for: dpkg runs the
# postinst ("triggered") when one is installed.
for dir; do
	echo "interest-noawait /usr/src/linux-source-$(basename "$dir").tar.xz"
done > "$root/DEBIAN/triggers"
versioned dkms/postinst "$root/DEBIAN/postinst" 755
versioned dkms/prerm "$root/DEBIAN/prerm" 755
deb=$out/nested-vpid-dkms_${version}_all.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" > /dev/null
rm -rf "$root"
echo "deb: $deb"
