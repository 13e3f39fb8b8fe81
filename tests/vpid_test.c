// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for arch/x86/kvm/vmx/vpid.c, built in user space against the
 * stand-ins in tests/include.  Prints "ok N name" or "not ok N name" per
 * test and ends with "P passed, F failed, S skipped"; exits non-zero on any
 * failure.
 *
 * Every test must leave the global VPID space empty and at its full size
 * (tests that shrink it with vpid_set_space() restore VMX_NR_VPIDS) and
 * the quota vm with no extra tag (releasing its caches gives every one
 * back), and consume every warning it provokes (EXPECT_WARN); the runner
 * fails a test otherwise.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/vmx.h>

#include "kstub.h"
#include "vpid.h"

#define NR_VPIDS	0xffff	/* VPIDs the allocator can hand out */

/*
 * In a space of @space (VPIDs 1..@space - 1), see the top of vpid.c: the
 * free VPIDs that only vpid_alloc() may take (the last quarter), those that
 * extra tags leave to vpid01s and first tags (the last half), and the extra
 * tags that the caches of one VM may hold (a sixteenth).
 */
#define RESERVE(space)		(((space) - 1) / 4)
#define RESERVE_EXTRA(space)	(((space) - 1) / 2)
#define QUOTA(space)		(((space) - 1) / 16)

/*
 * A space where every limit is a few tags away: first tags leave 16 VPIDs,
 * extra tags 32, and a VM may hold 4 extra tags.
 */
#define SMALL_SPACE		65

static int test_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
			__FILE__, __LINE__, #cond);			\
		test_failed = 1;					\
		return;							\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long __a = (a), __b = (b);					\
	if (__a != __b) {						\
		fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n",	\
			__FILE__, __LINE__, #a, #b, __a, __b);		\
		test_failed = 1;					\
		return;							\
	}								\
} while (0)

/* Run @stmt and check that it fired exactly one warning. */
#define EXPECT_WARN(stmt) do {						\
	unsigned int __before = test_warn_count;			\
	stmt;								\
	CHECK_EQ(test_warn_count - __before, 1);			\
	test_warn_count = __before;					\
} while (0)

/* Tests that need more slots than this build has are skipped. */
#define NEED_TAGS(n) do {						\
	if (NESTED_VPID_MAX_TAGS < (n)) {				\
		test_skipped = 1;					\
		return;							\
	}								\
} while (0)

static int test_skipped;
static int held[NR_VPIDS + 1];
static unsigned int nr_held;
/* The VM of every cache but those a test puts in another VM. */
static struct nested_vpid_quota vm;

/* Take every VPID that is still free; returns how many were taken. */
static unsigned int hold_all(void)
{
	unsigned int n = 0;
	int v;

	while ((v = vpid_alloc())) {
		held[nr_held++] = v;
		n++;
	}
	return n;
}

/* Take up to @n more VPIDs; returns how many were taken. */
static unsigned int hold_n(unsigned int n)
{
	unsigned int i;
	int v;

	for (i = 0; i < n && (v = vpid_alloc()); i++)
		held[nr_held++] = v;
	return i;
}

/* Free the held VPID @v; false if it is not held. */
static bool unhold(int v)
{
	unsigned int i;

	for (i = 0; i < nr_held; i++) {
		if (held[i] == v) {
			held[i] = held[--nr_held];
			vpid_free(v);
			return true;
		}
	}
	return false;
}

static void free_held(void)
{
	while (nr_held)
		vpid_free(held[--nr_held]);
}

/* Free VPIDs, in a space with none in use above its limit. */
static unsigned int nr_free(void)
{
	return vpid_get_space() - 1 - vpid_nr_allocated();
}

/* Take VPIDs until @n are free; false if fewer were. */
static bool leave_free(unsigned int n)
{
	unsigned int nr = nr_free();

	return nr >= n && hold_n(nr - n) == nr - n;
}

static unsigned int count_tags(const struct nested_vpid_cache *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		n += nested_vpid_tag(c, i) != 0;
	return n;
}

static enum nested_vpid_result lookup(struct nested_vpid_cache *c, u32 vpid12,
				      u16 *vpid02)
{
	return nested_vpid_lookup(c, vpid12, vpid02);
}

/* ---- global VPID space ---- */

static void test_alloc_skips_zero(void)
{
	int v = vpid_alloc();

	CHECK_EQ(v, 1);
	CHECK_EQ(vpid_nr_allocated(), 1);
	vpid_free(v);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_alloc_exhaust_and_retry(void)
{
	static unsigned char seen[NR_VPIDS + 1];
	unsigned int i;

	memset(seen, 0, sizeof(seen));
	CHECK_EQ(hold_all(), NR_VPIDS);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS);
	for (i = 0; i < nr_held; i++) {
		CHECK(held[i] >= 1 && held[i] <= NR_VPIDS);
		CHECK(!seen[held[i]]);
		seen[held[i]] = 1;
	}
	CHECK_EQ(vpid_alloc(), 0);
	CHECK_EQ(vpid_alloc(), 0);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS);

	/* Free one in the middle and the very last: both come back. */
	vpid_free(777);
	vpid_free(NR_VPIDS);
	CHECK_EQ(vpid_alloc(), 777);
	CHECK_EQ(vpid_alloc(), NR_VPIDS);
	CHECK_EQ(vpid_alloc(), 0);
	free_held();
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_free_zero_ignored(void)
{
	vpid_free(0);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_double_free(void)
{
	int a = vpid_alloc(), b = vpid_alloc();

	vpid_free(a);
	CHECK_EQ(vpid_nr_allocated(), 1);
	EXPECT_WARN(vpid_free(a));
	CHECK_EQ(vpid_nr_allocated(), 1);
	vpid_free(b);
	CHECK_EQ(vpid_nr_allocated(), 0);
	EXPECT_WARN(vpid_free(b));
	CHECK_EQ(vpid_nr_allocated(), 0);
	/* The space is intact: the lowest VPID comes first again. */
	a = vpid_alloc();
	CHECK_EQ(a, 1);
	vpid_free(a);
}

static void test_free_out_of_range(void)
{
	int v = vpid_alloc();

	EXPECT_WARN(vpid_free(-1));
	EXPECT_WARN(vpid_free(INT_MIN));
	EXPECT_WARN(vpid_free(0x10000));
	EXPECT_WARN(vpid_free(INT_MAX));
	CHECK_EQ(vpid_nr_allocated(), 1);
	vpid_free(v);
}

static void test_free_never_allocated(void)
{
	EXPECT_WARN(vpid_free(5));
	EXPECT_WARN(vpid_free(NR_VPIDS));
	CHECK_EQ(vpid_nr_allocated(), 0);
}

/* ---- nested tag cache ---- */

static void test_init_allocates_nothing(void)
{
	struct nested_vpid_cache c = {};
	u16 v;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	CHECK_EQ(c.nr_tags, NESTED_VPID_MAX_TAGS);
	CHECK_EQ(vpid_nr_allocated(), 0);
	CHECK_EQ(count_tags(&c), 0);
	CHECK_EQ(nested_vpid_find(&c, 1), 0);
	nested_vpid_invalidate(&c, 1);
	nested_vpid_invalidate_all(&c);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_MISS);
	nested_vpid_release(&c);
}

