/*
 * zone.c - where wear-aware puts its arenas on the device: large objects
 * in a zone at the bottom, every other arena carved down from the top, and
 * one free arena, the gap, between them.
 *
 * Why: arenas stacked at hwm in the order they are made put the large
 * arenas grown for room (a realloc chain up to 2 MB) between the small
 * ones, so growth for heat had to stop at a fixed share of the device (50%)
 * to leave large objects a run: on the sqlite3 lifetime run the other half
 * took a quarter of the first half's wear, and wear-aware lasted 3.6x
 * first-fit. With the large objects kept to one side, small arenas may
 * spread over all but the zone and its room to grow (README: wear-out).
 *
 * Layout: when the heap first grows, the device past hwm becomes one free
 * large arena, the gap, and hwm moves to the device's end. Every later
 * arena is carved from the gap with space.c's carve (a header written in
 * the gap's data area, then one resize word): an arena of PMA_ZONE_MIN
 * bytes or more from the gap's front (the gap's tail becomes the new gap,
 * the old one, shrunk, is the arena), any other from its end. A free arena
 * right below the gap is merged into it (the same resize word), so the zone
 * gives back what it no longer uses. Nothing here is new on the device: a
 * heap so laid out opens, validates and recovers as any heap whose arenas
 * were carved and merged, under any policy; after an open the gap is the
 * biggest free arena.
 *
 * Growth for heat (every run where a request fits is at the wear ceiling)
 * stops at the higher of two bounds:
 *   - a share of the device counted from its end (the heap's header
 *     included), widening from wear_spread_percent at ceiling 1 to the
 *     whole device at ceiling wear_spread_full_at: early on a fresh block
 *     is never far, and the zone learns its size (a realloc chain peaks at
 *     the end of the trace's first pass) before the small arenas spread;
 *   - the zone's top plus 1.1 times the most the zone ever spanned: room
 *     for the large objects, from their own history rather than a share
 *     (a smaller factor, or the room counted from the zone's bottom, ended
 *     lifetime runs when a 2 MB realloc found no room).
 * The zone grows for heat only inside the most it ever spanned. Growth for
 * need (nothing free fits) takes over an empty arena of any class, pinned
 * or not (alloc.c), before it passes the bound; the class that passes it
 * keeps the arenas it then has (pinned: growth for heat does not take them
 * over), for once growth for heat has taken its empty arenas, its live peak
 * coming back would make it pass the bound again and again, into the zone's
 * room. space.c's own carves and merges leave the gap alone: they know no
 * bound.
 *
 * The reserve: growth for heat takes over an empty arena only while more
 * are empty than the most arenas one class ever had to take for need at
 * one ceiling (once the first pass is over). A class whose live peak comes
 * back (sqlite3: a 1,032-byte class, two arenas more at each pass's end)
 * takes empty arenas for need; between its peaks growth for heat took them
 * over for the hot classes, whose scattered long-lived objects kept every
 * one of them from emptying again, and a lifetime run ended at a peak
 * with 22 MiB of small arenas 99% free and none empty (0.3-0.6% of the
 * device retired). Kept back, they wait for the peak.
 *
 * Locking: the grow lock, for all of it but the reserve's count of empty
 * arenas (each class's lock, then each arena's, tried: as steal_empty).
 */
#include "heap_internal.h"

bool pma_zone_on(const pma_heap *h)
{
    return h->cfg.policy == PMA_WEAR_AWARE && h->can_resize;
}

static uint64_t device_end(const pma_heap *h)
{
    return nv_size(h->dev) / PMA_ARENA_ALIGN * PMA_ARENA_ALIGN;
}

/* The gap: the one made at hwm on first use, else (after an open, or when
 * it went) the biggest free arena. NULL when there is none. */
static pma_arena *gap(pma_heap *h)
{
    if (h->gap && pma_space_is_free(h->gap))
        return h->gap;
    h->gap = NULL;
    uint64_t end = device_end(h);
    pma_arena *a;
    if (h->hwm + 2 * PMA_ARENA_ALIGN <= end &&
        pma_arena_create(h, PMA_CLASS_LARGE, h->hwm, end - h->hwm, &a) == 0 &&
        pma_heap_publish_arena(h, a, end) == 0) {
        pma_pool_push(h, a);
        h->gap = a;
    } else {
        for (pma_arena *p = h->pool_large; p; p = p->pool_next)
            if (pma_space_is_free(p) && (!h->gap || p->size > h->gap->size))
                h->gap = p;
    }
    if (h->gap && h->gap->off - h->arena_base > h->zone_peak)
        h->zone_peak = h->gap->off - h->arena_base;
    return h->gap;
}

/* The lowest offset growth for heat may carve an arena at. */
static uint64_t heat_bound(const pma_heap *h, const pma_arena *g)
{
    uint64_t end = device_end(h);
    uint64_t c = atomic_load_explicit(&h->wear_ceiling, memory_order_relaxed);
    uint64_t s = h->cfg.wear_spread_percent, full = h->cfg.wear_spread_full_at;
    uint64_t pct = !full ? s : s + (100 - s) * (c < full ? c : full) / full;
    /* the heap's footprint (its header and log region too) inside the share */
    uint64_t share = end / 100 * pct;
    uint64_t spread = share > h->arena_base ? end - (share - h->arena_base) : end;
    uint64_t room = g->off + h->zone_peak + h->zone_peak / 10;
    return spread > room ? spread : room;
}

