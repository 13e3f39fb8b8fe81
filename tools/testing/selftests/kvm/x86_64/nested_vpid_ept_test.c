// SPDX-License-Identifier: GPL-2.0-only
/*
 * nested_vpid_ept_test
 *
 * L2 VMs with EPT in vmcs12, as real L1 hypervisors run them: what each L2
 * reads through its own EPT12 (L1's EPT tables for it), while KVM keeps a
 * VPID tag and a shadow EPT root per L2 and L1 switches between more L2
 * VMs than KVM keeps roots.
 *
 * Every EPT12 identity-maps L1's memory and maps TEST_GPA to a page of its
 * own, which holds the value of its L2.  The SDM rules checked:
 *  - an L2 reads what its own EPT12 maps: the guest-physical and combined
 *    mappings cached for one EPTP are never used under another EPTP;
 *  - after L1 changes an EPT12 entry, INVEPT single-context for that EPTP
 *    (or all-context) makes every later access use the new entry, and the
 *    other EPTPs keep theirs;
 *  - VMPTRLD invalidates nothing, and INVEPT applies whatever VMCS is
 *    current: the same holds with one vmcs12 per L2.
 * KVM's shadow EPT caches translations like a TLB, in software, so a
 * missing invalidation is visible to L2 even under an emulator that
 * flushes its TLB on every VM transition.  L1 runs each L2 with VPID
 * (vpid12 = L2's number + 1) when it has VPID.
 */
#include <stdio.h>
#include <string.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"
#include "nested_vpid.h"

#define L2_GUEST_STACK_SIZE	256

/* More L2 VMs than KVM keeps shadow EPT roots in any mode (16). */
#define NR_L2			18
/* L2 n reads TEST_GPA, which its EPT12 maps to a page of its own. */
#define TEST_GPA		0x140000000ull
#define TEST_GVA		TEST_GPA
/* L1's aliases of the EPT12 page table pages that map TEST_GPA. */
#define PT_ALIAS_GVA		0x180000000ull

#define VAL(n)			(0x1000ull + (n))
#define VAL_B			0xbbbbbbbbull

#define EPT_ADDR_MASK		GENMASK_ULL(51, 12)

#define STAGE_READY		1	/* L1 waits for a case */

/* Written by the host, read by L1. */
static struct {
	uint64_t invept_type;		/* the case: see cases[] */
	uint64_t others;
	uint64_t own_vmcs;
	uint64_t ept_gpa[NR_L2];	/* EPT12 PML4 of L2 n */
	uint64_t pte_gva[NR_L2];	/* L1's alias of its TEST_GPA entry */
	uint64_t page_gpa[NR_L2];	/* the page it maps there */
	uint64_t b_gpa;			/* another page, holding VAL_B */
	uint64_t vmcs_gva[NR_L2];	/* one vmcs12 per L2, [0] vmx's */
	uint64_t vmcs_gpa[NR_L2];
} cfg;

static unsigned long l2_guest_stack[NR_L2][L2_GUEST_STACK_SIZE];
static uint64_t l2_value;

static void l2_guest_code(void)
{
	for (;;) {
		WRITE_ONCE(l2_value, READ_ONCE(*(uint64_t *)TEST_GVA));
		vmcall();
	}
}

/* ------------------------------------------------------------------ L1 */

static bool has_vpid, has_invept_single, has_invept_all;
static bool launched[NR_L2];
static uint64_t eptp0;
static int current_vmcs;

static uint64_t l1_eptp(int n)
{
	return (eptp0 & (PAGE_SIZE - 1)) | cfg.ept_gpa[n];
}

/* vmcs12 @v runs L2 @v: its EPTP, its VPID, its stack. */
static void l1_prepare_vmcs12(struct vmx_pages *vmx, int v)
{
	if (v) {
		*(uint32_t *)cfg.vmcs_gva[v] = vmcs_revision();
		GUEST_ASSERT(!vmclear(cfg.vmcs_gpa[v]));
		GUEST_ASSERT(!vmptrld(cfg.vmcs_gpa[v]));
	}
	prepare_vmcs(vmx, l2_guest_code, &l2_guest_stack[v][L2_GUEST_STACK_SIZE]);
	eptp0 = vmreadz(EPT_POINTER);
	GUEST_ASSERT(!vmwrite(EPT_POINTER, l1_eptp(v)));
	if (has_vpid)
		l1_vmcs12_set_vpid(v + 1);
}

/*
 * Run L2 @n once and return what it read at TEST_GPA: with @own_vmcs in
 * its own vmcs12 (VMPTRLD), else in vmcs12 0; its EPTP and VPID are
 * written in that vmcs12 either way (vmcs12 0 runs every L2 without
 * @own_vmcs).
 */