static void test_miss_then_hit(void)
{
	struct nested_vpid_cache c = {};
	u16 v, w;

	nested_vpid_cache_init(&c, 1, &vm);
	CHECK_EQ(lookup(&c, 5, &v), NESTED_VPID_MISS);
	CHECK(v != 0);
	CHECK_EQ(vpid_nr_allocated(), 1);
	CHECK_EQ(lookup(&c, 5, &w), NESTED_VPID_HIT);
	CHECK_EQ(w, v);
	CHECK_EQ(nested_vpid_find(&c, 5), v);
	CHECK_EQ(vpid_nr_allocated(), 1);
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_lazy_distinct_tags(void)
{
	struct nested_vpid_cache c = {};
	u16 v[NESTED_VPID_MAX_TAGS], w;
	unsigned int i, j;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++) {
		CHECK_EQ(lookup(&c, 100 + i, &v[i]), NESTED_VPID_MISS);
		CHECK(v[i] != 0);
		for (j = 0; j < i; j++)
			CHECK(v[i] != v[j]);
		CHECK_EQ(vpid_nr_allocated(), i + 1);
		CHECK_EQ(count_tags(&c), i + 1);
		/* Every tag but the first is an extra one. */
		CHECK_EQ(vm.nr_extra, i);
	}
	/* Every one of them hits, in any order, with no allocation. */
	for (i = NESTED_VPID_MAX_TAGS; i-- > 0;) {
		CHECK_EQ(lookup(&c, 100 + i, &w), NESTED_VPID_HIT);
		CHECK_EQ(w, v[i]);
	}
	CHECK_EQ(vpid_nr_allocated(), NESTED_VPID_MAX_TAGS);
	/* One more evicts; the count of owned tags stays at the maximum. */
	CHECK_EQ(lookup(&c, 99, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v[NESTED_VPID_MAX_TAGS - 1]);
	CHECK_EQ(vpid_nr_allocated(), NESTED_VPID_MAX_TAGS);
	CHECK_EQ(vm.nr_extra, NESTED_VPID_MAX_TAGS - 1);
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), 0);
	CHECK_EQ(vm.nr_extra, 0);
}

static void test_lru_order(void)
{
	struct nested_vpid_cache c = {};
	u16 v[5], w;
	unsigned int i;

	NEED_TAGS(4);
	nested_vpid_cache_init(&c, 4, &vm);
	for (i = 1; i <= 4; i++)
		CHECK_EQ(lookup(&c, i, &v[i]), NESTED_VPID_MISS);
	/* Recency, oldest first: 1 2 3 4 -> 3 4 2 1 */
	CHECK_EQ(lookup(&c, 2, &w), NESTED_VPID_HIT);
	CHECK_EQ(lookup(&c, 1, &w), NESTED_VPID_HIT);

	CHECK_EQ(lookup(&c, 5, &w), NESTED_VPID_EVICT);	/* 4 2 1 5 */
	CHECK_EQ(w, v[3]);
	CHECK_EQ(nested_vpid_find(&c, 3), 0);
	CHECK_EQ(nested_vpid_find(&c, 5), v[3]);

	CHECK_EQ(lookup(&c, 6, &w), NESTED_VPID_EVICT);	/* 2 1 5 6 */
	CHECK_EQ(w, v[4]);
	CHECK_EQ(lookup(&c, 5, &w), NESTED_VPID_HIT);	/* 2 1 6 5 */
	CHECK_EQ(lookup(&c, 3, &w), NESTED_VPID_EVICT);	/* 1 6 5 3 */
	CHECK_EQ(w, v[2]);
	CHECK_EQ(lookup(&c, 2, &w), NESTED_VPID_EVICT);	/* 6 5 3 2 */
	CHECK_EQ(w, v[1]);
	CHECK_EQ(lookup(&c, 7, &w), NESTED_VPID_EVICT);	/* 5 3 2 7 */
	CHECK_EQ(w, v[4]);
	CHECK_EQ(nested_vpid_find(&c, 6), 0);
	CHECK_EQ(vpid_nr_allocated(), 4);
	nested_vpid_release(&c);
}

/* Random lookups against a recency list kept by the test. */
static void test_lru_random(void)
{
	enum { N = NESTED_VPID_MAX_TAGS };
	struct nested_vpid_cache c = {};
	u32 recent[N];		/* mapped vpid12s, most recent first */
	u16 tag[N + 4] = {};	/* vpid02 mapped to each vpid12 */
	unsigned int i, j, n = 0, seed = 1;
	enum nested_vpid_result res;
	u32 vpid12;
	u16 v;

	NEED_TAGS(2);
	nested_vpid_cache_init(&c, N, &vm);
	for (i = 0; i < 20000; i++) {
		seed = seed * 1103515245 + 12345;
		vpid12 = 1 + (seed >> 16) % (N + 3);
		res = lookup(&c, vpid12, &v);
		for (j = 0; j < n && recent[j] != vpid12; j++)
			;
		if (j < n) {
			CHECK_EQ(res, NESTED_VPID_HIT);
			CHECK_EQ(v, tag[vpid12]);
		} else if (n < N) {
			CHECK_EQ(res, NESTED_VPID_MISS);
			n++;
		} else {
			CHECK_EQ(res, NESTED_VPID_EVICT);
			CHECK_EQ(v, tag[recent[N - 1]]);
			j = N - 1;
		}
		/* Move vpid12 to the front. */
		for (; j > 0; j--)
			recent[j] = recent[j - 1];
		recent[0] = vpid12;
		tag[vpid12] = v;
	}
	CHECK_EQ(vpid_nr_allocated(), N);
	nested_vpid_release(&c);
}

static void test_find_keeps_lru(void)
{
	struct nested_vpid_cache c = {};
	u16 v1, v2, w;

	NEED_TAGS(2);
	nested_vpid_cache_init(&c, 2, &vm);
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v2), NESTED_VPID_MISS);
	CHECK_EQ(nested_vpid_find(&c, 1), v1);
	CHECK_EQ(nested_vpid_find(&c, 3), 0);
	/* 1 is still the least recently used mapping. */
	CHECK_EQ(lookup(&c, 3, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v1);
	CHECK_EQ(nested_vpid_find(&c, 2), v2);
	nested_vpid_release(&c);
}

