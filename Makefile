# Nested VPID for KVM nVMX: build, test and run.  See README.md.
#
#   make run     build everything, boot the emulated Intel machine and
#                show nested VPID at work
#   make check   everything that proves the project (CI runs this)

include config.mk

# The kernel to build for and test on (config.mk): make KERNEL=6.12-deb13 ...
KERNEL		?= $(DEFAULT_KERNEL)
ifeq ($(filter $(KERNEL),$(KERNELS)),)
$(error KERNEL=$(KERNEL) is not in config.mk; one of: $(KERNELS))
endif
# Everything built for it; build/chroot holds the chroots they share.
BUILD		:= build/$(KERNEL)
CACHE		:= $(BUILD)/cache
TREE		:= $(BUILD)/linux
MODULES		:= $(BUILD)/modules
SELFTESTS	:= $(BUILD)/selftests
VM		:= $(BUILD)/vm
KSELFTEST	:= $(TREE)/tools/testing/selftests/kvm

# The tests the emulated machine runs, the kvm_intel parameter sets, and
# the SKIPs expected per set (the file's head says its format).
VM_TESTS	?= vm/tests
VM_MATRIX	?= vm/matrix
VM_SKIPS	?= vm/skips
VM_EMULATOR_FAULTS ?= vm/emulator-faults
# Per-run limit for the whole emulated test run, and for a guest silent
# outside any test, in seconds.
VM_WALL		?= 3000
VM_STALL	?= 90
# Emulated machines booted at the same time, each running its share of
# the parameter sets (one per core; Bochs uses one).
VM_JOBS		?= $(shell nproc)
# What a run on the emulated machine builds first; make check's stages
# (scripts/check.py) build once per kernel and pass VM_DEPS= .
VM_DEPS		?= modules selftests
# VM_LANE=I/N runs only the I-th of the N lanes that VM_JOBS=N would
# run side by side (make check runs each lane as a stage of its own).
VM_LANE		?=
# Where vm-test keeps its logs (serial.N.log, bochs.N.log).
VM_OUT		?= $(VM)/test
# VM_SHOW=REGEX prints the output of the tests whose set/name matches.
VM_SHOW		?=

