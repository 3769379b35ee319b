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
 * Blocks are kept by exact size: one bin per 16 bytes of padded size (an
 * exact-length match is looked for inside a bin when the quantum is finer),
 * so programs that mix sizes still hit. A miss takes a batch that grows
 * while the bin keeps missing (1, 2, 4, 8) and shrinks when the bin
 * overflows; a bin holds 31 blocks, or 16 KiB of blocks, at most.
 *
 * Freed large arenas of up to 64 KiB are kept too, up to 32 per thread
 * (see `large`); a get that finds no room anywhere else hands them back to
 * the pool first, so that their space can be carved or merged.
 *
 * Only the owner touches a cache, except: a thread's exit (the owner),
 * pma_destroy and pma_check (no get or return running). `in_op` and
 * `ops_done` let a log checkpoint wait for the operations in flight
 * (persist_log.c).
 */
#ifndef PMARENA_ALLOCATOR_TCACHE_H
#define PMARENA_ALLOCATOR_TCACHE_H

#include "heap_internal.h"

#define PMA_TC_CAP 31            /* blocks per bin at most (a bin is 512 bytes: see below) */
#define PMA_TC_BIN_BYTES 16384u   /* ... and bytes per bin at most */
#define PMA_TC_BATCH 8           /* blocks a miss takes from an arena at most */
#define PMA_TC_BINS 256          /* padded sizes 1..4096, 16 bytes a bin */
#define PMA_TC_LARGE 32          /* freed large arenas a cache keeps at most */
#define PMA_TC_LARGE_MAX (64u << 10)   /* ... each at most this big (the power-of-two sizes) */

typedef struct pma_tentry {
    pma_arena *a;
    uint32_t u, n;
} pma_tentry;

/* 512 bytes, a power of two: finding a bin is a shift, not a multiply
 * (every get and return does it). */
typedef struct pma_tbin {
    uint16_t count, want;        /* blocks held; batch of the next miss */
    uint16_t cap;                /* blocks it may hold (pma_tc_cap of its largest size) */
    uint16_t spare[5];
    pma_tentry e[PMA_TC_CAP];    /* e[count-1] is the most recent */
} pma_tbin;
_Static_assert(sizeof(pma_tbin) == 512, "a bin is 512 bytes");

struct pma_tcache {
    pma_heap *lane;              /* the heap whose fast lane this cache serves (lane.h); never NULL */
    _Atomic uint32_t in_op;      /* log: the owner is inside a get or return */
    _Atomic uint64_t ops_done;   /* log: operations the owner finished */
    uint64_t log_epoch;          /* log: the epoch of the chunk below */
    uint64_t rec_e0, rec_e1;     /* log: its bits in a record's words (pma_rec_epoch0/1) */
    uint64_t rec_w0[3];          /* log: word 0 of a record at offset 0, by op (the lane ORs
                                    the offset in) */
    pma_heap *heap;              /* NULL once the heap is destroyed */
    uint64_t heap_id;
    pma_tcache *hnext, *hprev;   /* the heap's registry */
    pma_tcache *tnext;           /* the thread's caches */
    uint64_t log_pos, log_end;   /* log: the chunk records go to (pos == end: none) */
    uint64_t log_chunk;          /* log: its index */
    uint64_t claim_epoch;        /* log: chunks [claim_next, claim_end) of this epoch's half */
    uint32_t claim_next, claim_end;   /* are this thread's, claimed with the last (k-th of the half) */
    pma_arena *affinity[PMA_CLASSES];
    /* Freed large arenas, most recent last, reused by size before the pool
     * (first-fit): durably free like pooled ones, but off the pool, which
     * the grow lock guards; every large get and return took that lock, and
     * in the 2-thread replay the threads slept on it (perf, issue 11). */
    uint32_t nlarge;
    pma_arena *large[PMA_TC_LARGE];
    pma_tcounters ct;
    pma_tbin bin[PMA_TC_BINS];
};

extern _Thread_local pma_tcache *pma_tc_mine;
pma_tcache *pma_tc_get_slow(pma_heap *h);