static void test_invalidate(void)
{
	struct nested_vpid_cache c = {};
	u16 v1, v2, w;

	NEED_TAGS(2);
	nested_vpid_cache_init(&c, 2, &vm);
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v2), NESTED_VPID_MISS);
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(nested_vpid_find(&c, 1), 0);
	CHECK_EQ(nested_vpid_find(&c, 2), v2);
	CHECK_EQ(count_tags(&c), 2);
	CHECK_EQ(vpid_nr_allocated(), 2);

	/* The unmapped slot is reused without allocation, and flushed. */
	CHECK_EQ(lookup(&c, 3, &w), NESTED_VPID_MISS);
	CHECK_EQ(w, v1);
	CHECK_EQ(vpid_nr_allocated(), 2);

	/* 1 lost its mapping: it misses, and evicts the LRU (2). */
	CHECK_EQ(lookup(&c, 1, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v2);

	/* Invalidating what is not mapped changes nothing. */
	nested_vpid_invalidate(&c, 2);
	nested_vpid_invalidate(&c, 0xffff);
	CHECK_EQ(nested_vpid_find(&c, 1), v2);
	CHECK_EQ(nested_vpid_find(&c, 3), v1);

	/* Invalidating the one that was just used flushes it again. */
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(lookup(&c, 1, &w), NESTED_VPID_MISS);
	CHECK_EQ(w, v2);
	CHECK_EQ(lookup(&c, 1, &w), NESTED_VPID_HIT);
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_invalidate_prefers_owned_slot(void)
{
	struct nested_vpid_cache c = {};
	u16 v1, v2, w;

	NEED_TAGS(3);
	nested_vpid_cache_init(&c, 3, &vm);
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v2), NESTED_VPID_MISS);
	nested_vpid_invalidate(&c, 2);
	/* Slot 2 is empty, slot 1 owns v2 unmapped: v2 is taken. */
	CHECK_EQ(lookup(&c, 3, &w), NESTED_VPID_MISS);
	CHECK_EQ(w, v2);
	CHECK_EQ(vpid_nr_allocated(), 2);
	/* Then the empty slot allocates. */
	CHECK_EQ(lookup(&c, 4, &w), NESTED_VPID_MISS);
	CHECK(w != v1 && w != v2 && w != 0);
	CHECK_EQ(vpid_nr_allocated(), 3);
	nested_vpid_release(&c);
}

static void test_invalidate_all(void)
{
	struct nested_vpid_cache c = {};
	u16 v[NESTED_VPID_MAX_TAGS], w;
	unsigned int i, j;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		CHECK_EQ(lookup(&c, 10 + i, &v[i]), NESTED_VPID_MISS);
	nested_vpid_invalidate_all(&c);
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		CHECK_EQ(nested_vpid_find(&c, 10 + i), 0);
	CHECK_EQ(count_tags(&c), NESTED_VPID_MAX_TAGS);
	CHECK_EQ(vpid_nr_allocated(), NESTED_VPID_MAX_TAGS);

	/* Every vpid12 misses (flush), reusing the owned tags only. */
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++) {
		CHECK_EQ(lookup(&c, 10 + i, &w), NESTED_VPID_MISS);
		for (j = 0; j < NESTED_VPID_MAX_TAGS && v[j] != w; j++)
			;
		CHECK(j < NESTED_VPID_MAX_TAGS);
	}
	CHECK_EQ(vpid_nr_allocated(), NESTED_VPID_MAX_TAGS);
	nested_vpid_invalidate_all(&c);
	nested_vpid_invalidate_all(&c);
	CHECK_EQ(count_tags(&c), NESTED_VPID_MAX_TAGS);
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_release(void)
{
	struct nested_vpid_cache c = {};
	unsigned int i;
	u16 v;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		CHECK_EQ(lookup(&c, 1 + i, &v), NESTED_VPID_MISS);
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(vpid_nr_allocated(), NESTED_VPID_MAX_TAGS);
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), 0);
	CHECK_EQ(count_tags(&c), 0);
	CHECK_EQ(c.nr_tags, NESTED_VPID_MAX_TAGS);
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		CHECK_EQ(nested_vpid_find(&c, 1 + i), 0);

	/* Double release is a no-op. */
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), 0);

	/* The released cache works again and allocates anew. */
	CHECK_EQ(lookup(&c, 2, &v), NESTED_VPID_MISS);
	CHECK(v != 0);
	CHECK_EQ(vpid_nr_allocated(), 1);
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_release_zeroed(void)
{
	struct nested_vpid_cache c;

	memset(&c, 0, sizeof(c));
	nested_vpid_release(&c);
	nested_vpid_release(&c);
	nested_vpid_invalidate_all(&c);
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(nested_vpid_find(&c, 1), 0);
	CHECK_EQ(count_tags(&c), 0);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_reinit_frees(void)
{
	struct nested_vpid_cache c = {};
	unsigned int i;
	u16 v;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		CHECK_EQ(lookup(&c, 1 + i, &v), NESTED_VPID_MISS);
	nested_vpid_cache_init(&c, 1, &vm);
	CHECK_EQ(vpid_nr_allocated(), 0);
	CHECK_EQ(c.nr_tags, 1);
	CHECK_EQ(nested_vpid_find(&c, 1), 0);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v), NESTED_VPID_EVICT);
	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	CHECK_EQ(vpid_nr_allocated(), 0);
	CHECK_EQ(count_tags(&c), 0);
	nested_vpid_release(&c);
}

static void test_nr_tags_out_of_range(void)
{
	struct nested_vpid_cache c = {};
	u16 v;

	EXPECT_WARN(nested_vpid_cache_init(&c, 0, &vm));
	CHECK_EQ(c.nr_tags, 1);
	EXPECT_WARN(nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS + 1, &vm));
	CHECK_EQ(c.nr_tags, NESTED_VPID_MAX_TAGS);
	EXPECT_WARN(nested_vpid_cache_init(&c, UINT_MAX, &vm));
	CHECK_EQ(c.nr_tags, NESTED_VPID_MAX_TAGS);
	nested_vpid_cache_init(&c, 1, &vm);
	CHECK_EQ(c.nr_tags, 1);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_MISS);
	nested_vpid_release(&c);
}

