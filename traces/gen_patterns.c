/*
 * gen_patterns.c - the five workload patterns, each a loop that draws from the
 * run's one random generator and emits events through gen_run.c's emitter.
 *
 *   churn              steady state: each step allocates one object (random
 *                      thread) with a lifetime drawn from "lifetime"; objects
 *                      are freed when their lifetime (in allocations) is over.
 *                      The live set settles at the mean lifetime.
 *   phases             "phases" times: allocate peak_live objects, then free
 *                      them all, one per step, in a random order.
 *   producer-consumer  threads 0..producers-1 allocate messages (random
 *                      producer each step); once more than "live" are in
 *                      flight, a random consumer thread frees the oldest: FIFO.
 *   larson             each thread owns "slots" objects; a step picks a random
 *                      thread and slot and replaces the object with a new one
 *                      of random size; with probability cross_free the old one
 *                      is freed by another (random) thread, as when a server
 *                      hands a connection's buffers to another worker.
 *   hot-writes         allocate "live" objects, then "writes" writes whose
 *                      object is Zipf-distributed (exponent zipf_s) over the
 *                      hottest hot_fraction of them, in a random order so hot
 *                      objects are spread over the heap.
 *
 * Writes per object (writes_per_object): where the lifetime is known at
 * allocation (churn, phases) they fall at uniformly random times within it;
 * otherwise (producer-consumer, larson, hot-writes) they follow the
 * allocation, on the allocating thread: the producer fills its message, the
 * larson thread its new block.
 *
 * Churn and phases schedule frees and writes on gen_run.c's timeline.
 *
 * Invariants every pattern keeps (the tests check them on the output): ids
 * are allocated once, in increasing order; only live ids are freed or
 * written; writes lie within their object; threads are < spec->threads; every
 * object is freed by its allocating thread except the cross-thread frees of
 * producer-consumer and larson.
 */
#include "gen_internal.h"

#include <math.h>
#include <stdlib.h>

/* ---- helpers -------------------------------------------------------------------- */

uint32_t tr_gen_pick_thread(tr_gen_ctx *c, uint32_t first, uint32_t n)
{
    return first + (n > 1 ? (uint32_t)gsl_rng_uniform_int(c->rng, n) : 0);
}

int tr_gen_alloc_now(tr_gen_ctx *c, uint32_t thread, bool with_writes, uint64_t *id, uint64_t *size)
{
    *size = tr_gen_size_draw(&c->spec->size, c->rng);
    int rc = tr_gen_emit_alloc(c, thread, *size, id);
    for (uint64_t w = 0; with_writes && !rc && w < c->spec->writes_per_object; w++)
        rc = tr_gen_emit_write(c, thread, *id, *size);
    return rc;
}

typedef tr_gen_obj gen_obj;

/* ---- the patterns --------------------------------------------------------------- */

static int gen_churn(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    tr_gen_timeline tl = {0};
    int rc = 0;
    /* What is still scheduled will be emitted at the end when free_at_end,
     * so it counts against the budget already. */
    for (uint64_t step = 0; !rc && c->st.events + (s->free_at_end ? tl.n : 0) < s->events; step++) {
        uint64_t id, size;
        uint32_t th;
        if ((rc = tr_gen_tl_drain(c, &tl, (double)step)))
            break;
        th = tr_gen_pick_thread(c, 0, s->threads);
        if ((rc = tr_gen_alloc_now(c, th, false, &id, &size)))
            break;
        uint64_t life = tr_gen_life_draw(&s->life, c->rng);
        rc = tr_gen_tl_schedule(c, &tl, (double)step, (double)step + (double)life, id, size, th);
    }
    if (!rc && s->free_at_end)
        rc = tr_gen_tl_drain(c, &tl, INFINITY);
    tr_gen_tl_free(&tl);
    return rc;
}

static int gen_phases(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint64_t n = s->peak_live, step = 0;
    uint64_t *order = malloc(n * sizeof *order);
    tr_gen_timeline tl = {0};
    int rc = order ? 0 : TR_ENOMEM;
    for (uint64_t i = 0; !rc && i < n; i++)
        order[i] = i;
    for (uint64_t p = 0; !rc && p < s->phases; p++) {
        /* Object i of the ramp up dies at step down + order[i]: one free per
         * step of the ramp down, in a random order. */
        uint64_t down = step + n;
        gsl_ran_shuffle(c->rng, order, n, sizeof *order);
        for (uint64_t i = 0; !rc && i < n; i++, step++) {
            uint64_t id, size;
            uint32_t th;
            if ((rc = tr_gen_tl_drain(c, &tl, (double)step)))
                break;
            th = tr_gen_pick_thread(c, 0, s->threads);
            if (!(rc = tr_gen_alloc_now(c, th, false, &id, &size)))
                rc = tr_gen_tl_schedule(c, &tl, (double)step, (double)(down + order[i]), id, size, th);
        }
        for (uint64_t i = 0; !rc && i < n; i++, step++)
            rc = tr_gen_tl_drain(c, &tl, (double)step);
    }
    if (!rc)
        rc = tr_gen_tl_drain(c, &tl, INFINITY);    /* nothing left; kept for safety */
    tr_gen_tl_free(&tl);
    free(order);
    return rc;
}

