"""Known faults of the emulated CPU (vm/emulator-faults; its head says
the format).

A test that fails with nothing against it but its exit status and one
of the assertions pinned for it is the emulator's failure, not KVM's:
its verdict is EMUL, counted apart in the report, and does not fail
the run.  Anything else in the same test (a TAP failure, a SKIP not
pinned, a kernel warning, another assertion) still fails it.
"""

from .plan import read_list


def words(text):
    return ' '.join(text.split())


class EmulatorFaults:
    def __init__(self, path):
        self.path = path
        self.pinned = {}        # test -> {assertion}
        for row in read_list(path) if path else []:
            self.pinned.setdefault(row[0], set()).add(' '.join(row[1:]))

    def explains(self, test, asserts):
        """The pinned assertion behind a failure whose only assertion
        is it, or None."""
        seen = {words(a) for a in asserts}
        if len(seen) == 1 and seen <= self.pinned.get(test, set()):
            return seen.pop()
        return None
