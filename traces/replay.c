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
 *
 * Passes and the device's end of life (replay.h, "Passes"): tr_replay runs
 * the passes, freeing what is live between them (replay_live.c); data writes
 * and moves off worn cells are replay_move.c's.
 */
#include "replay_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_CAP 4096
#define CAPACITY_EVERY 256   /* events between capacity checks, once a cell failed */

void tr_replay_config_defaults(tr_replay_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = TR_DETERMINISTIC;
    cfg->on_alloc = TR_ON_ALLOC_FULL;
    cfg->data = TR_DATA_RANDOM;
    cfg->seed = 1;
    cfg->repeat = 1;
    cfg->max_passes = 1000000;
    cfg->capacity_loss = 0.1;
}

const char *tr_end_name(tr_end e)
{
    switch (e) {
    case TR_END_PASSES: return "passes";
    case TR_END_CAPACITY: return "capacity_loss";
    case TR_END_ALLOC_FAILED: return "allocation_failed";
    case TR_END_LINKS_FAILED: return "links_failed";
    case TR_END_METADATA_WORN: return "metadata_worn";
    }
    return "?";
}

void tr_replay_stats_free(tr_replay_stats *st)
{
    free(st->retired);
    st->retired = NULL;
    st->nretired = 0;
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

void replay_fail(replay *rp, uint64_t line, const char *what, int code)
{
    pthread_mutex_lock(&rp->fail_lock);
    if (!atomic_load(&rp->failed) && !atomic_load(&rp->ended)) {
        tr_error_set(&rp->fail_err, "", line, 0, "%s: %s", what, pma_strerror(code));
        atomic_store(&rp->failed, 1);
    }
    pthread_mutex_unlock(&rp->fail_lock);
}

void replay_end(replay *rp, tr_end why, const char *what, int code)
{
    pthread_mutex_lock(&rp->fail_lock);
    if (!atomic_load(&rp->failed) && !atomic_load(&rp->ended)) {
        rp->ended_by = why;
        if (what)
            snprintf(rp->end_reason, sizeof rp->end_reason, "%s: %s", what, pma_strerror(code));
        atomic_store(&rp->ended, 1);
    }
    pthread_mutex_unlock(&rp->fail_lock);
}

bool replay_cells_failed(replay *rp)
{
    nv_wearout wo;
    return nv_wearout_get(rp->dev, &wo) == 0 && wo.any;
}

void replay_heap_failed(replay *rp, uint64_t line, const char *what, int code)
{
    if ((code == PMA_ENOMEM || code == PMA_EDEVICE) && (rp->cfg->repeat != 1 || replay_cells_failed(rp)))
        replay_end(rp, code == PMA_EDEVICE ? TR_END_METADATA_WORN : TR_END_ALLOC_FAILED, what, code);
    else
        replay_fail(rp, line, what, code);
}

void replay_links_failed(replay *rp, uint64_t line, const char *what, int code)
{
    if (code == PMA_EDEVICE && replay_cells_failed(rp))
        replay_end(rp, TR_END_LINKS_FAILED, what, code);
    else
        replay_heap_failed(rp, line, what, code);
}

static double slowest_ns(nv_device *d)
{
    double t = 0;
    for (int i = 0; i < NV_MAX_THREADS; i++)
        if (nv_time_thread_ns(d, i) > t)
            t = nv_time_thread_ns(d, i);
    return t;
}

/* Once a cell failed: records a change of the heap's retired bytes, and
 * ends the run when they reach capacity_loss of the device. */
static void check_capacity(replay *rp)
{
    if (!replay_cells_failed(rp))
        return;
    pma_heap_stats hs;
    if (pma_stats(rp->h, &hs) != 0 || hs.retired_bytes == rp->last_retired)
        return;
    rp->last_retired = hs.retired_bytes;
    if (rp->nret == rp->capret) {
        size_t ncap = rp->capret ? rp->capret * 2 : 256;
        tr_retired_point *np = realloc(rp->ret, ncap * sizeof *np);
        if (!np) {
            replay_fail(rp, 0, "recording the retired bytes", PMA_ENOMEM);
            return;
        }
        rp->ret = np;
        rp->capret = ncap;
    }
    rp->ret[rp->nret++] = (tr_retired_point){.event = rp->n, .retired_bytes = hs.retired_bytes};
    if ((double)hs.retired_bytes >= rp->cfg->capacity_loss * (double)nv_size(rp->dev) && !replay_stopped(rp)) {
        rp->capacity_reached = true;
        rp->capacity_event = rp->n;
        rp->capacity_ns = slowest_ns(rp->dev);
        replay_end(rp, TR_END_CAPACITY, NULL, 0);
    }
}

/* After each event (n counted): stamps, capacity checks, samples, progress.
 * Stops the loop (true) when the replay stopped. */
static bool after_event(replay *rp)
{
    uint64_t n = ++rp->n;
    if (n % CAPACITY_EVERY == 0)
        check_capacity(rp);
    if (replay_stopped(rp))
        return true;
    if (rp->cfg->sample && rp->cfg->sample_every && n % rp->cfg->sample_every == 0)
        rp->cfg->sample(rp->cfg->ctx, n);
    if (rp->cfg->progress && (n & 65535) == 0)
        rp->cfg->progress(rp->cfg->ctx, n);
    return false;
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
        replay_heap_failed(rp, line, what, pma_last_error());
    }
    return p;
}

