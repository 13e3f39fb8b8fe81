#!/bin/bash
# Install the Debian packages the build and the emulated test machine need.
# Idempotent: installs only what is missing; needs root for that.
set -euo pipefail

pkgs=(build-essential bc flex bison libelf-dev libssl-dev libcap-dev cpio debootstrap
      xz-utils zstd kmod rsync dwarves python3 xorriso bochsbios
      vgabios qemu-system-x86 sparse clang llvm libclang-rt-14-dev
      gnuplot-nox busybox-static
      git ca-certificates shellcheck flake8 lintian)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; run as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
