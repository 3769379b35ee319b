/*
 * heap_internal.h - the allocator's DRAM state: the heap, its classes and
 * their free lists, and the arenas' DRAM mirrors and indexes. Shared by the
 * files of allocator/; nothing here is on the device.
 *
 * Locking (always in this order; never the reverse):
 *   checkpoint  (pma_heap.ckpt)   log: one checkpoint at a time
 *   registry    (pma_heap.tc_lock) the heap's thread caches, retired counters
 *   class lock  (pma_class.lock)  the class's list, its single-flight flag
 *   arena lock  (pma_arena.lock)  the arena's bitmaps, counters, log slot
 *   grow lock   (pma_heap.grow)   hwm, the arena registry, the empty pools
 * The grow lock is only ever taken with no arena lock held (a class lock may
 * be held). A thread inside a get or return (tcache.h: in_op) never takes
 * the checkpoint or registry lock. Counters that pma_stats reads without
 * locks are atomics.
 *
 * Space and liveness: an arena's alloc/start bitmaps say which units the
 * arena has handed out (to a live object or to a thread cache); the per-slot
 * record holds each block's length, slack and generation, and an odd
 * generation marks the start of a live object. What is durable on the
 * device is the live set only: a cached block is free there.
 */
#ifndef PMARENA_ALLOCATOR_HEAP_INTERNAL_H
#define PMARENA_ALLOCATOR_HEAP_INTERNAL_H

#include "pmarena/pma.h"
#include "layout.h"
#include "bitmap.h"
#include "runindex.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* A test-and-test-and-set spinlock: the uncontended pair costs one atomic
 * exchange, a third of a mutex pair, and get_mem/return_mem take one each. */
typedef struct pma_spin { _Atomic int v; } pma_spin;
void pma_spin_wait(pma_spin *l);

