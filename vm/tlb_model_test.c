// SPDX-License-Identifier: GPL-2.0-only
/*
 * The emulated CPU's TLB model (patches/bochs/), proven with KVM as the
 * instrument: what a guest reads through a translation that its paging
 * structures no longer give.
 *
 * The guest (L1, run by KVM with its own VPID) reads a page through a
 * linear address; the host then points that address's PTE at another
 * page, in guest memory, which no TLB invalidation goes with. L1 has run
 * an L2 with a VPID of its own, so that KVM holds a VPID for L2, which an
 * INVVPID by L1 of L2's VPID invalidates on the CPU (at once, or before
 * L2 runs again: L1 then resumes L2). The SDM
 * (Vol. 3C 29.4, "Cached Translation Information") lets the CPU keep the
 * old translation across VM exits and VM entries with "enable VPID" 1,
 * and across an INVVPID of another VPID, and requires it to drop it at
 * INVLPG and at MOV to CR3 (a non-global page). Each case checks one of
 * these rules; a case where the CPU may keep the translation passes only
 * if it kept it (the model must show what the SDM allows, or a missing
 * invalidation would never show as a stale read), a case where it must
 * drop it only if it read the new page.
 *
 * The test needs EPT and one CPU. With shadow paging, KVM's shadow page
 * tables, not the CPU, hold the guest's translations, and KVM trusts its
 * write protection of the guest's paging structures, which the host's
 * write goes around: INVLPG then keeps the old page too. And KVM itself
 * invalidates a vCPU's translations when it moves to another CPU.
 */
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

/* INVVPID types (SDM Vol. 3C 31.3, INVVPID) */
#define INVVPID_SINGLE_CONTEXT	1
#define L2_VPID			5

#define PAGE_A	0xaaaaaaaaaaaaaaaaull
#define PAGE_B	0xbbbbbbbbbbbbbbbbull

/* What the guest does before reading again, after the PTE changed. */
enum step {
	STEP_VMEXIT,		/* nothing: a VM exit and a VM entry went by */
	STEP_INVVPID_OTHER,	/* INVVPID single-context of L2's VPID */
	STEP_INVLPG,		/* INVLPG of the address */
	STEP_MOV_CR3,		/* MOV to CR3 of the same value */
};

static const struct tlb_case {
	const char *name;
	enum step step;
	bool kept;		/* the old page is read (else the new one) */
	bool needs_vpid;	/* INVVPID, which L1 has with nested VPID */
} cases[] = {
	{ "kept_across_vmexit", STEP_VMEXIT, true },
	{ "kept_across_invvpid_of_another_vpid", STEP_INVVPID_OTHER, true, true },
	{ "dropped_by_invlpg", STEP_INVLPG, false },
	{ "dropped_by_mov_cr3", STEP_MOV_CR3, false },
};

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
		vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) + vmreadz(VM_EXIT_INSTRUCTION_LEN));
		GUEST_ASSERT(!vmresume());
		GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
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

static void guest_code(uint64_t gva, struct vmx_pages *vmx, bool invvpid)
{
	volatile uint64_t *p = (volatile uint64_t *)gva;
	int i;

	if (invvpid) {
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
		if (!cases[i].needs_vpid || invvpid)
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

/* L1 may run L2 with a VPID and execute INVVPID single-context. */
static bool l1_has_invvpid(void)
{
	return (kvm_get_feature_msr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 &
		SECONDARY_EXEC_ENABLE_VPID) &&
	       (kvm_get_feature_msr(MSR_IA32_VMX_EPT_VPID_CAP) &
		VMX_EPT_VPID_CAP_INVVPID_TYPE(INVVPID_SINGLE_CONTEXT));
}

int main(void)
{
	uint64_t gva, pa[2], *pte, read, old, new;
	bool invvpid = l1_has_invvpid();
	struct kvm_vcpu *vcpu;
	vm_vaddr_t vmx_gva;
	struct kvm_vm *vm;
	int i, cur = 0;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_is_tdp_enabled());
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	vcpu_alloc_vmx(vm, &vmx_gva)->vpid = invvpid ? L2_VPID : 0;

	/* One address, two pages; the guest reads the one its PTE names. */
	gva = vm_vaddr_alloc_pages(vm, 2);
	pa[0] = addr_gva2gpa(vm, gva);
	pa[1] = addr_gva2gpa(vm, gva + PAGE_SIZE);
	*(uint64_t *)addr_gpa2hva(vm, pa[0]) = PAGE_A;
	*(uint64_t *)addr_gpa2hva(vm, pa[1]) = PAGE_B;
	pte = guest_pte(vm, gva);
	vcpu_args_set(vcpu, 3, gva, vmx_gva, invvpid);

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
		read = run_to_sync(vcpu);
		TEST_ASSERT(read == old || read == new, "%s: read %lx", c->name, read);
		if (c->needs_vpid && !invvpid) {
			ksft_test_result_skip("%s: L1 has no INVVPID\n", c->name);
			continue;
		}
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