static void pin_class(pma_heap *h, int cls)
{
    for (pma_arena *a = h->first; a; a = a->all_next)
        if (!a->large && atomic_load_explicit(&a->cls, memory_order_relaxed) == cls)
            atomic_store_explicit(&a->pinned, true, memory_order_relaxed);
}

int pma_zone_end(pma_heap *h, int cls, uint64_t size, bool inside, pma_arena **out)
{
    pma_arena *g = gap(h);
    if (!g || g->size < size + PMA_ARENA_ALIGN)
        return PMA_ENOMEM;
    uint64_t off = g->off + g->size - size;
    /* Never, not even for need, into the most the zone ever spanned (and a
     * tenth more): the large objects' next peak must find it there. */
    if (off < h->arena_base + h->zone_peak + h->zone_peak / 10)
        return PMA_ENOMEM;
    bool past = off < heat_bound(h, g);
    if (inside && past)
        return PMA_ENOMEM;
    int rc = pma_space_carve_at(h, g, cls, off, out);
    if (rc == 0 && past && cls != PMA_CLASS_LARGE)
        pin_class(h, cls);
    return rc;
}

int pma_zone_front(pma_heap *h, uint64_t size, bool for_heat, pma_arena **out)
{
    pma_arena *g = gap(h);
    if (!g || g->size < size + PMA_ARENA_ALIGN)
        return PMA_ENOMEM;
    uint64_t top = g->off + size - h->arena_base;
    if (for_heat && top > h->zone_peak)
        return PMA_ENOMEM;
    pma_arena *rest;
    int rc = pma_space_carve_at(h, g, PMA_CLASS_LARGE, g->off + size, &rest);
    if (rc)
        return rc;
    pma_pool_remove(h, g);
    pma_pool_push(h, rest);
    h->gap = rest;
    if (top > h->zone_peak)
        h->zone_peak = top;
    *out = g;
    return 0;
}

int pma_zone_extend(pma_heap *h, pma_arena *a, uint64_t size)
{
    pma_arena *g = h->gap;
    if (!pma_zone_on(h) || !g || a->all_next != g || !pma_space_is_free(g) || size <= a->size ||
        g->size < size - a->size + PMA_ARENA_ALIGN)
        return PMA_ENOMEM;
    pma_arena *rest;
    int rc = pma_space_carve_at(h, g, PMA_CLASS_LARGE, g->off + (size - a->size), &rest);
    if (rc)
        return rc;
    pma_pool_remove(h, g);
    pma_pool_push(h, rest);
    h->gap = rest;
    if (!pma_space_absorb(h, a, g)) {
        pma_pool_push(h, g);               /* a free arena below the gap: given back later */
        return PMA_EDEVICE;
    }
    if (a->off + a->size - h->arena_base > h->zone_peak)
        h->zone_peak = a->off + a->size - h->arena_base;
    return 0;
}

static pma_arena *below(pma_heap *h, const pma_arena *x)
{
    pma_arena *p = NULL;
    for (pma_arena *a = h->first; a && a != x; a = a->all_next)
        p = a;
    return p;
}

void pma_zone_give_back(pma_heap *h, pma_arena *a)
{
    if (!pma_zone_on(h) || !h->gap || a->all_next != h->gap || !pma_space_is_free(a) ||
        !pma_space_is_free(h->gap) || !pma_space_absorb(h, a, h->gap))
        return;
    /* Free arenas below it, freed while another stood between. */
    for (pma_arena *p; (p = below(h, h->gap)) && pma_space_is_free(p) && pma_space_absorb(h, p, h->gap);)
        ;
}

void pma_zone_note_need(pma_heap *h)
{
    uint32_t c = atomic_load_explicit(&h->wear_ceiling, memory_order_relaxed);
    if (!pma_zone_on(h) || c == 0)
        return;                            /* the first pass: every class grows for need */
    pthread_mutex_lock(&h->grow);
    h->need_run = c == h->need_ceiling ? h->need_run + 1 : 1;
    h->need_ceiling = c;
    if (h->need_run > atomic_load_explicit(&h->need_reserve, memory_order_relaxed))
        atomic_store_explicit(&h->need_reserve, h->need_run, memory_order_relaxed);
    pthread_mutex_unlock(&h->grow);
}

bool pma_zone_heat_may_take(pma_heap *h)
{
    uint32_t reserve = atomic_load_explicit(&h->need_reserve, memory_order_relaxed), empty = 0;
    if (reserve == 0)
        return true;
    for (int k = 0; k < PMA_CLASS_LARGE && empty <= reserve; k++) {
        pma_class *c = &h->cls[k];
        pthread_mutex_lock(&c->lock);
        for (pma_arena *a = c->head; a && empty <= reserve; a = a->next)
            if (pma_spin_trylock(&a->lock)) {
                empty += a->free_units == a->units;
                pma_spin_unlock(&a->lock);
            }
        pthread_mutex_unlock(&c->lock);
    }
    return empty > reserve;
}

uint64_t pma_zone_unused(const pma_heap *h)
{
    return pma_zone_on(h) && h->gap && pma_space_is_free(h->gap) ? h->gap->size : 0;
}
