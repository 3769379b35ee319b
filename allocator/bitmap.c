/*
 * bitmap.c - word-at-a-time bitmap primitives for the allocator's DRAM
 * mirrors (see bitmap.h).
 */
#include "bitmap.h"

static inline uint64_t mask_from(uint32_t bit) { return ~0ull << (bit & 63); }

/* Bits [lo, lo+take) of a word (take from 1 to 64). */
static inline uint64_t word_mask(uint32_t lo, uint32_t take)
{
    return (take == 64 ? ~0ull : ((1ull << take) - 1)) << lo;
}

/* Sets or clears bits [i, i+n), a word at a time. */
static void change_range(uint64_t *w, uint32_t i, uint32_t n, bool set)
{
    uint32_t end = i + n;
    while (i < end) {
        uint32_t lo = i & 63, take = 64 - lo < end - i ? 64 - lo : end - i;
        if (set)
            w[i >> 6] |= word_mask(lo, take);
        else
            w[i >> 6] &= ~word_mask(lo, take);
        i += take;
    }
}

void pma_bm_set_range_slow(uint64_t *w, uint32_t i, uint32_t n) { change_range(w, i, n, true); }
void pma_bm_clear_range_slow(uint64_t *w, uint32_t i, uint32_t n) { change_range(w, i, n, false); }

static uint32_t next_bit(const uint64_t *w, uint32_t from, uint32_t to, uint64_t flip)
{
    if (from >= to)
        return to;
    uint32_t wi = from >> 6, last = (to - 1) >> 6;
    uint64_t v = (w[wi] ^ flip) & mask_from(from);
    for (;;) {
        if (v) {
            uint32_t i = (wi << 6) + (uint32_t)__builtin_ctzll(v);
            return i < to ? i : to;
        }
        if (++wi > last)
            return to;
        v = w[wi] ^ flip;
    }
}

uint32_t pma_bm_next_zero(const uint64_t *w, uint32_t from, uint32_t to)
{
    return next_bit(w, from, to, ~0ull);
}

uint32_t pma_bm_next_one(const uint64_t *w, uint32_t from, uint32_t to)
{
    return next_bit(w, from, to, 0);
}

uint32_t pma_bm_find_run(const uint64_t *w, uint32_t n, uint32_t stride, uint32_t from, uint32_t to)
{
    uint32_t pos = (from + stride - 1) & ~(stride - 1);
    while (pos < to && n <= to - pos) {
        uint32_t z = pma_bm_next_zero(w, pos, to);
        if (z == to)
            return PMA_BM_NONE;
        pos = (z + stride - 1) & ~(stride - 1);
        if (pos >= to || n > to - pos)
            return PMA_BM_NONE;
        uint32_t o = pma_bm_next_one(w, pos, pos + n);
        if (o == pos + n)
            return pos;
        pos = o + 1;
        pos = (pos + stride - 1) & ~(stride - 1);
    }
    return PMA_BM_NONE;
}

uint32_t pma_bm_next_boundary(const uint64_t *start, const uint64_t *alloc, uint32_t from, uint32_t to)
{
    if (from >= to)
        return to;
    uint32_t wi = from >> 6, last = (to - 1) >> 6;
    uint64_t v = (start[wi] | ~alloc[wi]) & mask_from(from);
    for (;;) {
        if (v) {
            uint32_t i = (wi << 6) + (uint32_t)__builtin_ctzll(v);
            return i < to ? i : to;
        }
        if (++wi > last)
            return to;
        v = start[wi] | ~alloc[wi];
    }
}

uint32_t pma_bm_count_ones(const uint64_t *w, uint32_t from, uint32_t to)
{
    uint32_t n = 0;
    while (from < to) {
        uint32_t lo = from & 63, take = 64 - lo < to - from ? 64 - lo : to - from;
        n += (uint32_t)__builtin_popcountll(w[from >> 6] & word_mask(lo, take));
        from += take;
    }
    return n;
}
