/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space stand-in: the one constant vpid.c needs from asm/vmx.h. */
#ifndef _TEST_ASM_VMX_H
#define _TEST_ASM_VMX_H

#define VMX_NR_VPIDS	(1 << 16)

#endif
