/*
 * workloads.c - the throughput workloads of the peer benchmark, and the trace
 * loader they and the wear replay share.
 *
 * Every workload runs for a time budget (the clock is read every 256
 * iterations) on 1 to BP_MAX_THREADS threads sharing one allocator, and
 * counts operations:
 *
 *   pairsN    alloc N bytes, free it (N = 64, 256, 1024, 4096); one pair an op.
 *   batch     alloc 1000 objects of 16 .. 512 bytes (a fixed cycle), then free
 *             the 1000 in order; one alloc+free an op.
 *   larson    the server pattern of Larson and Krishnan: each thread keeps 1000
 *             slots, repeatedly frees a random slot and fills it with a new
 *             object of 16 .. 1024 bytes; every 10000 ops the threads meet at
 *             a barrier and pass their slot arrays on (thread i takes i+1's),
 *             so the objects one thread allocated are freed by another
 *             (cross-thread frees).
 *   prodcons  N/2 producer-consumer pairs, each with a ring of its own: the
 *             producer allocates 16 .. 1024 bytes and hands the objects to its
 *             consumer, which frees them. On 1 thread (and the odd thread out
 *             of an odd N): fill a ring, drain it. One object an op.
 *   replay    the trace's allocs, frees and reallocs, in file order, with the
 *             on_alloc full write model (each object written once when
 *             allocated; a realloc is alloc + copy + tail write + free). On N
 *             threads each thread replays its own copy of the trace. At the
 *             end of a pass the objects still live are freed and the pass
 *             starts again; one trace event an op.
 *
 * More threads than cores is allowed (a scaling curve goes past the core
 * count): the spin loops of prodcons yield the core after a while, and the
 * threads get small stacks, so a thousand of them fit.
 *
 * Only replay writes the objects (as pmarena's replay engine does); the
 * synthetic loops measure the allocator alone, like bench/bench_alloc.c.
 * The trace is loaded into memory (bp_trace_load) before anything is measured
 * and before any allocation the replay makes, so neither parsing nor the
 * reader's own allocations are timed or placed among the peer's objects.
 */
#include "worker.h"

#include "pmarena/trace.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- trace loading ----------------------------------------------------------- */

int bp_trace_load(bp_trace *t, const char *path, const char *cache_dir, char *msg, size_t msglen)
{
    memset(t, 0, sizeof *t);
    tr_reader *r = NULL;
    tr_error err;
    int rc = cache_dir ? tr_reader_open_cached(&r, path, cache_dir, &err) : tr_reader_open(&r, path, &err);
    if (rc != 0) {
        tr_error_format(&err, msg, msglen);
        return -1;
    }
    size_t cap = 1 << 16, scap = 1 << 16;
    t->ev = malloc(cap * sizeof *t->ev);
    t->size = malloc(scap * sizeof *t->size);
    tr_event e;
    tr_obj *o, *old;
    while ((rc = tr_reader_next(r, &e, &o, &old, &err)) == 1) {
        if (e.op == TR_READ)
            continue;
        if (t->n == cap)
            t->ev = realloc(t->ev, (cap *= 2) * sizeof *t->ev);
        bp_ev *b = &t->ev[t->n++];
        memset(b, 0, sizeof *b);
        b->op = (uint8_t)e.op;
        if (e.op == TR_ALLOC || e.op == TR_REALLOC) {
            if (t->objects == scap)
                t->size = realloc(t->size, (scap *= 2) * sizeof *t->size);
            t->size[t->objects] = e.size;
            o->user = (void *)(uintptr_t)(t->objects + 1);
            b->obj = t->objects++;
            b->size = e.size;
            if (e.op == TR_REALLOC)
                b->old = (uint32_t)((uintptr_t)old->user - 1);
        } else {
            b->obj = (uint32_t)((uintptr_t)o->user - 1);
            b->size = e.len;
            b->offset = e.offset;
        }
        if (e.op == TR_FREE)
            tr_reader_release(r, o);
        if (e.op == TR_REALLOC)
            tr_reader_release(r, old);
    }
    if (rc < 0) {
        tr_error_format(&err, msg, msglen);
        tr_reader_close(r);
        bp_trace_free(t);
        return -1;
    }
    tr_reader_close(r);
    return 0;
}

void bp_trace_free(bp_trace *t)
{
    free(t->ev);
    free(t->size);
    memset(t, 0, sizeof *t);
}

/* ---- the loops ------------------------------------------------------------------ */

enum { SLOTS = 1000, ROUND = 10000, RING = 1024, SPINS = 1024 };

/* prodcons: one ring per producer-consumer pair; NULL = empty slot. Each is
 * 8 KiB, so two pairs share no cache line but at the edges. */
typedef struct ring {
    void *_Atomic slot[RING];
    atomic_int producer_done;
} ring;

typedef struct shared {
    bp_peer *p;
    const char *workload;
    int threads;
    double deadline;
    const bp_trace *trace;
    pthread_barrier_t bar;
    atomic_int stop;
    void ***larson;                /* threads slot arrays, passed on every round */
    ring *rings;                   /* prodcons: threads/2 pairs, + 1 for an odd one out */
} shared;

