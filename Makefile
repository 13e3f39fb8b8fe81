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

# The registry of what runs on the emulated machine: parameter sets,
# suites and tests (its head says the format).  make vm-SUITE runs a
# suite; make vm-test is the suite "test", every test under every set.
VM_REGISTRY	?= vm/tests.cfg
REGISTRY	= scripts/vmrun/registry.py $(VM_REGISTRY)
# Per-run limit for the whole emulated test run, and for a guest silent
# outside any test, in seconds.
VM_WALL		?= 3000
VM_STALL	?= 90
# Emulated machines booted at the same time, each running its share of
# the parameter sets (one per core; Bochs uses one).
VM_JOBS		?= $(shell nproc)
# What a run on the emulated machine builds first; make check's stages
# (scripts/check.py) build once and pass VM_DEPS= .
VM_DEPS		?= modules selftests emulator
# VM_CPUS=N runs only the sets of the N-CPU machine (make check runs
# each machine's sets as a stage of its own: one boot each).
VM_CPUS		?=
# Where make vm-SUITE keeps its logs (serial.N.log, bochs.N.log) and
# results.json: $(VM)/SUITE unless VM_OUT says otherwise.
VM_OUT		?=
# VM_SHOW=REGEX prints the output of the tests whose set/name matches.
VM_SHOW		?=

# What make fuzz-l1 runs (vm/tests.cfg's nested_vpid_fuzz_l1): programs
# from a seed, random unless given.
FUZZ_L1_PROGRAMS ?= 1000
FUZZ_L1_LIMIT	?= 1800
ifndef FUZZ_L1_SEED
FUZZ_L1_SEED	:= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
export FUZZ_L1_SEED FUZZ_L1_PROGRAMS FUZZ_L1_LIMIT

