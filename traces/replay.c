/*
 * replay.c - the replay engine (see replay.h): the deterministic loop, the
 * concurrent dispatcher and workers, and what one event does to the heap.
 *
 * Concurrent mode: the calling thread reads events and hands each to its
 * trace thread's queue, stamping it with its place among its object's events
 * (tr_obj.issued); a worker runs an event only once its object's `done`
 * count reaches that stamp, then bumps it. Every waiting event waits for one
 * dispatched earlier, so the earliest unfinished event can always run:
 * no deadlock, whatever the queue sizes. Records of freed objects are
 * released by the worker that ran the free.
 *
 * Links (replay.h): with the link table on, each alloc, free and realloc
 * also updates its entry, in the order replay_links.c gives.
 */
#include "pmarena/replay.h"
#include "replay_links.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_BYTES (1u << 20)     /* pseudo-random bytes that writes draw from */
#define QUEUE_CAP 4096

typedef struct replay {
    pma_heap *h;
    nv_device *dev;
    const tr_replay_config *cfg;
    unsigned char *pool;          /* POOL_BYTES, plus slack for a straddling slice */
    _Atomic uint64_t pool_pos;
    _Atomic uint64_t data_bytes, misaligned;
    _Atomic uint64_t live_bytes, live_objects, peak_bytes, peak_objects;
    uint64_t heap_align;
    tr_links *links;              /* NULL: links off */
    _Atomic int failed;
    tr_error fail_err;
    pthread_mutex_t fail_lock;
} replay;

void tr_replay_config_defaults(tr_replay_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = TR_DETERMINISTIC;
    cfg->on_alloc = TR_ON_ALLOC_FULL;
    cfg->data = TR_DATA_RANDOM;
    cfg->seed = 1;
}

