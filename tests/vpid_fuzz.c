// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for arch/x86/kvm/vmx/vpid.c.
 *
 * Each input drives one nested VPID cache through a sequence of operations
 * and checks every result against a reference model, an independent and
 * naive implementation of the same semantics: a list of vpid12 -> vpid02
 * mappings with use timestamps, the set of vpid02s the cache owns, the
 * extra tags that the other caches of its VM hold, the owner of every VPID
 * in the global space and the limit of that space.  The invariants are
 * checked after every step; any difference aborts.
 *
 * Input format: byte 0 chooses the VPID space for the input (space_arg(),
 * mostly a small one, so that the reserves, the VM's quota and exhaustion
 * are a few allocations away), byte 1 how many VPIDs the harness takes
 * before the space is shrunk, so that some may lie above the limit; then
 * each operation is one byte (value modulo NR_OPS) followed by the argument
 * bytes it reads.  A missing byte reads as 0.  New operations go last in
 * enum op, so that the operation bytes of older inputs (corpus/), all
 * below their NR_OPS, keep their meaning.  Every input ends with the space
 * empty and at its full size.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>

#include "kstub.h"
#include "vpid.h"

#define NR_VPIDS	0xffff		/* VPIDs the allocator can hand out */
#define NR_ALPHA	20		/* common vpid12s: 1..NR_ALPHA */

enum owner { FREE, HELD, CACHE };

enum op {
	OP_INIT, OP_LOOKUP, OP_LOOKUP2, OP_FIND, OP_INVALIDATE,
	OP_INVALIDATE_ALL, OP_RELEASE, OP_TAKE, OP_GIVE, OP_DOUBLE_FREE,
	OP_BAD_FREE, OP_SPACE, OP_QUOTA, NR_OPS
};

/* Space arguments 0xf8..0xff: edge values, valid and invalid. */
static const unsigned int special_space[8] = {
	0, 1, VMX_NR_VPIDS + 1, UINT_MAX,
	VMX_NR_VPIDS, VMX_NR_VPIDS - 1, 0x1000, 0x101,
};

/* vpid12 arguments 0xe0..0xff: edge values, valid and invalid. */
static const u32 special_vpid12[32] = {
	0, 0x10000, 0x10001, 0xffffffff, 0x80000000, 0x1ffff, 0, 0x10000,
	0xffff, 0xfffe, 0x8000, 0x7fff, 0x100, 0xff, 0x21, 0x22,
	0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x1000, 0x1001,
	0xffff, 0xfffe, 0x8000, 0x21, 0x22, 0x23, 0x24, 0x25,
};

struct model_map {
	u32 vpid12;
	u16 vpid02;
	u64 stamp;
};

static struct {
	unsigned int nr;			/* slots, 0 if not initialised */
	struct model_map map[NESTED_VPID_MAX_TAGS];
	unsigned int nr_map;
	u16 owned[NESTED_VPID_MAX_TAGS];	/* every vpid02 owned */
	unsigned int nr_owned;
	unsigned int nr_other;		/* the VM's other caches' extra tags */
	u64 clock;
} m;

static struct nested_vpid_cache cache;
static struct nested_vpid_quota vm;
static unsigned char owner[NR_VPIDS + 1];
static int held[NR_VPIDS];
static unsigned int nr_held;
/* VPIDs 1..space - 1 can be allocated. */
static unsigned int space = VMX_NR_VPIDS;

static const u8 *in;
static size_t in_len;

