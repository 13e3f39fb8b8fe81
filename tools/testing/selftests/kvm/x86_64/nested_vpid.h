/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the nested VPID tests and benchmark share: the per-vCPU nested VPID
 * statistics that nested_vpid_test checks and nested_vpid_bench reports,
 * the count of VPIDs in use that the tests check for leaks, L1's VPID in
 * vmcs12, EPT12 tables for L2, and running L1 up to a stage.
 */
#ifndef SELFTEST_KVM_NESTED_VPID_H
#define SELFTEST_KVM_NESTED_VPID_H

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "vmx.h"

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

/* L1: run L2 with VPID @vpid in the current vmcs12, 0 disables VPID. */
static inline void l1_vmcs12_set_vpid(uint16_t vpid)
{
	uint64_t ctls = vmreadz(SECONDARY_VM_EXEC_CONTROL);

	if (vpid) {
		GUEST_ASSERT(!vmwrite(VIRTUAL_PROCESSOR_ID, vpid));
		ctls |= SECONDARY_EXEC_ENABLE_VPID;
	} else {
		ctls &= ~SECONDARY_EXEC_ENABLE_VPID;
	}
	GUEST_ASSERT(!vmwrite(SECONDARY_VM_EXEC_CONTROL, ctls));
}

/*
 * An EPT12 table for L2 in @p (prepare_eptp()) that identity-maps L1's
 * memory: below 4 GiB with 1 GiB pages when L1's EPT has them, else memslot
 * 0 page by page (call it after L1's memory is allocated).
 */
static inline void prepare_identity_ept12(struct vmx_pages *p,
					  struct kvm_vm *vm)
{
	prepare_eptp(p, vm, 0);
	if (kvm_get_feature_msr(MSR_IA32_VMX_EPT_VPID_CAP) &
	    VMX_EPT_VPID_CAP_1G_PAGES)
		nested_identity_map_1g(p, vm, 0, 1ull << 32);
	else
		nested_map_memslot(p, vm, 0);
}

/* Run @vcpu up to its next GUEST_SYNC, which must be of @stage. */
static inline void run_to_stage(struct kvm_vcpu *vcpu, uint64_t stage,
				struct ucall *uc)
{
	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

	switch (get_ucall(vcpu, uc)) {
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(*uc);
		/* NOT REACHED */
	case UCALL_SYNC:
		TEST_ASSERT(uc->args[1] == stage,
			    "Expected stage %lu, got %lu", stage, uc->args[1]);
		break;
	default:
		TEST_FAIL("Unexpected ucall %lu", uc->cmd);
	}
}

#endif /* SELFTEST_KVM_NESTED_VPID_H */
