#!/usr/bin/env python3
"""make check: every stage that proves the project, run side by side.

What make check (and make check-full) runs for a kernel is its _CHECK
(and _CHECK_FULL) in config.mk, which make passes here; stages() makes
the stages of them.  Each is a make invocation for one kernel that
writes its own log, build/check/NAME.log.  A stage starts once the
stages it needs have passed; the emulator's build and the kernel's
build stage come first, so that the others never build (VM_DEPS= and
make -o), and two of them never write the same files.

Two things run at a time, one per core: an emulated machine (Bochs uses
one core) or a build (make -j2).  While both kinds have a stage ready,
one of each runs, so that builds go on beside the long emulator runs; a
matrix is a stage per machine (vm-run --cpus), one boot each.  A stage
that fails does not stop the others: every stage whose needs passed
runs, and the summary names each failure with its log.

The summary counts each test of the emulated runs (their results.json)
and each other stage as one test, and ends with the plain line
"check: N passed, N failed, N skipped".
"""

import argparse
import json
import os
import subprocess
import sys
import time

from vmrun.registry import Registry

OUT = 'build/check'
BUILT = ['-o', 'deps', '-o', 'fetch', '-o', 'tree', '-o', 'modules',
         '-o', 'selftests', '-o', 'emulator', 'VM_DEPS=']
# The emulator's build, which every stage that boots it needs.
EMULATOR = 'build emulator'


class Stage:
    """NAME runs 'make KERNEL=kernel TARGETS...' after the stages NEEDS.

    emulator: it boots the emulated machine (else it builds);
    results: its vm-run output directory (build/KERNEL/vm/...), whose
    results.json the summary reads; built: the kernel is built already.
    """

    def __init__(self, name, kernel, targets, needs=(), emulator=False,
                 results=None, built=True):
        self.name, self.needs = name, list(needs)
        self.emulator, self.results = emulator, results
        self.cmd = (['make', '-s', f'KERNEL={kernel}'] +
                    (BUILT if built else []) + targets)
        self.log = os.path.join(OUT, name.replace(' ', '-') + '.log')
        self.state = 'waiting'  # running, passed, failed, not run
        self.why = ''
        self.proc = self.started = self.seconds = None

    def json(self):
        if not self.results:
            return None
        path = os.path.join(self.results, 'results.json')
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def build(kernel, needs=()):
    return Stage(f'build {kernel}', kernel, ['fetch', 'modules', 'selftests'],
                 needs, built=False)


def machines():
    """The CPU counts of the machines of vm-test's sets (the registry's
    suite test)."""
    reg = Registry('vm/tests.cfg')
    return sorted({reg.sets[name].cpus for name in reg.suites['test']})


def matrix(kernel):
    """vm-test of KERNEL as one stage per machine: each boots once (a
    boot costs about a minute of a core, as much as a set's tests)."""
    return [Stage(f'vm-test {kernel} {n}-CPU', kernel,
                  ['vm-test', f'VM_CPUS={n}', 'VM_JOBS=1',
                   f'VM_OUT=build/{kernel}/vm/test-{n}cpu'],
                  [f'build {kernel}', EMULATOR], emulator=True,
                  results=f'build/{kernel}/vm/test-{n}cpu')
            for n in machines()]


# The kinds of stage a kernel's _CHECK and _CHECK_FULL in config.mk may
# name: make targets, and what they need to know.  In order of priority:
# within each kind (emulator or build), the first stage ready starts.
EMULATOR_KINDS = {
    'vm-test': None,    # matrix()
    # make check's short run of Linux KVM as L1.
    'l1-linux': (['l1-linux', 'L1_SUITE=l1-linux-short', 'VM_JOBS=1'],
                 'vm/l1-linux-short'),
    'harness-check': (['harness-check'], None),
    # The upstream tests and tlb_model_test on Debian's own modules.
    'stock': (['vm-stock', 'VM_JOBS=1'], 'vm/stock'),
    'run': (['run', 'VM_JOBS=1'], 'vm/run'),
}
# deb-test first: the two run one after the other (build/deb), about 9
# minutes each, the longest chain of builds.
BUILD_KINDS = ['deb-test', 'unit', 'fuzz', 'coverage', 'lint',
               'series-sync', 'series-check']


