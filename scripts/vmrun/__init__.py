"""Run a test plan on the emulated Intel machine (Bochs) and report.

registry  vm/tests.cfg: parameter sets, suites, tests, skips, faults
plan      the tests to run: a suite's tests x its sets
machine   the boot CD and the Bochs process of one boot
serial    the serial console, read as TAP from /init plus kernel lines
watchdog  the time limits: boot, per test, silence outside any test
skips     the SKIPs expected per parameter set (the registry's conditions)
emulator  the known faults of the emulated CPU (the registry's faults)
results   each test's verdict, the report and results.json
runner    boots until the plan is done
"""