# The programs the tests run (scripts: vm/guest, vm/harness; vmx_caps and
# tlbstat are built from vm/), and those that vm/guest's scripts run: the
# benchmark and nested_vpid_smp_test, and those the L1 Linux of make
# l1-linux runs, named in its /init.
SCRIPTS		:= $(notdir $(wildcard vm/harness/*) $(wildcard vm/guest/*)) vmx_caps tlbstat
BENCH_NAME	:= nested_vpid_bench
GUEST_BINS	:= $(BENCH_NAME) nested_vpid_smp_test
L1_PROGRAMS	:= $(shell sed -n 's/^L1_[A-Z]*=\([a-z0-9_,]*\)$$/\1/p' vm/l1/init | tr , ' ')
# The emulated CPU's own test (vm/tlb_model_test.c), built as a test of
# the tree's kselftests (its architecture's directory, its library).
MODEL_TEST	:= tlb_model_test
KSELFTEST_NAMES	:= $(sort $(filter-out $(SCRIPTS) $(MODEL_TEST),$(shell $(REGISTRY) programs)) \
		    $(GUEST_BINS) $(L1_PROGRAMS))
KSELFTEST_ARCH	= $(if $(wildcard $(KSELFTEST)/x86_64),x86_64,x86)
# make in the selftests' tree, static programs into the tree itself.
KSELFTEST_MAKE	= scripts/kmake.sh $(CACHE) $(TREE) -s -C $(KSELFTEST:$(TREE)/%=%) \
		  OUTPUT=$(abspath $(KSELFTEST)) USERLDFLAGS=-static
# A selftest's path in the selftests' tree: x86_64/NAME (6.12), x86/NAME
# (7.3), or NAME for the tests of every architecture.
kselftest_path	= $(foreach n,$(1),$(if $(wildcard $(KSELFTEST)/x86_64/$(n).c),x86_64/,$(if \
		    $(wildcard $(KSELFTEST)/x86/$(n).c),x86/))$(n))
# The name a test has in this kernel (vm/tests.cfg's name.KERNEL).
RENAMED		:= $(shell $(REGISTRY) renames $(KERNEL))
kselftest_name	= $(or $(patsubst $(1):%,%,$(filter $(1):%,$(RENAMED))),$(1))
kselftest_bin	= $(call kselftest_path,$(call kselftest_name,$(1)))

# The emulated machine, built by make emulator (config.mk's EMULATOR_*).
EMULATOR	:= build/emulator
VM_RUN		= scripts/vm-run.py --bochs $(EMULATOR)/bochs --bochsrc vm/bochsrc --wall $(VM_WALL) \
		  --stall $(VM_STALL) --registry $(VM_REGISTRY) --kernel $(KERNEL) \
		  --jobs $(VM_JOBS) $(if $(VM_CPUS),--cpus $(VM_CPUS)) \
		  $(if $(VM_SHOW),--show '$(VM_SHOW)')
VM_IMAGE	= scripts/vm-image.sh $(CACHE) $(TREE) $(MODULES) $(SELFTESTS)

# The benchmark's tables: in $(BUILD)/SUITE for make bench, run and
# l1-linux (with_tables below), in $(BUILD)/bench-host for make
# bench-host.
BENCH_REPORT	= scripts/bench-report.py
# The kernel release built: versions.env's (written by 'make fetch'),
# config.mk's when nothing was fetched yet.
BUILT_RELEASE	= $(or $(shell sed -n 's/^KERNEL_RELEASE=//p' \
		    $(CACHE)/versions.env 2>/dev/null),$($(KERNEL)_RELEASE))
BENCH_WHERE	= Bochs $(EMULATOR_VERSION) with patches/bochs (tigerlake; emulated VMX), L0 kernel $(BUILT_RELEASE) \
		  with the patched kvm modules

.PHONY: all deps fetch emulator tree modules selftests harness-check \
	unit fuzz coverage lint series-edit series-export series-sync \
	series-check check check-full check-series \
	run bench bench-host fuzz-l1 l1-linux l2-linux deb deb-test \
	install uninstall clean

all: modules selftests

deps:
	@scripts/deps.sh

# make is the one reader of config.mk: fetch.sh gets the kernel's fields
# (PIN_SUITES, ...), the mirrors and the bases of every series in its
# environment, and records what the later stages read in versions.env.
PIN_FIELDS	:= SUITES SOURCE_PKG DEB_VERSION RELEASE IMAGE_PKGS SERIES CMDLINE BUILD_IN
BASES		:= $(sort $(foreach k,$(KERNELS),$(notdir $($(k)_SERIES))))
fetch: deps
	@$(foreach f,$(PIN_FIELDS),PIN_$(f)='$($(KERNEL)_$(f))') \
		DEBIAN_MIRROR='$(DEBIAN_MIRROR)' \
		DEBIAN_SECURITY_MIRROR='$(DEBIAN_SECURITY_MIRROR)' \
		CD_PACKAGES='$(CD_PACKAGES)' BASES='$(BASES)' \
		scripts/fetch.sh $(KERNEL) $(CACHE)

EMULATOR_FIELDS	:= SUITE VERSION SHA256 PATCHES CONFIGURE
emulator: deps
	@$(foreach f,$(EMULATOR_FIELDS),EMULATOR_$(f)='$(EMULATOR_$(f))') \
		DEBIAN_MIRROR='$(DEBIAN_MIRROR)' scripts/emulator.sh $(EMULATOR)

tree: fetch
	@scripts/tree.sh $(CACHE) $(TREE)

modules: tree
	@scripts/modules.sh $(CACHE) $(TREE) $(MODULES)

selftests: modules
	@echo "selftests: $(KSELFTEST_NAMES)"
	@scripts/kmake.sh $(CACHE) $(TREE) -s headers >/dev/null
	@$(KSELFTEST_MAKE) \
		$(foreach n,$(KSELFTEST_NAMES),$(abspath $(KSELFTEST))/$(call kselftest_bin,$(n)))
	@mkdir -p $(SELFTESTS)
	@cp vm/$(MODEL_TEST).c $(KSELFTEST)/$(KSELFTEST_ARCH)/
	@$(KSELFTEST_MAKE) TEST_GEN_PROGS_$(KSELFTEST_ARCH)=$(KSELFTEST_ARCH)/$(MODEL_TEST) \
		$(abspath $(KSELFTEST))/$(KSELFTEST_ARCH)/$(MODEL_TEST)
	@$(foreach n,$(KSELFTEST_NAMES),cp $(KSELFTEST)/$(call kselftest_bin,$(n)) $(SELFTESTS)/$(n) &&) \
		cp $(KSELFTEST)/$(KSELFTEST_ARCH)/$(MODEL_TEST) vm/harness/* vm/guest/* $(SELFTESTS)/
	@$(foreach p,vmx_caps tlbstat l2/ctxsw,$(CC) -Wall -Wextra -O2 -static \
		-isystem $(TREE)/usr/include -o $(SELFTESTS)/$(notdir $(p)) vm/$(p).c &&) true

# make vm-SUITE: a suite of the registry on the emulated machine (make
# vm-test: the suite "test").
vm-%: $(VM_DEPS)
	@out=$(or $(VM_OUT),$(VM)/$*); mkdir -p $$out && \
	rm -f $$out/serial.*.log $$out/results.json && \
	$(VM_RUN) --suite $* --out $$out $(VM_IMAGE)

# make vm-SUITE, then the benchmark's tables of its results.json in
# $(BUILD)/SUITE, also when a test failed: $(call with_tables,SUITE,SHOW)
# (SHOW: VM_SHOW).
with_tables	= rc=0; $(MAKE) -s vm-$(1) VM_SHOW='$(2)' || rc=$$?; echo; \
		  $(BENCH_REPORT) --out $(BUILD)/$(1) --where '$(BENCH_WHERE)' \
		  $(VM)/$(1)/results.json || rc=1; exit $$rc

# The harness must be able to fail: each test of the suite harness has
# to turn vm-harness red with its own reason (scripts/harness-check.py).
harness-check: $(VM_DEPS)
	@scripts/harness-check.py "$(MAKE)" $(VM)

# User-space tests of vpid.c, and of mmu.c's root filter taken from the
# patched tree (tests/Makefile); unit also runs the tests of the
# emulated-machine runner's verdicts on recorded serial logs (tests/vmrun).
FUZZ_SECONDS	?= 60
TESTS_ARGS	= TREE=$(abspath $(TREE)) BUILD=$(abspath $(BUILD)/tests)
unit: tree
	@PYTHONPATH=scripts python3 -m unittest discover -s tests/vmrun
	@python3 -m unittest discover -s tests/trace
	@python3 -m unittest discover -s tests/series_sync
	@$(MAKE) -s -C tests unit $(TESTS_ARGS)
fuzz: tree
	@$(MAKE) -s -C tests fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) $(TESTS_ARGS)
coverage: tree
	@$(MAKE) -s -C tests coverage $(TESTS_ARGS)

# checkpatch --strict, sparse and W=1 (scripts/lint.sh).
lint: modules
	@scripts/lint.sh $(CACHE) $(TREE)

# Edit the series as git commits in $(BUILD)/series-edit, then export it;
# with AUTHOR='Name <mail>', also a copy from that person for posting in
# $(BUILD)/posting (scripts/series-edit.sh).
series-edit: fetch
	@scripts/series-edit.sh $(CACHE) $(BUILD)/series-edit init
series-export:
	@scripts/series-edit.sh $(CACHE) $(BUILD)/series-edit export

# The series are one change: 7.3's, and its backport to 6.12, differ only
# as patches/series-sync.txt records (scripts/series-sync.py); after a
# deliberate change to one of them, UPDATE=1 records what differs now.
SYNC_RECORD	:= patches/series-sync.txt
series-sync:
	@scripts/series-sync.py $(if $(UPDATE),--update) $(SYNC_RECORD) \
		$(SERIES_CANONICAL) $(SERIES_BACKPORT)

# Every prefix of the kernel's series applies and builds kvm on its own.
series-check: fetch
	@scripts/series-check.sh $(CACHE) $(BUILD)/series-check

# make check: everything that proves the project, as much as fits into
# CI's 90 minutes on 2 cores: each kernel's build, then what its _CHECK
# in config.mk names.  scripts/check.py runs these stages side by side,
# one per core, each with its own log in build/check/, and ends with a
# summary.  make check-full adds each kernel's _CHECK_FULL, what does not
# fit (series-check of both series, about 13 minutes each).
comma		:= ,
empty		:=
space		:= $(empty) $(empty)
CHECK_KERNELS	= $(foreach k,$(KERNELS),$(k):$($(k)_BUILD_IN):$(subst \
		    $(space),$(comma),$(strip $($(k)_CHECK))):$(subst \
		    $(space),$(comma),$(strip $($(k)_CHECK_FULL))))
check: deps
	@scripts/check.py $(CHECK_KERNELS)
check-full: deps
	@scripts/check.py --full $(CHECK_KERNELS)

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

# The L1 fuzzer of nested_vpid_test for longer, in every 1-CPU set:
# FUZZ_L1_PROGRAMS programs from FUZZ_L1_SEED (random unless given;
# printed, and in the test's output), each set on its own.
fuzz-l1: $(VM_DEPS)
	@echo "fuzz-l1: seed $(FUZZ_L1_SEED), $(FUZZ_L1_PROGRAMS) programs per set"
	@$(MAKE) -s vm-fuzz-l1 VM_SHOW=nested_vpid_fuzz_l1

# Show nested VPID at work: what L1 is told, the tests and the
# benchmark's W1 and W2 in each mode, then the modes side by side
# ($(BUILD)/run).
run: $(VM_DEPS)
	@$(call with_tables,run,/vmx_caps)

# Linux KVM as a real L1: in each mode, QEMU boots an L1 Linux on our
# modules, whose stock KVM runs K L2 VMs round-robin on one CPU and a few
# of its own selftests (vm/guest/nested_vpid_l1_linux, vm/l1/init); then
# $(BUILD)/l1-linux/results.{csv,md}.  make check runs the suite
# l1-linux-short (L1_SUITE=l1-linux-short).
L1_SUITE	?= l1-linux
l1-linux: $(VM_DEPS)
	@$(call with_tables,$(L1_SUITE),/nested_vpid_l1_linux)

# The context-switch experiment: in each mode, Linux KVM as L1 boots L2
# Linux VMs (1 and 2 at once; L1 with EPT and without) that run
# vm/l2/ctxsw.c (vm/guest/nested_vpid_l2_linux, vm/l2/init); then
# $(BUILD)/l2-linux/results.md and ctxsw.csv.
l2-linux: $(VM_DEPS)
	@$(call with_tables,l2-linux,/l2_linux)

# The benchmark under every 1-CPU set, then $(BUILD)/bench/results.{csv,md}
# and flushes.png.
bench: $(VM_DEPS)
	@$(call with_tables,bench,/nested_vpid_bench)

# Real Intel hosts (root): the modules built for the running kernel, of
# whichever KERNEL that is, into /lib/modules/<release>/updates. Needs
# 'make modules' first (as a normal user); refuses unless root, a
# kernel built is the one running and the CPU has VMX.
install:
	@scripts/install.sh install build

uninstall:
	@scripts/install.sh uninstall build

# The benchmark, and the context-switch experiment of make l2-linux,
# natively, on a host where 'make install' put the modules.
bench-host: tree
	@$(MAKE) -s selftests
	@scripts/bench-host.sh build $(SELFTESTS)/$(BENCH_NAME) $(BUILD)/bench-host \
		$(VM_REGISTRY) $(CACHE) $(TREE) $(SELFTESTS)

clean:
	rm -rf build
