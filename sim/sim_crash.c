/*
 * sim_crash.c - crash simulation and crash injection for the sim device.
 *
 * The device keeps, beside the working region, the last persisted image of
 * every 64-byte cache line (the flush granularity, whatever the cell size),
 * and a state per line:
 *
 *   clean    working == persisted
 *   dirty    stored since its last flush
 *   flushed  flushed, waiting for a fence
 *
 * A store makes its lines dirty; a flush makes dirty lines flushed; a fence
 * persists (copies into the image, makes clean) the flushed lines that the
 * calling thread flushed, as x86's sfence orders only its own thread's
 * clflushopt/clwb. A line flushed by thread A and not yet fenced by A is not
 * persisted by thread B's fence; if B flushes that line too (whether or not
 * it stored to it first), B's fence persists its current contents. A store to
 * a flushed line makes it dirty again and voids every earlier flush of it
 * (the model keeps no snapshot of what a flush saw, so an earlier flusher's
 * fence persists nothing: stricter than hardware, never weaker). With one
 * thread this is the plain rule: a fence persists every flushed line.
 *
 * Flush ownership. Each OS thread gets an exact id on its first flush or
 * fence (a process-wide 64-bit counter; ids are never reused, unlike the
 * time slots of device.c, which surplus threads share, and which a replay
 * engine rebinds). A flush appends a record (line, thread, gen) to recs;
 * line_gen[line] advances when a store starts a new dirty period (the line
 * was clean or flushed), so a record is live only while its line is flushed
 * and its gen is the line's: a store voids every earlier record at once,
 * without a search. A fence by T walks the records: T's live ones persist
 * their lines, T's stale ones and everyone's stale ones are dropped, other
 * threads' live ones stay. Records of a thread that exits unfenced stay live
 * (those lines never persist through it) until the line is stored again,
 * persisted by another flusher, or the device crashes. Invariant: a line is
 * flushed iff at least one live record names it. gen is 32 bits and cannot
 * come round to a stale record's: every bump but the first needs a flush in
 * between, each such flush appends a record, and stale records are swept at
 * least once per rcap/2 appends (crash_recs_reserve) and at every fence.
 *
 * A crash reverts every line that is not clean to its image, except that
 * each may survive with probability survive_p (a seeded draw): caches do
 * evict lines nobody flushed. Lines not clean are also kept in an array, so
 * fence and crash cost the number of lines and flushes in flight, not the
 * device size.
 *
 * Injection: armed with (mask, n), the device counts stores, flushes and
 * fences in mask; the n-th completes, and from then on nothing persists:
 * stores still dirty lines, but flushes and fences do nothing until nv_crash.
 *
 * Locking: every function here runs under crash.lock (the store path takes it
 * in sim_device.c around the memcpy so image and state stay consistent). The
 * thread id is thread-local and taken before the lock.
 */
