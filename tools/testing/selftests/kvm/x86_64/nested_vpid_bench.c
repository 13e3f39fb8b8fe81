// SPDX-License-Identifier: GPL-2.0-only
/*
 * nested_vpid_bench
 *
 * Measure what KVM does for an L1 hypervisor that runs L2 with VPID:
 * the flushes, tag misses, evictions and fallbacks that KVM counts in the
 * vCPU's nested_vpid_* stats, and the cycles that a round trip L1 -> L2
 * -> L1 costs as L1 sees them (RDTSC around VMRESUME and the VM-Exit that
 * follows it).  Workloads:
 *
 *   W1  one L2, N round trips (VMCALL exit, VMRESUME)
 *   W2  L1 switches round-robin between K VPIDs in vmcs12, one VMRESUME
 *       each, N round trips
 *   W3  W2 plus a single-context INVVPID every M round trips, for each of
 *       the K VPIDs in turn
 *   W4  W1 with L2 writing to P distinct pages on every round trip
 *
 * Every run gets a fresh VM, so that each starts with no tag mapped; an
 * unreported W1 run first warms up L0.
 * When L1 is not given VPID (kvm_intel nested_vpid=N) it runs L2 without
 * VPID and the K VPIDs collapse into plain round trips.
 *
 * The mode is read from kvm_intel's parameters nested_vpid,
 * nested_vpid_tags and ept.  Output: one "BENCH key=value ..." line per
 * run, with the counts over the run's round trips, then a table with the
 * counts per 1000 round trips.  It is a benchmark, not a test: it asserts
 * nothing about the numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "nested_vpid.h"

#define L2_GUEST_STACK_SIZE	256

#define MAX_K			4096
#define MAX_PAGES		4096
#define MAX_VALUES		16
#define MAX_RUNS		64

/* W4: the pages L2 writes, in a memslot of their own. */
#define PAGES_SLOT		1
#define PAGES_GPA		0x40000000ull
#define PAGES_GVA		0x40000000ull

enum {
	STAGE_READY = 1,	/* L1 set up vmcs12 */
	STAGE_DONE,		/* L1 ran the round trips */
};

/* Written by the host before the run, read by L1 and L2. */
static struct {
	uint64_t workload;
	uint64_t roundtrips;
	uint64_t k;
	uint64_t m;
	uint64_t pages;
	uint64_t pages_gva;
} cfg;

static unsigned long l2_guest_stack[L2_GUEST_STACK_SIZE];

static void l2_guest_code(void)
{
	uint64_t i;

	for (;;) {
		for (i = 0; i < cfg.pages; i++) {
			uint64_t *p = (uint64_t *)(cfg.pages_gva +
						   i * PAGE_SIZE);

			WRITE_ONCE(*p, READ_ONCE(*p) + 1);
		}
		vmcall();
	}
}

/* INVVPID; true on VMfail (or an exception). */
static bool l1_invvpid(uint64_t type, uint64_t vpid, uint64_t gva)
{
	uint8_t cf, zf;

	return invvpid_safe(type, vpid, gva, &cf, &zf) || cf || zf;
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	uint64_t ctls2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
	bool has_vpid = ctls2 & SECONDARY_EXEC_ENABLE_VPID;
	bool has_invvpid = false;
	bool launched = false;
	uint64_t cycles = 0, invvpids = 0;
	uint64_t i, t0, t1, vpid;
	int ret;

	if (has_vpid) {
		uint64_t cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

		has_invvpid = (cap & VMX_EPT_VPID_CAP_INVVPID) &&
			      (cap & VMX_EPT_VPID_CAP_INVVPID_TYPE(VMX_VPID_EXTENT_SINGLE_CONTEXT));
	}

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, &l2_guest_stack[L2_GUEST_STACK_SIZE]);
	if (has_vpid) {
		GUEST_ASSERT(!vmwrite(VIRTUAL_PROCESSOR_ID, 1));
		GUEST_ASSERT(!vmwrite(SECONDARY_VM_EXEC_CONTROL,
				      vmreadz(SECONDARY_VM_EXEC_CONTROL) |
				      SECONDARY_EXEC_ENABLE_VPID));
	}
	GUEST_SYNC_ARGS(STAGE_READY, has_vpid, has_invvpid, 0, 0);

	for (i = 0; i < cfg.roundtrips; i++) {
		if (has_vpid && cfg.k > 1) {
			vpid = 1 + i % cfg.k;
			GUEST_ASSERT(!vmwrite(VIRTUAL_PROCESSOR_ID, vpid));
		}
		if (cfg.workload == 3 && has_invvpid && i && !(i % cfg.m)) {
			vpid = 1 + invvpids % cfg.k;
			GUEST_ASSERT(!l1_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT,
						 vpid, 0));
			invvpids++;
		}

		t0 = rdtsc();
		if (launched) {
			ret = vmresume();
		} else {
			ret = vmlaunch();
			launched = true;
		}
		t1 = rdtsc();
		GUEST_ASSERT(!ret);
		cycles += t1 - t0;

		GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
		GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
				      vmreadz(VM_EXIT_INSTRUCTION_LEN)));
	}
	GUEST_SYNC_ARGS(STAGE_DONE, cycles, invvpids, 0, 0);
	GUEST_DONE();
}