static int gen_prodcons(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint32_t consumers = s->threads - s->producers;
    size_t cap = s->live + 1, head = 0, n = 0;
    gen_obj *q = malloc(cap * sizeof *q);
    if (!q)
        return TR_ENOMEM;
    int rc = 0;
    while (!rc && c->st.events + (s->free_at_end ? n : 0) < s->events) {
        gen_obj o;
        o.thread = tr_gen_pick_thread(c, 0, s->producers);
        if ((rc = tr_gen_alloc_now(c, o.thread, true, &o.id, &o.size)))
            break;
        q[(head + n++) % cap] = o;
        if (n > s->live) {
            gen_obj old = q[head];
            head = (head + 1) % cap;
            n--;
            rc = tr_gen_emit_free(c, tr_gen_pick_thread(c, s->producers, consumers), old.id, old.size, old.thread);
        }
    }
    while (!rc && s->free_at_end && n) {
        gen_obj old = q[head];
        head = (head + 1) % cap;
        n--;
        rc = tr_gen_emit_free(c, tr_gen_pick_thread(c, s->producers, consumers), old.id, old.size, old.thread);
    }
    free(q);
    return rc;
}

static int gen_larson(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint64_t total = s->slots * s->threads;
    gen_obj *slot = malloc(total * sizeof *slot);     /* thread t's slot j: t * slots + j */
    if (!slot)
        return TR_ENOMEM;
    int rc = 0;
    /* Fill: the threads take turns, as if they started together. */
    for (uint64_t j = 0; !rc && j < s->slots; j++) {
        for (uint32_t t = 0; !rc && t < s->threads; t++) {
            gen_obj *o = &slot[t * s->slots + j];
            o->thread = t;
            rc = tr_gen_alloc_now(c, t, true, &o->id, &o->size);
        }
    }
    while (!rc && c->st.events + (s->free_at_end ? total : 0) < s->events) {
        uint32_t t = tr_gen_pick_thread(c, 0, s->threads);
        gen_obj *o = &slot[t * s->slots + tr_gen_uniform(c->rng, s->slots)];
        uint32_t freer = t;
        if (s->cross_free > 0 && gsl_rng_uniform(c->rng) < s->cross_free) {
            freer = tr_gen_pick_thread(c, 0, s->threads - 1);
            freer += freer >= t;        /* any thread but t */
        }
        if ((rc = tr_gen_emit_free(c, freer, o->id, o->size, o->thread)))
            break;
        o->thread = t;
        rc = tr_gen_alloc_now(c, t, true, &o->id, &o->size);
    }
    for (uint64_t j = 0; !rc && s->free_at_end && j < s->slots; j++)
        for (uint32_t t = 0; !rc && t < s->threads; t++) {
            gen_obj *o = &slot[t * s->slots + j];
            rc = tr_gen_emit_free(c, t, o->id, o->size, o->thread);
        }
    free(slot);
    return rc;
}

static int gen_hotwrites(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint64_t n = s->live;
    double h = ceil(s->hot_fraction * (double)n - 1e-9);
    size_t hot = h < 1 ? 1 : h > (double)n ? (size_t)n : (size_t)h;
    gen_obj *obj = malloc(n * sizeof *obj);
    uint64_t *rank = malloc(n * sizeof *rank);   /* rank k (0 = hottest) -> object index */
    gsl_ran_discrete_t *zipf = NULL;
    int rc = obj && rank ? 0 : TR_ENOMEM;
    for (uint64_t i = 0; !rc && i < n; i++) {
        obj[i].thread = (uint32_t)(i % s->threads);
        rank[i] = i;
        rc = tr_gen_alloc_now(c, obj[i].thread, true, &obj[i].id, &obj[i].size);
    }
    if (!rc) {
        gsl_ran_shuffle(c->rng, rank, n, sizeof *rank);
        zipf = tr_gen_zipf_table(hot, s->zipf_s);
        rc = zipf ? 0 : TR_ENOMEM;
    }
    for (uint64_t w = 0; !rc && w < s->writes; w++) {
        const gen_obj *o = &obj[rank[gsl_ran_discrete(c->rng, zipf)]];
        rc = tr_gen_emit_write(c, o->thread, o->id, o->size);
    }
    for (uint64_t i = 0; !rc && s->free_at_end && i < n; i++)
        rc = tr_gen_emit_free(c, obj[i].thread, obj[i].id, obj[i].size, obj[i].thread);
    if (zipf)
        gsl_ran_discrete_free(zipf);
    free(rank);
    free(obj);
    return rc;
}

int tr_gen_patterns_run(tr_gen_ctx *c)
{
    switch (c->spec->pattern) {
    case TR_GEN_CHURN: return gen_churn(c);
    case TR_GEN_PHASES: return gen_phases(c);
    case TR_GEN_PRODCONS: return gen_prodcons(c);
    case TR_GEN_LARSON: return gen_larson(c);
    case TR_GEN_HOTWRITES: return gen_hotwrites(c);
    default: return tr_gen_adv_run(c);
    }
}
