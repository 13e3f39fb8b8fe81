// SPDX-License-Identifier: GPL-2.0-only
/*
 * nested_vpid_smp_test
 *
 * Nested VPID on several pCPUs: what happens to L2's VPID tags when the
 * vCPU's thread moves to another pCPU, and when several VMs with several
 * vCPUs run L2s at the same time.  Needs two online CPUs.
 *
 * -m (migrate, the default): one vCPU, pinned to one pCPU at a time.  For
 *    each INVVPID type, L1 runs L2 with VPIDs 1, 2 and 3 on pCPU X and
 *    stops at a GUEST_SYNC; the host moves the thread to pCPU Y.  L1
 *    re-enters the VPID that ran last (nothing but the move flushes it),
 *    moves to X and back to Y the same way; then it
 *    rewrites the PTE of the page L2 reads, issues the INVVPID for VPID 1
 *    (vmcs02 last ran on X: KVM must defer, i.e. drop the mapping) and
 *    enters its L2s; then, vmcs02 now being on Y, rewrites the PTE back
 *    and issues the INVVPID again (KVM may flush the tag now, on Y).
 *    After each INVVPID, VPID 1 (and every VPID after all-context) must
 *    read the new value.  Under L0 shadow paging (ept=0) a missing sync
 *    is visible here; with EPT under an emulator that flushes its TLB on
 *    every VM transition it is not, and the reads only show that L2 ran.
 *    Where KVM flushed which tag, on which pCPU, is for the tracepoints
 *    to show (vm/guest/nested_vpid_smp replays them).
 *
 * -c VMS,VCPUS,ROUNDS (concurrency): VMS VMs of VCPUS vCPUs each, one
 *    thread per vCPU, all at once; each L1 runs ROUNDS rounds of L2
 *    entries over more VPIDs than KVM keeps tags for, with VPID disabled
 *    now and then, INVVPID of every type and VMXOFF/VMXON (which gives
 *    the tags back, for other vCPUs to take), and its thread moves to
 *    the next pCPU every few rounds.  Afterwards every VPID must be back
 *    (/sys/kernel/debug/kvm/vmx_vpids_allocated).  That no tag is shared
 *    by two live contexts is for the tracepoints to show.
 *
 * TAP; exit 4 (SKIP) with one CPU or without VPID for L1.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "nested_vpid.h"

#define L2_GUEST_STACK_SIZE	256
#define MAX_VCPUS		8

/* L2 reads this address; L1 rewrites its PTE behind L2's back. */
#define TEST_GVA		0x8000000000ull
/* L1's alias of the page table page that holds TEST_GVA's PTE. */
#define PT_ALIAS_GVA		(TEST_GVA + 0x200000ull)
#define VAL_A			0xaaaaaaaaaaaaaaaaull
#define VAL_B			0xbbbbbbbbbbbbbbbbull
#define PTE_ADDR_MASK		GENMASK_ULL(51, 12)

/* -c: L1 cycles over more VPIDs than nested_vpid_tags' maximum (8). */
#define CONC_VPIDS		11
/* -c: L1 stops at a GUEST_SYNC, where its thread moves, this often. */
#define CONC_SYNC_ROUNDS	8

/* Shared with the guest; the same in every vCPU. */
static uint64_t pt_alias;		/* TEST_GVA's PTE in L1's alias */
static uint64_t pte_a, pte_b;		/* TEST_GVA -> page A, page B */
static uint64_t conc_rounds;
/* Per vCPU: what L2 read last, and L2's stack. */
static uint64_t l2_read[MAX_VCPUS];
static unsigned long l2_stack[MAX_VCPUS][L2_GUEST_STACK_SIZE];

/* ---------------------------------------------------------------- guest */

/*
 * L2 reads TEST_GVA into l2_read[] of its vCPU and exits.  Each vCPU's L2
 * has a stack of its own in l2_stack[]: its index comes from there, anew
 * after each VMCALL, which clobbers the registers and, with its push, the
 * red zone below the stack pointer.
 */