static void test_bad_vpid12(void)
{
	static const u32 bad[] = { 0, 0x10000, 0x10001, 0xffffffff };
	struct nested_vpid_cache c = {};
	unsigned int i;
	u16 v1, v;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 0xdead;
		EXPECT_WARN(CHECK_EQ(lookup(&c, bad[i], &v),
				     NESTED_VPID_FALLBACK));
		CHECK_EQ(v, 0);
		EXPECT_WARN(CHECK_EQ(nested_vpid_find(&c, bad[i]), 0));
		EXPECT_WARN(nested_vpid_invalidate(&c, bad[i]));
	}
	/* Nothing changed: 1 still hits, nothing more was allocated. */
	CHECK_EQ(vpid_nr_allocated(), 1);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_HIT);
	CHECK_EQ(v, v1);
	/* The largest valid vpid12 works. */
	CHECK_EQ(lookup(&c, 0xffff, &v), NESTED_VPID_MAX_TAGS > 1 ?
		 NESTED_VPID_MISS : NESTED_VPID_EVICT);
	CHECK(v != 0);
	CHECK_EQ(nested_vpid_find(&c, 0xffff), v);
	nested_vpid_release(&c);
}

static void test_lookup_uninitialised(void)
{
	struct nested_vpid_cache c = {};
	u16 v = 0xdead;

	EXPECT_WARN(CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_FALLBACK));
	CHECK_EQ(v, 0);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_exhausted_fallback_and_retry(void)
{
	enum { RES = RESERVE(VMX_NR_VPIDS) };
	struct nested_vpid_cache c = {};
	unsigned int i;
	u16 v, w;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	CHECK_EQ(hold_all(), NR_VPIDS);
	v = 0xdead;
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_FALLBACK);
	CHECK_EQ(v, 0);
	CHECK_EQ(count_tags(&c), 0);
	CHECK_EQ(nested_vpid_find(&c, 1), 0);
	CHECK_EQ(lookup(&c, 2, &v), NESTED_VPID_FALLBACK);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS);

	/* VPIDs come back, but as many as the reserve are for vCPUs only. */
	for (i = 0; i < RES; i++)
		vpid_free(held[--nr_held]);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_FALLBACK);
	CHECK_EQ(v, 0);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS - RES);

	/* One more comes back: the next lookup takes one of those freed. */
	vpid_free(held[--nr_held]);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_MISS);
	CHECK(v != 0);
	for (i = 0; i < nr_held; i++)
		CHECK(held[i] != v);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_HIT);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS - RES);
	/* Down to the reserve again: 2 evicts 1 rather than allocate. */
	CHECK_EQ(lookup(&c, 2, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v);
	nested_vpid_release(&c);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS - RES - 1);
	free_held();
}

static void test_exhausted_evicts(void)
{
	struct nested_vpid_cache c = {};
	u16 v1, v2, v3, w;

	NEED_TAGS(4);
	nested_vpid_cache_init(&c, 4, &vm);
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v2), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 3, &v3), NESTED_VPID_MISS);
	/* Plenty of VPIDs are free: the slot keeps v3 unmapped. */
	nested_vpid_invalidate(&c, 3);
	CHECK_EQ(count_tags(&c), 3);
	hold_all();
	/* An unmapped owned tag is used before any eviction. */
	CHECK_EQ(lookup(&c, 4, &w), NESTED_VPID_MISS);
	CHECK_EQ(w, v3);
	/* An empty slot remains, but the LRU mapping is evicted instead. */
	CHECK_EQ(lookup(&c, 5, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v1);
	CHECK_EQ(nested_vpid_find(&c, 1), 0);
	CHECK_EQ(lookup(&c, 1, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v2);
	CHECK_EQ(count_tags(&c), 3);

	/*
	 * VPIDs are short: a dropped mapping gives its vpid02 back, where a
	 * vCPU can take it, instead of keeping it for the next vpid12.
	 */
	CHECK_EQ(vm.nr_extra, 2);
	nested_vpid_invalidate(&c, 4);
	CHECK_EQ(vm.nr_extra, 1);
	CHECK_EQ(count_tags(&c), 2);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS - 1);
	CHECK_EQ(nested_vpid_find(&c, 5), v1);
	CHECK_EQ(nested_vpid_find(&c, 1), v2);
	CHECK_EQ(hold_n(1), 1);
	CHECK_EQ(held[nr_held - 1], v3);
	/* With nothing to reuse, 6 evicts the LRU mapping, 5. */
	CHECK_EQ(lookup(&c, 6, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v1);
	nested_vpid_release(&c);
	free_held();
	CHECK_EQ(vpid_nr_allocated(), 0);
}

/* vCPUs can take the last quarter of the space, tags cannot. */
static void test_reserve(void)
{
	enum { RES = RESERVE(VMX_NR_VPIDS) };
	struct nested_vpid_cache a = {}, b = {};
	u16 va, vb;

	nested_vpid_cache_init(&a, 1, &vm);
	nested_vpid_cache_init(&b, 1, &vm);
	/* One VPID more than the reserve is free: a tag takes it. */
	CHECK_EQ(hold_n(NR_VPIDS - RES - 1), NR_VPIDS - RES - 1);
	CHECK_EQ(lookup(&a, 1, &va), NESTED_VPID_MISS);
	CHECK(va != 0);
	/* Down to the reserve: another cache's tag falls back. */
	vb = 0xdead;
	CHECK_EQ(lookup(&b, 1, &vb), NESTED_VPID_FALLBACK);
	CHECK_EQ(vb, 0);
	CHECK_EQ(count_tags(&b), 0);
	/* vCPUs take every reserved VPID. */
	CHECK_EQ(hold_all(), RES);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS);
	CHECK_EQ(lookup(&a, 1, &vb), NESTED_VPID_HIT);
	CHECK_EQ(vb, va);
	nested_vpid_release(&a);
	nested_vpid_release(&b);
	free_held();
}

