"""Known faults of the emulated CPU: the fault lines of the registry
(vm/tests.cfg).

A test that fails with nothing against it but its exit status and one
of the assertions pinned for it is the emulator's failure, not KVM's:
its verdict is EMUL, counted apart in the report, and does not fail
the run.  Anything else in the same test (a TAP failure, a SKIP not
expected, a kernel warning, another assertion) still fails it.
"""


def words(text):
    return ' '.join(text.split())


class EmulatorFaults:
    def __init__(self, registry):
        self.registry = registry
        self.path = registry.path

    def explains(self, test, asserts):
        """The pinned assertion behind a failure whose only assertion
        is it, or None."""
        seen = {words(a) for a in asserts}
        if len(seen) == 1 and seen <= self.registry.faults(test):
            return seen.pop()
        return None