static int do_free_writes(replay *rp, tr_obj *o, uint64_t line)
{
    for (uint32_t i = 0; i < rp->cfg->extra_writes; i++)
        if (replay_data_write(rp, o, 0, o->size, line) != 0)
            return -1;
    return 0;
}

static void track(replay *rp, tr_obj *o, uint64_t line)
{
    int rc;
    if (rp->track_live && (rc = replay_live_add(&rp->live, o)) != 0)
        replay_fail(rp, line, "tracking a live object", rc);
}

/* A realloc: pma_realloc, or (its copy wore a cell) a verified move. The
 * new pointer, or NULL (stopped). */
static unsigned char *do_realloc(replay *rp, const tr_event *e, tr_obj *o, tr_obj *old, uint64_t line,
                                 bool *moved)
{
    if (e->align > rp->heap_align)
        rp->misaligned++;
    unsigned char *p = pma_realloc(rp->h, old->user, e->size ? e->size : 1);
    *moved = p != old->user;
    if (p) {
        if (*moved) {
            /* pma_realloc copied what both objects were asked for (0 bytes
             * counted as 1, as allocated) as a data write. */
            uint64_t ob = old->size ? old->size : 1, nb = o->size ? o->size : 1;
            atomic_fetch_add(&rp->data_bytes, ob < nb ? ob : nb);
        }
        return p;
    }
    int code = pma_last_error();
    if (code == PMA_EDEVICE && replay_cells_failed(rp)) {
        /* The copy hit a worn cell; the old object is untouched. */
        *moved = false;                /* replay_realloc_move relinks o itself */
        return replay_realloc_move(rp, old, o, line) == 0 ? o->user : NULL;
    }
    char what[160];
    snprintf(what, sizeof what, "realloc of id %llu to %llu bytes failed", (unsigned long long)e->id,
             (unsigned long long)e->size);
    replay_heap_failed(rp, line, what, code);
    return NULL;
}

