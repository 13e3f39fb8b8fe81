// SPDX-License-Identifier: GPL-2.0-only
/*
 * The emulated CPU's TLB model (patches/bochs/), proven with KVM as the
 * instrument: what a guest reads through a translation that its paging
 * structures no longer give.
 *
 * The guest (L1, run by KVM with its own VPID) reads a page through a
 * linear address; the host then points that address's PTE at another
 * page, in guest memory, which no TLB invalidation goes with. L1 has run
 * an L2 with a VPID of its own and with EPT, so that KVM holds a VPID and
 * an EPT root for L2, which an INVVPID by L1 of L2's VPID, or an INVEPT
 * of L2's EPTP, invalidates on the CPU (at once, or before L2 runs
 * again: L1 then resumes L2). The SDM (Vol. 3C 29.4, "Cached Translation
 * Information") lets the CPU keep the old translation across VM exits
 * and VM entries with "enable VPID" 1, across an INVVPID of another VPID
 * and across an INVEPT single-context of another EPTP (L1's translations
 * are combined mappings of its own VPID and of L0's EPTP for it), and
 * requires it to drop it at INVLPG and at MOV to CR3 (a non-global
 * page). Each case checks one of these rules; a case where the CPU may
 * keep the translation passes only if it kept it (the model must show
 * what the SDM allows, or a missing invalidation would never show as a
 * stale read), a case where it must drop it only if it read the new page.
 * A case that keeps across another context's invalidation also checks,
 * by the emulated CPU's counters (patches/bochs/0004), that KVM did
 * execute that INVVPID or INVEPT in the meantime: else the case would
 * prove nothing.
 *
 * The test needs the emulated CPU, EPT and one CPU. With shadow paging,
 * KVM's shadow page tables, not the CPU, hold the guest's translations,
 * and KVM trusts its write protection of the guest's paging structures,
 * which the host's write goes around: INVLPG then keeps the old page too.
 * And KVM itself invalidates a vCPU's translations when it moves to
 * another CPU.
 */
#include <fcntl.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

/* The library's names that 7.x changed (6.12's has include/x86_64). */
#if __has_include("x86_64/processor.h")
#define guest_pte(vm, gva)	vm_get_page_table_entry(vm, gva)
#define L2_GUEST_STACK_SIZE	64
#define prepare_l2(vmx, rip)						\
	do {								\
		static unsigned long stack[L2_GUEST_STACK_SIZE];	\
		prepare_vmcs(vmx, rip, &stack[L2_GUEST_STACK_SIZE]);	\
	} while (0)
#else
#define guest_pte(vm, gva)	vm_get_pte(vm, gva)
#define vm_vaddr_t		gva_t
#define vm_vaddr_alloc_pages	vm_alloc_pages
#define prepare_l2(vmx, rip)	prepare_vmcs(vmx, rip)
#endif

/* Nested EPT for L2, identity-mapping L1's memory (7.x: vm_enable_tdp()). */
#if __has_include("x86_64/processor.h")
#define l2_ept_enable(vm)	do { } while (0)
#define l2_ept_map(vm, vmx)						\
	do {								\
		prepare_eptp(vmx, vm, 0);				\
		nested_map_memslot(vmx, vm, 0);				\
	} while (0)
#else
#define l2_ept_enable(vm)	vm_enable_tdp(vm)
#define l2_ept_map(vm, vmx)	tdp_identity_map_default_memslots(vm)
#endif

/* INVVPID types (SDM Vol. 3C 31.3, INVVPID) */
#define INVVPID_SINGLE_CONTEXT	1
#define L2_VPID			5

/*
 * The emulated CPU's TLB counters (patches/bochs/0004), MSRs read through
 * /dev/cpu/0/msr: the INVVPIDs and the INVEPTs it executed.
 */
#define MSR_TLB_STAT		0x400000f0
#define TLB_STAT_INVVPID	4
#define TLB_STAT_INVEPT		5

#define PAGE_A	0xaaaaaaaaaaaaaaaaull
#define PAGE_B	0xbbbbbbbbbbbbbbbbull

