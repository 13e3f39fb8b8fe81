// SPDX-License-Identifier: GPL-2.0-only
/*
 * Records the warnings that the WARN_ON() stand-in fires, and counts the
 * locks that the spin_lock() stand-in takes.
 */
#include <stdio.h>

#include "kstub.h"

unsigned int test_warn_count;
char test_warn_last[256];
unsigned int test_lock_count;

void test_warn(const char *file, int line, const char *cond)
{
	test_warn_count++;
	snprintf(test_warn_last, sizeof(test_warn_last), "%s:%d: %s",
		 file, line, cond);
}
