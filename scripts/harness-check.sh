#!/bin/bash
# Prove that the emulated test harness can fail: run vm-test with
# HARNESS_SELFTEST=1 over one real test and require that it exits
# non-zero, reports the hanging test as a killed time-out and the
# failing test as a failure, and still runs the real test after the
# reboot that the time-out forced.
#
# usage: harness-check.sh MAKE
set -uo pipefail

make=${1:-make}
log=build/vm/harness-check.log
mkdir -p build/vm
echo "harness-check: running vm-test with a failing and a hanging test"
$make -s vm-test HARNESS_SELFTEST=1 VM_TESTS=vm/harness-tests \
	VM_MATRIX=vm/harness-matrix VM=build/vm-harness > "$log" 2>&1
rc=$?

fail=0
expect() { # description, pattern
	if grep -qE "$2" "$log"; then
		echo "harness-check: ok: $1"
	else
		echo "harness-check: FAILED: $1 (no line matching '$2' in $log)"
		fail=1
	fi
}
if [ $rc -ne 0 ]; then
	echo "harness-check: ok: vm-test exited with status $rc"
else
	echo "harness-check: FAILED: vm-test exited 0 with failing tests"
	fail=1
fi
expect "hanging test killed and reported" \
	'^  FAIL harness_hang  \(TIMEOUT after 30 s, killed\)$'
expect "failing test reported" '^  FAIL harness_fail  \(exit status 1\)$'
expect "the run went on after the time-out" '^  PASS vmx_tsc_adjust_test( |$)'
expect "summary counts them" '^1 passed, 2 failed, 0 skipped$'
if [ $fail -ne 0 ]; then
	echo "harness-check: the harness can pass silently; see $log"
	exit 1
fi