#define FAIL(...) do {							\
	fprintf(stderr, "vpid_fuzz: line %d: ", __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

#define ASSERT(cond) do {						\
	if (!(cond))							\
		FAIL("assertion failed: %s", #cond);			\
} while (0)

static u8 next_byte(void)
{
	if (!in_len)
		return 0;
	in_len--;
	return *in++;
}

static u32 next_vpid12(void)
{
	u8 a = next_byte();

	return a < 0xe0 ? 1U + a % NR_ALPHA : special_vpid12[a - 0xe0];
}

static bool vpid12_valid(u32 vpid12)
{
	return vpid12 >= 1 && vpid12 <= 0xffff;
}

static unsigned int space_arg(u8 a)
{
	return a < 0xf8 ? 2U + a : special_space[a - 0xf8];
}

/* VPIDs that nobody owns, wherever they are. */
static unsigned int nr_unowned(void)
{
	return NR_VPIDS - nr_held - m.nr_owned;
}

/* VPIDs that can be allocated: those that nobody owns below the limit. */
static unsigned int nr_free(void)
{
	unsigned int v, n = 0;

	/* Every VPID is below the full limit; spare the scan. */
	if (space == VMX_NR_VPIDS)
		return nr_unowned();
	for (v = 1; v < space; v++)
		n += owner[v] == FREE;
	return n;
}

/* The VM's extra tags, with the cache owning @nr_owned vpid02s. */
static unsigned int model_nr_extra(unsigned int nr_owned)
{
	return m.nr_other + (nr_owned ? nr_owned - 1 : 0);
}

/*
 * True if one more tag could not be had with @free VPIDs free and the VM
 * holding @nr_extra extra tags: a cache's first tag (@extra false) leaves
 * the last quarter of the space to vCPUs, an extra tag the last half, and
 * a VM holds at most a sixteenth of the space in extra tags.  The cache
 * then allocates none, and a dropped mapping gives back a tag of the kind.
 */
static bool tags_short(bool extra, unsigned int free, unsigned int nr_extra)
{
	if (!extra)
		return free <= (space - 1) / 4;
	return free <= (space - 1) / 2 || nr_extra >= (space - 1) / 16;
}

/* Would the cache give back the vpid02 of a mapping it drops now? */
static bool model_gives_back(void)
{
	return tags_short(m.nr_owned > 1, nr_free(),
			  model_nr_extra(m.nr_owned));
}

/* Run @stmt and check that it fired exactly @n warnings. */
#define EXPECT_WARNS(n, stmt) do {					\
	unsigned int __before = test_warn_count;			\
	stmt;								\
	if (test_warn_count - __before != (unsigned int)(n))		\
		FAIL("%s: %u warnings, expected %u (last: %s)", #stmt,	\
		     test_warn_count - __before, (unsigned int)(n),	\
		     test_warn_last);					\
} while (0)

static int model_map_index(u32 vpid12)
{
	unsigned int i;

	for (i = 0; i < m.nr_map; i++)
		if (m.map[i].vpid12 == vpid12)
			return i;
	return -1;
}

static bool model_mapped_vpid02(u16 vpid02)
{
	unsigned int i;

	for (i = 0; i < m.nr_map; i++)
		if (m.map[i].vpid02 == vpid02)
			return true;
	return false;
}

static bool model_owns(u16 vpid02)
{
	unsigned int i;

	for (i = 0; i < m.nr_owned; i++)
		if (m.owned[i] == vpid02)
			return true;
	return false;
}

static void model_unmap(unsigned int i)
{
	m.map[i] = m.map[--m.nr_map];
}

/* The cache gave @vpid02 back to the global space. */
static void model_disown(u16 vpid02)
{
	unsigned int i;

	for (i = 0; i < m.nr_owned && m.owned[i] != vpid02; i++)
		;
	ASSERT(i < m.nr_owned && owner[vpid02] == CACHE);
	m.owned[i] = m.owned[--m.nr_owned];
	owner[vpid02] = FREE;
}

static void model_release(void)
{
	while (m.nr_owned)
		owner[m.owned[--m.nr_owned]] = FREE;
	m.nr_map = 0;
}

static void hold(enum owner who, int *stack, unsigned int *nr)
{
	int v = vpid_alloc();

	ASSERT(v > 0 && (unsigned int)v < space && owner[v] == FREE);
	owner[v] = who;
	stack[(*nr)++] = v;
}

static void unhold(int *stack, unsigned int *nr, unsigned int i)
{
	int v = stack[i];

	stack[i] = stack[--*nr];
	ASSERT(owner[v] != FREE);
	owner[v] = FREE;
	vpid_free(v);
}

