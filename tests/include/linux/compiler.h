/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space stand-in for READ_ONCE() and WRITE_ONCE(): one volatile access
 * each, as the kernel's are for the scalar types vpid.c uses them on.
 */
#ifndef _TEST_LINUX_COMPILER_H
#define _TEST_LINUX_COMPILER_H

#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val) do {						\
	*(volatile __typeof__(x) *)&(x) = (val);			\
} while (0)

#endif
