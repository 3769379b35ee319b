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
    if (h->asym) {
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

/* One record: stored, its line flushed, fenced. */
static inline int pma_log_append(pma_heap *h, pma_tcache *tc, pma_arena *a, unsigned op, uint32_t u, uint32_t n)
{
    uint64_t w[2];
    uint32_t gen = atomic_load_explicit(&a->slot[u >> a->stride_shift].gen, memory_order_relaxed);
    pma_rec_pack(w, op, tc->log_epoch, a->data + ((uint64_t)u << h->g_shift), gen, n);
    uint64_t off = tc->log_pos;
    nv_device *d = h->dev;
    if (d->direct) {
        /* two 8-byte stores: one 16-byte copy of w would wait for the two
         * stores that built w on the stack (a store-forwarding stall, the
         * largest cost of the whole get in the profile) */
        __builtin_memcpy(d->base + off, &w[0], 8);
        __builtin_memcpy(d->base + off + 8, &w[1], 8);
    } else {
        int rc = nv_write(d, off, w, sizeof w, NV_META_LOG);
        if (__builtin_expect(rc != 0, 0))
            return pma_log_append_worn(h, tc, a, op, u, n, rc);
    }
    nv_flush(d, off, sizeof w);
    nv_fence(d);
    pma_count(&tc->ct.records, 1);
    tc->log_pos += PMA_LOG_REC;
    return 0;
}

#endif