static inline unsigned pma_tc_bin_of(uint64_t padded) { return (unsigned)((padded - 1) >> 4); }
/* Kept in each bin (a division on every return showed in the profile). */
static inline uint32_t pma_tc_cap(uint64_t bytes)
{
    uint64_t c = PMA_TC_BIN_BYTES / bytes;
    return c < 2 ? 2 : c > PMA_TC_CAP ? PMA_TC_CAP : (uint32_t)c;
}

/* The calling thread's cache for h (made on first use); NULL when out of
 * host memory. */
static inline pma_tcache *pma_tc_get(pma_heap *h)
{
    pma_tcache *tc = pma_tc_mine;
    return tc && tc->heap_id == h->id ? tc : pma_tc_get_slow(h);
}
/* Hands every block of tc back to the arenas. */
void pma_tc_drain(pma_heap *h, pma_tcache *tc);
/* A freed large arena of `size` bytes the cache keeps, taken out of it
 * (most recent first); NULL when none. */
pma_arena *pma_tc_large_take(pma_heap *h, pma_tcache *tc, uint64_t size);
/* Keeps a freed large arena (its free durable already); false when it is
 * not for the cache (not first-fit, too big, a failed line in it). */
bool pma_tc_large_keep(pma_heap *h, pma_tcache *tc, pma_arena *a);
/* Every large arena the cache keeps back to the pool (takes the grow lock). */
void pma_tc_large_drain(pma_heap *h, pma_tcache *tc);
/* Hands the oldest half of a bin back. */
void pma_tc_trim(pma_heap *h, pma_tcache *tc, unsigned bin);
/* Puts one block back into its arena, rejoining the class list if it
 * regains room (no arena or class lock held). */
void pma_tc_release_block(pma_heap *h, pma_arena *a, uint32_t u, uint32_t n);
/* The fast lane's conditions and limits (lane.h; pma_tc_lane_open checks them). */
#define PMA_LANE_Q 16u                     /* max(G, A) of the default (G 1: units are bytes) */
#define PMA_LANE_MAX 4096u                 /* the largest small padded size (pma_heap_class_of) */
#define PMA_LANE_MAX_DEVICE (1ull << 48)   /* offsets fill a record's 48 bits unmasked */
/* pma_init and pma_open, once the heap is usable: opens the fast lane
 * (lane.h) to every cache of h, present and future, when h qualifies. */
void pma_tc_lane_open(pma_heap *h);
/* pma_destroy: detaches every cache from h. */
void pma_tc_detach_all(pma_heap *h);
/* Sums every cache's counters and the retired ones into *out (tc_lock held). */
void pma_tc_sum(pma_heap *h, pma_tcounters *out, uint64_t *cached_bytes);

/* The most recent block of n units in a bin (an exact-length match is
 * looked for further down only when the quantum is finer than the bin).
 * Fields are copied one by one from a count read once: the struct copy
 * reloaded the count after each store (they might alias). */
static inline bool pma_tc_pop(pma_tcache *tc, unsigned bin, uint32_t n, pma_tentry *out)
{
    pma_tbin *b = &tc->bin[bin];
    uint32_t c = b->count;
    if (__builtin_expect(c != 0, 1)) {
        const pma_tentry *top = &b->e[c - 1];
        if (__builtin_expect(top->n == n, 1)) {
            pma_arena *a = top->a;
            uint32_t u = top->u;
            b->count = (uint16_t)(c - 1);
            out->a = a;
            out->u = u;
            out->n = n;
            return true;
        }
    }
    for (uint32_t i = c; i-- > 0;) {
        if (b->e[i].n == n) {
            *out = b->e[i];
            b->e[i] = b->e[--c];
            b->count = (uint16_t)c;
            return true;
        }
    }
    return false;
}

/* Keeps a block (the caller checked the bin has room). */
static inline void pma_tc_push(pma_tbin *b, pma_arena *a, uint32_t u, uint32_t n)
{
    uint32_t c = b->count;
    pma_tentry *e = &b->e[c];
    e->a = a;
    e->u = u;
    e->n = n;
    b->count = (uint16_t)(c + 1);
}

#endif
