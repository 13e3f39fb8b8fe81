"""One boot of the emulated machine: its CD and its Bochs process."""

import os
import signal
import subprocess

from .plan import write_plan


class Boot:
    """Bochs running over a CD built for the tests left."""

    def __init__(self, args, n, lane, todo):
        self.n = n
        out = args.out
        self.serial = os.path.join(out, f'serial.{n}.log')
        self.bochslog = os.path.join(out, f'bochs.{n}.log')
        self.bochsout = os.path.join(out, f'bochs.{n}.out')
        plan = os.path.join(out, f'plan.{n}')
        iso = os.path.join(out, f'test.{lane}.iso')
        write_plan(todo, plan)
        subprocess.run(args.image + [plan, iso], check=True)
        self.cpus, self.megs = todo[0].machine
        rcfile = self._bochsrc(args.bochsrc, iso, os.path.join(out,
                                                               f'bochsrc.{n}'))
        open(self.serial, 'w').close()
        self.out = open(self.bochsout, 'w')
        self.proc = subprocess.Popen(
            [args.bochs, '-q', '-f', rcfile],
            stdin=subprocess.DEVNULL, stdout=self.out,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.pos = 0
        self.partial = ''

    def _bochsrc(self, template, iso, path):
        with open(template) as f:
            rc = f.read()
        with open(path, 'w') as f:
            f.write(rc.replace('@ISO@', iso).replace('@SERIAL@', self.serial)
                    .replace('@LOG@', self.bochslog)
                    .replace('@CPUS@', str(self.cpus))
                    .replace('@MEGS@', str(self.megs)))
        return path

    def lines(self):
        """The complete serial lines printed since the last call."""
        with open(self.serial, errors='replace') as f:
            f.seek(self.pos)
            data = f.read()
            self.pos = f.tell()
        *done, self.partial = (self.partial + data).split('\n')
        return [line.rstrip('\r') for line in done]

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        if self.running():
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.out.close()

    def died_early(self):
        """Bochs ended by itself, not by poweroff nor by our SIGKILL."""
        return self.proc.returncode not in (0, -signal.SIGKILL)