static void check_invariants(void)
{
	static const u32 extra[] = { 0xffff, 0xfffe, 0x8000, 0x7fff, 0x100,
				     0xff, 0x1000, 0x1001 };
	unsigned char seen[NESTED_VPID_MAX_TAGS] = {};
	unsigned int before = test_warn_count;
	unsigned int i, j, n = 0;
	u32 vpid12;
	u16 v;
	int k;

	ASSERT(cache.nr_tags == m.nr);
	ASSERT(cache.nr_owned == m.nr_owned);
	ASSERT(vm.nr_extra == model_nr_extra(m.nr_owned));
	ASSERT(vpid_get_space() == space);
	ASSERT(vpid_nr_allocated() == nr_held + m.nr_owned);

	/* nested_vpid_tag() yields exactly the owned vpid02s, once each. */
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++) {
		v = nested_vpid_tag(&cache, i);
		if (!v)
			continue;
		ASSERT(i < m.nr && v == cache.slots[i].vpid02);
		ASSERT(v != 0 && owner[v] == CACHE && model_owns(v));
		for (j = 0; j < i; j++)
			ASSERT(cache.slots[j].vpid02 != v);
		n++;
	}
	ASSERT(n == m.nr_owned);

	/* find() agrees with the model for every vpid12 in use. */
	for (vpid12 = 1; vpid12 <= NR_ALPHA + sizeof(extra) / sizeof(extra[0]);
	     vpid12++) {
		u32 q = vpid12 <= NR_ALPHA ? vpid12 : extra[vpid12 - NR_ALPHA - 1];

		k = model_map_index(q);
		ASSERT(nested_vpid_find(&cache, q) ==
		       (k >= 0 ? m.map[k].vpid02 : 0));
	}
	ASSERT(test_warn_count == before);

	/* Slots: mapped implies owned, no shared vpid12, ranks exact LRU. */
	n = 0;
	for (i = 0; i < m.nr; i++) {
		const struct nested_vpid_slot *t = &cache.slots[i];

		ASSERT(t->lru < m.nr && !seen[t->lru]);
		seen[t->lru] = 1;
		if (!t->vpid12)
			continue;
		n++;
		ASSERT(t->vpid02 && vpid12_valid(t->vpid12));
		k = model_map_index(t->vpid12);
		ASSERT(k >= 0 && m.map[k].vpid02 == t->vpid02);
		for (j = 0; j < m.nr; j++) {
			const struct nested_vpid_slot *u = &cache.slots[j];
			int l;

			if (j == i || !u->vpid12)
				continue;
			ASSERT(u->vpid12 != t->vpid12);
			l = model_map_index(u->vpid12);
			ASSERT(l >= 0);
			/* More recently used <=> lower rank. */
			ASSERT((m.map[l].stamp > m.map[k].stamp) ==
			       (u->lru < t->lru));
		}
	}
	ASSERT(n == m.nr_map);
	/* Slots beyond the slot count own nothing. */
	for (i = m.nr; i < NESTED_VPID_MAX_TAGS; i++)
		ASSERT(!cache.slots[i].vpid02 && !cache.slots[i].vpid12);
}

static void op_init(void)
{
	u8 a = next_byte();
	unsigned int nr = a == 0xff ? UINT_MAX : a % (NESTED_VPID_MAX_TAGS + 4);
	bool bad = nr == 0 || nr > NESTED_VPID_MAX_TAGS;

	EXPECT_WARNS(bad, nested_vpid_cache_init(&cache, nr, &vm));
	model_release();
	m.nr = nr == 0 ? 1 : bad ? NESTED_VPID_MAX_TAGS : nr;
}

