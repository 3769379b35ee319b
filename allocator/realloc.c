/*
 * realloc.c - pma_realloc: a live object's new size, in place when its block
 * still holds it, else a new object with the old contents copied.
 *
 * In place: the block (a small object's units, a large object's padded
 * size) already holds the new size. The block stays as it is (a shrink
 * keeps the whole block; what it frees is the object's slack); only the
 * requested size changes, in DRAM for a small object (its length and start
 * are what the protocols store, and they do not change) and in the object
 * word for a large one under intent and log (open must find the size the
 * program has). Under wear-aware the block must also pass the test placement
 * puts a new object to: every 64-byte block of it allocated fewer times than
 * the heap's ceiling (a large arena: its allocation count); an in-place
 * realloc then counts as one more allocation there. A block at or above the
 * ceiling moves, even when the new size fits, to spread the writes the
 * program makes to the resized object.
 *
 * Moving: pma_get_mem, the kept bytes copied through the device (a data
 * write, nv_write), then pma_return_mem of the old object. The kept bytes
 * are min(old requested, new size): what the program asked for, not the
 * padding (after a reopen a small object's requested size is not known and
 * its whole block counts).
 *
 * Under wear-aware a large object at the top of the large-object zone
 * (zone.c) grows in place over the free gap above it.
 */
#include "tcache.h"

#define PMA_REALLOC_TRIES 8         /* blocks tried when copies meet failed cells */

static uint64_t round_q(const pma_heap *h, uint64_t x)
{
    return ((x + h->q - 1) >> h->q_shift) << h->q_shift;
}

/* wear-aware: a large object that no longer fits, in the arena at the
 * zone's top, grows into the gap above it (zone.c) rather than moving: a
 * move needs the old and the new arena at once, and a realloc chain that
 * grows to 2 MB made the zone, and the room kept for it, twice its size.
 * The wear ceiling does not send it away: growing writes no byte of the
 * object, where a move copies all of it to fresh cells. */
static bool grow_in_zone(pma_heap *h, pma_arena *a, uint64_t size)
{
    uint64_t need = pma_large_arena_bytes(h, round_q(h, size));
    pthread_mutex_lock(&h->grow);          /* grow, then arena: as pma_stats */
    pma_spin_lock(&a->lock);
    bool ok = a->live_large && round_q(h, size) > a->allocated && need > a->size &&
              pma_zone_extend(h, a, need) == 0;
    pma_spin_unlock(&a->lock);
    pthread_mutex_unlock(&h->grow);
    return ok;
}

/* 1: resized in place; 0: must move (*keep: the old object's requested
 * bytes); or an error (not a live object, a device refusal). */
static int large_in_place(pma_heap *h, pma_arena *a, uint64_t size, uint64_t *keep)
{
    pma_tcache *tc = pma_tc_get(h);
    if (!tc)
        return PMA_ENOMEM;
    int rc = pma_op_begin(h, tc);
    if (rc)
        return rc;
    bool grown = pma_zone_on(h) && grow_in_zone(h, a, size);
    pma_spin_lock(&a->lock);
    uint64_t old_req = a->requested, old_alloc = a->allocated;
    uint32_t ceiling = atomic_load_explicit(&h->wear_ceiling, memory_order_relaxed);
    if (!a->live_large) {
        rc = PMA_EDOUBLE;
    } else if (grown) {
        rc = pma_arena_large_resize(h, tc, a, size);
        if (rc == 0) {
            pma_count(&tc->ct.requested, size - old_req);
            pma_count(&tc->ct.allocated, a->allocated - old_alloc);
            pma_count(&tc->ct.held, a->allocated - old_alloc);
            rc = 1;
        }
    } else if (round_q(h, size) > a->allocated ||
               (h->cfg.policy == PMA_WEAR_AWARE &&
                atomic_load_explicit(&a->allocs_total, memory_order_relaxed) >= ceiling)) {
        *keep = old_req;
        rc = 0;
    } else {
        rc = pma_arena_large_resize(h, tc, a, size);
        if (rc == 0) {
            if (h->cfg.policy == PMA_WEAR_AWARE)
                pma_arena_count_alloc(a);
            pma_count(&tc->ct.requested, size - old_req);
            pma_count(&tc->ct.allocated, a->allocated - old_alloc);
            pma_count(&tc->ct.held, a->allocated - old_alloc);
            rc = 1;
        }
    }
    pma_spin_unlock(&a->lock);
    pma_op_end(h, tc);
    return rc;
}

static int small_in_place(pma_heap *h, pma_arena *a, uint32_t u, uint64_t size, uint64_t *keep)
{
    pma_slot *sl = &a->slot[u >> a->stride_shift];
    if (!pma_slot_live(sl)) {          /* as pma_return_mem tells them apart */
        pma_spin_lock(&a->lock);
        uint32_t gen = atomic_load_explicit(&sl->gen, memory_order_relaxed);
        bool interior = !pma_bm_get(a->start, u) && pma_bm_get(a->alloc, u);
        pma_spin_unlock(&a->lock);
        return !interior && gen != 0 && !(gen & 1) ? PMA_EDOUBLE : PMA_EINVAL;
    }
    uint32_t n = pma_slot_n(sl);
    uint64_t bytes = (uint64_t)n << h->g_shift, old_req = bytes - sl->slack;
    bool fits = round_q(h, size) <= bytes;
    if (fits && h->cfg.policy == PMA_WEAR_AWARE) {
        pma_spin_lock(&a->lock);
        fits = pma_wear_keep(h, a, u, n);
        pma_spin_unlock(&a->lock);
    }
    if (!fits) {
        *keep = old_req;
        return 0;
    }
    pma_tcache *tc = pma_tc_get(h);
    if (!tc)
        return PMA_ENOMEM;
    sl->slack = (uint16_t)(bytes - size);
    pma_count(&tc->ct.requested, size - old_req);
    return 1;
}

void *pma_realloc(pma_heap *h, void *ptr, size_t size)
{
    if (!ptr)
        return pma_get_mem(h, size);
    if (!h || size == 0) {
        pma_set_error(PMA_EINVAL);
        return NULL;
    }
    pma_arena *a;
    uint32_t u;
    uint64_t keep = 0;
    int rc = pma_locate(h, ptr, &a, &u);
    if (rc == 0)
        rc = a->large ? large_in_place(h, a, size, &keep) : small_in_place(h, a, u, size, &keep);
    if (rc < 0) {
        pma_set_error(rc);
        return NULL;
    }
    if (rc == 1)
        return ptr;
    if (keep > size)
        keep = size;
    /* A copy that meets a failed cell did not take: that block goes back
     * (the bad-block map retires its failed part) and another is tried. */
    unsigned char *p = NULL;
    for (int tries = 0; tries < PMA_REALLOC_TRIES; tries++) {
        if (!(p = pma_get_mem(h, size)))
            return NULL;                   /* pma_get_mem said why; the old object is untouched */
        int wr = keep ? nv_write(h->dev, pma_offset(h, p), ptr, keep, NV_DATA) : 0;
        if (wr == 0)
            break;
        pma_return_mem(h, p);
        p = NULL;
        if (wr != NV_EWORN)
            break;
    }
    if (!p)
        rc = PMA_EDEVICE;
    if (rc == 0)
        rc = pma_return_mem(h, ptr);
    if (rc) {
        /* Undo the move: the old object stays the caller's, as it was. */
        if (p)
            pma_return_mem(h, p);
        pma_set_error(rc);
        return NULL;
    }
    return p;
}