/* ----------------------------------------------------------------- host */

struct run {
	int workload;
	uint64_t k;
	uint64_t m;
	uint64_t pages;
	uint64_t roundtrips;
	bool l1_vpid;
	bool l1_invvpid;
	uint64_t invvpids;
	struct vpid_stats delta;
	uint64_t cycles;
	double wall_ms;
};

static char mode[64];

/* novpid (L1 gets no VPID), tags<N>, with "-ept0" under shadow paging. */
static void read_mode(void)
{
	bool nested_vpid, ept;
	int tags;

	__TEST_REQUIRE(!access("/sys/module/kvm_intel/parameters/nested_vpid",
			       R_OK),
		       "kvm_intel has no nested_vpid parameters (stock module?)");
	nested_vpid = get_kvm_intel_param_bool("nested_vpid");
	tags = get_kvm_intel_param_integer("nested_vpid_tags");
	ept = get_kvm_intel_param_bool("ept");

	if (nested_vpid)
		snprintf(mode, sizeof(mode), "tags%d", tags);
	else
		snprintf(mode, sizeof(mode), "novpid");
	if (!ept)
		strncat(mode, "-ept0", sizeof(mode) - strlen(mode) - 1);

	pr_info("BENCH_MODE mode=%s nested_vpid=%c nested_vpid_tags=%d ept=%c\n",
		mode, nested_vpid ? 'Y' : 'N', tags, ept ? 'Y' : 'N');
}

static void run_to_stage(struct kvm_vcpu *vcpu, uint64_t stage,
			 struct ucall *uc)
{
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

	switch (get_ucall(vcpu, uc)) {
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(*uc);
		/* NOT REACHED */
	case UCALL_SYNC:
		TEST_ASSERT(uc->args[1] == stage,
			    "Expected stage %lu, got %lu", stage, uc->args[1]);
		break;
	default:
		TEST_FAIL("Unexpected ucall %lu", uc->cmd);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

static void bench_run(struct run *r, bool report)
{
	struct vpid_stats before, after;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	vm_vaddr_t vmx_gva;
	struct ucall uc;
	double t0;

	/* Room in memslot 0 for the page tables of W4's pages. */
	vm = __vm_create_with_one_vcpu(&vcpu, r->pages, l1_guest_code);
	vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);

	memset(&cfg, 0, sizeof(cfg));
	cfg.workload = r->workload;
	cfg.roundtrips = r->roundtrips;
	cfg.k = r->k;
	cfg.m = r->m;
	cfg.pages = r->pages;
	if (r->pages) {
		vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, PAGES_GPA,
					    PAGES_SLOT, r->pages, 0);
		virt_map(vm, PAGES_GVA, PAGES_GPA, r->pages);
		cfg.pages_gva = PAGES_GVA;
	}
	sync_global_to_guest(vm, cfg);

	run_to_stage(vcpu, STAGE_READY, &uc);
	r->l1_vpid = uc.args[2];
	r->l1_invvpid = uc.args[3];

	read_vpid_stats(vcpu, &before);
	t0 = now_ms();
	run_to_stage(vcpu, STAGE_DONE, &uc);
	r->wall_ms = now_ms() - t0;
	read_vpid_stats(vcpu, &after);

	r->cycles = uc.args[2];
	r->invvpids = uc.args[3];
	vpid_stats_sub(&r->delta, &after, &before);

	kvm_vm_free(vm);
	if (!report)
		return;

	/* One line, for scripts: counts over the whole run. */
	printf("BENCH mode=%s workload=W%d k=%lu m=%lu p=%lu",
	       mode, r->workload, r->k, r->m, r->pages);
	printf(" roundtrips=%lu l1_vpid=%d invvpids=%lu",
	       r->roundtrips, r->l1_vpid, r->invvpids);
	printf(" hits=%lu misses=%lu flushes=%lu evictions=%lu fallbacks=%lu",
	       r->delta.hits, r->delta.misses, r->delta.flushes,
	       r->delta.evictions, r->delta.fallbacks);
	printf(" cycles_per_rt=%lu wall_ms=%.1f\n",
	       r->cycles / r->roundtrips, r->wall_ms);
	fflush(stdout);
}