static void op_lookup(u32 vpid12)
{
	enum nested_vpid_result res, want;
	unsigned int i, lru = 0;
	bool bad = !m.nr || !vpid12_valid(vpid12);
	u16 v = 0xdead;
	int k;

	EXPECT_WARNS(bad, res = nested_vpid_lookup(&cache, vpid12, &v));
	if (bad) {
		ASSERT(res == NESTED_VPID_FALLBACK && v == 0);
		return;
	}

	k = model_map_index(vpid12);
	if (k >= 0) {
		ASSERT(res == NESTED_VPID_HIT && v == m.map[k].vpid02);
		m.map[k].stamp = ++m.clock;
		return;
	}

	if (m.nr_owned > m.nr_map) {
		/* An owned vpid02 is unmapped: it is reused. */
		want = NESTED_VPID_MISS;
		ASSERT(v && model_owns(v) && !model_mapped_vpid02(v));
	} else if (m.nr_owned < m.nr &&
		   !tags_short(m.nr_owned > 0, nr_free(),
			       model_nr_extra(m.nr_owned))) {
		/* A slot allocates, below the limit. */
		want = NESTED_VPID_MISS;
		ASSERT(v && v < space && owner[v] == FREE);
		owner[v] = CACHE;
		m.owned[m.nr_owned++] = v;
	} else if (m.nr_map) {
		/* The least recently used mapping is evicted. */
		want = NESTED_VPID_EVICT;
		for (i = 1; i < m.nr_map; i++)
			if (m.map[i].stamp < m.map[lru].stamp)
				lru = i;
		ASSERT(v == m.map[lru].vpid02);
		model_unmap(lru);
	} else {
		ASSERT(res == NESTED_VPID_FALLBACK && v == 0);
		return;
	}
	if (res != want)
		FAIL("lookup(%u) = %d, expected %d", vpid12, res, want);
	m.map[m.nr_map++] = (struct model_map){ vpid12, v, ++m.clock };
}

static void op_find(void)
{
	u32 vpid12 = next_vpid12();
	bool bad = !vpid12_valid(vpid12);
	u16 v;
	int k;

	EXPECT_WARNS(bad, v = nested_vpid_find(&cache, vpid12));
	k = bad ? -1 : model_map_index(vpid12);
	ASSERT(v == (k >= 0 ? m.map[k].vpid02 : 0));
}

static void op_invalidate(void)
{
	u32 vpid12 = next_vpid12();
	bool bad = !vpid12_valid(vpid12);
	int k = bad ? -1 : model_map_index(vpid12);
	bool give_back = k >= 0 && model_gives_back();
	u16 v = k >= 0 ? m.map[k].vpid02 : 0;

	EXPECT_WARNS(bad, nested_vpid_invalidate(&cache, vpid12));
	if (k < 0)
		return;
	model_unmap(k);
	if (give_back)
		model_disown(v);
}

static bool cache_owns(u16 vpid02)
{
	unsigned int i;

	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		if (nested_vpid_tag(&cache, i) == vpid02)
			return true;
	return false;
}

static void op_invalidate_all(void)
{
	u16 mapped[NESTED_VPID_MAX_TAGS], gone[NESTED_VPID_MAX_TAGS];
	unsigned int i, nr_mapped = m.nr_map, nr_gone = 0, free;
	bool was_short = false;

	for (i = 0; i < nr_mapped; i++)
		mapped[i] = m.map[i].vpid02;
	EXPECT_WARNS(0, nested_vpid_invalidate_all(&cache));
	m.nr_map = 0;
	for (i = 0; i < nr_mapped; i++) {
		if (!cache_owns(mapped[i])) {
			gone[nr_gone++] = mapped[i];
			model_disown(mapped[i]);
		}
	}

	/*
	 * The mappings are dropped one at a time, in an order the model does
	 * not know, and each gives its vpid02 back while tags of its kind are
	 * short.  Giving back can only end a shortage (one more free, one
	 * extra tag fewer, or the last tag left, short only with fewer free),
	 * so if a mapping kept its vpid02, tags are no longer short; and if
	 * any went back, they were short before the last one did, with that
	 * one owned (and one fewer free if it lies below the limit).
	 */
	if (nr_gone < nr_mapped)
		ASSERT(!model_gives_back());
	free = nr_free();
	for (i = 0; i < nr_gone; i++)
		was_short |= tags_short(m.nr_owned > 0,
					free - (gone[i] < space),
					model_nr_extra(m.nr_owned + 1));
	ASSERT(!nr_gone || was_short);
}