/* Runs one event (its object's earlier events have finished). */
static void run_event(replay *rp, const tr_event *e, tr_obj *o, tr_obj *old, uint64_t line)
{
    if (replay_stopped(rp))
        return;
    int rc;
    switch (e->op) {
    case TR_ALLOC:
        if (!(o->user = do_alloc(rp, e, line)))
            return;
        live_add(rp, (int64_t)o->size, 1);
        track(rp, o, line);
        if (rp->cfg->on_alloc == TR_ON_ALLOC_FULL && replay_data_write(rp, o, 0, o->size, line) != 0)
            return;
        if (rp->links && (rc = tr_links_put(rp->links, o)) != 0)
            replay_links_failed(rp, line, "linking the new object failed", rc);
        break;
    case TR_FREE:
        if (do_free_writes(rp, o, line) != 0)
            return;
        if (rp->links && (rc = tr_links_clear(rp->links, o)) != 0) {
            replay_links_failed(rp, line, "unlinking the object failed", rc);
            return;
        }
        if ((rc = pma_return_mem(rp->h, o->user)) != 0) {
            replay_heap_failed(rp, line, "free failed", rc);
            return;
        }
        if (rp->track_live)
            replay_live_remove(&rp->live, o);
        live_add(rp, -(int64_t)o->size, -1);
        break;
    case TR_REALLOC: {
        /* The old object's life ends here: its extra writes come first. */
        if (do_free_writes(rp, old, line) != 0)
            return;
        bool moved;
        unsigned char *p = do_realloc(rp, e, o, old, line, &moved);
        if (!p)
            return;
        o->user = p;
        if (rp->track_live) {
            replay_live_remove(&rp->live, old);
            track(rp, o, line);
        }
        live_add(rp, (int64_t)o->size - (int64_t)old->size, 0);
        if (rp->links && !moved && old->link) {   /* its entry already names it */
            o->link = old->link;
            old->link = 0;
        }
        /* The tail before the link, as replay_links.c orders it (a move of
         * o here carries its entry, if it has one yet). */
        uint64_t keep = old->size < o->size ? old->size : o->size;
        if (rp->cfg->on_alloc == TR_ON_ALLOC_FULL && o->size > keep &&
            replay_data_write(rp, o, keep, o->size - keep, line) != 0)
            return;
        if (rp->links && moved && (rc = tr_links_move(rp->links, old, o)) != 0) {
            replay_links_failed(rp, line, "linking the reallocated object failed", rc);
            return;
        }
        break;
    }
    case TR_WRITE:
        if (e->len)
            replay_data_write(rp, o, e->offset, e->len, line);
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
    int rc = 0;
    pipe_item it;
    bool pending = false;        /* it was read and not queued */
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed) &&
           (rc = tr_reader_next(p->r, &it.e, &it.o, &it.old, &p->err)) == 1) {
        pending = true;
        it.line = tr_reader_line(p->r);
        pipe_wait(p, pipe_has_room);
        if (atomic_load(&p->stop))
            break;
        uint64_t t = atomic_load_explicit(&p->tail, memory_order_relaxed);
        p->items[t % PIPE_CAP] = it;
        atomic_store(&p->tail, t + 1);
        pending = false;
        pipe_wake(p, pipe_has_item);
    }
    /* An event read but not queued (stopped) still owns its records; one
     * that was queued is the consumer's to release (a stop seen at the top
     * of the loop left rc at 1 with `it` queued: released twice before). */
    if (pending) {
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
    uint64_t head = 0;
    for (;;) {
        if (head == atomic_load(&p.tail)) {
            pipe_wait(&p, pipe_has_item);
            if (head == atomic_load(&p.tail))
                break;               /* done, and nothing left */
        }
        pipe_item *it = &p.items[head % PIPE_CAP];
        nv_thread_slot_bind((int)(it->e.thread % (NV_MAX_THREADS - 1)));
        nv_event_stamp(rp->dev, rp->n + 1);
        run_event(rp, &it->e, it->o, it->old, it->line);
        if (it->e.op == TR_FREE)
            tr_reader_release(r, it->o);
        if (it->old)
            tr_reader_release(r, it->old);
        st->events[it->e.op]++;
        atomic_store(&p.head, ++head);
        pipe_wake(&p, pipe_has_room);
        if (after_event(rp)) {
            atomic_store(&p.stop, 1);
            pipe_wake(&p, pipe_has_room);
            break;
        }
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
        tr_error_set(err, "", 0, 0, "out of host memory for the replay");
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
    while (rc == 0 && (rc = tr_reader_next(r, &e, &o, &old, err)) == 1) {
        rc = 0;
        qitem it = {.e = e, .o = o, .old = old, .line = tr_reader_line(r)};
        /* Stamped at dispatch: with workers running behind, a failure's
         * event number is approximate in concurrent mode. */
        nv_event_stamp(rp->dev, rp->n + 1);
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
        if (after_event(rp))
            break;
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
        tr_error_set(err, "", 0, 0, "out of host memory for the replay");
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
    /* Passes after the first free what is live at each pass's end. */
    rp.track_live = cfg->repeat != 1 && cfg->next_pass;
    if (rp.track_live && replay_live_init(&rp.live) != 0) {
        tr_error_set(err, "", 0, 0, "out of host memory for the replay");
        tr_links_close(rp.links);
        free(rp.pool);
        pthread_mutex_destroy(&rp.fail_lock);
        return TR_ENOMEM;
    }
    uint64_t passes = cfg->repeat ? cfg->repeat : cfg->max_passes;
    double t0 = now_s();
    int rc = 0;
    for (uint64_t pass = 1; rc >= 0 && !replay_stopped(&rp); pass++) {
        if (pass > 1) {
            replay_live_release_all(&rp);
            check_capacity(&rp);
            if (replay_stopped(&rp))
                break;
            if ((rc = cfg->next_pass(cfg->ctx, pass, &r, err)) != 0)
                break;
        }
        st->passes = pass;
        rc = cfg->mode == TR_CONCURRENT ? run_concurrent(&rp, r, st, err) : run_deterministic(&rp, r, st, err);
        if (pass == passes || !cfg->next_pass || !rp.track_live)
            break;
    }
    if (rc >= 0 && !replay_stopped(&rp))
        check_capacity(&rp);     /* the series' last point */
    st->wall_s = now_s() - t0;
    if (rc >= 0 && atomic_load(&rp.failed)) {
        if (err) {
            *err = rp.fail_err;
            snprintf(err->file, sizeof err->file, "%s", tr_reader_name(r));
        }
        rc = TR_EREPLAY;
    }
    st->ended_by = atomic_load(&rp.ended) ? rp.ended_by : TR_END_PASSES;
    snprintf(st->end_reason, sizeof st->end_reason, "%s", rp.end_reason);
    st->capacity_reached = rp.capacity_reached;
    st->capacity_event = rp.capacity_event;
    st->capacity_ns = rp.capacity_ns;
    st->moves = atomic_load(&rp.moves);
    st->moved_bytes = atomic_load(&rp.moved_bytes);
    st->verified_objects = atomic_load(&rp.verified);
    st->verified_bytes = atomic_load(&rp.verified_bytes);
    st->rejected_blocks = atomic_load(&rp.rejected);
    pma_heap_stats hs;
    st->retired_bytes = pma_stats(h, &hs) == 0 ? hs.retired_bytes : 0;
    st->retired = rp.ret;
    st->nretired = rp.nret;
    replay_live_free(&rp.live);
    st->data_bytes_written = atomic_load(&rp.data_bytes);
    st->misaligned = atomic_load(&rp.misaligned);
    st->peak_live_bytes = atomic_load(&rp.peak_bytes);
    st->peak_live_objects = atomic_load(&rp.peak_objects);
    st->live_objects = atomic_load(&rp.live_objects);
    st->links_bytes_written = rp.links ? tr_links_bytes(rp.links) : 0;
    st->links_worn_entries = rp.links ? tr_links_worn(rp.links) : 0;
    st->links_stale_entries = rp.links ? tr_links_stale(rp.links) : 0;
    tr_links_close(rp.links);
    free(rp.pool);
    pthread_mutex_destroy(&rp.fail_lock);
    return rc < 0 ? rc : 0;
}