static double per_1k(uint64_t v, uint64_t roundtrips)
{
	return v * 1000.0 / roundtrips;
}

static void print_table(struct run *runs, int nr)
{
	struct run *r;
	int i;

	pr_info("\nnested VPID bench, mode %s (counts per 1000 round trips)\n",
		mode);
	pr_info("%-4s %4s %4s %5s %7s %9s %9s %9s %9s %11s %9s\n",
		"work", "K", "M", "P", "rts", "flushes", "misses", "evicts",
		"fallbacks", "cycles/rt", "wall ms");
	for (i = 0; i < nr; i++) {
		r = &runs[i];
		pr_info("W%-3d %4lu %4lu %5lu %7lu %9.1f %9.1f %9.1f %9.1f %11lu %9.1f\n",
			r->workload, r->k, r->m, r->pages, r->roundtrips,
			per_1k(r->delta.flushes, r->roundtrips),
			per_1k(r->delta.misses, r->roundtrips),
			per_1k(r->delta.evictions, r->roundtrips),
			per_1k(r->delta.fallbacks, r->roundtrips),
			r->cycles / r->roundtrips, r->wall_ms);
	}
}

/* A comma-separated list of positive numbers up to @max. */
static int parse_list(const char *arg, uint64_t *v, uint64_t max)
{
	char *copy = strdup(arg), *tok, *save, *end;
	int n = 0;

	TEST_ASSERT(copy, "strdup");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		TEST_ASSERT(n < MAX_VALUES, "At most %d values", MAX_VALUES);
		v[n] = strtoull(tok, &end, 0);
		TEST_ASSERT(!*end && v[n] >= 1 && v[n] <= max,
			    "'%s': expected a number from 1 to %lu", tok, max);
		n++;
	}
	free(copy);
	return n;
}

static void help(const char *name)
{
	printf("usage: %s [-n N] [-k K,...] [-m M] [-p P,...] [-w W,...]\n",
	       name);
	printf(" -n: round trips per run (default 1000)\n");
	printf(" -k: numbers of L2 VPIDs for W2 and W3 (default 2,4,8,16,32)\n");
	printf(" -m: round trips between INVVPIDs in W3 (default 10)\n");
	printf(" -p: numbers of pages L2 writes per round trip in W4 (default 64,512)\n");
	printf(" -w: workloads to run, 1 to 4 (default 1,2,3,4)\n");
}

int main(int argc, char *argv[])
{
	uint64_t ks[MAX_VALUES] = { 2, 4, 8, 16, 32 };
	uint64_t ps[MAX_VALUES] = { 64, 512 };
	uint64_t ws[MAX_VALUES] = { 1, 2, 3, 4 };
	int nr_k = 5, nr_p = 2, nr_w = 4;
	uint64_t roundtrips = 1000, m = 10;
	struct run runs[MAX_RUNS], warmup, *r;
	int nr = 0, opt, i, j;
	char *end;

	while ((opt = getopt(argc, argv, "hn:k:m:p:w:")) != -1) {
		switch (opt) {
		case 'n':
			roundtrips = strtoull(optarg, &end, 0);
			TEST_ASSERT(!*end && roundtrips, "-n: bad number");
			break;
		case 'k':
			nr_k = parse_list(optarg, ks, MAX_K);
			break;
		case 'm':
			m = strtoull(optarg, &end, 0);
			TEST_ASSERT(!*end && m, "-m: bad number");
			break;
		case 'p':
			nr_p = parse_list(optarg, ps, MAX_PAGES);
			break;
		case 'w':
			nr_w = parse_list(optarg, ws, 4);
			break;
		case 'h':
		default:
			help(argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	read_mode();

	/*
	 * The first VM of the process pays for one-time setup in L0 (and,
	 * under emulation, for cold caches of the emulator): run W1 once
	 * without reporting it, so that the first run reported is not an
	 * outlier.
	 */
	memset(&warmup, 0, sizeof(warmup));
	warmup.workload = 1;
	warmup.roundtrips = roundtrips;
	warmup.k = 1;
	bench_run(&warmup, false);

	memset(runs, 0, sizeof(runs));
	for (i = 0; i < nr_w; i++) {
		int w = ws[i];
		int nr_v = w == 2 || w == 3 ? nr_k : w == 4 ? nr_p : 1;

		for (j = 0; j < nr_v; j++) {
			TEST_ASSERT(nr < MAX_RUNS, "At most %d runs", MAX_RUNS);
			r = &runs[nr++];
			r->workload = w;
			r->roundtrips = roundtrips;
			r->k = w == 2 || w == 3 ? ks[j] : 1;
			r->m = w == 3 ? m : 0;
			r->pages = w == 4 ? ps[j] : 0;
			bench_run(r, true);
		}
	}
	print_table(runs, nr);
	return 0;
}
