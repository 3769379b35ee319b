/*
 * persist_log.h - the `log` protocol's per-operation steps, inline: alloc.c
 * calls them directly when the heap's protocol is log (the default), as
 * device.h inlines direct devices' stores, so the common get and return
 * pay no indirect call. The rest of the protocol is in persist_log.c.
 */
#ifndef PMARENA_ALLOCATOR_PERSIST_LOG_H
#define PMARENA_ALLOCATOR_PERSIST_LOG_H

#include "tcache.h"

int pma_log_begin_slow(pma_heap *h, pma_tcache *tc, uint64_t e);
int pma_log_append_worn(pma_heap *h, pma_tcache *tc, pma_arena *a, unsigned op, uint32_t u, uint32_t n,
                        int rc);

/* Marks the owner inside an operation, then reads the running epoch: in_op
 * before running (Dekker with the checkpoint's quiesce), a compiler barrier
 * where membarrier() supplies the processor's, else a locked exchange. */
static inline uint64_t pma_log_enter(pma_heap *h, pma_tcache *tc)
{
    if (h->lane.asym) {
        atomic_store_explicit(&tc->in_op, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        atomic_exchange(&tc->in_op, 1);
    }
    return atomic_load_explicit(&h->running, memory_order_acquire);
}

/* Room for one record in a chunk of the running epoch. */
static inline int pma_log_begin(pma_heap *h, pma_tcache *tc)
{
    uint64_t e = pma_log_enter(h, tc);
    if (__builtin_expect(tc->log_epoch == e && tc->log_pos != tc->log_end, 1))
        return 0;
    return pma_log_begin_slow(h, tc, e);
}

static inline void pma_log_end(pma_heap *h, pma_tcache *tc)
{
    (void)h;
    atomic_store_explicit(&tc->ops_done, atomic_load_explicit(&tc->ops_done, memory_order_relaxed) + 1,
                          memory_order_release);
    atomic_store_explicit(&tc->in_op, 0, memory_order_release);
}

/* The first mark since the checkpoint took the arena puts it on the list
 * (a push; the checkpoint takes the whole list at once, so no ABA). */
static inline void pma_log_ck_push(pma_heap *h, pma_arena *a, unsigned par)
{
    if (atomic_exchange_explicit(&a->ck_any[par], true, memory_order_relaxed))
        return;
    pma_arena *head = atomic_load_explicit(&h->ck_list[par], memory_order_relaxed);
    do
        a->ck_next[par] = head;
    while (!atomic_compare_exchange_weak_explicit(&h->ck_list[par], &head, a, memory_order_release,
                                                  memory_order_relaxed));
}
/* Marks the slot of a record for the checkpoint of its epoch (by parity).
 * Done here, inside the operation, rather than by rescanning the chunk when
 * the thread leaves it: the rescan read every record back and was a twelfth
 * of a get+return pair. A checkpoint takes the marks only after quiesce,
 * when every operation of its epoch has finished. */
static inline bool pma_log_marked(const pma_arena *a, unsigned par, uint32_t u)
{
    return atomic_load_explicit(&a->ck_mark[par][u >> 6], memory_order_relaxed) >> (u & 63) & 1;
}
static inline void pma_log_mark_par(pma_heap *h, pma_arena *a, unsigned par, uint32_t u)
{
    if (pma_log_marked(a, par, u))
        return;                            /* the common case: a load, no locked instruction */
    _Atomic uint64_t *word = &a->ck_mark[par][u >> 6];
    uint64_t bit = 1ull << (u & 63);
    uint64_t was = atomic_load_explicit(word, memory_order_relaxed);
    atomic_fetch_or_explicit(word, bit, memory_order_relaxed);
    /* The word's summary bit after the word, set by whoever found the word
     * zero (the checkpoint takes the summary, then the words it names). A
     * parity's marks are never made while its checkpoint takes them: that
     * runs after quiesce, before the epoch after next can start. */
    if (was == 0)
        atomic_fetch_or_explicit(&a->ck_sum[par][u >> 12], 1ull << ((u >> 6) & 63), memory_order_release);
    if (!atomic_load_explicit(&a->ck_any[par], memory_order_relaxed))
        pma_log_ck_push(h, a, par);
}
static inline void pma_log_mark(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u)
{
    pma_log_mark_par(h, a, (unsigned)(tc->log_epoch & 1), u);
}

/* One record (gen: the slot's generation after the operation): stored, its
 * line flushed, fenced. Always inline: called from the get and the return,
 * gcc kept it out of line, and the call with its register saves was a fifth
 * of a get+return pair in the profile. */
static inline __attribute__((always_inline)) int pma_log_append(pma_heap *h, pma_tcache *tc, pma_arena *a,
                                                                unsigned op, uint32_t u, uint32_t n, uint32_t gen)
{
    uint64_t at = a->data + ((uint64_t)u << h->g_shift);
    uint64_t off = tc->log_pos;
    nv_device *d = h->dev;
    pma_log_mark(h, tc, a, u);
    if (__builtin_expect(d->direct, 1)) {
        /* two 8-byte stores of words kept in registers: a 16-byte copy of a
         * record built on the stack waits for the stores that built it (a
         * store-forwarding stall, the largest cost of the whole get once) */
        uint64_t w0 = pma_rec_word0_e(op, tc->rec_e0, at), w1 = pma_rec_word1_e(tc->rec_e1, gen, n);
        __builtin_memcpy(d->base + off, &w0, 8);
        __builtin_memcpy(d->base + off + 8, &w1, 8);
    } else {
        uint64_t w[2];
        pma_rec_pack(w, op, tc->log_epoch, at, gen, n);
        int rc = nv_write(d, off, w, sizeof w, NV_META_LOG);
        if (__builtin_expect(rc != 0, 0))
            return pma_log_append_worn(h, tc, a, op, u, n, rc);
    }
    if (!h->lane.persist_nop) {
        nv_flush(d, off, PMA_LOG_REC);
        nv_fence(d);
    }
    pma_count(&tc->ct.records, 1);
    tc->log_pos += PMA_LOG_REC;
    return 0;
}

#endif
