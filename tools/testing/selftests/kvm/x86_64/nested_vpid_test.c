// SPDX-License-Identifier: GPL-2.0-only
/*
 * nested_vpid_test
 *
 * Check KVM's nested VPID emulation: the VPID capabilities L1 sees, the
 * per-vCPU cache of L2 VPID tags (vmcs12's VPID, vpid12, mapped to a VPID
 * of KVM's, vpid02) through its binary stats, INVVPID of every type and
 * its operand checks, that L2 never uses a stale translation with shadow
 * paging, that no VPID is leaked, and nested state save/restore in L2;
 * one case per nested VPID bug that upstream fixed, and (-c, -v) cycles of
 * VMXON/VMXOFF and of vCPU lifetimes.
 *
 * The mode comes from kvm_intel's parameters nested_vpid, nested_vpid_tags
 * and ept.  The host sends L1 a program of operations (enter L2 with a
 * VPID or with VPID disabled, INVVPID, VMXOFF/VMXON, rewrite a PTE of L2),
 * runs it up to the next GUEST_SYNC and compares the vCPU's stats with a
 * model of the tag cache: exact LRU over nested_vpid_tags tags.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "hyperv.h"
#include "vmx.h"
#include "nested_vpid.h"

#define L2_GUEST_STACK_SIZE	256

#define NESTED_VPID_PARAM	"/sys/module/kvm_intel/parameters/nested_vpid"

#define MAX_OPS			256
/* More L2 CR3s than KVM caches roots (current + KVM_MMU_NUM_PREV_ROOTS). */
#define NR_L2_CR3		6
#define MAX_TAGS		64

/* L2 reads this address; with ept=0 its PTE is rewritten behind L2's back. */
#define TEST_GVA		0x8000000000ull
/* L1's alias of the page table page that holds TEST_GVA's PTE. */
#define PT_ALIAS_GVA		(TEST_GVA + 0x200000ull)
#define VAL_A			0xaaaaaaaaaaaaaaaaull
#define VAL_B			0xbbbbbbbbbbbbbbbbull
#define VAL_C			0xccccccccccccccccull

#define PTE_ADDR_MASK		GENMASK_ULL(51, 12)

#define NONCANONICAL		0x8000000000000000ull

/* Short names for the library's INVVPID types, for the tables below. */
#define INVVPID_INDIVIDUAL	VMX_VPID_EXTENT_INDIVIDUAL_ADDR
#define INVVPID_SINGLE		VMX_VPID_EXTENT_SINGLE_CONTEXT
#define INVVPID_ALL		VMX_VPID_EXTENT_ALL_CONTEXT
#define INVVPID_SINGLE_GLOBALS	VMX_VPID_EXTENT_SINGLE_NON_GLOBAL
#define NR_INVVPID_TYPES	4
#define INVVPID_TYPES		(VMX_EPT_VPID_CAP_INVVPID_TYPE(0) |	\
				 VMX_EPT_VPID_CAP_INVVPID_TYPE(1) |	\
				 VMX_EPT_VPID_CAP_INVVPID_TYPE(2) |	\
				 VMX_EPT_VPID_CAP_INVVPID_TYPE(3))

enum {
	STAGE_READY = 1,	/* L1 waits for a program */
	STAGE_L2,		/* L2 waits for a nested state round trip */
	STAGE_VMXOFF,		/* L1 left VMX operation, before VMXON */
};

enum {
	OP_RESET,		/* VMXOFF, VMXON, fresh vmcs12 */
	OP_ENTER,		/* @count round trips to L2, @vpid 0: VPID off */
	OP_INVVPID,		/* INVVPID @type with @vpid and @addr */
	OP_SET_PTE,		/* TEST_GVA's PTE := @addr */
	OP_CAPS,		/* read L1's VMX capability MSRs */
	OP_CYCLES,		/* @count times: OP_RESET, enter @vpid L2s */
};

#define F_READ		BIT(0)	/* L2 reads TEST_GVA */
#define F_L2_SYNC	BIT(1)	/* L2 stops at a GUEST_SYNC first */
#define F_INVLPG	BIT(2)	/* L2 executes INVLPG of TEST_GVA first */

/* OP_ENTER's @addr is L2's CR3, 0 for L1's. */
struct op {
	uint32_t code;
	uint32_t flags;
	uint64_t vpid;
	uint64_t type;
	uint64_t addr;
	uint64_t count;
};

struct result {
	uint64_t vector;
	uint64_t cf;
	uint64_t zf;
	uint64_t err;
	uint64_t val[2];
};

/* Shared with the guest (sync_global_to_guest / sync_global_from_guest). */
static struct {
	struct op ops[MAX_OPS];
	uint64_t nr;
	uint64_t pt_alias;	/* gva of TEST_GVA's PTE in L1's alias */
} prog;
static struct result results[MAX_OPS];
static uint64_t l2_flags;
static uint64_t l2_count;

/* ---------------------------------------------------------------- guest */

static void l2_guest_code(void)
{
	for (;;) {
		uint64_t flags = READ_ONCE(l2_flags);

		if (flags & F_L2_SYNC)
			GUEST_SYNC(STAGE_L2);
		if (flags & F_INVLPG)
			asm volatile("invlpg (%0)" : : "r"(TEST_GVA) : "memory");
		if (flags & F_READ)
			WRITE_ONCE(results[0].val[0],
				   READ_ONCE(*(uint64_t *)TEST_GVA));
		WRITE_ONCE(l2_count, READ_ONCE(l2_count) + 1);
		vmcall();
	}
}

static unsigned long l2_guest_stack[L2_GUEST_STACK_SIZE];

