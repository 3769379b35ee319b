/*
 * space.c - device space that freed large arenas hold: the pool they wait
 * in, carving a new arena (large or small) out of a bigger pooled one, and
 * merging free neighbours into one when nothing is big enough.
 *
 * Arenas keep the size they were made with, and large ones come in few
 * sizes (alloc.c), so without this a heap whose objects change size fills the device
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
 *
 * A freed large arena with a failed line is not retired whole: the good
 * tail past its last failed line is carved off as a free arena, the page
 * of that line as a retired arena of its own, and so on down to the
 * arena's first page, so a worn line costs a page or two, not the arena
 * (a 512 KiB arena for one line, before).
 * Only free large arenas change size (pooled healthy ones, or a worn one
 * being retired): no object is in them, so gc's trace and the other
 * protocols' object words see nothing change. A heap of layout 2 (no
 * resize words) never resizes.
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
    a->in_pool = true;
}

void pma_pool_back(pma_heap *h, pma_arena *a)
{
    if (atomic_load(&a->bad_large))
        pma_space_retire_bad(h, a);         /* failed lines: their pages never pooled again */
    else {
        pma_pool_push(h, a);
        pma_zone_give_back(h, a);           /* the zone's top: back to the gap */
    }
}

void pma_pool_unlink(pma_heap *h, pma_arena **pp)
{
    pma_arena *a = *pp;
    *pp = a->pool_next;
    a->pool_next = NULL;
    a->pooled = false;
    (void)h;
}

bool pma_pool_remove(pma_heap *h, pma_arena *a)
{
    for (pma_arena **pp = &h->pool_large; *pp; pp = &(*pp)->pool_next)
        if (*pp == a) {
            pma_pool_unlink(h, pp);
            return true;
        }
    return false;
}

static void pages_to(pma_heap *h, uint64_t off, uint64_t end, pma_arena *a)
{
    for (uint64_t p = off / PMA_ARENA_ALIGN; p < end / PMA_ARENA_ALIGN; p++)
        atomic_store_explicit(&h->pagemap[p], a, memory_order_release);
}

bool pma_space_is_free(const pma_arena *a)
{
    return a && a->large && a->pooled && !a->live_large && !a->retired_large &&
           !atomic_load_explicit(&a->bad_large, memory_order_relaxed);
}

/* Free space this file may carve or merge: not zone.c's gap, which only
 * zone.c carves (under its bounds). */
static bool takeable(const pma_heap *h, const pma_arena *a)
{
    return pma_space_is_free(a) && a != h->gap;
}

/* The smallest pooled arena at least `need` + one page big (it keeps a
 * page: an arena is never resized to nothing). */
static pma_arena *carve_source(pma_heap *h, uint64_t need)
{
    pma_arena *best = NULL;
    for (pma_arena *a = h->pool_large; a; a = a->pool_next)
        if (takeable(h, a) && a->size >= need + PMA_ARENA_ALIGN && (!best || a->size < best->size))
            best = a;
    return best;
}

/* A new arena for class cls at [off, src's end), carved from src (free or
 * being retired), registered after it. */
