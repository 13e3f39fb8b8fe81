// SPDX-License-Identifier: GPL-2.0-only
/*
 * Print what an L1 hypervisor is told about VPID by kvm_intel: the
 * "enable VPID" secondary control and INVVPID with its types, read from
 * the VMX capability MSRs that KVM reports as feature MSRs.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define MSR_IA32_VMX_PROCBASED_CTLS2	0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP	0x48c
#define SECONDARY_EXEC_ENABLE_VPID	(1ull << 5)
#define VPID_CAP_INVVPID		(1ull << 32)

static uint64_t feature_msr(int kvm, uint32_t index)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs = { .hdr.nmsrs = 1, .entry.index = index };

	if (ioctl(kvm, KVM_GET_MSRS, &msrs) != 1) {
		fprintf(stderr, "vmx_caps: MSR %#x not readable (nested=0?)\n",
			index);
		exit(1);
	}
	return msrs.entry.data;
}

int main(void)
{
	static const char * const types[] = {
		"individual-address", "single-context", "all-context",
		"single-context-retaining-globals",
	};
	const char *sep = ", types: ";
	uint64_t ctls2, cap;
	int kvm, i;

	kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0) {
		perror("vmx_caps: /dev/kvm");
		return 1;
	}
	ctls2 = feature_msr(kvm, MSR_IA32_VMX_PROCBASED_CTLS2);
	cap = feature_msr(kvm, MSR_IA32_VMX_EPT_VPID_CAP);

	printf("L1 may enable VPID: %s\n",
	       (ctls2 >> 32) & SECONDARY_EXEC_ENABLE_VPID ? "yes" : "no");
	printf("L1 may use INVVPID: %s", cap & VPID_CAP_INVVPID ? "yes" : "no");
	for (i = 0; i < 4; i++) {
		if (cap & (1ull << (40 + i))) {
			printf("%s%s", sep, types[i]);
			sep = ", ";
		}
	}
	printf("\n");
	return 0;
}