static void l1_vmx_on(struct vmx_pages *vmx)
{
	GUEST_ASSERT(prepare_for_vmx_operation(vmx));
	GUEST_ASSERT(load_vmcs(vmx));
	prepare_vmcs(vmx, l2_guest_code, &l2_guest_stack[L2_GUEST_STACK_SIZE]);
	GUEST_ASSERT(vmreadz(CPU_BASED_VM_EXEC_CONTROL) &
		     CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
}

/*
 * VMXOFF, then VMXON with a fresh vmcs12.  In between, the host counts the
 * VPIDs allocated: VMXOFF alone must give back every L2 tag, since VMXON
 * would hide a leak by starting a new cache.
 */
static void l1_vmx_reset(struct vmx_pages *vmx, bool *launched)
{
	vmxoff();
	GUEST_SYNC(STAGE_VMXOFF);
	l1_vmx_on(vmx);
	*launched = false;
}

static void l1_enter_l2(bool *launched)
{
	if (*launched) {
		GUEST_ASSERT(!vmresume());
	} else {
		GUEST_ASSERT(!vmlaunch());
		*launched = true;
	}
	GUEST_ASSERT_EQ(vmreadz(VM_EXIT_REASON), EXIT_REASON_VMCALL);
	vmwrite(GUEST_RIP, vmreadz(GUEST_RIP) +
			   vmreadz(VM_EXIT_INSTRUCTION_LEN));
}

static void l1_run_op(struct vmx_pages *vmx, struct op *op, struct result *res,
		      bool *launched)
{
	uint8_t cf, zf;
	uint64_t i;

	switch (op->code) {
	case OP_RESET:
		l1_vmx_reset(vmx, launched);
		break;
	case OP_ENTER:
		l1_vmcs12_set_vpid(op->vpid);
		GUEST_ASSERT(!vmwrite(GUEST_CR3, op->addr ? op->addr : get_cr3()));
		for (i = 0; i < op->count; i++) {
			WRITE_ONCE(l2_flags, op->flags);
			l1_enter_l2(launched);
			WRITE_ONCE(l2_flags, 0);
		}
		/* L2 stored what it read in results[0]. */
		res->val[0] = READ_ONCE(results[0].val[0]);
		break;
	case OP_INVVPID:
		res->vector = invvpid_safe(op->type, op->vpid, op->addr,
					   &cf, &zf);
		res->cf = cf;
		res->zf = zf;
		res->err = !res->vector && zf ?
			   vmreadz(VM_INSTRUCTION_ERROR) : 0;
		break;
	case OP_SET_PTE:
		WRITE_ONCE(*(uint64_t *)prog.pt_alias, op->addr);
		break;
	case OP_CAPS:
		res->val[0] = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		res->val[1] = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		break;
	case OP_CYCLES:
		for (i = 0; i < op->count; i++) {
			struct op enter = { OP_ENTER, 0, 0, 0, 0, 1 };
			uint64_t v;

			l1_vmx_reset(vmx, launched);
			/* @type != 0: the L2s run with VPID disabled. */
			for (v = 1; v <= op->vpid; v++) {
				enter.vpid = op->type ? 0 : v;
				l1_run_op(vmx, &enter, res, launched);
			}
		}
		break;
	default:
		GUEST_FAIL("Unknown op %u", op->code);
	}
}

static void l1_guest_code(struct vmx_pages *vmx)
{
	bool launched = false;
	uint64_t i;

	l1_vmx_on(vmx);
	for (;;) {
		GUEST_SYNC(STAGE_READY);
		for (i = 0; i < READ_ONCE(prog.nr); i++)
			l1_run_op(vmx, &prog.ops[i], &results[i + 1],
				  &launched);
	}
}

/* ----------------------------------------------------------------- host */

/* The module's mode. */
static bool nested_vpid;
static bool ept;
static int nr_tags;

/* Model of the tag cache: what the design says the stats must be. */
struct model {
	struct {
		uint16_t vpid12;	/* 0: unmapped */
		bool owned;		/* holds a vpid02 */
		uint64_t used;
	} slot[MAX_TAGS];
	uint64_t clock;
	uint16_t last_vpid;
	struct vpid_stats st;
};

static struct model model;
/* What the model says the entry of a KVM_SET_NESTED_STATE into L2 counts. */
static struct vpid_stats model_restore_st;

static void model_reset(void)
{
	memset(model.slot, 0, sizeof(model.slot));
	model.last_vpid = 0;
}

static int model_find(uint16_t vpid12)
{
	int i;

	for (i = 0; i < nr_tags; i++)
		if (model.slot[i].vpid12 && model.slot[i].vpid12 == vpid12)
			return i;
	return -1;
}

static void model_enter(uint16_t vpid12)
{
	bool switched;
	int i, s;

	if (!vpid12) {
		/*
		 * VPID disabled: vpid01 is flushed on entry and on exit.  With
		 * shadow paging the flush syncs the shadow pages that every
		 * vpid12 shares, so the next vpid12 syncs again.
		 */
		model.st.flushes += 2;
		if (!ept)
			model.last_vpid = 0;
		return;
	}

	switched = vpid12 != model.last_vpid;
	model.last_vpid = vpid12;
	s = model_find(vpid12);
	if (s >= 0) {
		model.st.hits++;
		/* ept=0: the shadow MMU is shared by all vpid12s, sync it. */
		if (switched && !ept)
			model.st.flushes++;
	} else {
		model.st.misses++;
		model.st.flushes++;
		for (i = 0; i < nr_tags; i++)
			if (!model.slot[i].vpid12)
				break;
		if (i == nr_tags) {
			model.st.evictions++;
			for (s = 0, i = 1; i < nr_tags; i++)
				if (model.slot[i].used < model.slot[s].used)
					s = i;
		} else {
			s = i;
		}
		model.slot[s].vpid12 = vpid12;
		model.slot[s].owned = true;
	}
	model.slot[s].used = ++model.clock;
}

static int model_owned(void)
{
	int i, n = 0;

	for (i = 0; i < nr_tags; i++)
		n += model.slot[i].owned;
	return n;
}

/* The program the host builds, applied to the model at the same time. */
static int add_op(uint32_t code, uint32_t flags, uint64_t vpid, uint64_t type,
		  uint64_t addr, uint64_t count)
{
	struct op *op = &prog.ops[prog.nr];
	uint64_t i;
	int s;

	TEST_ASSERT(prog.nr < MAX_OPS, "program too long");
	*op = (struct op){ code, flags, vpid, type, addr, count };

	switch (code) {
	case OP_RESET:
		model_reset();
		break;
	case OP_ENTER:
		if (!nested_vpid)
			vpid = 0;
		op->vpid = vpid;
		for (i = 0; i < count; i++)
			model_enter(vpid);
		if (flags & F_L2_SYNC) {
			struct vpid_stats st = model.st;

			/*
			 * KVM_SET_NESTED_STATE leaves L2 and enters it again
			 * with a new cache: a miss.  The host counts what the
			 * ioctl does apart; model only the tag it assigns.
			 */
			model_reset();
			memset(&model.st, 0, sizeof(model.st));
			model_enter(vpid);
			model_restore_st = model.st;
			model.st = st;
		}
		break;
	case OP_INVVPID:
		/* ept=0: one address synced for one VPID, all sync again. */
		if (type == INVVPID_INDIVIDUAL && !ept)
			model.last_vpid = 0;
		if (type == INVVPID_ALL) {
			for (s = 0; s < nr_tags; s++)
				model.slot[s].vpid12 = 0;
			break;
		}
		s = model_find(vpid);
		if (s < 0)
			break;
		if (type == INVVPID_INDIVIDUAL)
			model.st.flushes++;	/* one pCPU: flushed in the tag */
		else
			model.slot[s].vpid12 = 0;	/* flushed on next use */
		break;
	}
	return ++prog.nr;	/* index in results[] */
}

/* A new program that goes on from L1's current state. */
static void prog_continue(void)
{
	memset(&prog.ops, 0, sizeof(prog.ops));
	prog.nr = 0;
}

/* A new program that starts with VMXOFF, VMXON and a fresh vmcs12. */
static void prog_start(void)
{
	prog_continue();
	add_op(OP_RESET, 0, 0, 0, 0, 0);
	memset(&model.st, 0, sizeof(model.st));
}

static int enter(uint16_t vpid, uint32_t flags)
{
	return add_op(OP_ENTER, flags, vpid, 0, 0, 1);
}

static int invvpid_op(uint64_t type, uint64_t vpid, uint64_t addr)
{
	return add_op(OP_INVVPID, 0, vpid, type, addr, 0);
}

struct test_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t pte_a, pte_b, pte_c;	/* TEST_GVA -> page A, B, C */
	uint64_t cr3[NR_L2_CR3];	/* copies of L1's top-level table */
	int nr_restores;
	bool restored_in_l2;
	/* Stats counted by KVM_SET_NESTED_STATE itself. */
	struct vpid_stats restore_st;
	/* What the host does when L2 stops at F_L2_SYNC. */
	void (*on_l2_sync)(struct test_vm *t);
};

static void nested_state_round_trip(struct test_vm *t)
{
	struct vpid_stats before, after;
	uint64_t *b = (uint64_t *)&before, *a = (uint64_t *)&after;
	uint64_t *r = (uint64_t *)&t->restore_st;
	int size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	struct kvm_nested_state *state;
	int i;

	TEST_ASSERT(size > 0, "KVM_CAP_NESTED_STATE not supported");
	vcpu_run_complete_io(t->vcpu);
	state = calloc(1, size);
	TEST_ASSERT(state, "-ENOMEM");
	state->size = size;
	vcpu_nested_state_get(t->vcpu, state);
	t->restored_in_l2 = state->flags & KVM_STATE_NESTED_GUEST_MODE;
	read_vpid_stats(t->vcpu, &before);
	vcpu_nested_state_set(t->vcpu, state);
	read_vpid_stats(t->vcpu, &after);
	for (i = 0; i < NR_VPID_STATS; i++)
		r[i] += a[i] - b[i];
	free(state);
	t->nr_restores++;
}

/* vmx_vpids_allocated as read at L1's VMXOFFs since the last reset. */
static struct {
	uint64_t min, max;
	int nr;
} at_vmxoff;

static void at_vmxoff_reset(void)
{
	at_vmxoff.nr = 0;
}

static void at_vmxoff_read(void)
{
	uint64_t n;

	if (!read_vpids_allocated(&n))
		return;
	if (!at_vmxoff.nr || n < at_vmxoff.min)
		at_vmxoff.min = n;
	if (!at_vmxoff.nr || n > at_vmxoff.max)
		at_vmxoff.max = n;
	at_vmxoff.nr++;
}

/* Every VMXOFF since the last reset (at least one) left @base VPIDs. */
static bool at_vmxoff_check(uint64_t base)
{
	if (at_vmxoff.nr && at_vmxoff.min == base && at_vmxoff.max == base)
		return true;
	ksft_print_msg("at %d VMXOFFs: %lu to %lu VPIDs, baseline %lu\n",
		       at_vmxoff.nr, at_vmxoff.min, at_vmxoff.max, base);
	return false;
}

static void run_vcpu(struct test_vm *t, struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	for (;;) {
		vcpu_run(vcpu);
		TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

		switch (get_ucall(vcpu, &uc)) {
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			/* NOT REACHED */
		case UCALL_SYNC:
			if (uc.args[1] == STAGE_READY)
				return;
			if (uc.args[1] == STAGE_VMXOFF) {
				at_vmxoff_read();
				break;
			}
			TEST_ASSERT(uc.args[1] == STAGE_L2 && t,
				    "Unexpected stage %lu", uc.args[1]);
			t->on_l2_sync(t);
			break;
		default:
			TEST_FAIL("Unknown ucall %lu", uc.cmd);
		}
	}
}

static void vcpu_start(struct kvm_vcpu *vcpu)
{
	vm_vaddr_t vmx_gva;

	vcpu_alloc_vmx(vcpu->vm, &vmx_gva);
	vcpu_args_set(vcpu, 1, vmx_gva);
	run_vcpu(NULL, vcpu);	/* up to the first STAGE_READY */
}

static void run_prog_on(struct test_vm *t, struct kvm_vcpu *vcpu)
{
	sync_global_to_guest(vcpu->vm, prog);
	run_vcpu(t, vcpu);
	sync_global_from_guest(vcpu->vm, results);
}

/* Run the program; true if the stats moved exactly as the model's. */
static bool run_prog(struct test_vm *t, const char *name)
{
	struct vpid_stats before, after, d;
	uint64_t *b = (uint64_t *)&before, *a = (uint64_t *)&after;
	uint64_t *dd = (uint64_t *)&d, *m = (uint64_t *)&model.st;
	bool ok = true;
	int i;

	memset(&t->restore_st, 0, sizeof(t->restore_st));
	read_vpid_stats(t->vcpu, &before);
	run_prog_on(t, t->vcpu);
	read_vpid_stats(t->vcpu, &after);

	/* Apart: what KVM_SET_NESTED_STATE counted, see test_nested_state(). */
	for (i = 0; i < NR_VPID_STATS; i++) {
		dd[i] = a[i] - b[i] - ((uint64_t *)&t->restore_st)[i];
		if (dd[i] != m[i])
			ok = false;
	}
	if (!ok) {
		ksft_print_msg("%s: stat deltas differ from the design\n", name);
		for (i = 0; i < NR_VPID_STATS; i++)
			ksft_print_msg("  %-22s got %lu expected %lu\n",
				       vpid_stat_names[i], dd[i], m[i]);
	}
	return ok;
}

