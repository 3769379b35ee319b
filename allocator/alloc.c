/*
 * alloc.c - Get_Mem and Return_Mem (pma_get_mem, pma_return_mem), and
 * pma_usable_size.
 *
 * Get_Mem: pad the request to a multiple of max(G, A); find its class.
 *   0. Fastest path: a block of exactly that many units from the calling
 *      thread's cache (tcache.h): no shared lock, no shared line; the
 *      persistence protocol makes it live on the device (log: one record).
 *      On a log heap on a direct device the fast lane (lane.h) does this,
 *      and the return into the cache, before anything here is asked.
 *   On a miss a batch of blocks is taken from one arena (1-3), one of them
 *   made live, the rest kept in the cache.
 *   1. The arena this thread last used in the class (per-thread
 *      affinity), if it is free to lock and still on the list.
 *   2. The class's list, then once the next larger class's list. Arenas
 *      another thread holds are skipped, so threads spread over arenas and
 *      scale; when every candidate was busy and the class already has
 *      PMA_BUSY_ARENAS arenas (or one per thread using the heap), the lists
 *      are searched again, waiting.
 *      lafo takes the list's least-allocated arena that fits instead.
 *   3. Create an arena, single-flight: a thread that finds another already
 *      creating one for the class waits for it and starts its search again
 *      from the beginning (counted in search_restarts). Before the heap
 *      grows, an empty arena of another class (not another thread's current
 *      one) is taken over: arenas are reassigned lazily, when one is needed,
 *      so alloc/free churn never moves an arena back and forth.
 * Large objects (padded size above 4096) get an arena of their own, the
 * object plus header rounded up to a power of two (above 64 KiB, to an
 * eighth of one); freed ones wait in a pool for a request of the same arena
 * size, and bigger freed ones are carved (space.c).
 *
 * Return_Mem: find the arena by the page map; refuse what is not a live
 * object's start (its slot's generation is even); make the free durable;
 * keep the block in the thread's cache (a full bin hands its older half
 * back). An arena that regains room rejoins its list.
 *
 * Caches serve first-fit only (the default policy): under next-fit,
 * wear-aware and lafo every get and every return is the policy's to place,
 * so blocks go straight back to the arena and misses take one block. A
 * cache's LIFO reuse is what first-fit does in the common case (the block
 * just freed is the lowest free run that fits) but not always: a freed
 * block can be reused while a lower free run exists.
 *
 * Locking: see heap_internal.h (cache -> class -> arena; grow alone or
 * under class).
 */
#include "lane.h"

#include <stdlib.h>
#include <string.h>

/* A class's arenas all busy or another thread's: a get waits for one of
 * them, rather than make one more, once the class has this many, or one per
 * thread using the heap if that is more. Four for any number of threads
 * made threads beyond the fourth share arenas, and so the lines of their
 * slots, which every get and return writes. */
#define PMA_BUSY_ARENAS 4
static uint32_t share_at(const pma_heap *h)
{
    uint32_t n = atomic_load_explicit(&h->ncaches, memory_order_relaxed);
    return n > PMA_BUSY_ARENAS ? n : PMA_BUSY_ARENAS;
}
/* Out of the get and the return: inlined, the slow paths made them save
 * every register on entry, which the profile showed on each call. */
#define PMA_SLOW __attribute__((noinline, cold))
#define PMA_LARGE_POW2_MAX 65536u    /* large arenas: powers of two up to this */

PMA_SLOW static void *fail(pma_heap *h, int err)
{
    pma_set_error(err);
    if (h)
        atomic_fetch_add_explicit(&h->failed_allocs, 1, memory_order_relaxed);
    return NULL;
}

static _Thread_local char thread_tag;      /* its address names the thread */

static inline uintptr_t me(void) { return (uintptr_t)&thread_tag; }

static void *unit_ptr(pma_heap *h, pma_arena *a, uint32_t u)
{
    return (unsigned char *)nv_base(h->dev) + a->data + ((uint64_t)u << h->g_shift);
}

static void remember(pma_tcache *tc, int cls, pma_arena *a)
{
    pma_arena *old = tc->affinity[cls];
    if (old && old != a && atomic_load_explicit(&old->owner, memory_order_relaxed) == me())
        atomic_store_explicit(&old->owner, 0, memory_order_relaxed);   /* no longer my current one */
    tc->affinity[cls] = a;
    /* Claim it only for its own class: an arena of the next class that
     * serves this one is still another thread's to keep, if it has it. */
    if (atomic_load_explicit(&a->cls, memory_order_relaxed) == cls &&
        atomic_load_explicit(&a->owner, memory_order_relaxed) != me())
        atomic_store_explicit(&a->owner, me(), memory_order_relaxed);
}

