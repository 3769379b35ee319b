/*
 * placement.c - where inside an arena an object of n units goes: the
 * placement policies. Every candidate start is a multiple of the arena's
 * stride (max(G, A) / G units), so objects are aligned to max(G, A).
 *
 *   first-fit   the lowest free run that fits (searching from a hint below
 *               which nothing is free). Reuses the same few cells over and
 *               over under churn: the baseline for wear.
 *   next-fit    the first run that fits at or after a cursor left at the end
 *               of the previous allocation, wrapping once: spreads writes
 *               round the arena.
 *   wear-aware  from the cursor, up to PMA_WEAR_CANDIDATES free runs that fit;
 *               takes the one whose most-allocated 64-byte block has been
 *               allocated least. The counts are the allocator's own DRAM
 *               estimate (allocations per block); it never reads the device's
 *               counters, which a real allocator could not.
 *   lafo        chooses among arenas (alloc.c); inside one it is next-fit.
 *
 * Caller holds the arena lock.
 */
#include "heap_internal.h"

static uint32_t place_first_fit(pma_arena *a, uint32_t n)
{
    return pma_bm_find_run(a->alloc, n, a->stride, a->first_free, a->units);
}

static uint32_t place_next_fit(pma_arena *a, uint32_t n)
{
    uint32_t u = pma_bm_find_run(a->alloc, n, a->stride, a->cursor, a->units);
    if (u == PMA_BM_NONE && a->cursor > 0) {
        uint32_t to = a->cursor + n - 1 < a->units ? a->cursor + n - 1 : a->units;
        u = pma_bm_find_run(a->alloc, n, a->stride, a->first_free, to);
    }
    return u;
}

/* Highest allocation count among the wear blocks a run at u would cover. */
static uint32_t wear_score(const pma_heap *h, const pma_arena *a, uint32_t u, uint32_t n)
{
    uint64_t b0 = (uint64_t)u * h->cfg.granularity / PMA_WEAR_BLOCK;
    uint64_t b1 = ((uint64_t)(u + n) * h->cfg.granularity - 1) / PMA_WEAR_BLOCK;
    uint32_t worst = 0;
    for (uint64_t b = b0; b <= b1; b++)
        if (a->wear[b] > worst)
            worst = a->wear[b];
    return worst;
}

static uint32_t place_wear_aware(const pma_heap *h, pma_arena *a, uint32_t n)
{
    uint32_t best = PMA_BM_NONE, best_score = UINT32_MAX;
    uint32_t pos = a->cursor, seen = 0;
    bool wrapped = false;
    while (seen < PMA_WEAR_CANDIDATES) {
        uint32_t u = pma_bm_find_run(a->alloc, n, a->stride, pos, a->units);
        if (u == PMA_BM_NONE) {
            if (wrapped || a->cursor == 0)
                break;
            wrapped = true;
            pos = 0;
            continue;
        }
        if (wrapped && u >= a->cursor)
            break;
        seen++;
        uint32_t s = wear_score(h, a, u, n);
        if (s < best_score) {
            best = u;
            best_score = s;
            if (s == 0)
                break;
        }
        /* Next candidate: past this free run (a run is one candidate). */
        pos = pma_bm_next_one(a->alloc, u, a->units);
        if (pos >= a->units) {
            if (wrapped || a->cursor == 0)
                break;
            wrapped = true;
            pos = 0;
        }
    }
    return best;
}

uint32_t pma_place(pma_heap *h, pma_arena *a, uint32_t n)
{
    switch (h->cfg.policy) {
    case PMA_FIRST_FIT: return place_first_fit(a, n);
    case PMA_WEAR_AWARE: return place_wear_aware(h, a, n);
    case PMA_NEXT_FIT:
    case PMA_LAFO:
    default: return place_next_fit(a, n);
    }
}
