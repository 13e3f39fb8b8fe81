"""Unit tests of the trace checkers that vm/guest's scripts run in the
guest, nested_vpid_trace.awk and nested_vpid_smp.awk, on traces written
by hand in the format of /sys/kernel/debug/tracing/trace (fixtures/,
whose README says what each shows): traces that pass, and for each rule
a trace that breaks it, which must fail that rule and no other.

The guest runs the checkers with busybox awk; so do these tests when
busybox is installed (Debian's busybox-static or busybox), and with the
host's awk otherwise.

Run by make unit:  python3 -m unittest discover -s tests/trace
"""

import os
import re
import shutil
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, 'fixtures')
GUEST = os.path.join(HERE, '..', '..', 'vm', 'guest')
AWK = ['busybox', 'awk'] if shutil.which('busybox') else ['awk']


def replay(program, trace, **variables):
    """Exit status and output lines of vm/guest/PROGRAM on fixtures/TRACE,
    given awk's -v VARIABLE=VALUE."""
    args = [a for k, v in variables.items() for a in ('-v', f'{k}={v}')]
    res = subprocess.run(AWK + args + ['-f', os.path.join(GUEST, program),
                                       os.path.join(FIX, trace)],
                         capture_output=True, text=True, check=False)
    if res.stderr:
        raise AssertionError(f'{program}: {res.stderr}')
    return res.returncode, res.stdout.splitlines()


class NestedVpidTrace(unittest.TestCase):
    """nested_vpid_trace.awk: TAP cases 1..9, exit status 1 if one fails;
    a violation is printed as "#   line N: MESSAGE"."""

    SKIPPED = 6     # nested_vpid=N: every case about tags (4 to 9)

    def check(self, trace, failed=(), violation=None, skipped=0, rc=0,
              overrun=0, novpid=0, ept='Y'):
        """FAILED: the names of the cases that fail, in order, and no
        other; VIOLATION: what one of the messages says."""
        status, out = replay('nested_vpid_trace.awk', trace, rc=rc,
                             overrun=overrun, novpid=novpid, ept=ept)
        cases = [line for line in out if re.match(r'(not )?ok \d', line)]
        self.assertEqual(len(cases), 9, out)
        self.assertIn('1..9', out)
        names = [re.match(r'not ok \d+ ([^:(]*[^:( ])', c).group(1)
                 for c in cases if c.startswith('not ok')]
        self.assertEqual(names, list(failed), out)
        self.assertEqual(len([c for c in cases if '# SKIP' in c]), skipped,
                         out)
        self.assertEqual(status, 1 if failed else 0, out)
        messages = [line.split(': ', 1)[1] for line in out
                    if line.startswith('#   line ')]
        if violation:
            self.assertTrue(any(violation in m for m in messages), out)
        elif not failed:
            self.assertEqual(messages, [], out)

    def test_good(self):
        self.check('trace-good.trace')

    def test_tests_failed(self):
        self.check('trace-good.trace', rc=1,
                   failed=['nested_vpid_test and its fuzzer'])

    def test_events_lost(self):
        self.check('trace-good.trace', overrun=3, failed=['trace complete'])

    def test_tag_not_flushed(self):
        self.check('trace-unflushed-tag.trace',
                   failed=['tag flushed before use'],
                   violation='VM-entry before tag 3 was flushed')

    def test_hit_on_another_tag(self):
        self.check('trace-hit-other-tag.trace',
                   failed=['hit reuses, no tag shared'],
                   violation='vCPU 1: hit of vpid12 1 ran tag 3, its tag '
                             'is 2')

    def test_invvpid_on_another_tag(self):
        self.check('trace-invvpid-other-tag.trace',
                   failed=['INVVPID acts on the named VPID'],
                   violation='vCPU 1: INVVPID of vpid12 2 drop tag 2, its '
                             'tag is 3')

    def test_invvpid_flushes_vpid01_context(self):
        self.check('trace-invvpid-vpid01-context.trace',
                   failed=['no vpid01 context flush by INVVPID'],
                   violation='an INVVPID of L1 flushed vpid01 1 as a '
                             'context')

    def test_bug2021_invvpid_flushes_vpid01_address(self):
        self.check('trace-invvpid-vpid01-addr.trace',
                   failed=['bug2021_invvpid_flushes_l2_tag'],
                   violation='an INVVPID of L1 flushed vpid01 1 (flushed: '
                             '0 2 0x515000  0 1 0x515000 )')

    def test_bug2021_shadow_paging_flushes_vpid01_address(self):
        # With ept=0 syncing the address in the shadow MMU flushes it in
        # vpid01 as well: allowed.
        self.check('trace-invvpid-vpid01-addr.trace', ept='N')

    def test_bug2024_tag_flushed_as_current(self):
        self.check('trace-off-flushes-tag.trace',
                   failed=['bug2024_vpid01_current_vpid_off'],
                   violation='L2 runs on vpid01 1 with VPID disabled, KVM '
                             'flushed VPID 2 (type 1) as the current one')

    def test_bug2026_fresh_vpid_not_flushed(self):
        # A fresh tag that is not flushed breaks rule 1 as well.
        self.check('trace-fresh-unflushed.trace',
                   failed=['tag flushed before use',
                           'bug2026_fresh_vpid_flush_other_vm'],
                   violation='VM-entry before VPID 2, in use before a VM '
                             'was freed, was flushed')

    def test_upstream_fixes_not_exercised(self):
        self.check('trace-unexercised.trace',
                   failed=['bug2021_invvpid_flushes_l2_tag',
                           'bug2024_vpid01_current_vpid_off',
                           'bug2026_fresh_vpid_flush_other_vm'])

    def test_novpid(self):
        self.check('trace-novpid.trace', novpid=1, skipped=self.SKIPPED)

    def test_novpid_vpid01_not_flushed(self):
        self.check('trace-novpid-unflushed.trace', novpid=1,
                   skipped=self.SKIPPED, failed=['tag flushed before use'],
                   violation='VM-entry before tag 1 was flushed')


