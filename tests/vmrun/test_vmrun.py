"""Unit tests of the verdict path of the emulated-machine runner
(scripts/vmrun), on serial logs recorded from real boots (fixtures/,
whose README says where each comes from).

A recorded boot is replayed through the runner as it is, with the
Bochs process replaced by the log (Replay) and the host's clock by one
that advances only when the runner sleeps (Clock): the time limits
fire as they did in the real boot, in no time.

Run by make unit:  PYTHONPATH=scripts python3 -m unittest discover tests/vmrun
"""

import itertools
import json
import os
import subprocess
import sys
import tempfile
import types
import unittest
from unittest import mock

from vmrun import runner
from vmrun.emulator import EmulatorFaults
from vmrun.plan import Test, make_plan
from vmrun.registry import Registry
from vmrun.results import Results
from vmrun.serial import Serial, TestOutput, parse_record
from vmrun.skips import WHOLE, Skips
from vmrun.watchdog import Watchdog

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
REGISTRY_PY = os.path.join(os.path.dirname(FIX), '..', '..', 'scripts',
                           'vmrun', 'registry.py')


def fixture(name):
    return os.path.join(FIX, name)


class Clock:
    """time.monotonic() and time.sleep() of a host that only waits."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, secs):
        self.now += secs


class Replay:
    """A boot of the emulated machine that prints a recorded serial log.

    LOGS[n - 1] is boot n's.  Like Bochs, it runs until the guest
    powers off ("harness: all tests done") or the runner kills it.
    """
    LOGS = []
    plans = []          # the tests each boot was given, for the asserts

    def __init__(self, args, n, lane, todo):
        self.n, self.cpus = n, todo[0].cpus
        self.serial = self.LOGS[n - 1]
        self.bochslog = self.bochsout = '-'
        with open(self.serial) as f:
            self.pending = f.read().splitlines()
        self.off = any(line.startswith('harness: all tests done')
                       for line in self.pending)
        self.killed = False
        self.proc = types.SimpleNamespace(returncode=0)
        Replay.plans.append([t.test for t in todo])

    def lines(self):
        out, self.pending = self.pending, []
        return out

    def running(self):
        return not self.killed and (bool(self.pending) or not self.off)

    def kill(self):
        self.killed = True

    def died_early(self):
        return False


def args(out, registry, suite, jobs=1):
    return types.SimpleNamespace(
        registry=fixture(registry), suite=suite, kernel='k', out=out,
        boot_timeout=300, stall=90, show=None, wall=3000, jobs=jobs,
        cpus=None, bochsrc=None, image=None)


def replay(logs, registry, suite):
    """Run the plan over the recorded boots; (exit status, results.json,
    the tests each boot was given)."""
    clock = Clock()
    Replay.LOGS = [fixture(f) for f in logs]
    Replay.plans = []
    with tempfile.TemporaryDirectory() as out, \
            mock.patch.object(runner, 'Boot', Replay), \
            mock.patch.object(runner, 'time', clock), \
            mock.patch('vmrun.watchdog.time', clock), \
            mock.patch('builtins.print'):
        rc = runner.run(args(out, registry, suite))
        with open(os.path.join(out, 'results.json')) as f:
            return rc, json.load(f), Replay.plans


class HarnessRun(unittest.TestCase):
    """The harness self-test's four boots (scripts/harness-check.py
    boots only what needs a boot; these were recorded from all of them)."""

    @classmethod
    def setUpClass(cls):
        cls.rc, cls.doc, cls.plans = replay(
            ['harness.1.log', 'harness.2.log', 'harness.3.log',
             'harness.4.log'], 'harness.cfg', 'harness')
        cls.by_test = {e['test']: e for e in cls.doc['results']}

    def verdict(self, test, verdict, *reasons):
        e = self.by_test[test]
        self.assertEqual(e['verdict'], verdict, e)
        self.assertEqual(len(e['reasons']), len(reasons), e['reasons'])
        for got, want in zip(e['reasons'], reasons):
            self.assertRegex(got, want)
        return e

    def test_run_fails(self):
        self.assertEqual(self.rc, 1)
        self.assertFalse(self.doc['ok'])
        self.assertEqual(self.doc['summary'],
                         {'pass': 2, 'fail': 8, 'skip': 0, 'emul': 0})
        self.assertEqual(self.doc['errors'], [])
        self.assertEqual((self.doc['suite'], self.doc['kernel']),
                         ('harness', 'k'))

    def test_exit_status(self):
        self.verdict('harness_fail', 'FAIL', r'^exit status 1$')

    def test_own_tap_fails_whatever_the_exit_status(self):
        e = self.verdict('harness_tap', 'FAIL',
                         r'^TAP: not ok 2 harness_tap_bad: failing on '
                         r'purpose$',
                         r'^TAP: totals pass:1 fail:1 ')
        self.assertEqual(e['tap'], {'pass': 1, 'fail': 1, 'xfail': 0,
                                    'xpass': 0, 'skip': 0, 'error': 0})

    def test_skip_not_pinned_and_pinned_skip_missing(self):
        e = self.verdict(
            'harness_skip', 'FAIL',
            r'^unexpected SKIP of harness_skip_new \(no skip condition of '
            r'harness_skip in .*harness.cfg holds in set harness\)$',
            r'^expected SKIP of harness_skip_pinned did not happen')
        self.assertEqual(e['skips'], ['harness_skip_new'])

    def test_kernel_warning_charged_to_its_test(self):
        e = self.verdict('harness_warn', 'FAIL',
                         r'^kernel: \[ *[0-9.]+\] WARNING: CPU: 0 PID: 1 at '
                         r'harness-check$')
        self.assertEqual(len(e['warnings']), 1)
        self.assertEqual(self.doc['kernel_lines'][0]['where'],
                         'harness/harness_warn')

    def test_warnings_before_init_are_not_judged(self):
        # Each recorded boot has the emulated CPU's WARNINGs before /init.
        self.assertTrue(all(k['where'] != '(early)'
                            for k in self.doc['kernel_lines']))
        # The warning and the panic's trace.
        self.assertEqual(len(self.doc['kernel_lines']), 2)

    def test_leaked_vpids(self):
        self.verdict('harness_leak', 'FAIL',
                     r'^vmx_vpids_allocated is 2 after the test, 0 before it$')

    def test_hang_times_out(self):
        e = self.verdict('harness_hang', 'FAIL',
                         r'^TIMEOUT after 30 s, killed$')
        self.assertEqual(e['boot'], 1)
        self.assertEqual(e['seconds'], 30.5)

    def test_panic(self):
        # The panic's trace, on the console, is charged to it too.
        e = self.verdict('harness_panic', 'FAIL',
                         r'^kernel panic: Kernel panic - not syncing: '
                         r'sysrq triggered crash$',
                         r'^kernel: \[ *[0-9.]+\] Call Trace:$')
        self.assertEqual(e['boot'], 2)

    def test_stall_outside_any_test(self):
        self.verdict('harness_stall', 'PASS')
        self.verdict('(stall in boot 3)', 'FAIL',
                     r'^the guest printed nothing for 90 s outside any test, '
                     r'after harness/harness_stall; last line: ')

    def test_each_boot_resumes_after_the_last_result(self):
        self.assertEqual(self.plans[1:], [
            ['harness_panic', 'harness_stall', 'vmx_tsc_adjust_test'],
            ['harness_stall', 'vmx_tsc_adjust_test'],
            ['vmx_tsc_adjust_test']])
        e = self.verdict('vmx_tsc_adjust_test', 'PASS')
        self.assertEqual(e['boot'], 4)
        self.assertEqual([b['boot'] for b in self.doc['boots']], [1, 2, 3, 4])
        self.assertTrue(all(b['init_seconds'] is not None
                            for b in self.doc['boots']))


class SetRun(unittest.TestCase):
    """One parameter set of make run, recorded: records, TAP counts, and
    a test the emulated CPU fails by a pinned assertion."""

    def test_records_and_counts(self):
        rc, doc, _ = replay(['run.1.log'], 'run.cfg', 'run')
        self.assertEqual(rc, 0, doc)
        self.assertEqual(doc['summary']['fail'], 0)
        bench = [r for e in doc['results'] for r in e['records']
                 if r['kind'] == 'BENCH']
        self.assertEqual(doc['summary']['pass'], 5)
        self.assertEqual([(r['workload'], r['k']) for r in bench],
                         [('W1', '1'), ('W2', '2'), ('W2', '4'), ('W2', '8'),
                          ('W2', '16'), ('W2', '32')])
        self.assertTrue(all(r['mode'] == 'tags1' for r in bench))
        by = {e['test']: e for e in doc['results']}
        self.assertEqual(by['nested_vpid_bench_w12']['records'][0],
                         {'kind': 'BENCH_MODE', 'mode': 'tags1',
                          'nested_vpid': 'Y', 'nested_vpid_tags': '1',
                          'ept': 'Y'})
        self.assertEqual(by['vmx_tsc_adjust_test']['tap'], {})  # no TAP

    def test_emulator_fault(self):
        rc, doc, _ = replay(['emul.1.log'], 'run.cfg', 'run')
        by = {e['test']: e for e in doc['results']}
        self.assertEqual(by['vmx_tsc_adjust_test']['verdict'], 'EMUL')
        self.assertEqual(by['vmx_tsc_adjust_test']['emulator_fault'],
                         'x86_64/vmx_tsc_adjust_test.c:123: 0')
        # The same assertion, but also a TAP failure: the test's own.
        self.assertEqual(by['state_test']['verdict'], 'FAIL')
        self.assertEqual(doc['summary']['emul'], 1)
        self.assertEqual(rc, 1)     # state_test


class Parser(unittest.TestCase):
    def feed(self, lines):
        s = Serial()
        return [ev for line in lines for ev in s.feed(line)]

    def test_events(self):
        evs = self.feed(['[ 0.1] WARNING: early', 'harness: init started',
                         '# SET s: kvm_intel x=1', '# RUN s/t', '#   hello',
                         '[ 2.0] WARNING: late',
                         '# dmesg: [ 2.0] WARNING: late',
                         'ok 1 s/t', 'harness: init started',
                         'harness: all tests done'])
        self.assertEqual([e[0] for e in evs],
                         ['early', 'init', 'set', 'run', 'output', 'console',
                          'kernel', 'result', 'reboot', 'done'])
        self.assertEqual(evs[6], ('kernel', 's/t', '[ 2.0] WARNING: late'))

    def test_skip_names(self):
        out = TestOutput()
        for line in ['ok 1 fixture.case # SKIP why', 'ok 2 # SKIP k2: why',
                     'ok 3 # SKIP', 'ok 4 plain', 'not ok 5 bad']:
            out.feed(line)
        self.assertEqual(out.skips, ['fixture.case', 'k2', '(unnamed)'])
        self.assertEqual(out.failures, ['not ok 5 bad'])
        self.assertEqual(out.counts(), {'pass': 1, 'fail': 1, 'skip': 3})

    def test_assertion(self):
        out = TestOutput()
        for line in ['==== Test Assertion Failure ====', '',
                     '  x86/t.c:12: a == b', '  pid=1']:
            out.feed(line)
        self.assertEqual(out.asserts, ['x86/t.c:12: a == b'])

    def test_totals_with_errors_fail(self):
        out = TestOutput()
        out.feed('# Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:1')
        self.assertEqual(out.failures,
                         ['totals pass:3 fail:0 xfail:0 xpass:0 skip:0 '
                          'error:1'])

    def test_records(self):
        self.assertEqual(parse_record('BENCH mode=x k=2 l1_inv= ms=8.3'),
                         {'kind': 'BENCH', 'mode': 'x', 'k': '2',
                          'l1_inv': '', 'ms': '8.3'})
        for line in ['BENCH', 'ok 1 a=b', 'Bench k=2', 'BENCH k=2 trailing',
                     'harness: init started']:
            self.assertIsNone(parse_record(line), line)


def registry(text):
    """A Registry of vm/tests.cfg's format from TEXT."""
    with tempfile.NamedTemporaryFile('w', suffix='.cfg') as f:
        f.write(text)
        f.flush()
        return Registry(f.name)


