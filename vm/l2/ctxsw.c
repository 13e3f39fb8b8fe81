// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctxsw: context-switch latency, measured the way lmbench's lat_ctx does
 * (written from its description, not its code).
 *
 * N processes, all on one CPU, form a ring of pipes: process i reads a
 * token from pipe i, touches its working set of S KiB (reads every word of
 * it), and writes the token to pipe (i + 1) % N.  One round is N hops, so
 * N context switches.  The ring's time also holds what the switches do not
 * cost: the pipe reads and writes and the working set touches.  They are
 * measured apart, by one process that passes the token to itself through
 * one pipe and touches one working set per hop, and subtracted:
 *
 *   per switch = (ring time - overhead time) / (N * rounds)
 *
 * The token checks the ring as it goes: every hop adds the sum of the
 * words of its working set, which each process filled with a pattern of
 * its own, and counts itself.  Process 0 checks, after each round, that
 * the token came back from N hops with the sum of all N working sets;
 * any other count or sum fails the run.  Two faults show that the check
 * catches a wrong ring: -x P makes process P pass the token on without
 * touching its working set, -j P makes process P (1..N - 2) pass it to
 * process P + 2, past P + 1.
 *
 * usage: ctxsw [-n PROCS] [-s KIB] [-r ROUNDS] [-x SKIPPER] [-j JUMPER]
 * Prints one line, "CTXSW n=N size_kb=S rounds=R ring_ns=.. overhead_ns=..
 * per_switch_ns=..", and exits 0; exits 1, with a message, if the ring
 * was wrong or a system call failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS	64

struct token {
	uint64_t round;
	uint64_t hops;		/* processes that passed it this round */
	uint64_t sum;		/* of their working sets' words */
};

static int nprocs = 2, rounds = 1000, skipper = -1, jumper = -1;
static size_t ws_words;

static void die(const char *what)
{
	fprintf(stderr, "ctxsw: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Every process's working set: word j of process i holds i * 2^32 + j. */
static uint64_t *ws_alloc(int i)
{
	uint64_t *ws = calloc(ws_words ? ws_words : 1, sizeof(*ws));
	size_t j;

	if (!ws)
		die("calloc");
	for (j = 0; j < ws_words; j++)
		ws[j] = ((uint64_t)i << 32) + j;
	return ws;
}

/* What touching process i's working set adds to the token. */
static uint64_t ws_expected(int i)
{
	uint64_t n = ws_words;

	return n * ((uint64_t)i << 32) + n * (n - 1) / 2;
}

static uint64_t ws_touch(const volatile uint64_t *ws)
{
	uint64_t sum = 0;
	size_t j;

	for (j = 0; j < ws_words; j++)
		sum += ws[j];
	return sum;
}

static void xread(int fd, struct token *t)
{
	if (read(fd, t, sizeof(*t)) != sizeof(*t))
		die("read");
}

static void xwrite(int fd, const struct token *t)
{
	if (write(fd, t, sizeof(*t)) != sizeof(*t))
		die("write");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* All processes on the CPU the first one runs on: every hop switches. */
static void pin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* Process i > 0 of the ring: forever read, touch, pass on. */
static void ring_member(int i, int in, int out)
{
	uint64_t *ws = ws_alloc(i);
	struct token t;

	for (;;) {
		xread(in, &t);
		if (i != skipper)
			t.sum += ws_touch(ws);
		t.hops++;
		xwrite(out, &t);
	}
}

/* The ring's time for all rounds, checked; process 0 runs it. */
static uint64_t ring(void)
{
	int fds[MAX_PROCS][2], i, r, status;
	pid_t pids[MAX_PROCS];
	uint64_t *ws, expect = 0, start = 0, end;
	struct token t = { 0 };

	for (i = 0; i < nprocs; i++) {
		if (pipe(fds[i]))
			die("pipe");
		expect += ws_expected(i);
	}
	for (i = 1; i < nprocs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i])
			ring_member(i, fds[i][0],
				    fds[(i + (i == jumper ? 2 : 1)) % nprocs][1]);
	}
	ws = ws_alloc(0);

	/* One round unmeasured, so that every process has run once. */
	for (r = -1; r < rounds; r++) {
		if (r == 0)
			start = now_ns();
		t.round = r;
		t.hops = 1;
		t.sum = skipper == 0 ? 0 : ws_touch(ws);
		xwrite(fds[1 % nprocs][1], &t);
		xread(fds[0][0], &t);
		if (t.round != (uint64_t)r || t.hops != (uint64_t)nprocs ||
		    t.sum != expect) {
			fprintf(stderr,
				"ctxsw: round %d: token of round %ld, %lu hops, sum %#lx; expected %d hops, sum %#lx\n",
				r, (long)t.round, (unsigned long)t.hops,
				(unsigned long)t.sum, nprocs,
				(unsigned long)expect);
			for (i = 1; i < nprocs; i++)
				kill(pids[i], SIGKILL);
			exit(1);
		}
	}
	end = now_ns();

	for (i = 1; i < nprocs; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], &status, 0);
	}
	free(ws);
	return end - start;
}

/* One process, one pipe: what N * rounds hops cost without switching. */
static uint64_t overhead(void)
{
	uint64_t *ws = ws_alloc(0), start, end, sum = 0;
	struct token t = { 0 };
	int fds[2];
	long h;

	if (pipe(fds))
		die("pipe");
	start = now_ns();
	for (h = 0; h < (long)nprocs * rounds; h++) {
		xwrite(fds[1], &t);
		xread(fds[0], &t);
		sum += ws_touch(ws);
	}
	end = now_ns();
	/* Keep the touches: the sum must be used. */
	if (sum != (uint64_t)nprocs * rounds * ws_expected(0))
		die("overhead: working set changed");
	free(ws);
	close(fds[0]);
	close(fds[1]);
	return end - start;
}

int main(int argc, char **argv)
{
	uint64_t ring_ns, over_ns;
	long size_kb = 0;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:r:x:j:")) != -1) {
		switch (opt) {
		case 'n':
			nprocs = atoi(optarg);
			break;
		case 's':
			size_kb = atol(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'x':
			skipper = atoi(optarg);
			break;
		case 'j':
			jumper = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n PROCS] [-s KIB] [-r ROUNDS] [-x SKIPPER] [-j JUMPER]\n",
				argv[0]);
			return 2;
		}
	}
	if (nprocs < 2 || nprocs > MAX_PROCS || size_kb < 0 || rounds < 1 ||
	    skipper >= nprocs || jumper == 0 || jumper > nprocs - 2) {
		fprintf(stderr, "ctxsw: -n 2..%d, -s >= 0, -r >= 1, -x < -n, -j 1..n-2\n",
			MAX_PROCS);
		return 2;
	}
	ws_words = size_kb * 1024 / sizeof(uint64_t);

	pin();
	ring_ns = ring();
	over_ns = overhead();
	printf("CTXSW n=%d size_kb=%ld rounds=%d ring_ns=%lu overhead_ns=%lu per_switch_ns=%ld\n",
	       nprocs, size_kb, rounds, (unsigned long)ring_ns,
	       (unsigned long)over_ns,
	       ((long)ring_ns - (long)over_ns) / ((long)nprocs * rounds));
	return 0;
}
