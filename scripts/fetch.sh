#!/bin/bash
# Download the Debian packages that config.mk pins for KERNEL into CACHE
# and record what was fetched in CACHE/versions.env, which every later
# stage reads: the kernel's fields, the mirrors and the bases of every
# series included, so that no script but make reads config.mk.
#
# usage: fetch.sh KERNEL CACHE
# with config.mk's fields of KERNEL in PIN_SUITES, PIN_SOURCE_PKG,
# PIN_DEB_VERSION, PIN_RELEASE, PIN_IMAGE_PKGS, PIN_SERIES, PIN_CMDLINE,
# PIN_BUILD_IN, and DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, CD_PACKAGES,
# BASES in the environment (make fetch passes them).
#
# apt runs with a configuration of its own in CACHE/../apt (the kernel's
# suites, its own lists and download cache), so the machine's apt sources
# are neither used nor changed, and no root is needed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
kernel=$1 cache=$2
die() { echo "fetch: error: $*" >&2; exit 1; }

for v in PIN_SUITES PIN_SOURCE_PKG PIN_DEB_VERSION PIN_RELEASE PIN_IMAGE_PKGS \
	 PIN_SERIES PIN_BUILD_IN DEBIAN_MIRROR DEBIAN_SECURITY_MIRROR CD_PACKAGES BASES; do
	[ -n "${!v:-}" ] || die "$v is not set: run 'make KERNEL=$kernel fetch'"
done
suites=$PIN_SUITES src=$PIN_SOURCE_PKG series=$PIN_SERIES build_in=$PIN_BUILD_IN
image_patterns=$PIN_IMAGE_PKGS cmdline=${PIN_CMDLINE:-}
pinned_version=$PIN_DEB_VERSION pinned_release=$PIN_RELEASE
cd_pkgs=$CD_PACKAGES
mkdir -p "$cache"
cache=$(realpath "$cache")
apt=$(realpath -m "$cache/../apt")

# The kernel's suites only; security suites are on their own mirror.
mkdir -p "$apt/lists/partial" "$apt/archives/partial"
for s in $suites; do
	case $s in
	*-security) echo "deb $DEBIAN_SECURITY_MIRROR $s main";;
	*) echo "deb $DEBIAN_MIRROR $s main";;
	esac
done > "$apt/sources.list"
versions() { # package -> the archive's versions of it, one per line
	apt_in "$apt" apt-cache madison "$1" 2>/dev/null |
		awk -F'|' '{gsub(/ /,"",$2); print $2}'
}
available() { # package version -> true if the archive has it
	versions "$1" | grep -qxF "$2"
}

# Refresh the lists when they are missing or lack the pinned kernel.
if ! available "$src" "$pinned_version"; then
	apt_in "$apt" apt-get update -qq >"$apt/update.log" 2>&1 ||
		die "apt-get update for $suites failed: $(tail -n 1 "$apt/update.log")"
fi

version=$pinned_version release=$pinned_release
first_image() { image_pkgs "$image_patterns" "$1" | cut -d' ' -f1; }
if ! available "$src" "$version" ||
   ! available "$(first_image "$release")" "$version"; then
	newest=$(versions "$src" | sort -V | tail -n 1)
	[ -n "$newest" ] || die "$src is not in $suites at all"
	version=$newest
	release="${version%%-*}+${pinned_release#*+}"
	cat >&2 <<-WARN
	################################################################
	fetch: WARNING: pinned kernel $pinned_version ($pinned_release)
	fetch: WARNING: is no longer in the archive; falling back to
	fetch: WARNING: $version ($release). Update config.mk.
	################################################################
	WARN
	available "$(first_image "$release")" "$version" ||
		die "$(first_image "$release") $version is not in the archive"
fi

cd "$cache"
fetch() { # package version
	local pkg=$1 ver=$2 deb
	deb=$(compgen -G "${pkg}_*.deb" | head -n 1 || true)
	if [ -n "$deb" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$ver" ]; then
		return
	fi
	rm -f "${pkg}_"*.deb
	echo "fetch: $pkg=$ver"
	apt_in "$apt" apt-get download -q "$pkg=$ver" >/dev/null 2>apt.err ||
		die "apt-get download $pkg=$ver failed: $(tail -n 1 apt.err)"
	deb=$(ls "${pkg}_"*.deb)
	{ [ "$(dpkg-deb -f "$deb" Package)" = "$pkg" ] &&
	  [ "$(dpkg-deb -f "$deb" Version)" = "$ver" ]; } ||
		die "$deb is not $pkg $ver"
}

fetch "$src" "$version"
image=$(image_pkgs "$image_patterns" "$release")
for pkg in $image; do
	fetch "$pkg" "$version"
done
fetch "$(headers_pkg "$release")" "$version"
for pkg in $cd_pkgs; do
	ver=$(apt_in "$apt" apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
	{ [ -n "$ver" ] && [ "$ver" != "(none)" ]; } || die "$pkg is not in $suites"
	fetch "$pkg" "$ver"
done
rm -f apt.err

cat > versions.env.tmp <<-ENV
KERNEL=$kernel
KERNEL_SUITES="$suites"
KERNEL_SOURCE_PKG=$src
KERNEL_DEB_VERSION=$version
KERNEL_RELEASE=$release
KERNEL_SERIES=$series
KERNEL_BUILD_IN=$build_in
KERNEL_IMAGE_PKGS="$image"
KERNEL_CMDLINE="$cmdline"
CD_PACKAGES="$cd_pkgs"
DEBIAN_MIRROR=$DEBIAN_MIRROR
DEBIAN_SECURITY_MIRROR=$DEBIAN_SECURITY_MIRROR
BASES="$BASES"
ENV
mv versions.env.tmp versions.env
echo "fetch: kernel $version ($release) in $cache"
