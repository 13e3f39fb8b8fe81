"""The time limits of one boot, in host wall time.

Guest time under Bochs (clock: sync=none) runs 30-70 times slower than
the host's, so a limit inside the guest would never fire in useful
time: the host watches the serial log instead.
"""

import time


class Watchdog:
    def __init__(self, boot_timeout, stall, limits):
        self.boot_timeout = boot_timeout
        self.stall = stall
        self.limits = limits            # set/test -> seconds
        self.started = time.monotonic()
        self.last_line = self.started
        self.test_start = None

    def saw_line(self):
        self.last_line = time.monotonic()

    def test_started(self):
        self.test_start = time.monotonic()

    def took(self):
        return time.monotonic() - (self.test_start or self.started)

    def expired(self, booted, current):
        """('boot'|'stall'|'timeout', seconds) for a limit passed, or None.

        A stall is silence outside any test: /init between two tests, or
        loading the modules, printed nothing for that long.
        """
        now = time.monotonic()
        if not booted:
            if now - self.started > self.boot_timeout:
                return ('boot', self.boot_timeout)
        elif current is None:
            if now - self.last_line > self.stall:
                return ('stall', self.stall)
        elif now - self.test_start > self.limits[current]:
            return ('timeout', self.limits[current])
        return None