typedef struct worker { shared *s; int id; uint64_t ops; double secs; } worker;

static inline uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static uint64_t run_pairs(shared *s, size_t size)
{
    uint64_t ops = 0;
    do {
        for (int i = 0; i < 256; i++) {
            void *volatile q = bp_must_alloc(s->p, size);
            bp_free(s->p, q);
        }
        ops += 256;
    } while (now_s() < s->deadline);
    return ops;
}

static uint64_t run_batch(shared *s)
{
    static const size_t sizes[] = {16, 32, 48, 64, 96, 128, 256, 512};
    void **v = malloc(1000 * sizeof *v);
    uint64_t ops = 0;
    do {
        for (int i = 0; i < 1000; i++)
            v[i] = bp_must_alloc(s->p, sizes[i % 8]);
        for (int i = 0; i < 1000; i++)
            bp_free(s->p, v[i]);
        ops += 1000;
    } while (now_s() < s->deadline);
    free(v);
    return ops;
}

/* A round ends early at the deadline (checked every 256 ops), so that many
 * threads on few cores do not overrun the time budget by whole rounds. Any
 * thread may raise stop, always before the first barrier; all read it after. */
static uint64_t run_larson(shared *s, int id)
{
    uint64_t x = 88172645463325252ull + (uint64_t)id * 7919, ops = 0;
    for (int round = 0;; round++) {
        void **slots = s->larson[(id + round) % s->threads];
        int i = 0;
        while (i < ROUND) {
            uint64_t k = rnd(&x) % SLOTS;
            bp_free(s->p, slots[k]);
            slots[k] = bp_must_alloc(s->p, 16 + rnd(&x) % 1009);
            if ((++i & 255) == 0 && now_s() >= s->deadline)
                break;
        }
        ops += (uint64_t)i;
        if (now_s() >= s->deadline)
            atomic_store(&s->stop, 1);
        pthread_barrier_wait(&s->bar);
        int stop = atomic_load(&s->stop);
        pthread_barrier_wait(&s->bar);      /* nobody starts the next round on a stale array */
        if (stop)
            return ops;
    }
}

/* Waiting on the other side of a ring: spin, and give the core up now and
 * then, which matters only when there are more threads than cores. */
static inline void spin_wait(unsigned *spins)
{
    if (++*spins % SPINS == 0)
        sched_yield();
}

static uint64_t run_prodcons(shared *s, int id)
{
    uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)id * 7919, ops = 0;
    int pairs = s->threads / 2;
    unsigned spins = 0;
    if (id >= 2 * pairs) {         /* 1 thread, or the odd one out: alone on its ring */
        ring *r = &s->rings[pairs];
        do {
            for (int i = 0; i < RING; i++)
                r->slot[i] = bp_must_alloc(s->p, 16 + rnd(&x) % 1009);
            for (int i = 0; i < RING; i++)
                bp_free(s->p, r->slot[i]);
            ops += RING;
        } while (now_s() < s->deadline);
        return ops;
    }
    ring *r = &s->rings[id / 2];
    if (id % 2 == 0) {             /* producer */
        size_t head = 0;
        do {
            for (int i = 0; i < 256; i++) {
                void *q = bp_must_alloc(s->p, 16 + rnd(&x) % 1009);
                while (atomic_load_explicit(&r->slot[head], memory_order_acquire))
                    spin_wait(&spins);
                atomic_store_explicit(&r->slot[head], q, memory_order_release);
                head = (head + 1) % RING;
            }
            ops += 256;
        } while (now_s() < s->deadline);
        atomic_store(&r->producer_done, 1);
        return ops;
    }
    size_t tail = 0;               /* consumer */
    for (;;) {
        void *q = atomic_load_explicit(&r->slot[tail], memory_order_acquire);
        if (!q) {
            if (atomic_load(&r->producer_done) && !atomic_load(&r->slot[tail]))
                return 0;
            spin_wait(&spins);
            continue;
        }
        atomic_store_explicit(&r->slot[tail], NULL, memory_order_relaxed);
        tail = (tail + 1) % RING;
        bp_free(s->p, q);
    }
}

static void replay_write(void *peer, void *at, uint64_t len)
{
    if (len)
        bp_write(peer, at, 0x5a, len);
}

static uint64_t run_replay(shared *s)
{
    const bp_trace *t = s->trace;
    bp_peer *p = s->p;
    void **ptr = calloc(t->objects ? t->objects : 1, sizeof *ptr);
    uint64_t ops = 0;
    for (;;) {
        for (size_t i = 0; i < t->n; i++) {
            bp_replay_event(p, t, &t->ev[i], ptr, replay_write, p);
            if ((++ops & 255) == 0 && now_s() >= s->deadline)
                goto out;
        }
        for (uint32_t k = 0; k < t->objects; k++)
            if (ptr[k]) {
                bp_free(p, ptr[k]);
                ptr[k] = NULL;
            }
        if (now_s() >= s->deadline)
            break;
    }
out:
    for (uint32_t k = 0; k < t->objects; k++)
        if (ptr[k])
            bp_free(p, ptr[k]);
    free(ptr);
    return ops;
}