/* What the guest does before reading again, after the PTE changed. */
enum step {
	STEP_VMEXIT,		/* nothing: a VM exit and a VM entry went by */
	STEP_INVVPID_OTHER,	/* INVVPID single-context of L2's VPID */
	STEP_INVEPT_OTHER,	/* INVEPT single-context of L2's EPTP */
	STEP_INVLPG,		/* INVLPG of the address */
	STEP_MOV_CR3,		/* MOV to CR3 of the same value */
};

/* What L1 must have for a case: an L2 with a VPID, and with EPT. */
enum l2 {
	L2_NONE,
	L2_VPID_ONLY,	/* INVVPID single-context, nested VPID */
	L2_VPID_EPT,	/* and INVEPT single-context, nested EPT */
};

static const struct tlb_case {
	const char *name;
	enum step step;
	bool kept;		/* the old page is read (else the new one) */
	enum l2 needs;
	int executed;		/* the counter that the step must move, or -1 */
} cases[] = {
	{ "kept_across_vmexit", STEP_VMEXIT, true, L2_NONE, -1 },
	{ "kept_across_invvpid_of_another_vpid", STEP_INVVPID_OTHER, true,
	  L2_VPID_ONLY, TLB_STAT_INVVPID },
	{ "kept_across_invept_of_another_eptp", STEP_INVEPT_OTHER, true,
	  L2_VPID_EPT, TLB_STAT_INVEPT },
	{ "dropped_by_invlpg", STEP_INVLPG, false, L2_NONE, -1 },
	{ "dropped_by_mov_cr3", STEP_MOV_CR3, false, L2_NONE, -1 },
};

static void resume_l2(void)
{
	vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + vmreadz(VM_EXIT_INSTRUCTION_LEN));
	GUEST_ASSERT(!vmresume());
	GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
}

static void guest_step(enum step step, uint64_t gva)
{
	uint8_t cf, zf;

	switch (step) {
	case STEP_VMEXIT:
		break;
	case STEP_INVVPID_OTHER:
		GUEST_ASSERT(!invvpid_safe(INVVPID_SINGLE_CONTEXT, L2_VPID, 0,
					   &cf, &zf));
		GUEST_ASSERT(!cf && !zf);
		resume_l2();
		break;
	case STEP_INVEPT_OTHER:
		GUEST_ASSERT(!invept_safe(VMX_EPT_EXTENT_CONTEXT,
					  vmreadz(EPT_POINTER), &cf, &zf));
		GUEST_ASSERT(!cf && !zf);
		resume_l2();
		break;
	case STEP_INVLPG:
		asm volatile("invlpg (%0)" : : "r"(gva) : "memory");
		break;
	case STEP_MOV_CR3:
		asm volatile("mov %0, %%cr3" : : "r"(get_cr3()) : "memory");
		break;
	}
}

static void l2_guest_code(void)
{
	for (;;)
		vmcall();
}

static void guest_code(uint64_t gva, struct vmx_pages *vmx, enum l2 l2)
{
	volatile uint64_t *p = (volatile uint64_t *)gva;
	int i;

	if (l2 != L2_NONE) {
		GUEST_ASSERT(prepare_for_vmx_operation(vmx));
		GUEST_ASSERT(load_vmcs(vmx));
		prepare_l2(vmx, l2_guest_code);
		GUEST_ASSERT(!vmlaunch());
		GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
	}

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		/* Cache the translation: the host checks which page it gives. */
		GUEST_SYNC(*p);
		/* The host has pointed the PTE at the other page. */
		if (cases[i].needs <= l2)
			guest_step(cases[i].step, gva);
		GUEST_SYNC(*p);
		/* Drop the translation, whatever the case kept. */
		guest_step(STEP_INVLPG, gva);
	}
	GUEST_DONE();
}

static uint64_t run_to_sync(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1];
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
	}
	return 0;
}

/*
 * The L2 that L1 can run: with a VPID and INVVPID single-context, and
 * then with EPT and INVEPT single-context.
 */