bool tr_replay_links_on(const tr_replay_config *cfg, pma_heap *h)
{
    const pma_config *pc = pma_heap_config(h);
    if (cfg->links == TR_LINKS_AUTO)
        return pc->persistence == PMA_PERSIST_GC && pc->metadata != PMA_META_DRAM;
    return cfg->links == TR_LINKS_ON;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(replay *rp, uint64_t line, const char *what, int code)
{
    pthread_mutex_lock(&rp->fail_lock);
    if (!atomic_load(&rp->failed)) {
        tr_error_set(&rp->fail_err, "", line, 0, "%s: %s", what, pma_strerror(code));
        atomic_store(&rp->failed, 1);
    }
    pthread_mutex_unlock(&rp->fail_lock);
}

/* Writes len bytes of data at p: pool slices (or zeros), through the device. */
static void data_write(replay *rp, unsigned char *p, uint64_t len)
{
    uint64_t off = pma_offset(rp->h, p);
    rp->data_bytes += len;
    while (len) {
        uint64_t chunk = len < POOL_BYTES ? len : POOL_BYTES;
        if (rp->cfg->data == TR_DATA_ZERO) {
            nv_set(rp->dev, off, 0, chunk, NV_DATA);
        } else {
            /* A different slice each time, so rewrites change the bytes. */
            uint64_t at = atomic_fetch_add_explicit(&rp->pool_pos, 4099, memory_order_relaxed) % POOL_BYTES;
            nv_write(rp->dev, off, rp->pool + at, chunk, NV_DATA);
        }
        off += chunk;
        len -= chunk;
    }
}

static void live_add(replay *rp, int64_t bytes, int64_t objects)
{
    uint64_t b = atomic_fetch_add(&rp->live_bytes, (uint64_t)bytes) + (uint64_t)bytes;
    uint64_t o = atomic_fetch_add(&rp->live_objects, (uint64_t)objects) + (uint64_t)objects;
    uint64_t pb = atomic_load(&rp->peak_bytes), po = atomic_load(&rp->peak_objects);
    while (b > pb && !atomic_compare_exchange_weak(&rp->peak_bytes, &pb, b))
        ;
    while (o > po && !atomic_compare_exchange_weak(&rp->peak_objects, &po, o))
        ;
}

static unsigned char *do_alloc(replay *rp, const tr_event *e, uint64_t line)
{
    if (e->align > rp->heap_align)
        rp->misaligned++;
    unsigned char *p = pma_get_mem(rp->h, e->size ? e->size : 1);   /* malloc(0): one byte */
    if (!p) {
        char what[128];
        snprintf(what, sizeof what, "alloc of id %llu (%llu bytes) failed", (unsigned long long)e->id,
                 (unsigned long long)e->size);
        fail(rp, line, what, pma_last_error());
    }
    return p;
}

static void do_free_writes(replay *rp, tr_obj *o)
{
    for (uint32_t i = 0; i < rp->cfg->extra_writes; i++)
        data_write(rp, o->user, o->size);
}

/* Runs one event (its object's earlier events have finished). */
static void run_event(replay *rp, const tr_event *e, tr_obj *o, tr_obj *old, uint64_t line)
{
    if (atomic_load_explicit(&rp->failed, memory_order_relaxed))
        return;
    int rc;
    switch (e->op) {
    case TR_ALLOC:
        if (!(o->user = do_alloc(rp, e, line)))
            return;
        live_add(rp, (int64_t)o->size, 1);
        if (rp->cfg->on_alloc == TR_ON_ALLOC_FULL)
            data_write(rp, o->user, o->size);
        if (rp->links && (rc = tr_links_put(rp->links, o)) != 0)
            fail(rp, line, "linking the new object failed", rc);
        break;
    case TR_FREE:
        do_free_writes(rp, o);
        if (rp->links && (rc = tr_links_clear(rp->links, o)) != 0) {
            fail(rp, line, "unlinking the object failed", rc);
            return;
        }
        if ((rc = pma_return_mem(rp->h, o->user)) != 0) {
            fail(rp, line, "free failed", rc);
            return;
        }
        live_add(rp, -(int64_t)o->size, -1);
        break;
    case TR_REALLOC: {
        /* The old object's life ends here: its extra writes come first. */
        do_free_writes(rp, old);
        if (e->align > rp->heap_align)
            rp->misaligned++;
        unsigned char *p = pma_realloc(rp->h, old->user, e->size ? e->size : 1);
        if (!p) {
            char what[160];
            snprintf(what, sizeof what, "realloc of id %llu to %llu bytes failed", (unsigned long long)e->id,
                     (unsigned long long)e->size);
            fail(rp, line, what, pma_last_error());
            return;
        }
        o->user = p;
        bool moved = p != old->user;
        uint64_t keep = old->size < o->size ? old->size : o->size;
        if (moved) {
            /* pma_realloc copied what both objects were asked for (0 bytes
             * counted as 1, as allocated) as a data write. */
            uint64_t ob = old->size ? old->size : 1, nb = o->size ? o->size : 1;
            rp->data_bytes += ob < nb ? ob : nb;
        }
        if (rp->cfg->on_alloc == TR_ON_ALLOC_FULL && o->size > keep)
            data_write(rp, p + keep, o->size - keep);
        if (rp->links && moved && (rc = tr_links_move(rp->links, old, o)) != 0) {
            fail(rp, line, "linking the reallocated object failed", rc);
            return;
        }
        if (rp->links && !moved) {           /* its entry already names it */
            o->link = old->link;
            old->link = 0;
        }
        live_add(rp, (int64_t)o->size - (int64_t)old->size, 0);
        break;
    }
    case TR_WRITE:
        if (e->len)
            data_write(rp, (unsigned char *)o->user + e->offset, e->len);
        break;
    case TR_READ:
        if (e->len) {
            unsigned char sink[4096];
            for (uint64_t done = 0; done < e->len; done += sizeof sink) {
                uint64_t n = e->len - done < sizeof sink ? e->len - done : sizeof sink;
                nv_read(rp->dev, pma_offset(rp->h, o->user) + e->offset + done, sink, n);
            }
        }
        break;
    default:
        break;
    }
}

/* ---- deterministic ---------------------------------------------------------- */

/* Parsing JSON costs as much as simulating, so a reader thread parses ahead
 * into a ring while this thread replays, in file order: still one event at a
 * time against the heap, so still deterministic, and the two overlap. */
#define PIPE_CAP 8192

typedef struct pipe_item { tr_event e; tr_obj *o, *old; uint64_t line; } pipe_item;

typedef struct pipe {
    pipe_item *items;
    _Atomic uint64_t head, tail;      /* consumed, produced */
    _Atomic int done, stop;
    int rc;
    tr_error err;
    tr_reader *r;
    /* A side that finds the ring full (or empty) spins briefly, then sleeps
     * here rather than burning the other core: sweeps run points side by side. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic int sleepers;
} pipe;

static void pipe_wake(pipe *p, bool (*ready)(pipe *))
{
    if (atomic_load(&p->sleepers) && ready(p)) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Waits until ready(p) holds. The sleeper count is raised before the
 * condition is checked again, and the other side stores its progress before
 * it reads the count (both sequentially consistent), so no wake-up is lost. */
static void pipe_wait(pipe *p, bool (*ready)(pipe *))
{
    for (int spins = 0; spins < 200; spins++) {
        if (ready(p))
            return;
        __builtin_ia32_pause();
    }
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->sleepers, 1);
    while (!ready(p))
        pthread_cond_wait(&p->cond, &p->lock);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->lock);
}

