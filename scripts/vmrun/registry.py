#!/usr/bin/env python3
"""The registry of what runs on the emulated machine (vm/tests.cfg; its
head says the format): parameter sets, suites and tests.

As a program it answers the Makefile and the shell scripts, so that
nothing else reads the file:
  registry.py FILE programs            every program a test runs
  registry.py FILE renames KERNEL      TEST:NAME of each selftest that
                                       is NAME on KERNEL
  registry.py FILE sets SUITE          NAME CPUS PARAMS... of each of the
                                       suite's parameter sets
"""

import os
import re
import shlex
import sys

TRUE, FALSE = {'Y', 'y', '1'}, {'N', 'n', '0'}


def parse(path):
    """[(header, [(key, value)...])...] in file order; a key may repeat."""
    stanzas = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split('#', 1)[0].rstrip()
            if not line:
                continue
            where = f'{path}:{n}'
            if line[0] in ' \t':
                if not stanzas or not stanzas[-1][1]:
                    raise ValueError(f'{where}: a continuation of nothing')
                key, value = stanzas[-1][1][-1]
                stanzas[-1][1][-1] = (key, f'{value} {line.strip()}')
            elif line.startswith('['):
                if not line.endswith(']'):
                    raise ValueError(f'{where}: {line!r} is no [stanza]')
                stanzas.append((line[1:-1].strip(), []))
            elif '=' in line and stanzas:
                key, value = line.split('=', 1)
                stanzas[-1][1].append((key.strip(), value.strip()))
            else:
                raise ValueError(f'{where}: {line!r} is no "key = value"')
    return stanzas


def params_dict(text):
    return dict(w.split('=', 1) for w in text.split() if '=' in w)


def holds(cond, params):
    """Whether COND (PARAM=VALUE|...) holds for a set's parameters."""
    for alt in cond.split('|'):
        key, want = alt.strip().split('=', 1)
        have = params.get(key)
        if have == want or (want in TRUE and have in TRUE) or \
                (want in FALSE and have in FALSE):
            return True
    return False


class Set:
    def __init__(self, name, fields, defaults):
        self.name = name
        self.params = ' '.join(v for k, v in fields if k == 'params')
        self.cpus = int(dict(fields).get('cpus', 1))
        self.effective = dict(defaults, **params_dict(self.params))


class TestEntry:
    """A test of the registry (a [TEST] stanza)."""

    def __init__(self, name, fields):
        self.name = name
        one = dict(fields)
        self.suites = one.get('suites', '').split()
        self.run = one.get('run', name)
        self.limit = one.get('limit', '300')
        self.cpus = int(one.get('cpus', 1))
        self.megs = int(one.get('megs', 1024))
        self.kernels = one.get('kernels', '').split()
        self.names = {k[len('name.'):]: v for k, v in fields
                      if k.startswith('name.')}
        self.skips = []         # (condition, [subtest...] or None)
        self.faults = set()
        for key, value in fields:
            if key == 'skip':
                cond, _, subs = value.partition(':')
                self.skips.append((cond.strip(),
                                   shlex.split(subs) if subs else None))
            elif key == 'fault':
                self.faults.add(' '.join(value.split()))

    def words(self):
        return self.run.split()


class Registry:
    def __init__(self, path):
        self.path = path
        self.sets, self.suites, self.tests = {}, {}, {}
        stanzas = parse(path)
        defaults = {}
        for head, fields in stanzas:
            if head == 'defaults':
                defaults = params_dict(dict(fields).get('params', ''))
        for head, fields in stanzas:
            kind, _, name = head.partition(' ')
            if kind == 'set':
                self.sets[name] = Set(name, fields, defaults)
            elif kind == 'suite':
                self.suites[name] = dict(fields).get('sets', '').split()
            elif head != 'defaults':
                self.tests[head] = TestEntry(head, fields)
        for suite, sets in self.suites.items():
            for s in sets:
                if s not in self.sets:
                    raise ValueError(f'{path}: suite {suite}: no set {s}')
        for t in self.tests.values():
            for s in t.suites:
                if s not in self.suites:
                    raise ValueError(f'{path}: {t.name}: no suite {s}')

    def plan(self, suite, kernel):
        """(set, test) for each test of SUITE in each of its sets on the
        machine the test needs, in run order: set by set, in file order."""
        if suite not in self.suites:
            raise ValueError(f'{self.path}: no suite {suite}; one of '
                             f'{" ".join(self.suites)}')
        return [(self.sets[s], t) for s in self.suites[suite]
                for t in self.tests.values()
                if suite in t.suites and t.cpus == self.sets[s].cpus
                and (not t.kernels or kernel in t.kernels)]

    def expected_skips(self, set_name, test, whole):
        """The SKIPs expected of TEST in SET: subtest names, or {WHOLE}
        for the whole test (whose subtests then do not run at all)."""
        t, s = self.tests.get(test), self.sets.get(set_name)
        if t is None or s is None:
            return set()
        out = set()
        for cond, subs in t.skips:
            if holds(cond, s.effective):
                out.update(subs if subs is not None else [whole])
        return {whole} if whole in out else out

    def faults(self, test):
        t = self.tests.get(test)
        return t.faults if t else set()


def expand(text):
    """${VAR} from the environment; an unset one is an error."""
    def var(m):
        if m.group(1) not in os.environ:
            raise ValueError(f'${{{m.group(1)}}} is not set')
        return os.environ[m.group(1)]
    return re.sub(r'\$\{(\w+)\}', var, text)


def main(argv):
    reg = Registry(argv[1])
    if argv[2] == 'programs':
        words = []
        for t in reg.tests.values():
            words += [w for w in t.words() if w not in words and
                      re.fullmatch(r'[A-Za-z_]\w*', w)]
        print(' '.join(words))
    elif argv[2] == 'sets':
        for name in reg.suites[argv[3]]:
            s = reg.sets[name]
            print(f'{name} {s.cpus} {s.params}'.rstrip())
    elif argv[2] == 'renames':
        print(' '.join(f'{t.name}:{t.names[argv[3]]}'
                       for t in reg.tests.values() if argv[3] in t.names))
    else:
        raise SystemExit(f'usage: {argv[0]} FILE programs|renames KERNEL|'
                         'sets SUITE')


if __name__ == '__main__':
    main(sys.argv)
