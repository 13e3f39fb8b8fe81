// SPDX-License-Identifier: GPL-2.0-only
/*
 * nested_vpid_l2_pingpong
 *
 * The workload of a real L1 hypervisor, run inside it.  Run in an L1
 * Linux whose own KVM gives each of its guests a VPID and runs them with
 * EPT, on an L0 that runs nested guests, the guests of this program are
 * L2 guests.  It creates K VMs of V vCPUs each and runs all the vCPUs
 * round-robin on the calling thread, so that L1's KVM switches VMCS
 * (VMPTRLD), VPID and, between VMs, EPT pointer on one CPU, N round trips
 * in all, as it does for the vCPUs of several VMs on one pCPU.  Each vCPU
 * checks that every word of its own P pages holds what it wrote there
 * last, adds one to each, and exits to this program (GUEST_SYNC); the
 * program then checks that each vCPU's pages hold exactly what that vCPU
 * wrote, so that no guest ever sees another's data or a stale value, in
 * any order of switches.
 *
 * Output: kselftest TAP, one case, and a line
 * "PINGPONG k=K v=V n=N p=P ms=MS" with the time of the round trips as
 * this program measures it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "kvm_util.h"
#include "processor.h"

#define MAX_VCPUS	64
#define DATA_SLOT	1
#define DATA_GPA	0x40000000ull
#define DATA_GVA	0x40000000ull

static uint64_t nr_pages = 4;

/* What every word of vCPU @id's pages holds after @round rounds. */
static uint64_t expected(uint64_t id, uint64_t round)
{
	return (id << 32) | round;
}

/* vCPU @id of all, vCPU @index of its VM. */
static void guest_code(uint64_t id, uint64_t index)
{
	uint64_t *words = (uint64_t *)(DATA_GVA + index * nr_pages * PAGE_SIZE);
	uint64_t round, i;

	for (round = 1;; round++) {
		for (i = 0; i < nr_pages * PAGE_SIZE / 8; i++) {
			GUEST_ASSERT_EQ(READ_ONCE(words[i]),
					expected(id, round - 1));
			WRITE_ONCE(words[i], expected(id, round));
		}
		GUEST_SYNC(round);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1000000.0;
}

/* One round trip of a guest: it runs round @round and exits. */
static void run_round(struct kvm_vcpu *vcpu, uint64_t round)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		/* NOT REACHED */
	case UCALL_SYNC:
		TEST_ASSERT(uc.args[1] == round,
			    "guest ran round %lu, expected %lu",
			    uc.args[1], round);
		break;
	default:
		TEST_FAIL("Unexpected ucall %lu", uc.cmd);
	}
}

static uint64_t *vcpu_words(struct kvm_vm *vm, uint64_t index)
{
	return addr_gpa2hva(vm, DATA_GPA + index * nr_pages * PAGE_SIZE);
}

static void fill_pages(struct kvm_vm *vm, uint64_t index, uint64_t id,
		       uint64_t round)
{
	uint64_t *words = vcpu_words(vm, index), i;

	for (i = 0; i < nr_pages * PAGE_SIZE / 8; i++)
		words[i] = expected(id, round);
}

static void check_pages(struct kvm_vm *vm, uint64_t index, uint64_t id,
			uint64_t round)
{
	uint64_t *words = vcpu_words(vm, index), i;

	for (i = 0; i < nr_pages * PAGE_SIZE / 8; i++)
		TEST_ASSERT(words[i] == expected(id, round),
			    "vCPU %lu word %lu: 0x%lx, expected 0x%lx", id, i,
			    words[i], expected(id, round));
}

static void help(const char *name)
{
	printf("usage: %s [-k VMS] [-v VCPUS] [-n ROUND_TRIPS] [-p PAGES]\n"
	       "  -k  VMs (default 4)\n"
	       "  -v  vCPUs per VM (default 1), VMS * VCPUS <= %d\n"
	       "  -n  round trips in all, at least VMS * VCPUS (default 1000)\n"
	       "  -p  pages each vCPU writes per round trip (default 4)\n",
	       name, MAX_VCPUS);
}

int main(int argc, char *argv[])
{
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	struct kvm_vm *vms[MAX_VCPUS];
	uint64_t k = 4, v = 1, n = 1000, rounds, i, j;
	double t0, ms;
	int opt;

	while ((opt = getopt(argc, argv, "k:v:n:p:h")) != -1) {
		switch (opt) {
		case 'k':
			k = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			v = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			nr_pages = strtoull(optarg, NULL, 0);
			break;
		default:
			help(argv[0]);
			exit(opt == 'h' ? KSFT_PASS : KSFT_FAIL);
		}
	}
	TEST_ASSERT(k >= 1 && v >= 1 && k * v <= MAX_VCPUS && n >= k * v &&
		    nr_pages >= 1,
		    "want VMS * VCPUS <= %d, ROUND_TRIPS >= VMS * VCPUS, PAGES >= 1",
		    MAX_VCPUS);

	ksft_print_header();
	ksft_set_plan(1);

	/* vCPU i is vCPU i % v of VM i / v; vms[i] is its VM. */
	for (i = 0; i < k * v; i += v) {
		vms[i] = vm_create_with_vcpus(v, guest_code, &vcpus[i]);
		vm_userspace_mem_region_add(vms[i], VM_MEM_SRC_ANONYMOUS,
					    DATA_GPA, DATA_SLOT, v * nr_pages, 0);
		virt_map(vms[i], DATA_GVA, DATA_GPA, v * nr_pages);
		sync_global_to_guest(vms[i], nr_pages);
		for (j = 0; j < v; j++) {
			vms[i + j] = vms[i];
			vcpu_args_set(vcpus[i + j], 2, i + j, j);
			fill_pages(vms[i], j, i + j, 0);
		}
	}

	rounds = n / (k * v);
	t0 = now_ms();
	for (i = 0; i < rounds * k * v; i++)
		run_round(vcpus[i % (k * v)], i / (k * v) + 1);
	ms = now_ms() - t0;

	for (i = 0; i < k * v; i++)
		check_pages(vms[i], i % v, i, rounds);
	for (i = 0; i < k * v; i += v)
		kvm_vm_free(vms[i]);
	printf("PINGPONG k=%lu v=%lu n=%lu p=%lu ms=%.1f\n", k, v,
	       rounds * k * v, nr_pages, ms);
	ksft_test_result_pass("%lu VMs x %lu vCPUs, %lu round trips: own pages intact\n",
			      k, v, rounds * k * v);
	ksft_finished();
}
