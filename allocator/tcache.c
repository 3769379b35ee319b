/*
 * tcache.c - the thread caches' lifecycle: found through a thread-local list
 * (one cache per heap the thread used), registered with their heap so that
 * pma_stats can sum their counters and a checkpoint can lock them all,
 * drained back into the arenas when the thread exits, detached when the
 * heap is destroyed. Gets and returns through them are in alloc.c.
 *
 * Lifetime: a cache belongs to its thread (freed at thread exit); the heap
 * only borrows it. A global mutex orders a thread's exit against a heap's
 * destruction, so neither side touches what the other has freed.
 */
#include "tcache.h"

#include <stdlib.h>
#include <string.h>

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
_Thread_local pma_tcache *pma_tc_mine;
#define mine pma_tc_mine

static void sum_into(pma_tcounters *to, const pma_tcounters *from)
{
#define ADD(f) pma_count(&to->f, atomic_load_explicit(&from->f, memory_order_relaxed))
    ADD(allocs); ADD(frees); ADD(hits); ADD(misses); ADD(next_class);
    ADD(requested); ADD(allocated); ADD(objects);
    ADD(flushes); ADD(fences); ADD(meta_bytes); ADD(records);
    ADD(lane_gets); ADD(lane_frees); ADD(held);
#undef ADD
}

void pma_tc_release_block(pma_heap *h, pma_arena *a, uint32_t u, uint32_t n)
{
    pma_spin_lock(&a->lock);
    pma_arena_release_space(h, a, u, n);
    int cls = atomic_load_explicit(&a->cls, memory_order_relaxed);
    bool rejoin = !a->on_list && pma_arena_has_room(h, a, cls);
    pma_spin_unlock(&a->lock);
    if (!rejoin)
        return;
    pma_class *c = &h->cls[cls];
    pthread_mutex_lock(&c->lock);
    pma_spin_lock(&a->lock);
    if (atomic_load(&a->cls) == cls && !a->on_list && pma_arena_has_room(h, a, cls))
        pma_list_push(h, c, a);
    pma_spin_unlock(&a->lock);
    pthread_mutex_unlock(&c->lock);
}

static void give_back(pma_heap *h, pma_tcache *tc, pma_tbin *b, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++) {
        pma_tentry *e = &b->e[i];
        pma_tc_release_block(h, e->a, e->u, e->n);
        pma_count(&tc->ct.held, -((uint64_t)e->n << h->g_shift));
    }
}

void pma_tc_trim(pma_heap *h, pma_tcache *tc, unsigned bin)
{
    pma_tbin *b = &tc->bin[bin];
    uint32_t half = (b->count + 1) / 2;
    give_back(h, tc, b, 0, half);
    memmove(b->e, b->e + half, (b->count - half) * sizeof b->e[0]);
    b->count -= half;
}

void pma_tc_drain(pma_heap *h, pma_tcache *tc)
{
    for (int c = 0; c < PMA_TC_BINS; c++) {
        give_back(h, tc, &tc->bin[c], 0, tc->bin[c].count);
        tc->bin[c].count = 0;
    }
    pma_tc_large_drain(h, tc);
}

/* The oldest k kept large arenas back to the pool, under one grow lock. */
static void large_give_back(pma_heap *h, pma_tcache *tc, uint32_t k)
{
    pthread_mutex_lock(&h->grow);
    for (uint32_t i = 0; i < k; i++)
        pma_pool_back(h, tc->large[i]);
    pthread_mutex_unlock(&h->grow);
    memmove(tc->large, tc->large + k, (tc->nlarge - k) * sizeof tc->large[0]);
    tc->nlarge -= k;
}

pma_arena *pma_tc_large_take(pma_heap *h, pma_tcache *tc, uint64_t size)
{
    for (uint32_t i = tc->nlarge; i-- > 0;) {
        pma_arena *a = tc->large[i];
        /* Its size is fixed while it is here: only pooled arenas are carved
         * or merged (space.c). */
        if (a->size != size)
            continue;
        memmove(tc->large + i, tc->large + i + 1, (tc->nlarge - i - 1) * sizeof a);
        tc->nlarge--;
        if (!atomic_load_explicit(&a->bad_large, memory_order_relaxed))
            return a;
        /* A line of it failed while it was kept: retired (pma_pool_back). */
        pthread_mutex_lock(&h->grow);
        pma_pool_back(h, a);
        pthread_mutex_unlock(&h->grow);
    }
    return NULL;
}

bool pma_tc_large_keep(pma_heap *h, pma_tcache *tc, pma_arena *a)
{
    if (!h->tc_on || a->size > PMA_TC_LARGE_MAX || atomic_load_explicit(&a->bad_large, memory_order_relaxed))
        return false;
    if (tc->nlarge == PMA_TC_LARGE)
        large_give_back(h, tc, PMA_TC_LARGE / 2);     /* the older half: one lock for several */
    tc->large[tc->nlarge++] = a;
    return true;
}

void pma_tc_large_drain(pma_heap *h, pma_tcache *tc)
{
    if (tc->nlarge)
        large_give_back(h, tc, tc->nlarge);
}

static void unlink_locked(pma_heap *h, pma_tcache *tc)
{
    atomic_fetch_sub_explicit(&h->ncaches, 1, memory_order_relaxed);
    if (tc->hprev)
        tc->hprev->hnext = tc->hnext;
    else
        h->caches = tc->hnext;
    if (tc->hnext)
        tc->hnext->hprev = tc->hprev;
    tc->hnext = tc->hprev = NULL;
}

