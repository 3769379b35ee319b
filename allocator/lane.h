/*
 * lane.h - the fast lane: the common small get and return, inline, for a
 * heap whose every per-operation choice is known when it opens (the `log`
 * protocol on a direct device, thread caches on, G 1 and A 16 as by
 * default, no failed block anywhere). One test of the calling thread's
 * cache picks the lane; inside it nothing is asked twice, and its common
 * path calls nothing (the rare end, pma_lane_finish, is out of line), so
 * it saves few registers.
 *
 * Why a lane beside the general path rather than a trim of it: the general
 * get and return ask a dozen questions per call (which protocol, which
 * device kind, bad blocks, fixed slots, caches on) whose answers never
 * change for such a heap; with the calls they force, they were half the
 * instructions of a get+return pair in the profile (callgrind, issue 11).
 *
 * The lane does exactly what the general path does for the same case: the
 * same record, mark, slot generation, counters and cache bins (alloc.c,
 * persist_log.h); anything else (a miss, a full bin, an epoch's chunk used
 * up, a pointer that is not a live small object's start) falls back to the
 * general path, which starts over. The lane never fails part-way: it only
 * changes state after its last test.
 */
#ifndef PMARENA_ALLOCATOR_LANE_H
#define PMARENA_ALLOCATOR_LANE_H

#include "persist_log.h"

/* Enters the operation (pma_log_enter); false, and out again, when the
 * thread's chunk is not of the running epoch or is full. */
static inline bool pma_lane_enter(pma_heap *h, pma_tcache *tc)
{
    uint64_t e = pma_log_enter(h, tc);
    if (__builtin_expect(tc->log_epoch == e && tc->log_pos != tc->log_end, 1))
        return true;
    atomic_store_explicit(&tc->in_op, 0, memory_order_release);
    return false;
}

/* One record on a direct device, not yet flushed: pma_log_append's direct
 * case without its masks (at < 2^48 on the lane's devices, n - 1 < 4096
 * for a small block). Returns its log offset. */
static inline uint64_t pma_lane_record(pma_tcache *tc, unsigned char *base, unsigned op, uint64_t at, uint32_t n,
                                       uint32_t gen)
{
    uint64_t off = tc->log_pos;
    uint64_t w0 = tc->rec_w0[op] | at, w1 = tc->rec_e1 | ((uint64_t)(gen & PMA_GEN_MASK) << 12) | (n - 1);
    __builtin_memcpy(base + off, &w0, 8);
    __builtin_memcpy(base + off + 8, &w1, 8);
    tc->log_pos = off + PMA_LOG_REC;
    return off;
}

/* Whether the operation can end inline: its slot is marked for its epoch's
 * checkpoint already (pma_log_mark would return at once) and the device's
 * flush and fence do nothing. */
static inline bool pma_lane_ends_here(const pma_heap *h, const pma_tcache *tc, const pma_arena *a, uint32_t u)
{
    return pma_log_marked(a, (unsigned)(tc->log_epoch & 1), u) && h->lane.persist_nop;
}

/* The rare end of a lane operation, out of line so that the lane calls
 * nothing on its common path and saves no register: the checkpoint mark,
 * the record's flush and fence where the device has them, then out of the
 * operation. Returns ret. */
static __attribute__((noinline)) void *pma_lane_finish(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u,
                                                       uint64_t off, void *ret)
{
    pma_log_mark(h, tc, a, u);
    if (!h->lane.persist_nop) {
        nv_flush(h->dev, off, PMA_LOG_REC);
        nv_fence(h->dev);
    }
    pma_log_end(h, tc);
    return ret;
}

/* A get served from the thread's cache (tc: the caller's, serving h's
 * lane); anything else goes to slow(h, size), untouched. */