class Judge(unittest.TestCase):
    """Results.finished(): the rules, one at a time."""

    def judge(self, status, lines, why='', skip='', failed_by=(),
              test='t'):
        reg = registry(f"""
[set s]
params = ept=Y
[suite u]
sets = s
[{test}]
suites = u
{skip}
fault = x86_64/vmx_tsc_adjust_test.c:123: 0
""")
        res = Results(Skips(reg), EmulatorFaults(reg))
        out = TestOutput()
        for line in lines:
            out.feed(line)
        res.finished(Test('s', '', test, 60, 1), status, why, out,
                     list(failed_by))
        return res.verdicts[f's/{test}']

    def test_pass(self):
        self.assertEqual(self.judge('PASS', ['ok 1 a'])['verdict'], 'PASS')

    def test_whole_skip_expected_or_not(self):
        self.assertEqual(self.judge('SKIP', [], 'SKIP',
                                    'skip = ept=Y')['verdict'], 'SKIP')
        e = self.judge('SKIP', [], 'SKIP', 'skip = ept=N')
        self.assertEqual(e['verdict'], 'FAIL')
        self.assertRegex(e['reasons'][0], '^unexpected SKIP of the whole test')

    def test_expected_subtest_skip(self):
        e = self.judge('PASS', ['ok 1 # SKIP k2: why'],
                       skip='skip = ept=1: k1 k2')
        self.assertEqual(e['verdict'], 'FAIL')
        self.assertRegex(e['reasons'][0], '^expected SKIP of k1 did not')
        e = self.judge('PASS', ['ok 1 # SKIP k2: why', 'ok 2 k1 # SKIP'],
                       skip='skip = ept=1: k1 k2')
        self.assertEqual(e['verdict'], 'PASS')

    def test_kernel_line_fails_a_passing_test(self):
        e = self.judge('PASS', [], failed_by=['kernel: WARNING'])
        self.assertEqual((e['verdict'], e['reasons']),
                         ('FAIL', ['kernel: WARNING']))

    def test_emul_only_alone(self):
        fault = ['==== Test Assertion Failure ====',
                 '  x86_64/vmx_tsc_adjust_test.c:123: 0']
        for lines, extra, want in [
                (fault, [], 'EMUL'),
                (fault + ['not ok 1 x'], [], 'FAIL'),
                (fault + ['==== Test Assertion Failure ====',
                          '  x86_64/other.c:1: 0'], [], 'FAIL'),
                (fault, ['kernel: WARNING'], 'FAIL')]:
            e = self.judge('FAIL', lines, 'exit status 254', failed_by=extra)
            self.assertEqual(e['verdict'], want, (lines, extra))