static void op_take(void)
{
	unsigned int n = next_byte() % 8 + 1;
	int v;

	while (n--) {
		/* vCPUs may take the reserve too. */
		if (nr_free()) {
			hold(HELD, held, &nr_held);
		} else {
			v = vpid_alloc();
			ASSERT(v == 0);
		}
	}
}

static void op_give(void)
{
	unsigned int n = next_byte() % 8 + 1;

	while (n-- && nr_held)
		unhold(held, &nr_held, next_byte() % nr_held);
}

static void op_double_free(void)
{
	int v;

	if (!nr_held)
		return;
	v = held[nr_held - 1];
	unhold(held, &nr_held, nr_held - 1);
	EXPECT_WARNS(1, vpid_free(v));
}

static void op_bad_free(void)
{
	static const int bad[] = { -1, INT_MIN, 0x10000, INT_MAX };
	u8 a = next_byte();
	int v;

	if (a % 6 < 4) {
		EXPECT_WARNS(1, vpid_free(bad[a % 6]));
	} else if (a % 6 == 4) {
		EXPECT_WARNS(0, vpid_free(0));
	} else if (nr_unowned()) {
		/* A VPID that nobody holds, below the limit or not. */
		for (v = 1 + a * 251 % NR_VPIDS; owner[v] != FREE;
		     v = v % NR_VPIDS + 1)
			;
		EXPECT_WARNS(1, vpid_free(v));
	}
}

/*
 * The VM's other caches now hold as many extra tags as the argument byte
 * says, so that the quota can be reached with one cache.
 */
static void op_quota(void)
{
	m.nr_other = next_byte();
	vm.nr_extra = model_nr_extra(m.nr_owned);
}

/* vpid_set_space() takes 2..VMX_NR_VPIDS and leaves the VPIDs in use. */
static void op_space(u8 a)
{
	unsigned int nr = space_arg(a);
	bool bad = nr < 2 || nr > VMX_NR_VPIDS;
	int ret;

	EXPECT_WARNS(0, ret = vpid_set_space(nr));
	ASSERT(ret == (bad ? -EINVAL : 0));
	if (!bad)
		space = nr;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	unsigned int n;
	u8 a;

	in = data;
	in_len = size;

	/* The previous input left the space empty and at its full size. */
	memset(&cache, 0, sizeof(cache));
	memset(&vm, 0, sizeof(vm));
	memset(&m, 0, sizeof(m));
	ASSERT(vpid_nr_allocated() == 0 && vpid_get_space() == VMX_NR_VPIDS);
	a = next_byte();
	n = next_byte();
	while (n--)
		hold(HELD, held, &nr_held);
	op_space(a);
	check_invariants();

	while (in_len) {
		switch (next_byte() % NR_OPS) {
		case OP_INIT:
			op_init();
			break;
		case OP_LOOKUP:
		case OP_LOOKUP2:
			op_lookup(next_vpid12());
			break;
		case OP_FIND:
			op_find();
			break;
		case OP_INVALIDATE:
			op_invalidate();
			break;
		case OP_INVALIDATE_ALL:
			op_invalidate_all();
			break;
		case OP_RELEASE:
			EXPECT_WARNS(0, nested_vpid_release(&cache));
			model_release();
			break;
		case OP_TAKE:
			op_take();
			break;
		case OP_GIVE:
			op_give();
			break;
		case OP_DOUBLE_FREE:
			op_double_free();
			break;
		case OP_BAD_FREE:
			op_bad_free();
			break;
		case OP_SPACE:
			op_space(next_byte());
			break;
		case OP_QUOTA:
			op_quota();
			break;
		}
		check_invariants();
	}

	EXPECT_WARNS(0, nested_vpid_release(&cache));
	model_release();
	check_invariants();
	while (nr_held)
		unhold(held, &nr_held, nr_held - 1);
	/* 0xfc: the full space. */
	op_space(0xfc);
	ASSERT(space == VMX_NR_VPIDS && vpid_nr_allocated() == 0);
	return 0;
}
