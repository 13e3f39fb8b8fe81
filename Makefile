# Nested VPID for KVM nVMX: build, test and run.  See README.md.
#
#   make run     build everything, boot the emulated Intel machine and
#                show nested VPID at work
#   make check   everything that proves the project (CI runs this)

include config.mk

BUILD		:= build
CACHE		:= $(BUILD)/cache
TREE		:= $(BUILD)/linux
MODULES		:= $(BUILD)/modules
SELFTESTS	:= $(BUILD)/selftests
VM		:= $(BUILD)/vm
KSELFTEST	:= $(TREE)/tools/testing/selftests/kvm

# The tests the emulated machine runs, and the kvm_intel parameter sets.
VM_TESTS	?= vm/tests
VM_MATRIX	?= vm/matrix
# Per-run limit for the whole emulated test run, in seconds.
VM_WALL		?= 3000
# HARNESS_SELFTEST=1 adds a failing and a hanging test to the list.
HARNESS_SELFTEST ?=

TEST_NAMES	= $(shell sed -e 's/\#.*//' $(VM_TESTS) | awk 'NF {print $$1}')
HARNESS_TESTS	:= $(notdir $(wildcard vm/harness/*)) vmx_caps
KSELFTEST_NAMES	= $(filter-out $(HARNESS_TESTS),$(TEST_NAMES))

VM_RUN		= scripts/vm-run.py --bochsrc vm/bochsrc --wall $(VM_WALL) \
		  --matrix $(VM_MATRIX) $(if $(VM_SHOW),--show '$(VM_SHOW)')
VM_IMAGE	= scripts/vm-image.sh $(CACHE) $(TREE) $(MODULES) $(SELFTESTS)

.PHONY: all deps fetch tree modules selftests vm-test harness-check \
	unit fuzz coverage lint series-check check run clean

all: modules selftests

deps:
	@scripts/deps.sh

fetch: deps
	@scripts/fetch.sh $(CACHE) '$(KERNEL_DEB_VERSION)' '$(KERNEL_RELEASE)'

tree: fetch
	@scripts/tree.sh $(CACHE) $(TREE)

modules: tree
	@scripts/modules.sh $(CACHE) $(TREE) $(MODULES)

selftests: tree
	@echo "selftests: $(KSELFTEST_NAMES)"
	@$(MAKE) -s -C $(TREE) headers >/dev/null
	@$(MAKE) -s -C $(KSELFTEST) OUTPUT=$(abspath $(KSELFTEST)) USERLDFLAGS=-static \
		$(addprefix $(abspath $(KSELFTEST))/x86_64/,$(KSELFTEST_NAMES))
	@mkdir -p $(SELFTESTS)
	@cp $(addprefix $(KSELFTEST)/x86_64/,$(KSELFTEST_NAMES)) vm/harness/* \
		$(SELFTESTS)/
	@$(CC) -Wall -Wextra -O2 -static -isystem $(TREE)/usr/include \
		-o $(SELFTESTS)/vmx_caps vm/vmx_caps.c

# With HARNESS_SELFTEST=1 a hanging and a failing test run first.
vm-test: modules selftests
	@mkdir -p $(VM)
	@{ [ -z "$(HARNESS_SELFTEST)" ] || \
	   printf 'harness_hang 30\nharness_fail 60\n'; cat $(VM_TESTS); } \
		> $(VM)/tests
	@$(VM_RUN) --tests $(VM)/tests --out $(VM)/test $(VM_IMAGE)

# The harness must be able to fail: a failing and a hanging guest test
# have to turn vm-test red, each with its own message.
harness-check: modules selftests
	@scripts/harness-check.sh "$(MAKE)"

# User-space tests of vpid.c (tests/Makefile).
FUZZ_SECONDS	?= 60
unit: deps
	@$(MAKE) -s -C tests unit
fuzz: deps
	@$(MAKE) -s -C tests fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
coverage: deps
	@$(MAKE) -s -C tests coverage

# checkpatch --strict, sparse and W=1 (scripts/lint.sh).
lint: modules
	@scripts/lint.sh $(CACHE) $(TREE)

# Every prefix of patches/series applies and builds kvm on its own.
series-check: fetch
	@scripts/series-check.sh $(CACHE) $(BUILD)/series-check

check: deps
	@$(MAKE) -s unit fuzz coverage
	@$(MAKE) -s lint series-check harness-check
	@$(MAKE) -s vm-test

# Show nested VPID at work: what L1 is told, and the tests, in each mode.
run: modules
	@$(MAKE) -s vm-test VM_TESTS=vm/run-tests VM_MATRIX=vm/run-matrix \
		VM_SHOW='/vmx_caps'

clean:
	rm -rf $(BUILD)
