"""The SKIPs expected per parameter set (vm/skips; its head says the format).

A SKIP that is not pinned, or a pinned one that did not happen, fails
the test: a case that silently stops running is as bad as one failing.
"""

from .plan import read_list

WHOLE = '-'     # the subtest column of a whole test that SKIPs


class Skips:
    def __init__(self, path):
        self.path = path
        self.expected = {}      # (set, test) -> {subtest or WHOLE}
        for row in read_list(path) if path else []:
            sub = ' '.join(row[2:]) or WHOLE
            self.expected.setdefault((row[0], row[1]), set()).add(sub)

    def check(self, set_name, test, seen):
        """Why the SKIPs seen (a set of names) are wrong; [] when right."""
        want = self.expected.get((set_name, test), set())
        why = []
        for sub in sorted(seen - want):
            what, line = ('the whole test', f'{set_name} {test}') \
                if sub == WHOLE else (sub, f'{set_name} {test} {sub}')
            why.append(f'unexpected SKIP of {what} (not in {self.path}: '
                       f'"{line}")')
        for sub in sorted(want - seen):
            what = 'the whole test' if sub == WHOLE else sub
            why.append(f'expected SKIP of {what} did not happen '
                       f'({self.path} pins it)')
        return why