class NestedVpidSmp(unittest.TestCase):
    """nested_vpid_smp.awk: "PASS|FAIL|SKIP CHECK WHY" per check, which
    nested_vpid_smp makes TAP cases of; a violation is printed as
    "# line N: CHECK: MESSAGE"."""

    CHECKS = {
        'migrate': ['trace_complete', 'tag_flushed_on_its_cpu',
                    'flush_on_new_cpu', 'bug2026_invvpid_on_vmcs02_cpu',
                    'no_shared_tag'],
        'byvpid': ['trace_complete', 'tag_flushed_on_its_cpu',
                   'flush_on_new_cpu', 'bug2026_invvpid_on_vmcs02_cpu',
                   'every_tag_flushed', 'no_shared_tag'],
        'conc': ['trace_complete', 'tag_flushed_on_its_cpu',
                 'flush_on_new_cpu', 'no_shared_tag'],
    }

    def check(self, trace, mode, failed=None, violation=None, skipped=None,
              overrun=0, ept='N'):
        """FAILED: the check that fails, and no other; VIOLATION: what
        one of its messages says; SKIPPED: a check that SKIPs."""
        status, out = replay('nested_vpid_smp.awk', trace, mode=mode,
                             overrun=overrun, ept=ept)
        self.assertEqual(status, 0, out)
        verdicts = [tuple(line.split()[:2]) for line in out
                    if re.match(r'(PASS|FAIL|SKIP) ', line)]
        self.assertEqual(verdicts, [
            ('FAIL' if c == failed else 'SKIP' if c == skipped else 'PASS',
             c) for c in self.CHECKS[mode]], out)
        messages = [re.match(r'# line \d+: (\w+): (.*)', line).groups()
                    for line in out if line.startswith('# line ')]
        if violation:
            self.assertTrue(any(c == failed and violation in m
                                for c, m in messages), out)
        elif not failed:
            self.assertEqual(messages, [], out)

    def test_migrate(self):
        self.check('smp-migrate.trace', 'migrate')

    def test_byvpid(self):
        self.check('smp-byvpid.trace', 'byvpid')

    def test_conc(self):
        self.check('smp-conc.trace', 'conc')

    def test_events_lost(self):
        self.check('smp-migrate.trace', 'migrate', overrun=1,
                   failed='trace_complete')

    def test_migrate_without_invvpid(self):
        # Neither a deferred individual-address INVVPID nor one flushed
        # where vmcs02 ran: the run did not show what it is for.
        self.check('smp-conc.trace', 'migrate', failed='trace_complete')

    def test_tag_flushed_on_another_cpu(self):
        self.check('smp-flushed-on-other-cpu.trace', 'migrate',
                   failed='tag_flushed_on_its_cpu',
                   violation='tag flushed on CPU 0, VM-entry on CPU 1')

    def test_moved_not_flushed(self):
        self.check('smp-moved-unflushed.trace', 'migrate',
                   failed='flush_on_new_cpu',
                   violation='vCPU 1: L2 with VPID 3 on CPU 0 after CPU 1, '
                             'not flushed there')

    def test_moved_with_ept(self):
        # With EPT the flush of a moved vCPU is INVEPT, not traced.
        self.check('smp-moved-unflushed.trace', 'migrate', ept='Y',
                   skipped='flush_on_new_cpu')

    def test_bug2026_invvpid_off_vmcs02_cpu(self):
        self.check('smp-invvpid-off-vmcs02-cpu.trace', 'migrate',
                   failed='bug2026_invvpid_on_vmcs02_cpu',
                   violation='vCPU 1 on CPU 1, vmcs02 last ran on CPU 0: '
                             'INVVPID of vpid12 1 did flush, not drop')

    def test_byvpid_tag_not_flushed(self):
        self.check('smp-byvpid-tag-unflushed.trace', 'byvpid',
                   failed='every_tag_flushed',
                   violation='vCPU 1 moved to CPU 0: tag 2 of vpid12 1 not '
                             'flushed')

    def test_byvpid_all_context(self):
        self.check('smp-byvpid-all-context.trace', 'byvpid',
                   failed='every_tag_flushed',
                   violation='1 all-context INVVPIDs')

    def test_held_tag_taken(self):
        self.check('smp-conc-held-tag.trace', 'conc', failed='no_shared_tag',
                   violation='vCPU 3 took tag 5 that vCPU 1 holds')

    def test_vpid01_taken_as_tag(self):
        self.check('smp-conc-vpid01-tag.trace', 'conc',
                   failed='no_shared_tag',
                   violation='tag 3 given to vCPU 4 at line 30 is the VPID '
                             'of a live vCPU')


if __name__ == '__main__':
    unittest.main()
