"""Each test's verdict, the report at the end of the run, and results.json.

results.json (in the run's --out directory) is what programs read:
make check's summary (scripts/check.py), bench-report.py and
harness-check.sh.  Its fields are documented in one place,
Documentation/results-json.md; FORMAT below is its version.
"""

import json
import os

from .skips import WHOLE

FORMAT = 1
VERDICTS = ('PASS', 'FAIL', 'SKIP', 'EMUL')


def log(msg):
    print(msg, flush=True)


class Results:
    def __init__(self, skips, emulator, sets=(), suite=None, kernel=None):
        self.suite, self.kernel_name = suite, kernel
        self.skips = skips
        self.emulator = emulator
        self.sets = list(sets)  # the matrix's sets, in its order
        self.verdicts = {}      # set/test -> entry (see entry())
        self.kernel = []        # (where, line): kernel lines that fail
        self.errors = []        # reasons the run itself failed
        self.boots = []         # one dict per boot (runner.BootRun)

    @staticmethod
    def entry(name, verdict, reasons, output=None, seconds=None, boot=None,
              fault=None):
        set_name, test = name.split('/', 1)
        return {
            'name': name, 'set': set_name, 'test': test,
            'verdict': verdict, 'reasons': reasons,
            'seconds': None if seconds is None else round(seconds, 1),
            'boot': boot,
            'tap': output.counts() if output else {},
            'totals': output.totals if output else '',
            'skips': sorted(output.skips) if output else [],
            'emulator_fault': fault,
            'warnings': [],     # filled in by report()
            'records': output.records if output else [],
        }

    def record(self, name, verdict, reasons, **kw):
        self.verdicts[name] = self.entry(name, verdict, reasons, **kw)

    def finished(self, test, status, why, output, failed_by, seconds=None,
                 boot=None):
        """/init's result for a test, judged with what else is known.

        failed_by: reasons seen outside the test's TAP (kernel lines).
        Whatever its exit status, a test fails when its own TAP reports
        a failure or its SKIPs differ from the pinned ones.  A failure
        with no other reason than one assertion pinned in
        the registry (vm/tests.cfg) is the emulator's (EMUL).
        """
        reasons = [] if status != 'FAIL' else [why]
        reasons += [f'TAP: {f}' for f in output.failures]
        seen = set(output.skips) | ({WHOLE} if status == 'SKIP' else set())
        reasons += self.skips.check(test.set, test.test, seen)
        reasons += failed_by
        fault = self.emulator.explains(test.test, output.asserts)
        kw = dict(output=output, seconds=seconds, boot=boot)
        if reasons == [why] and fault:
            self.record(test.name, 'EMUL',
                        [f'{why}: "{fault}", a fault of the emulated CPU '
                         f'({self.emulator.path})'], fault=fault, **kw)
        elif reasons:
            self.record(test.name, 'FAIL', reasons, **kw)
        else:
            self.record(test.name, 'SKIP' if status == 'SKIP' else 'PASS',
                        [], **kw)

    def add_reason(self, name, reason):
        e = self.verdicts[name]
        e['verdict'] = 'FAIL'
        e['reasons'].append(reason)

    def outside(self, set_name, what, detail, boot=None):
        """A failure that belongs to no test: shown under its set."""
        self.record(f'{set_name}/({what})', 'FAIL', [detail], boot=boot)

    def count(self, verdict):
        return sum(1 for e in self.verdicts.values()
                   if e['verdict'] == verdict)

    def ordered(self):
        """The entries by the matrix's order of sets, in run order within
        a set (lanes run sets at the same time)."""
        rank = {s: i for i, s in enumerate(self.sets)}
        return sorted(self.verdicts.values(),
                      key=lambda e: rank.get(e['set'], len(rank)))

    def summary(self):
        return {v.lower(): self.count(v) for v in VERDICTS}

    def write_json(self, path):
        for e in self.verdicts.values():
            e['warnings'] = [line for where, line in self.kernel
                             if where == e['name']]
        doc = {
            'format': FORMAT,
            'suite': self.suite,
            'kernel': self.kernel_name,
            'summary': self.summary(),
            'ok': not (self.count('FAIL') or self.errors or self.kernel),
            'errors': self.errors,
            'kernel_lines': [{'where': w, 'line': line}
                             for w, line in self.kernel],
            'boots': self.boots,
            'results': self.ordered(),
        }
        with open(path + '.tmp', 'w') as f:
            json.dump(doc, f, indent=1)
            f.write('\n')
        os.replace(path + '.tmp', path)

    def report(self, out):
        log('')
        current = None
        for e in self.ordered():
            if e['set'] != current:
                current = e['set']
                log(f'parameter set {current}:')
            detail = '; '.join(e['reasons']) or e['totals']
            log(f'  {e["verdict"]:4} {e["test"]}'
                + (f'  ({detail})' if detail else ''))
        if self.kernel:
            log('kernel messages that fail the run:')
            for where, line in self.kernel:
                log(f'  [{where}] {line}')
        for err in self.errors:
            log(f'vm-run: error: {err}')
        path = os.path.join(out, 'results.json')
        self.write_json(path)
        failed = self.count('FAIL')
        log(f'{len(self.boots)} boot(s); serial logs: {out}/serial.N.log; '
            f'results: {path}')
        emul = self.count('EMUL')
        log(f'{self.count("PASS")} passed, {failed} failed, '
            f'{self.count("SKIP")} skipped'
            + (f', {emul} failed by the emulated CPU' if emul else ''))
        return 1 if failed or self.errors or self.kernel else 0
