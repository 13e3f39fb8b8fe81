#!/usr/bin/env python3
"""Prove that the emulated test harness can fail where only a real boot
can show it: run the suite harness of vm/tests.cfg, whose harness_*
tests each break one rule, and require from its results.json that each
is failed with its own reason, and that the run went on after the boots
they ended.

What the serial log says and how it is judged (TAP, SKIPs, kernel
warnings, emulator faults) is proven without a boot, on recorded logs:
tests/vmrun (make unit).  Here: /init's check of the VPIDs a test left
behind, the host's time-out of a hanging test, a kernel panic, a guest
silent outside any test, and the boot that resumes after each.

usage: harness-check.py MAKE VMDIR    (VMDIR: where vm-test's logs go)
"""

import json
import os
import re
import subprocess
import sys
import time

# The stall limit here: a stall costs the emulator that long.
STALL = 30
# name (a test, or a failure outside any test) -> (verdict, reason regex)
EXPECTED = [
    ('harness_leak', 'FAIL',
     r'vmx_vpids_allocated is [1-9][0-9]* after the test, 0 before it'),
    ('harness_hang', 'FAIL', r'TIMEOUT after 30 s, killed'),
    ('harness_panic', 'FAIL',
     r'kernel panic: .*Kernel panic - not syncing: sysrq triggered crash'),
    ('(stall in boot N)', 'FAIL',
     rf'the guest printed nothing for {STALL} s outside any test, '
     r'after harness/harness_stall'),
    ('harness_stall', 'PASS', None),    # its own "ok" line, then silence
    ('harness_resume', 'PASS', None),    # vmx_tsc_adjust_test
]
# The time-out, the panic and the stall each end a boot; the real test
# runs in the fourth.
BOOTS = 4


def main():
    make, vm = sys.argv[1], sys.argv[2]
    out = os.path.join(vm, 'harness')
    log = os.path.join(vm, 'harness-check.log')
    os.makedirs(vm, exist_ok=True)
    print('harness-check: running the suite harness', flush=True)
    start = time.monotonic()
    with open(log, 'w') as f:
        rc = subprocess.run(
            make.split() + ['-s', 'vm-harness', f'VM_STALL={STALL}',
                            'VM_JOBS=1', f'VM_OUT={out}'],
            stdout=f, stderr=subprocess.STDOUT).returncode
    failed = []

    def check(ok, what):
        print(f'harness-check: {"ok" if ok else "FAILED"}: {what}')
        if not ok:
            failed.append(what)

    check(rc != 0, f'vm-harness exited with status {rc}, not 0')
    try:
        with open(os.path.join(out, 'results.json')) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        check(False, f'results.json: {e}')
        doc = {'results': [], 'boots': [], 'errors': []}
    got = {re.sub(r'boot \d+', 'boot N', e['test']): e
           for e in doc['results']}
    for test, verdict, reason in EXPECTED:
        e = got.pop(test, None)
        if e is None:
            check(False, f'{test}: no result')
            continue
        why = '; '.join(e['reasons'])
        check(e['verdict'] == verdict and
              (reason is None or re.search(reason, why)),
              f'{test}: {e["verdict"]} ({why or "no reason"}), '
              f'expected {verdict}' + (f' /{reason}/' if reason else ''))
    check(not got, 'no other result: ' + (', '.join(got) or 'none'))
    check(len(doc['boots']) == BOOTS and not doc['errors'],
          f'{len(doc["boots"])} boots (expected {BOOTS}), errors: '
          f'{doc["errors"] or "none"}')
    print(f'harness-check: {time.monotonic() - start:.0f} s; '
          f'log: {log}, results: {out}/results.json')
    if failed:
        print('harness-check: the harness can pass silently; see ' + log)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
