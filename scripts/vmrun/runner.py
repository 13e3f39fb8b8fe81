"""Boot the emulated machine until every test of the plan has a verdict.

Every boot gets a CD whose /plan lists the tests still to run on one
machine (the CPU count of the first test left's parameter set). A test
that passes its limit, a kernel panic, a reboot or a stall ends the
boot (Bochs is killed); the next boot resumes with the following test.
With --jobs N the parameter sets are split into N lanes (lanes()), each
booting its own emulated machine at the same time as the others; a set's
tests, and so its verdicts, do not depend on the lane it runs in.
"""

import itertools
import re
import threading
import time

from .emulator import EmulatorFaults
from .machine import Boot
from .plan import make_plan
from .registry import Registry
from .results import Results, log
from .serial import Serial
from .skips import Skips
from .watchdog import Watchdog

# Seconds to read the console after the end of a boot is decided: what
# the kernel still prints, e.g. a panic's trace.
GRACE = 3


class BootRun:
    """One boot: serial events into verdicts, and the time limits."""

    def __init__(self, args, n, lane, todo, results):
        self.args, self.n, self.results = args, n, results
        self.tests = {t.name: t for t in todo}     # in plan order
        self.serial = Serial()
        self.watch = Watchdog(args.boot_timeout, args.stall,
                              {t.name: t.limit for t in todo})
        self.kernel = {}        # where -> first kernel line that fails it
        self.console = []       # console kernel lines no dmesg repeated
        self.early = 0          # kernel lines that failed before /init
        self.victim = None      # the test whose failure ended the boot
        self.set = todo[0].set
        self.last_line = ''
        self.last_done = None   # the test with the last result
        self.done = set()       # tests with a verdict from this boot
        self.ended = False
        self.info = {'boot': n, 'lane': lane, 'cpus': todo[0].cpus,
                     'megs': todo[0].megs,
                     'sets': sorted({t.set for t in todo}),
                     'init_seconds': None, 'seconds': None}
        self.boot = Boot(args, n, lane, todo)
        self.info['serial'] = self.boot.serial

    def say(self, msg):
        log(f'[boot {self.n}] {msg}')

    def next_test(self):
        """The test /init runs or is about to run: its "# RUN" line may
        have been lost with the tty's buffer."""
        return next((n for n in self.tests if n not in self.done), None)

    def fail(self, name, reason):
        """A verdict of FAIL for a test the guest did not finish."""
        name = name or self.next_test()
        if name is None:
            self.results.outside(self.set, f'boot {self.n}', reason,
                                 boot=self.n)
            return
        if name in self.done:
            return      # e.g. the end of a panic, after its first line
        reasons = [reason] + self._kernel_reasons(name)
        self.results.record(name, 'FAIL', reasons, boot=self.n,
                            seconds=self.watch.took()
                            if name == self.serial.current else None)
        self.say(f'FAIL {name}: {reason}')
        self.done.add(name)
        self.victim = name

    def _kernel_reasons(self, where):
        line = self.kernel.pop(where, None)
        return [f'kernel: {line}'] if line else []

    def event(self, ev):
        kind = ev[0]
        if kind == 'init':
            self.info['init_seconds'] = round(self.watch.took())
            self.say(f'reached /init after {self.watch.took():.0f} s '
                     f'({self.boot.cpus} CPU machine)')
            if self.early:
                # Our modules are not loaded yet: the emulated CPU's.
                self.say(f'{self.early} kernel warning lines before /init '
                         '(the emulated CPU; not judged)')
        elif kind == 'reboot' and not self.ended:
            self.fail(self.serial.current,
                      'the guest rebooted (crash?) during the test')
            self.ended = True
        elif kind == 'set':
            self.set = ev[1]
            self.say(f'parameter set {ev[1]}: {ev[2]}')
        elif kind == 'run':
            self.watch.test_started()
        elif kind == 'output':
            if self.args.show and ev[1] and re.search(self.args.show, ev[1]):
                log(f'    {ev[1]}: {ev[2]}')
        elif kind == 'early':
            self.early += 1
        elif kind == 'console':
            self.console.append(ev[1])
        elif kind == 'kernel':
            if ev[2] in self.console:
                self.console.remove(ev[2])
            self.kernel_line(ev[1] or f'{self.set}/(between tests)', ev[2])
        elif kind == 'panic':
            self.fail(ev[1], f'kernel panic: {ev[2]}')
            self.ended = True
        elif kind == 'result':
            self.result(*ev[1:])

    def kernel_line(self, where, line):
        self.results.kernel.append((where, line))
        self.kernel.setdefault(where, line)

    def result(self, name, status, why, output):
        test = self.tests.get(name)
        if test is None or name in self.done:
            self.say(f'ignoring a result for {name}: not in the plan or '
                     'judged already')
            return
        self.results.finished(test, status, why, output,
                              self._kernel_reasons(name),
                              seconds=self.watch.took(), boot=self.n)
        self.done.add(name)
        self.last_done = name
        status = self.results.verdicts[name]['verdict']
        self.say(f'{status:4} {name} ({self.watch.took():.0f} s)')

    def limit(self):
        """Apply the time limits; True when this boot must end."""
        hit = self.watch.expired(self.serial.booted, self.serial.current)
        if hit is None:
            return False
        kind, secs = hit
        if kind == 'boot':
            self.results.errors.append(f'boot {self.n} never reached /init '
                                       f'in {secs} s')
        elif kind == 'stall':
            after = self.last_done or '/init started'
            self.results.outside(
                self.set, f'stall in boot {self.n}',
                f'the guest printed nothing for {secs} s outside any test, '
                f'after {after}; last line: {self.last_line!r}', boot=self.n)
            self.say(f'STALL: nothing for {secs} s outside any test')
        else:
            name = self.serial.current
            self.say(f'TIMEOUT {name} (limit {secs} s)')
            self.fail(name, f'TIMEOUT after {secs} s, killed')
        return True

    def feed(self):
        for line in self.boot.lines():
            self.watch.saw_line()
            self.last_line = line
            for ev in self.serial.feed(line):
                self.event(ev)

    def run(self, deadline):
        start = time.monotonic()
        end = deadline
        while self.boot.running() and time.monotonic() < end:
            self.feed()
            if end == deadline and (self.ended or self.limit()):
                self.ended = True
                end = time.monotonic() + GRACE
            time.sleep(0.5)
        self.boot.kill()
        self.feed()     # whatever the guest printed last
        self.finish()
        self.info['seconds'] = round(time.monotonic() - start)
        self.results.boots.append(self.info)

    def finish(self):
        if self.boot.died_early() and not self.serial.booted:
            self.results.errors.append(
                f'Bochs exited with status {self.boot.proc.returncode} before'
                f' /init; see {self.boot.bochslog} and {self.boot.bochsout}')
        elif self.serial.current and self.serial.current not in self.done:
            self.fail(self.serial.current, 'no result: the guest stopped')
        # What the console showed of a guest that died before its dmesg.
        for line in self.console:
            self.kernel_line(self.victim or f'{self.set}/(between tests)',
                             line)
        if self.victim in self.kernel:
            self.results.add_reason(self.victim,
                                    self._kernel_reasons(self.victim)[0])
        for where, line in self.kernel.items():
            self.results.outside(where.split('/')[0], 'between tests',
                                 f'kernel: {line}', boot=self.n)


