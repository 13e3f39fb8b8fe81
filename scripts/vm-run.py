#!/usr/bin/env python3
"""Run a test plan on the emulated Intel machine (Bochs) and report.

The plan is a suite of the registry (vm/tests.cfg): its tests under its
kvm_intel parameter sets; scripts/vmrun/ does the work, its package
docstring says which module does what.
"""

import argparse
import os
import sys

from vmrun import runner


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--registry', required=True,
                    help='the sets, suites and tests (vm/tests.cfg)')
    ap.add_argument('--suite', required=True, help="the registry's suite")
    ap.add_argument('--kernel', required=True,
                    help='the kernel tested (for tests of some kernels)')
    ap.add_argument('--bochs', required=True,
                    help='the emulator binary (make emulator builds it)')
    ap.add_argument('--bochsrc', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--boot-timeout', type=int, default=300)
    ap.add_argument('--stall', type=int, default=90,
                    help='limit for silence outside any test, seconds')
    ap.add_argument('--show', help='print the output of the tests whose '
                    'set/name matches this regular expression')
    ap.add_argument('--jobs', type=int, default=1,
                    help='emulated machines booted at the same time, each '
                    'running its share of the parameter sets')
    ap.add_argument('--cpus', type=int,
                    help="only the sets of the machine with this many CPUs")
    ap.add_argument('--wall', type=int, default=3000,
                    help='limit for the whole run, seconds')
    ap.add_argument('image', nargs='+',
                    help='command that builds the CD: IMAGE... PLAN ISO')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sys.exit(runner.run(args))


if __name__ == '__main__':
    main()