/* Thread exit: every cache still attached goes back to its heap. */
static void thread_exit(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&registry);
    for (pma_tcache *tc = mine, *next; tc; tc = next) {
        next = tc->tnext;
        pma_heap *h = tc->heap;
        if (h) {
            pma_tc_drain(h, tc);
            pthread_mutex_lock(&h->tc_lock);
            sum_into(&h->retired, &tc->ct);
            unlink_locked(h, tc);
            pthread_mutex_unlock(&h->tc_lock);
        }
        free(tc);
    }
    mine = NULL;
    pthread_mutex_unlock(&registry);
}

/* The lane of a cache whose heap has none: no heap's address, and not
 * NULL, so that pma_get_mem(NULL, ..) does not match it (one test fewer
 * on every get and return). */
static char lane_closed;
#define LANE_CLOSED ((pma_heap *)(void *)&lane_closed)

static void make_key(void) { pthread_key_create(&exit_key, thread_exit); }

pma_tcache *pma_tc_get_slow(pma_heap *h)
{
    pma_tcache *tc;
    pma_tcache **pp = &mine;
    for (; *pp; pp = &(*pp)->tnext) {
        if ((*pp)->heap_id == h->id) {
            tc = *pp;                 /* move to front: the next lookup is one compare */
            *pp = tc->tnext;
            tc->tnext = mine;
            mine = tc;
            return tc;
        }
    }
    pthread_once(&key_once, make_key);
    /* A cache whose heap is gone is reused rather than kept. */
    pthread_mutex_lock(&registry);
    for (pp = &mine; *pp; pp = &(*pp)->tnext)
        if (!(*pp)->heap)
            break;
    tc = *pp;
    if (tc)
        *pp = tc->tnext;
    pthread_mutex_unlock(&registry);
    if (!tc)
        tc = malloc(sizeof *tc);
    if (!tc)
        return NULL;
    memset(tc, 0, sizeof *tc);
    for (unsigned b = 0; b < PMA_TC_BINS; b++)
        tc->bin[b].cap = (uint16_t)pma_tc_cap(((uint64_t)b + 1) << 4);
    tc->heap = h;
    tc->heap_id = h->id;
    pthread_mutex_lock(&h->tc_lock);
    tc->lane = h->lane_ok ? h : LANE_CLOSED;
    tc->hnext = h->caches;
    if (h->caches)
        h->caches->hprev = tc;
    h->caches = tc;
    atomic_fetch_add_explicit(&h->ncaches, 1, memory_order_relaxed);
    pthread_mutex_unlock(&h->tc_lock);
    tc->tnext = mine;
    mine = tc;
    pthread_setspecific(exit_key, tc);   /* any non-NULL value: the destructor runs */
    return tc;
}

/* The lane's conditions (lane.h) hold for the heap's whole life: the
 * protocol, caches and quantum are fixed at open, and a direct device
 * never reports a failed line, so only a map loaded with one rules it out. */
void pma_tc_lane_open(pma_heap *h)
{
    bool ok = h->po == &pma_persist_log && h->tc_on && h->dev->direct && h->q == PMA_LANE_Q && h->g_shift == 0 &&
              !h->fixed_slots && nv_size(h->dev) <= PMA_LANE_MAX_DEVICE && h->arena_base < nv_size(h->dev);
    for (pma_arena *a = h->first; ok && a; a = a->all_next)
        ok = !atomic_load_explicit(&a->nbad, memory_order_relaxed);
    pthread_mutex_lock(&h->tc_lock);
    h->lane_ok = ok;
    h->lane.base = nv_base(h->dev);
    h->lane.arena_base = h->arena_base;
    h->lane.span = ok ? nv_size(h->dev) - h->arena_base : 0;
    h->lane.pagemap = h->pagemap;
    for (pma_tcache *tc = h->caches; tc; tc = tc->hnext)
        tc->lane = ok ? h : LANE_CLOSED;
    pthread_mutex_unlock(&h->tc_lock);
}

void pma_tc_detach_all(pma_heap *h)
{
    pthread_mutex_lock(&registry);
    pthread_mutex_lock(&h->tc_lock);
    for (pma_tcache *tc = h->caches, *next; tc; tc = next) {
        next = tc->hnext;
        tc->heap = NULL;
        tc->lane = LANE_CLOSED;
        tc->hnext = tc->hprev = NULL;
        for (int c = 0; c < PMA_TC_BINS; c++)
            tc->bin[c].count = 0;
        tc->nlarge = 0;
    }
    h->caches = NULL;
    atomic_store_explicit(&h->ncaches, 0, memory_order_relaxed);
    pthread_mutex_unlock(&h->tc_lock);
    pthread_mutex_unlock(&registry);
}

void pma_tc_sum(pma_heap *h, pma_tcounters *out, uint64_t *cached_bytes)
{
    memset(out, 0, sizeof *out);
    sum_into(out, &h->retired);
    for (pma_tcache *tc = h->caches; tc; tc = tc->hnext)
        sum_into(out, &tc->ct);
#define T(f) atomic_load_explicit(&out->f, memory_order_relaxed)
    uint64_t gets = T(lane_gets), frees = T(lane_frees);
    *cached_bytes = T(held) - T(allocated);
#undef T
    pma_count(&out->allocs, gets);
    pma_count(&out->hits, gets);
    pma_count(&out->frees, frees);
    pma_count(&out->records, gets + frees);
}
