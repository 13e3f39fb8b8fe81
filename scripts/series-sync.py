#!/usr/bin/env python3
"""make series-sync: are the two series the same change?

7.3's series is the canonical one and 6.12's its backport: a change made
to a patch of one must be made to the other.  For each pair of patches
with the same subject, this compares the two after taking out what
always differs between kernels (commit hashes, blob indexes, patch
numbers, hunk line numbers, the diffstat, the selftests' x86_64/
directory, which 7.3 calls x86/), and a patch that is in one series only
is a difference too.  The differences that are genuine (the selftest
library of each kernel, vcpu_get_stat(), RSM, the kernels' own context
lines, ...) are recorded in patches/series-sync.txt; any difference
that is not recorded there, or a recorded one that is gone, fails, with
the lines that changed.  After a deliberate change to one series only,
`make series-sync UPDATE=1` records the new differences (review them in
the diff of that file).

usage: series-sync.py [--update] RECORD CANONICAL_DIR BACKPORT_DIR
"""

import argparse
import difflib
import os
import re
import sys

DROP = [
    re.compile(r'^From [0-9a-f]{40} '),     # the commit of the export
    re.compile(r'^Date: '),                 # ... and its date
    re.compile(r'^index [0-9a-f]+\.\.[0-9a-f]+'),
    re.compile(r'^ \S.* \| +\d+ ?[+-]*$'),  # diffstat: a file's line
    re.compile(r'^ \d+ files? changed'),    # diffstat: its total
    re.compile(r'^-- $'),                   # the signature ...
    re.compile(r'^\d+\.\d+(\.\d+)*$'),      # ... and git's version
]


def normalize(text):
    """The lines of a patch that must be the same in both series."""
    out = []
    for line in text.splitlines():
        if any(p.match(line) for p in DROP):
            continue
        line = re.sub(r'^Subject: \[PATCH \d+/\d+\]', 'Subject: [PATCH]', line)
        line = re.sub(r'^@@ -\d+(,\d+)? \+\d+(,\d+)? @@', '@@', line)
        line = line.replace('selftests/kvm/x86_64/', 'selftests/kvm/x86/')
        out.append(line)
    return out


def subject(lines):
    """A patch's subject, its continuation lines joined."""
    for i, line in enumerate(lines):
        if line.startswith('Subject: [PATCH]'):
            s = line[len('Subject: [PATCH]'):].strip()
            for cont in lines[i + 1:]:
                if not cont.startswith(' '):
                    break
                s += cont
            return s
    return None


def load(directory):
    """{subject: normalized lines} of the series in @directory, in order."""
    patches = {}
    with open(os.path.join(directory, 'series')) as f:
        names = [n.strip() for n in f if n.strip()]
    for name in names:
        with open(os.path.join(directory, name), errors='replace') as f:
            lines = normalize(f.read())
        s = subject(lines)
        if s is None:
            raise SystemExit(f'series-sync: {directory}/{name}: no subject')
        patches[s] = lines
    return patches


def differences(canon_dir, back_dir):
    """The text of every difference between the two series."""
    canon, back = load(canon_dir), load(back_dir)
    out = []
    for s in canon:
        if s not in back:
            out.append(f'=== only in {os.path.basename(canon_dir)}: {s}\n')
    for s in back:
        if s not in canon:
            out.append(f'=== only in {os.path.basename(back_dir)}: {s}\n')
            continue
        diff = list(difflib.unified_diff(canon[s], back[s], lineterm='',
                                         n=1))
        if diff:
            body = [line for line in diff[2:]
                    if not line.startswith('@@ ')]   # difflib's line numbers
            out.append(f'=== {s}\n' + '\n'.join(body) + '\n')
    return ''.join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--update', action='store_true',
                    help='record the differences found as the genuine ones')
    ap.add_argument('record')
    ap.add_argument('canonical')
    ap.add_argument('backport')
    args = ap.parse_args()

    found = differences(args.canonical, args.backport)
    header = ('# The genuine differences between the series (make '
              'series-sync;\n# scripts/series-sync.py).  Recorded with '
              'UPDATE=1, not edited.\n')
    if args.update:
        with open(args.record, 'w') as f:
            f.write(header + found)
        print(f'series-sync: recorded {found.count("=== ")} differences in '
              f'{args.record}')
        return 0
    try:
        with open(args.record) as f:
            recorded = f.read()
    except FileNotFoundError:
        recorded = header
    if header + found == recorded:
        print(f'series-sync: the series differ only as recorded '
              f'({found.count("=== ")} patches in {args.record})')
        return 0
    print('series-sync: the series differ beyond what is recorded in '
          f'{args.record} (- recorded, + now):', file=sys.stderr)
    for line in difflib.unified_diff(recorded.splitlines(),
                                     (header + found).splitlines(),
                                     'recorded', 'now', lineterm='', n=2):
        print(line, file=sys.stderr)
    print('series-sync: make the same change to the other series, or, if '
          'the difference is genuine, make series-sync UPDATE=1',
          file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