/* The reserve scales with a shrunk space: 15 VPIDs keep 3 for vCPUs. */
static void test_reserve_small_space(void)
{
	enum { SPACE = 16, RES = RESERVE(SPACE) };
	struct nested_vpid_cache c[SPACE - RES] = {};
	unsigned int i;
	u16 v;

	CHECK_EQ(vpid_set_space(SPACE), 0);
	CHECK_EQ(vpid_get_space(), SPACE);
	for (i = 0; i < SPACE - RES; i++)
		nested_vpid_cache_init(&c[i], 1, &vm);
	/* Tags take VPIDs below the limit until only the reserve is free. */
	for (i = 0; i < SPACE - 1 - RES; i++) {
		CHECK_EQ(lookup(&c[i], 1, &v), NESTED_VPID_MISS);
		CHECK(v >= 1 && v < SPACE);
	}
	CHECK_EQ(lookup(&c[i], 1, &v), NESTED_VPID_FALLBACK);
	CHECK_EQ(vpid_nr_allocated(), SPACE - 1 - RES);
	/* vCPUs take the reserve, and nothing above the limit. */
	CHECK_EQ(hold_all(), RES);
	for (i = 0; i < nr_held; i++)
		CHECK(held[i] >= 1 && held[i] < SPACE);
	CHECK_EQ(vpid_nr_allocated(), SPACE - 1);
	for (i = 0; i < SPACE - RES; i++)
		nested_vpid_release(&c[i]);
	free_held();
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * Extra tags stop at half the space free, first tags only at a quarter:
 * once one VM has taken every extra tag it can, the vCPUs of another still
 * get a tag each for their L2s.
 */
static void test_extra_tags_leave_half(void)
{
	enum {
		SPACE = SMALL_SPACE,
		RES = RESERVE(SPACE),
		RES_X = RESERVE_EXTRA(SPACE),
	};
	struct nested_vpid_cache a = {}, b[RES_X - RES + 1] = {};
	struct nested_vpid_quota vm2 = {};
	unsigned int i;
	u16 v, w;

	NEED_TAGS(3);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	nested_vpid_cache_init(&a, 3, &vm);
	CHECK(leave_free(RES_X + 2));
	CHECK_EQ(lookup(&a, 1, &v), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&a, 2, &v), NESTED_VPID_MISS);
	/* Half the space is free: no third tag, though the quota allows it. */
	CHECK_EQ(nr_free(), RES_X);
	CHECK(vm.nr_extra < QUOTA(SPACE));
	CHECK_EQ(lookup(&a, 3, &w), NESTED_VPID_EVICT);
	CHECK_EQ(count_tags(&a), 2);

	/* Another VM's caches get first tags down to the reserve, no extra. */
	for (i = 0; i < RES_X - RES; i++) {
		nested_vpid_cache_init(&b[i], 2, &vm2);
		CHECK_EQ(lookup(&b[i], 1, &v), NESTED_VPID_MISS);
		CHECK_EQ(lookup(&b[i], 2, &w), NESTED_VPID_EVICT);
		CHECK_EQ(w, v);
	}
	CHECK_EQ(nr_free(), RES);
	nested_vpid_cache_init(&b[i], 2, &vm2);
	CHECK_EQ(lookup(&b[i], 1, &v), NESTED_VPID_FALLBACK);
	CHECK_EQ(vm2.nr_extra, 0);

	nested_vpid_release(&a);
	for (i = 0; i < RES_X - RES + 1; i++)
		nested_vpid_release(&b[i]);
	free_held();
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * The caches of one VM hold at most a sixteenth of the space in extra tags
 * together, however much is free; their first tags do not count, and the
 * caches of another VM count against a quota of their own.
 */
/*
 * @n caches of the VM vm with three tags each, VPIDs 1..3 mapped: two
 * extra tags each.
 */
static void fill_extra_tags(struct nested_vpid_cache *a, unsigned int n)
{
	unsigned int i, j;
	u16 v;

	for (i = 0; i < n; i++) {
		nested_vpid_cache_init(&a[i], 3, &vm);
		for (j = 1; j <= 3; j++)
			CHECK_EQ(lookup(&a[i], j, &v), NESTED_VPID_MISS);
	}
}

static void test_quota_per_vm(void)
{
	enum { SPACE = SMALL_SPACE, NR_EXTRA = QUOTA(SPACE) };
	struct nested_vpid_cache a[NR_EXTRA / 2 + 1] = {}, d = {};
	struct nested_vpid_quota vm2 = {};
	unsigned int i, j;
	u16 v, w;

	NEED_TAGS(3);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	fill_extra_tags(a, NR_EXTRA / 2);
	i = NR_EXTRA / 2;
	CHECK_EQ(vm.nr_extra, NR_EXTRA);
	/* One more cache of the VM gets its first tag, and no extra one. */
	nested_vpid_cache_init(&a[i], 3, &vm);
	CHECK_EQ(lookup(&a[i], 1, &v), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&a[i], 2, &w), NESTED_VPID_EVICT);
	CHECK_EQ(w, v);
	CHECK(nr_free() > RESERVE_EXTRA(SPACE));

	/* A cache of another VM gets extra tags. */
	nested_vpid_cache_init(&d, 3, &vm2);
	for (j = 1; j <= 3; j++)
		CHECK_EQ(lookup(&d, j, &w), NESTED_VPID_MISS);
	CHECK_EQ(vm2.nr_extra, 2);
	CHECK_EQ(vm.nr_extra, NR_EXTRA);

	/* The extra tags of a released cache are for the VM's others. */
	nested_vpid_release(&a[0]);
	CHECK_EQ(vm.nr_extra, NR_EXTRA - 2);
	CHECK_EQ(lookup(&a[i], 3, &w), NESTED_VPID_MISS);
	CHECK(w != 0 && w != v);
	CHECK_EQ(vm.nr_extra, NR_EXTRA - 1);

	for (i = 1; i < NR_EXTRA / 2 + 1; i++)
		nested_vpid_release(&a[i]);
	nested_vpid_release(&d);
	CHECK_EQ(vm2.nr_extra, 0);
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * Down to half the space free, dropping the mapping of an extra tag gives
 * the tag back; with more than half free, the slot keeps it for reuse.
 */
static void test_reclaim_extra_tag(void)
{
	enum { SPACE = SMALL_SPACE, RES_X = RESERVE_EXTRA(SPACE) };
	struct nested_vpid_cache c = {};
	u16 v1, v2, w;

	NEED_TAGS(2);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	nested_vpid_cache_init(&c, 2, &vm);
	/* Leave two more than half the space free, for the two tags. */
	CHECK(leave_free(RES_X + 2));
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v2), NESTED_VPID_MISS);
	CHECK_EQ(vm.nr_extra, 1);

	/* Short of extra tags: v1 goes back to the space and the quota. */
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(nr_free(), RES_X + 1);
	CHECK_EQ(vm.nr_extra, 0);
	CHECK_EQ(count_tags(&c), 1);
	CHECK_EQ(nested_vpid_find(&c, 1), 0);
	CHECK_EQ(nested_vpid_find(&c, 2), v2);

	/* One more free: the slot allocates anew, and keeps its tag. */
	vpid_free(held[--nr_held]);
	CHECK_EQ(lookup(&c, 3, &w), NESTED_VPID_MISS);
	CHECK(w != 0 && w != v2);
	CHECK_EQ(nr_free(), RES_X + 1);
	nested_vpid_invalidate(&c, 3);
	CHECK_EQ(count_tags(&c), 2);
	CHECK_EQ(vm.nr_extra, 1);
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(v1, w);
	nested_vpid_release(&c);
	free_held();
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * With the VM's quota used up, dropping the mapping of an extra tag gives
 * the tag back however much is free, for another cache of the VM; below
 * the quota, the slot keeps it.  A cache's only tag stays either way.
 */