static uint64_t l1_run_l2(int n, bool own_vmcs)
{
	int v = own_vmcs ? n : 0;

	if (v != current_vmcs) {
		GUEST_ASSERT(!vmptrld(cfg.vmcs_gpa[v]));
		current_vmcs = v;
	}
	GUEST_ASSERT(!vmwrite(EPT_POINTER, l1_eptp(n)));
	if (has_vpid)
		GUEST_ASSERT(!vmwrite(VIRTUAL_PROCESSOR_ID, n + 1));
	WRITE_ONCE(l2_value, 0);
	if (launched[v]) {
		GUEST_ASSERT(!vmresume());
	} else {
		GUEST_ASSERT(!vmlaunch());
		launched[v] = true;
	}
	GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
	GUEST_ASSERT(!vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
			      vmreadz(VM_EXIT_INSTRUCTION_LEN)));
	return READ_ONCE(l2_value);
}

/* Every L2, @rounds times round-robin, reads its own page. */
static void l1_round_robin(int rounds, bool own_vmcs)
{
	int r, n;

	for (r = 0; r < rounds; r++)
		for (n = 0; n < NR_L2; n++)
			GUEST_ASSERT_EQ(l1_run_l2(n, own_vmcs), VAL(n));
}

/* L1 points L2 @n's TEST_GPA entry in its EPT12 at @gpa. */
static void l1_remap(int n, uint64_t gpa)
{
	uint64_t *pte = (uint64_t *)cfg.pte_gva[n];

	WRITE_ONCE(*pte, (READ_ONCE(*pte) & ~EPT_ADDR_MASK) | gpa);
}

static void l1_invept(uint64_t type, int n)
{
	uint8_t cf, zf;

	GUEST_ASSERT(!invept_safe(type, l1_eptp(n), &cf, &zf));
	GUEST_ASSERT(!cf && !zf);
}

/*
 * L2 0 ran, then @others other L2s (so that KVM keeps L2 0's root as a
 * previous one, or lost it); L1 remaps L2 0's page to B and invalidates
 * with @type, from vmcs12 @from_vmcs when each L2 has its own.  L2 0 then
 * reads B, and the L2s that L1 did not touch read their own pages.  L1
 * restores the mapping and invalidates again.
 */
static void l1_remap_case(uint64_t type, int others, bool own_vmcs)
{
	int n;

	GUEST_ASSERT_EQ(l1_run_l2(0, own_vmcs), VAL(0));
	for (n = 1; n <= others; n++)
		GUEST_ASSERT_EQ(l1_run_l2(n, own_vmcs), VAL(n));

	l1_remap(0, cfg.b_gpa);
	l1_invept(type, 0);
	GUEST_ASSERT_EQ(l1_run_l2(0, own_vmcs), VAL_B);
	for (n = 1; n < NR_L2; n++)
		GUEST_ASSERT_EQ(l1_run_l2(n, own_vmcs), VAL(n));
	GUEST_ASSERT_EQ(l1_run_l2(0, own_vmcs), VAL_B);

	l1_remap(0, cfg.page_gpa[0]);
	l1_invept(type, 0);
	GUEST_ASSERT_EQ(l1_run_l2(0, own_vmcs), VAL(0));
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	uint64_t ctls2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32;
	uint64_t cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	int v;

	has_vpid = ctls2 & SECONDARY_EXEC_ENABLE_VPID;
	has_invept_single = (cap & VMX_EPT_INVEPT_BIT) &&
			    (cap & VMX_EPT_EXTENT_CONTEXT_BIT);
	has_invept_all = (cap & VMX_EPT_INVEPT_BIT) &&
			 (cap & VMX_EPT_EXTENT_GLOBAL_BIT);

	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	for (v = 0; v < NR_L2; v++)
		l1_prepare_vmcs12(vmx, v);
	GUEST_ASSERT(!vmptrld(cfg.vmcs_gpa[0]));
	current_vmcs = 0;

	for (;;) {
		GUEST_SYNC_ARGS(STAGE_READY, has_vpid, has_invept_single,
				has_invept_all, 0);
		if (cfg.invept_type)
			l1_remap_case(cfg.invept_type, cfg.others, cfg.own_vmcs);
		else
			l1_round_robin(3, cfg.own_vmcs);
	}
}

/* ---------------------------------------------------------------- host */

/*
 * Each case: without @invept_type, every L2 reads its own page (three
 * rounds); with it, l1_remap_case() after @others other L2s ran, so that
 * KVM has L2 0's root current (0), kept (5) or lost (NR_L2 - 1).
 */