static void l2_guest_code(void)
{
	uint64_t rsp, id;

	for (;;) {
		asm volatile("mov %%rsp, %0" : "=r"(rsp));
		id = (rsp - (uint64_t)l2_stack) / sizeof(l2_stack[0]);
		WRITE_ONCE(l2_read[id], READ_ONCE(*(uint64_t *)TEST_GVA));
		vmcall();
	}
}

static void l1_vmx_on(struct vmx_pages *vmx, uint64_t id)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, &l2_stack[id][L2_GUEST_STACK_SIZE]);
	GUEST_ASSERT(vmreadz(CPU_BASED_VM_EXEC_CONTROL) &
		     CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
}

/* Enter L2 with @vpid (0: VPID disabled) once; what it read. */
static uint64_t l1_enter(uint64_t id, uint16_t vpid, bool *launched)
{
	l1_vmcs12_set_vpid(vpid);
	if (!*launched) {
		GUEST_ASSERT(!vmlaunch());
		*launched = true;
	} else {
		GUEST_ASSERT(!vmresume());
	}
	__GUEST_ASSERT(vmreadz(VM_EXIT_REASON) == EXIT_REASON_VMCALL,
		       "L2 with VPID %u: exit reason %lu, interruption 0x%lx, qualification 0x%lx, RIP 0x%lx, RSP 0x%lx",
		       vpid, vmreadz(VM_EXIT_REASON),
		       vmreadz(VM_EXIT_INTR_INFO), vmreadz(EXIT_QUALIFICATION),
		       vmreadz(GUEST_RIP), vmreadz(GUEST_RSP));
	vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
			   vmreadz(VM_EXIT_INSTRUCTION_LEN));
	return READ_ONCE(l2_read[id]);
}

static void l1_invvpid(uint64_t type, uint64_t vpid)
{
	uint8_t cf, zf;

	GUEST_ASSERT_EQ(invvpid_safe(type, vpid, TEST_GVA, &cf, &zf), 0);
	GUEST_ASSERT(!cf && !zf);
}

/* -m: see the head of this file.  GUEST_SYNC(n): move to the other pCPU. */
static void l1_migrate(struct vmx_pages *vmx)
{
	uint64_t caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	bool launched = false;
	uint16_t v;
	int type;

	l1_vmx_on(vmx, 0);
	for (type = 0; type < 4; type++) {
		if (!(caps & VMX_EPT_VPID_CAP_INVVPID_TYPE(type)))
			continue;
		/*
		 * Back on pCPU X: first the VPID that ran last, so that only
		 * the move flushes its tag (with ept=0 a vpid12 switch syncs
		 * and flushes too, and so does an INVVPID).
		 */
		if (launched)
			GUEST_ASSERT_EQ(l1_enter(0, 1, &launched), VAL_A);
		/* On pCPU X: every VPID reads A. */
		WRITE_ONCE(*(uint64_t *)pt_alias, pte_a);
		l1_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
		for (v = 1; v <= 3; v++)
			GUEST_ASSERT_EQ(l1_enter(0, v, &launched), VAL_A);
		GUEST_SYNC(1);

		/* On pCPU Y, vmcs02 last ran on X: the same VPID first. */
		GUEST_ASSERT_EQ(l1_enter(0, 3, &launched), VAL_A);
		GUEST_SYNC(1);

		/* Again on X, then on Y with the INVVPID. */
		GUEST_ASSERT_EQ(l1_enter(0, 3, &launched), VAL_A);
		GUEST_SYNC(1);
		WRITE_ONCE(*(uint64_t *)pt_alias, pte_b);
		l1_invvpid(type, 1);
		GUEST_ASSERT_EQ(l1_enter(0, 1, &launched), VAL_B);
		for (v = 2; v <= 3; v++) {
			uint64_t val = l1_enter(0, v, &launched);

			/* Not invalidated: the old value or the new one. */
			if (type == VMX_VPID_EXTENT_ALL_CONTEXT)
				GUEST_ASSERT_EQ(val, VAL_B);
			else
				GUEST_ASSERT(val == VAL_A || val == VAL_B);
		}
		GUEST_ASSERT_EQ(l1_enter(0, 1, &launched), VAL_B);

		/* Still on Y, where vmcs02 ran last now. */
		WRITE_ONCE(*(uint64_t *)pt_alias, pte_a);
		l1_invvpid(type, 1);
		GUEST_ASSERT_EQ(l1_enter(0, 1, &launched), VAL_A);
		GUEST_SYNC(2);
	}
	GUEST_DONE();
}