/* An arena that filled leaves its list (called with no lock held). */
static void leave_if_full(pma_heap *h, pma_arena *a)
{
    int cls = atomic_load(&a->cls);
    pma_class *c = &h->cls[cls];
    pthread_mutex_lock(&c->lock);
    pma_spin_lock(&a->lock);
    if (a->on_list && atomic_load(&a->cls) == cls && !pma_arena_has_room(h, a, cls))
        pma_list_remove(h, c, a);
    pma_spin_unlock(&a->lock);
    pthread_mutex_unlock(&c->lock);
}

/* Tries one arena (class lock held): allocates, and takes the arena off the
 * list if that filled it. Returns the unit or PMA_BM_NONE; -1 when busy. */
static int64_t try_arena(pma_heap *h, pma_class *c, int lcls, pma_arena *a, uint32_t n, bool wait)
{
    if (wait)
        pma_spin_lock(&a->lock);
    else if (!pma_spin_trylock(&a->lock))
        return -1;
    uint32_t u = pma_arena_alloc(h, a, n);
    if (!pma_arena_has_room(h, a, lcls))
        pma_list_remove(h, c, a);
    pma_spin_unlock(&a->lock);
    return u;
}

typedef struct lafo_pick { uint64_t allocs; pma_arena *a; } lafo_pick;

static int lafo_cmp(const void *x, const void *y)
{
    const lafo_pick *a = x, *b = y;
    return (a->allocs > b->allocs) - (a->allocs < b->allocs);
}

/* Searches one class list (class lock held): in list order, or for lafo in
 * order of fewest allocations so far. Counts the list's arenas in *len and
 * those skipped because busy in *busy. */
static uint32_t search_list(pma_heap *h, int lcls, uint32_t n, bool wait,
                            pma_arena **got, int *busy, uint32_t *len)
{
    enum { LAFO_MAX = 256 };
    pma_class *c = &h->cls[lcls];
    pma_arena *order[LAFO_MAX];
    uint32_t count = 0;
    if (h->cfg.policy == PMA_LAFO) {
        lafo_pick picks[LAFO_MAX];
        for (pma_arena *x = c->head; x && count < LAFO_MAX; x = x->next, count++)
            picks[count] = (lafo_pick){atomic_load_explicit(&x->allocs_total, memory_order_relaxed), x};
        qsort(picks, count, sizeof picks[0], lafo_cmp);
        for (uint32_t i = 0; i < count; i++)
            order[i] = picks[i].a;
    }
    uint32_t seen = 0;
    pma_arena *a = h->cfg.policy == PMA_LAFO ? (count ? order[0] : NULL) : c->head;
    while (a) {
        seen++;
        pma_arena *next = h->cfg.policy == PMA_LAFO ? (seen < count ? order[seen] : NULL) : a->next;
        uintptr_t owner = atomic_load_explicit(&a->owner, memory_order_relaxed);
        if (!wait && owner && owner != me() && h->cfg.policy != PMA_LAFO) {
            (*busy)++;             /* another thread's arena: leave it to its owner */
            a = next;
            continue;
        }
        int64_t u = try_arena(h, c, lcls, a, n, wait);
        if (u < 0)
            (*busy)++;
        else if (u != PMA_BM_NONE) {
            *got = a;
            if (len)
                *len = seen;
            return (uint32_t)u;
        }
        a = next;
    }
    if (len)
        *len = seen;
    return PMA_BM_NONE;
}

/* Takes over an empty arena of another class that no other thread has as its
 * current arena (no lock held on entry); pinned ones (zone.c) only when
 * pinned_too. Growth for heat takes no arena taken over as many times as the
 * wear ceiling: each takeover stores the class word, and the class words of
 * the arenas wear-aware passed round between classes wore out before their
 * blocks (a 1,032-byte get then found five empty arenas no class could
 * have), so a header line is written no more often than its blocks; nor
 * the reserve of empty arenas need has shown it wants (zone.c). */