/* A VM for the programs; with Hyper-V's CPUID if @hv. */
static void setup_test_vm_hv(struct test_vm *t, bool hv)
{
	struct kvm_vm *vm;
	vm_paddr_t a, b, c, pt;
	uint64_t *pte;
	int i;

	memset(t, 0, sizeof(*t));
	vm = vm_create_with_one_vcpu(&t->vcpu, l1_guest_code);
	t->vm = vm;
	if (hv)
		vcpu_set_hv_cpuid(t->vcpu);
	t->on_l2_sync = nested_state_round_trip;

	/* TEST_GVA -> A (or B), in a page table of its own. */
	a = vm_phy_page_alloc(vm, KVM_GUEST_PAGE_TABLE_MIN_PADDR, 0);
	b = vm_phy_page_alloc(vm, KVM_GUEST_PAGE_TABLE_MIN_PADDR, 0);
	c = vm_phy_page_alloc(vm, KVM_GUEST_PAGE_TABLE_MIN_PADDR, 0);
	*(uint64_t *)addr_gpa2hva(vm, a) = VAL_A;
	*(uint64_t *)addr_gpa2hva(vm, b) = VAL_B;
	*(uint64_t *)addr_gpa2hva(vm, c) = VAL_C;
	virt_pg_map(vm, TEST_GVA, a);
	pte = vm_get_page_table_entry(vm, TEST_GVA);
	t->pte_a = *pte;
	TEST_ASSERT((*pte & PTE_ADDR_MASK) == a, "PTE for A: 0x%lx", *pte);
	t->pte_b = (*pte & ~PTE_ADDR_MASK) | b;
	t->pte_c = (*pte & ~PTE_ADDR_MASK) | c;
	pt = addr_hva2gpa(vm, pte);
	virt_pg_map(vm, PT_ALIAS_GVA, pt & ~0xfffull);
	prog.pt_alias = PT_ALIAS_GVA + (pt & 0xfff);

	/* L2 CR3s: each a root of its own for KVM, same translations. */
	for (i = 0; i < NR_L2_CR3; i++) {
		t->cr3[i] = vm_phy_page_alloc(vm, KVM_GUEST_PAGE_TABLE_MIN_PADDR,
					      0);
		memcpy(addr_gpa2hva(vm, t->cr3[i]), addr_gpa2hva(vm, vm->pgd),
		       vm->page_size);
	}

	vcpu_start(t->vcpu);
}

static void setup_test_vm(struct test_vm *t)
{
	setup_test_vm_hv(t, false);
}

static void destroy_test_vm(struct test_vm *t)
{
	kvm_vm_free(t->vm);
}

/* Report @name as skipped, with @reason, if @cond. */
static bool skip_if(bool cond, const char *name, const char *reason)
{
	if (cond)
		ksft_test_result_skip("%s: %s\n", name, reason);
	return cond;
}

#define NO_VPID	"nested_vpid=N: L1 has no VPID"

static uint64_t caps_procbased2, caps_ept_vpid;

static bool invvpid_type_supported(int type)
{
	return caps_ept_vpid & VMX_EPT_VPID_CAP_INVVPID_TYPE(type);
}

/* 1. What L1 sees of VPID in its VMX capability MSRs. */
static void test_capabilities(struct test_vm *t)
{
	bool vpid_ctl, invvpid, ok;
	uint64_t types;
	int r;

	prog_start();
	r = add_op(OP_CAPS, 0, 0, 0, 0, 0);
	run_prog_on(t, t->vcpu);
	caps_procbased2 = results[r].val[0];
	caps_ept_vpid = results[r].val[1];

	vpid_ctl = (caps_procbased2 >> 32) & SECONDARY_EXEC_ENABLE_VPID;
	invvpid = caps_ept_vpid & VMX_EPT_VPID_CAP_INVVPID;
	types = caps_ept_vpid & INVVPID_TYPES;
	if (nested_vpid)
		ok = vpid_ctl && invvpid && types == INVVPID_TYPES;
	else
		ok = !vpid_ctl && !invvpid && !types;
	if (!ok)
		ksft_print_msg("PROCBASED_CTLS2 0x%lx EPT_VPID_CAP 0x%lx\n",
			       caps_procbased2, caps_ept_vpid);
	ksft_test_result(ok, "capabilities (nested_vpid=%c)\n",
			 nested_vpid ? 'Y' : 'N');
}

/* 1b. INVVPID raises #UD in L1 when VPID is not exposed. */
static void test_invvpid_ud(struct test_vm *t)
{
	int r;

	if (skip_if(nested_vpid, "invvpid_ud",
		    "nested_vpid=Y: INVVPID is available to L1"))
		return;
	prog_start();
	r = invvpid_op(INVVPID_SINGLE, 1, 0);
	run_prog_on(t, t->vcpu);
	if (results[r].vector != UD_VECTOR)
		ksft_print_msg("INVVPID: vector %lu, expected #UD\n",
			       results[r].vector);
	ksft_test_result(results[r].vector == UD_VECTOR, "invvpid_ud\n");
}

/* 2. One L2, a fixed vpid12, 1000 round trips: one miss, one flush. */
static void test_fixed_vpid(struct test_vm *t)
{
	bool ok;

	prog_start();
	add_op(OP_ENTER, 0, 1, 0, 0, 1000);
	if (nested_vpid)
		TEST_ASSERT(model.st.misses == 1 && model.st.flushes == 1,
			    "model");
	else
		TEST_ASSERT(model.st.flushes == 2000, "model");
	ok = run_prog(t, "fixed_vpid");
	ksft_test_result(ok, "fixed_vpid_1000_round_trips\n");
}

/* 3. K vpid12 values in turn, round-robin. */
static void test_round_robin(struct test_vm *t, int k)
{
	char name[32];
	int round, v;
	bool ok;

	snprintf(name, sizeof(name), "round_robin_k%d", k);
	if (skip_if(!nested_vpid, name, NO_VPID))
		return;
	prog_start();
	for (round = 0; round < 4; round++)
		for (v = 1; v <= k; v++)
			enter(v, 0);
	if (k <= nr_tags)
		TEST_ASSERT(model.st.misses == k, "model");
	else
		TEST_ASSERT(model.st.misses == 4 * k, "model");
	ok = run_prog(t, name);
	ksft_test_result(ok, "%s (tags=%d)\n", name, nr_tags);
}

/* 3b. Exact LRU: a hit refreshes the tag, the least recently used goes. */
static void test_lru_order(struct test_vm *t)
{
	bool ok;
	int v;

	if (skip_if(!nested_vpid, "lru_order", NO_VPID))
		return;
	if (skip_if(nr_tags < 2, "lru_order", "tags=1: nothing to order"))
		return;
	prog_start();
	for (v = 1; v <= nr_tags; v++)
		enter(v, 0);
	enter(1, 0);			/* hit: 1 is now the most recent */
	enter(nr_tags + 1, 0);		/* evicts 2, not 1 */
	enter(1, 0);			/* hit */
	enter(2, 0);			/* miss */
	ok = run_prog(t, "lru_order");
	ksft_test_result(ok, "lru_order\n");
}

/* 4. A VPID-disabled L2 between VPID-enabled ones costs them nothing. */
static void test_vpid_disabled_between(struct test_vm *t)
{
	bool ok;

	if (skip_if(!nested_vpid, "vpid_disabled_between", NO_VPID))
		return;
	prog_start();
	enter(1, 0);
	if (nr_tags >= 2)
		enter(2, 0);
	enter(0, 0);
	enter(1, 0);
	if (nr_tags >= 2)
		enter(2, 0);
	enter(0, 0);
	enter(0, 0);
	enter(1, 0);
	TEST_ASSERT(model.st.misses == (nr_tags >= 2 ? 2 : 1), "model");
	ok = run_prog(t, "vpid_disabled_between");
	ksft_test_result(ok, "vpid_disabled_between\n");
}

/*
 * The stat deltas of 4 rounds over VPIDs 1 and 2, in a fresh VM with
 * Hyper-V's CPUID (with its L2 TLB flush enlightenment) if @hv.
 */
static void hv_round_robin(bool hv, struct vpid_stats *d)
{
	struct vpid_stats before, after;
	struct test_vm t;
	int round;

	setup_test_vm_hv(&t, hv);
	prog_start();
	for (round = 0; round < 4; round++) {
		enter(1, 0);
		enter(2, 0);
	}
	read_vpid_stats(t.vcpu, &before);
	run_prog_on(&t, t.vcpu);
	read_vpid_stats(t.vcpu, &after);
	vpid_stats_sub(d, &after, &before);
	destroy_test_vm(&t);
}

/*
 * 4b. Hyper-V's L2 TLB flush (HV_X64_NESTED_DIRECT_FLUSH): L0 performs
 * the flushes that an L2 vCPU requests for another on the target vCPU in
 * whatever L2 context that one runs, and relies on a switch between L2s
 * to flush the rest (see kvm_hv_nested_transtion_tlb_flush()).  With the
 * enlightenment in the vCPU's CPUID, every switch to another vpid12 drops
 * every tag: each entry misses.  Without it the tags are kept: a miss per
 * VPID, then hits.
 */
static void test_hv_l2_tlb_flush(void)
{
	const char *name = "hv_l2_tlb_flush";
	struct vpid_stats with, without;
	bool ok;

	if (skip_if(!nested_vpid, name, NO_VPID) ||
	    skip_if(nr_tags < 2, name, "tags=1: every switch flushes anyway") ||
	    skip_if(!kvm_hv_cpu_has(HV_X64_NESTED_DIRECT_FLUSH), name,
		    "KVM offers no Hyper-V L2 TLB flush"))
		return;
	hv_round_robin(true, &with);
	hv_round_robin(false, &without);
	ok = with.hits == 0 && with.misses == 8 &&
	     without.hits == 6 && without.misses == 2;
	if (!ok) {
		ksft_print_msg("%s: with L2 TLB flush %lu hits, %lu misses (want 0, 8)\n",
			       name, with.hits, with.misses);
		ksft_print_msg("%s: without it %lu hits, %lu misses (want 6, 2)\n",
			       name, without.hits, without.misses);
	}
	ksft_test_result(ok, "%s\n", name);
}

static const char * const invvpid_names[] = {
	"individual", "single", "all", "single_globals",
};

enum { TGT_CURRENT, TGT_OTHER, TGT_UNMAPPED };
static const char * const target_names[] = { "current", "other", "unmapped" };