/* A sleeper is woken for a batch, not for every item: a wake-up is a system
 * call, and one per event would cost more than the event. */
#define PIPE_BATCH 256

static bool pipe_has_room(pipe *p)
{
    return PIPE_CAP - (atomic_load(&p->tail) - atomic_load(&p->head)) >= PIPE_BATCH || atomic_load(&p->stop);
}

static bool pipe_has_item(pipe *p)
{
    return atomic_load(&p->tail) - atomic_load(&p->head) >= PIPE_BATCH || atomic_load(&p->done);
}

static void *pipe_reader(void *arg)
{
    pipe *p = arg;
    int rc;
    pipe_item it;
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed) &&
           (rc = tr_reader_next(p->r, &it.e, &it.o, &it.old, &p->err)) == 1) {
        it.line = tr_reader_line(p->r);
        pipe_wait(p, pipe_has_room);
        if (atomic_load(&p->stop))
            break;
        uint64_t t = atomic_load_explicit(&p->tail, memory_order_relaxed);
        p->items[t % PIPE_CAP] = it;
        atomic_store(&p->tail, t + 1);
        pipe_wake(p, pipe_has_item);
    }
    /* An event read but not queued (stopped) still owns its records. */
    if (atomic_load(&p->stop) && rc == 1) {
        if (it.e.op == TR_FREE)
            tr_reader_release(p->r, it.o);
        if (it.old)
            tr_reader_release(p->r, it.old);
    }
    p->rc = atomic_load(&p->stop) ? 0 : rc;
    atomic_store(&p->done, 1);
    pipe_wake(p, pipe_has_item);
    return NULL;
}