def lanes(todo, jobs):
    """The plan split into at most JOBS lanes that run side by side.

    Parameter sets are dealt round-robin, those of the 1-CPU machine
    first: each lane gets as many sets of each machine as the others (to
    within one), so lanes take about as long.  A set stays in one lane,
    in plan order, so its tests run as they would in one boot.
    """
    sets = []
    for t in todo:
        if (t.cpus, t.set) not in sets:
            sets.append((t.cpus, t.set))
    sets.sort(key=lambda s: s[0])
    n = max(1, min(jobs, len(sets)))
    return [[t for t in todo if (t.cpus, t.set) in sets[i::n]]
            for i in range(n)]


def run_lane(args, lane, todo, results, deadline, numbers):
    """Boot until every test of this lane has a verdict."""
    try:
        boot_lane(args, lane, todo, results, deadline, numbers)
    except Exception as e:     # e.g. the CD could not be built
        results.errors.append(f'lane {lane}: {type(e).__name__}: {e}')
        for t in todo:
            if t.name not in results.verdicts:
                results.record(t.name, 'FAIL', ['missing result'])


def boot_lane(args, lane, todo, results, deadline, numbers):
    while todo and not results.errors:
        if time.monotonic() > deadline:
            results.errors.append(f'wall-clock limit of {args.wall} s reached')
            break
        # One machine per boot: the tests left that run on the first's.
        batch = [t for t in todo if t.machine == todo[0].machine]
        boot = BootRun(args, next(numbers), lane, batch, results)
        boot.run(deadline)
        if not boot.done and not results.errors:
            # Nothing finished in this boot (it stalled or stopped before
            # the first test left): that test fails, so that every boot
            # makes progress.
            boot.fail(todo[0].name, 'not run: the guest stopped before it')
        todo = [t for t in todo if t.name not in boot.done]
    for t in todo:
        results.record(t.name, 'FAIL', ['missing result'])


def run(args):
    registry = Registry(args.registry)
    todo = make_plan(registry, args.suite, args.kernel)
    sets = list(registry.suites[args.suite])
    results = Results(Skips(registry), EmulatorFaults(registry), sets,
                      args.suite, args.kernel)
    deadline = time.monotonic() + args.wall
    if args.cpus:
        todo = [t for t in todo if t.cpus == args.cpus]
        sets = [s for s in sets if registry.sets[s].cpus == args.cpus]
    split = lanes(todo, args.jobs)
    log(f'vm-run: suite {args.suite}: {len(todo)} tests in {len(sets)} '
        f'parameter sets, '
        f'{len(split)} emulator(s) at a time; logs in {args.out}')
    numbers = itertools.count(1)
    threads = [threading.Thread(target=run_lane,
                                args=(args, i + 1, lane, results,
                                      deadline, numbers))
               for i, lane in enumerate(split)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results.report(args.out)