static inline __attribute__((always_inline)) void *pma_lane_get(pma_heap *h, pma_tcache *tc, size_t size,
                                                                void *(*slow)(pma_heap *, size_t))
{
    if (__builtin_expect(size - 1 >= PMA_LANE_MAX, 0))
        return slow(h, size);                      /* 0 or large */
    uint64_t bytes = ((uint64_t)size + PMA_LANE_Q - 1) & ~(uint64_t)(PMA_LANE_Q - 1);
    uint32_t n = (uint32_t)bytes;                  /* units of G = 1 byte */
    pma_tbin *b = &tc->bin[pma_tc_bin_of(bytes)];
    uint32_t c = b->count;
    if (__builtin_expect(c == 0 || b->e[c - 1].n != n, 0))
        return slow(h, size);                      /* a miss, or another length on top */
    if (__builtin_expect(!pma_lane_enter(h, tc), 0))
        return slow(h, size);
    pma_arena *a = b->e[c - 1].a;
    uint32_t u = b->e[c - 1].u;
    b->count = (uint16_t)(c - 1);
    pma_slot *sl = &a->slot[u >> a->stride_shift];
    pma_slot_set_n(sl, n);
    sl->slack = (uint16_t)(bytes - size);
    uint32_t gen = pma_slot_bump_gen(sl, 1);      /* odd: live */
    unsigned char *base = h->lane.base;
    uint64_t at = a->data + u;
    uint64_t off = pma_lane_record(tc, base, PMA_OP_ALLOC, at, n, gen);
    if (__builtin_expect(atomic_load_explicit(&a->cls, memory_order_relaxed) != (int)pma_heap_class_of(h, bytes), 0))
        pma_count(&tc->ct.next_class, 1);
    pma_count(&tc->ct.lane_gets, 1);               /* an alloc, a hit and a record (pma_tc_sum) */
    pma_count(&tc->ct.requested, size);
    pma_count(&tc->ct.allocated, bytes);
    if (__builtin_expect(!pma_lane_ends_here(h, tc, a, u), 0))
        return pma_lane_finish(h, tc, a, u, off, base + at);
    pma_log_end(h, tc);
    return base + at;
}

/* A return of a live small object into the thread's cache; anything else
 * goes to slow(h, ptr), untouched. */
static inline __attribute__((always_inline)) int pma_lane_return(pma_heap *h, pma_tcache *tc, void *ptr,
                                                                 int (*slow)(pma_heap *, void *))
{
    unsigned char *base = h->lane.base;
    uint64_t off = (uint64_t)((uintptr_t)ptr - (uintptr_t)base);
    if (__builtin_expect(off - h->lane.arena_base >= h->lane.span, 0))
        return slow(h, ptr);                       /* outside the arenas (NULL too) */
    pma_arena *a = atomic_load_explicit(&h->lane.pagemap[off / PMA_ARENA_ALIGN], memory_order_acquire);
    if (__builtin_expect(!a || a->large, 0))
        return slow(h, ptr);
    uint64_t rel = off - a->data;                  /* huge when below the data: refused next */
    if (__builtin_expect((rel & (PMA_LANE_Q - 1)) || rel >= a->units, 0))
        return slow(h, ptr);
    uint32_t u = (uint32_t)rel;
    pma_slot *sl = &a->slot[u >> a->stride_shift];
    if (__builtin_expect(!pma_slot_live(sl), 0))
        return slow(h, ptr);                       /* it says why */
    uint32_t n = pma_slot_n(sl);
    uint64_t bytes = n;
    pma_tbin *b = &tc->bin[pma_tc_bin_of(bytes)];
    uint32_t c = b->count;
    if (__builtin_expect(c >= b->cap, 0))
        return slow(h, ptr);                       /* a full bin: trimmed there */
    if (__builtin_expect(!pma_lane_enter(h, tc), 0))
        return slow(h, ptr);
    uint32_t gen = pma_slot_bump_gen(sl, 1);      /* even: free */
    uint64_t roff = pma_lane_record(tc, base, PMA_OP_FREE, off, n, gen);
    pma_count(&tc->ct.lane_frees, 1);              /* a free and a record (pma_tc_sum) */
    pma_count(&tc->ct.requested, -(bytes - sl->slack));
    pma_count(&tc->ct.allocated, -bytes);
    b->e[c].a = a;
    b->e[c].u = u;
    b->e[c].n = n;
    b->count = (uint16_t)(c + 1);
    if (__builtin_expect(!pma_lane_ends_here(h, tc, a, u), 0)) {
        pma_lane_finish(h, tc, a, u, roff, NULL);
        return 0;
    }
    pma_log_end(h, tc);
    return 0;
}

#endif