static enum l2 l1_can_run(void)
{
	uint64_t cap = kvm_get_feature_msr(MSR_IA32_VMX_EPT_VPID_CAP);

	if (!(kvm_get_feature_msr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 &
	      SECONDARY_EXEC_ENABLE_VPID) ||
	    !(cap & VMX_EPT_VPID_CAP_INVVPID_TYPE(INVVPID_SINGLE_CONTEXT)))
		return L2_NONE;
	if (!kvm_cpu_has_ept() || !(cap & VMX_EPT_EXTENT_CONTEXT_BIT))
		return L2_VPID_ONLY;
	return L2_VPID_EPT;
}

/* Counter @n of the emulated CPU's TLB, or -1 if it has none. */
static int64_t tlb_stat(int n)
{
	uint64_t v;
	int fd = open("/dev/cpu/0/msr", O_RDONLY);
	ssize_t r = fd < 0 ? -1 : pread(fd, &v, sizeof(v), MSR_TLB_STAT + n);

	if (fd >= 0)
		close(fd);
	return r == sizeof(v) ? (int64_t)v : -1;
}

int main(void)
{
	uint64_t gva, pa[2], *pte, read, old, new;
	enum l2 l2 = l1_can_run();
	struct vmx_pages *vmx;
	struct kvm_vcpu *vcpu;
	vm_vaddr_t vmx_gva;
	struct kvm_vm *vm;
	int i, cur = 0;
	int64_t count;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_is_tdp_enabled());
	TEST_REQUIRE(tlb_stat(TLB_STAT_INVEPT) >= 0);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	if (l2 == L2_VPID_EPT)
		l2_ept_enable(vm);
	vmx = vcpu_alloc_vmx(vm, &vmx_gva);
	vmx->vpid = l2 != L2_NONE ? L2_VPID : 0;

	/* One address, two pages; the guest reads the one its PTE names. */
	gva = vm_vaddr_alloc_pages(vm, 2);
	pa[0] = addr_gva2gpa(vm, gva);
	pa[1] = addr_gva2gpa(vm, gva + PAGE_SIZE);
	*(uint64_t *)addr_gpa2hva(vm, pa[0]) = PAGE_A;
	*(uint64_t *)addr_gpa2hva(vm, pa[1]) = PAGE_B;
	pte = guest_pte(vm, gva);
	if (l2 == L2_VPID_EPT)
		l2_ept_map(vm, vmx);
	vcpu_args_set(vcpu, 3, gva, vmx_gva, l2);

	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct tlb_case *c = &cases[i];

		old = cur ? PAGE_B : PAGE_A;
		new = cur ? PAGE_A : PAGE_B;
		read = run_to_sync(vcpu);
		TEST_ASSERT(read == old, "%s: read %lx before the PTE changed, not %lx",
			    c->name, read, old);
		cur = !cur;
		*pte = (*pte & ~PHYSICAL_PAGE_MASK) | pa[cur];
		count = c->executed < 0 ? 0 : tlb_stat(c->executed);
		read = run_to_sync(vcpu);
		TEST_ASSERT(read == old || read == new, "%s: read %lx", c->name, read);
		if (c->needs > l2) {
			ksft_test_result_skip("%s: L1 has no %s\n", c->name,
					      c->needs == L2_VPID_ONLY ? "INVVPID" :
					      "INVEPT or nested EPT");
			continue;
		}
		TEST_ASSERT(c->executed < 0 || tlb_stat(c->executed) > count,
			    "%s: the CPU executed no %s: the case proves nothing",
			    c->name, c->executed == TLB_STAT_INVEPT ? "INVEPT" : "INVVPID");
		TEST_ASSERT(read == (c->kept ? old : new),
			    "%s: read the %s page; the CPU %s keep the old translation%s",
			    c->name, read == old ? "old" : "new",
			    c->kept ? "may" : "must not",
			    c->kept ? " and the model should have" : "");
		ksft_test_result_pass("%s\n", c->name);
	}
	kvm_vm_free(vm);
	ksft_finished();
}
