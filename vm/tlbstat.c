// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlbstat: what the emulated CPU's TLBs did since reset (patches/bochs/
 * 0004), summed over the online CPUs, as one record:
 *
 *   TLB walks_root=N walks_guest=N inv_no_vpid=N inv_current=N
 *       inv_invvpid=N inv_invept=N inv_evict=N inv_resume=N inv_all=N
 *
 * (one line), with "TLB label=LABEL" first if given one. walks_* count the
 * page walks that filled a TLB entry, in VMX root operation (L0) and in
 * VMX non-root operation (L1 and L2); inv_* the invalidations by cause, as
 * the enum in the patch's tlb.h says. The counters are MSRs 0x400000f0
 * and on, read through /dev/cpu/N/msr (the msr module).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MSR_TLB_STAT	0x400000f0

static const char *const names[] = {
	"walks_root", "walks_guest", "inv_no_vpid", "inv_current",
	"inv_invvpid", "inv_invept", "inv_evict", "inv_resume", "inv_all",
};
#define NR_STATS	(sizeof(names) / sizeof(names[0]))

int main(int argc, char **argv)
{
	uint64_t sum[NR_STATS] = { 0 }, val;
	char path[64];
	unsigned int i;
	int cpu, fd;

	for (cpu = 0; ; cpu++) {
		snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpu);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			break;
		for (i = 0; i < NR_STATS; i++) {
			if (pread(fd, &val, sizeof(val), MSR_TLB_STAT + i) !=
			    sizeof(val)) {
				fprintf(stderr, "tlbstat: %s: MSR %#x unreadable: not the emulated CPU's TLB model?\n",
					path, MSR_TLB_STAT + i);
				return 1;
			}
			sum[i] += val;
		}
		close(fd);
	}
	if (!cpu) {
		fprintf(stderr, "tlbstat: no /dev/cpu/0/msr (the msr module)\n");
		return 1;
	}
	printf("TLB");
	if (argc > 1)
		printf(" label=%s", argv[1]);
	for (i = 0; i < NR_STATS; i++)
		printf(" %s=%llu", names[i], (unsigned long long)sum[i]);
	printf("\n");
	return 0;
}
