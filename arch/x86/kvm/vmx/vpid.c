// SPDX-License-Identifier: GPL-2.0-only
/*
 * VPID allocation and nested VPID tags.
 *
 * A VPID tags the linear and combined TLB entries that a CPU caches in VMX
 * non-root operation.  The 16-bit VPID space is global to the host: every
 * VPID that KVM hands out, to any vCPU of any VM, comes from one bitmap
 * here.  VPID 0 belongs to the host (VMX root operation) and is never
 * handed out; it also means "no VPID", so a vCPU that got none runs with
 * VPID tagging disabled and must flush on every VM-Enter and VM-Exit.
 *
 * Each vCPU takes one VPID, vpid01, for L1.  When L1 runs an L2 with VPID
 * enabled in vmcs12, the L2 must not see L1's translations nor those of
 * another L2, so KVM gives it a VPID of its own, vpid02.  The per-vCPU
 * nested tag cache maps up to nr_tags of L1's VPIDs (vpid12) onto vpid02
 * tags, so that L1 can switch between several L2s, or between L2 and
 * itself, without KVM flushing anything.
 *
 * Each slot of the cache holds an optional vpid12 -> vpid02 mapping and the
 * vpid02 the slot owns.  A slot takes its vpid02 from the global space the
 * first time it is needed, so a vCPU that never enters L2 owns none, and
 * keeps it until the cache is released.  A lookup that hits returns the
 * mapped vpid02 and needs no flush.  A lookup that misses assigns a slot:
 * an unmapped one if any, else the least recently used mapping is evicted.
 * Every assignment must be followed by a flush of the vpid02 before the
 * first VM-Enter that uses it, because the tag may still hold entries of
 * its previous user: another vpid12 of this vCPU, or, for a VPID fresh from
 * the allocator, whatever vCPU or VM owned it before.  A hit never flushes.
 *
 * vCPUs need their vpid01 more than their L2s need tags: without vpid01 a
 * vCPU flushes on every VM-Enter and VM-Exit, and so do its L2s.  So the
 * last quarter of the space is kept for vpid01s: a slot takes a vpid02
 * only while more VPIDs than that reserve are free.  While the space is
 * that short, a slot whose mapping is dropped also gives its vpid02 back
 * instead of keeping it for reuse.  When no vpid02 can be had, the lookup
 * falls back: L2 runs with vpid01, which the caller must flush on nested
 * VM-Enter and VM-Exit, as KVM does without a vpid02; a vCPU without
 * vpid01 runs L2 with VPID disabled.  A later lookup tries again.
 *
 * A mapping stays valid only as long as the TLB may hold nothing for the
 * vpid02 but what the vpid12 put there.  INVVPID by L1 drops the mapping
 * of the VPID it names (all of them for the all-context type), unless KVM
 * flushes the one address of an individual-address INVVPID in the tag
 * itself, on the pCPU that holds the tag's entries.  SMM drops every
 * mapping; VMXOFF and restoring nested state release every tag; running
 * vmcs02 on a new pCPU flushes every tag.  A dropped mapping keeps its
 * vpid02 in the slot for reuse (unless VPIDs are short, see above), and
 * the next assignment flushes it.
 *
 * For testing, the space can be shrunk at run time (vpid_set_space()), so
 * that exhaustion, the reserve and the fallbacks can be reached with a few
 * vCPUs.  VPIDs above a shrunk limit that are in use stay valid until
 * freed.
 */

#include <linux/bitmap.h>
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/vmx.h>

#include "vpid.h"

static DECLARE_BITMAP(vmx_vpid_bitmap, VMX_NR_VPIDS);
static unsigned int vmx_vpid_nr_used;
/* VPIDs below this limit can be allocated; VMX_NR_VPIDS but for tests. */
static unsigned int vmx_vpid_space = VMX_NR_VPIDS;
static DEFINE_SPINLOCK(vmx_vpid_lock);