/* -c: a cheap LCG per vCPU, seeded with its index. */
static uint64_t l1_rand(uint64_t *s, uint64_t n)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (*s >> 33) % n;
}

static void l1_concurrency(struct vmx_pages *vmx, uint64_t id)
{
	uint64_t caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	uint64_t r, i, s = id + 1;
	bool launched = false;

	l1_vmx_on(vmx, id);
	for (r = 0; r < READ_ONCE(conc_rounds); r++) {
		for (i = 0; i < CONC_VPIDS; i++) {
			uint64_t x = l1_rand(&s, 20);
			uint64_t type = l1_rand(&s, 4);

			if (x == 0) {
				l1_enter(id, 0, &launched);
			} else if (x == 1 &&
				   (caps & VMX_EPT_VPID_CAP_INVVPID_TYPE(type))) {
				l1_invvpid(type, 1 + l1_rand(&s, CONC_VPIDS));
			} else {
				l1_enter(id, 1 + l1_rand(&s, CONC_VPIDS),
					 &launched);
			}
		}
		if (r % CONC_SYNC_ROUNDS == CONC_SYNC_ROUNDS - 1) {
			/* Give the tags back, for other vCPUs to take. */
			if (l1_rand(&s, 2)) {
				vmxoff();
				l1_vmx_on(vmx, id);
				launched = false;
			}
			GUEST_SYNC(r);
		}
	}
	GUEST_DONE();
}

static void l1_guest_code(struct vmx_pages *vmx, uint64_t id, uint64_t conc)
{
	if (conc)
		l1_concurrency(vmx, id);
	else
		l1_migrate(vmx);
}

/* ----------------------------------------------------------------- host */

static int nr_cpus;
static int cpus[2];	/* two online CPUs the thread moves between */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set),
		    "sched_setaffinity(CPU %d)", cpu);
}

/* Map TEST_GVA -> A, B as the other PTE value, and an alias of the PTE. */
static void setup_pages(struct kvm_vm *vm)
{
	vm_paddr_t a, b, pt;
	uint64_t *pte;

	a = vm_phy_page_alloc(vm, KVM_GUEST_PAGE_TABLE_MIN_PADDR, 0);
	b = vm_phy_page_alloc(vm, KVM_GUEST_PAGE_TABLE_MIN_PADDR, 0);
	*(uint64_t *)addr_gpa2hva(vm, a) = VAL_A;
	*(uint64_t *)addr_gpa2hva(vm, b) = VAL_B;
	virt_pg_map(vm, TEST_GVA, a);
	pte = vm_get_page_table_entry(vm, TEST_GVA);
	TEST_ASSERT((*pte & PTE_ADDR_MASK) == a, "PTE for A: 0x%lx", *pte);
	pte_a = *pte;
	pte_b = (*pte & ~PTE_ADDR_MASK) | b;
	pt = addr_hva2gpa(vm, pte);
	virt_pg_map(vm, PT_ALIAS_GVA, pt & ~0xfffull);
	pt_alias = PT_ALIAS_GVA + (pt & 0xfff);
	sync_global_to_guest(vm, pt_alias);
	sync_global_to_guest(vm, pte_a);
	sync_global_to_guest(vm, pte_b);
	sync_global_to_guest(vm, conc_rounds);
}

static void vcpu_setup(struct kvm_vcpu *vcpu, uint64_t id, bool conc)
{
	vm_vaddr_t vmx_gva;

	vcpu_alloc_vmx(vcpu->vm, &vmx_gva);
	vcpu_args_set(vcpu, 3, vmx_gva, id, conc);
}

/*
 * Run @vcpu to GUEST_DONE; at each GUEST_SYNC move the thread to the
 * other pCPU (cpus[]).  Returns the number of moves.
 */
static int run_moving(struct kvm_vcpu *vcpu, int start)
{
	int moves = 0, at = start;
	struct ucall uc;

	pin(cpus[at]);
	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			/* NOT REACHED */
		case UCALL_SYNC:
			at ^= 1;
			pin(cpus[at]);
			moves++;
			break;
		case UCALL_DONE:
			return moves;
		default:
			TEST_FAIL("Unknown ucall %lu", uc.cmd);
		}
	}
}

