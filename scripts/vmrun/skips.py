"""The SKIPs expected per parameter set: the skip conditions of the
registry (vm/tests.cfg), on the set's kvm_intel parameters.

A SKIP that is not expected, or an expected one that did not happen,
fails the test: a case that silently stops running is as bad as one
failing.
"""

WHOLE = '-'     # the name of a whole test that SKIPs


class Skips:
    def __init__(self, registry):
        self.registry = registry

    def check(self, set_name, test, seen):
        """Why the SKIPs seen (a set of names) are wrong; [] when right."""
        want = self.registry.expected_skips(set_name, test, WHOLE)
        path = self.registry.path
        why = []
        for sub in sorted(seen - want):
            what = 'the whole test' if sub == WHOLE else sub
            why.append(f'unexpected SKIP of {what} (no skip condition of '
                       f'{test} in {path} holds in set {set_name})')
        for sub in sorted(want - seen):
            what = 'the whole test' if sub == WHOLE else sub
            why.append(f'expected SKIP of {what} did not happen (a skip '
                       f'condition of {test} in {path} holds in set '
                       f'{set_name})')
        return why
