// SPDX-License-Identifier: GPL-2.0-only
/* Records the warnings that the WARN_ON() stand-in fires. */
#include <stdio.h>

#include "kstub.h"

unsigned int test_warn_count;
char test_warn_last[256];

void test_warn(const char *file, int line, const char *cond)
{
	test_warn_count++;
	snprintf(test_warn_last, sizeof(test_warn_last), "%s:%d: %s",
		 file, line, cond);
}
