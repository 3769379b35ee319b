/*
 * bitmap.h - operations on DRAM bitmaps (arrays of 64-bit words, bit i in
 * word i/64 at position i%64): set and clear ranges, find the next zero or one
 * bit, find a run of zeros at an aligned start. Word-at-a-time throughout: a
 * 1 MiB arena at G = 1 has a million bits, and the search is on the hot path.
 *
 * Also the interleaved layout's mapping from a logical bit to its place in
 * the persistent bitmap: consecutive logical bits go to consecutive lines of a
 * stripe of S 64-byte lines, so successive updates land in different lines.
 *
 * Pure functions on caller-owned memory: no locking, callers synchronize.
 */
#ifndef PMARENA_ALLOCATOR_BITMAP_H
#define PMARENA_ALLOCATOR_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#define PMA_BM_NONE UINT32_MAX
#define PMA_BITS_PER_LINE 512u

static inline bool pma_bm_get(const uint64_t *w, uint32_t i)
{
    return (w[i >> 6] >> (i & 63)) & 1;
}

void pma_bm_set_range_slow(uint64_t *w, uint32_t i, uint32_t n);
void pma_bm_clear_range_slow(uint64_t *w, uint32_t i, uint32_t n);

/* Most objects' bits sit in one word: one mask, no loop. */
static inline void pma_bm_set_range(uint64_t *w, uint32_t i, uint32_t n)
{
    if ((i & 63) + n <= 64 && n)
        w[i >> 6] |= (n == 64 ? ~0ull : ((1ull << n) - 1)) << (i & 63);
    else
        pma_bm_set_range_slow(w, i, n);
}

static inline void pma_bm_clear_range(uint64_t *w, uint32_t i, uint32_t n)
{
    if ((i & 63) + n <= 64 && n)
        w[i >> 6] &= ~((n == 64 ? ~0ull : ((1ull << n) - 1)) << (i & 63));
    else
        pma_bm_clear_range_slow(w, i, n);
}
/* First zero (one) bit in [from, to), or `to` if none. */
uint32_t pma_bm_next_zero(const uint64_t *w, uint32_t from, uint32_t to);
uint32_t pma_bm_next_one(const uint64_t *w, uint32_t from, uint32_t to);
/* Start of the first run of n zero bits in [from, to) that begins at a
 * multiple of stride (a power of two), or PMA_BM_NONE. */
uint32_t pma_bm_find_run(const uint64_t *w, uint32_t n, uint32_t stride, uint32_t from, uint32_t to);
uint32_t pma_bm_count_ones(const uint64_t *w, uint32_t from, uint32_t to);
/* First i in [from, to) with start[i] set or alloc[i] clear (where an
 * object that began before `from` ends), or `to`: one pass over both. */
uint32_t pma_bm_next_boundary(const uint64_t *start, const uint64_t *alloc, uint32_t from, uint32_t to);

/* Interleaved layout: physical bit of logical bit i with a stripe of s lines. */
static inline uint32_t pma_bm_interleave(uint32_t i, uint32_t s)
{
    uint32_t group = PMA_BITS_PER_LINE * s;
    uint32_t g = i / group, r = i % group;
    return g * group + (r % s) * PMA_BITS_PER_LINE + r / s;
}

#endif
