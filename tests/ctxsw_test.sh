#!/bin/sh
# ctxsw_test.sh CTXSW: the context-switch benchmark (vm/l2/ctxsw.c) checks
# its own ring: right rings pass and print their line; a process that
# skips its working set, or passes the token past the next one, fails the
# run, as do bad arguments.  TAP.
ctxsw=$1
n=0
fail=0

# check NAME WANT_RC GREP_PATTERN ARGS...: the run's exit status is WANT_RC
# and its output (stdout and stderr) matches GREP_PATTERN.
check() {
	name=$1 want=$2 pattern=$3
	shift 3
	n=$((n + 1))
	out=$("$ctxsw" "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s\n' "$out" | grep -Eq "$pattern"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name # exit $rc, want $want: $out"
		fail=1
	fi
}

echo "TAP version 13"
echo "1..6"
line='^CTXSW n=%d size_kb=%d rounds=%d ring_ns=[0-9]+ overhead_ns=[0-9]+ per_switch_ns=-?[0-9]+$'
# shellcheck disable=SC2059
check "two processes, no working set" 0 "$(printf "$line" 2 0 200)" \
	-n 2 -s 0 -r 200
# shellcheck disable=SC2059
check "eight processes, 64 KiB each" 0 "$(printf "$line" 8 64 20)" \
	-n 8 -s 64 -r 20
check "a process skips its working set" 1 "8 hops, sum .*expected 8 hops" \
	-n 8 -s 16 -r 5 -x 5
check "process 0 skips its working set" 1 "expected 8 hops" \
	-n 8 -s 16 -r 5 -x 0
check "a process passes the token past the next" 1 \
	"7 hops, .*expected 8 hops" -n 8 -s 16 -r 5 -j 3
check "bad arguments" 2 "^ctxsw: -n 2" -n 1
exit $fail
