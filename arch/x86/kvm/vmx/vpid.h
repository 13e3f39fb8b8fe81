/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __KVM_X86_VMX_VPID_H
#define __KVM_X86_VMX_VPID_H

#include <linux/types.h>

/*
 * Global VPID space and per-vCPU nested VPID tags, see the comment at the
 * top of vpid.c.
 *
 * Lookup on a miss takes, in this order: the first unmapped slot that
 * already owns a vpid02 (no global allocation), the first slot that owns
 * none (its vpid02 is allocated now), the least recently used mapping
 * (evicted).  When the global space is down to the VPIDs kept for vpid01s,
 * the LRU mapping is evicted even though empty slots remain: reusing a tag
 * this vCPU already owns beats falling back to vpid01.  Only a cache
 * without any mapping and without a spare vpid02 falls back.
 *
 * The cache takes no lock: each vCPU owns its cache and uses it from vCPU
 * context only.
 */

#define NESTED_VPID_MAX_TAGS	CONFIG_KVM_INTEL_NESTED_VPID_TAGS

struct nested_vpid_slot {
	u16 vpid12;	/* L1's VPID this slot maps, 0 if unmapped */
	u16 vpid02;	/* VPID owned by this slot, 0 if none allocated */
	u8 lru;		/* recency rank among slots, 0 = most recently used */
};

struct nested_vpid_cache {
	struct nested_vpid_slot slots[NESTED_VPID_MAX_TAGS];
	u8 nr_tags;	/* slots in use, 0 if not initialised */
};

/* The kvm_nested_vpid_enter tracepoint prints these values by name. */
enum nested_vpid_result {
	NESTED_VPID_HIT = 0,	/* mapped: use *vpid02, no flush */
	NESTED_VPID_MISS = 1,	/* assigned a free slot: flush *vpid02 first */
	NESTED_VPID_EVICT = 2,	/* assigned the LRU slot: flush *vpid02 first */
	NESTED_VPID_FALLBACK = 3, /* *vpid02 = 0: use vpid01 and flush it */
};

int vpid_alloc(void);
void vpid_free(int vpid);
unsigned int vpid_nr_allocated(void);
int vpid_set_space(unsigned int nr);
unsigned int vpid_get_space(void);

void nested_vpid_cache_init(struct nested_vpid_cache *c, unsigned int nr_tags);
enum nested_vpid_result nested_vpid_lookup(struct nested_vpid_cache *c,
					   u32 vpid12, u16 *vpid02);
u16 nested_vpid_find(const struct nested_vpid_cache *c, u32 vpid12);
void nested_vpid_invalidate(struct nested_vpid_cache *c, u32 vpid12);
void nested_vpid_invalidate_all(struct nested_vpid_cache *c);
void nested_vpid_release(struct nested_vpid_cache *c);

/**
 * nested_vpid_tag - get the vpid02 a slot owns, mapped or not
 * @c: the cache
 * @i: slot index; visit every tag with i from 0 to NESTED_VPID_MAX_TAGS - 1
 *
 * Return: the slot's vpid02, or 0 if it owns none or is not in use.
 */
static inline u16 nested_vpid_tag(const struct nested_vpid_cache *c,
				  unsigned int i)
{
	return i < c->nr_tags ? c->slots[i].vpid02 : 0;
}

#endif /* __KVM_X86_VMX_VPID_H */
