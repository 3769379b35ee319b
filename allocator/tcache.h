/*
 * tcache.h - per-thread caches of free blocks, one per thread and heap, in
 * DRAM only. A cache holds, per small class, blocks the arenas handed out
 * (their units are taken in the arena's bitmaps) that no object lives in:
 * durable state treats them as free. The common get pops a block of the
 * exact size from the calling thread's cache and the common return pushes
 * one: no lock another thread takes, no line another thread writes. Misses
 * refill a batch from the arenas under one arena lock; a full bin hands half
 * back. A thread's caches are handed back when it exits (a TLS destructor)
 * and forgotten, blocks and all, when their heap is destroyed (the device
 * already has them free).
 *
 * The cache lock is held by its owner for a whole get or return; a log
 * checkpoint takes every cache's lock to see a quiet heap.
 */
#ifndef PMARENA_ALLOCATOR_TCACHE_H
#define PMARENA_ALLOCATOR_TCACHE_H

#include "heap_internal.h"

#define PMA_TC_CAP 32            /* blocks per class bin */
#define PMA_TC_BATCH 8           /* blocks a miss takes from an arena at most */

typedef struct pma_tentry {
    pma_arena *a;
    uint32_t u, n;
} pma_tentry;

typedef struct pma_tbin {
    uint32_t count;
    pma_tentry e[PMA_TC_CAP];    /* e[count-1] is the most recent */
} pma_tbin;

struct pma_tcache {
    pma_spin lock;
    pma_heap *heap;              /* NULL once the heap is destroyed */
    uint64_t heap_id;
    pma_tcache *hnext, *hprev;   /* the heap's registry */
    pma_tcache *tnext;           /* the thread's caches */
    uint64_t log_pos, log_end;   /* log: the chunk records go to (pos == end: none) */
    pma_arena *affinity[PMA_CLASSES];
    _Atomic uint64_t cached_bytes;   /* owner writes (pma_count), pma_stats reads */
    pma_tcounters ct;
    pma_tbin bin[PMA_CLASS_LARGE];
};

/* The calling thread's cache for h (made on first use); NULL when out of
 * host memory. */
pma_tcache *pma_tc_get(pma_heap *h);
/* Hands every block of tc back to the arenas (cache lock held). */
void pma_tc_drain(pma_heap *h, pma_tcache *tc);
/* Hands the oldest half of a bin back (cache lock held). */
void pma_tc_trim(pma_heap *h, pma_tcache *tc, int cls);
/* Puts one block back into its arena, rejoining the class list if it
 * regains room (no arena or class lock held). */
void pma_tc_release_block(pma_heap *h, pma_arena *a, uint32_t u, uint32_t n);
/* pma_destroy: detaches every cache from h. */
void pma_tc_detach_all(pma_heap *h);
/* Sums every cache's counters and the retired ones into *out (tc_lock held). */
void pma_tc_sum(pma_heap *h, pma_tcounters *out, uint64_t *cached_bytes);

static inline bool pma_tc_pop(pma_tcache *tc, int cls, uint32_t n, pma_tentry *out)
{
    pma_tbin *b = &tc->bin[cls];
    for (uint32_t i = b->count; i-- > 0;) {
        if (b->e[i].n == n) {
            *out = b->e[i];
            b->e[i] = b->e[--b->count];
            return true;
        }
    }
    return false;
}

#endif