static void test_reclaim_at_quota(void)
{
	enum { SPACE = SMALL_SPACE, NR_EXTRA = QUOTA(SPACE) };
	struct nested_vpid_cache a[NR_EXTRA / 2] = {}, d = {};
	unsigned int i;
	u16 v;

	NEED_TAGS(3);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	fill_extra_tags(a, NR_EXTRA / 2);
	nested_vpid_cache_init(&d, 1, &vm);
	CHECK_EQ(lookup(&d, 1, &v), NESTED_VPID_MISS);
	CHECK_EQ(vm.nr_extra, NR_EXTRA);
	CHECK(nr_free() > RESERVE_EXTRA(SPACE));

	/* At quota: the extra tag goes back; below it, the next ones stay. */
	nested_vpid_invalidate(&a[0], 3);
	CHECK_EQ(count_tags(&a[0]), 2);
	CHECK_EQ(vm.nr_extra, NR_EXTRA - 1);
	nested_vpid_invalidate(&a[0], 2);
	nested_vpid_invalidate(&a[1], 3);
	CHECK_EQ(count_tags(&a[0]), 2);
	CHECK_EQ(count_tags(&a[1]), 3);
	CHECK_EQ(vm.nr_extra, NR_EXTRA - 1);

	/* a[0] reuses its unmapped tag, then takes the quota's last one. */
	CHECK_EQ(lookup(&a[0], 4, &v), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&a[0], 5, &v), NESTED_VPID_MISS);
	CHECK_EQ(vm.nr_extra, NR_EXTRA);
	nested_vpid_invalidate(&d, 1);
	CHECK_EQ(count_tags(&d), 1);

	for (i = 0; i < NR_EXTRA / 2; i++)
		nested_vpid_release(&a[i]);
	nested_vpid_release(&d);
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * A cache's only tag goes back only at a quarter of the space free: with
 * half of it or less free, where an extra tag would go back, it stays.
 */
static void test_reclaim_only_tag(void)
{
	enum { SPACE = SMALL_SPACE, RES = RESERVE(SPACE) };
	struct nested_vpid_cache c = {};
	u16 v, w;

	CHECK_EQ(vpid_set_space(SPACE), 0);
	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	CHECK(leave_free(RES + 2));
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_MISS);
	/* More than a quarter free, but fewer than half: it stays. */
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(count_tags(&c), 1);
	CHECK_EQ(lookup(&c, 2, &w), NESTED_VPID_MISS);
	CHECK_EQ(w, v);

	/* A quarter free: it goes back. */
	CHECK_EQ(hold_n(1), 1);
	CHECK_EQ(nr_free(), RES);
	nested_vpid_invalidate(&c, 2);
	CHECK_EQ(count_tags(&c), 0);
	CHECK_EQ(nr_free(), RES + 1);
	nested_vpid_release(&c);
	free_held();
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * Dropping every mapping gives extra tags back one slot at a time, as long
 * as extra tags are still short: the rest keep theirs.  The cache's last
 * tag goes back only when first tags are short too.
 */
static void test_reclaim_invalidate_all(void)
{
	enum {
		SPACE = SMALL_SPACE,
		RES = RESERVE(SPACE),
		RES_X = RESERVE_EXTRA(SPACE),
	};
	struct nested_vpid_cache c = {};
	unsigned int i;
	u16 v;

	NEED_TAGS(4);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	nested_vpid_cache_init(&c, 4, &vm);
	for (i = 1; i <= 4; i++)
		CHECK_EQ(lookup(&c, i, &v), NESTED_VPID_MISS);
	/* One fewer than half free: two must go to get above half. */
	CHECK(leave_free(RES_X - 1));
	nested_vpid_invalidate_all(&c);
	for (i = 1; i <= 4; i++)
		CHECK_EQ(nested_vpid_find(&c, i), 0);
	CHECK_EQ(count_tags(&c), 2);
	CHECK_EQ(vm.nr_extra, 1);
	CHECK_EQ(nr_free(), RES_X + 1);

	/* The kept tags are reused; one more extra tag can be had, no more. */
	CHECK_EQ(lookup(&c, 5, &v), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 6, &v), NESTED_VPID_MISS);
	CHECK_EQ(nr_free(), RES_X + 1);
	CHECK_EQ(lookup(&c, 7, &v), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 8, &v), NESTED_VPID_EVICT);
	CHECK_EQ(count_tags(&c), 3);

	/* One more than a quarter free: the extra tags go, the last stays. */
	CHECK(leave_free(RES + 1));
	nested_vpid_invalidate_all(&c);
	CHECK_EQ(count_tags(&c), 1);
	CHECK_EQ(vm.nr_extra, 0);
	CHECK_EQ(nr_free(), RES + 3);

	/* vCPUs take every VPID; then it goes back too, and to them. */
	CHECK_EQ(lookup(&c, 9, &v), NESTED_VPID_MISS);
	CHECK_EQ(hold_all(), RES + 3);
	nested_vpid_invalidate_all(&c);
	CHECK_EQ(count_tags(&c), 0);
	CHECK_EQ(hold_all(), 1);
	nested_vpid_release(&c);
	free_held();
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * With more than half the space free and the quota not used up, dropped
 * mappings keep their vpid02s.
 */
static void test_no_reclaim_when_not_short(void)
{
	enum { SPACE = SMALL_SPACE, RES_X = RESERVE_EXTRA(SPACE) };
	struct nested_vpid_cache c = {};
	u16 v1, v2, w;

	NEED_TAGS(2);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	nested_vpid_cache_init(&c, 2, &vm);
	/* After the two tags, one more than half the space is free. */
	CHECK(leave_free(RES_X + 3));
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v2), NESTED_VPID_MISS);
	nested_vpid_invalidate(&c, 1);
	nested_vpid_invalidate_all(&c);
	CHECK_EQ(count_tags(&c), 2);
	CHECK_EQ(nr_free(), RES_X + 1);
	/* Both are reused without allocation. */
	CHECK_EQ(lookup(&c, 3, &w), NESTED_VPID_MISS);
	CHECK(w == v1 || w == v2);
	CHECK_EQ(lookup(&c, 4, &w), NESTED_VPID_MISS);
	CHECK(w == v1 || w == v2);
	CHECK_EQ(nr_free(), RES_X + 1);
	nested_vpid_release(&c);
	free_held();
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * L1 drops mappings at will, with INVVPID or Hyper-V switches between L2s:
 * while tags are not short, that takes no lock.  When they are, each tag
 * given back takes it once.
 */
