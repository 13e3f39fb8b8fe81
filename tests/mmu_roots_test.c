// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test of the root filter of kvm_mmu_invalidate_guest_mode_addr(), which
 * the series adds to arch/x86/kvm/mmu/mmu.c for INVVPID of one address
 * with shadow paging.  Under Bochs no cached L2 root ever differs from
 * L1's in anything but guest mode (no LA57, PAE roots are never cached,
 * shadow roots always have efer_nx), so the filter is checked here: the
 * Makefile copies the function, union kvm_mmu_page_role and the root
 * macros out of the patched tree (mmu_roots_gen.h, under BUILD) and this
 * file compiles them against stand-ins that record what the function asks
 * the MMU to do.
 *
 * The rule, from the way the sync works and not from the function: L1 is
 * running, so each SPTE is synced with L1's paging mode.  A cached root of
 * L2 whose role is L1's but for guest mode can be synced; any other cached
 * L2 root (another depth, NX, WP, SMEP, SMAP, ... or no shadow page at
 * all) must be freed and never synced.  See check() for what is allowed
 * beyond that.  Prints "ok N name" or "not ok N name" per case and exits
 * non-zero on any failure.
 */
#include <stdio.h>

#include <linux/types.h>
#include "kstub.h"

typedef u64 hpa_t;
typedef u64 gpa_t;

#define BIT(n)			(1UL << (n))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define EXPORT_SYMBOL_GPL(sym)
#define EXPORT_SYMBOL_FOR_KVM_INTERNAL(sym)

struct kvm;

#include "mmu_roots_gen.h"	/* union kvm_mmu_page_role, the macros */

struct kvm_mmu {
	union kvm_mmu_page_role root_role;
	struct kvm_mmu_root_info root;
	struct kvm_mmu_root_info prev_roots[KVM_MMU_NUM_PREV_ROOTS];
};

/* 7.x walks linear addresses with a struct kvm_pagewalk of the vCPU. */
struct kvm_pagewalk {
	int unused;
};

struct kvm_vcpu {
	struct kvm *kvm;
	struct {
		struct kvm_mmu root_mmu;
		struct kvm_pagewalk gva_walk;
	} arch;
};

struct kvm_mmu_page {
	union kvm_mmu_page_role role;
};

/* A cached root is a shadow page here, or a special root without one. */
static struct kvm_mmu_page pages[KVM_MMU_NUM_PREV_ROOTS];
#define SPECIAL_HPA	0x1000UL
#define PAGE_HPA(i)	(0x2000UL + (i))

static struct kvm_mmu_page *root_to_sp(hpa_t root)
{
	if (root >= PAGE_HPA(0) && root < PAGE_HPA(KVM_MMU_NUM_PREV_ROOTS))
		return &pages[root - PAGE_HPA(0)];
	return NULL;
}

#define ADDR		0xfffff000UL

static unsigned long freed, synced;
static bool wrong_addr, wrong_walk;
/*
 * What the sync must walk L1's linear address with: root_mmu itself, or
 * (7.x) the vCPU's gva_walk, which translates for root_mmu.
 */
static void *l1_walk;

void kvm_mmu_free_roots(struct kvm *kvm, struct kvm_mmu *mmu,
			unsigned long roots_to_free)
{
	(void)kvm;
	(void)mmu;
	freed |= roots_to_free;
}

/* @walk: struct kvm_mmu * before 7.x, struct kvm_pagewalk * since. */
void kvm_mmu_invalidate_addr(struct kvm_vcpu *vcpu, void *walk, u64 addr,
			     unsigned long roots)
{
	(void)vcpu;
	synced |= roots;
	wrong_addr |= addr != ADDR;
	wrong_walk |= walk != l1_walk;
}

#ifdef GUEST_MODE_ADDR_ON_ROOT_MMU
void kvm_mmu_invalidate_guest_mode_addr(struct kvm_vcpu *vcpu, u64 addr);
#else
void kvm_mmu_invalidate_guest_mode_addr(struct kvm_vcpu *vcpu,
					struct kvm_mmu *mmu, u64 addr);
#endif

#include "mmu_roots_gen.c"	/* kvm_mmu_invalidate_guest_mode_addr() */

enum root_kind { ROOT_NONE, ROOT_SPECIAL, ROOT_L1, ROOT_L2 };

struct cached_root {
	enum root_kind kind;
	u32 flip;	/* role bits that differ from L1's current role */
};

/* L1 in 4-level long mode with NX, WP, the role of its shadow roots. */
static union kvm_mmu_page_role l1_role(void)
{
	union kvm_mmu_page_role role = { .word = 0 };

	role.level = 4;
	role.access = 7;
	role.efer_nx = 1;
	role.cr0_wp = 1;
	return role;
}

static u32 guest_mode_bit(void)
{
	union kvm_mmu_page_role role = { .word = 0 };

	role.guest_mode = 1;
	return role.word;
}

static int failed_cases, nr_cases;

/*
 * Runs the function on @roots with L1's role as the current one and checks
 * the rule.  What the architecture demands: an L2 root that cannot be
 * synced with L1's role (or has no shadow page) is freed, and no such root
 * is synced; L1's roots may be synced too (over-invalidating L1 is
 * allowed) but only with the role they were built for.  What the function
 * is for (else freeing every L2 root would do, as upstream does): an L2
 * root that can be synced is kept and synced, and L1's roots are kept.
 */
