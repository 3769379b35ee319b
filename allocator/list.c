/*
 * list.c - the free lists: per class, a doubly linked list of the arenas of
 * that class that still have room. The DRAM links are the index the
 * allocator searches. With metadata "nvram" the origin design is taken
 * literally: every link change is also stored in the arena headers and the
 * heap header (kind list) so its wear is counted; pma_open rebuilds the lists
 * from the arena walk, because a crash can tear a doubly linked update and
 * the walk is authoritative.
 *
 * Room: an arena has room for its class when it has at least one object of
 * the class's full size worth of free units and no search has failed for
 * that size since its last free (pma_arena_has_room). An arena that fills
 * leaves its list; one that regains room rejoins (alloc.c).
 *
 * Locking: the class lock, and the arena's lock (callers take it when another
 * thread could be using the arena).
 */
#include "heap_internal.h"

static void link_store(pma_heap *h, pma_arena *a)
{
    if (h->cfg.metadata != PMA_META_NVRAM || !a)
        return;
    uint64_t links[2] = {a->prev ? a->prev->off : 0, a->next ? a->next->off : 0};
    uint64_t off = a->off + offsetof(pma_arena_header, prev);
    /* Never read back (the arena walk is authoritative): a store the device
     * refuses costs the model a write, not the heap its consistency; it is
     * counted in pma_stats' list_store_failures. */
    if (nv_write(h->dev, off, links, sizeof links, NV_META_LIST) != 0)
        atomic_fetch_add_explicit(&h->list_store_failures, 1, memory_order_relaxed);
    nv_persist(h->dev, off, sizeof links);
}

void pma_list_push(pma_heap *h, pma_class *c, pma_arena *a)
{
    a->prev = c->tail;
    a->next = NULL;
    if (c->tail)
        c->tail->next = a;
    else
        c->head = a;
    c->tail = a;
    a->on_list = true;
    atomic_fetch_add_explicit(&c->listed, 1, memory_order_relaxed);
    link_store(h, a->prev);
    link_store(h, a);
    if (c->head == a)
        pma_heap_persist_list(h, (int)(c - h->cls));
}

void pma_list_remove(pma_heap *h, pma_class *c, pma_arena *a)
{
    pma_arena *p = a->prev, *n = a->next;
    if (p)
        p->next = n;
    else
        c->head = n;
    if (n)
        n->prev = p;
    else
        c->tail = p;
    a->prev = a->next = NULL;
    a->on_list = false;
    atomic_fetch_sub_explicit(&c->listed, 1, memory_order_relaxed);
    link_store(h, p);
    link_store(h, n);
    link_store(h, a);
    if (!p)
        pma_heap_persist_list(h, (int)(c - h->cls));
}