def stages(kernels, full):
    """make check's stages for KERNELS: [(kernel, build_in, check,
    check_full)], config.mk's fields, which make passes."""
    out = [Stage(EMULATOR, kernels[0][0], ['emulator'], built=False)]
    last_in = {}        # build_in -> the last build made there
    for k, build_in, _, _ in kernels:
        # Builds in the same Debian chroot one after the other: the
        # first makes it.
        needs = [last_in[build_in]] if build_in in last_in else []
        out.append(build(k, needs))
        if build_in != 'host':
            last_in[build_in] = f'build {k}'
    wanted = [(k, kind) for k, _, check, more in kernels
              for kind in check + (more if full else [])]
    unknown = [kind for _, kind in wanted
               if kind not in EMULATOR_KINDS and kind not in BUILD_KINDS]
    if unknown:
        raise SystemExit(f'check: no stage kind {unknown[0]}; one of '
                         f'{" ".join(list(EMULATOR_KINDS) + BUILD_KINDS)}')
    for kind, spec in EMULATOR_KINDS.items():
        for k in [k for k, w in wanted if w == kind]:
            if spec is None:
                out += matrix(k)
                continue
            targets, results = spec
            out.append(Stage(f'{kind} {k}', k, targets,
                             [f'build {k}', EMULATOR], emulator=True,
                             results=results and f'build/{k}/{results}'))
    last_deb = []       # build/deb is shared: one deb-test at a time
    for kind in BUILD_KINDS:
        for k in [k for k, w in wanted if w == kind]:
            needs = [f'build {k}'] + (last_deb if kind == 'deb-test' else [])
            out.append(Stage(f'{kind} {k}', k, [kind], needs))
            if kind == 'deb-test':
                last_deb = [f'deb-test {k}']
    return out


def fmt_time(s):
    return f'{int(s) // 60}:{int(s) % 60:02d}'


def last_line(path):
    try:
        with open(path, 'rb') as f:
            f.seek(max(0, os.path.getsize(path) - 400))
            lines = f.read().decode(errors='replace').strip().splitlines()
            return lines[-1][:100] if lines else ''
    except OSError:
        return ''