static void check(const char *name, const struct cached_root *roots,
		  unsigned int expect_warns)
{
	unsigned long must_sync = 0, must_free = 0;
	unsigned long no_sync = 0, no_free = KVM_MMU_ROOT_CURRENT;
	struct kvm_vcpu vcpu = { .arch.root_mmu.root_role = l1_role() };
	struct kvm_mmu *mmu = &vcpu.arch.root_mmu;
	unsigned long bit;
	int i, ok;

	mmu->root.hpa = 0x3000;	/* L1's current root */
	for (i = 0; i < KVM_MMU_NUM_PREV_ROOTS; i++) {
		const struct cached_root *r = &roots[i];

		bit = KVM_MMU_ROOT_PREVIOUS(i);
		mmu->prev_roots[i].hpa = INVALID_PAGE;
		pages[i].role = l1_role();
		pages[i].role.word ^= r->flip;
		switch (r->kind) {
		case ROOT_NONE:
			break;
		case ROOT_SPECIAL:
			mmu->prev_roots[i].hpa = SPECIAL_HPA;
			must_free |= bit;
			no_sync |= bit;
			break;
		case ROOT_L1:
			mmu->prev_roots[i].hpa = PAGE_HPA(i);
			no_free |= bit;
			if (r->flip)
				no_sync |= bit;
			break;
		case ROOT_L2:
			mmu->prev_roots[i].hpa = PAGE_HPA(i);
			pages[i].role.word |= guest_mode_bit();
			if (r->flip) {
				must_free |= bit;
				no_sync |= bit;
			} else {
				must_sync |= bit;
				no_free |= bit;
			}
			break;
		}
	}
	if (expect_warns)
		mmu->root_role.guest_mode = 1;

	freed = 0;
	synced = 0;
	wrong_addr = false;
	wrong_walk = false;
	test_warn_count = 0;
#ifdef GUEST_MODE_ADDR_ON_ROOT_MMU
	l1_walk = &vcpu.arch.gva_walk;
	kvm_mmu_invalidate_guest_mode_addr(&vcpu, ADDR);
#else
	l1_walk = mmu;
	kvm_mmu_invalidate_guest_mode_addr(&vcpu, mmu, ADDR);
#endif

	ok = (synced & must_sync) == must_sync && !(synced & no_sync) &&
	     (freed & must_free) == must_free && !(freed & no_free) &&
	     !wrong_addr && !wrong_walk && test_warn_count == expect_warns;
	if (!ok)
		fprintf(stderr,
			"%s: synced %#lx (must %#lx, must not %#lx), freed %#lx (must %#lx, must not %#lx), %u warning(s) (want %u)%s%s\n",
			name, synced, must_sync, no_sync, freed, must_free,
			no_free, test_warn_count, expect_warns,
			wrong_addr ? ", synced another address" : "",
			wrong_walk ? ", not through L1's walk" : "");
	nr_cases++;
	failed_cases += !ok;
	printf("%s %d %s\n", ok ? "ok" : "not ok", nr_cases, name);
}

/* A cached root: L1's or L2's, with the role bits @flip changed. */
#define NONE		{ ROOT_NONE, 0 }
#define SPECIAL		{ ROOT_SPECIAL, 0 }
#define L1(flip)	{ ROOT_L1, flip }
#define L2(flip)	{ ROOT_L2, flip }

static const struct {
	const char *name;
	struct cached_root roots[KVM_MMU_NUM_PREV_ROOTS];
	unsigned int warns;	/* called in guest mode: a KVM bug */
} cases[] = {
	{ "l2_same_role_synced", { L2(0), NONE, NONE }, 0 },
	{ "l1_roots_left_alone", { L1(0), L1(1u << 0), NONE }, 0 },
	{ "special_root_freed", { NONE, SPECIAL, L2(0) }, 0 },
	{ "no_cached_roots", { NONE, NONE, NONE }, 0 },
	{ "mixed", { L2(0), L1(0), L2(1u << 0) }, 0 },
	/* Roots an MMU keeps beyond the default three (nr_prev_roots). */
	{ "beyond_default_slots",
	  { [3] = L2(0), [4] = L2(1u << 0), [KVM_MMU_NUM_PREV_ROOTS - 1] = L1(0) },
	  0 },
	{ "called_in_guest_mode_warns", { NONE, NONE, NONE }, 1 },
};

int main(void)
{
	u32 gm = guest_mode_bit();
	char name[64];
	unsigned int i;
	int bit;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check(cases[i].name, cases[i].roots, cases[i].warns);

	/*
	 * An L2 root whose role differs from L1's in any one bit but guest
	 * mode (level, NX, WP, SMEP, SMAP, ..., unused bits too) is freed.
	 */
	for (bit = 0; bit < 32; bit++) {
		struct cached_root roots[KVM_MMU_NUM_PREV_ROOTS] = {
			L2(1u << bit), L2(0), L1(0)
		};

		if (BIT(bit) == gm)
			continue;
		snprintf(name, sizeof(name), "l2_role_bit%d_freed", bit);
		check(name, roots, 0);
	}

	printf("%d passed, %d failed\n", nr_cases - failed_cases,
	       failed_cases);
	return failed_cases ? 1 : 0;
}