/* Free VPIDs below the limit; vmx_vpid_lock held. */
static unsigned int vpid_nr_free(void)
{
	unsigned int used = vmx_vpid_nr_used;

	/*
	 * Below a shrunk limit only the VPIDs in use there count: those in
	 * use above it must not make the free ones below look taken.
	 */
	if (vmx_vpid_space < VMX_NR_VPIDS)
		used = bitmap_weight(vmx_vpid_bitmap, vmx_vpid_space);
	return vmx_vpid_space - 1 - used;
}

/* VPIDs that only vpid_alloc() may take, see the top of this file. */
static unsigned int vpid_nr_reserved(void)
{
	return (vmx_vpid_space - 1) / 4;
}

/* Allocate a VPID if more than @reserve are free; vmx_vpid_lock held. */
static int __vpid_alloc(unsigned int reserve)
{
	unsigned long vpid;

	if (vpid_nr_free() <= reserve)
		return 0;
	/* VPID 0 is the host's. */
	vpid = find_next_zero_bit(vmx_vpid_bitmap, vmx_vpid_space, 1);
	/* Cannot happen: vpid_nr_free() counted one. */
	if (WARN_ON_ONCE(vpid >= vmx_vpid_space))
		return 0;
	__set_bit(vpid, vmx_vpid_bitmap);
	vmx_vpid_nr_used++;
	return vpid;
}

/* Return an allocated VPID to the space; vmx_vpid_lock held. */
static void __vpid_free(int vpid)
{
	bool was_allocated = __test_and_clear_bit(vpid, vmx_vpid_bitmap);

	if (!WARN_ON_ONCE(!was_allocated))
		vmx_vpid_nr_used--;
}

/**
 * vpid_alloc - allocate a VPID from the global space
 *
 * For a vCPU's own VPID (vpid01), which may take the last free VPID.
 *
 * Return: a VPID below the limit of vpid_set_space(), 1..VMX_NR_VPIDS - 1
 * unless shrunk for testing, or 0 if the space is exhausted.
 */
int vpid_alloc(void)
{
	int vpid;

	spin_lock(&vmx_vpid_lock);
	vpid = __vpid_alloc(0);
	spin_unlock(&vmx_vpid_lock);
	return vpid;
}

/* A vpid02 for a tag, or 0 if the space is down to the reserve. */
static u16 vpid_alloc_nested(void)
{
	int vpid;

	spin_lock(&vmx_vpid_lock);
	vpid = __vpid_alloc(vpid_nr_reserved());
	spin_unlock(&vmx_vpid_lock);
	return vpid;
}

/**
 * vpid_free - return a VPID to the global space
 * @vpid: a VPID from vpid_alloc(), or 0 which is ignored
 *
 * Freeing a VPID that is out of range or not allocated is a bug; it warns
 * and changes nothing.
 */
void vpid_free(int vpid)
{
	if (!vpid)
		return;
	if (WARN_ON_ONCE(vpid < 0 || vpid >= VMX_NR_VPIDS))
		return;

	spin_lock(&vmx_vpid_lock);
	__vpid_free(vpid);
	spin_unlock(&vmx_vpid_lock);
}

/*
 * Give a tag's vpid02 back if tags cannot get one now, see the top of this
 * file.  Returns true if it was given back.
 */
static bool vpid_free_if_short(u16 vpid)
{
	bool short_of_vpids;

	spin_lock(&vmx_vpid_lock);
	short_of_vpids = vpid_nr_free() <= vpid_nr_reserved();
	if (short_of_vpids)
		__vpid_free(vpid);
	spin_unlock(&vmx_vpid_lock);
	return short_of_vpids;
}

/**
 * vpid_nr_allocated - count the allocated VPIDs
 *
 * Return: the number of VPIDs handed out by vpid_alloc() and not yet freed.
 */
unsigned int vpid_nr_allocated(void)
{
	unsigned int nr;

	spin_lock(&vmx_vpid_lock);
	nr = vmx_vpid_nr_used;
	spin_unlock(&vmx_vpid_lock);
	return nr;
}

/**
 * vpid_set_space - limit the VPIDs that can be allocated, for testing
 * @nr: VPIDs 1..@nr - 1 can be allocated; 2..VMX_NR_VPIDS
 *
 * VPIDs in use at or above the new limit stay valid until freed.
 *
 * Return: 0, or -EINVAL if @nr is out of range.
 */