#include "sim_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int nv_sim_crash_init(nv_sim *s)
{
    nv_crash_state *c = &s->crash;
    uint64_t lines = (s->dev.size + NV_CACHE_LINE - 1) / NV_CACHE_LINE;
    c->image = mmap(NULL, s->map_bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (c->image == MAP_FAILED) {
        c->image = NULL;
        return -1;
    }
    c->line_state = calloc(lines, 1);
    c->line_gen = calloc(lines, sizeof *c->line_gen);
    c->line_tag = calloc(lines, 1);
    c->cap = 1024;
    c->pending = malloc(c->cap * sizeof *c->pending);
    c->rcap = 1024;
    c->recs = malloc(c->rcap * sizeof *c->recs);
    if (!c->line_state || !c->line_gen || !c->line_tag || !c->pending || !c->recs) {
        free(c->line_state);
        free(c->line_gen);
        free(c->line_tag);
        free(c->pending);
        free(c->recs);
        munmap(c->image, s->map_bytes);
        return -1;
    }
    pthread_mutex_init(&c->lock, NULL);
    return 0;
}

static void crash_unfreeze(nv_crash_state *c)
{
    free(c->frozen_line);
    free(c->frozen_data);
    c->frozen_line = NULL;
    c->frozen_data = NULL;
    c->nfrozen = 0;
}

/* The crash point: remember the lines in flight as they are now. */
static void crash_freeze(nv_sim *s)
{
    nv_crash_state *c = &s->crash;
    crash_unfreeze(c);
    c->frozen_line = malloc((c->npending + 1) * sizeof *c->frozen_line);
    c->frozen_data = malloc((c->npending + 1) * NV_CACHE_LINE);
    if (!c->frozen_line || !c->frozen_data)
        abort();   /* a crash image we cannot build would be silently wrong */
    for (uint64_t i = 0; i < c->npending; i++) {
        uint64_t l = c->pending[i], off = l * NV_CACHE_LINE;
        uint64_t n = s->dev.size - off < NV_CACHE_LINE ? s->dev.size - off : NV_CACHE_LINE;
        c->frozen_line[i] = l;
        memcpy(c->frozen_data + i * NV_CACHE_LINE, s->dev.base + off, n);
    }
    c->nfrozen = c->npending;
}

void nv_sim_crash_free(nv_sim *s)
{
    nv_crash_state *c = &s->crash;
    crash_unfreeze(c);
    munmap(c->image, s->map_bytes);
    free(c->line_state);
    free(c->line_gen);
    free(c->line_tag);
    free(c->pending);
    free(c->recs);
    pthread_mutex_destroy(&c->lock);
}

/* Counts one operation of kind bit; trips the armed crash on the n-th and
 * remembers what that operation was (its class, for crash-test tallies). */
static void crash_count_op(nv_sim *s, unsigned bit, int idx, int tag)
{
    nv_crash_state *c = &s->crash;
    c->ops[idx]++;
    if (c->arm_n && !c->triggered && (c->arm_mask & bit)) {
        uint64_t seen = 0;
        for (int i = 0; i < 3; i++)
            if (c->arm_mask & (1u << i))
                seen += c->ops[i];
        if (seen >= c->arm_n) {
            c->triggered = true;
            c->point_op = bit;
            c->point_tag = tag;
            crash_freeze(s);
        }
    }
}

static void crash_push(nv_crash_state *c, uint64_t line)
{
    if (c->npending == c->cap) {
        uint64_t *p = realloc(c->pending, 2 * c->cap * sizeof *p);
        if (!p)
            abort();   /* the image would silently diverge otherwise */
        c->pending = p;
        c->cap *= 2;
    }
    c->pending[c->npending++] = line;
}

/* The calling thread's flush-ownership id: exact, never 0, never reused. */
static _Thread_local uint64_t crash_tid;
static _Atomic uint64_t crash_next_tid;

static uint64_t crash_thread_id(void)
{
    if (!crash_tid)
        crash_tid = atomic_fetch_add_explicit(&crash_next_tid, 1, memory_order_relaxed) + 1;
    return crash_tid;
}

static bool crash_rec_live(const nv_crash_state *c, const nv_flush_rec *r)
{
    return c->line_state[r->line] == NV_LINE_FLUSHED && c->line_gen[r->line] == r->gen;
}

/* Room for one more record: drop the stale ones first, grow only if the
 * live ones fill more than half, so a thread that flushes and never fences
 * costs memory for its live flushes only. */
static void crash_recs_reserve(nv_crash_state *c)
{
    if (c->nrecs < c->rcap)
        return;
    uint64_t keep = 0;
    for (uint64_t i = 0; i < c->nrecs; i++)
        if (crash_rec_live(c, &c->recs[i]))
            c->recs[keep++] = c->recs[i];
    c->nrecs = keep;
    if (keep <= c->rcap / 2)
        return;
    nv_flush_rec *p = realloc(c->recs, 2 * c->rcap * sizeof *p);
    if (!p)
        abort();   /* the image would silently diverge otherwise */
    c->recs = p;
    c->rcap *= 2;
}

void nv_sim_crash_store(nv_sim *s, uint64_t off, size_t len, nv_tag tag)
{
    nv_crash_state *c = &s->crash;
    uint64_t l0 = off / NV_CACHE_LINE, l1 = (off + len - 1) / NV_CACHE_LINE;
    for (uint64_t l = l0; l <= l1; l++) {
        unsigned char st = c->line_state[l];
        if (st == NV_LINE_CLEAN)
            crash_push(c, l);
        if (st != NV_LINE_DIRTY)
            c->line_gen[l]++;          /* a new dirty period: voids older flushes */
        c->line_state[l] = NV_LINE_DIRTY;
        c->line_tag[l] = (unsigned char)tag;
    }
    crash_count_op(s, NV_OP_STORE, 0, (int)tag);
}

void nv_sim_crash_flush(nv_sim *s, uint64_t off, size_t len)
{
    nv_crash_state *c = &s->crash;
    uint64_t tid = crash_thread_id();
    pthread_mutex_lock(&c->lock);
    if (!c->triggered) {
        uint64_t l0 = off / NV_CACHE_LINE, l1 = (off + len - 1) / NV_CACHE_LINE;
        for (uint64_t l = l0; l <= l1; l++) {
            if (c->line_state[l] == NV_LINE_CLEAN)
                continue;
            /* A repeated flush of the line by this thread in this dirty
             * period adds nothing; catch the common back-to-back case. */
            const nv_flush_rec *last = c->nrecs ? &c->recs[c->nrecs - 1] : NULL;
            if (last && last->line == l && last->tid == tid && last->gen == c->line_gen[l]
                && c->line_state[l] == NV_LINE_FLUSHED)
                continue;
            crash_recs_reserve(c);
            c->recs[c->nrecs++] = (nv_flush_rec){.line = l, .tid = tid, .gen = c->line_gen[l]};
            c->line_state[l] = NV_LINE_FLUSHED;
        }
    }
    crash_count_op(s, NV_OP_FLUSH, 1, c->line_tag[off / NV_CACHE_LINE]);
    pthread_mutex_unlock(&c->lock);
}

static void crash_copy_line(nv_sim *s, unsigned char *dst, const unsigned char *src, uint64_t line)
{
    uint64_t off = line * NV_CACHE_LINE;
    uint64_t n = s->dev.size - off < NV_CACHE_LINE ? s->dev.size - off : NV_CACHE_LINE;
    memcpy(dst + off, src + off, n);
}

void nv_sim_crash_fence(nv_sim *s)
{
    nv_crash_state *c = &s->crash;
    uint64_t tid = crash_thread_id();
    pthread_mutex_lock(&c->lock);
    if (!c->triggered) {
        uint64_t keep = 0, persisted = 0;
        for (uint64_t i = 0; i < c->nrecs; i++) {
            nv_flush_rec r = c->recs[i];
            if (!crash_rec_live(c, &r))
                continue;                       /* stale: drop, whoever flushed */
            if (r.tid != tid) {
                c->recs[keep++] = r;            /* another thread's: its fence */
                continue;
            }
            crash_copy_line(s, c->image, s->dev.base, r.line);
            c->line_state[r.line] = NV_LINE_CLEAN;
            persisted++;
        }
        c->nrecs = keep;
        /* Records kept before a line went clean further on are stale now;
         * the next fence or reserve drops them. */
        if (persisted) {
            keep = 0;
            for (uint64_t i = 0; i < c->npending; i++)
                if (c->line_state[c->pending[i]] != NV_LINE_CLEAN)
                    c->pending[keep++] = c->pending[i];
            c->npending = keep;
        }
    }
    crash_count_op(s, NV_OP_FENCE, 2, -1);
    pthread_mutex_unlock(&c->lock);
}

/* splitmix64: sim/ stays libc-only, and survivors need only a seeded coin. */
static uint64_t crash_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static _Thread_local const uint64_t *crash_frozen_sort;

static int crash_cmp_frozen(const void *a, const void *b)
{
    uint64_t x = crash_frozen_sort[*(const uint64_t *)a], y = crash_frozen_sort[*(const uint64_t *)b];
    return (x > y) - (x < y);
}

int nv_sim_crash(nv_device *d, const nv_crash_opts *opts)
{
    nv_sim *s = nv_sim_of(d);
    if (!s->crash_sim)
        return NV_ENOTSUP;
    double p = opts ? opts->survive_p : 0.0;
    if (p < 0.0 || p > 1.0)
        return NV_EINVAL;
    uint64_t rng = opts ? opts->seed : 0;
    nv_crash_state *c = &s->crash;
    pthread_mutex_lock(&c->lock);
    /* Survivors: lines in flight at the crash point (all pending lines when
     * the crash was not injected), with their contents at that point. Sorted
     * order makes the draw independent of store order. */
    if (!c->triggered)
        crash_freeze(s);
    uint64_t *order = malloc((c->nfrozen + 1) * sizeof *order);
    if (!order)
        abort();
    for (uint64_t i = 0; i < c->nfrozen; i++)
        order[i] = i;
    crash_frozen_sort = c->frozen_line;
    qsort(order, c->nfrozen, sizeof *order, crash_cmp_frozen);
    for (uint64_t i = 0; i < c->nfrozen; i++) {
        uint64_t k = order[i];
        bool survives = p > 0.0 && (double)(crash_rand(&rng) >> 11) * 0x1.0p-53 < p;
        if (survives) {
            uint64_t off = c->frozen_line[k] * NV_CACHE_LINE;
            uint64_t n = s->dev.size - off < NV_CACHE_LINE ? s->dev.size - off : NV_CACHE_LINE;
            memcpy(c->image + off, c->frozen_data + k * NV_CACHE_LINE, n);
        }
    }
    free(order);
    crash_unfreeze(c);
    /* Everything not clean now takes the image's contents. */
    for (uint64_t i = 0; i < c->npending; i++) {
        crash_copy_line(s, d->base, c->image, c->pending[i]);
        c->line_state[c->pending[i]] = NV_LINE_CLEAN;
    }
    c->npending = 0;
    c->nrecs = 0;
    c->triggered = false;
    c->arm_n = 0;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void nv_sim_crash_reset_ops(nv_sim *s)
{
    memset(s->crash.ops, 0, sizeof s->crash.ops);
}

static nv_sim *crash_sim_of(nv_device *d)
{
    if (!d || d->kind != NV_KIND_SIM || !nv_sim_of(d)->crash_sim)
        return NULL;
    return nv_sim_of(d);
}

int nv_crash_arm(nv_device *d, unsigned mask, uint64_t n)
{
    nv_sim *s = crash_sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    if (n == 0 || (mask & NV_OP_ALL) == 0 || (mask & ~(unsigned)NV_OP_ALL))
        return NV_EINVAL;
    pthread_mutex_lock(&s->crash.lock);
    nv_sim_crash_reset_ops(s);
    s->crash.arm_mask = mask;
    s->crash.arm_n = n;
    s->crash.triggered = false;
    pthread_mutex_unlock(&s->crash.lock);
    return 0;
}

int nv_crash_disarm(nv_device *d)
{
    nv_sim *s = crash_sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    pthread_mutex_lock(&s->crash.lock);
    s->crash.arm_n = 0;
    nv_sim_crash_reset_ops(s);
    pthread_mutex_unlock(&s->crash.lock);
    return 0;
}

bool nv_crash_triggered(nv_device *d)
{
    nv_sim *s = crash_sim_of(d);
    if (!s)
        return false;
    pthread_mutex_lock(&s->crash.lock);
    bool t = s->crash.triggered;
    pthread_mutex_unlock(&s->crash.lock);
    return t;
}

int nv_crash_point(nv_device *d, unsigned *op, int *tag)
{
    nv_sim *s = crash_sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    pthread_mutex_lock(&s->crash.lock);
    bool t = s->crash.triggered;
    *op = t ? s->crash.point_op : 0;
    *tag = t ? s->crash.point_tag : -1;
    pthread_mutex_unlock(&s->crash.lock);
    return 0;
}

uint64_t nv_crash_ops_count(nv_device *d, unsigned mask)
{
    nv_sim *s = crash_sim_of(d);
    if (!s)
        return 0;
    uint64_t n = 0;
    pthread_mutex_lock(&s->crash.lock);
    for (int i = 0; i < 3; i++)
        if (mask & (1u << i))
            n += s->crash.ops[i];
    pthread_mutex_unlock(&s->crash.lock);
    return n;
}