static pma_arena *steal_empty(pma_heap *h, int cls, bool pinned_too, bool for_heat)
{
    if (for_heat && pma_zone_on(h) && !pma_zone_heat_may_take(h))
        return NULL;
    uint32_t ceiling = atomic_load_explicit(&h->wear_ceiling, memory_order_relaxed);
    for (int k = 0; k < PMA_CLASS_LARGE; k++) {
        pma_class *c = &h->cls[k];
        if (k == cls || atomic_load_explicit(&c->listed, memory_order_relaxed) == 0)
            continue;
        pthread_mutex_lock(&c->lock);
        for (pma_arena *a = c->head; a; a = a->next) {
            uintptr_t owner = atomic_load_explicit(&a->owner, memory_order_relaxed);
            if ((owner && owner != me()) || (!pinned_too && atomic_load_explicit(&a->pinned, memory_order_relaxed)) ||
                !pma_spin_trylock(&a->lock))
                continue;
            if (a->free_units == a->units && !(for_heat && a->takeovers >= ceiling) &&
                pma_arena_set_class(h, a, cls) == 0) {
                a->takeovers++;
                pma_list_remove(h, c, a);
                a->no_run = 0;
                pma_spin_unlock(&a->lock);
                pthread_mutex_unlock(&c->lock);
                return a;
            }
            pma_spin_unlock(&a->lock);
        }
        pthread_mutex_unlock(&c->lock);
    }
    return NULL;
}

/* A new arena for class cls: an empty one taken over, or grown from the
 * device. Growth wear-aware asks for to avoid worn blocks (for_heat) stops at
 * wear_spread_percent of the device, leaving the rest to requests that do not
 * fit anywhere (large objects above all); with the zone (zone.c), at its
 * bound, and growth for need goes past that bound only when no class's
 * empty arena, pinned ones too, can be taken over. */
static int take_small_arena(pma_heap *h, int cls, bool for_heat, pma_arena **out)
{
    pma_arena *a = steal_empty(h, cls, false, for_heat);
    if (a) {
        *out = a;
        return 0;
    }
    pthread_mutex_lock(&h->grow);
    uint64_t off;
    int rc;
    if (pma_zone_on(h)) {
        rc = pma_zone_end(h, cls, h->cfg.arena_size, true, &a);
        if (rc == PMA_ENOMEM && !for_heat) {
            pthread_mutex_unlock(&h->grow);
            if ((a = steal_empty(h, cls, true, false)) != NULL) {
                *out = a;
                return 0;
            }
            pthread_mutex_lock(&h->grow);
            rc = pma_zone_end(h, cls, h->cfg.arena_size, false, &a);
        }
    } else {
        rc = pma_heap_alloc_space(h, h->cfg.arena_size, &off);
        if (rc == 0 && for_heat &&
            off + h->cfg.arena_size > nv_size(h->dev) / 100 * h->cfg.wear_spread_percent)
            rc = PMA_ENOMEM;
        if (rc == 0)
            rc = pma_arena_create(h, cls, off, h->cfg.arena_size, &a);
        if (rc == 0)
            rc = pma_heap_publish_arena(h, a, off + h->cfg.arena_size);
    }
    /* Space freed large arenas hold: an arena of the configured size, else
     * a smaller one (an arena's geometry follows its size) down to 16 KiB,
     * when worn pages have left only pieces. */
    for (uint64_t size = h->cfg.arena_size; rc == PMA_ENOMEM && !for_heat && size >= 16384;
         size = size / 2 / PMA_ARENA_ALIGN * PMA_ARENA_ALIGN)
        if ((pma_zone_on(h) && (rc = pma_zone_end(h, cls, size, false, &a)) != PMA_ENOMEM) ||
            (rc = pma_space_take(h, cls, size, &a)) != PMA_ENOMEM)
            break;
    pthread_mutex_unlock(&h->grow);
    *out = rc ? NULL : a;
    return rc;
}

/* The same, counting each arena had for need towards zone.c's reserve. */
static int new_small_arena(pma_heap *h, int cls, bool for_heat, pma_arena **out)
{
    int rc = take_small_arena(h, cls, for_heat, out);
    if (rc == 0 && !for_heat)
        pma_zone_note_need(h);
    return rc;
}

/* wear-aware found runs that fit, but all worn to the ceiling, in every
 * arena it could use, and may not grow: admit blocks at the ceiling. */
static bool raise_wear_ceiling(pma_heap *h)
{
    uint32_t c = pma_wear_hot_ceiling();
    if (c == 0)
        return false;
    /* From the ceiling it saw: two threads that both ran out raise it once. */
    atomic_compare_exchange_strong_explicit(&h->wear_ceiling, &c, c + 1, memory_order_relaxed,
                                            memory_order_relaxed);
    pma_wear_hot_reset();
    return true;
}

/* One block of n units for class cls from the arenas (inside a get):
 * the affinity arena, the lists, or a new arena. 0, or an error. */
