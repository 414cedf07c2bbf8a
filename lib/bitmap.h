/* Bitmaps of 64-bit words: bit i is bit i%64 of word i/64. */
#ifndef AROM_LIB_BITMAP_H
#define AROM_LIB_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#define BITMAP_WORDS(n) (((n) + 63) / 64)

static inline bool bitmap_test(const uint64_t *b, uint64_t i)
{
    return b[i / 64] >> (i % 64) & 1;
}

static inline void bitmap_set(uint64_t *b, uint64_t i, bool on)
{
    if (on)
        b[i / 64] |= 1ull << (i % 64);
    else
        b[i / 64] &= ~(1ull << (i % 64));
}

#endif