static void test_migrate(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int moves;

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	setup_pages(vm);
	vcpu_setup(vcpu, 0, false);
	moves = run_moving(vcpu, 0);
	kvm_vm_free(vm);
	/* Four moves per INVVPID type L1 has. */
	ksft_test_result(moves >= 2, "migrate_invvpid: %d moves between CPU %d and CPU %d\n",
			 moves, cpus[0], cpus[1]);
}

static void *conc_vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	run_moving(vcpu, vcpu->id & 1);
	return NULL;
}

static void test_concurrency(int nr_vms, int nr_vcpus, int rounds)
{
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	pthread_t threads[8][MAX_VCPUS];
	struct kvm_vm *vms[8];
	uint64_t base = 0, peak = 0, n;
	bool have_count;
	int i, j;

	TEST_ASSERT(nr_vms >= 1 && nr_vms <= 8 && nr_vcpus >= 1 &&
		    nr_vcpus <= MAX_VCPUS && rounds >= 1,
		    "-c VMS,VCPUS,ROUNDS: 1..8 VMs, 1..%d vCPUs", MAX_VCPUS);
	have_count = read_vpids_allocated(&base);
	conc_rounds = rounds;
	for (i = 0; i < nr_vms; i++) {
		vms[i] = vm_create_with_vcpus(nr_vcpus, l1_guest_code, vcpus);
		setup_pages(vms[i]);
		for (j = 0; j < nr_vcpus; j++) {
			vcpu_setup(vcpus[j], j, true);
			pthread_create(&threads[i][j], NULL, conc_vcpu_thread,
				       vcpus[j]);
		}
	}
	for (i = 0; i < nr_vms; i++)
		for (j = 0; j < nr_vcpus; j++)
			pthread_join(threads[i][j], NULL);
	if (have_count)
		read_vpids_allocated(&peak);
	ksft_test_result_pass("concurrency: %d VMs x %d vCPUs x %d rounds of %d L2 entries\n",
			      nr_vms, nr_vcpus, rounds, CONC_VPIDS);
	for (i = 0; i < nr_vms; i++)
		kvm_vm_free(vms[i]);
	if (!have_count) {
		ksft_test_result_skip("concurrency_no_leak: no vmx_vpids_allocated\n");
		return;
	}
	read_vpids_allocated(&n);
	ksft_print_msg("VPIDs allocated: %lu before, %lu at the end of L1's work, %lu after\n",
		       base, peak, n);
	ksft_test_result(n == base, "concurrency_no_leak: %lu VPIDs after, %lu before\n",
			 n, base);
}

int main(int argc, char *argv[])
{
	int opt, nr_vms = 0, nr_vcpus = 0, rounds = 0, i;
	cpu_set_t set;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	__TEST_REQUIRE(get_kvm_intel_param_bool("nested_vpid"),
		       "nested_vpid=N: L1 has no VPID");

	while ((opt = getopt(argc, argv, "mc:")) != -1) {
		switch (opt) {
		case 'm':
			break;
		case 'c':
			TEST_ASSERT(sscanf(optarg, "%d,%d,%d", &nr_vms,
					   &nr_vcpus, &rounds) == 3,
				    "-c VMS,VCPUS,ROUNDS");
			break;
		default:
			pr_info("usage: %s [-m | -c VMS,VCPUS,ROUNDS]\n",
				argv[0]);
			exit(KSFT_FAIL);
		}
	}

	TEST_ASSERT(!sched_getaffinity(0, sizeof(set), &set), "getaffinity");
	for (i = 0; i < CPU_SETSIZE && nr_cpus < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[nr_cpus++] = i;
	__TEST_REQUIRE(nr_cpus >= 2, "one CPU: nothing to migrate between");

	ksft_print_header();
	ksft_set_plan(nr_vms ? 2 : 1);
	if (nr_vms)
		test_concurrency(nr_vms, nr_vcpus, rounds);
	else
		test_migrate();
	ksft_finished();
}