static int get_space(pma_heap *h, pma_tcache *tc, int cls, uint32_t n, pma_arena **out, uint32_t *unit)
{
    pma_class *c = &h->cls[cls];
    pma_arena *a = tc->affinity[cls];
    if (a && h->cfg.policy != PMA_LAFO && pma_spin_trylock(&a->lock)) {
        uint32_t u = PMA_BM_NONE;
        bool full = false;
        int acls = atomic_load_explicit(&a->cls, memory_order_relaxed);
        uintptr_t owner = atomic_load_explicit(&a->owner, memory_order_relaxed);
        /* Its class and still mine (another thread that claimed it keeps
         * it: sharing would serialize us), or the next class serving it. */
        if (a->on_list && ((acls == cls && (owner == me() || !owner)) || (acls == cls + 1 && !h->fixed_slots))) {
            u = pma_arena_alloc(h, a, n);
            full = !pma_arena_has_room(h, a, acls);
        }
        pma_spin_unlock(&a->lock);
        if (full)
            leave_if_full(h, a);
        if (u != PMA_BM_NONE) {
            *out = a;
            *unit = u;
            return 0;
        }
    }
    bool waited = false;       /* the device is full: wait for busy arenas */
    for (;;) {
        int busy = 0;
        uint32_t len = 0;
        for (int pass = waited; pass < 2; pass++) {
            /* Fixed slots: an arena holds its own class's size only. */
            for (int k = 0; k < (h->fixed_slots ? 1 : 2) && cls + k < PMA_CLASS_LARGE; k++) {
                pma_class *lc = &h->cls[cls + k];
                a = NULL;
                pthread_mutex_lock(&lc->lock);
                uint32_t u = search_list(h, cls + k, n, pass == 1, &a, &busy, k ? NULL : &len);
                pthread_mutex_unlock(&lc->lock);
                if (u != PMA_BM_NONE) {
                    remember(tc, cls, a);
                    *out = a;
                    *unit = u;
                    return 0;
                }
            }
            if (!(busy && len >= share_at(h)))
                break;    /* nothing was busy, or few arenas: create one */
        }
        pthread_mutex_lock(&c->lock);
        if (c->creating) {
            atomic_fetch_add_explicit(&h->restarts, 1, memory_order_relaxed);
            while (c->creating)
                pthread_cond_wait(&c->created, &c->lock);
            pthread_mutex_unlock(&c->lock);
            continue;
        }
        c->creating = true;
        pthread_mutex_unlock(&c->lock);
        a = NULL;
        int rc = new_small_arena(h, cls, pma_wear_hot_ceiling() != 0, &a);
        uint32_t u = PMA_BM_NONE;
        pthread_mutex_lock(&c->lock);
        if (a) {
            /* Claimed before it is listed: a thread that waited for it must
             * not take it for its own as well, or the two share one lock. */
            atomic_store_explicit(&a->owner, me(), memory_order_relaxed);
            pma_spin_lock(&a->lock);
            u = pma_arena_alloc(h, a, n);
            if (pma_arena_has_room(h, a, cls))
                pma_list_push(h, c, a);
            pma_spin_unlock(&a->lock);
        }
        c->creating = false;
        pthread_cond_broadcast(&c->created);
        pthread_mutex_unlock(&c->lock);
        if (!a && rc == PMA_ENOMEM && raise_wear_ceiling(h))
            continue;
        if (!a && rc == PMA_ENOMEM && busy && !waited) {
            waited = true;          /* arenas other threads use may have room */
            continue;
        }
        if (!a)
            return rc;
        if (u == PMA_BM_NONE && pma_wear_hot_ceiling() != 0)
            continue;                       /* a taken-over arena too worn: look on */
        if (u == PMA_BM_NONE)
            return PMA_ENOMEM;              /* an object bigger than an arena's data area */
        remember(tc, cls, a);
        *out = a;
        *unit = u;
        return 0;
    }
}

/* A miss: one block for the caller, and up to a batch more of the same size
 * from the same arena under one lock, into the cache. */