static int run_deterministic(replay *rp, tr_reader *r, tr_replay_stats *st, tr_error *err)
{
    pipe p = {.r = r};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    pthread_t th;
    p.items = malloc(PIPE_CAP * sizeof *p.items);
    if (!p.items || pthread_create(&th, NULL, pipe_reader, &p) != 0) {
        free(p.items);
        tr_error_set(err, tr_reader_name(r), 0, 0, "out of memory");
        return TR_ENOMEM;
    }
    uint64_t n = 0, head = 0;
    for (;;) {
        if (head == atomic_load(&p.tail)) {
            pipe_wait(&p, pipe_has_item);
            if (head == atomic_load(&p.tail))
                break;               /* done, and nothing left */
        }
        pipe_item *it = &p.items[head % PIPE_CAP];
        nv_thread_slot_bind((int)(it->e.thread % (NV_MAX_THREADS - 1)));
        run_event(rp, &it->e, it->o, it->old, it->line);
        if (it->e.op == TR_FREE)
            tr_reader_release(r, it->o);
        if (it->old)
            tr_reader_release(r, it->old);
        st->events[it->e.op]++;
        atomic_store(&p.head, ++head);
        pipe_wake(&p, pipe_has_room);
        n++;
        if (atomic_load_explicit(&rp->failed, memory_order_relaxed)) {
            atomic_store(&p.stop, 1);
            pipe_wake(&p, pipe_has_room);
            break;
        }
        if (rp->cfg->sample && rp->cfg->sample_every && n % rp->cfg->sample_every == 0)
            rp->cfg->sample(rp->cfg->ctx, n);
        if (rp->cfg->progress && (n & 65535) == 0)
            rp->cfg->progress(rp->cfg->ctx, n);
    }
    pthread_join(th, NULL);
    /* Events parsed but not replayed (after a failure) still own records. */
    for (uint64_t t = atomic_load(&p.tail); head < t; head++) {
        pipe_item *it = &p.items[head % PIPE_CAP];
        if (it->e.op == TR_FREE)
            tr_reader_release(r, it->o);
        if (it->old)
            tr_reader_release(r, it->old);
    }
    free(p.items);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.cond);
    if (p.rc < 0 && err)
        *err = p.err;
    return p.rc;
}

/* ---- concurrent ------------------------------------------------------------- */

typedef struct qitem {
    tr_event e;
    tr_obj *o, *old;
    uint64_t seq, old_seq, line;
} qitem;

typedef struct queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    qitem *items;
    size_t head, count;
    bool closed;
    replay *rp;
    tr_reader *r;
    int slot;
} queue;

static void wait_turn(tr_obj *o, uint64_t seq)
{
    for (unsigned spins = 0; atomic_load_explicit(&o->done, memory_order_acquire) != seq; spins++)
        if (spins > 64)
            sched_yield();
}

static void *worker(void *arg)
{
    queue *q = arg;
    nv_thread_slot_bind(q->slot);
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (q->count == 0 && !q->closed)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->count == 0) {
            pthread_mutex_unlock(&q->lock);
            return NULL;
        }
        qitem it = q->items[q->head];
        q->head = (q->head + 1) % QUEUE_CAP;
        q->count--;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
        wait_turn(it.o, it.seq);
        if (it.old)
            wait_turn(it.old, it.old_seq);
        run_event(q->rp, &it.e, it.o, it.old, it.line);
        /* A freed record has no later events: its last runner releases it. */
        if (it.e.op == TR_FREE)
            tr_reader_release(q->r, it.o);
        else
            atomic_fetch_add_explicit(&it.o->done, 1, memory_order_release);
        if (it.old)
            tr_reader_release(q->r, it.old);
    }
}