class Scheduler:
    def __init__(self, stages, cores):
        self.stages, self.cores = stages, cores
        self.by_name = {s.name: s for s in stages}
        self.start = time.monotonic()

    def say(self, msg):
        print(f'check {fmt_time(time.monotonic() - self.start)} {msg}',
              flush=True)

    def ready(self, s):
        if s.state != 'waiting':
            return False
        return all(self.by_name[n].state == 'passed' for n in s.needs
                   if n in self.by_name)

    def skip_blocked(self):
        for s in self.stages:
            if s.state != 'waiting':
                continue
            bad = [n for n in s.needs if n in self.by_name and
                   self.by_name[n].state in ('failed', 'not run')]
            if bad:
                s.state, s.why = 'not run', f'{bad[0]} did not pass'
                self.say(f'NOT RUN {s.name} ({s.why})')

    def pick(self, running):
        """The next stage to start: one of the kind that is not running
        if that kind has one ready, else the first ready."""
        ready = [s for s in self.stages if self.ready(s)]
        if not ready:
            return None
        emulators = sum(1 for s in running if s.emulator)
        want_emulator = emulators < len(running) or not running
        for s in ready:
            if s.emulator == want_emulator:
                return s
        return ready[0]

    def launch(self, s):
        os.makedirs(OUT, exist_ok=True)
        if s.results:   # never read an earlier run's
            try:
                os.remove(os.path.join(s.results, 'results.json'))
            except FileNotFoundError:
                pass
        s.state, s.started = 'running', time.monotonic()
        s.logf = open(s.log, 'w')
        s.logf.write('$ ' + ' '.join(s.cmd) + '\n')
        s.logf.flush()
        s.proc = subprocess.Popen(s.cmd, stdout=s.logf,
                                  stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        self.say(f'START {s.name}  (log: {s.log})')

    def reap(self, s):
        rc = s.proc.poll()
        if rc is None:
            return False
        s.logf.close()
        s.seconds = time.monotonic() - s.started
        s.state = 'passed' if rc == 0 else 'failed'
        s.why = '' if rc == 0 else f'exit status {rc}'
        self.say(f'{"PASS " if rc == 0 else "FAIL "} {s.name} '
                 f'({fmt_time(s.seconds)})')
        return True

    def status(self, running):
        done = sum(1 for s in self.stages if s.state in
                   ('passed', 'failed', 'not run'))
        self.say(f'{done}/{len(self.stages)} stages done; running:')
        for s in running:
            print(f'    {s.name} ({fmt_time(time.monotonic() - s.started)}):'
                  f' {last_line(s.log)}', flush=True)

    def run(self, status_every):
        running = []
        last_status = time.monotonic()
        while True:
            running = [s for s in running if not self.reap(s)]
            self.skip_blocked()
            while len(running) < self.cores:
                s = self.pick(running)
                if s is None:
                    break
                self.launch(s)
                running.append(s)
            if not running:
                break
            if time.monotonic() - last_status > status_every:
                self.status(running)
                last_status = time.monotonic()
            time.sleep(1)


def summary(stages, total):
    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    emul = 0
    print('\ncheck: stages (duration, verdict, log)')
    failures = []
    for s in stages:
        doc = s.json()
        line = (f'  {s.state.upper():7} {s.name:28} '
                f'{fmt_time(s.seconds) if s.seconds else "-":>6}  '
                f'{s.log if s.started else ""}')
        if doc:
            sm = doc['summary']
            line += (f'  [{sm["pass"]} passed, {sm["fail"]} failed, '
                     f'{sm["skip"]} skipped'
                     + (f', {sm["emul"]} failed by the emulated CPU'
                        if sm['emul'] else '') + ']')
            counts['passed'] += sm['pass']
            counts['failed'] += sm['fail']
            counts['skipped'] += sm['skip']
            emul += sm['emul']
            for e in doc['results']:
                if e['verdict'] == 'FAIL':
                    failures.append(f'{s.name}: {e["name"]}: '
                                    + '; '.join(e['reasons']))
            for err in doc['errors']:
                failures.append(f'{s.name}: {err}')
            if s.state != 'passed' and not sm['fail'] and not doc['errors']:
                counts['failed'] += 1
                failures.append(f'{s.name}: {s.why}; see {s.log}')
        else:
            counts['passed' if s.state == 'passed' else 'failed'] += 1
            if s.state == 'failed':
                failures.append(f'{s.name}: {s.why}; see {s.log}')
            elif s.state != 'passed':
                failures.append(f'{s.name}: not run: {s.why}')
        print(line)
    if failures:
        print('\ncheck: what failed')
        for f in failures:
            print(f'  {f}')
    if emul:
        print(f'\ncheck: {emul} failed by the emulated CPU (known faults, '
              'vm/tests.cfg; they do not fail the check)')
    print(f'\ncheck: {fmt_time(total)} in all, on {os.cpu_count()} cores')
    print(f'check: {counts["passed"]} passed, {counts["failed"]} failed, '
          f'{counts["skipped"]} skipped')
    failed = counts['failed'] or any(s.state != 'passed' for s in stages)
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('kernels', nargs='+', metavar='KERNEL:BUILD_IN:CHECK:FULL',
                    help="a kernel of config.mk, where it is built, and "
                    "its _CHECK and _CHECK_FULL (stage kinds, comma "
                    "between them)")
    ap.add_argument('--full', action='store_true',
                    help="make check-full: also the kernels' _CHECK_FULL")
    ap.add_argument('--only', help='the stages whose name contains this '
                    '(and the stages they need)')
    ap.add_argument('--status', type=int, default=60,
                    help='seconds between two status reports')
    args = ap.parse_args()
    kernels = []
    for arg in args.kernels:
        k, build_in, check, more = arg.split(':')
        kernels.append((k, build_in, [w for w in check.split(',') if w],
                        [w for w in more.split(',') if w]))
    todo = stages(kernels, args.full)
    if args.only:
        names = {s.name: s for s in todo}
        keep = [s.name for s in todo if args.only in s.name]
        for name in keep:
            keep += [n for n in names[name].needs if n not in keep]
        todo = [s for s in todo if s.name in keep]
    sched = Scheduler(todo, os.cpu_count() or 2)
    sched.run(args.status)
    return summary(todo, time.monotonic() - sched.start)


if __name__ == '__main__':
    sys.exit(main())
