/*
 * check.c - pma_check: walks every invariant of a heap and reports the first
 * that fails. Tests call it after every step that matters; the crash tests
 * call it after every recovery. Call it when no other thread uses the heap.
 *
 * Invariants:
 *   - the heap header is valid and agrees with DRAM (hwm, root);
 *   - arenas tile [4096, hwm) exactly, and the page map points each page to
 *     its arena;
 *   - in each small arena: every start bit is on an allocated unit at a
 *     stride multiple; every allocated run begins with a start bit; no bit
 *     past the last unit; the counters agree with the bitmaps; the DRAM
 *     mirrors equal the persistent bitmaps (nvram, hybrid); the header is
 *     valid and names the arena's class;
 *   - large arenas: the object fits, and agrees with the persistent word;
 *   - each class list is doubly linked correctly, holds only arenas of its
 *     class with on_list set, and every arena with on_list is on it; pooled
 *     large arenas are not live and on no list.
 * Together these mean no byte is allocated twice: objects are disjoint runs
 * of one bitmap, and arenas are disjoint.
 */
#include "tcache.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int bad(char *msg, size_t len, const char *fmt, ...)
{
    if (msg && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return PMA_ECORRUPT;
}

static int check_small(pma_heap *h, pma_arena *a, char *msg, size_t len)
{
    uint64_t at = a->off;
    for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
         s = pma_bm_next_one(a->start, s + 1, a->units)) {
        if (!pma_bm_get(a->alloc, s))
            return bad(msg, len, "arena @%llu: start bit %u on a free unit", (unsigned long long)at, s);
        if (s % a->stride)
            return bad(msg, len, "arena @%llu: start %u not a multiple of stride %u",
                       (unsigned long long)at, s, a->stride);
    }
    for (uint32_t u = pma_bm_next_one(a->alloc, 0, a->units); u < a->units;) {
        if (!pma_bm_get(a->start, u))
            return bad(msg, len, "arena @%llu: allocated run at %u has no start", (unsigned long long)at, u);
        u = pma_bm_next_one(a->alloc, pma_bm_next_zero(a->alloc, u, a->units), a->units);
    }
    uint32_t words = a->bitmap_bytes / 8;
    if (pma_bm_next_one(a->alloc, a->units, words * 64) < words * 64 ||
        pma_bm_next_one(a->start, a->units, words * 64) < words * 64)
        return bad(msg, len, "arena @%llu: bits set past the last unit", (unsigned long long)at);
    uint32_t used = pma_bm_count_ones(a->alloc, 0, a->units);
    if (a->free_units != a->units - used)
        return bad(msg, len, "arena @%llu: free_units %u, bitmap says %u", (unsigned long long)at,
                   a->free_units, a->units - used);
    if (a->objects != pma_bm_count_ones(a->start, 0, a->units))
        return bad(msg, len, "arena @%llu: %llu objects counted, %u starts", (unsigned long long)at,
                   (unsigned long long)a->objects, pma_bm_count_ones(a->start, 0, a->units));
    if (a->allocated != (uint64_t)used * h->cfg.granularity)
        return bad(msg, len, "arena @%llu: byte counters disagree with the bitmap", (unsigned long long)at);
    if (a->first_free > a->units || pma_bm_next_zero(a->alloc, 0, a->units) < a->first_free)
        return bad(msg, len, "arena @%llu: first-free hint %u is past a free unit", (unsigned long long)at,
                   a->first_free);
    for (uint32_t s = 0; s < a->units; s += a->stride) {
        const pma_slot *sl = &a->slot[s >> a->stride_shift];
        if (!pma_slot_live(sl))
            continue;
        if (!pma_bm_get(a->start, s))
            return bad(msg, len, "arena @%llu: a live object at %u where the arena has no block",
                       (unsigned long long)at, s);
        if (pma_slot_n(sl) != pma_arena_object_units(a, s))
            return bad(msg, len, "arena @%llu: live object at %u: length %u, block %u",
                       (unsigned long long)at, s, pma_slot_n(sl), pma_arena_object_units(a, s));
    }
    if (a->ret) {
        for (uint32_t u = pma_bm_next_one(a->ret, 0, a->units); u < a->units;
             u = pma_bm_next_one(a->ret, u + 1, a->units))
            if (!pma_bm_get(a->alloc, u) || !pma_bm_get(a->bad, u))
                return bad(msg, len, "arena @%llu: retired unit %u is free or not bad", (unsigned long long)at, u);
        for (uint32_t s = 0; s < a->units; s += a->stride) {
            const pma_slot *sl = &a->slot[s >> a->stride_shift];
            if (pma_slot_live(sl) && pma_bm_next_one(a->ret, s, s + pma_slot_n(sl)) < s + pma_slot_n(sl))
                return bad(msg, len, "arena @%llu: live object at %u holds a retired unit",
                           (unsigned long long)at, s);
        }
    }
    if (h->po) {
        int rc = h->po->check(h, a, msg, len);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_arena(pma_heap *h, pma_arena *a, char *msg, size_t len)
{
    for (uint64_t p = a->off / PMA_ARENA_ALIGN; p < (a->off + a->size) / PMA_ARENA_ALIGN; p++)
        if (pma_heap_arena_at(h, p * PMA_ARENA_ALIGN) != a)
            return bad(msg, len, "page map: page %llu does not point to its arena", (unsigned long long)p);
    int cls = atomic_load(&a->cls);
    if (a->large != (cls == PMA_CLASS_LARGE))
        return bad(msg, len, "arena @%llu: class %d and kind disagree", (unsigned long long)a->off, cls);
    if (h->persistent) {
        const pma_arena_header *hd = (const void *)((const unsigned char *)nv_base(h->dev) + a->off);
        if (hd->magic != PMA_ARENA_MAGIC || hd->checksum != pma_checksum(h->version, hd, offsetof(pma_arena_header, checksum)) ||
            (hd->resize ? pma_resize_size(hd->resize) : hd->size) != a->size || hd->class_word != (uint64_t)cls)
            return bad(msg, len, "arena @%llu: persistent header invalid or disagrees", (unsigned long long)a->off);
        uint64_t w = 0;
        if (a->large)
            pma_large_latest(hd, pma_large_worn_slots(h, a->off), &w);
        if (a->large && h->po->large_words && (((w & PMA_OBJECT_LIVE) != 0) != a->live_large ||
                         (a->live_large && (w & PMA_OBJECT_SIZE_MASK) != a->requested)))
            return bad(msg, len, "arena @%llu: persistent object word disagrees", (unsigned long long)a->off);
    }
    if (a->large) {
        if (a->live_large && (a->requested == 0 || a->allocated > a->capacity))
            return bad(msg, len, "arena @%llu: large object does not fit", (unsigned long long)a->off);
        if (a->on_list)
            return bad(msg, len, "arena @%llu: large arena on a class list", (unsigned long long)a->off);
        return 0;
    }
    return check_small(h, a, msg, len);
}

static int check_lists(pma_heap *h, char *msg, size_t len)
{
    uint64_t on_lists = 0, flagged = 0;
    for (int c = 0; c < PMA_CLASS_LARGE; c++) {
        pma_arena *prev = NULL;
        for (pma_arena *a = h->cls[c].head; a; prev = a, a = a->next) {
            if (a->prev != prev || !a->on_list || a->in_pool || atomic_load(&a->cls) != c)
                return bad(msg, len, "class %d list: arena @%llu badly linked or flagged", c,
                           (unsigned long long)a->off);
            if (++on_lists > 1u << 30)
                return bad(msg, len, "class %d list: a cycle", c);
        }
        if (h->cls[c].tail != prev)
            return bad(msg, len, "class %d list: tail is not the last arena", c);
    }
    for (pma_arena *a = h->first; a; a = a->all_next)
        flagged += a->on_list;
    if (flagged != on_lists)
        return bad(msg, len, "%llu arenas flagged on a list, %llu found on lists",
                   (unsigned long long)flagged, (unsigned long long)on_lists);
    for (pma_arena *a = h->pool_large; a; a = a->pool_next)
        if (!a->in_pool || !a->large || a->live_large || a->retired_large)
            return bad(msg, len, "large pool: arena @%llu live or not large", (unsigned long long)a->off);
    return 0;
}

/* Every cached block is a block of its arena that no object lives in, of
 * the length the cache says; blocks = live objects + cached blocks, so no
 * block is cached twice. */
static int check_caches(pma_heap *h, char *msg, size_t len)
{
    uint64_t blocks = 0, live = 0, cached = 0;
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        blocks += a->objects - a->retired_runs;     /* retired blocks: neither live nor cached */
        for (uint32_t s = 0; s < a->units; s += a->stride)
            live += pma_slot_live(&a->slot[s >> a->stride_shift]);
    }
    pthread_mutex_lock(&h->tc_lock);
    int rc = 0;
    for (pma_tcache *tc = h->caches; tc && !rc; tc = tc->hnext)
        for (int c = 0; c < PMA_TC_BINS && !rc; c++)
            for (uint32_t i = 0; i < tc->bin[c].count && !rc; i++) {
                pma_tentry *e = &tc->bin[c].e[i];
                cached++;
                if (e->u >= e->a->units || !pma_bm_get(e->a->start, e->u) ||
                    pma_arena_object_units(e->a, e->u) != e->n ||
                    pma_slot_live(&e->a->slot[e->u >> e->a->stride_shift]))
                    rc = bad(msg, len, "thread cache: block at unit %u of arena @%llu is not a free block of %u units",
                             e->u, (unsigned long long)e->a->off, e->n);
            }
    pthread_mutex_unlock(&h->tc_lock);
    if (rc == 0 && blocks != live + cached)
        rc = bad(msg, len, "%llu blocks in arenas, %llu live and %llu cached", (unsigned long long)blocks,
                 (unsigned long long)live, (unsigned long long)cached);
    return rc;
}

int pma_check(pma_heap *h, char *msg, size_t len)
{
    if (!h)
        return bad(msg, len, "no heap");
    if (h->persistent) {
        const pma_heap_header *hd = nv_base(h->dev);
        if (hd->magic != PMA_HEAP_MAGIC || hd->checksum != pma_checksum(h->version, hd, offsetof(pma_heap_header, checksum)))
            return bad(msg, len, "heap header invalid");
        if (pma_header_hwm(hd, h->version, NULL) != h->hwm || hd->root != h->root)
            return bad(msg, len, "heap header: hwm or root disagrees with DRAM");
    }
    uint64_t expect = h->arena_base;
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->off != expect || a->size % PMA_ARENA_ALIGN || a->off + a->size > h->hwm)
            return bad(msg, len, "arenas do not tile the heap at %llu", (unsigned long long)expect);
        expect += a->size;
        int rc = check_arena(h, a, msg, len);
        if (rc)
            return rc;
    }
    if (expect != h->hwm)
        return bad(msg, len, "arenas end at %llu, hwm is %llu", (unsigned long long)expect,
                   (unsigned long long)h->hwm);
    int rc = check_lists(h, msg, len);
    return rc ? rc : check_caches(h, msg, len);
}