static void *thread_main(void *arg)
{
    worker *w = arg;
    shared *s = w->s;
    const char *wl = s->workload;
    pthread_barrier_wait(&s->bar);
    double t0 = now_s();
    if (strncmp(wl, "pairs", 5) == 0)
        w->ops = run_pairs(s, (size_t)atoi(wl + 5));
    else if (strcmp(wl, "batch") == 0)
        w->ops = run_batch(s);
    else if (strcmp(wl, "larson") == 0)
        w->ops = run_larson(s, w->id);
    else if (strcmp(wl, "prodcons") == 0)
        w->ops = run_prodcons(s, w->id);
    else
        w->ops = run_replay(s);
    w->secs = now_s() - t0;
    return NULL;
}

int bp_workload_known(const char *name)
{
    static const char *const names[] = {"pairs64", "pairs256", "pairs1024", "pairs4096", "batch",
                                        "larson", "prodcons", "replay"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

int bp_run(bp_peer *p, const char *workload, int threads, double seconds, const bp_trace *trace,
           bp_result *out, char *msg, size_t msglen)
{
    if (!bp_workload_known(workload) || threads < 1 || threads > BP_MAX_THREADS ||
        (strcmp(workload, "replay") == 0 && !trace)) {
        snprintf(msg, msglen, "bad workload '%s' or thread count %d", workload, threads);
        return -1;
    }
    memset(out, 0, sizeof *out);
    shared *s = calloc(1, sizeof *s);
    worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    s->p = p;
    s->workload = workload;
    s->threads = threads;
    s->trace = trace;
    pthread_barrier_init(&s->bar, NULL, (unsigned)threads);
    if (strcmp(workload, "larson") == 0) {
        s->larson = calloc((size_t)threads, sizeof *s->larson);
        for (int t = 0; t < threads; t++) {
            s->larson[t] = malloc(SLOTS * sizeof(void *));
            for (int k = 0; k < SLOTS; k++)
                s->larson[t][k] = bp_must_alloc(p, 16 + (size_t)(k * 37) % 1009);
        }
    }
    if (strcmp(workload, "prodcons") == 0)
        s->rings = calloc((size_t)threads / 2 + 1, sizeof *s->rings);
    /* The device's counters and the heap's (pma_stats: cache hits, flushes,
     * fences, metadata bytes) are read around the timed loop only: larson's
     * setup and teardown are not in them. */
    nv_counters c0 = {0}, c1 = {0};
    pma_heap_stats h0, h1;
    int sim = p->kind == BP_PMA && nv_device_kind(p->dev) == NV_KIND_SIM;
    if (sim)
        nv_counters_get(p->dev, &c0);
    int stats = p->kind == BP_PMA && pma_stats(p->heap, &h0) == 0;
    /* Small stacks: the loops need little, and a thousand threads of the
     * default 8 MiB would be 8 GiB of address space. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    s->deadline = now_s() + seconds;     /* reset below, once the threads are ready */
    for (int t = 0; t < threads; t++) {
        w[t] = (worker){s, t, 0, 0};
        int rc = t > 0 ? pthread_create(&tid[t], &attr, thread_main, &w[t]) : 0;
        if (rc != 0) {
            /* The threads already made wait at the start barrier for ever:
             * this process can only end. */
            fprintf(stderr, "bench-worker: cannot start thread %d of %d: %s\n", t + 1, threads, strerror(rc));
            exit(1);
        }
    }
    pthread_attr_destroy(&attr);
    /* thread 0 is this one; the barrier in thread_main starts everyone at once */
    s->deadline = now_s() + seconds;
    thread_main(&w[0]);
    for (int t = 1; t < threads; t++)
        pthread_join(tid[t], NULL);
    for (int t = 0; t < threads; t++) {
        out->ops += w[t].ops;
        if (w[t].secs > out->secs)
            out->secs = w[t].secs;
    }
    if (sim) {
        nv_counters_get(p->dev, &c1);
        out->sim_ns = c1.time_ns - c0.time_ns;
    }
    if (stats && pma_stats(p->heap, &h1) == 0) {
        out->has_stats = 1;
        out->cache_hits = h1.cache_hits - h0.cache_hits;
        out->cache_misses = h1.cache_misses - h0.cache_misses;
        out->flushes = h1.flushes - h0.flushes;
        out->fences = h1.fences - h0.fences;
        out->meta_bytes = h1.meta_bytes - h0.meta_bytes;
        out->checkpoints = h1.checkpoints - h0.checkpoints;
        out->log_wraps = h1.log_wraps - h0.log_wraps;
    }
    if (s->larson) {
        for (int t = 0; t < threads; t++) {
            for (int k = 0; k < SLOTS; k++)
                bp_free(p, s->larson[t][k]);
            free(s->larson[t]);
        }
        free(s->larson);
    }
    free(s->rings);
    pthread_barrier_destroy(&s->bar);
    free(s);
    free(w);
    free(tid);
    return 0;
}