class RegistryFile(unittest.TestCase):
    TEXT = """
# a comment
[defaults]
params = nested_vpid=Y nested_vpid_tags=8 ept=Y
[set novpid]
params = nested_vpid=N
[set tags1-ept0]
params = nested_vpid_tags=1 ept=0
[set smp]
params = ept=0
cpus = 2
[suite all]
sets = novpid tags1-ept0
\tsmp
[suite two]
sets = smp
[a]
suites = all
skip = nested_vpid=N|nested_vpid_tags=1: "x y" z  # a comment
skip = ept=N
[b+w]
suites = all two
run = w b -n ${REGISTRY_TEST_N}
limit = ${REGISTRY_TEST_N}
megs = 2048
name.k2 = b2
[c]
suites = all
cpus = 2
kernels = k1
"""

    def setUp(self):
        self.reg = registry(self.TEXT)

    def test_conditions(self):
        skips = self.reg.expected_skips
        self.assertEqual(skips('novpid', 'a', WHOLE), {'x y', 'z'})
        # skipped whole, it runs none of its subtests
        self.assertEqual(skips('tags1-ept0', 'a', WHOLE), {WHOLE})
        self.assertEqual(skips('smp', 'a', WHOLE), {WHOLE})
        self.assertEqual(skips('novpid', 'b+w', WHOLE), set())

    def test_plan(self):
        with mock.patch.dict(os.environ, {'REGISTRY_TEST_N': '7'}):
            plan = make_plan(self.reg, 'all', 'k1')
            self.assertEqual([(t.name, t.machine, t.limit, t.command)
                              for t in plan],
                             [('novpid/a', (1, 1024), 300, 'a'),
                              ('novpid/b+w', (1, 2048), 7, 'w b -n 7'),
                              ('tags1-ept0/a', (1, 1024), 300, 'a'),
                              ('tags1-ept0/b+w', (1, 2048), 7, 'w b -n 7'),
                              ('smp/c', (2, 1024), 300, 'c')])
            self.assertEqual([t.name for t in make_plan(self.reg, 'all',
                                                        'k2')][-1],
                             'tags1-ept0/b+w')
        self.assertEqual(make_plan(self.reg, 'two', 'k1'), [])  # 1-CPU
        with self.assertRaisesRegex(ValueError, 'REGISTRY_TEST_N'):
            make_plan(self.reg, 'all', 'k1')

    def test_errors(self):
        with self.assertRaisesRegex(ValueError, 'no suite nope'):
            self.reg.plan('nope', 'k1')
        with self.assertRaisesRegex(ValueError, 'suite all: no set x'):
            registry('[suite all]\nsets = x\n')
        with self.assertRaisesRegex(ValueError, 'a: no suite x'):
            registry('[a]\nsuites = x\n')
        with self.assertRaisesRegex(ValueError, ':2: .* is no "key'):
            registry('[a]\nnonsense\n')

    def test_command_line(self):
        with tempfile.NamedTemporaryFile('w', suffix='.cfg') as f:
            f.write(self.TEXT)
            f.flush()

            def ask(*words):
                return subprocess.run(
                    [sys.executable, REGISTRY_PY, f.name, *words],
                    check=True, capture_output=True, text=True).stdout
            self.assertEqual(ask('programs'), 'a w b c\n')
            self.assertEqual(ask('renames', 'k2'), 'b+w:b2\n')
            self.assertEqual(ask('sets', 'all'),
                             'novpid 1 nested_vpid=N\n'
                             'tags1-ept0 1 nested_vpid_tags=1 ept=0\n'
                             'smp 2 ept=0\n')