static void test_invalidate_takes_no_lock(void)
{
	struct nested_vpid_cache c = {};
	unsigned int i;
	u16 v;

	nested_vpid_cache_init(&c, NESTED_VPID_MAX_TAGS, &vm);
	for (i = 1; i <= NESTED_VPID_MAX_TAGS; i++)
		CHECK_EQ(lookup(&c, i, &v), NESTED_VPID_MISS);
	test_lock_count = 0;
	nested_vpid_invalidate(&c, 1);
	nested_vpid_invalidate_all(&c);
	CHECK_EQ(test_lock_count, 0);
	CHECK_EQ(count_tags(&c), NESTED_VPID_MAX_TAGS);

	/* Nothing free: each dropped mapping locks to give its tag back. */
	for (i = 1; i <= NESTED_VPID_MAX_TAGS; i++)
		CHECK_EQ(lookup(&c, i, &v), NESTED_VPID_MISS);
	hold_all();
	test_lock_count = 0;
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(test_lock_count, 1);
	nested_vpid_invalidate_all(&c);
	CHECK_EQ(test_lock_count, NESTED_VPID_MAX_TAGS);
	CHECK_EQ(count_tags(&c), 0);
	nested_vpid_release(&c);
	free_held();
}

/*
 * The lockless look counts the VPIDs in use above a shrunk limit as if
 * below it, so it may find tags short when they are not: the look under
 * the lock then keeps the tag.
 */
static void test_reclaim_rechecks_under_lock(void)
{
	enum { SPACE = SMALL_SPACE };
	struct nested_vpid_cache c = {};
	u16 v;
	int w;

	CHECK_EQ(hold_all(), NR_VPIDS);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	for (w = 1; w < SPACE; w++)
		CHECK(unhold(w));
	nested_vpid_cache_init(&c, 1, &vm);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_MISS);
	test_lock_count = 0;
	nested_vpid_invalidate(&c, 1);
	CHECK_EQ(test_lock_count, 1);
	CHECK_EQ(count_tags(&c), 1);
	nested_vpid_release(&c);
	free_held();
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
}

/*
 * Releasing a cache, or initialising it again, gives every extra tag it
 * holds, mapped or not, back to the VM's quota: once every cache of the VM
 * is released, the VM holds none.
 */
static void test_release_returns_extra(void)
{
	struct nested_vpid_cache a = {}, b = {};
	unsigned int i;
	u16 v;

	NEED_TAGS(3);
	nested_vpid_cache_init(&a, 3, &vm);
	nested_vpid_cache_init(&b, 3, &vm);
	for (i = 1; i <= 3; i++) {
		CHECK_EQ(lookup(&a, i, &v), NESTED_VPID_MISS);
		CHECK_EQ(lookup(&b, i, &v), NESTED_VPID_MISS);
	}
	nested_vpid_invalidate(&a, 2);
	CHECK_EQ(vm.nr_extra, 4);
	nested_vpid_cache_init(&a, 3, &vm);
	CHECK_EQ(vm.nr_extra, 2);
	nested_vpid_release(&b);
	CHECK_EQ(vm.nr_extra, 0);
	nested_vpid_release(&b);
	CHECK_EQ(vm.nr_extra, 0);

	/* The caches start over: a first tag each, then extra ones. */
	CHECK_EQ(lookup(&b, 1, &v), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&a, 1, &v), NESTED_VPID_MISS);
	CHECK_EQ(vm.nr_extra, 0);
	CHECK_EQ(lookup(&a, 2, &v), NESTED_VPID_MISS);
	CHECK_EQ(vm.nr_extra, 1);
	nested_vpid_release(&a);
	nested_vpid_release(&b);
	CHECK_EQ(vm.nr_extra, 0);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static void test_set_space_bounds(void)
{
	struct nested_vpid_cache c = {};
	u16 v;

	CHECK_EQ(vpid_get_space(), VMX_NR_VPIDS);
	CHECK_EQ(vpid_set_space(0), -EINVAL);
	CHECK_EQ(vpid_set_space(1), -EINVAL);
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS + 1), -EINVAL);
	CHECK_EQ(vpid_set_space(UINT_MAX), -EINVAL);
	CHECK_EQ(vpid_get_space(), VMX_NR_VPIDS);

	/* The smallest space has one VPID and no reserve: a tag may take it. */
	CHECK_EQ(vpid_set_space(2), 0);
	CHECK_EQ(vpid_get_space(), 2);
	nested_vpid_cache_init(&c, 1, &vm);
	CHECK_EQ(lookup(&c, 1, &v), NESTED_VPID_MISS);
	CHECK_EQ(v, 1);
	CHECK_EQ(vpid_alloc(), 0);
	nested_vpid_release(&c);
	CHECK_EQ(hold_all(), 1);
	CHECK_EQ(held[0], 1);
	free_held();
	/* An invalid value leaves a shrunk space alone too. */
	CHECK_EQ(vpid_set_space(1), -EINVAL);
	CHECK_EQ(vpid_get_space(), 2);

	/* The full space is valid, and every VPID can be had again. */
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
	CHECK_EQ(vpid_get_space(), VMX_NR_VPIDS);
	CHECK_EQ(hold_all(), NR_VPIDS);
	free_held();
}

/*
 * VPIDs in use above a lowered limit stay allocated until freed, are not
 * handed out again while the limit stands, and do not make the VPIDs free
 * below it look taken.
 */
static void test_set_space_above_limit(void)
{
	enum { SPACE = 16, FREED = 8, RES = RESERVE(SPACE) };
	struct nested_vpid_cache c[FREED - RES + 1] = {};
	unsigned int i;
	u16 v;
	int w;

	CHECK_EQ(hold_all(), NR_VPIDS);
	CHECK_EQ(vpid_set_space(SPACE), 0);
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS);
	CHECK(unhold(SPACE));
	CHECK(unhold(NR_VPIDS));
	CHECK_EQ(vpid_nr_allocated(), NR_VPIDS - 2);
	CHECK_EQ(vpid_alloc(), 0);

	/* FREED VPIDs below the limit come back: tags leave the reserve. */
	for (w = 1; w <= FREED; w++)
		CHECK(unhold(w));
	for (i = 0; i < FREED - RES + 1; i++)
		nested_vpid_cache_init(&c[i], 1, &vm);
	for (i = 0; i < FREED - RES; i++) {
		CHECK_EQ(lookup(&c[i], 1, &v), NESTED_VPID_MISS);
		CHECK(v >= 1 && v <= FREED);
	}
	CHECK_EQ(lookup(&c[FREED - RES], 1, &v), NESTED_VPID_FALLBACK);
	for (i = 0; i < RES; i++) {
		CHECK_EQ(hold_n(1), 1);
		CHECK(held[nr_held - 1] >= 1 && held[nr_held - 1] <= FREED);
	}
	CHECK_EQ(vpid_alloc(), 0);

	/*
	 * The full space again: the two freed above the old limit can be
	 * had, by vCPUs only, since two is far below the reserve.
	 */
	CHECK_EQ(vpid_set_space(VMX_NR_VPIDS), 0);
	CHECK_EQ(lookup(&c[FREED - RES], 1, &v), NESTED_VPID_FALLBACK);
	CHECK_EQ(hold_n(1), 1);
	w = held[nr_held - 1];
	CHECK(w == SPACE || w == NR_VPIDS);
	CHECK_EQ(hold_n(1), 1);
	CHECK_EQ(held[nr_held - 1], w == SPACE ? NR_VPIDS : SPACE);
	CHECK_EQ(vpid_alloc(), 0);
	for (i = 0; i < FREED - RES + 1; i++)
		nested_vpid_release(&c[i]);
	free_held();
}

