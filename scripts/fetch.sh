#!/bin/bash
# Download the Debian packages pinned in config.mk into $CACHE and record
# what was fetched in $CACHE/versions.env, which every later stage reads.
#
# usage: fetch.sh CACHE
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
cache=$1
src=$(config_value KERNEL_SOURCE_PKG)
pinned_version=$(config_value KERNEL_DEB_VERSION)
pinned_release=$(config_value KERNEL_RELEASE)
cd_pkgs=$(config_value CD_PACKAGES)
mkdir -p "$cache"
cd "$cache"

die() { echo "fetch: error: $*" >&2; exit 1; }

available() { # package version -> true if the archive has it
	apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
		grep -qxF "$2"
}

# Refresh the package lists when they are missing or lack the pinned kernel.
if ! available "$src" "$pinned_version"; then
	apt-get update -qq >/dev/null 2>&1 ||
		echo "fetch: warning: apt-get update failed (not root?)" >&2
fi

version=$pinned_version release=$pinned_release
if ! available "$src" "$version" ||
   ! available "$(image_pkg "$release")" "$version"; then
	newest=$(apt-cache madison "$src" | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
		 sort -V | tail -n 1)
	[ -n "$newest" ] || die "$src is not in the archive at all (check /etc/apt/sources.list for bookworm-security)"
	version=$newest
	release="${version%%-*}+deb12-amd64"
	cat >&2 <<-WARN
	################################################################
	fetch: WARNING: pinned kernel $pinned_version ($pinned_release)
	fetch: WARNING: is no longer in the archive; falling back to
	fetch: WARNING: $version ($release). Update config.mk.
	################################################################
	WARN
	available "$(image_pkg "$release")" "$version" ||
		die "$(image_pkg "$release") $version is not in the archive"
fi

fetch() { # package version
	local pkg=$1 ver=$2 deb
	deb=$(compgen -G "${pkg}_*.deb" | head -n 1 || true)
	if [ -n "$deb" ] && [ "$(dpkg-deb -f "$deb" Version)" = "$ver" ]; then
		return
	fi
	rm -f "${pkg}_"*.deb
	echo "fetch: $pkg=$ver"
	apt-get download -q "$pkg=$ver" >/dev/null 2>apt.err ||
		die "apt-get download $pkg=$ver failed: $(tail -n 1 apt.err)"
	deb=$(ls "${pkg}_"*.deb)
	{ [ "$(dpkg-deb -f "$deb" Package)" = "$pkg" ] &&
	  [ "$(dpkg-deb -f "$deb" Version)" = "$ver" ]; } ||
		die "$deb is not $pkg $ver"
}

fetch "$src" "$version"
fetch "$(image_pkg "$release")" "$version"
fetch "$(headers_pkg "$release")" "$version"
for pkg in $cd_pkgs; do
	ver=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
	{ [ -n "$ver" ] && [ "$ver" != "(none)" ]; } || die "$pkg is not in the archive"
	fetch "$pkg" "$ver"
done
rm -f apt.err

cat > versions.env.tmp <<-ENV
KERNEL_SOURCE_PKG=$src
KERNEL_DEB_VERSION=$version
KERNEL_RELEASE=$release
CD_PACKAGES="$cd_pkgs"
ENV
mv versions.env.tmp versions.env
echo "fetch: kernel $version ($release) in $cache"
