/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-vCPU nested VPID statistics that nested_vpid_test checks and
 * nested_vpid_bench reports, and the count of VPIDs in use that the tests
 * check for leaks.
 */
#ifndef SELFTEST_KVM_NESTED_VPID_H
#define SELFTEST_KVM_NESTED_VPID_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "kvm_util.h"

struct vpid_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t flushes;
	uint64_t evictions;
	uint64_t fallbacks;
};

/* In the order of struct vpid_stats, which is read as an array of them. */
static const char * const vpid_stat_names[] = {
	"nested_vpid_hits", "nested_vpid_misses", "nested_vpid_flushes",
	"nested_vpid_evictions", "nested_vpid_fallbacks",
};

#define NR_VPID_STATS	ARRAY_SIZE(vpid_stat_names)

static inline void read_vpid_stats(struct kvm_vcpu *vcpu, struct vpid_stats *s)
{
	uint64_t *v = (uint64_t *)s;
	int i;

	for (i = 0; i < NR_VPID_STATS; i++)
		v[i] = vcpu_get_stat(vcpu, vpid_stat_names[i]);
}

/* @d = @after - @before, stat by stat. */
static inline void vpid_stats_sub(struct vpid_stats *d,
				  const struct vpid_stats *after,
				  const struct vpid_stats *before)
{
	const uint64_t *a = (const uint64_t *)after;
	const uint64_t *b = (const uint64_t *)before;
	uint64_t *v = (uint64_t *)d;
	int i;

	for (i = 0; i < NR_VPID_STATS; i++)
		v[i] = a[i] - b[i];
}

/*
 * The VPIDs allocated in the whole host (debugfs kvm/vmx_vpids_allocated);
 * false if the file cannot be read.
 */
static inline bool read_vpids_allocated(uint64_t *val)
{
	char buf[32];
	ssize_t r;
	int fd;

	fd = open("/sys/kernel/debug/kvm/vmx_vpids_allocated", O_RDONLY);
	if (fd < 0)
		return false;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return false;
	buf[r] = 0;
	*val = strtoull(buf, NULL, 10);
	return true;
}

#endif /* SELFTEST_KVM_NESTED_VPID_H */
