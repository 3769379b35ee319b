/*
 * space.c - device space that freed large arenas hold: the pool they wait
 * in, carving a new arena (large or small) out of a bigger pooled one, and
 * merging free neighbours into one when nothing is big enough.
 *
 * Arenas keep the size they were made with, and large ones are powers of
 * two, so without this a heap whose objects change size fills the device
 * with free arenas of the wrong size: a lifetime run ended "out of memory"
 * with the footprint at the device's size and little of it live. Both are
 * last resorts, taken only when the device has no room past hwm: a freed
 * arena of the right size is reused as it is (no store), and wear-aware's
 * rotation over same-size arenas is left alone until space runs out.
 *
 * Crash safety: an arena header's line 0 (magic, size, checksum) is never
 * rewritten. A large arena's size changes by one 8-byte store, its resize
 * word (layout.h), persisted before DRAM changes:
 *   carve  the new arena's header is written and persisted at the end of
 *          the pooled one, inside its data area, where no walk looks; then
 *          the pooled one's resize word shrinks it, and the new arena
 *          appears behind it. A crash before the store leaves one free
 *          arena and the new header as bytes of its (free) data area.
 *   merge  a free arena's resize word grows it over the free arena after
 *          it; that one's header becomes bytes of the merged data area.
 * A new header lands where an object's bytes were: its lines are written
 * as the arena's creation would write them anywhere.
 * Only free, pooled, healthy large arenas change size: no object is in
 * them, so gc's trace and the other protocols' object words see nothing
 * change. A heap of layout 2 (no resize words) never resizes.
 *
 * Locking: the grow lock (pool, registry, page map). An arena merged away
 * goes to h->dead, not free(): a page-map lookup made before the merge may
 * still hold it.
 */
#include "heap_internal.h"

void pma_pool_push(pma_heap *h, pma_arena *a)
{
    a->pool_next = h->pool_large;
    h->pool_large = a;
    a->pooled = true;
}

void pma_pool_unlink(pma_heap *h, pma_arena **pp)
{
    pma_arena *a = *pp;
    *pp = a->pool_next;
    a->pool_next = NULL;
    a->pooled = false;
    (void)h;
}

static void pool_remove(pma_heap *h, pma_arena *a)
{
    for (pma_arena **pp = &h->pool_large; *pp; pp = &(*pp)->pool_next)
        if (*pp == a) {
            pma_pool_unlink(h, pp);
            return;
        }
}

static void pages_to(pma_heap *h, uint64_t off, uint64_t end, pma_arena *a)
{
    for (uint64_t p = off / PMA_ARENA_ALIGN; p < end / PMA_ARENA_ALIGN; p++)
        atomic_store_explicit(&h->pagemap[p], a, memory_order_release);
}

static bool free_space(const pma_arena *a)
{
    return a && a->large && a->pooled && !a->live_large && !a->retired_large &&
           !atomic_load_explicit(&a->bad_large, memory_order_relaxed);
}

/* The smallest pooled arena at least `need` + one page big (it keeps a
 * page: an arena is never resized to nothing). */
static pma_arena *carve_source(pma_heap *h, uint64_t need)
{
    pma_arena *best = NULL;
    for (pma_arena *a = h->pool_large; a; a = a->pool_next)
        if (free_space(a) && a->size >= need + PMA_ARENA_ALIGN && (!best || a->size < best->size))
            best = a;
    return best;
}

int pma_space_carve(pma_heap *h, int cls, uint64_t need, pma_arena **out)
{
    pma_arena *src = h->can_resize ? carve_source(h, need) : NULL;
    if (!src)
        return PMA_ENOMEM;
    uint64_t off = src->off + src->size - need;
    pma_arena *a;
    int rc = pma_arena_create(h, cls, off, need, &a);
    if (rc)
        return rc;
    if ((rc = pma_arena_resize(h, src, src->size - need)) != 0) {
        pma_arena_free_dram(h, a);
        return rc;
    }
    /* The new arena inherits the region's wear estimate (wear-aware). */
    atomic_store_explicit(&a->allocs_total, atomic_load_explicit(&src->allocs_total, memory_order_relaxed),
                          memory_order_relaxed);
    a->all_next = src->all_next;
    src->all_next = a;
    if (h->last == src)
        h->last = a;
    pages_to(h, off, off + need, a);
    atomic_fetch_add_explicit(&h->creations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->carves, 1, memory_order_relaxed);
    *out = a;
    return 0;
}

/* b (free, right after a) joins a. False when the store did not land. */
static bool absorb(pma_heap *h, pma_arena *a, pma_arena *b)
{
    if (pma_arena_resize(h, a, a->size + b->size) != 0)
        return false;
    uint64_t wa = atomic_load_explicit(&a->allocs_total, memory_order_relaxed);
    uint64_t wb = atomic_load_explicit(&b->allocs_total, memory_order_relaxed);
    atomic_store_explicit(&a->allocs_total, wa > wb ? wa : wb, memory_order_relaxed);
    pool_remove(h, b);
    a->all_next = b->all_next;
    if (h->last == b)
        h->last = a;
    pages_to(h, b->off, b->off + b->size, a);
    b->in_pool = false;
    b->pool_next = h->dead;
    h->dead = b;
    atomic_fetch_add_explicit(&h->merges, 1, memory_order_relaxed);
    return true;
}

void pma_space_coalesce(pma_heap *h)
{
    if (!h->can_resize)
        return;
    for (pma_arena *a = h->first; a; a = a->all_next)
        while (free_space(a) && free_space(a->all_next) && absorb(h, a, a->all_next))
            ;
}

int pma_space_take(pma_heap *h, int cls, uint64_t need, pma_arena **out)
{
    int rc = pma_space_carve(h, cls, need, out);
    if (rc == PMA_ENOMEM) {
        pma_space_coalesce(h);
        rc = pma_space_carve(h, cls, need, out);
    }
    return rc;
}
