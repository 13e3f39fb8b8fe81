/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space stand-in for WARN_ON() and WARN_ON_ONCE().  Every warning that
 * fires is recorded through test_warn() (tests/kstub.c), so that a test can
 * assert that a caller bug warned and fail on a warning it did not expect.
 * WARN_ON_ONCE() records every time it fires: "once" would make the result
 * of a test depend on the tests that ran before it.
 */
#ifndef _TEST_LINUX_BUG_H
#define _TEST_LINUX_BUG_H

#include <linux/types.h>

void test_warn(const char *file, int line, const char *cond);

#define WARN_ON(cond) ({						\
	bool __warn_cond = !!(cond);					\
	if (__warn_cond)						\
		test_warn(__FILE__, __LINE__, #cond);			\
	__warn_cond;							\
})

#define WARN_ON_ONCE(cond) WARN_ON(cond)

#endif
