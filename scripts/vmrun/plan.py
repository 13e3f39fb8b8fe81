"""The plan: every test of the test list under every parameter set."""

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


class Test:
    """One test in one parameter set."""

    def __init__(self, set_name, params, test, limit):
        self.set = set_name
        self.params = params
        self.test = test
        self.limit = limit
        self.name = f'{set_name}/{test}'


def make_plan(matrix, tests, default_limit):
    plan = []
    for row in read_list(matrix):
        for t in read_list(tests):
            limit = int(t[1]) if len(t) > 1 else default_limit
            plan.append(Test(row[0], ' '.join(row[1:]), t[0], limit))
    return plan


def write_plan(todo, path):
    """The guest's /plan: "<set>;<kvm_intel parameters>;<test>" lines."""
    with open(path, 'w') as f:
        for t in todo:
            f.write(f'{t.set};{t.params};{t.test}\n')
