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
 * and with EPT in vmcs12 (L0 shadows EPT12, L1's EPT tables for L2), as
 * real L1 hypervisors run their guests, each EPT12 identity-mapping L1's
 * memory:
 *
 *   W5  K VPIDs round-robin sharing one EPTP12 (K vCPUs of one L2 VM)
 *   W6  K VPIDs round-robin, each with its own EPTP12 (K L2 VMs), switched
 *       by VMWRITE in one vmcs12
 *   W7  W6 plus a single-context INVEPT every M round trips, for each of
 *       the K EPTP12s in turn
 *   W8  W6 with one vmcs12 per L2, switched by VMPTRLD, as KVM as L1 runs
 *       its vCPUs
 *
 * Every run gets a fresh VM, so that each starts with no tag mapped; an
 * unreported W1 run first warms up L0.
 * When L1 is not given VPID (kvm_intel nested_vpid=N) it runs L2 without
 * VPID and the K VPIDs collapse into plain round trips.
 *
 * With L2's translations tagged by VPID and by the shadow EPT root, a kept
 * tag only pays off while the root is kept too: besides the flushes that
 * the tag cache asks for (nested_vpid_flushes), each run reports the
 * VM-Enters to L2 that found L2's translations flushed by any cause
 * (nested_l2_flushes), the roots L0 loaded for L2 (nested_l2_root_loads)
 * and the shadow pages L0 recycled (mmu_recycled; L0 gets room for them).
 *
 * The mode is read from kvm_intel's parameters nested_vpid,
 * nested_vpid_tags and ept; W5-W8 need nested EPT, which L0 offers only
 * with ept=1.  Output: one "BENCH key=value ..." line per run, with the
 * counts over the run's round trips, then a table with the counts per 1000
 * round trips.  It is a benchmark, not a test: it asserts
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
#define MAX_EPT			64	/* EPT12 tables and vmcs12s, W5-W8 */
#define NR_WORKLOADS		8

/* Shadow pages L0 may use for the VM: room for K EPT12s, no recycling. */
#define NR_MMU_PAGES		4096

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
	uint64_t nr_ept;		/* EPT12 tables, 0 without EPT */
	uint64_t ept_gpa[MAX_EPT];	/* their EPT PML4s */
	uint64_t nr_vmcs;		/* vmcs12s, more than 1 in W8 */
	uint64_t vmcs_gva[MAX_EPT];
	uint64_t vmcs_gpa[MAX_EPT];
} cfg;

/* One stack per vmcs12: W8's L2s each stop at their own VMCALL. */
static unsigned long l2_guest_stack[MAX_EPT][L2_GUEST_STACK_SIZE];

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

/* INVEPT; true on VMfail (or an exception). */
static bool l1_invept(uint64_t type, uint64_t eptp)
{
	uint8_t cf, zf;

	return invept_safe(type, eptp, &cf, &zf) || cf || zf;
}

/* The EPTP of EPT12 table @i: the library's memory type, walk and A/D. */
static uint64_t l1_eptp(uint64_t eptp0, uint64_t i)
{
	return (eptp0 & (PAGE_SIZE - 1)) | cfg.ept_gpa[i];
}

/*
 * Set up vmcs12 number @v: L2 @v (VPID @v + 1, EPT12 table @v if there is
 * one per L2) on its own stack.  Returns the EPTP of table 0.
 */
