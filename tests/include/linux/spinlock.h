/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space stand-in for spinlocks: single-threaded, but it aborts on a
 * recursive lock or an unlock of a lock that is not held.  It counts the
 * acquisitions, so that a test can check that a fast path takes no lock.
 */
#ifndef _TEST_LINUX_SPINLOCK_H
#define _TEST_LINUX_SPINLOCK_H

#include <stdlib.h>

/* Locks taken so far, any lock; tests reset and compare it (kstub.c). */
extern unsigned int test_lock_count;

typedef struct {
	int locked;
} spinlock_t;

#define DEFINE_SPINLOCK(x) spinlock_t x = { 0 }

static inline void spin_lock(spinlock_t *lock)
{
	if (lock->locked)
		abort();
	lock->locked = 1;
	test_lock_count++;
}

static inline void spin_unlock(spinlock_t *lock)
{
	if (!lock->locked)
		abort();
	lock->locked = 0;
}

#endif
