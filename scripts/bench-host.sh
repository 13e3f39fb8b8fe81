#!/bin/bash
# Run nested_vpid_bench natively, on a real Intel host where 'make
# install' put our modules, and tabulate it like 'make bench'.
#
# usage: bench-host.sh BUILD BENCH OUTDIR REGISTRY [BENCH ARGUMENTS...]
# (BUILD: the directory of the kernels built, to name them when refusing)
#
# By default it runs once, in the mode kvm_intel is loaded with now. With
# BENCH_RELOAD=1 (root, no VM running) it reloads kvm_intel with every
# parameter set of REGISTRY's bench suite (vm/tests.cfg) in turn, as
# 'make bench' does under the emulator, and reloads it with no
# parameters at the end.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
build=$1 bench=$2 out=$3 registry=$4
shift 4
args=("$@")
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
where="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r), native"

run_one() { # set name
	echo "bench-host: running set $1"
	echo "# RUN $1/nested_vpid_bench" >> "$log"
	"$bench" "${args[@]}" 2>&1 | sed -u 's/^/#   /' | tee -a "$log" |
		sed -u -n 's/^#   \(BENCH .*\)/  \1/p' ||
		echo "bench-host: nested_vpid_bench failed in set $1; see $log"
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
