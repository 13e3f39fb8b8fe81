"""Run a test plan on the emulated Intel machine (Bochs) and report.

plan      the tests to run: vm/matrix x the test list, and what is left
machine   the boot CD and the Bochs process of one boot
serial    the serial console, read as TAP from /init plus kernel lines
watchdog  the time limits: boot, per test, silence outside any test
skips     the SKIPs expected per parameter set (vm/skips)
emulator  the known faults of the emulated CPU (vm/emulator-faults)
results   each test's verdict, and the report
runner    boots until the plan is done
"""