/* 5. INVVPID of each type at the current, another mapped, an unmapped VPID. */
static void test_invvpid(struct test_vm *t, int type, int target)
{
	uint16_t vpid;
	char name[64];
	bool ok;
	int r;

	snprintf(name, sizeof(name), "invvpid_%s_%s", invvpid_names[type],
		 target_names[target]);
	if (skip_if(!nested_vpid, name, NO_VPID))
		return;
	if (skip_if(!invvpid_type_supported(type), name, "type not advertised"))
		return;
	if (skip_if(target == TGT_OTHER && nr_tags < 2, name,
		    "tags=1: no other VPID stays mapped"))
		return;

	prog_start();
	enter(1, 0);
	if (nr_tags >= 2)
		enter(2, 0);
	vpid = target == TGT_UNMAPPED ? 3 : target == TGT_OTHER ? 1 :
	       nr_tags >= 2 ? 2 : 1;
	r = invvpid_op(type, vpid, (uint64_t)l2_guest_stack);
	if (nr_tags >= 2)
		enter(2, 0);
	enter(1, 0);
	if (nr_tags >= 2)
		enter(2, 0);
	ok = run_prog(t, name);
	if (results[r].vector || results[r].cf || results[r].zf) {
		ksft_print_msg("%s: vector %lu CF %lu ZF %lu error %lu\n",
			       name, results[r].vector, results[r].cf,
			       results[r].zf, results[r].err);
		ok = false;
	}
	ksft_test_result(ok, "%s\n", name);
}

/* 5b. Operand errors: VMfailValid, VM-instruction error 28, no flush. */
static void test_invvpid_error(struct test_vm *t, const char *name,
			       uint64_t type, uint64_t vpid, uint64_t addr)
{
	struct model saved;
	bool ok;
	int r;

	if (skip_if(!nested_vpid, name, NO_VPID))
		return;
	if (skip_if(type < NR_INVVPID_TYPES && !invvpid_type_supported(type),
		    name, "type not advertised"))
		return;
	prog_start();
	enter(1, 0);
	saved = model;
	r = invvpid_op(type, vpid, addr);
	/* A failed INVVPID does nothing: undo what add_op() modelled. */
	model = saved;
	enter(1, 0);
	ok = run_prog(t, name);
	if (results[r].vector || results[r].cf || !results[r].zf ||
	    results[r].err != VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID) {
		ksft_print_msg("%s: vector %lu CF %lu ZF %lu error %lu\n",
			       name, results[r].vector, results[r].cf,
			       results[r].zf, results[r].err);
		ok = false;
	}
	ksft_test_result(ok, "%s\n", name);
}

#define NO_DEBUGFS "no /sys/kernel/debug/kvm/vmx_vpids_allocated"

/* 7. VMXOFF gives back every L2 tag, before any VMXON. */
static void test_no_leak_vmxoff(struct test_vm *t)
{
	uint64_t base, n, peak = 0;
	bool ok = true;
	int cycle, v;

	/* VMXOFF first: the baseline is L1 without any L2 tag. */
	prog_start();
	run_prog_on(t, t->vcpu);
	if (skip_if(!read_vpids_allocated(&base), "no_leak_vmxoff", NO_DEBUGFS))
		return;
	at_vmxoff_reset();
	for (cycle = 0; cycle < 5; cycle++) {
		prog_start();
		for (v = 1; v <= 3; v++)
			enter(v, 0);
		run_prog_on(t, t->vcpu);
		read_vpids_allocated(&peak);
		if (peak != base + (nested_vpid ? model_owned() : 0)) {
			ksft_print_msg("cycle %d: %lu VPIDs in L2, expected %lu + %d\n",
				       cycle, peak, base,
				       nested_vpid ? model_owned() : 0);
			ok = false;
		}
	}
	prog_start();		/* VMXOFF, VMXON, nothing run */
	run_prog_on(t, t->vcpu);
	read_vpids_allocated(&n);
	if (n != base) {
		ksft_print_msg("after VMXON: %lu VPIDs, baseline %lu\n", n, base);
		ok = false;
	}
	ok &= at_vmxoff_check(base);
	ksft_test_result(ok, "no_leak_vmxoff\n");
}

/* 7b. Several VMs with several vCPUs: all VPIDs come back when they go. */
static void test_no_leak_vms(void)
{
	struct kvm_vcpu *vcpus[3][3];
	struct kvm_vm *vms[3];
	uint64_t base = 0, n = 0, expect;
	bool ok = true;
	int cycle, i, j, v, l2;

	if (skip_if(!read_vpids_allocated(&base), "no_leak_vms", NO_DEBUGFS))
		return;
	l2 = nested_vpid ? (nr_tags < 3 ? nr_tags : 3) : 0;
	for (cycle = 0; cycle < 2; cycle++) {
		for (i = 0; i < 3; i++) {
			vms[i] = vm_create_with_vcpus(3, l1_guest_code,
						      vcpus[i]);
			/* vCPU 2 never runs VMXON: it takes only vpid01. */
			for (j = 0; j < 2; j++) {
				vcpu_start(vcpus[i][j]);
				prog_start();
				for (v = 1; v <= 3; v++)
					enter(v, 0);
				run_prog_on(NULL, vcpus[i][j]);
			}
		}
		expect = base + 3 * 3 + 3 * 2 * l2;
		read_vpids_allocated(&n);
		if (n != expect) {
			ksft_print_msg("cycle %d: %lu VPIDs, expected %lu\n",
				       cycle, n, expect);
			ok = false;
		}
		for (i = 0; i < 3; i++)
			kvm_vm_free(vms[i]);
		read_vpids_allocated(&n);
		if (n != base) {
			ksft_print_msg("cycle %d: %lu VPIDs after free, baseline %lu\n",
				       cycle, n, base);
			ok = false;
		}
	}
	ksft_test_result(ok, "no_leak_vms\n");
}

/* 8. Save and restore in L2: L2 keeps running, with no mapping left. */
static void test_nested_state(struct test_vm *t)
{
	uint64_t count_before, count_after;
	bool ok, stats_ok;
	int r;

	prog_start();
	enter(1, 0);
	if (nr_tags >= 2)
		enter(2, 0);
	/* The round trip's own entry into L2 is a miss. */
	r = enter(1, F_L2_SYNC | F_READ);
	enter(1, 0);
	if (nr_tags >= 2)
		enter(2, 0);	/* its mapping is gone: a miss */

	sync_global_from_guest(t->vm, l2_count);
	count_before = l2_count;
	t->nr_restores = 0;
	stats_ok = run_prog(t, "nested_state");
	sync_global_from_guest(t->vm, l2_count);
	count_after = l2_count;

	ok = t->nr_restores == 1 && t->restored_in_l2 &&
	     results[r].val[0] == VAL_A &&
	     count_after - count_before == (nr_tags >= 2 ? 5 : 3);
	if (!ok)
		ksft_print_msg("restores %d in L2 %d read 0x%lx L2 runs %lu\n",
			       t->nr_restores, t->restored_in_l2,
			       results[r].val[0], count_after - count_before);
	ksft_test_result(ok, "nested_state_l2_runs\n");

	if (!nested_vpid) {
		ksft_test_result_skip("nested_state_no_mapping: %s\n", NO_VPID);
		return;
	}
	/* The restore's own entry into L2 finds no tag: a miss. */
	if (t->restore_st.misses != 1 || t->restore_st.hits ||
	    t->restore_st.misses != model_restore_st.misses) {
		ksft_print_msg("restore: %lu misses %lu hits, expected 1 miss\n",
			       t->restore_st.misses, t->restore_st.hits);
		stats_ok = false;
	}
	ksft_test_result(stats_ok, "nested_state_no_mapping\n");
}

/*
 * 6. Staleness: what L2 reads at TEST_GVA while L1 rewrites its PTE from A
 * to B and back, without or with invalidations.  The SDM bounds what a
 * VPID may read: an entry cached while the VPID ran with the old PTE, or
 * the current PTE; after an invalidation that covers the address (INVVPID
 * of the VPID, VM-Enter with VPID disabled for VPID 0), only the current
 * PTE; and never a translation that was not in the page tables while the
 * VPID ran.  Each read below states what the SDM allows.
 *
 * Without EPT, KVM's unsync shadow pages keep L2's old translation until
 * something syncs them, exactly like a TLB, and deterministically: there a
 * read after the rewrite and before any invalidation must still see A, or
 * the case would prove nothing.  With EPT, only real hardware can keep
 * entries; under an emulator that flushes its TLB on every VM-Enter
 * (vm/init sets NESTED_VPID_EMULATED) the cases would prove nothing.
 */
#define MAY_A		BIT(0)
#define MAY_B		BIT(1)
/* Read after a rewrite without invalidation: cached A, or B. */
#define MAY_STALE	(ept ? MAY_A | MAY_B : MAY_A)

/* S_END (0) ends a case's steps. */
enum stale_step_op { S_END, S_PTE_A, S_PTE_B, S_READ, S_INVVPID, S_RESET };

struct stale_step {
	enum stale_step_op op;
	int vpid;		/* S_READ, S_INVVPID; NEW_VPID: never used */
	int may;		/* S_READ: MAY_A, MAY_B or both; STALE: MAY_STALE */
	uint32_t flags;		/* S_READ: F_L2_SYNC for a nested state trip */
	int type;		/* S_INVVPID */
	int cr3;		/* S_READ: 1 + index in cr3[], 0: L1's CR3 */
};

#define NEW_VPID	-1
#define STALE		-1
#define PTE_A		{ S_PTE_A }
#define PTE_B		{ S_PTE_B }
#define READ(v, m)	{ S_READ, (v), (m) }
#define READ_SYNC(v, m)	{ S_READ, (v), (m), F_L2_SYNC }
#define INVVPID(t, v)	{ S_INVVPID, (v), 0, 0, (t) }
#define READ_CR3(i, m)	{ S_READ, 1, (m), 0, 0, 1 + (i) }
#define MAX_STEPS	16

struct stale_case {
	const char *name;
	int type;		/* an INVVPID type the case needs, or -1 */
	struct stale_step steps[MAX_STEPS];
};

/* INVVPID of @type naming @vpid, after VPID 1 ran last. */
#define STALE_INVVPID_LAST(name, type, vpid)				\
	{ name, type,							\
	  { PTE_A, READ(1, MAY_A), PTE_B, READ(1, STALE),		\
	    INVVPID(type, vpid), READ(1, MAY_B) } }