int vpid_set_space(unsigned int nr)
{
	if (nr < 2 || nr > VMX_NR_VPIDS)
		return -EINVAL;

	spin_lock(&vmx_vpid_lock);
	vmx_vpid_space = nr;
	spin_unlock(&vmx_vpid_lock);
	return 0;
}

/**
 * vpid_get_space - the limit set by vpid_set_space()
 *
 * Return: one more than the highest VPID that can be allocated.
 */
unsigned int vpid_get_space(void)
{
	unsigned int nr;

	spin_lock(&vmx_vpid_lock);
	nr = vmx_vpid_space;
	spin_unlock(&vmx_vpid_lock);
	return nr;
}

static bool nested_vpid12_valid(u32 vpid12)
{
	return vpid12 && vpid12 < VMX_NR_VPIDS;
}

/* Index of the slot that maps @vpid12, or -1. */
static int nested_vpid_find_slot(const struct nested_vpid_cache *c, u32 vpid12)
{
	unsigned int i;

	for (i = 0; i < c->nr_tags; i++) {
		if (c->slots[i].vpid12 == vpid12)
			return i;
	}
	return -1;
}

/* Make @t the most recently used slot; the ranks stay a permutation. */
static void nested_vpid_touch(struct nested_vpid_cache *c,
			      struct nested_vpid_slot *t)
{
	unsigned int i;

	for (i = 0; i < c->nr_tags; i++) {
		if (c->slots[i].lru < t->lru)
			c->slots[i].lru++;
	}
	t->lru = 0;
}

/*
 * Pick the slot for a vpid12 that missed, see vpid.h for the order.  Sets
 * *res to NESTED_VPID_MISS or NESTED_VPID_EVICT and returns the slot with
 * its vpid02 allocated, or returns NULL if there is none to be had.
 */
static struct nested_vpid_slot *
nested_vpid_assign_slot(struct nested_vpid_cache *c,
			enum nested_vpid_result *res)
{
	struct nested_vpid_slot *t, *empty = NULL, *lru = NULL;
	unsigned int i;

	*res = NESTED_VPID_MISS;
	for (i = 0; i < c->nr_tags; i++) {
		t = &c->slots[i];
		if (t->vpid12) {
			if (!lru || t->lru > lru->lru)
				lru = t;
		} else if (t->vpid02) {
			return t;
		} else if (!empty) {
			empty = t;
		}
	}

	if (empty) {
		empty->vpid02 = vpid_alloc_nested();
		if (empty->vpid02)
			return empty;
	}

	*res = NESTED_VPID_EVICT;
	return lru;
}

/**
 * nested_vpid_cache_init - set up a nested VPID tag cache
 * @c: a zeroed or previously initialised cache
 * @nr_tags: number of slots, 1..NESTED_VPID_MAX_TAGS
 *
 * Allocates no VPID; slots take theirs on first use.  VPIDs that a
 * previously initialised cache still owns are freed.  An out of range
 * @nr_tags warns and is clamped.
 */
void nested_vpid_cache_init(struct nested_vpid_cache *c, unsigned int nr_tags)
{
	unsigned int i;

	nested_vpid_release(c);

	if (WARN_ON_ONCE(!nr_tags))
		nr_tags = 1;
	if (WARN_ON_ONCE(nr_tags > NESTED_VPID_MAX_TAGS))
		nr_tags = NESTED_VPID_MAX_TAGS;

	for (i = 0; i < NESTED_VPID_MAX_TAGS; i++)
		c->slots[i] = (struct nested_vpid_slot){ .lru = i };
	c->nr_tags = nr_tags;
}