PMA_SLOW static int refill(pma_heap *h, pma_tcache *tc, int cls, unsigned bin, uint32_t n, pma_tentry *out)
{
    if (h->cfg.policy == PMA_WEAR_AWARE)
        pma_wear_hot_reset();
    pma_arena *a = NULL;
    uint32_t u = 0;
    int rc = get_space(h, tc, cls, n, &a, &u);
    if (rc == PMA_ENOMEM && tc->nlarge) {
        pma_tc_large_drain(h, tc);         /* the large arenas it kept may be carved */
        rc = get_space(h, tc, cls, n, &a, &u);
    }
    if (rc)
        return rc;
    *out = (pma_tentry){a, u, n};
    uint64_t bytes = (uint64_t)n << h->g_shift;
    pma_tbin *b = &tc->bin[bin];
    uint32_t cap = b->cap, batch = h->tc_on ? b->want : 1;
    if (h->tc_on && b->want < PMA_TC_BATCH)
        b->want = b->want ? (uint16_t)(b->want * 2) : 2;     /* missing again: take more next time */
    if (batch <= 1 || b->count + batch > cap)
        return 0;
    bool full = false;
    int acls;
    pma_spin_lock(&a->lock);
    acls = atomic_load_explicit(&a->cls, memory_order_relaxed);
    for (uint32_t i = 1; i < batch && a->on_list; i++) {
        uint32_t v = pma_arena_alloc(h, a, n);
        if (v == PMA_BM_NONE)
            break;
        b->e[b->count++] = (pma_tentry){a, v, n};
        pma_count(&tc->ct.held, bytes);
    }
    full = a->on_list && !pma_arena_has_room(h, a, acls);
    pma_spin_unlock(&a->lock);
    if (full)
        leave_if_full(h, a);
    return 0;
}

static uint64_t next_pow2(uint64_t x)
{
    uint64_t p = PMA_ARENA_ALIGN;
    while (p < x)
        p <<= 1;
    return p;
}

/* A large arena's size for x bytes (object plus header): a power of two up
 * to 64 KiB, above it a multiple of an eighth of the next power of two (at
 * most 12.5% over x, not up to 100%: a 2 MB object took a 4 MiB arena, and
 * on a worn device 4 MiB without a failed line could not be found). Sizes
 * stay few, so freed arenas are still reused by size. */
static uint64_t large_arena_size(uint64_t x)
{
    uint64_t p = next_pow2(x);
    if (p <= PMA_LARGE_POW2_MAX)
        return p;
    uint64_t step = p / 8;
    return (x + step - 1) / step * step;
}

uint64_t pma_large_arena_bytes(const pma_heap *h, uint64_t padded)
{
    uint64_t hdr = (sizeof(pma_arena_header) + h->q - 1) / h->q * h->q;
    if (hdr < sizeof(pma_arena_header))
        hdr = sizeof(pma_arena_header);
    return large_arena_size(hdr + padded);
}

/* A pooled arena of `need` bytes (grow lock held), unlinked from the pool.
 * wear-aware takes the one allocated fewest times, and only if that is below
 * the ceiling (*hot: arenas of that size wait there, all at or above it);
 * the other policies the first one. */
static pma_arena *pool_take(pma_heap *h, uint64_t need, uint32_t ceiling, bool *hot)
{
    bool wear = h->cfg.policy == PMA_WEAR_AWARE;
    pma_arena **best = NULL;
    uint64_t least = UINT64_MAX;
    for (pma_arena **pp = &h->pool_large; *pp; pp = &(*pp)->pool_next) {
        if ((*pp)->size != need || *pp == h->gap)
            continue;
        uint64_t n = atomic_load_explicit(&(*pp)->allocs_total, memory_order_relaxed);
        if (!wear) {
            best = pp;
            break;
        }
        if (n < least) {
            least = n;
            best = pp;
        }
    }
    *hot = false;
    if (best && wear && least >= ceiling) {
        *hot = true;
        return NULL;
    }
    pma_arena *a = best ? *best : NULL;
    if (a)
        pma_pool_unlink(h, best);
    return a;
}

/* A large object's arena: one from the pool, else new device space. Under
 * wear-aware large objects follow the small classes' rule, over whole
 * arenas (an arena's allocation count is its blocks' estimate): a pooled
 * arena below the ceiling, else a new one inside the bound growth for heat
 * has (zone.c: from the gap's front for PMA_ZONE_MIN bytes and more, else
 * from its end), else the ceiling rises a step and the pool is looked at
 * again. With no pooled arena of the size at all the heap grows as far as
 * the device allows, as under the other policies, and then carves the arena
 * out of bigger freed ones (space.c). The object
 * always starts at the arena's data area (no rotation inside the arena: gc's
 * trace and the object word of intent and log find it there). */