/* INVVPID of @type naming VPID 2, after VPID 1 ran last. */
#define STALE_INVVPID_OTHER(name, type)					\
	{ name, type,							\
	  { PTE_A, READ(2, MAY_A), READ(1, MAY_A), PTE_B,		\
	    INVVPID(type, 2), READ(2, MAY_B), READ(1, MAY_A | MAY_B) } }

/*
 * L2 switches among more CR3s than KVM caches shadow roots for: an INVVPID
 * of @type must reach the roots KVM keeps and those it rebuilds.
 */
#define STALE_MANY_CR3(name, type)					\
	{ name, type,							\
	  { PTE_A, READ_CR3(0, MAY_A), READ_CR3(1, MAY_A),		\
	    READ_CR3(2, MAY_A), READ_CR3(3, MAY_A), READ_CR3(4, MAY_A),	\
	    READ_CR3(5, MAY_A), PTE_B, INVVPID(type, 1),		\
	    READ_CR3(5, MAY_B), READ_CR3(4, MAY_B), READ_CR3(3, MAY_B),	\
	    READ_CR3(2, MAY_B), READ_CR3(1, MAY_B), READ_CR3(0, MAY_B) } }

/* Every case needs VPID for L2: without it every entry flushes. */
static const struct stale_case stale_cases[] = {
	/* A VPID that never ran cannot have cached A. */
	{ "stale_new_vpid", -1,
	  { PTE_A, READ(1, MAY_A), PTE_B, READ(1, STALE),
	    READ(NEW_VPID, MAY_B) } },
	/*
	 * VM-Enter with VPID disabled flushes VPID 0 only; VPID 1 never ran
	 * while the PTE held B, so it can never read B.
	 */
	{ "stale_vpid_off_between", -1,
	  { PTE_A, READ(1, MAY_A), PTE_B, READ(0, MAY_B), PTE_A,
	    READ(1, MAY_A) } },
	STALE_INVVPID_LAST("stale_invvpid_individual", INVVPID_INDIVIDUAL, 1),
	STALE_INVVPID_LAST("stale_invvpid_single", INVVPID_SINGLE, 1),
	STALE_INVVPID_LAST("stale_invvpid_all", INVVPID_ALL, 0),
	STALE_INVVPID_LAST("stale_invvpid_single_globals",
			   INVVPID_SINGLE_GLOBALS, 1),
	STALE_INVVPID_OTHER("stale_invvpid_individual_other",
			    INVVPID_INDIVIDUAL),
	STALE_INVVPID_OTHER("stale_invvpid_single_other", INVVPID_SINGLE),
	STALE_INVVPID_OTHER("stale_invvpid_single_globals_other",
			    INVVPID_SINGLE_GLOBALS),
	STALE_MANY_CR3("stale_many_cr3_individual", INVVPID_INDIVIDUAL),
	STALE_MANY_CR3("stale_many_cr3_single", INVVPID_SINGLE),
	/* KVM's own guarantees: a new VMXON or restored state starts clean. */
	{ "stale_vmxoff_vmxon", -1,
	  { PTE_A, READ(1, MAY_A), PTE_B, READ(1, STALE), { S_RESET },
	    READ(1, MAY_B) } },
	{ "stale_nested_state", -1,
	  { PTE_A, READ(1, MAY_A), PTE_B, READ(1, STALE),
	    READ_SYNC(1, MAY_B) } },
};

/* Run @steps as one program; true if every read was one the SDM allows. */
static bool run_stale_steps(struct test_vm *t, const char *name,
			    const struct stale_step *steps)
{
	static int new_vpid = 0x100;	/* never used before in this VM */
	int r[MAX_STEPS] = {}, i, may;
	bool ok = true;

	prog_start();
	for (i = 0; i < MAX_STEPS && steps[i].op != S_END; i++) {
		const struct stale_step *st = &steps[i];
		int vpid = st->vpid == NEW_VPID ? new_vpid++ : st->vpid;

		switch (st->op) {
		case S_PTE_A:
			add_op(OP_SET_PTE, 0, 0, 0, t->pte_a, 0);
			break;
		case S_PTE_B:
			add_op(OP_SET_PTE, 0, 0, 0, t->pte_b, 0);
			break;
		case S_READ:
			r[i] = add_op(OP_ENTER, F_READ | st->flags, vpid, 0,
				      st->cr3 ? t->cr3[st->cr3 - 1] : 0, 1);
			break;
		case S_INVVPID:
			invvpid_op(st->type, vpid, TEST_GVA);
			break;
		case S_RESET:
			add_op(OP_RESET, 0, 0, 0, 0, 0);
			break;
		case S_END:
			break;
		}
	}
	run_prog_on(t, t->vcpu);

	for (i = 0; i < MAX_STEPS && steps[i].op != S_END; i++) {
		uint64_t val;

		if (steps[i].op != S_READ)
			continue;
		val = results[r[i]].val[0];
		may = steps[i].may == STALE ? MAY_STALE : steps[i].may;
		if ((val == VAL_A && (may & MAY_A)) ||
		    (val == VAL_B && (may & MAY_B)))
			continue;
		ksft_print_msg("%s: step %d: VPID %d read 0x%lx, may read %s%s\n",
			       name, i, steps[i].vpid, val,
			       may & MAY_A ? "A " : "", may & MAY_B ? "B" : "");
		ok = false;
	}
	return ok;
}

static void test_stale(struct test_vm *t, const struct stale_case *c,
		       bool emulated)
{
	if (skip_if(!nested_vpid, c->name,
		    "nested_vpid=N: every entry flushes, nothing can be stale"))
		return;
	if (skip_if(ept && emulated, c->name,
		    "ept=1 under an emulator that flushes its TLB on VM-Enter"))
		return;
	if (skip_if(c->type >= 0 && !invvpid_type_supported(c->type), c->name,
		    "type not advertised"))
		return;
	ksft_test_result(run_stale_steps(t, c->name, c->steps), "%s\n",
			 c->name);
}

/*
 * 9. RSM back into an L2 whose vmcs12 enables VPID with VPID 0.  VM-Enter
 * rejects that vmcs12, but userspace can restore it with
 * KVM_SET_NESTED_STATE while the vCPU is in SMM, and RSM does not check it
 * again.  KVM must not WARN (hosts run with panic_on_warn); L2 runs as
 * with VPID disabled, and L1 goes on.
 */
#define SMRAM_SIZE		65536
#define SMRAM_MEMSLOT		((1 << 16) | 1)
#define SMRAM_GPA		0x1000000
#define SMI_SYNC_PORT		0xe
/* vmcs12's layout is ABI, see CHECK_OFFSET() in arch/x86/kvm/vmx/vmcs12.h. */
#define VMCS12_VPID_OFFSET	960

/* The SMI handler: exit to the host on SMI_SYNC_PORT, then RSM. */
static const uint8_t smi_handler[] = {
	0xe4, SMI_SYNC_PORT,	/* in $SMI_SYNC_PORT, %al */
	0x0f, 0xaa,		/* rsm */
};

