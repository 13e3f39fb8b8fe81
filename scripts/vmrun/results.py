"""Each test's verdict, and the report at the end of the run."""

from .skips import WHOLE


def log(msg):
    print(msg, flush=True)


class Results:
    def __init__(self, skips, emulator):
        self.skips = skips
        self.emulator = emulator
        self.verdicts = {}      # set/test -> (status, detail), in run order
        self.kernel = []        # (where, line): kernel lines that fail
        self.errors = []        # reasons the run itself failed

    def record(self, test, status, detail):
        self.verdicts[test.name] = (status, detail)

    def finished(self, test, status, why, output, failed_by):
        """/init's result for a test, judged with what else is known.

        failed_by: reasons seen outside the test's TAP (kernel lines).
        Whatever its exit status, a test fails when its own TAP reports
        a failure or its SKIPs differ from the pinned ones.  A failure
        with no other reason than one assertion pinned in
        vm/emulator-faults is the emulator's (EMUL).
        """
        reasons = [] if status != 'FAIL' else [why]
        reasons += [f'TAP: {f}' for f in output.failures]
        seen = set(output.skips) | ({WHOLE} if status == 'SKIP' else set())
        reasons += self.skips.check(test.set, test.test, seen)
        reasons += failed_by
        fault = self.emulator.explains(test.test, output.asserts)
        if reasons == [why] and fault:
            self.record(test, 'EMUL', f'{why}: "{fault}", a fault of the '
                        f'emulated CPU ({self.emulator.path})')
        elif reasons:
            self.record(test, 'FAIL', '; '.join(reasons))
        elif status == 'SKIP':
            self.record(test, 'SKIP', output.totals)
        else:
            self.record(test, 'PASS', output.totals)

    def add_reason(self, name, reason):
        status, detail = self.verdicts[name]
        self.verdicts[name] = ('FAIL', f'{detail}; {reason}')

    def outside(self, set_name, what, detail):
        """A failure that belongs to no test: shown under its set."""
        self.verdicts[f'{set_name}/({what})'] = ('FAIL', detail)

    def count(self, status):
        return sum(1 for s, _ in self.verdicts.values() if s == status)

    def report(self, boots, out):
        log('')
        sets = []
        for name in self.verdicts:
            s = name.split('/')[0]
            if s not in sets:
                sets.append(s)
        for s in sets:
            log(f'parameter set {s}:')
            for name, (status, detail) in self.verdicts.items():
                if name.split('/')[0] == s:
                    log(f'  {status:4} {name.split("/", 1)[1]}'
                        + (f'  ({detail})' if detail else ''))
        if self.kernel:
            log('kernel messages that fail the run:')
            for where, line in self.kernel:
                log(f'  [{where}] {line}')
        for e in self.errors:
            log(f'vm-run: error: {e}')
        failed = self.count('FAIL')
        log(f'{boots} boot(s); serial logs: {out}/serial.N.log')
        emul = self.count('EMUL')
        log(f'{self.count("PASS")} passed, {failed} failed, '
            f'{self.count("SKIP")} skipped'
            + (f', {emul} failed by the emulated CPU' if emul else ''))
        return 1 if failed or self.errors or self.kernel else 0