static uint64_t l1_prepare_vmcs12(struct vmx_pages *vmx, uint64_t v,
				  bool has_vpid)
{
	uint64_t eptp0;

	if (v) {
		*(uint32_t *)cfg.vmcs_gva[v] = vmcs_revision();
		GUEST_ASSERT(!vmclear(cfg.vmcs_gpa[v]));
		GUEST_ASSERT(!vmptrld(cfg.vmcs_gpa[v]));
	}
	prepare_vmcs(vmx, l2_guest_code,
		     &l2_guest_stack[v][L2_GUEST_STACK_SIZE]);
	eptp0 = vmreadz(EPT_POINTER);
	if (cfg.nr_ept > 1)
		GUEST_ASSERT(!vmwrite(EPT_POINTER, l1_eptp(eptp0, v)));
	if (has_vpid)
		l1_vmcs12_set_vpid(v + 1);
	return eptp0;
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	uint64_t ctls2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
	uint64_t cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	bool has_vpid = ctls2 & SECONDARY_EXEC_ENABLE_VPID;
	bool has_invvpid = has_vpid && (cap & VMX_EPT_VPID_CAP_INVVPID) &&
		(cap & VMX_EPT_VPID_CAP_INVVPID_TYPE(VMX_VPID_EXTENT_SINGLE_CONTEXT));
	bool has_invept = (cap & VMX_EPT_INVEPT_BIT) &&
			  (cap & VMX_EPT_EXTENT_CONTEXT_BIT);
	bool launched[MAX_EPT] = {};
	uint64_t cycles = 0, invs = 0;
	uint64_t i, t0, t1, l2, inv, eptp0 = 0;
	int ret;

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	for (l2 = 0; l2 < cfg.nr_vmcs; l2++)
		eptp0 = l1_prepare_vmcs12(vmx, l2, has_vpid);
	if (cfg.nr_vmcs > 1)
		GUEST_ASSERT(!vmptrld(cfg.vmcs_gpa[0]));
	GUEST_SYNC_ARGS(STAGE_READY, has_vpid,
			cfg.nr_ept ? has_invept : has_invvpid, 0, 0);

	for (i = 0; i < cfg.roundtrips; i++) {
		/* The L2 of this round trip, and its vmcs12 in W8. */
		l2 = i % cfg.k;
		if (cfg.nr_vmcs > 1) {
			GUEST_ASSERT(!vmptrld(cfg.vmcs_gpa[l2]));
		} else if (cfg.k > 1) {
			if (has_vpid)
				GUEST_ASSERT(!vmwrite(VIRTUAL_PROCESSOR_ID,
						      l2 + 1));
			if (cfg.nr_ept > 1)
				GUEST_ASSERT(!vmwrite(EPT_POINTER,
						      l1_eptp(eptp0, l2)));
		}
		/* W3, W7: invalidate the contexts of each L2 in turn. */
		inv = invs % cfg.k;
		if (cfg.workload == 3 && has_invvpid && i && !(i % cfg.m)) {
			GUEST_ASSERT(!l1_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT,
						 inv + 1, 0));
			invs++;
		}
		if (cfg.workload == 7 && has_invept && i && !(i % cfg.m)) {
			GUEST_ASSERT(!l1_invept(VMX_EPT_EXTENT_CONTEXT,
						l1_eptp(eptp0, inv)));
			invs++;
		}

		t0 = rdtsc();
		if (launched[cfg.nr_vmcs > 1 ? l2 : 0]) {
			ret = vmresume();
		} else {
			ret = vmlaunch();
			launched[cfg.nr_vmcs > 1 ? l2 : 0] = true;
		}
		t1 = rdtsc();
		GUEST_ASSERT(!ret);
		cycles += t1 - t0;

		GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
		GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
				      vmreadz(VM_EXIT_INSTRUCTION_LEN)));
	}
	GUEST_SYNC_ARGS(STAGE_DONE, cycles, invs, 0, 0);
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
	bool l1_inv;		/* L1 has the INVVPID or INVEPT type needed */
	uint64_t invs;		/* INVVPIDs (W3) or INVEPTs (W7) L1 executed */
	struct vpid_stats delta;
	uint64_t l2_flushes;
	uint64_t root_loads;
	uint64_t recycled;
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

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

static bool uses_ept(int workload)
{
	return workload >= 5;
}

/* Counters that are not part of struct vpid_stats. */
static void read_l2_flush_stats(struct kvm_vcpu *vcpu, uint64_t v[3])
{
	v[0] = vcpu_get_stat(vcpu, "nested_l2_flushes");
	v[1] = vcpu_get_stat(vcpu, "nested_l2_root_loads");
	v[2] = vm_get_stat(vcpu->vm, "mmu_recycled");
}

/*
 * W5-W8: the EPT12 tables, each an identity map of L1's memory (table 0 is
 * @vmx's, which prepare_vmcs() puts in vmcs12), and W8's vmcs12s (number 0
 * is @vmx's).  L0 gets room for the shadow pages of every table.
 */
