#!/bin/bash
# Prove that the emulated test harness can fail: run vm-test over
# vm/harness-tests, whose harness_* tests each break one rule, and
# require that it exits non-zero, reports each with its own message, and
# still runs the real test at the end after the boots they ended.
#
# usage: harness-check.sh MAKE VMDIR    (VMDIR: where vm-test's logs go)
set -uo pipefail

make=$1 vm=$2
log=$vm/harness-check.log
mkdir -p "$vm"
echo "harness-check: running vm-test over vm/harness-tests"
start=$(date +%s)
$make -s vm-test VM_TESTS=vm/harness-tests VM_MATRIX=vm/harness-matrix \
	VM_SKIPS=vm/harness-skips VM_OUT="$vm/harness" > "$log" 2>&1
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
expect "failing test reported" '^  FAIL harness_fail  \(exit status 1\)$'
expect "a failure in a test's own TAP fails it, whatever its exit status" \
	'^  FAIL harness_tap  \(TAP: not ok 2 harness_tap_bad: .*; TAP: totals pass:1 fail:1 '
expect "a SKIP not pinned, and a pinned SKIP missing, fail the test" \
	'^  FAIL harness_skip  \(unexpected SKIP of harness_skip_new .*; expected SKIP of harness_skip_pinned did not happen'
expect "a kernel warning fails the test" \
	'^  FAIL harness_warn  \(kernel: \[ *[0-9.]+\] WARNING: CPU: 0 PID: 1 at harness-check\)$'
expect "VPIDs left allocated fail the test" \
	'^  FAIL harness_leak  \(vmx_vpids_allocated is [1-9][0-9]* after the test, 0 before it\)$'
expect "hanging test killed and reported" \
	'^  FAIL harness_hang  \(TIMEOUT after 30 s, killed\)$'
expect "a kernel panic fails the test" \
	'^  FAIL harness_panic  \(kernel panic: .*Kernel panic - not syncing: sysrq triggered crash'
expect "a guest silent outside any test is a reported stall" \
	'^  FAIL \(stall in boot [0-9]+\)  \(the guest printed nothing for [0-9]+ s outside any test, after harness/harness_stall'
expect "the run went on after the time-out, the panic and the stall" \
	'^  PASS vmx_tsc_adjust_test( |$)'
expect "summary counts them" '^2 passed, 8 failed, 0 skipped$'
echo "harness-check: $(( $(date +%s) - start )) s"
if [ $fail -ne 0 ]; then
	echo "harness-check: the harness can pass silently; see $log"
	exit 1
fi