static void smi_with_vpid0(struct test_vm *t)
{
	int size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	struct kvm_vcpu_events events;
	struct kvm_nested_state *state;

	vcpu_run_complete_io(t->vcpu);
	vcpu_events_get(t->vcpu, &events);
	events.smi.pending = 1;
	events.flags |= KVM_VCPUEVENT_VALID_SMM;
	vcpu_events_set(t->vcpu, &events);

	/* The SMI leaves L2; the handler stops at its IN. */
	vcpu_run(t->vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(t->vcpu, KVM_EXIT_IO);
	TEST_ASSERT(t->vcpu->run->io.port == SMI_SYNC_PORT,
		    "SMI handler did not run (I/O port 0x%x)",
		    t->vcpu->run->io.port);

	state = calloc(1, size);
	TEST_ASSERT(state, "-ENOMEM");
	state->size = size;
	vcpu_nested_state_get(t->vcpu, state);
	TEST_ASSERT(state->hdr.vmx.smm.flags & KVM_STATE_NESTED_SMM_GUEST_MODE,
		    "SMI in L2 did not save guest mode: smm.flags 0x%x",
		    state->hdr.vmx.smm.flags);
	*(uint16_t *)&state->data.vmx[0].vmcs12[VMCS12_VPID_OFFSET] = 0;
	vcpu_nested_state_set(t->vcpu, state);
	free(state);
	t->nr_restores++;
}

static void test_rsm_vpid0(void)
{
	uint64_t count_before;
	struct test_vm t2;
	int r1, r2;
	bool ok;

	if (skip_if(!nested_vpid, "rsm_vpid0", NO_VPID))
		return;
	if (skip_if(!kvm_has_cap(KVM_CAP_X86_SMM), "rsm_vpid0", "no SMM"))
		return;

	setup_test_vm(&t2);
	vm_userspace_mem_region_add(t2.vm, VM_MEM_SRC_ANONYMOUS, SMRAM_GPA,
				    SMRAM_MEMSLOT, SMRAM_SIZE / PAGE_SIZE, 0);
	TEST_ASSERT(vm_phy_pages_alloc(t2.vm, SMRAM_SIZE / PAGE_SIZE,
				       SMRAM_GPA, SMRAM_MEMSLOT) == SMRAM_GPA,
		    "SMRAM");
	memset(addr_gpa2hva(t2.vm, SMRAM_GPA), 0, SMRAM_SIZE);
	memcpy(addr_gpa2hva(t2.vm, SMRAM_GPA) + 0x8000, smi_handler,
	       sizeof(smi_handler));
	vcpu_set_msr(t2.vcpu, MSR_IA32_SMBASE, SMRAM_GPA);
	t2.on_l2_sync = smi_with_vpid0;

	prog_start();
	enter(1, 0);
	/* SMI in L2, VPID 0 restored, RSM: L2 reads and exits to L1. */
	r1 = enter(1, F_L2_SYNC | F_READ);
	/* L1 writes VPID 1 again and goes on. */
	r2 = enter(1, F_READ);
	sync_global_from_guest(t2.vm, l2_count);
	count_before = l2_count;
	run_prog_on(&t2, t2.vcpu);
	sync_global_from_guest(t2.vm, l2_count);

	ok = t2.nr_restores == 1 && l2_count - count_before == 3 &&
	     results[r1].val[0] == VAL_A && results[r2].val[0] == VAL_A;
	if (!ok)
		ksft_print_msg("rsm_vpid0: SMIs %d, L2 runs %lu, read 0x%lx 0x%lx\n",
			       t2.nr_restores, l2_count - count_before,
			       results[r1].val[0], results[r2].val[0]);
	destroy_test_vm(&t2);
	ksft_test_result(ok, "rsm_vpid0\n");
}

/*
 * 10. VPID exhaustion, with the space shrunk through debugfs: a vCPU that
 * gets no VPID runs its L2s with VPID disabled (VM-Enter rejects VPID 0);
 * one that gets a VPID but finds the rest kept for vCPUs runs its L2s on
 * it; tags that lose their mapping while VPIDs are short go back.  L2
 * enters every time and reads what the SDM allows.
 */
#define VPID_SPACE	"/sys/kernel/debug/kvm/vmx_vpid_space"
#define VMX_NR_VPIDS	65536

static void set_vpid_space(uint64_t nr)
{
	FILE *f = fopen(VPID_SPACE, "w");

	TEST_ASSERT(f, "open " VPID_SPACE);
	TEST_ASSERT(fprintf(f, "%lu\n", nr) > 0 && !fclose(f),
		    "write %lu to " VPID_SPACE, nr);
}

static void restore_vpid_space(void)
{
	if (!access(VPID_SPACE, W_OK))
		set_vpid_space(VMX_NR_VPIDS);
}

static uint64_t vpids_allocated(void)
{
	uint64_t n;

	TEST_ASSERT(read_vpids_allocated(&n), NO_DEBUGFS);
	return n;
}

/*
 * L2 with VPID 1 caches A, reads B after INVVPID, VPID disabled and a new
 * VPID read B: true if every read was as the SDM says and L1 saw no fail.
 */
static bool exhausted_l2_reads(struct test_vm *t, const char *what)
{
	int r[4];

	prog_start();
	add_op(OP_SET_PTE, 0, 0, 0, t->pte_a, 0);
	r[0] = enter(1, F_READ);
	add_op(OP_SET_PTE, 0, 0, 0, t->pte_b, 0);
	invvpid_op(INVVPID_SINGLE, 1, 0);
	r[1] = enter(1, F_READ);
	r[2] = enter(0, F_READ);
	r[3] = enter(2, F_READ);
	run_prog_on(t, t->vcpu);
	if (results[r[0]].val[0] == VAL_A && results[r[1]].val[0] == VAL_B &&
	    results[r[2]].val[0] == VAL_B && results[r[3]].val[0] == VAL_B)
		return true;
	ksft_print_msg("%s: L2 read 0x%lx 0x%lx 0x%lx 0x%lx, expected A B B B\n",
		       what, results[r[0]].val[0], results[r[1]].val[0],
		       results[r[2]].val[0], results[r[3]].val[0]);
	return false;
}

static void test_vpid_exhaustion(void)
{
	uint64_t n0, n, space, tags;
	struct test_vm none, l1only;
	bool ok = true;

	if (skip_if(!nested_vpid, "vpid_exhaustion", NO_VPID))
		return;
	if (skip_if(access(VPID_SPACE, W_OK), "vpid_exhaustion",
		    "no writable " VPID_SPACE))
		return;
	atexit(restore_vpid_space);
	n0 = vpids_allocated();

	/* No VPID left: the vCPU gets none, and its L2s get none. */
	set_vpid_space(n0 + 1);
	setup_test_vm(&none);
	ok &= exhausted_l2_reads(&none, "no VPID");
	n = vpids_allocated();
	if (n != n0) {
		ksft_print_msg("no VPID: %lu VPIDs allocated, expected %lu\n",
			       n, n0);
		ok = false;
	}

	/*
	 * The largest space in which, once the new vCPU took its VPID, every
	 * free VPID is in the reserve kept for vCPUs (a quarter of the
	 * space): its L2s get no tag and run on the vCPU's VPID.
	 */
	space = n0 + 2;
	while (space + 1 - 2 - n0 <= space / 4)
		space++;
	set_vpid_space(space);
	setup_test_vm(&l1only);
	ok &= exhausted_l2_reads(&l1only, "VPIDs kept for vCPUs");
	n = vpids_allocated();
	if (n != n0 + 1) {
		ksft_print_msg("reserve: %lu VPIDs allocated, expected %lu\n",
			       n, n0 + 1);
		ok = false;
	}

	/* Room again: tags are taken; then short: dropped tags go back. */
	set_vpid_space(VMX_NR_VPIDS);
	prog_start();
	enter(1, 0);
	enter(2, 0);
	run_prog_on(&l1only, l1only.vcpu);
	tags = nr_tags < 2 ? nr_tags : 2;
	n = vpids_allocated();
	set_vpid_space(n + 1);
	prog_continue();
	invvpid_op(INVVPID_ALL, 0, 0);
	run_prog_on(&l1only, l1only.vcpu);
	if (vpids_allocated() != n - tags) {
		ksft_print_msg("reclaim: %lu VPIDs allocated, expected %lu\n",
			       vpids_allocated(), n - tags);
		ok = false;
	}
	ok &= exhausted_l2_reads(&l1only, "after reclaim");

	set_vpid_space(VMX_NR_VPIDS);
	destroy_test_vm(&none);
	destroy_test_vm(&l1only);
	if (vpids_allocated() != n0) {
		ksft_print_msg("after free: %lu VPIDs allocated, expected %lu\n",
			       vpids_allocated(), n0);
		ok = false;
	}
	ksft_test_result(ok, "vpid_exhaustion\n");
}

/*
 * 11. A fuzzer of what L1 can do (-s SEED -n PROGRAMS): seeded random
 * programs of nested VM-Enters (VMWRITE of a random VPID, or VPID
 * disabled), INVVPID of every type with valid and invalid operands,
 * VMXOFF/VMXON, nested state round trips in L2 and PTE rewrites.  Each
 * result is checked against the SDM, not against KVM's design:
 *  - INVVPID fails with VMfailValid and error 28 exactly when its
 *    operands are invalid (type not advertised, VPID above 0xffff, VPID 0
 *    but for all-context, non-canonical address for individual-address),
 *    and succeeds otherwise; without VPID for L1 it raises #UD;
 *  - L2 reads, for its VPID, only a value that was in the page table
 *    while that VPID ran and has not been invalidated since, or the
 *    current one.  Invalidations: INVVPID of the VPID (of TEST_GVA for
 *    individual-address), all-context INVVPID, and for VPID 0 (VPID
 *    disabled) every VM-Enter and VM-Exit.  VMXOFF/VMXON and nested state
 *    restore guarantee nothing architecturally and are not counted;
 * and after each program no more VPIDs are allocated than before the
 * first one plus the vCPU's tags.
 */
#define FUZZ_OPS		48
#define FUZZ_VPIDS		3	/* small VPIDs, so that tags are reused */

static uint64_t fuzz_rng;

static uint64_t fuzz_rand(uint64_t n)
{
	fuzz_rng = fuzz_rng * 6364136223846793005ull + 1442695040888963407ull;
	return (fuzz_rng >> 33) % n;
}

/* The VPID of a VM-Enter, 0 for VPID disabled: mostly a few VPIDs. */
static uint64_t fuzz_enter_vpid(void)
{
	uint64_t x = fuzz_rand(20);

	if (x < 12)
		return 1 + fuzz_rand(FUZZ_VPIDS);
	if (x < 18)
		return 0;
	if (x < 19)
		return 1 + FUZZ_VPIDS + fuzz_rand(FUZZ_VPIDS);
	return fuzz_rand(2) ? 0x8000 : 0xffff;
}

/* The VPID operand of INVVPID: valid ones, and the invalid 0 and > 0xffff. */
static uint64_t fuzz_invvpid_vpid(void)
{
	static const uint64_t odd[] = { 0, 0xffff, 0x10000, 0x1ffff };

	return fuzz_rand(4) ? 1 + fuzz_rand(2 * FUZZ_VPIDS) :
			      odd[fuzz_rand(ARRAY_SIZE(odd))];
}

static bool invvpid_operand_valid(uint64_t type, uint64_t vpid, uint64_t addr)
{
	if (type >= NR_INVVPID_TYPES || !invvpid_type_supported(type))
		return false;
	if (vpid > 0xffff || (!vpid && type != INVVPID_ALL))
		return false;
	/* Canonical with 48 bits: bits 63:47 all equal. */
	if (type == INVVPID_INDIVIDUAL &&
	    ((int64_t)addr >> 47) != 0 && ((int64_t)addr >> 47) != -1)
		return false;
	return true;
}

/* The values (bit 0 A, 1 B, 2 C) each VPID may still have cached. */
static uint8_t fuzz_cached[0x10000];

#define fuzz_report(fmt, ...)						\
	ksft_print_msg("seed %lu program %d op %d: " fmt, seed, nr, i,	\
		       ##__VA_ARGS__)

/* Run one random program; false, with a message, on any violation. */
static bool fuzz_program(struct test_vm *t, uint64_t seed, int nr)
{
	const uint64_t vals[] = { VAL_A, VAL_B, VAL_C };
	const uint64_t ptes[] = { t->pte_a, t->pte_b, t->pte_c };
	int r[FUZZ_OPS], i, cur = 0;
	struct op *op;
	bool ok = true;

	prog_start();
	add_op(OP_SET_PTE, 0, 0, 0, t->pte_a, 0);
	for (i = 0; i < FUZZ_OPS; i++) {
		uint64_t x = fuzz_rand(100);
		uint64_t type = fuzz_rand(10) ? fuzz_rand(NR_INVVPID_TYPES) :
						4 + fuzz_rand(4);
		uint64_t addr = fuzz_rand(4) ? TEST_GVA :
				fuzz_rand(2) ? NONCANONICAL : fuzz_rng;

		if (x < 55)
			r[i] = enter(fuzz_enter_vpid(),
				     fuzz_rand(20) ? F_READ : F_READ | F_L2_SYNC);
		else if (x < 67)
			r[i] = invvpid_op(type, fuzz_invvpid_vpid(), addr);
		else if (x < 97)
			r[i] = add_op(OP_SET_PTE, 0, 0, 0, ptes[fuzz_rand(3)], 0);
		else
			r[i] = add_op(OP_RESET, 0, 0, 0, 0, 0);
	}
	run_prog_on(t, t->vcpu);

	memset(fuzz_cached, 0, sizeof(fuzz_cached));
	for (i = 0; i < FUZZ_OPS && ok; i++) {
		struct result *res = &results[r[i]];
		uint64_t v, valid;
		int j;

		op = &prog.ops[r[i] - 1];
		switch (op->code) {
		case OP_SET_PTE:
			for (cur = 0; ptes[cur] != op->addr; cur++)
				;
			break;
		case OP_ENTER:
			v = op->vpid;
			/* VPID 0: VM-Enter and VM-Exit invalidate it. */
			if (!v)
				fuzz_cached[0] = 0;
			fuzz_cached[v] |= BIT(cur);
			for (j = 0; j < 3; j++)
				if (res->val[0] == vals[j])
					break;
			if (j == 3 || !(fuzz_cached[v] & BIT(j))) {
				fuzz_report("VPID %lu read 0x%lx, may read mask 0x%x\n",
					    v, res->val[0], fuzz_cached[v]);
				ok = false;
			}
			/* What it read stays cached, the rest may too. */
			if (!v)
				fuzz_cached[0] = 0;
			break;
		case OP_INVVPID:
			if (!nested_vpid) {
				if (res->vector != UD_VECTOR) {
					fuzz_report("INVVPID without VPID: vector %lu\n",
						    res->vector);
					ok = false;
				}
				break;
			}
			valid = invvpid_operand_valid(op->type, op->vpid,
						      op->addr);
			if (res->vector || res->cf || res->zf != !valid ||
			    (!valid && res->err != VMXERR_INVALID_OPERAND_TO_INVEPT_INVVPID)) {
				fuzz_report("INVVPID %lu 0x%lx 0x%lx: #%lu CF %lu ZF %lu err %lu\n",
					    op->type, op->vpid, op->addr,
					    res->vector, res->cf, res->zf,
					    res->err);
				ok = false;
			}
			if (!valid)
				break;
			if (op->type == INVVPID_ALL)
				memset(fuzz_cached, 0, sizeof(fuzz_cached));
			else if (op->type != INVVPID_INDIVIDUAL ||
				 op->addr == TEST_GVA)
				fuzz_cached[op->vpid] = 0;
			break;
		}
	}
	return ok;
}

static int fuzz(uint64_t seed, int programs)
{
	uint64_t base, n;
	struct test_vm t;
	bool ok = true, have_count;
	int i;

	ksft_print_header();
	ksft_print_msg("nested_vpid=%c nested_vpid_tags=%d ept=%c seed %lu\n",
		       nested_vpid ? 'Y' : 'N', nr_tags, ept ? 'Y' : 'N', seed);
	ksft_set_plan(2);
	setup_test_vm(&t);
	prog_start();
	add_op(OP_CAPS, 0, 0, 0, 0, 0);
	run_prog_on(&t, t.vcpu);
	caps_ept_vpid = results[2].val[1];
	have_count = read_vpids_allocated(&base);

	fuzz_rng = seed;
	for (i = 0; i < programs && ok; i++) {
		ok = fuzz_program(&t, seed, i);
		if (have_count && read_vpids_allocated(&n) &&
		    n > base + nr_tags) {
			ksft_print_msg("seed %lu program %d: %lu VPIDs, at most %lu\n",
				       seed, i, n, base + nr_tags);
			ok = false;
		}
	}
	ksft_test_result(ok, "fuzz_seed_%lu_%d_programs\n", seed, programs);
	destroy_test_vm(&t);
	if (have_count && read_vpids_allocated(&n) && n != base - 1)
		ksft_test_result_fail("fuzz_no_leak: %lu VPIDs, %lu expected\n",
				      n, base - 1);
	else if (!have_count)
		ksft_test_result_skip("fuzz_no_leak: %s\n", NO_DEBUGFS);
	else
		ksft_test_result_pass("fuzz_no_leak\n");
	ksft_finished();
	return 0;
}

/*
 * 12. One case per nested VPID bug that upstream fixed, named after it, so
 * that a regression names the bug it brings back.  L2's reads are checked
 * as in section 6, against the SDM; what only KVM's flushes can show (the
 * emulator flushes its own TLB on every VM-Enter, and each VM has its own
 * shadow MMU) vm/guest/nested_vpid_trace checks from the tracepoints, in
 * its TAP cases of the same names.  Each case writes its name to the trace
 * (trace_marker) when it starts, so that a failure there can be placed.
 */
#define TRACE_MARKER	"/sys/kernel/debug/tracing/trace_marker"

/* A line in the trace, if it is on; nothing otherwise. */
static void trace_mark(const char *what, const char *name)
{
	char buf[128];
	int fd, n;

	fd = open(TRACE_MARKER, O_WRONLY);
	if (fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "nested_vpid_test: %s %s\n", what, name);
	n = write(fd, buf, n);
	close(fd);
}

/* L2 executes INVLPG of TEST_GVA, then reads it. */
#define READ_INVLPG(v, m)	{ S_READ, (v), (m), F_INVLPG }

struct bug_case {
	const char *name;
	/*
	 * Only L2's reads can catch the bug, and only where translations can
	 * be stale: not with EPT under an emulator.  Other cases run in every
	 * mode with VPID, for the trace.
	 */
	bool stale_only;
	struct stale_step steps[MAX_STEPS];
};

static const struct bug_case bug_cases[] = {
	/*
	 * 2021, "KVM: nVMX: Emulate guest TLB flush on nested VM-Enter with
	 * new vpid12": KVM flushed vpid02 in hardware when vpid12 changed, but
	 * did not sync its shadow MMU, so with ept=0 a new vpid12 saw the
	 * translations the previous one had cached.  A VPID that ran only
	 * while the PTE held B never reads A, and one that never ran reads B.
	 */
	{ "bug2021_new_vpid12_tlb_flush", true,
	  { PTE_B, READ(2, MAY_B), PTE_A, READ(1, MAY_A), PTE_B,
	    READ(1, STALE), READ(2, MAY_B), READ(NEW_VPID, MAY_B),
	    READ(1, MAY_A | MAY_B) } },
	/*
	 * 2021: INVVPID of an L2 VPID must invalidate the tag that L2 runs
	 * with, never flush vpid01 in its place (with ept=0, syncing one
	 * address also flushes it in vpid01, which is allowed).  L2 runs with
	 * VPID disabled first, so that vpid01 holds L2 translations too.  The
	 * trace shows which VPID KVM flushed; L2 reads what each type leaves.
	 */
	{ "bug2021_invvpid_flushes_l2_tag", false,
	  { PTE_A, READ(0, MAY_A), READ(1, MAY_A), PTE_B, READ(1, STALE),
	    INVVPID(INVVPID_INDIVIDUAL, 1), READ(1, MAY_B), PTE_A,
	    INVVPID(INVVPID_SINGLE, 1), READ(1, MAY_A), PTE_B,
	    INVVPID(INVVPID_SINGLE_GLOBALS, 1), READ(1, MAY_B), PTE_A,
	    INVVPID(INVVPID_ALL, 0), READ(1, MAY_A) } },
	/*
	 * 2024, "KVM: nVMX: Treat vpid01 as current if L2 is active, but with
	 * VPID disabled" (found by kvm-unit-tests' vmx_apicv_test): KVM took
	 * vpid02 for the current VPID whenever L2 ran, so the flush of VPID 0
	 * on VM-Enter with VPID disabled, and with ept=0 L2's INVLPG, hit
	 * vpid02 and left L2's translations in vpid01.  L2 with VPID 1 first,
	 * so that a tag exists to be flushed by mistake.
	 */
	{ "bug2024_vpid01_current_vpid_off", false,
	  { PTE_A, READ(1, MAY_A), READ(0, MAY_A), PTE_B,
	    READ_INVLPG(0, MAY_B), PTE_A, READ(0, MAY_A), PTE_B,
	    READ_INVLPG(1, MAY_B), READ_INVLPG(0, MAY_B) } },
};

static void test_bug(struct test_vm *t, const struct bug_case *c,
		     bool emulated)
{
	int i;

	if (skip_if(!nested_vpid, c->name, NO_VPID))
		return;
	if (skip_if(c->stale_only && ept && emulated, c->name,
		    "ept=1 under an emulator that flushes its TLB on VM-Enter"))
		return;
	for (i = 0; i < MAX_STEPS; i++)
		if (skip_if(c->steps[i].op == S_INVVPID &&
			    !invvpid_type_supported(c->steps[i].type),
			    c->name, "type not advertised"))
			return;
	trace_mark("case", c->name);
	ksft_test_result(run_stale_steps(t, c->name, c->steps), "%s\n",
			 c->name);
}

/*
 * 2026, "Always flush vpid02 on first use": a VPID fresh from the
 * allocator may hold translations of its previous owner, here a VM that
 * is gone.  VM 1's L2s take tags, VM 1 goes, VM 2 gets the same VPIDs
 * (the allocator hands out the lowest free one) for its vCPU and tags.
 * Nothing L2 can read shows a missing flush: the trace checks that each
 * tag that had an owner before the marker "freed" is flushed before its
 * first use.  Here: L2 runs in both, and every VPID comes back.
 */
#define BUG2026		"bug2026_fresh_vpid_flush_other_vm"

static bool bug2026_vm(uint64_t base, const char *what)
{
	uint64_t n, tags = nr_tags < 3 ? nr_tags : 3;
	struct test_vm vm;
	int r[3], v;
	bool ok = true;

	setup_test_vm(&vm);
	prog_start();
	add_op(OP_SET_PTE, 0, 0, 0, vm.pte_a, 0);
	for (v = 1; v <= 3; v++)
		r[v - 1] = enter(v, F_READ);
	run_prog_on(&vm, vm.vcpu);
	for (v = 0; v < 3; v++) {
		if (results[r[v]].val[0] == VAL_A)
			continue;
		ksft_print_msg("%s: VPID %d read 0x%lx, expected A\n", what,
			       v + 1, results[r[v]].val[0]);
		ok = false;
	}
	read_vpids_allocated(&n);
	if (n != base + 1 + tags) {
		ksft_print_msg("%s: %lu VPIDs, expected %lu\n", what, n,
			       base + 1 + tags);
		ok = false;
	}
	destroy_test_vm(&vm);
	read_vpids_allocated(&n);
	if (n != base) {
		ksft_print_msg("%s freed: %lu VPIDs, expected %lu\n", what, n,
			       base);
		ok = false;
	}
	return ok;
}

static void test_bug_fresh_vpid(void)
{
	uint64_t base;
	bool ok;

	if (skip_if(!nested_vpid, BUG2026, NO_VPID))
		return;
	if (skip_if(!read_vpids_allocated(&base), BUG2026, NO_DEBUGFS))
		return;
	trace_mark("case", BUG2026);
	ok = bug2026_vm(base, "VM 1");
	trace_mark("freed", BUG2026);
	ok &= bug2026_vm(base, "VM 2");
	ksft_test_result(ok, "%s\n", BUG2026);
}

/*
 * 13. Cycles (-c VMXON_CYCLES -v VCPU_CYCLES): VMXOFF/VMXON many times, and
 * vCPUs created and freed many times, each time after L2s ran with VPIDs
 * 1..3 (with VPID disabled without nested_vpid): vmx_vpids_allocated
 * is back at its baseline at every VMXOFF (read before the VMXON that
 * follows it) and after every vCPU free, and never grows.
 */
#define CYCLES_L2	3	/* L2s that run in each cycle */
#define CYCLES_CHUNK	1000	/* VMXON cycles in one program of L1's */
#define CYCLES_VCPUS	10	/* vCPUs created and freed with each VM */

static uint64_t cycles_tags(void)
{
	if (!nested_vpid)
		return 0;
	return nr_tags < CYCLES_L2 ? nr_tags : CYCLES_L2;
}

static void cycles_vmxon(int nr)
{
	uint64_t base, n;
	struct test_vm t;
	int done, chunk;
	bool ok = true;

	setup_test_vm(&t);
	prog_start();		/* VMXOFF, VMXON: no L2 tag */
	run_prog_on(&t, t.vcpu);
	read_vpids_allocated(&base);
	at_vmxoff_reset();
	for (done = 0; done < nr && ok; done += chunk) {
		chunk = nr - done < CYCLES_CHUNK ? nr - done : CYCLES_CHUNK;
		prog_continue();
		add_op(OP_CYCLES, 0, CYCLES_L2, !nested_vpid, 0, chunk);
		run_prog_on(&t, t.vcpu);
		read_vpids_allocated(&n);
		if (n != base + cycles_tags()) {
			ksft_print_msg("after %d VMXON cycles: %lu VPIDs, expected %lu\n",
				       done + chunk, n, base + cycles_tags());
			ok = false;
		}
	}
	prog_start();
	run_prog_on(&t, t.vcpu);
	read_vpids_allocated(&n);
	if (n != base) {
		ksft_print_msg("after VMXON: %lu VPIDs, baseline %lu\n", n, base);
		ok = false;
	}
	ok &= at_vmxoff_check(base);
	destroy_test_vm(&t);
	ksft_test_result(ok, "cycles_vmxon_vmxoff_%d\n", nr);
}

static void cycles_vcpus(int nr)
{
	struct kvm_vcpu *vcpus[CYCLES_VCPUS];
	uint64_t base = 0, n = 0, expect;
	int done, per_vm, j, v;
	struct kvm_vm *vm;
	bool ok = true;

	read_vpids_allocated(&base);
	for (done = 0; done < nr && ok; done += per_vm) {
		per_vm = nr - done < CYCLES_VCPUS ? nr - done : CYCLES_VCPUS;
		vm = vm_create_with_vcpus(per_vm, l1_guest_code, vcpus);
		for (j = 0; j < per_vm; j++) {
			vcpu_start(vcpus[j]);
			prog_start();
			for (v = 1; v <= CYCLES_L2; v++)
				enter(v, 0);
			run_prog_on(NULL, vcpus[j]);
		}
		expect = base + per_vm * (1 + cycles_tags());
		read_vpids_allocated(&n);
		if (n != expect) {
			ksft_print_msg("%d vCPUs in: %lu VPIDs, expected %lu\n",
				       done + per_vm, n, expect);
			ok = false;
		}
		kvm_vm_free(vm);
		read_vpids_allocated(&n);
		if (n != base) {
			ksft_print_msg("%d vCPUs freed: %lu VPIDs, baseline %lu\n",
				       done + per_vm, n, base);
			ok = false;
		}
	}
	ksft_test_result(ok, "cycles_vcpu_create_free_%d\n", nr);
}

static int cycles(int vmxon_cycles, int vcpu_cycles)
{
	uint64_t n;

	ksft_print_header();
	ksft_print_msg("nested_vpid=%c nested_vpid_tags=%d ept=%c\n",
		       nested_vpid ? 'Y' : 'N', nr_tags, ept ? 'Y' : 'N');
	ksft_set_plan(2);
	if (!read_vpids_allocated(&n)) {
		ksft_test_result_skip("cycles_vmxon_vmxoff_%d: %s\n",
				      vmxon_cycles, NO_DEBUGFS);
		ksft_test_result_skip("cycles_vcpu_create_free_%d: %s\n",
				      vcpu_cycles, NO_DEBUGFS);
		ksft_finished();
	}
	cycles_vmxon(vmxon_cycles);
	cycles_vcpus(vcpu_cycles);
	ksft_finished();
	return 0;
}

static const int round_robin_k[] = { 2, 4, 8, 16, 32 };

#define NR_CASES (2 + 1 + ARRAY_SIZE(round_robin_k) + 2 + 1 +		\
		  NR_INVVPID_TYPES * 3 + 5 + 2 + 2 +			\
		  ARRAY_SIZE(stale_cases) + 2 + ARRAY_SIZE(bug_cases) + 1)

int main(int argc, char *argv[])
{
	int i, j, opt, programs = 0, vmxon_cycles = 0, vcpu_cycles = 0;
	struct test_vm t;
	uint64_t seed = 1;
	bool emulated;

	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_VMX));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_NESTED_STATE));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_BINARY_STATS_FD));
	__TEST_REQUIRE(!access(NESTED_VPID_PARAM, R_OK),
		       "kvm_intel has no nested_vpid parameter");
	nested_vpid = get_kvm_intel_param_bool("nested_vpid");
	nr_tags = get_kvm_intel_param_integer("nested_vpid_tags");
	TEST_ASSERT(nr_tags >= 1 && nr_tags <= MAX_TAGS, "tags=%d", nr_tags);
	ept = get_kvm_intel_param_bool("ept");
	emulated = getenv("NESTED_VPID_EMULATED");

	while ((opt = getopt(argc, argv, "s:n:c:v:")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			programs = atoi(optarg);
			break;
		case 'c':
			vmxon_cycles = atoi(optarg);
			break;
		case 'v':
			vcpu_cycles = atoi(optarg);
			break;
		default:
			pr_info("usage: %s [-s SEED -n PROGRAMS] [-c VMXON_CYCLES -v VCPU_CYCLES]\n",
				argv[0]);
			exit(KSFT_FAIL);
		}
	}
	if (programs)
		return fuzz(seed, programs);
	if (vmxon_cycles || vcpu_cycles)
		return cycles(vmxon_cycles, vcpu_cycles);

	ksft_print_header();
	ksft_print_msg("nested_vpid=%c nested_vpid_tags=%d ept=%c\n",
		       nested_vpid ? 'Y' : 'N', nr_tags, ept ? 'Y' : 'N');
	ksft_set_plan(NR_CASES);

	setup_test_vm(&t);

	test_capabilities(&t);
	test_invvpid_ud(&t);
	test_fixed_vpid(&t);
	for (i = 0; i < ARRAY_SIZE(round_robin_k); i++)
		test_round_robin(&t, round_robin_k[i]);
	test_lru_order(&t);
	test_vpid_disabled_between(&t);
	test_hv_l2_tlb_flush();
	for (i = 0; i < NR_INVVPID_TYPES; i++)
		for (j = TGT_CURRENT; j <= TGT_UNMAPPED; j++)
			test_invvpid(&t, i, j);
	test_invvpid_error(&t, "invvpid_err_type", NR_INVVPID_TYPES, 1, 0);
	test_invvpid_error(&t, "invvpid_err_vpid0", INVVPID_SINGLE, 0, 0);
	test_invvpid_error(&t, "invvpid_err_vpid0_individual",
			   INVVPID_INDIVIDUAL, 0, (uint64_t)l2_guest_stack);
	test_invvpid_error(&t, "invvpid_err_vpid_high", INVVPID_SINGLE,
			   0x10001, 0);
	test_invvpid_error(&t, "invvpid_err_noncanonical", INVVPID_INDIVIDUAL,
			   1, NONCANONICAL);
	test_no_leak_vmxoff(&t);
	test_no_leak_vms();
	test_nested_state(&t);
	for (i = 0; i < ARRAY_SIZE(stale_cases); i++)
		test_stale(&t, &stale_cases[i], emulated);
	test_rsm_vpid0();
	test_vpid_exhaustion();
	for (i = 0; i < ARRAY_SIZE(bug_cases); i++)
		test_bug(&t, &bug_cases[i], emulated);
	test_bug_fresh_vpid();

	destroy_test_vm(&t);
	ksft_finished();
}
