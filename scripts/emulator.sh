#!/bin/bash
# Build the emulated Intel machine: Bochs from Debian's source package,
# with our patches (patches/bochs/, a git format-patch series applied in
# order), into OUT/bochs. It is rebuilt only when the pin, the
# configuration or a patch changes: OUT/stamp records what was built.
#
# usage: emulator.sh OUT
# with config.mk's EMULATOR_SUITE, EMULATOR_VERSION, EMULATOR_SHA256
# ("sha256 file" for each tarball), EMULATOR_PATCHES, EMULATOR_CONFIGURE
# and DEBIAN_MIRROR in the environment (make emulator passes them).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
out=$1
die() { echo "emulator: error: $*" >&2; exit 1; }

for v in EMULATOR_SUITE EMULATOR_VERSION EMULATOR_SHA256 EMULATOR_PATCHES \
	 EMULATOR_CONFIGURE DEBIAN_MIRROR; do
	[ -n "${!v:-}" ] || die "$v is not set: run 'make emulator'"
done
patches=$(realpath "$EMULATOR_PATCHES")
# shellcheck disable=SC2086 # "sha256 file" pairs, one per line
sums=$(printf '%s  %s\n' $EMULATOR_SHA256)
mkdir -p "$out"
out=$(realpath "$out")

stamp="$EMULATOR_VERSION $sums $EMULATOR_CONFIGURE
$(cat "$patches"/*.patch | sha256sum)"
if [ -x "$out/bochs" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "emulator: Bochs $EMULATOR_VERSION is built ($out/bochs)"
	exit 0
fi
rm -f "$out/stamp"

# The source through an apt configuration of our own. Debian does not
# serve the .dsc of this version, so apt-get source fails after fetching
# the tarballs: the pinned hashes, not apt, vouch for them.
apt=$out/apt src=$out/src
mkdir -p "$apt/lists/partial" "$apt/archives/partial"
echo "deb-src $DEBIAN_MIRROR $EMULATOR_SUITE main" > "$apt/sources.list"
if ! (cd "$out" && echo "$sums" | sha256sum --quiet -c 2>/dev/null); then
	apt_in "$apt" apt-get update -qq >"$apt/update.log" 2>&1 ||
		die "apt-get update for $EMULATOR_SUITE failed: $(tail -n 1 "$apt/update.log")"
	echo "emulator: fetching bochs $EMULATOR_VERSION from $EMULATOR_SUITE"
	(cd "$out" && apt_in "$apt" apt-get source -q --download-only \
		"bochs=$EMULATOR_VERSION" >"$apt/source.log" 2>&1) || true
	(cd "$out" && echo "$sums" | sha256sum --quiet -c) ||
		die "bochs $EMULATOR_VERSION: tarballs missing or not the pinned ones ($apt/source.log)"
fi

rm -rf "$src"
mkdir -p "$src"
orig=$(echo "$sums" | awk '/orig.tar/ {print $2}')
tar -C "$src" --strip-components=1 -xf "$out/$orig"
for p in "$patches"/*.patch; do
	patch -d "$src" -p1 -s --no-backup-if-mismatch < "$p" ||
		die "$(basename "$p") does not apply"
done

set -- "$patches"/*.patch
echo "emulator: building Bochs $EMULATOR_VERSION with $# patches"
start=$SECONDS
# shellcheck disable=SC2086 # the configure options are words
(cd "$src" && ./configure $EMULATOR_CONFIGURE && make -j"$(nproc)") \
	>"$out/build.log" 2>&1 || die "the build failed: see $out/build.log"
cp "$src/bochs" "$out/bochs"
echo "$stamp" > "$out/stamp"
echo "emulator: built $out/bochs in $((SECONDS - start)) s"
