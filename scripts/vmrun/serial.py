"""The serial console of one boot, read line by line.

Three kinds of lines share it (vm/init):
  - /init's own: "harness: ...", "# SET", "# RUN set/test", "# params",
    and one TAP result per test, "ok N set/test [# SKIP]" or
    "not ok N set/test # why";
  - a test's own output, prefixed "#   ": often kselftest TAP itself,
    whose "not ok" lines, "Bail out!", "# Totals:" and "# SKIP" lines
    are read here;
  - the kernel's console (loglevel=5: warnings and worse) and dmesg
    after each test ("# dmesg: "), scanned for warnings and panics.

The kernel writes its console synchronously, while what /init and the
tests print drains through the tty later: a console line may come
before the "# RUN" line of the test that caused it, and a panic loses
what the tty still held. So a test is judged by the dmesg lines printed
in its own place of the stream, and a console line is only evidence
when no dmesg line repeats it: when the guest died first.
"""

import re

OUTPUT = '#   '
DMESG = '# dmesg: '
BAD_KERNEL = re.compile(r'WARNING:|\bBUG\b|Oops|general protection|'
                        r'Call Trace', re.IGNORECASE)
PANIC = 'Kernel panic'
RUN = re.compile(r'^# RUN (\S+)')
RESULT = re.compile(r'^(ok|not ok) \d+ (\S+)(?: # (.*))?$')
SUBTEST = re.compile(r'^(ok|not ok) \d+\s*([^#]*?)\s*(?:#\s*(.*))?$')
TOTALS = re.compile(r'^# Totals: (.*)$')
# The selftest library's report of a failed TEST_ASSERT or GUEST_ASSERT;
# the line after it is "file.c:line: expression".
ASSERT = '==== Test Assertion Failure ===='
# A line for programs: "KIND key=value ...", KIND in capitals (the
# benchmark's BENCH, make l1-linux's L1LINUX).
RECORD = re.compile(r'^([A-Z][A-Z0-9_]+)((?: +[a-z0-9_]+=\S*)+) *$')


def parse_record(text):
    """{'kind': KIND, key: value...} of a record line, or None."""
    m = RECORD.match(text)
    if not m:
        return None
    rec = {'kind': m.group(1)}
    rec.update(kv.split('=', 1) for kv in m.group(2).split())
    return rec


def skip_key(desc, directive):
    """The name of a subtest SKIP, as vm/tests.cfg's skip lines give it.

    kselftest_harness names the case ("ok 3 fixture.case # SKIP why");
    ksft_test_result_skip() has only the message, whose words before
    the first colon name the case ("ok 5 # SKIP round_robin_k2: why").
    """
    if desc:
        return ' '.join(desc.split())
    reason = directive[len('SKIP'):].strip()
    return ' '.join(reason.split(':', 1)[0].split()) or '(unnamed)'


class TestOutput:
    """What a test said about itself, in its own TAP."""

    def __init__(self):
        self.failures = []      # its "not ok" and "Bail out!" lines
        self.totals = ''        # its "# Totals:" line
        self.skips = []         # names of its subtests that SKIPped
        self.asserts = []       # "file.c:line: expression" of each
        self.in_assert = False  # failed assertion it reported
        self.seen = {'pass': 0, 'fail': 0, 'skip': 0}  # its TAP lines
        self.records = []       # its record lines (parse_record())

    def counts(self):
        """Its TAP counts: its "# Totals:" if it printed one, else the
        results of its subtests counted; {} if it printed no TAP."""
        if self.totals:
            return {k: int(v) for k, v in (kv.split(':', 1) for kv in
                    self.totals.split() if ':' in kv) if v.isdigit()}
        return dict(self.seen) if any(self.seen.values()) else {}

    def feed(self, text):
        rec = parse_record(text)
        if rec:
            self.records.append(rec)
            return
        if self.in_assert and text.strip():
            self.asserts.append(text.strip())
            self.in_assert = False
            return
        if text.strip() == ASSERT:
            self.in_assert = True
            return
        m = TOTALS.match(text)
        if m:
            self.totals = m.group(1)
            counts = dict(kv.split(':', 1) for kv in self.totals.split()
                          if ':' in kv)
            if any(counts.get(k, '0') != '0' for k in ('fail', 'error')):
                self.failures.append(f'totals {self.totals}')
            return
        if text.startswith('Bail out!'):
            self.failures.append(text)
            return
        m = SUBTEST.match(text)
        if not m:
            return
        ok, desc, directive = m.group(1), m.group(2), m.group(3) or ''
        if ok == 'not ok':
            self.failures.append(text)
            self.seen['fail'] += 1
        elif directive.upper().startswith('SKIP'):
            self.skips.append(skip_key(desc, directive))
            self.seen['skip'] += 1
        else:
            self.seen['pass'] += 1


class Serial:
    """Turns serial lines into events for the runner.

    Events are tuples: ('init',), ('reboot',), ('set', name, params),
    ('run', name), ('output', name, text), ('kernel', name, line) from
    dmesg, ('console', line) and ('early', line) from the console after
    and before /init started, ('panic', name, line), ('result', name,
    status, why, TestOutput), ('done',). name is the test running
    ("set/test"), or None between tests.
    """

    def __init__(self):
        self.booted = False
        self.current = None
        self.output = TestOutput()

    def feed(self, line):
        if line.startswith(OUTPUT):
            self.output.feed(line[len(OUTPUT):])
            return [('output', self.current, line[len(OUTPUT):])]
        if line.startswith(DMESG):
            line = line[len(DMESG):]
            return ([('kernel', self.current, line)]
                    if BAD_KERNEL.search(line) else [])
        if line.startswith('harness: init started'):
            first = not self.booted
            self.booted = True
            return [('init',)] if first else [('reboot',)]
        if line.startswith('harness: all tests done'):
            return [('done',)]
        m = re.match(r'# SET (\S+): (.*)', line)
        if m:
            return [('set', m.group(1), m.group(2))]
        m = RUN.match(line)
        if m:
            self.current = m.group(1)
            self.output = TestOutput()
            return [('run', self.current)]
        m = RESULT.match(line)
        if m:
            return self._result(m)
        return self._kernel(line)

    def _result(self, m):
        why = m.group(3) or ''
        if m.group(1) == 'not ok':
            status = 'FAIL'
        else:
            status = 'SKIP' if why.startswith('SKIP') else 'PASS'
        event = ('result', m.group(2), status, why, self.output)
        self.current = None
        return [event]

    def _kernel(self, line):
        if PANIC in line:
            # A test's output cut short by the console may precede it.
            return [('panic', self.current, line[line.index(PANIC):])]
        if not BAD_KERNEL.search(line):
            return []
        return [('console' if self.booted else 'early', line)]