int pma_space_carve_at(pma_heap *h, pma_arena *src, int cls, uint64_t off, pma_arena **out)
{
    uint64_t end = src->off + src->size, need = end - off;
    pma_arena *a;
    int rc = pma_arena_create(h, cls, off, need, &a);
    if (rc)
        return rc;
    if ((rc = pma_arena_resize(h, src, off - src->off)) != 0) {
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
    pages_to(h, off, end, a);
    atomic_fetch_add_explicit(&h->creations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->carves, 1, memory_order_relaxed);
    *out = a;
    return 0;
}

int pma_space_carve(pma_heap *h, int cls, uint64_t need, pma_arena **out)
{
    pma_arena *src = h->can_resize ? carve_source(h, need) : NULL;
    if (!src)
        return PMA_ENOMEM;
    return pma_space_carve_at(h, src, cls, src->off + src->size - need, out);
}

/* ---- retiring a worn large arena ------------------------------------------- */

/* The last failed line of [from, to), or UINT64_MAX. */
static uint64_t last_failed(pma_heap *h, uint64_t from, uint64_t to)
{
    for (uint64_t l = to; l > from;) {
        l -= PMA_LINE;
        if (pma_badmap_line_failed(h, l))
            return l;
    }
    return UINT64_MAX;
}

static bool header_fits(pma_heap *h, uint64_t off)
{
    return last_failed(h, off, off + sizeof(pma_arena_header)) == UINT64_MAX;
}

void pma_space_retire_bad(pma_heap *h, pma_arena *a)
{
    while (h->can_resize) {
        uint64_t end = a->off + a->size, last = last_failed(h, a->data, end);
        if (last == UINT64_MAX) {
            /* Nothing failed is left in it: free space again. */
            atomic_store(&a->bad_large, false);
            pma_pool_push(h, a);
            return;
        }
        /* The good tail past the last failed line (no failed line there,
         * its header's included) becomes a free arena of its own. */
        uint64_t t = (last + PMA_LINE + PMA_ARENA_ALIGN - 1) / PMA_ARENA_ALIGN * PMA_ARENA_ALIGN;
        pma_arena *g;
        if (end - t >= PMA_ARENA_ALIGN && pma_space_carve_at(h, a, PMA_CLASS_LARGE, t, &g) == 0)
            pma_pool_push(h, g);
        end = a->off + a->size;
        /* The failed line's page (and the one before it when the line is
         * where a header would go) is retired as an arena of its own. */
        uint64_t r = last / PMA_ARENA_ALIGN * PMA_ARENA_ALIGN;
        if (!header_fits(h, r))
            r -= PMA_ARENA_ALIGN;
        pma_arena *bad;
        if (r < a->off + PMA_ARENA_ALIGN || !header_fits(h, r) ||
            pma_space_carve_at(h, a, PMA_CLASS_LARGE, r, &bad) != 0)
            break;
        atomic_store(&bad->bad_large, true);
        pma_badmap_retire_large(h, bad);
    }
    pma_badmap_retire_large(h, a);
}

/* b (free, right after a) joins a. False when the store did not land. */
bool pma_space_absorb(pma_heap *h, pma_arena *a, pma_arena *b)
{
    if (pma_arena_resize(h, a, a->size + b->size) != 0)
        return false;
    uint64_t wa = atomic_load_explicit(&a->allocs_total, memory_order_relaxed);
    uint64_t wb = atomic_load_explicit(&b->allocs_total, memory_order_relaxed);
    atomic_store_explicit(&a->allocs_total, wa > wb ? wa : wb, memory_order_relaxed);
    pma_pool_remove(h, b);
    if (h->gap == b)
        h->gap = a;                         /* zone.c: the gap is the merged arena now */
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

/* Merges the shortest-total run of adjacent free arenas that holds at
 * least `want` bytes (only that run: the pool keeps its other sizes for
 * exact reuse, and each merge is a store to the run's first header).
 * Returns the merged arena, or NULL when no run is big enough. */
static pma_arena *coalesce_for(pma_heap *h, uint64_t want)
{
    pma_arena *best = NULL;
    uint64_t best_total = UINT64_MAX;
    for (pma_arena *a = h->first; a;) {
        if (!takeable(h, a)) {
            a = a->all_next;
            continue;
        }
        /* the run from a: its shortest prefix of at least want bytes */
        uint64_t total = 0;
        pma_arena *b = a;
        for (; b && takeable(h, b) && total < want; b = b->all_next)
            total += b->size;
        if (total >= want && total < best_total) {
            best = a;
            best_total = total;
        }
        a = a->all_next;
    }
    if (!best)
        return NULL;
    while (best->size < want && takeable(h, best->all_next) && pma_space_absorb(h, best, best->all_next))
        ;
    return best->size >= want ? best : NULL;
}

int pma_space_take(pma_heap *h, int cls, uint64_t need, pma_arena **out)
{
    if (!h->can_resize)
        return PMA_ENOMEM;
    int rc = pma_space_carve(h, cls, need, out);
    if (rc != PMA_ENOMEM)
        return rc;
    /* A large object may take a merged run of exactly its size as it is. */
    pma_arena *m = cls == PMA_CLASS_LARGE ? coalesce_for(h, need) : NULL;
    if (m && m->size == need && pma_pool_remove(h, m)) {
        *out = m;
        return 0;
    }
    if (!m || m->size < need + PMA_ARENA_ALIGN)
        m = coalesce_for(h, need + PMA_ARENA_ALIGN);
    return m ? pma_space_carve_at(h, m, cls, m->off + m->size - need, out) : PMA_ENOMEM;
}