TEST_NAMES	= $(shell . scripts/lib.sh && read_list $(VM_TESTS) | cut -d' ' -f1)
# The script make fuzz-l1 writes into $(SELFTESTS).
FUZZ_L1_NAME	:= nested_vpid_fuzz_l1
HARNESS_TESTS	:= $(notdir $(wildcard vm/harness/*) $(wildcard vm/guest/*)) \
		   vmx_caps $(FUZZ_L1_NAME)
# The benchmark is always built: vm/guest/nested_vpid_bench_* run it with
# arguments; so is nested_vpid_smp_test, which vm/guest/nested_vpid_smp runs.
BENCH_NAME	:= nested_vpid_bench
GUEST_BINS	:= $(BENCH_NAME) nested_vpid_smp_test
# The programs the L1 Linux of make l1-linux runs, named in its /init.
L1_PROGRAMS	:= $(shell sed -n 's/^L1_[A-Z]*=\([a-z0-9_,]*\)$$/\1/p' vm/l1/init | tr , ' ')
# TEST+WRAPPER in a list: vm/guest/WRAPPER runs TEST (vm/init).
KSELFTEST_NAMES	= $(filter-out $(HARNESS_TESTS) $(GUEST_BINS),\
		    $(sort $(subst +, ,$(TEST_NAMES)))) $(GUEST_BINS) $(L1_PROGRAMS)
# A selftest's path in the selftests' tree: x86_64/NAME (6.12), x86/NAME
# (7.3), or NAME for the tests of every architecture.
kselftest_path	= $(foreach n,$(1),$(if $(wildcard $(KSELFTEST)/x86_64/$(n).c),x86_64/,$(if \
		    $(wildcard $(KSELFTEST)/x86/$(n).c),x86/))$(n))
# The name a test of the lists has in this kernel (config.mk's _RENAMED).
kselftest_name	= $(or $(patsubst $(1):%,%,$(filter $(1):%,$($(KERNEL)_RENAMED))),$(1))
kselftest_bin	= $(call kselftest_path,$(call kselftest_name,$(1)))

VM_RUN		= scripts/vm-run.py --bochsrc vm/bochsrc --wall $(VM_WALL) \
		  --stall $(VM_STALL) \
		  --jobs $(VM_JOBS) $(if $(VM_LANE),--lane $(VM_LANE)) \
		  --matrix $(VM_MATRIX) --skips $(VM_SKIPS) \
		  --emulator-faults $(VM_EMULATOR_FAULTS) \
		  $(if $(VM_SHOW),--show '$(VM_SHOW)')
VM_IMAGE	= scripts/vm-image.sh $(CACHE) $(TREE) $(MODULES) $(SELFTESTS)

# The benchmark: results in $(BUILD)/bench (make bench) or
# $(BUILD)/bench-host (make bench-host); make run puts its own short
# table in $(BUILD)/run.
BENCH_OUT	:= $(BUILD)/bench
BENCH_REPORT	= scripts/bench-report.py
# The kernel release built: versions.env's (written by 'make fetch'),
# config.mk's when nothing was fetched yet.
BUILT_RELEASE	= $(or $(shell sed -n 's/^KERNEL_RELEASE=//p' \
		    $(CACHE)/versions.env 2>/dev/null),$($(KERNEL)_RELEASE))
BENCH_WHERE	= Bochs 2.7 (tigerlake; emulated VMX), L0 kernel $(BUILT_RELEASE) \
		  with the patched kvm modules

.PHONY: all deps fetch tree modules selftests vm-test harness-check \
	unit fuzz coverage lint series-edit series-export series-check check check-full check-series \
	run bench bench-host fuzz-l1 l1-linux deb deb-test \
	install uninstall clean

all: modules selftests

deps:
	@scripts/deps.sh

fetch: deps
	@scripts/fetch.sh $(KERNEL) $(CACHE)

tree: fetch
	@scripts/tree.sh $(CACHE) $(TREE)

modules: tree
	@scripts/modules.sh $(CACHE) $(TREE) $(MODULES)

selftests: modules
	@echo "selftests: $(KSELFTEST_NAMES)"
	@scripts/kmake.sh $(CACHE) $(TREE) -s headers >/dev/null
	@scripts/kmake.sh $(CACHE) $(TREE) -s -C $(KSELFTEST:$(TREE)/%=%) \
		OUTPUT=$(abspath $(KSELFTEST)) USERLDFLAGS=-static \
		$(foreach n,$(KSELFTEST_NAMES),$(abspath $(KSELFTEST))/$(call kselftest_bin,$(n)))
	@mkdir -p $(SELFTESTS)
	@$(foreach n,$(KSELFTEST_NAMES),cp $(KSELFTEST)/$(call kselftest_bin,$(n)) $(SELFTESTS)/$(n) &&) \
		cp vm/harness/* vm/guest/* $(SELFTESTS)/
	@$(CC) -Wall -Wextra -O2 -static -isystem $(TREE)/usr/include \
		-o $(SELFTESTS)/vmx_caps vm/vmx_caps.c

vm-test: $(VM_DEPS)
	@mkdir -p $(VM_OUT)
	@rm -f $(VM_OUT)/serial.*.log
	@$(VM_RUN) --tests $(VM_TESTS) --out $(VM_OUT) $(VM_IMAGE)

# The harness must be able to fail: each test of vm/harness-tests has to
# turn vm-test red with its own reason (scripts/harness-check.py).
harness-check: $(VM_DEPS)
	@scripts/harness-check.py "$(MAKE)" $(VM)

# User-space tests of vpid.c, and of mmu.c's root filter taken from the
# patched tree (tests/Makefile); unit also runs the tests of the
# emulated-machine runner's verdicts on recorded serial logs (tests/vmrun).
FUZZ_SECONDS	?= 60
TESTS_ARGS	= TREE=$(abspath $(TREE)) BUILD=$(abspath $(BUILD)/tests)
unit: tree
	@PYTHONPATH=scripts python3 -m unittest discover -s tests/vmrun
	@$(MAKE) -s -C tests unit $(TESTS_ARGS)
fuzz: tree
	@$(MAKE) -s -C tests fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) $(TESTS_ARGS)
coverage: tree
	@$(MAKE) -s -C tests coverage $(TESTS_ARGS)

# checkpatch --strict, sparse and W=1 (scripts/lint.sh).
lint: modules
	@scripts/lint.sh $(CACHE) $(TREE)

# Edit the series as git commits in $(BUILD)/series-edit, then export it.
series-edit: fetch
	@scripts/series-edit.sh $(CACHE) $(BUILD)/series-edit init
series-export:
	@scripts/series-edit.sh $(CACHE) $(BUILD)/series-edit export

# Every prefix of the kernel's series applies and builds kvm on its own.
series-check: fetch
	@scripts/series-check.sh $(CACHE) $(BUILD)/series-check

# make check: everything that proves the project, as much as fits into
# CI's 90 minutes on 2 cores: for 6.12-deb12 and 7.3-deb13 their build,
# the full vm-test matrix, lint, unit tests and deb-test; for 6.12-deb12
# also l1-linux's short run and harness-check; for 6.12-deb13 (built with
# gcc-14) make run.  scripts/check.py runs these stages side by side, one
# per core, each with its own log in build/check/, and ends with a
# summary.  make check-full adds what does not fit: series-check of both
# series (about 13 minutes each).
check: deps
	@scripts/check.py
check-full: deps
	@scripts/check.py --full

# lint and series-check of every series, each on the first kernel of
# KERNELS that uses it.
SERIES_KERNELS	= $(foreach s,$(sort $(foreach k,$(KERNELS),$($(k)_SERIES))),\
		    $(firstword $(foreach k,$(KERNELS),\
			$(if $(filter $(s),$($(k)_SERIES)),$(k)))))
check-series:
	@$(foreach k,$(SERIES_KERNELS),echo "check-series: $(k)" && \
		$(MAKE) -s KERNEL=$(k) lint series-check &&) true

# The Debian package for hosts (dkms/; scripts/deb.sh):
# build/deb/nested-vpid-dkms_VERSION_all.deb, with the series of every
# base; deb-test installs it in a clean chroot of KERNEL's Debian release,
# builds it with DKMS for KERNEL, checks and removes it
# (scripts/deb-test.sh).
DEB_OUT		:= build/deb
deb:
	@scripts/deb.sh $(DEB_OUT) $(sort $(foreach k,$(KERNELS),$($(k)_SERIES)))
deb-test: deb fetch
	@scripts/deb-test.sh $(CACHE) $(wildcard $(DEB_OUT)/nested-vpid-dkms_*_all.deb) \
		$(BUILD)/deb-test

# The L1 fuzzer of nested_vpid_test for longer, in every set of
# VM_MATRIX: FUZZ_L1_PROGRAMS programs from FUZZ_L1_SEED (random unless
# given; printed, and in the test's output), each set on its own.
FUZZ_L1_PROGRAMS ?= 1000
FUZZ_L1_LIMIT	?= 1800
fuzz-l1: modules selftests
	@seed=$${FUZZ_L1_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzz-l1: seed $$seed, $(FUZZ_L1_PROGRAMS) programs per set"; \
	printf '#!/bin/sh\nexec /tests/nested_vpid_test -s %s -n %s\n' \
		"$$seed" $(FUZZ_L1_PROGRAMS) > $(SELFTESTS)/$(FUZZ_L1_NAME); \
	chmod +x $(SELFTESTS)/$(FUZZ_L1_NAME); mkdir -p $(VM); \
	printf '%s\t%s\n' $(FUZZ_L1_NAME) $(FUZZ_L1_LIMIT) > $(VM)/fuzz-l1-tests
	@$(MAKE) -s vm-test VM_TESTS=$(VM)/fuzz-l1-tests VM_OUT=$(VM)/fuzz-l1 \
		VM_SHOW=$(FUZZ_L1_NAME)

# Show nested VPID at work: what L1 is told, the tests and the
# benchmark's W1 and W2 in each mode, then the modes side by side.
run: $(VM_DEPS)
	@rc=0; $(MAKE) -s vm-test VM_TESTS=vm/run-tests VM_MATRIX=vm/run-matrix \
		VM_OUT=$(VM)/run VM_SHOW='/vmx_caps' || rc=$$?; \
	echo; $(BENCH_REPORT) --out $(BUILD)/run --where '$(BENCH_WHERE)' \
		$(VM)/run/results.json || rc=1; exit $$rc

# Linux KVM as a real L1: in each mode of vm/run-matrix, QEMU boots an L1
# Linux on our modules, whose stock KVM runs K L2 VMs round-robin on one
# CPU and a few of its own selftests (vm/guest/nested_vpid_l1_linux,
# vm/l1/init); then $(BUILD)/l1-linux/results.{csv,md}.
# make check runs the short list (vm/l1-linux-check-tests).
L1_OUT		:= $(BUILD)/l1-linux
L1_LINUX_TESTS	?= vm/l1-linux-tests
l1-linux: $(VM_DEPS)
	@rc=0; $(MAKE) -s vm-test VM_TESTS=$(L1_LINUX_TESTS) \
		VM_MATRIX=vm/run-matrix VM_OUT=$(VM)/l1-linux \
		VM_SHOW='/nested_vpid_l1_linux' || rc=$$?; \
	echo; $(BENCH_REPORT) --out $(L1_OUT) --where '$(BENCH_WHERE)' \
		$(VM)/l1-linux/results.json || rc=1; exit $$rc

# The benchmark under every mode of vm/matrix in one boot of the
# emulated machine, then $(BUILD)/bench/results.{csv,md} and flushes.png.
bench: $(VM_DEPS)
	@rc=0; $(MAKE) -s vm-test VM_TESTS=vm/bench-tests \
		VM_MATRIX=vm/matrix VM_OUT=$(VM)/bench \
		VM_SHOW='/nested_vpid_bench' || rc=$$?; \
	echo; $(BENCH_REPORT) --out $(BENCH_OUT) --where '$(BENCH_WHERE)' \
		$(VM)/bench/results.json || rc=1; exit $$rc

# Real Intel hosts (root): the modules built for the running kernel, of
# whichever KERNEL that is, into /lib/modules/<release>/updates. Needs
# 'make modules' first (as a normal user); refuses unless root, a
# kernel built is the one running and the CPU has VMX.
install:
	@scripts/install.sh install build

uninstall:
	@scripts/install.sh uninstall build

# The benchmark natively, on a host where 'make install' put the modules.
bench-host: tree
	@$(MAKE) -s selftests VM_TESTS=/dev/null
	@scripts/bench-host.sh build $(SELFTESTS)/$(BENCH_NAME) $(BUILD)/bench-host \
		vm/matrix

clean:
	rm -rf build
