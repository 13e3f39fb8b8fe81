#!/bin/bash
# Run make in the kernel tree as Debian built the kernel: with the
# compiler its config names (CONFIG_CC_VERSION_TEXT), the LOCALVERSION of
# its release, and, for a kernel of another Debian release than the
# machine's, in a chroot of that release (KERNEL_BUILD_IN in versions.env,
# scripts/chroot.sh).
#
# usage: kmake.sh CACHE TREE MAKE-ARGUMENTS...
#        kmake.sh CACHE TREE --cc-version   that compiler's version line
set -euo pipefail

cache=$(realpath "$1") tree=$2
shift 2
die() { echo "kmake: error: $*" >&2; exit 1; }
# shellcheck source=/dev/null
. "$cache/versions.env"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
config=$(image_file "$cache/../image" "$KERNEL_RELEASE" config) ||
	die "no config of $KERNEL_RELEASE unpacked; run 'make modules'"
cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$config")
build_env=()
[ "$KERNEL_BUILD_IN" = host ] ||
	build_env=(env DEBIAN_MIRROR="$DEBIAN_MIRROR" scripts/chroot.sh "$KERNEL_BUILD_IN" run)
if [ "${1:-}" = --cc-version ]; then
	"${build_env[@]}" "${cc_text%% *}" --version | sed -n 1p
	exit
fi
exec "${build_env[@]}" make -C "$tree" CC="${cc_text%% *}" \
	LOCALVERSION="+${KERNEL_RELEASE#*+}" "$@"