static void setup_ept(struct kvm_vm *vm, struct vmx_pages *vmx,
		      struct run *r)
{
	uint64_t i;

	cfg.nr_vmcs = r->workload == 8 ? r->k : 1;
	cfg.vmcs_gva[0] = (uint64_t)vmx->vmcs;
	cfg.vmcs_gpa[0] = vmx->vmcs_gpa;
	for (i = 1; i < cfg.nr_vmcs; i++) {
		cfg.vmcs_gva[i] = vm_vaddr_alloc_page(vm);
		cfg.vmcs_gpa[i] = addr_gva2gpa(vm, cfg.vmcs_gva[i]);
	}

	cfg.nr_ept = r->workload == 5 ? 1 : r->k;
	for (i = 0; i < cfg.nr_ept; i++) {
		struct vmx_pages table = {};
		struct vmx_pages *p = i ? &table : vmx;

		prepare_identity_ept12(p, vm);
		cfg.ept_gpa[i] = p->eptp_gpa;
	}
	vm_ioctl(vm, KVM_SET_NR_MMU_PAGES, (void *)(unsigned long)NR_MMU_PAGES);
}

static void bench_run(struct run *r, bool report)
{
	uint64_t l2_before[3], l2_after[3];
	struct vpid_stats before, after;
	struct vmx_pages *vmx;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	vm_vaddr_t vmx_gva;
	struct ucall uc;
	double t0;

	/* Room in memslot 0 for the page tables of W4's pages. */
	vm = __vm_create_with_one_vcpu(&vcpu, r->pages, l1_guest_code);
	vmx = vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);

	memset(&cfg, 0, sizeof(cfg));
	cfg.workload = r->workload;
	cfg.roundtrips = r->roundtrips;
	cfg.k = r->k;
	cfg.m = r->m;
	cfg.pages = r->pages;
	cfg.nr_vmcs = 1;
	if (r->pages) {
		vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, PAGES_GPA,
					    PAGES_SLOT, r->pages, 0);
		virt_map(vm, PAGES_GVA, PAGES_GPA, r->pages);
		cfg.pages_gva = PAGES_GVA;
	}
	if (uses_ept(r->workload))
		setup_ept(vm, vmx, r);
	sync_global_to_guest(vm, cfg);

	run_to_stage(vcpu, STAGE_READY, &uc);
	r->l1_vpid = uc.args[2];
	r->l1_inv = uc.args[3];

	read_vpid_stats(vcpu, &before);
	read_l2_flush_stats(vcpu, l2_before);
	t0 = now_ms();
	run_to_stage(vcpu, STAGE_DONE, &uc);
	r->wall_ms = now_ms() - t0;
	read_vpid_stats(vcpu, &after);
	read_l2_flush_stats(vcpu, l2_after);

	r->cycles = uc.args[2];
	r->invs = uc.args[3];
	vpid_stats_sub(&r->delta, &after, &before);
	r->l2_flushes = l2_after[0] - l2_before[0];
	r->root_loads = l2_after[1] - l2_before[1];
	r->recycled = l2_after[2] - l2_before[2];

	kvm_vm_free(vm);
	if (!report)
		return;

	/* One line, for scripts: counts over the whole run. */
	printf("BENCH mode=%s workload=W%d k=%lu m=%lu p=%lu",
	       mode, r->workload, r->k, r->m, r->pages);
	printf(" roundtrips=%lu l1_vpid=%d l1_inv=%d invs=%lu",
	       r->roundtrips, r->l1_vpid, r->l1_inv, r->invs);
	printf(" hits=%lu misses=%lu flushes=%lu evictions=%lu fallbacks=%lu",
	       r->delta.hits, r->delta.misses, r->delta.flushes,
	       r->delta.evictions, r->delta.fallbacks);
	printf(" l2_flushes=%lu root_loads=%lu recycled=%lu",
	       r->l2_flushes, r->root_loads, r->recycled);
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
	pr_info("%-4s %4s %4s %5s %7s %9s %9s %9s %9s %9s %9s %11s %9s\n",
		"work", "K", "M", "P", "rts", "flushes", "misses", "evicts",
		"fallbacks", "l2flushes", "rootloads", "cycles/rt", "wall ms");
	for (i = 0; i < nr; i++) {
		r = &runs[i];
		pr_info("W%-3d %4lu %4lu %5lu %7lu %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %11lu %9.1f\n",
			r->workload, r->k, r->m, r->pages, r->roundtrips,
			per_1k(r->delta.flushes, r->roundtrips),
			per_1k(r->delta.misses, r->roundtrips),
			per_1k(r->delta.evictions, r->roundtrips),
			per_1k(r->delta.fallbacks, r->roundtrips),
			per_1k(r->l2_flushes, r->roundtrips),
			per_1k(r->root_loads, r->roundtrips),
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
	printf("usage: %s [-n N] [-k K,...] [-e K,...] [-m M] [-p P,...] [-w W,...]\n",
	       name);
	printf(" -n: round trips per run (default 1000)\n");
	printf(" -k: numbers of L2 VPIDs for W2 and W3 (default 2,4,8,16,32)\n");
	printf(" -e: numbers of L2s for W5 to W8 (default 2,4,8,16; at most %d)\n",
	       MAX_EPT);
	printf(" -m: round trips between INVVPIDs in W3, INVEPTs in W7 (default 10)\n");
	printf(" -p: numbers of pages L2 writes per round trip in W4 (default 64,512)\n");
	printf(" -w: workloads to run, 1 to %d (default all; W5-W8 only with nested EPT)\n",
	       NR_WORKLOADS);
}

int main(int argc, char *argv[])
{
	uint64_t ks[MAX_VALUES] = { 2, 4, 8, 16, 32 };
	uint64_t es[MAX_VALUES] = { 2, 4, 8, 16 };
	uint64_t ps[MAX_VALUES] = { 64, 512 };
	uint64_t ws[MAX_VALUES] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	int nr_k = 5, nr_e = 4, nr_p = 2, nr_w = -1;
	uint64_t roundtrips = 1000, m = 10;
	struct run runs[MAX_RUNS], warmup, *r;
	int nr = 0, opt, i, j;
	char *end;

	while ((opt = getopt(argc, argv, "hn:k:e:m:p:w:")) != -1) {
		switch (opt) {
		case 'n':
			roundtrips = strtoull(optarg, &end, 0);
			TEST_ASSERT(!*end && roundtrips, "-n: bad number");
			break;
		case 'k':
			nr_k = parse_list(optarg, ks, MAX_K);
			break;
		case 'e':
			nr_e = parse_list(optarg, es, MAX_EPT);
			break;
		case 'm':
			m = strtoull(optarg, &end, 0);
			TEST_ASSERT(!*end && m, "-m: bad number");
			break;
		case 'p':
			nr_p = parse_list(optarg, ps, MAX_PAGES);
			break;
		case 'w':
			nr_w = parse_list(optarg, ws, NR_WORKLOADS);
			break;
		case 'h':
		default:
			help(argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	read_mode();
	if (nr_w < 0)
		nr_w = kvm_cpu_has_ept() ? NR_WORKLOADS : 4;
	for (i = 0; i < nr_w; i++)
		__TEST_REQUIRE(!uses_ept(ws[i]) || kvm_cpu_has_ept(),
			       "W5-W8 need nested EPT (kvm_intel ept=1)");

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
		int nr_v = w == 2 || w == 3 ? nr_k : w == 4 ? nr_p :
			   uses_ept(w) ? nr_e : 1;

		for (j = 0; j < nr_v; j++) {
			TEST_ASSERT(nr < MAX_RUNS, "At most %d runs", MAX_RUNS);
			r = &runs[nr++];
			r->workload = w;
			r->roundtrips = roundtrips;
			r->k = w == 2 || w == 3 ? ks[j] : uses_ept(w) ? es[j] : 1;
			r->m = w == 3 || w == 7 ? m : 0;
			r->pages = w == 4 ? ps[j] : 0;
			bench_run(r, true);
		}
	}
	print_table(runs, nr);
	return 0;
}
