"""The plan: every test of a suite of the registry (vm/tests.cfg) under
every parameter set of the suite whose machine it needs."""

from .registry import expand


class Test:
    """One test in one parameter set, and the machine it runs on."""

    def __init__(self, set_name, params, test, limit, cpus, command=None,
                 megs=1024):
        self.set = set_name
        self.params = params
        self.test = test
        self.limit = limit
        self.cpus = cpus
        self.megs = megs
        self.command = command or test
        self.name = f'{set_name}/{test}'

    @property
    def machine(self):
        """What a boot must match to run it: CPUs and memory."""
        return (self.cpus, self.megs)


def make_plan(registry, suite, kernel):
    """The suite's tests in run order; ${VAR} in a test's run and limit
    from the environment."""
    return [Test(s.name, s.params, t.name, int(expand(t.limit)), s.cpus,
                 expand(t.run), t.megs)
            for s, t in registry.plan(suite, kernel)]


def write_plan(todo, path):
    """The guest's /plan: "<set>;<kvm_intel parameters>;<test>;<command>"
    lines (vm/init)."""
    with open(path, 'w') as f:
        for t in todo:
            f.write(f'{t.set};{t.params};{t.test};{t.command}\n')