static int run_concurrent(replay *rp, tr_reader *r, tr_replay_stats *st, tr_error *err)
{
    uint32_t nt = tr_reader_header(r)->threads;
    queue *qs = calloc(nt, sizeof *qs);
    pthread_t *th = calloc(nt, sizeof *th);
    if (!qs || !th) {
        free(qs);
        free(th);
        tr_error_set(err, "", 0, 0, "out of memory");
        return TR_ENOMEM;
    }
    uint32_t started = 0;
    for (; started < nt; started++) {
        queue *q = &qs[started];
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->cond, NULL);
        q->items = malloc(QUEUE_CAP * sizeof *q->items);
        q->rp = rp;
        q->r = r;
        q->slot = (int)(started % (NV_MAX_THREADS - 1));
        if (!q->items || pthread_create(&th[started], NULL, worker, q) != 0) {
            free(q->items);
            break;
        }
    }
    int rc = started == nt ? 0 : TR_ENOMEM;
    tr_event e;
    tr_obj *o, *old;
    uint64_t n = 0;
    while (rc == 0 && (rc = tr_reader_next(r, &e, &o, &old, err)) == 1) {
        rc = 0;
        qitem it = {.e = e, .o = o, .old = old, .line = tr_reader_line(r)};
        it.seq = o->issued++;
        if (old)
            it.old_seq = old->issued++;
        queue *q = &qs[e.thread];
        pthread_mutex_lock(&q->lock);
        while (q->count == QUEUE_CAP)
            pthread_cond_wait(&q->cond, &q->lock);
        q->items[(q->head + q->count) % QUEUE_CAP] = it;
        q->count++;
        pthread_cond_broadcast(&q->cond);
        pthread_mutex_unlock(&q->lock);
        st->events[e.op]++;
        n++;
        if (atomic_load_explicit(&rp->failed, memory_order_relaxed))
            break;
        if (rp->cfg->sample && rp->cfg->sample_every && n % rp->cfg->sample_every == 0)
            rp->cfg->sample(rp->cfg->ctx, n);
        if (rp->cfg->progress && (n & 65535) == 0)
            rp->cfg->progress(rp->cfg->ctx, n);
    }
    for (uint32_t i = 0; i < started; i++) {
        pthread_mutex_lock(&qs[i].lock);
        qs[i].closed = true;
        pthread_cond_broadcast(&qs[i].cond);
        pthread_mutex_unlock(&qs[i].lock);
    }
    for (uint32_t i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        free(qs[i].items);
        pthread_mutex_destroy(&qs[i].lock);
        pthread_cond_destroy(&qs[i].cond);
    }
    free(qs);
    free(th);
    return rc;
}

int tr_replay(tr_reader *r, pma_heap *h, const tr_replay_config *cfg, tr_replay_stats *st, tr_error *err)
{
    memset(st, 0, sizeof *st);
    replay rp = {.h = h, .dev = pma_device(h), .cfg = cfg};
    const pma_config *pc = pma_heap_config(h);
    rp.heap_align = pc->granularity > pc->alignment ? pc->granularity : pc->alignment;
    pthread_mutex_init(&rp.fail_lock, NULL);
    rp.pool = malloc(POOL_BYTES * 2);
    if (!rp.pool) {
        tr_error_set(err, "", 0, 0, "out of memory");
        return TR_ENOMEM;
    }
    uint64_t x = cfg->seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < POOL_BYTES * 2; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(rp.pool + i, &x, 8);
    }
    st->links = tr_replay_links_on(cfg, h);
    int lrc;
    if (st->links && (lrc = tr_links_open(&rp.links, h)) != 0) {
        tr_error_set(err, "", 0, 0, "cannot make the link table: %s", pma_strerror(lrc));
        free(rp.pool);
        pthread_mutex_destroy(&rp.fail_lock);
        return TR_EREPLAY;
    }
    double t0 = now_s();
    int rc = cfg->mode == TR_CONCURRENT ? run_concurrent(&rp, r, st, err) : run_deterministic(&rp, r, st, err);
    st->wall_s = now_s() - t0;
    if (rc >= 0 && atomic_load(&rp.failed)) {
        if (err) {
            *err = rp.fail_err;
            snprintf(err->file, sizeof err->file, "%s", tr_reader_name(r));
        }
        rc = TR_EREPLAY;
    }
    st->data_bytes_written = atomic_load(&rp.data_bytes);
    st->misaligned = atomic_load(&rp.misaligned);
    st->peak_live_bytes = atomic_load(&rp.peak_bytes);
    st->peak_live_objects = atomic_load(&rp.peak_objects);
    st->live_objects = atomic_load(&rp.live_objects);
    st->links_bytes_written = rp.links ? tr_links_bytes(rp.links) : 0;
    tr_links_close(rp.links);
    free(rp.pool);
    pthread_mutex_destroy(&rp.fail_lock);
    return rc < 0 ? rc : 0;
}