static inline void pma_spin_lock(pma_spin *l)
{
    if (atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
        pma_spin_wait(l);
}
static inline bool pma_spin_trylock(pma_spin *l)
{
    return !atomic_load_explicit(&l->v, memory_order_relaxed) &&
           !atomic_exchange_explicit(&l->v, 1, memory_order_acquire);
}
static inline void pma_spin_unlock(pma_spin *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

/* Per start slot (one per stride of units): the block's length in units and
 * slack (allocated - requested bytes), written by the thread that makes it
 * live; gen counts the slot's allocations and frees (odd: live), so the log
 * can order one slot's records written by different threads. Only the
 * thread that holds the block changes its slot (plain loads and stores, no
 * locked instruction): two threads returning one object at the same moment
 * is a program's race that the double-free check cannot see, as in malloc. */
typedef struct pma_slot {
    _Atomic uint16_t n;              /* atomic: a log checkpoint reads it concurrently */
    uint16_t slack;
    _Atomic uint32_t gen;
} pma_slot;

static inline bool pma_slot_live(const pma_slot *sl)
{
    return atomic_load_explicit(&sl->gen, memory_order_acquire) & 1;
}
static inline uint32_t pma_slot_n(const pma_slot *sl)
{
    return atomic_load_explicit(&sl->n, memory_order_relaxed);
}
static inline void pma_slot_set_n(pma_slot *sl, uint32_t n)
{
    atomic_store_explicit(&sl->n, (uint16_t)n, memory_order_relaxed);
}
/* The slot's generation moved on by `by` (its owner alone writes it).
 * Release: a checkpoint that sees the new generation sees the length too. */
static inline uint32_t pma_slot_bump_gen(pma_slot *sl, uint32_t by)
{
    uint32_t gen = atomic_load_explicit(&sl->gen, memory_order_relaxed) + by;
    atomic_store_explicit(&sl->gen, gen, memory_order_release);
    return gen;
}

#define PMA_WEAR_BLOCK 64u           /* data bytes per wear-aware estimate slot */
#define PMA_PLACE_HOT (PMA_BM_NONE - 1)   /* runs fit, but all at or above the wear ceiling */

typedef struct pma_arena {
    /* read on every get and return: set when the arena is made or reused,
     * kept apart from the line the fields below it share (false sharing) */
    uint64_t off, size;              /* device offset and bytes of the arena */
    uint64_t data;                   /* device offset of the data area */
    _Atomic int cls;                 /* size class (changes when reused from the pool) */
    bool large;
    uint32_t units, stride;          /* bits; units between possible starts */
    unsigned stride_shift;           /* log2(stride): no division on the hot path */
    pma_slot *slot;                  /* per start slot */
    /* log: slots the records of an epoch touched, by epoch parity; marked
     * by the threads that wrote the records (or the checkpoint), taken by
     * the checkpoint that retires the epoch. The pointers are read on every
     * get and return (lane.h): here, not beside the list links and the
     * owner, which other threads write. */
    _Atomic uint64_t *ck_mark[2];
    _Atomic uint64_t *ck_sum[2];     /* a bit per ck_mark word that may be non-zero: the
                                        checkpoint reads only those (its cost follows the
                                        records, not the arena's size) */
    uint32_t bitmap_bytes, stripe;   /* persistent bitmap size; interleave stripe */
    uint64_t alloc_dev, start_dev;   /* device offsets of the persistent bitmaps */
    uint64_t *alloc, *start;         /* logical mirrors */
    uint64_t *dimg;                  /* DRAM copy of the durable bitmap area (2 * bitmap_bytes):
                                        intent: alloc then start, physical order;
                                        log: the checkpoint, (alloc, start) bit pairs */
    uint64_t *alloc_phys, *start_phys;   /* intent: the two halves of dimg */
    uint32_t *wear;                  /* wear-aware: allocations per PMA_WEAR_BLOCK */
    uint64_t capacity;               /* large: bytes the data area holds */
    /* changed under the arena lock (refills, frees back to the arena) */
    _Alignas(64) pma_spin lock;
    pma_run_index ri;                /* chunk summary of alloc, for the run search */
    uint32_t hot_ceiling, hot_n;     /* wear-aware: no run of hot_n units or more is below
                                        this ceiling (0: not known) */
    uint32_t free_units;
    uint32_t first_free;             /* no free unit below this (first-fit hint) */
    uint32_t cursor;                 /* next-fit / wear-aware position */
    uint32_t no_run;                 /* a run this long is known missing (0: unknown) */
    unsigned log_slot, log_seq;      /* intent: next intent slot and sequence;
                                        large: next object-word slot and sequence */
    bool live_large;                 /* large: the object is live */
    /* counters (arena lock) of the space handed out (small arenas: to live
     * objects and thread caches alike; requested: large arenas only) */
    uint64_t requested, allocated, objects;
    uint64_t allocs, frees;
    _Atomic uintptr_t owner;         /* the thread that last adopted it (affinity) */
    _Atomic uint64_t allocs_total;   /* lafo: allocations ever made here */
    /* list membership (class lock + arena lock to change) */
    struct pma_arena *prev, *next;
    bool on_list, in_pool;
    bool pooled;                     /* on h->pool_large (grow lock) */
    struct pma_arena *all_next;      /* registry, in address order */
    size_t all_index;                /* position in it (log recovery's scratch) */
    /* log: the arena is on h->ck_list[par] (ck_mark above) */
    _Atomic bool ck_any[2];          /* on h->ck_list[par] (set by whoever pushed it there) */
    struct pma_arena *ck_next[2];
    struct pma_arena *pool_next;
    /* retirement (badmap.c): small arenas: units that cover a failed line
     * (bad, a whole stride or slot each) and those of them retired: held in
     * the space bitmaps as blocks of their own that no object lives in
     * (arena lock); large arenas: a failed line in the data area, and the
     * arena retired (never pooled again: grow lock) */
    uint64_t *bad, *ret;
    _Atomic uint32_t nbad;           /* bad units (read without the lock: 0 is the common case) */
    uint32_t retired_runs;
    _Atomic bool bad_large;
    bool retired_large;
    _Atomic bool pinned;             /* zone.c: its class keeps it (no takeover) */
    uint32_t takeovers;              /* class changes: stores to its class word (class lock) */
} pma_arena;

typedef struct pma_class {
    pthread_mutex_t lock;
    pthread_cond_t created;
    pma_arena *head, *tail;
    bool creating;
    uint32_t units;                  /* units of one object of the class's full size */
    _Atomic uint32_t listed;         /* arenas on the list (read without the lock) */
} pma_class;

typedef struct pma_tcache pma_tcache;
typedef struct pma_persist_ops pma_persist_ops;

/* Counters kept per thread cache (its owner stores them with relaxed
 * atomics: no locked instruction) and summed by pma_stats. Live figures are
 * deltas: a cross-thread free makes one cache's go below zero, the sum is
 * right modulo 2^64. */
typedef struct pma_tcounters {
    _Atomic uint64_t allocs, frees, hits, misses, next_class;
    _Atomic uint64_t requested, allocated;
    _Atomic uint64_t objects;            /* live objects found at open (retired only) */
    _Atomic uint64_t flushes, fences, meta_bytes;
    _Atomic uint64_t records;            /* log records: a line flush, a fence, 16 bytes each */
    /* The fast lane (lane.h) counts a get or a return once: each is an
     * alloc or free, a cache hit (gets) and a record, added in at the sum. */
    _Atomic uint64_t lane_gets, lane_frees;
    /* Bytes the cache's owner holds: cached blocks plus what it allocated
     * less what it freed (allocated + cached), so that a get from the cache
     * or a return into it, which move bytes between the two, leave it as it
     * is and the lane counts only `allocated`. Cached = held - allocated. */
    _Atomic uint64_t held;
} pma_tcounters;

static inline void pma_count(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

struct pma_heap {
    nv_device *dev;
    pma_config cfg;
    uint32_t q;                      /* max(G, A): start alignment and size quantum */
    unsigned g_shift, q_shift;       /* log2(G), log2(q) */
    uint64_t id;                     /* tells this heap's TLS affinity from others' */
    bool persistent;                 /* metadata != dram */
    bool tc_on;                      /* thread caches keep blocks (first-fit) */
    bool lane_ok;                    /* new caches serve the fast lane (pma_tc_lane_open) */
    pthread_mutex_t grow;
    uint64_t hwm;                    /* end of the last arena */
    unsigned hwm_slot;               /* layout 5: the ring slot the next move goes to */
    uint64_t root;                   /* DRAM copy of the root offset */
    pma_arena *first, *last;         /* registry */
    pma_arena *pool_large;           /* freed large arenas, reused by size (space.c) */
    pma_arena *gap;                  /* zone.c: the free arena the zone and the other arenas
                                        are carved from (NULL: not made yet) */
    uint64_t zone_peak;              /* zone.c: the most bytes below the gap so far */
    uint32_t need_ceiling, need_run; /* zone.c: takeovers for need at this ceiling (grow lock) */
    _Atomic uint32_t need_reserve;   /* zone.c: the most at one ceiling: empty arenas
                                        growth for heat leaves to need */
    pma_arena *dead;                 /* arenas merged into a neighbour: freed at close (a
                                        page-map lookup may still hold one) */
    bool can_resize;                 /* the layout has resize words (space.c) */
    uint32_t version;                /* the layout version: which header sum (layout.h) */
    bool bm_defer;                   /* pma_open: map stores wait until the image is known good */
    _Atomic(pma_arena *) *pagemap;   /* 4 KiB page of the device -> its arena */
    size_t pagemap_bytes;
    pma_class cls[PMA_CLASSES];
    _Atomic uint64_t creations, restarts, failed_allocs, bad_frees, list_store_failures;
    _Atomic uint64_t carves, merges;  /* space.c: arenas carved from pooled ones, merges */
    _Atomic uint32_t wear_ceiling;   /* wear-aware: blocks allocated this often are not reused */
    uint64_t leaked_bytes, recovered_ops;
    uint64_t arena_base;             /* first arena: after the header (and the log region) */
    const pma_persist_ops *po;       /* the persistence protocol; NULL: metadata dram */
    bool fixed_slots;                /* po->fixed_slots */
    bool usable;                     /* pma_init or pma_open finished: pma_destroy closes cleanly */
    bool gc_clean_open;              /* gc: the device held a clean close's live set at open */
    const pma_open_opts *open_opts;  /* during pma_open_ex only */
    pma_open_info info;
    /* thread caches */
    pthread_mutex_t tc_lock;
    pma_tcache *caches;              /* registry (tc_lock) */
    _Atomic uint32_t ncaches;        /* its length: the threads using the heap */
    pma_tcounters retired;           /* caches gone, and what open found (tc_lock) */
    /* log protocol (persist_log.c) */
    pthread_mutex_t ckpt;
    uint64_t log_off, log_bytes;     /* the log region: two halves, used in turn by epochs */
    uint32_t half_chunks;            /* chunks per half */
    uint32_t half_start[2];          /* each half's first chunk this time round (wear) */
    /* A line of their own, away from `running`, which every get and return
     * reads: every thread adds to half_used once a claim (4 chunks), and
     * on running's line each add cost the other threads a miss on their
     * next operation; ck_list is pushed to once per arena and epoch. */
    _Alignas(64) _Atomic uint32_t half_used[2];   /* chunks handed out of each half */
    _Atomic(pma_arena *) ck_list[2]; /* arenas with marks, by parity (pushed by markers,
                                        taken whole by the checkpoint): no registry walk */
    char half_used_pad[64 - 2 * sizeof(uint32_t) - 2 * sizeof(pma_arena *)];
    _Atomic uint8_t *chunk_marked;   /* per chunk: its writer marked its slots (ck_mark) */
    /* What every log get and return reads (lane.h, persist_log.h; the
     * first four set by pma_tc_lane_open, asym and persist_nop by the log
     * protocol's attach), on
     * running's line, which changes once an epoch: where these fields sat
     * before, beside the grow lock and a class lock, each lock another
     * thread took cost the next get or return a miss. */
    _Alignas(64) struct {
        unsigned char *base;         /* the device's mapping */
        uint64_t arena_base, span;   /* device bytes from arena_base to the end */
        _Atomic(pma_arena *) *pagemap;
        bool asym;                   /* membarrier() orders the fast path for a checkpoint */
        bool persist_nop;            /* the device's flush and fence do nothing (dram) */
    } lane;
    _Atomic uint64_t running;        /* the epoch new records carry */
    uint64_t ckpt_epoch;             /* records of this epoch and older are in the checkpoint (ckpt) */
    _Atomic uint64_t checkpoints, log_wraps;
    _Atomic uint64_t log_worn_skips;    /* log: record slots skipped because a cell had worn out */
    uint64_t *ck_scratch;            /* checkpoint image buffer */
    size_t ck_scratch_words;
    /* bad-block map (badmap.c). Failures the device reports wait in a
     * pending list (bad_lock, a leaf: the callback runs inside a store,
     * perhaps under an arena lock) until the next get, return or stats
     * takes them; the map image (2 bits a line: failed, retired) and its
     * device region change under bm_lock, a leaf taken under arena locks. */
    pthread_mutex_t bad_lock, bm_lock;
    uint64_t *bad_pend;
    size_t bad_npend, bad_cap;
    _Atomic bool bad_pending;
    _Atomic uint64_t bad_lost;       /* failures not recorded: no host memory for the list */
    uint64_t *bm;                    /* the map image (NULL: not made) */
    /* Some line of the map has failed: until one does, asking whether a
     * line has (every large get and return) takes no lock, as bm_lock was
     * the 2-thread replay's second most contended (perf, issue 11). */
    _Atomic bool bm_any;
    uint64_t bm_off, bm_bytes, bm_lines;   /* device region (bm_bytes 0: dram metadata) */
    _Atomic uint64_t retired_blocks, retired_bytes, failed_lines, meta_failed_lines, bm_store_failures;
};
_Static_assert(offsetof(struct pma_heap, running) - offsetof(struct pma_heap, half_used) >= 64,
               "the chunk counter and the marked-arena lists have a line of their own");
_Static_assert(offsetof(struct pma_heap, running) + sizeof(uint64_t) - offsetof(struct pma_heap, lane) <= 64,
               "the lane's fields and running share one line");

/* allocs_total changes only under the arena lock; lafo reads it without one.
 * A relaxed load and store keep that race-free without a locked add. */
static inline void pma_arena_count_alloc(pma_arena *a)
{
    atomic_store_explicit(&a->allocs_total,
                          atomic_load_explicit(&a->allocs_total, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* One protocol's operations (persist_intent.c, persist_log.c). alloc/free
 * make the live state of block [u, u+n) of a small arena durable (called
 * after `live` and the slot changed); begin and end bracket every get and
 * return (log: the epoch, room for a record); NULL when not needed. */
struct pma_persist_ops {
    const char *name;
    int (*format)(pma_heap *h);                 /* pma_init: regions after the header */
    int (*attach)(pma_heap *h);                 /* pma_init and pma_open: DRAM state */
    int (*arena_load)(pma_heap *h, pma_arena *a);   /* durable bitmaps -> space bitmaps */
    int (*recover)(pma_heap *h);                /* pma_open, after every arena is loaded */
    int (*begin)(pma_heap *h, pma_tcache *tc);    /* 0: end must follow */
    void (*end)(pma_heap *h, pma_tcache *tc);
    int (*alloc)(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n);
    int (*free)(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n);
    int (*check)(pma_heap *h, pma_arena *a, char *msg, size_t len);
    int (*close)(pma_heap *h);                  /* pma_destroy of a usable heap; NULL: nothing */
    void (*detach)(pma_heap *h);
    bool large_words;                           /* a large object's word is stored per get and return */
    bool fixed_slots;                           /* small objects take their class's whole size, at
                                                   multiples of it: starts follow from the class */
};
extern const pma_persist_ops pma_persist_intent, pma_persist_log, pma_persist_gc;

/* Device stores of the protocols: checked, counted in tc (or the heap's
 * retired counters when tc is NULL). 0 or PMA_EDEVICE. */
int pma_meta_write(pma_heap *h, pma_tcache *tc, uint64_t off, const void *src, size_t len, nv_tag tag);
void pma_meta_flush(pma_heap *h, pma_tcache *tc, uint64_t off, size_t len);
void pma_meta_fence(pma_heap *h, pma_tcache *tc);

/* Units of one object of class cls in a fixed-slot heap (a power of two). */
static inline uint32_t pma_slot_units(const pma_heap *h, int cls) { return h->cls[cls].units; }

/* The durable image of one small arena's live set, from `live` and the
 * slots: intent's two physical bitmaps, or log's bit pairs, into out
 * (2 * bitmap_bytes, zeroed here). */
void pma_live_image(const pma_heap *h, const pma_arena *a, bool pairs, uint64_t *out);
/* dimg's two physical bitmaps (intent's encoding, as read from the
 * device) into the logical space bitmaps; PMA_ECORRUPT when bits lie past
 * the last unit. */
int pma_arena_bitmaps_from_dimg(pma_heap *h, pma_arena *a);
/* Rebuilds `live` and the slots from the space bitmaps (at open: nothing is
 * cached yet, so every space object is live). */
void pma_live_from_space(pma_heap *h, pma_arena *a);

/* heap.c */
void pma_set_error(int err);
/* The detail pma_last_error_detail returns (this thread's; printf format). */
void pma_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The class of a padded size: classes are powers of two from 64, so the
 * class is log2 of the size rounded up to a power of two, minus 6 (no loop:
 * every get asks); PMA_CLASS_LARGE above 4096. */
static inline uint32_t pma_heap_class_of(const pma_heap *h, uint64_t padded)
{
    (void)h;
    if (padded <= 64)
        return 0;
    if (padded > 4096)
        return PMA_CLASS_LARGE;
    return (uint32_t)(64 - __builtin_clzll(padded - 1)) - 6;
}
void pma_heap_register(pma_heap *h, pma_arena *a);
int pma_heap_alloc_space(pma_heap *h, uint64_t bytes, uint64_t *off);
int pma_heap_publish_hwm(pma_heap *h);
/* Moves hwm to `hwm` over the formatted arena a and registers it (grow
 * lock held); a is freed when the store fails. */
int pma_heap_publish_arena(pma_heap *h, pma_arena *a, uint64_t hwm);
int pma_heap_persist_list(pma_heap *h, int cls);

static inline pma_arena *pma_heap_arena_at(pma_heap *h, uint64_t off)
{
    return atomic_load_explicit(&h->pagemap[off / PMA_ARENA_ALIGN], memory_order_acquire);
}

/* arena.c: creation, loading, the persistent bit protocol */
/* Where a small arena of `size` bytes keeps its bitmaps and data (offsets
 * from the arena start), as the heap's configuration lays it out; a large
 * arena's data area starts at pma_large_data_off. */
typedef struct pma_geometry {
    uint32_t units, bitmap_bytes, stripe, alloc_off, start_off, data_off;
} pma_geometry;
void pma_geometry_small(const pma_heap *h, uint64_t size, pma_geometry *g);
uint32_t pma_large_data_off(const pma_heap *h);
pma_arena *pma_arena_new(void);     /* zeroed, cache-line aligned */
int pma_arena_create(pma_heap *h, int cls, uint64_t off, uint64_t size, pma_arena **out);
int pma_arena_load(pma_heap *h, uint64_t off, pma_arena **out);
void pma_arena_free_dram(pma_heap *h, pma_arena *a);
int pma_arena_set_class(pma_heap *h, pma_arena *a, int cls);
/* A large arena's new size: its resize word, persisted (space.c). */
int pma_arena_resize(pma_heap *h, pma_arena *a, uint64_t size);

/* space.c (grow lock held): the pool of freed large arenas; a new arena of
 * `need` bytes for class cls carved from the end of a bigger pooled one,
 * registered (PMA_ENOMEM: none); take: carve, else merge the shortest run
 * of adjacent free arenas big enough and carve from it (a large object may
 * take a merged run of its exact size). */
void pma_pool_push(pma_heap *h, pma_arena *a);
/* A freed large arena back to the pool, or retired when a line of it has
 * failed (grow lock held). */
void pma_pool_back(pma_heap *h, pma_arena *a);
void pma_pool_unlink(pma_heap *h, pma_arena **pp);
bool pma_pool_remove(pma_heap *h, pma_arena *a);   /* unlinked: true when it was pooled */
int pma_space_carve(pma_heap *h, int cls, uint64_t need, pma_arena **out);
int pma_space_take(pma_heap *h, int cls, uint64_t need, pma_arena **out);
/* A freed large arena with failed lines, not pooled: split so that only
 * the pages of its failed lines are retired, the rest pooled. */
void pma_space_retire_bad(pma_heap *h, pma_arena *a);
/* A pooled large arena with no object in it, not retired or worn. */
bool pma_space_is_free(const pma_arena *a);
/* A new arena for cls at [off, src's end), carved from src, registered
 * after it; src keeps [src->off, off). */
int pma_space_carve_at(pma_heap *h, pma_arena *src, int cls, uint64_t off, pma_arena **out);
/* b (free, right after a) joins a; false when the store did not land. */
bool pma_space_absorb(pma_heap *h, pma_arena *a, pma_arena *b);

/* zone.c (grow lock held): wear-aware's layout of the device. One free
 * arena, the gap, spans the unused middle; arenas of PMA_ZONE_MIN bytes
 * and more (the large-object zone) are carved from its front and given
 * back to it, all others from its end. 0, or PMA_ENOMEM: no room (growth
 * for heat: none inside its bound); PMA_EDEVICE. */
#define PMA_ZONE_MIN 65536u
#define PMA_SPREAD_FULL_AT 100u     /* wear_spread_full_at's default (not in the heap header) */
bool pma_zone_on(const pma_heap *h);
int pma_zone_end(pma_heap *h, int cls, uint64_t size, bool inside, pma_arena **out);
int pma_zone_front(pma_heap *h, uint64_t size, bool for_heat, pma_arena **out);
/* A small arena was had for need (nothing free fitted): counted towards the
 * reserve of empty arenas (grow lock not held). */
void pma_zone_note_need(pma_heap *h);
/* Whether growth for heat may take over an empty arena: only while more
 * are empty than the reserve (no lock held). */
bool pma_zone_heat_may_take(pma_heap *h);
/* A live zone arena grown in place to `size` bytes over the gap right
 * above it (its object's realloc): the gap's front carved off, then merged
 * into the arena by its resize word. */
int pma_zone_extend(pma_heap *h, pma_arena *a, uint64_t size);
/* The arena size a large object of `padded` bytes gets (alloc.c). */
uint64_t pma_large_arena_bytes(const pma_heap *h, uint64_t padded);
/* A zone arena just pooled: merged into the gap when it borders it. */
void pma_zone_give_back(pma_heap *h, pma_arena *a);
/* Bytes the gap holds: space the heap has not put to use. */
uint64_t pma_zone_unused(const pma_heap *h);
bool pma_arena_has_room(const pma_heap *h, const pma_arena *a, int cls);
/* Allocates n units in a small arena (arena lock held); returns the first
 * unit, or PMA_BM_NONE (no room, or for wear-aware only blocks at or above
 * the ceiling: pma_wear_hot_ceiling then says which). */
uint32_t pma_arena_alloc(pma_heap *h, pma_arena *a, uint32_t n);
uint32_t pma_arena_object_units(const pma_arena *a, uint32_t first);
/* Stores w into the next of the arena header's 8 rotating slot lines
 * (intent words, or a large arena's object words), flushed and fenced. */
int pma_arena_slot_persist(pma_heap *h, pma_tcache *tc, pma_arena *a, uint64_t w, nv_tag tag);
/* The latest object word of a large arena's header (0: none), and its slot,
 * reading past the slots in `worn` (bit i: slot i's line has failed; as
 * pma_large_worn_slots gives them from the bad-block map). */
int pma_large_latest(const pma_arena_header *hd, unsigned worn, uint64_t *word);
unsigned pma_large_worn_slots(pma_heap *h, uint64_t arena_off);
/* Stores a large arena's object word w in its next slot whose line has not
 * worn out, flushed (and fenced when asked); PMA_EDEVICE when none took it. */
int pma_large_word_store(pma_heap *h, pma_tcache *tc, pma_arena *a, uint64_t w, bool fence);
int pma_arena_large_set(pma_heap *h, pma_tcache *tc, pma_arena *a, bool live, uint64_t requested);
/* A live large object's new size in its arena (realloc in place): the object
 * word stores it (intent, log), so open finds the size the program has. */
int pma_arena_large_resize(pma_heap *h, pma_tcache *tc, pma_arena *a, uint64_t requested);
/* Space only: hands units back to the arena (arena lock held). */
void pma_arena_release_space(pma_heap *h, pma_arena *a, uint32_t first, uint32_t n);
int pma_arena_dram_alloc(pma_heap *h, pma_arena *a);
void pma_arena_derive_counters(pma_heap *h, pma_arena *a);

/* The arena and unit of ptr (PMA_EINVAL when it is not a possible object
 * start; no lock taken). Inline: every return asks. */
static inline int pma_locate(pma_heap *h, const void *ptr, pma_arena **out, uint32_t *unit)
{
    const unsigned char *p = ptr, *base = nv_base(h->dev);
    if (!ptr || p < base + h->arena_base || p >= base + nv_size(h->dev))
        return PMA_EINVAL;
    uint64_t off = (uint64_t)(p - base);
    pma_arena *a = pma_heap_arena_at(h, off);
    if (!a || off < a->data)
        return PMA_EINVAL;
    uint64_t rel = off - a->data;
    if (a->large) {
        if (rel)
            return PMA_EINVAL;
        *unit = 0;
    } else {
        if ((rel & (h->q - 1)) || (rel >> h->g_shift) >= a->units)
            return PMA_EINVAL;
        *unit = (uint32_t)(rel >> h->g_shift);
    }
    *out = a;
    return 0;
}
/* alloc.c, for realloc.c: the protocol's brackets round an operation that
 * stores metadata. */
int pma_op_begin(pma_heap *h, pma_tcache *tc);
void pma_op_end(pma_heap *h, pma_tcache *tc);

/* placement.c: the policy's choice of a free run of n units (arena lock held):
 * a unit, PMA_BM_NONE, or PMA_PLACE_HOT */
uint32_t pma_place(pma_heap *h, pma_arena *a, uint32_t n);
/* The ceiling at which wear-aware last turned a request down for heat since
 * the calling thread's last reset (0: it did not). */
void pma_wear_hot_reset(void);
uint32_t pma_wear_hot_ceiling(void);
/* wear-aware: a run was freed (arena lock held) */
void pma_wear_note_free(const pma_heap *h, pma_arena *a, uint32_t u, uint32_t n);

/* wear-aware realloc in place (arena lock held): true, counting one more
 * allocation of each block, when every block of [u, u + n) is below the
 * ceiling, as placement would require of a new object there; else false. */
bool pma_wear_keep(const pma_heap *h, pma_arena *a, uint32_t u, uint32_t n);

/* validate.c: pma_open's checks of everything it will read, made before
 * anything is written. The header: the configuration it holds (0, or
 * PMA_ENOHEAP, PMA_ENOTSUP, PMA_ECORRUPT with pma_set_detail). The rest of
 * the image, for the heap made from that configuration. */
int pma_validate_header(nv_device *dev, pma_config *cfg);
int pma_validate_image(pma_heap *h);

/* badmap.c: the bad-block map (see there) */
/* pma_open, once recovery succeeded: the map words that differ from the
 * device (failures learnt while stores were deferred: bm_defer) stored. */
void pma_badmap_sync(pma_heap *h);
uint64_t pma_badmap_bytes(uint64_t device_size);
int pma_badmap_format(pma_heap *h, uint64_t off, uint64_t device_size);
int pma_badmap_attach(pma_heap *h, uint64_t off, uint64_t device_size, bool load);
void pma_badmap_detach(pma_heap *h);
/* Takes the pending failures (no lock held). */
void pma_badmap_drain(pma_heap *h);
static inline void pma_badmap_poll(pma_heap *h)
{
    if (atomic_load_explicit(&h->bad_pending, memory_order_relaxed))
        pma_badmap_drain(h);
}
/* pma_open, after recovery: what the map holds is retired again. */
void pma_badmap_apply(pma_heap *h);
/* gc trace: the object at [off, off + bytes) holds a retired line. */
bool pma_badmap_retired(const pma_heap *h, uint64_t off, uint64_t bytes);
bool pma_badmap_line_failed(pma_heap *h, uint64_t off);   /* the line holding off has failed */
/* [u, u + n) of a small arena holds a bad unit (arena lock held). */
bool pma_badmap_block_bad(const pma_arena *a, uint32_t u, uint32_t n);
/* After [u, u + n) went back to the arena's space: its bad groups retired
 * (arena lock held). */
void pma_badmap_retire_freed(pma_heap *h, pma_arena *a, uint32_t u, uint32_t n);
/* A freed large arena with a failed line (grow lock held): retired. */
void pma_badmap_retire_large(pma_heap *h, pma_arena *a);

/* list.c: class free lists */
void pma_list_push(pma_heap *h, pma_class *c, pma_arena *a);
void pma_list_remove(pma_heap *h, pma_class *c, pma_arena *a);

#endif
