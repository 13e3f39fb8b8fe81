"""The plan: every test of the test list under every parameter set whose
machine it needs."""

import os
import subprocess

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib.sh')


def read_list(path):
    """Entries of a "name value... # comment" file, as lists of words.

    scripts/lib.sh's read_list is the one parser of that format; the
    Makefile and the shell scripts use it too.
    """
    out = subprocess.run(['sh', '-c', '. "$0" && read_list "$1"', LIB, path],
                         check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()]


# The machine a parameter set runs on, and the one a test needs: "cpus=N"
# among a set's parameters or after a test's limit.  A set runs the tests
# that need its machine; without it, both mean the 1-CPU machine.
CPUS = 'cpus='


def split_cpus(words):
    """(CPU count, the other words) of a matrix or test list row."""
    cpus = [int(w[len(CPUS):]) for w in words if w.startswith(CPUS)]
    return (cpus[-1] if cpus else 1,
            [w for w in words if not w.startswith(CPUS)])


class Test:
    """One test in one parameter set, and the machine it runs on."""

    def __init__(self, set_name, params, test, limit, cpus):
        self.set = set_name
        self.params = params
        self.test = test
        self.limit = limit
        self.cpus = cpus
        self.name = f'{set_name}/{test}'


def make_plan(matrix, tests, default_limit):
    plan = []
    for row in read_list(matrix):
        cpus, params = split_cpus(row[1:])
        for t in read_list(tests):
            need, t = split_cpus(t)
            if need != cpus:
                continue
            limit = int(t[1]) if len(t) > 1 else default_limit
            plan.append(Test(row[0], ' '.join(params), t[0], limit, cpus))
    return plan


def write_plan(todo, path):
    """The guest's /plan: "<set>;<kvm_intel parameters>;<test>" lines."""
    with open(path, 'w') as f:
        for t in todo:
            f.write(f'{t.set};{t.params};{t.test}\n')