/**
 * nested_vpid_lookup - get the vpid02 to run an L2 with
 * @c: the vCPU's cache
 * @vpid12: the VPID in vmcs12, 1..VMX_NR_VPIDS - 1
 * @vpid02: receives the VPID to put in vmcs02, 0 on NESTED_VPID_FALLBACK
 *
 * Makes the mapping of @vpid12 the most recently used one, assigning a slot
 * to it first if it has none.
 *
 * Return: NESTED_VPID_HIT if @vpid12 was mapped, and *@vpid02 needs no flush;
 * NESTED_VPID_MISS or NESTED_VPID_EVICT if it was assigned a free slot or
 * the least recently used one, and *@vpid02 must be flushed before use;
 * NESTED_VPID_FALLBACK if no VPID could be had, or on a caller bug (invalid
 * @vpid12, uninitialised cache), and vpid01 must be used and flushed.
 */
enum nested_vpid_result nested_vpid_lookup(struct nested_vpid_cache *c,
					   u32 vpid12, u16 *vpid02)
{
	enum nested_vpid_result res = NESTED_VPID_HIT;
	struct nested_vpid_slot *t;
	int i;

	*vpid02 = 0;
	if (WARN_ON_ONCE(!c->nr_tags || !nested_vpid12_valid(vpid12)))
		return NESTED_VPID_FALLBACK;

	i = nested_vpid_find_slot(c, vpid12);
	if (i >= 0) {
		t = &c->slots[i];
	} else {
		t = nested_vpid_assign_slot(c, &res);
		if (!t)
			return NESTED_VPID_FALLBACK;
		t->vpid12 = vpid12;
	}

	nested_vpid_touch(c, t);
	*vpid02 = t->vpid02;
	return res;
}

/**
 * nested_vpid_find - get the vpid02 mapped to a vpid12
 * @c: the vCPU's cache
 * @vpid12: L1's VPID, 1..VMX_NR_VPIDS - 1
 *
 * Leaves the LRU order alone.
 *
 * Return: the vpid02 that @vpid12 is mapped to, or 0 if it is not mapped.
 */
u16 nested_vpid_find(const struct nested_vpid_cache *c, u32 vpid12)
{
	int i;

	if (WARN_ON_ONCE(!nested_vpid12_valid(vpid12)))
		return 0;

	i = nested_vpid_find_slot(c, vpid12);
	return i >= 0 ? c->slots[i].vpid02 : 0;
}

/*
 * Drop a slot's mapping.  The slot keeps its vpid02 for the next vpid12,
 * unless VPIDs are short: then the vpid02 goes back to the global space,
 * where a vCPU without any VPID, or an L2 without a tag, can use it.
 */
static void nested_vpid_unmap(struct nested_vpid_slot *t)
{
	t->vpid12 = 0;
	if (vpid_free_if_short(t->vpid02))
		t->vpid02 = 0;
}

/**
 * nested_vpid_invalidate - drop the mapping of a vpid12
 * @c: the vCPU's cache
 * @vpid12: L1's VPID, 1..VMX_NR_VPIDS - 1
 *
 * The slot keeps its vpid02 for reuse, unless VPIDs are short; the next
 * lookup of @vpid12 misses and so flushes.
 */
void nested_vpid_invalidate(struct nested_vpid_cache *c, u32 vpid12)
{
	int i;

	if (WARN_ON_ONCE(!nested_vpid12_valid(vpid12)))
		return;

	i = nested_vpid_find_slot(c, vpid12);
	if (i >= 0)
		nested_vpid_unmap(&c->slots[i]);
}

/**
 * nested_vpid_invalidate_all - drop every mapping
 * @c: the vCPU's cache
 *
 * The slots keep their vpid02s for reuse, unless VPIDs are short.
 */
void nested_vpid_invalidate_all(struct nested_vpid_cache *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_tags; i++) {
		if (c->slots[i].vpid12)
			nested_vpid_unmap(&c->slots[i]);
	}
}

/**
 * nested_vpid_release - free every vpid02 the cache owns
 * @c: the vCPU's cache, initialised or zeroed
 *
 * Drops every mapping and returns every vpid02 to the global space.  The
 * slot count is kept, so the cache can be used again and its slots then
 * allocate anew.  Releasing a released or zeroed cache does nothing.
 */
void nested_vpid_release(struct nested_vpid_cache *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_tags; i++) {
		vpid_free(c->slots[i].vpid02);
		c->slots[i].vpid02 = 0;
		c->slots[i].vpid12 = 0;
	}
}