static int large_arena(pma_heap *h, uint64_t need, pma_arena **out)
{
    for (;;) {
        pthread_mutex_lock(&h->grow);
        uint32_t ceiling = atomic_load_explicit(&h->wear_ceiling, memory_order_relaxed);
        bool hot;
        pma_arena *a = pool_take(h, need, ceiling, &hot);
        int rc = 0;
        if (!a && pma_zone_on(h)) {
            rc = need >= PMA_ZONE_MIN ? pma_zone_front(h, need, hot, &a)
                                      : pma_zone_end(h, PMA_CLASS_LARGE, need, hot, &a);
            if (rc == PMA_ENOMEM && !hot)
                rc = pma_space_take(h, PMA_CLASS_LARGE, need, &a);
        } else if (!a) {
            uint64_t off;
            rc = pma_heap_alloc_space(h, need, &off);
            if (rc == 0 && hot && off + need > nv_size(h->dev) / 100 * h->cfg.wear_spread_percent)
                rc = PMA_ENOMEM;           /* past the spread: reuse before growing */
            if (rc == 0)
                rc = pma_arena_create(h, PMA_CLASS_LARGE, off, need, &a);
            if (rc == 0)
                rc = pma_heap_publish_arena(h, a, off + need);
            if (rc == PMA_ENOMEM && !hot)
                rc = pma_space_take(h, PMA_CLASS_LARGE, need, &a);
        }
        pthread_mutex_unlock(&h->grow);
        if (rc == PMA_ENOMEM && hot) {
            /* From the ceiling seen: two threads that both ran out raise it once. */
            atomic_compare_exchange_strong_explicit(&h->wear_ceiling, &ceiling, ceiling + 1,
                                                    memory_order_relaxed, memory_order_relaxed);
            continue;
        }
        *out = rc ? NULL : a;
        return rc;
    }
}

PMA_SLOW static void *get_large(pma_heap *h, pma_tcache *tc, uint64_t size, uint64_t padded)
{
    uint64_t need = pma_large_arena_bytes(h, padded);
    pma_arena *a = pma_tc_large_take(h, tc, need);
    int rc = 0;
    if (!a && (rc = large_arena(h, need, &a)) == PMA_ENOMEM && tc->nlarge) {
        pma_tc_large_drain(h, tc);         /* what it kept may be carved or merged */
        rc = large_arena(h, need, &a);
    }
    if (rc)
        return fail(h, rc);
    pma_spin_lock(&a->lock);
    a->in_pool = false;
    a->pool_next = NULL;
    rc = pma_arena_large_set(h, tc, a, true, size);
    uint64_t allocated = a->allocated;
    pma_spin_unlock(&a->lock);
    if (rc) {
        pthread_mutex_lock(&h->grow);
        a->in_pool = true;
        pma_pool_push(h, a);
        pthread_mutex_unlock(&h->grow);
        return fail(h, rc);
    }
    pma_count(&tc->ct.allocs, 1);
    pma_count(&tc->ct.requested, size);
    pma_count(&tc->ct.allocated, allocated);
    pma_count(&tc->ct.held, allocated);
    return (unsigned char *)nv_base(h->dev) + a->data;
}

/* The protocol's steps; log's inline (persist_log.h), others through the table. */
static inline bool is_log(const pma_heap *h) { return h->po == &pma_persist_log; }

static inline int op_begin(pma_heap *h, pma_tcache *tc)
{
    pma_badmap_poll(h);          /* failures the device reported: retire their blocks */
    if (is_log(h))
        return pma_log_begin(h, tc);
    return h->po && h->po->begin ? h->po->begin(h, tc) : 0;
}

static inline void op_end(pma_heap *h, pma_tcache *tc)
{
    if (is_log(h))
        pma_log_end(h, tc);
    else if (h->po && h->po->end)
        h->po->end(h, tc);
}

static inline __attribute__((always_inline)) int op_persist(pma_heap *h, pma_tcache *tc, pma_arena *a, bool alloc,
                                                            uint32_t u, uint32_t n, uint32_t gen)
{
    if (is_log(h))
        return pma_log_append(h, tc, a, alloc ? PMA_OP_ALLOC : PMA_OP_FREE, u, n, gen);
    if (!h->po || !h->po->alloc)
        return 0;                           /* dram, gc: nothing to store */
    return alloc ? h->po->alloc(h, tc, a, u, n) : h->po->free(h, tc, a, u, n);
}

int pma_op_begin(pma_heap *h, pma_tcache *tc) { return op_begin(h, tc); }
void pma_op_end(pma_heap *h, pma_tcache *tc) { op_end(h, tc); }

