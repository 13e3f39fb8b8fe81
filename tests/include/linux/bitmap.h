/* SPDX-License-Identifier: GPL-2.0-only */
/* User-space stand-in for the kernel bitmap operations that vpid.c uses. */
#ifndef _TEST_LINUX_BITMAP_H
#define _TEST_LINUX_BITMAP_H

#include <limits.h>
#include <linux/types.h>

#define BITS_PER_LONG		(CHAR_BIT * sizeof(unsigned long))
#define BITS_TO_LONGS(nr)	(((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]

#define __BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define __BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))

static inline bool test_bit(unsigned long nr, const unsigned long *addr)
{
	return addr[__BIT_WORD(nr)] & __BIT_MASK(nr);
}

static inline void __set_bit(unsigned long nr, unsigned long *addr)
{
	addr[__BIT_WORD(nr)] |= __BIT_MASK(nr);
}

static inline void __clear_bit(unsigned long nr, unsigned long *addr)
{
	addr[__BIT_WORD(nr)] &= ~__BIT_MASK(nr);
}

static inline bool __test_and_clear_bit(unsigned long nr, unsigned long *addr)
{
	bool old = test_bit(nr, addr);

	__clear_bit(nr, addr);
	return old;
}

/* Index of the first zero bit at or after @offset, or @size if none. */
static inline unsigned long find_next_zero_bit(const unsigned long *addr,
					       unsigned long size,
					       unsigned long offset)
{
	unsigned long word;

	while (offset < size) {
		word = ~addr[__BIT_WORD(offset)] & (~0UL << (offset % BITS_PER_LONG));
		if (word) {
			offset = __BIT_WORD(offset) * BITS_PER_LONG +
				 __builtin_ctzl(word);
			return offset < size ? offset : size;
		}
		offset = (__BIT_WORD(offset) + 1) * BITS_PER_LONG;
	}
	return size;
}

/* Number of bits set among the first @nbits. */
static inline unsigned int bitmap_weight(const unsigned long *src,
					 unsigned int nbits)
{
	unsigned int i, w = 0;

	for (i = 0; i < nbits / BITS_PER_LONG; i++)
		w += __builtin_popcountl(src[i]);
	if (nbits % BITS_PER_LONG)
		w += __builtin_popcountl(src[i] &
					 ~(~0UL << (nbits % BITS_PER_LONG)));
	return w;
}

static inline unsigned long find_first_zero_bit(const unsigned long *addr,
						unsigned long size)
{
	return find_next_zero_bit(addr, size, 0);
}

#endif
