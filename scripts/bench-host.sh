#!/bin/bash
# Run nested_vpid_bench natively, on a real Intel host where 'make
# install' put our modules, and tabulate it like 'make bench'; then the
# context-switch experiment of 'make l2-linux': QEMU boots the same L1
# image as under the emulator (scripts/l1-image.sh), whose KVM boots an
# L2 Linux that runs vm/l2/ctxsw.c for each N:S of L2_RUNS (the original
# measurement's 8:16 and 8:64, and 2:0 ... by default), the table giving
# the latency per context switch, in µs, by mode.
#
# usage: bench-host.sh BUILD BENCH OUTDIR REGISTRY CACHE TREE TESTDIR
#                      [BENCH ARGUMENTS...]
# (BUILD: the directory of the kernels built, to name them when refusing;
# CACHE, TREE, TESTDIR: the kernel's, for L1's image)
#
# By default it runs once, in the mode kvm_intel is loaded with now. With
# BENCH_RELOAD=1 (root, no VM running) it reloads kvm_intel with every
# parameter set of REGISTRY's bench suite (vm/tests.cfg) in turn, as
# 'make bench' does under the emulator, and reloads it with no
# parameters at the end.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
build=$1 bench=$2 out=$3 registry=$4 cache=$5 tree=$6 testdir=$7
shift 7
args=("$@")
L2_RUNS=${L2_RUNS:-2:0,8:0,2:16,8:16,2:64,8:64}
die() { echo "bench-host: error: $*" >&2; exit 1; }

[ -x "$bench" ] || die "$bench is not built; run 'make selftests'"
grep -qw vmx /proc/cpuinfo || die "this CPU has no VMX"
[ -e /dev/kvm ] || die "/dev/kvm missing: kvm_intel is not loaded"
built=$(built_kernels "$build" | cut -d' ' -f2 | paste -sd, | sed 's/,/, /g')
[ -r /sys/module/kvm_intel/parameters/nested_vpid_tags ] ||
	die "kvm_intel has no nested_vpid_tags parameter: our modules are not" \
	    "loaded in $(uname -r) (modules built for: ${built:-none};" \
	    "make install, then modprobe -r kvm_intel kvm && modprobe kvm_intel)"
[ "$(cat /sys/module/kvm_intel/parameters/nested)" = Y ] ||
	die "kvm_intel is loaded with nested=N (make install sets nested=1 from the next load)"

mkdir -p "$out"
log=$out/bench.log
: > "$log"

# L1's image: its kernel and initramfs (with QEMU and L2's) in $out/l1,
# from a root that has busybox, as the emulated machine's.
root=$out/root
rm -rf "$root"
mkdir -p "$root/bin" "$out/pkgs"
dpkg-deb -x "$(compgen -G "$cache/busybox-static_*.deb")" "$out/pkgs" ||
	die "no busybox-static in $cache"
cp "$(compgen -G "$out/pkgs/bin/busybox" || compgen -G "$out/pkgs/usr/bin/busybox")" \
	"$root/bin/busybox"
"$(dirname "$0")/l1-image.sh" "$cache" "$tree" "$testdir" "$root" l2
where="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r), native"

run_one() { # set name
	echo "bench-host: running set $1"
	echo "# RUN $1/nested_vpid_bench_host" >> "$log"
	MODE=$1 L1=$root/l1 TLBSTAT=none L1LINUX=vm/guest/nested_vpid_l1_linux \
		L2LINUX=vm/guest/nested_vpid_l2_linux \
		vm/guest/nested_vpid_bench_host "$L2_RUNS" "$bench" "${args[@]}" 2>&1 |
		sed -u 's/^/#   /' | tee -a "$log" |
		sed -u -n 's/^#   \(\(BENCH\|L2LINUX\) .*\)/  \1/p' ||
		echo "bench-host: set $1 failed; see $log"
}

if [ "${BENCH_RELOAD:-}" = 1 ]; then
	[ "$(id -u)" -eq 0 ] || die "BENCH_RELOAD=1 reloads kvm_intel: run as root"
	users=$(awk '$1 == "kvm_intel" { print $3 }' /proc/modules)
	[ "${users:-0}" -eq 0 ] || die "kvm_intel is in use (a VM is running?)"
	while read -r set cpus params; do
		# A set of the 2-CPU emulated machine repeats another's
		# kvm_intel parameters.
		[ "$cpus" = 1 ] || continue
		echo "bench-host: kvm_intel $params"
		modprobe -r kvm_intel
		# shellcheck disable=SC2086
		modprobe kvm_intel nested=1 $params
		run_one "$set"
	done < <("$(dirname "$0")/vmrun/registry.py" "$registry" sets bench)
	modprobe -r kvm_intel
	modprobe kvm_intel
else
	mode=$(cat /sys/module/kvm_intel/parameters/nested_vpid_tags)
	[ "$(cat /sys/module/kvm_intel/parameters/nested_vpid)" = N ] && mode=novpid ||
		mode=tags$mode
	[ "$(cat /sys/module/kvm_intel/parameters/ept)" = N ] && mode=$mode-ept0
	run_one "$mode"
fi

exec "$(dirname "$0")/bench-report.py" --out "$out" --where "$where" "$log"