static void *get_small(pma_heap *h, pma_tcache *tc, int cls, uint64_t size, uint64_t padded)
{
    uint32_t n = (uint32_t)(padded >> h->g_shift);
    uint64_t bytes = (uint64_t)n << h->g_shift;
    unsigned bin = pma_tc_bin_of(padded);
    pma_tentry e;
    bool hit;
    while ((hit = pma_tc_pop(tc, bin, n, &e))) {
        pma_count(&tc->ct.held, -bytes);
        if (!atomic_load_explicit(&e.a->nbad, memory_order_relaxed))
            break;
        pma_spin_lock(&e.a->lock);
        bool worn = pma_badmap_block_bad(e.a, e.u, n);
        pma_spin_unlock(&e.a->lock);
        if (!worn)
            break;
        pma_tc_release_block(h, e.a, e.u, n);     /* a failed line: retired, not handed out */
    }
    if (hit) {
        pma_count(&tc->ct.hits, 1);
    } else {
        pma_count(&tc->ct.misses, 1);
        int rc = refill(h, tc, cls, bin, n, &e);
        if (rc)
            return fail(h, rc);
    }
    pma_arena *a = e.a;
    if (atomic_load_explicit(&a->cls, memory_order_relaxed) != cls)
        pma_count(&tc->ct.next_class, 1);
    pma_slot *sl = &a->slot[e.u >> a->stride_shift];
    pma_slot_set_n(sl, n);
    sl->slack = (uint16_t)(bytes - size);
    uint32_t gen = pma_slot_bump_gen(sl, 1);        /* odd: live */
    {
        int rc = op_persist(h, tc, a, true, e.u, n, gen);
        if (rc) {           /* not durable: not handed out */
            pma_slot_bump_gen(sl, (uint32_t)-1);
            pma_tbin *b = &tc->bin[bin];
            if (b->count < b->cap) {
                b->e[b->count++] = e;
                pma_count(&tc->ct.held, bytes);
            } else {
                pma_tc_release_block(h, a, e.u, n);
            }
            return fail(h, rc);
        }
    }
    pma_count(&tc->ct.allocs, 1);
    pma_count(&tc->ct.requested, size);
    pma_count(&tc->ct.allocated, bytes);
    pma_count(&tc->ct.held, bytes);
    return unit_ptr(h, a, e.u);
}

/* Everything the lane does not serve (lane.h). */
static __attribute__((noinline)) void *get_mem(pma_heap *h, size_t size)
{
    if (!h || size == 0)
        return fail(h, PMA_EINVAL);
    if (size > nv_size(h->dev))
        return fail(h, PMA_ENOMEM);
    uint64_t padded = (((uint64_t)size + h->q - 1) >> h->q_shift) << h->q_shift;
    int cls = (int)pma_heap_class_of(h, padded);
    if (h->fixed_slots && cls != PMA_CLASS_LARGE)
        padded = (uint64_t)pma_slot_units(h, cls) << h->g_shift;    /* the class's whole slot */
    pma_tcache *tc = pma_tc_get(h);
    if (!tc)
        return fail(h, PMA_ENOMEM);
    int rc = op_begin(h, tc);
    if (rc)
        return fail(h, rc);
    void *p = cls == PMA_CLASS_LARGE ? get_large(h, tc, size, padded) : get_small(h, tc, cls, size, padded);
    op_end(h, tc);
    return p;
}

void *pma_get_mem(pma_heap *h, size_t size)
{
    pma_tcache *tc = pma_tc_mine;
    if (__builtin_expect(tc && tc->lane == h, 1))   /* never for NULL (tcache.c) */
        return pma_lane_get(h, tc, size, get_mem);
    return get_mem(h, size);
}

PMA_SLOW static int bad_free(pma_heap *h, int err)
{
    atomic_fetch_add_explicit(&h->bad_frees, 1, memory_order_relaxed);
    pma_set_error(err);
    return err;
}

PMA_SLOW static int return_large(pma_heap *h, pma_tcache *tc, pma_arena *a)
{
    pma_spin_lock(&a->lock);
    if (!a->live_large) {
        pma_spin_unlock(&a->lock);
        return bad_free(h, PMA_EDOUBLE);
    }
    uint64_t requested = a->requested, allocated = a->allocated;
    int rc = pma_arena_large_set(h, tc, a, false, 0);
    if (rc) {
        pma_spin_unlock(&a->lock);
        pma_set_error(rc);
        return rc;
    }
    a->in_pool = true;
    pma_spin_unlock(&a->lock);
    pma_count(&tc->ct.frees, 1);
    pma_count(&tc->ct.requested, -requested);
    pma_count(&tc->ct.allocated, -allocated);
    pma_count(&tc->ct.held, -allocated);
    if (pma_tc_large_keep(h, tc, a))
        return 0;
    pthread_mutex_lock(&h->grow);
    pma_pool_back(h, a);
    pthread_mutex_unlock(&h->grow);
    return 0;
}

