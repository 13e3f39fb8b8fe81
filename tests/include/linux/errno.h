/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space stand-in for the kernel's errno values.  The C library's
 * <errno.h> includes <linux/errno.h> too, so this must give it every
 * value, as the UAPI header it shadows does.
 */
#ifndef _TEST_LINUX_ERRNO_H
#define _TEST_LINUX_ERRNO_H

#include <asm/errno.h>

#endif
