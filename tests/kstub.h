/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef _TEST_KSTUB_H
#define _TEST_KSTUB_H

#include <linux/bug.h>
#include <linux/spinlock.h>	/* test_lock_count */

/* Number of warnings fired so far; tests reset and compare it. */
extern unsigned int test_warn_count;
/* Where the last warning fired, and its condition. */
extern char test_warn_last[256];

#endif