static void test_one_slot_equals_upstream(void)
{
	struct nested_vpid_cache c = {};
	unsigned int i, seed = 12345;
	u32 vpid12, last = 0;
	u16 v, vpid02 = 0;
	bool flush;

	nested_vpid_cache_init(&c, 1, &vm);
	for (i = 0; i < 10000; i++) {
		seed = seed * 1103515245 + 12345;
		vpid12 = 1 + (seed >> 16) % 3;
		/* Upstream flushes exactly when vmcs12's VPID changed. */
		flush = lookup(&c, vpid12, &v) != NESTED_VPID_HIT;
		CHECK_EQ(flush, vpid12 != last);
		if (!vpid02)
			vpid02 = v;
		CHECK_EQ(v, vpid02);
		last = vpid12;
		/* Upstream's remote INVVPID forgets last_vpid. */
		if (!(seed & 0x1f000)) {
			nested_vpid_invalidate(&c, vpid12);
			last = 0;
		}
	}
	CHECK_EQ(vpid_nr_allocated(), 1);
	nested_vpid_release(&c);
}

static void test_tag_visit(void)
{
	struct nested_vpid_cache c = {};
	unsigned int i, n = 0, seen = 0;
	u16 v1, v2, v3, w;

	NEED_TAGS(3);
	nested_vpid_cache_init(&c, 3, &vm);
	CHECK_EQ(lookup(&c, 1, &v1), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 2, &v2), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&c, 3, &v3), NESTED_VPID_MISS);
	nested_vpid_invalidate(&c, 2);
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++) {
		w = nested_vpid_tag(&c, i);
		if (!w)
			continue;
		CHECK(i < 3);
		CHECK_EQ(w, c.slots[i].vpid02);
		seen |= (w == v1) << 0 | (w == v2) << 1 | (w == v3) << 2;
		n++;
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(seen, 7);
	nested_vpid_release(&c);
	n = 0;
	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		n += nested_vpid_tag(&c, i) != 0;
	CHECK_EQ(n, 0);
}

static void test_two_caches_share_space(void)
{
	struct nested_vpid_cache a = {}, b = {};
	u16 va, vb;

	nested_vpid_cache_init(&a, NESTED_VPID_MAX_TAGS, &vm);
	nested_vpid_cache_init(&b, NESTED_VPID_MAX_TAGS, &vm);
	CHECK_EQ(lookup(&a, 1, &va), NESTED_VPID_MISS);
	CHECK_EQ(lookup(&b, 1, &vb), NESTED_VPID_MISS);
	CHECK(va != vb);
	nested_vpid_release(&a);
	/* b's tag survives a's release; a's freed VPID is reused fresh. */
	CHECK_EQ(lookup(&b, 1, &vb), NESTED_VPID_HIT);
	CHECK_EQ(lookup(&a, 2, &va), NESTED_VPID_MISS);
	CHECK(va != vb);
	nested_vpid_release(&a);
	nested_vpid_release(&b);
	CHECK_EQ(vpid_nr_allocated(), 0);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
#define T(fn) { #fn, test_##fn }
	T(alloc_skips_zero),
	T(alloc_exhaust_and_retry),
	T(free_zero_ignored),
	T(double_free),
	T(free_out_of_range),
	T(free_never_allocated),
	T(init_allocates_nothing),
	T(miss_then_hit),
	T(lazy_distinct_tags),
	T(lru_order),
	T(lru_random),
	T(find_keeps_lru),
	T(invalidate),
	T(invalidate_prefers_owned_slot),
	T(invalidate_all),
	T(release),
	T(release_zeroed),
	T(reinit_frees),
	T(nr_tags_out_of_range),
	T(bad_vpid12),
	T(lookup_uninitialised),
	T(exhausted_fallback_and_retry),
	T(exhausted_evicts),
	T(reserve),
	T(reserve_small_space),
	T(extra_tags_leave_half),
	T(quota_per_vm),
	T(reclaim_extra_tag),
	T(reclaim_at_quota),
	T(reclaim_only_tag),
	T(reclaim_invalidate_all),
	T(no_reclaim_when_not_short),
	T(invalidate_takes_no_lock),
	T(reclaim_rechecks_under_lock),
	T(release_returns_extra),
	T(set_space_bounds),
	T(set_space_above_limit),
	T(one_slot_equals_upstream),
	T(tag_visit),
	T(two_caches_share_space),
#undef T
};

int main(void)
{
	unsigned int i, passed = 0, failed = 0, skipped = 0;

	printf("# NESTED_VPID_MAX_TAGS=%d\n", NESTED_VPID_MAX_TAGS);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		test_failed = 0;
		test_skipped = 0;
		test_warn_count = 0;
		tests[i].fn();
		if (test_warn_count) {
			fprintf(stderr, "%s: %u unexpected warning(s), last: %s\n",
				tests[i].name, test_warn_count,
				test_warn_last);
			test_failed = 1;
		}
		if (vm.nr_extra) {
			fprintf(stderr, "%s: left %u extra tag(s) in vm\n",
				tests[i].name, vm.nr_extra);
			test_failed = 1;
			vm.nr_extra = 0;
		}
		if (vpid_get_space() != VMX_NR_VPIDS) {
			fprintf(stderr, "%s: left the space at %u\n",
				tests[i].name, vpid_get_space());
			test_failed = 1;
			vpid_set_space(VMX_NR_VPIDS);
		}
		/* A failed test may return early: do not fail the next. */
		free_held();
		if (vpid_nr_allocated()) {
			fprintf(stderr, "%s: leaked %u VPID(s)\n",
				tests[i].name, vpid_nr_allocated());
			test_failed = 1;
		}
		printf("%s %u %s%s\n", test_failed ? "not ok" : "ok", i + 1,
		       tests[i].name, test_skipped ? " # SKIP" : "");
		if (test_failed)
			failed++;
		else if (test_skipped)
			skipped++;
		else
			passed++;
	}
	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