/* Why ptr (a stride-aligned unit of a small arena) is not a live object:
 * a block once freed (the slot's generation is even and not 0) is a double
 * free, anything else a foreign or interior pointer. */
PMA_SLOW static int classify(pma_heap *h, pma_arena *a, uint32_t u)
{
    pma_spin_lock(&a->lock);
    uint32_t gen = atomic_load_explicit(&a->slot[u >> a->stride_shift].gen, memory_order_relaxed);
    bool interior = !pma_bm_get(a->start, u) && pma_bm_get(a->alloc, u);
    pma_spin_unlock(&a->lock);
    return bad_free(h, !interior && gen != 0 && !(gen & 1) ? PMA_EDOUBLE : PMA_EINVAL);
}

static int return_small(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u)
{
    pma_slot *sl = &a->slot[u >> a->stride_shift];
    if (!pma_slot_live(sl))
        return classify(h, a, u);
    uint32_t n = pma_slot_n(sl);
    uint64_t bytes = (uint64_t)n << h->g_shift;
    uint32_t gen = pma_slot_bump_gen(sl, 1);
    {
        int rc = op_persist(h, tc, a, false, u, n, gen);
        if (rc) {           /* not durable: still live */
            pma_slot_bump_gen(sl, (uint32_t)-1);
            pma_set_error(rc);
            return rc;
        }
    }
    pma_count(&tc->ct.frees, 1);
    pma_count(&tc->ct.requested, -(bytes - sl->slack));
    pma_count(&tc->ct.allocated, -bytes);
    pma_count(&tc->ct.held, -bytes);
    if (!h->tc_on) {
        pma_tc_release_block(h, a, u, n);
        return 0;
    }
    if (atomic_load_explicit(&a->nbad, memory_order_relaxed)) {
        pma_spin_lock(&a->lock);
        bool worn = pma_badmap_block_bad(a, u, n);
        pma_spin_unlock(&a->lock);
        if (worn) {                 /* not cached: its failed units are retired */
            pma_tc_release_block(h, a, u, n);
            return 0;
        }
    }
    unsigned bin = pma_tc_bin_of(bytes);
    pma_tbin *b = &tc->bin[bin];
    if (b->count >= b->cap) {
        pma_tc_trim(h, tc, bin);
        b->want = b->want > 1 ? (uint16_t)(b->want / 2) : 1;    /* overflowing: refill less */
    }
    pma_tc_push(b, a, u, n);
    pma_count(&tc->ct.held, bytes);
    return 0;
}

static __attribute__((noinline)) int return_mem(pma_heap *h, void *ptr)
{
    if (!h)
        return PMA_EINVAL;
    pma_arena *a;
    uint32_t u;
    int rc = pma_locate(h, ptr, &a, &u);
    if (rc)
        return bad_free(h, rc);
    pma_tcache *tc = pma_tc_get(h);
    if (!tc) {
        pma_set_error(PMA_ENOMEM);
        return PMA_ENOMEM;
    }
    rc = op_begin(h, tc);
    if (rc) {
        pma_set_error(rc);
        return rc;
    }
    rc = a->large ? return_large(h, tc, a) : return_small(h, tc, a, u);
    op_end(h, tc);
    return rc;
}

int pma_return_mem(pma_heap *h, void *ptr)
{
    pma_tcache *tc = pma_tc_mine;
    if (__builtin_expect(tc && tc->lane == h, 1))   /* never for NULL (tcache.c) */
        return pma_lane_return(h, tc, ptr, return_mem);
    return return_mem(h, ptr);
}

size_t pma_usable_size(pma_heap *h, const void *ptr)
{
    pma_arena *a;
    uint32_t u;
    if (!h || pma_locate(h, ptr, &a, &u) != 0)
        return 0;
    if (a->large) {
        pma_spin_lock(&a->lock);
        size_t n = a->live_large ? (size_t)a->allocated : 0;
        pma_spin_unlock(&a->lock);
        return n;
    }
    if (!pma_slot_live(&a->slot[u >> a->stride_shift]))
        return 0;
    return (size_t)pma_slot_n(&a->slot[u >> a->stride_shift]) * h->cfg.granularity;
}
