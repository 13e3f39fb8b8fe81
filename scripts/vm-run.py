#!/usr/bin/env python3
"""Run a test plan on the emulated Intel machine (Bochs) and report.

The plan is the cross product of vm/matrix (kvm_intel parameter sets)
and a test list (test name and time limit). Every boot gets a CD whose
/plan lists the tests still to run; the guest's /init runs them in
order, reloading KVM whenever the parameter set changes, and prints TAP
on the serial console. This side watches the serial log: a test that
exceeds its limit, or a guest that panics, is reported and Bochs is
killed; the next boot resumes with the following test.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time

BAD_DMESG = re.compile(r'WARNING:|\bBUG\b|Oops|general protection|Call Trace',
                       re.IGNORECASE)
RESULT = re.compile(r'^(ok|not ok) \d+ (\S+)(.*)$')


def log(msg):
    print(msg, flush=True)


def read_list(path):
    """Lines of a config file, without comments and blank lines."""
    with open(path) as f:
        return [l.split('#', 1)[0].split() for l in f
                if l.split('#', 1)[0].strip()]


def make_plan(matrix, tests, default_limit):
    plan = []
    for row in read_list(matrix):
        name, params = row[0], ' '.join(row[1:])
        for t in read_list(tests):
            limit = int(t[1]) if len(t) > 1 else default_limit
            plan.append((name, params, t[0], limit))
    return plan


class Boot:
    """One run of Bochs over the CD built for the tests left."""

    def __init__(self, args, n, todo):
        self.dir = args.out
        self.n = n
        self.serial = os.path.join(self.dir, f'serial.{n}.log')
        self.bochslog = os.path.join(self.dir, f'bochs.{n}.log')
        plan = os.path.join(self.dir, f'plan.{n}')
        with open(plan, 'w') as f:
            for s, p, t, _ in todo:
                f.write(f'{s};{p};{t}\n')
        iso = os.path.join(self.dir, 'test.iso')
        subprocess.run(args.image + [plan, iso], check=True)
        with open(args.bochsrc) as f:
            rc = f.read()
        rc = (rc.replace('@ISO@', iso).replace('@SERIAL@', self.serial)
              .replace('@LOG@', self.bochslog))
        rcfile = os.path.join(self.dir, f'bochsrc.{n}')
        with open(rcfile, 'w') as f:
            f.write(rc)
        cmds = os.path.join(self.dir, 'bochs.cmds')
        with open(cmds, 'w') as f:
            f.write('c\nquit\n')
        open(self.serial, 'w').close()
        self.out = open(os.path.join(self.dir, f'bochs.{n}.out'), 'w')
        self.proc = subprocess.Popen(
            ['bochs', '-q', '-f', rcfile, '-rc', cmds],
            stdin=subprocess.DEVNULL, stdout=self.out,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.pos = 0
        self.partial = ''

    def lines(self):
        with open(self.serial, errors='replace') as f:
            f.seek(self.pos)
            data = f.read()
            self.pos = f.tell()
        data = self.partial + data
        *done, self.partial = data.split('\n')
        return [l.rstrip('\r') for l in done]

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.out.close()


def run(args):
    os.makedirs(args.out, exist_ok=True)
    todo = make_plan(args.matrix, args.tests, args.limit)
    limits = {f'{s}/{t}': lim for s, _, t, lim in todo}
    results = {}      # set/test -> (status, detail)
    bad_dmesg = []    # (set/test, line)
    totals = {}       # set/test -> a kselftest's "# Totals:" line
    errors = []
    deadline = time.monotonic() + args.wall
    boots = 0
    stalls = 0
    log(f'vm-run: {len(todo)} tests in {len(read_list(args.matrix))} '
        f'parameter sets; logs in {args.out}')

    while todo and not errors:
        if time.monotonic() > deadline:
            errors.append(f'wall-clock limit of {args.wall} s reached')
            break
        boots += 1
        boot = Boot(args, boots, todo)
        booted = False
        current = None
        started = time.monotonic()
        test_start = None
        last_event = started
        last_line = ''
        progress = False
        while True:
            for line in boot.lines():
                last_event = time.monotonic()
                last_line = line
                if line.startswith('#   '):
                    if args.show and current and re.search(args.show, current):
                        log(f'    {current}: {line[4:]}')
                    # A kselftest's own count of its TAP cases.
                    if current and line.startswith('#   # Totals:'):
                        totals[current] = line[len('#   # Totals: '):]
                    continue
                if line.startswith('harness: init started'):
                    if booted:
                        errors.append('the guest rebooted (crash?) during '
                                      f'{current}')
                        break
                    booted = True
                    log(f'[boot {boots}] reached /init after '
                        f'{time.monotonic() - started:.0f} s')
                m = re.match(r'# SET (\S+): (.*)', line)
                if m:
                    log(f'[boot {boots}] parameter set {m.group(1)}: '
                        f'{m.group(2)}')
                m = re.match(r'# RUN (\S+)', line)
                if m:
                    current = m.group(1)
                    test_start = time.monotonic()
                if BAD_DMESG.search(line):
                    bad_dmesg.append((current, line))
                if 'Kernel panic' in line:
                    errors.append(f'kernel panic during {current}: {line}')
                m = RESULT.match(line)
                if m:
                    name = m.group(2)
                    took = time.monotonic() - (test_start or started)
                    if m.group(1) == 'ok':
                        status = 'SKIP' if '# SKIP' in m.group(3) else 'PASS'
                    else:
                        status = 'FAIL'
                    results[name] = (status, m.group(3).strip(' #')
                                     or totals.get(name, ''))
                    todo = [x for x in todo if f'{x[0]}/{x[2]}' != name]
                    progress = True
                    current = None
                    log(f'[boot {boots}] {status:4} {name} ({took:.0f} s)')
            if errors:
                break
            if boot.proc.poll() is not None:
                break
            now = time.monotonic()
            if not booted and now - started > args.boot_timeout:
                errors.append(f'boot {boots} never reached /init in '
                              f'{args.boot_timeout} s')
                break
            if booted and not current and now - last_event > args.stall:
                # Seen, rarely, while loading the modules under Bochs:
                # boot again for the same tests, a bounded number of times.
                stalls += 1
                log(f'[boot {boots}] the guest printed nothing for '
                    f'{args.stall} s outside any test (last: {last_line!r})')
                if stalls > args.stall_retries:
                    errors.append(f'the guest stalled {stalls} times outside '
                                  'any test')
                progress = True
                break
            if current and now - test_start > limits[current]:
                results[current] = ('FAIL', f'TIMEOUT after {limits[current]}'
                                    ' s, killed')
                log(f'[boot {boots}] TIMEOUT {current} '
                    f'(limit {limits[current]} s)')
                todo = [x for x in todo if f'{x[0]}/{x[2]}' != current]
                progress = True
                break
            if now > deadline:
                break
            time.sleep(0.5)
        boot.kill()
        # Whatever the guest printed last.
        for line in boot.lines():
            if BAD_DMESG.search(line) and not line.startswith('#   '):
                bad_dmesg.append((current, line))
        if boot.proc.returncode not in (0, -signal.SIGKILL) and not booted:
            errors.append(f'Bochs exited with status {boot.proc.returncode} '
                          f'before /init; see {boot.bochslog} and '
                          f'{boot.out.name}')
        if booted and not progress and not errors and todo:
            # The guest died before finishing the first test left.
            name = f'{todo[0][0]}/{todo[0][2]}'
            results[name] = ('FAIL', 'no result: the guest stopped')
            todo = todo[1:]

    for s, _, t, _ in todo:
        results.setdefault(f'{s}/{t}', ('FAIL', 'missing result'))
    for name, line in bad_dmesg:
        if name and name in results:
            results[name] = ('FAIL', 'kernel warning in dmesg')

    log('')
    sets = []
    for name in results:
        s = name.split('/')[0]
        if s not in sets:
            sets.append(s)
    for s in sets:
        log(f'parameter set {s}:')
        for name, (status, detail) in results.items():
            if name.split('/')[0] == s:
                log(f'  {status:4} {name.split("/", 1)[1]}'
                    + (f'  ({detail})' if detail else ''))
    if bad_dmesg:
        log('kernel messages that fail the run:')
        for name, line in bad_dmesg:
            log(f'  [{name}] {line}')
    for e in errors:
        log(f'vm-run: error: {e}')
    passed = sum(1 for s, _ in results.values() if s == 'PASS')
    failed = sum(1 for s, _ in results.values() if s == 'FAIL')
    skipped = sum(1 for s, _ in results.values() if s == 'SKIP')
    log(f'{boots} boot(s); serial logs: {args.out}/serial.N.log')
    log(f'{passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed or errors or bad_dmesg else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--matrix', required=True)
    ap.add_argument('--tests', required=True)
    ap.add_argument('--bochsrc', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--limit', type=int, default=300,
                    help='default per-test time limit, seconds')
    ap.add_argument('--boot-timeout', type=int, default=300)
    ap.add_argument('--stall', type=int, default=90,
                    help='limit for silence outside any test, seconds')
    ap.add_argument('--stall-retries', type=int, default=2)
    ap.add_argument('--show', help='print the output of the tests whose '
                    'set/name matches this regular expression')
    ap.add_argument('--wall', type=int, default=3000,
                    help='limit for the whole run, seconds')
    ap.add_argument('image', nargs='+',
                    help='command that builds the CD: IMAGE... PLAN ISO')
    args = ap.parse_args()
    sys.exit(run(args))


if __name__ == '__main__':
    main()