static const struct {
	const char *name;
	uint64_t invept_type;
	uint64_t others;
	bool own_vmcs;
} cases[] = {
	{ "own_pages_round_robin", 0, 0, false },
	{ "own_pages_vmptrld", 0, 0, true },
	{ "invept_single_current_root", VMX_EPT_EXTENT_CONTEXT, 0, false },
	{ "invept_single_kept_root", VMX_EPT_EXTENT_CONTEXT, 5, false },
	{ "invept_single_lost_root", VMX_EPT_EXTENT_CONTEXT, NR_L2 - 1, false },
	{ "invept_all_kept_root", VMX_EPT_EXTENT_GLOBAL, 5, false },
	{ "invept_single_other_vmcs12", VMX_EPT_EXTENT_CONTEXT, 5, true },
};

/* The guest-physical address of the EPT12 entry that maps @gpa (4K). */
static uint64_t ept_pte_gpa(struct kvm_vm *vm, uint64_t pml4_gpa, uint64_t gpa)
{
	uint64_t table = pml4_gpa;
	int level;

	for (level = 3; level > 0; level--) {
		uint64_t *e = addr_gpa2hva(vm, table);

		table = e[(gpa >> (PAGE_SHIFT + 9 * level)) & 0x1ff] &
			EPT_ADDR_MASK;
		TEST_ASSERT(table, "EPT12 entry missing at level %d", level + 1);
	}
	return table + ((gpa >> PAGE_SHIFT) & 0x1ff) * sizeof(uint64_t);
}

/* A page of L1's memory holding @val; its guest-physical address. */
static uint64_t alloc_value_page(struct kvm_vm *vm, uint64_t val)
{
	vm_vaddr_t gva = vm_vaddr_alloc_page(vm);

	*(uint64_t *)addr_gva2hva(vm, gva) = val;
	return addr_gva2gpa(vm, gva);
}

static void setup(struct kvm_vm *vm, struct vmx_pages *vmx)
{
	int n;

	cfg.vmcs_gva[0] = (uint64_t)vmx->vmcs;
	cfg.vmcs_gpa[0] = vmx->vmcs_gpa;
	for (n = 1; n < NR_L2; n++) {
		cfg.vmcs_gva[n] = vm_vaddr_alloc_page(vm);
		cfg.vmcs_gpa[n] = addr_gva2gpa(vm, cfg.vmcs_gva[n]);
	}
	for (n = 0; n < NR_L2; n++)
		cfg.page_gpa[n] = alloc_value_page(vm, VAL(n));
	cfg.b_gpa = alloc_value_page(vm, VAL_B);

	/* L2 reaches TEST_GPA through L1's page tables, which it shares. */
	virt_pg_map(vm, TEST_GVA, TEST_GPA);

	for (n = 0; n < NR_L2; n++) {
		struct vmx_pages table = {};
		struct vmx_pages *p = n ? &table : vmx;
		uint64_t pte;

		prepare_identity_ept12(p, vm);
		nested_pg_map(p, vm, TEST_GPA, cfg.page_gpa[n]);
		cfg.ept_gpa[n] = p->eptp_gpa;

		pte = ept_pte_gpa(vm, p->eptp_gpa, TEST_GPA);
		virt_pg_map(vm, PT_ALIAS_GVA + n * PAGE_SIZE,
			    pte & ~(PAGE_SIZE - 1));
		cfg.pte_gva[n] = PT_ALIAS_GVA + n * PAGE_SIZE +
				 (pte & (PAGE_SIZE - 1));
	}
	/* Room for every L2's shadow EPT pages: none is recycled. */
	vm_ioctl(vm, KVM_SET_NR_MMU_PAGES, (void *)4096ul);
}

int main(void)
{
	bool invept_single, invept_all;
	struct vmx_pages *vmx;
	struct kvm_vcpu *vcpu;
	vm_vaddr_t vmx_gva;
	struct kvm_vm *vm;
	struct ucall uc;
	int i;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_cpu_has_ept());

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vmx = vcpu_alloc_vmx(vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	setup(vm, vmx);
	sync_global_to_guest(vm, cfg);

	run_to_stage(vcpu, STAGE_READY, &uc);
	invept_single = uc.args[3];
	invept_all = uc.args[4];

	ksft_print_header();
	ksft_print_msg("L1 has VPID: %s; %d L2 VMs\n",
		       uc.args[2] ? "yes" : "no", NR_L2);
	ksft_set_plan(ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if ((cases[i].invept_type == VMX_EPT_EXTENT_CONTEXT &&
		     !invept_single) ||
		    (cases[i].invept_type == VMX_EPT_EXTENT_GLOBAL &&
		     !invept_all)) {
			ksft_test_result_skip("%s: L1 has no such INVEPT type\n",
					      cases[i].name);
			continue;
		}
		cfg.invept_type = cases[i].invept_type;
		cfg.others = cases[i].others;
		cfg.own_vmcs = cases[i].own_vmcs;
		sync_global_to_guest(vm, cfg);
		run_to_stage(vcpu, STAGE_READY, &uc);
		ksft_test_result_pass("%s\n", cases[i].name);
	}
	kvm_vm_free(vm);
	ksft_finished();
}