class Lanes(unittest.TestCase):
    def plan(self):
        sets = [('a', 1), ('s', 2), ('b', 1), ('c', 1), ('t', 2), ('d', 1),
                ('e', 1), ('f', 1)]
        return [Test(s, '', t, 60, c) for s, c in sets for t in ('x', 'y')]

    def test_sets_dealt_by_machine(self):
        lanes = runner.lanes(self.plan(), 2)
        self.assertEqual([sorted({t.set for t in lane}) for lane in lanes],
                         [['a', 'c', 'e', 's'], ['b', 'd', 'f', 't']])
        self.assertEqual(sorted(t.name for lane in lanes for t in lane),
                         sorted(t.name for t in self.plan()))

    def test_one_boot_per_machine(self):
        """A lane boots the machine of its first test left for every
        test left that needs that machine (CPUs and memory), in order."""
        todo = [Test('a', '', 'x', 60, 1),
                Test('a', '', 'big', 60, 1, megs=2048),
                Test('b', '', 'x', 60, 1),
                Test('b', '', 'big', 60, 1, megs=2048)]
        boots = []

        class Boot:
            def __init__(self, args, n, lane, batch, results):
                boots.append([t.name for t in batch])
                self.done = {t.name for t in batch}

            def run(self, deadline):
                pass

        results = types.SimpleNamespace(errors=[], record=None)
        with mock.patch.object(runner, 'BootRun', Boot):
            runner.boot_lane(None, 1, todo, results, float('inf'),
                             itertools.count(1))
        self.assertEqual(boots, [['a/x', 'b/x'], ['a/big', 'b/big']])

    def test_one_lane_is_the_plan(self):
        names = [[t.name for t in lane] for lane in runner.lanes(
            self.plan(), 1)]
        self.assertEqual(names, [[t.name for t in self.plan()]])
        self.assertEqual(len(runner.lanes(self.plan()[:2], 4)), 1)


class Limits(unittest.TestCase):
    def test_watchdog(self):
        clock = Clock()
        with mock.patch('vmrun.watchdog.time', clock):
            w = Watchdog(300, 90, {'s/t': 30})
            clock.sleep(299)
            self.assertIsNone(w.expired(False, None))
            clock.sleep(2)
            self.assertEqual(w.expired(False, None), ('boot', 300))
            w.saw_line()
            clock.sleep(89)
            self.assertIsNone(w.expired(True, None))
            clock.sleep(2)
            self.assertEqual(w.expired(True, None), ('stall', 90))
            w.test_started()
            clock.sleep(29)     # silence inside a test is no stall
            self.assertIsNone(w.expired(True, 's/t'))
            clock.sleep(2)
            self.assertEqual(w.expired(True, 's/t'), ('timeout', 30))


if __name__ == '__main__':
    unittest.main()
