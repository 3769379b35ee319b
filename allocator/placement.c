/*
 * placement.c - where inside an arena an object of n units goes: the
 * placement policies. Every candidate start is a multiple of the arena's
 * stride (max(G, A) / G units), so objects are aligned to max(G, A); with
 * fixed slots (gc) a multiple of the object's own length, the slot.
 *
 *   first-fit   the lowest free run that fits (searching from a hint below
 *               which nothing is free). Reuses the same few cells over and
 *               over under churn: the baseline for wear.
 *   next-fit    the first run that fits at or after a cursor left at the end
 *               of the previous allocation, wrapping once: spreads writes
 *               round the arena.
 *   wear-aware  next-fit under a ceiling: the first free run from the cursor
 *               whose 64-byte blocks have all been allocated fewer times than
 *               the heap's wear ceiling. The counts are the allocator's own
 *               DRAM estimate (allocations per block); it never reads the
 *               device's counters, which a real allocator could not. When no
 *               run in an arena is below the ceiling, alloc.c tries the other
 *               arenas, then takes fresh device space (up to
 *               wear_spread_percent of it), and raises the ceiling by one
 *               only when neither has room: no block is allocated for the
 *               k+1-th time while the heap may still place the request at
 *               k. It trades footprint for lifetime.
 *   lafo        chooses among arenas (alloc.c); inside one it is next-fit.
 *
 * Caller holds the arena lock.
 */
#include "heap_internal.h"

static uint32_t place_first_fit(pma_arena *a, uint32_t n, uint32_t stride)
{
    return pma_ri_find_run(&a->ri, a->alloc, n, stride, a->first_free, a->units);
}

static uint32_t place_next_fit(pma_arena *a, uint32_t n, uint32_t stride)
{
    uint32_t u = pma_ri_find_run(&a->ri, a->alloc, n, stride, a->cursor, a->units);
    if (u == PMA_BM_NONE && a->cursor > 0) {
        uint32_t to = a->cursor + n - 1 < a->units ? a->cursor + n - 1 : a->units;
        u = pma_ri_find_run(&a->ri, a->alloc, n, stride, a->first_free, to);
    }
    return u;
}

static _Thread_local uint32_t turned_down_at;   /* ceiling of the last refusal; 0: none */

void pma_wear_hot_reset(void) { turned_down_at = 0; }
uint32_t pma_wear_hot_ceiling(void) { return turned_down_at; }

static inline uint64_t block_of(const pma_heap *h, uint64_t unit)
{
    return (unit << h->g_shift) / PMA_WEAR_BLOCK;
}

/* The last block at or above the ceiling among those units [u, u + n)
 * cover, or -1 when all are below it. */
static int64_t last_hot_block(const pma_heap *h, const pma_arena *a, uint32_t u, uint32_t n, uint32_t ceiling)
{
    uint64_t b0 = block_of(h, u), b1 = block_of(h, (uint64_t)u + n - 1);
    for (uint64_t b = b1 + 1; b-- > b0;)
        if (a->wear[b] >= ceiling)
            return (int64_t)b;
    return -1;
}

/* From the cursor to the end, then from 0 to the cursor: the first free run
 * whose blocks are all below the ceiling. Past a hot block the search jumps
 * to the next cool block, so a worn stretch costs one pass over its counts. */
static uint32_t place_wear_aware(const pma_heap *h, pma_arena *a, uint32_t n, uint32_t stride)
{
    uint32_t ceiling = atomic_load_explicit(&h->wear_ceiling, memory_order_relaxed);
    if (a->hot_ceiling == ceiling && n >= a->hot_n) {
        turned_down_at = ceiling;
        return PMA_PLACE_HOT;
    }
    uint64_t blocks = block_of(h, (uint64_t)a->units - 1) + 1;
    bool hot = false;
    for (int leg = 0; leg < 2; leg++) {
        if (leg == 1 && a->cursor == 0)
            break;
        uint32_t pos = leg ? 0 : a->cursor;
        uint32_t end = leg ? (a->cursor + n - 1 < a->units ? a->cursor + n - 1 : a->units) : a->units;
        while (pos < end) {
            uint32_t u = pma_ri_find_run(&a->ri, a->alloc, n, stride, pos, end);
            if (u == PMA_BM_NONE)
                break;
            int64_t hb = last_hot_block(h, a, u, n, ceiling);
            if (hb < 0)
                return u;
            hot = true;
            uint64_t b = (uint64_t)hb + 1;
            while (b < blocks && a->wear[b] >= ceiling)
                b++;
            uint64_t next = (b * PMA_WEAR_BLOCK + h->cfg.granularity - 1) >> h->g_shift;
            if (next >= end)
                break;
            pos = (uint32_t)next;
        }
    }
    if (!hot)
        return PMA_BM_NONE;
    /* The whole arena was looked at: remember, so other threads and the next
     * requests of this size or larger do not look again at this ceiling. */
    if (a->hot_ceiling != ceiling || n < a->hot_n) {
        a->hot_ceiling = ceiling;
        a->hot_n = n;
    }
    turned_down_at = ceiling;
    return PMA_PLACE_HOT;
}

/* A freed run whose blocks are not all at the remembered ceiling may give
 * room where the arena was found to have none. */
void pma_wear_note_free(const pma_heap *h, pma_arena *a, uint32_t u, uint32_t n)
{
    if (!a->hot_ceiling)
        return;
    uint64_t b1 = block_of(h, (uint64_t)u + n - 1);
    for (uint64_t b = block_of(h, u); b <= b1; b++)
        if (a->wear[b] < a->hot_ceiling) {
            a->hot_ceiling = 0;
            return;
        }
}

bool pma_wear_keep(const pma_heap *h, pma_arena *a, uint32_t u, uint32_t n)
{
    uint32_t ceiling = atomic_load_explicit(&h->wear_ceiling, memory_order_relaxed);
    if (!a->wear || last_hot_block(h, a, u, n, ceiling) >= 0)
        return false;
    uint64_t b1 = block_of(h, (uint64_t)u + n - 1);
    for (uint64_t b = block_of(h, u); b <= b1; b++)
        a->wear[b]++;
    return true;
}

uint32_t pma_place(pma_heap *h, pma_arena *a, uint32_t n)
{
    /* Fixed slots (gc): starts at multiples of the slot, whatever the policy. */
    uint32_t stride = h->fixed_slots ? n : a->stride;
    switch (h->cfg.policy) {
    case PMA_FIRST_FIT: return place_first_fit(a, n, stride);
    case PMA_WEAR_AWARE: return place_wear_aware(h, a, n, stride);
    case PMA_NEXT_FIT:
    case PMA_LAFO:
    default: return place_next_fit(a, n, stride);
    }
}
