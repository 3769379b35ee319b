/*
 * gen_adv.c - the adversarial patterns: traces made to defeat wear leveling,
 * each aiming many writes (or reuses) at few places of the device.
 *
 *   hot-object   "objects" long-lived objects take "writes" writes (uniform
 *                over the objects, random ranges inside them) while, with
 *                churn_rate > 0, background objects come and go around them
 *                (churn_rate allocations per hot write, each freed "live"
 *                background allocations later): the hot objects never move,
 *                whatever the allocator does with the rest.
 *   ping-pong    one size, drawn once; "objects" slots are allocated, then
 *                each step frees the oldest and allocates its replacement:
 *                with one object, alloc/free/alloc/free. Under first-fit each
 *                replacement lands on the block just freed, so the same few
 *                blocks take every allocation's metadata and data writes.
 *   hammer-line  one object; every write is the same range, [64 x line,
 *                + min(write_len, the line's bytes)): the repeated-address
 *                attack on Start-Gap. decoy_fraction of the writes (spread
 *                evenly, exactly floor(writes x decoy_fraction)) go to random
 *                places of decoy_objects other objects instead, to hide it.
 *   skewed       "objects" long-lived objects of whole 64-byte lines, "lines"
 *                in all; each write covers one whole line: with probability
 *                hot_fraction one of the hot lines (a random hot_lines share
 *                of all, at least one and not all), else one of the others,
 *                uniform within each set.
 *
 * Objects are owned by thread i % threads (the i-th allocated, per kind) and
 * written and freed by their owner; background objects go to random threads.
 * Everything is freed at the end with free_at_end, in allocation order.
 */
#include "gen_internal.h"

#include <math.h>
#include <stdlib.h>

/* Allocates n objects (thread i % threads, each written writes_per_object
 * times at once) into o[0..n). */
static int alloc_set(tr_gen_ctx *c, tr_gen_obj *o, uint64_t n)
{
    int rc = 0;
    for (uint64_t i = 0; !rc && i < n; i++) {
        o[i].thread = (uint32_t)(i % c->spec->threads);
        rc = tr_gen_alloc_now(c, o[i].thread, true, &o[i].id, &o[i].size);
    }
    return rc;
}

static int free_set(tr_gen_ctx *c, const tr_gen_obj *o, uint64_t n)
{
    int rc = 0;
    for (uint64_t i = 0; !rc && i < n; i++)
        rc = tr_gen_emit_free(c, o[i].thread, o[i].id, o[i].size, o[i].thread);
    return rc;
}

static int gen_hotobject(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint64_t n = s->objects, cap = s->live + 1, head = 0, nq = 0;
    tr_gen_obj *hot = malloc(n * sizeof *hot);
    tr_gen_obj *bg = s->churn_rate > 0 ? malloc(cap * sizeof *bg) : NULL;   /* FIFO */
    int rc = hot && (bg || s->churn_rate == 0) ? alloc_set(c, hot, n) : TR_ENOMEM;
    double due = 0;     /* background allocations owed; fractional rates carry over */
    for (uint64_t w = 0; !rc && w < s->writes; w++) {
        const tr_gen_obj *o = &hot[tr_gen_uniform(c->rng, n)];
        rc = tr_gen_emit_write(c, o->thread, o->id, o->size);
        for (due += s->churn_rate; !rc && due >= 1; due -= 1) {
            tr_gen_obj *b = &bg[(head + nq++) % cap];
            b->thread = tr_gen_pick_thread(c, 0, s->threads);
            if ((rc = tr_gen_alloc_now(c, b->thread, true, &b->id, &b->size)) || nq <= s->live)
                continue;
            const tr_gen_obj *old = &bg[head];
            head = (head + 1) % cap;
            nq--;
            rc = tr_gen_emit_free(c, old->thread, old->id, old->size, old->thread);
        }
    }
    for (; !rc && s->free_at_end && nq; nq--, head = (head + 1) % cap)
        rc = tr_gen_emit_free(c, bg[head].thread, bg[head].id, bg[head].size, bg[head].thread);
    if (!rc && s->free_at_end)
        rc = free_set(c, hot, n);
    free(bg);
    free(hot);
    return rc;
}

static int gen_pingpong(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint64_t n = s->objects, size = tr_gen_size_draw(&s->size, c->rng);
    tr_gen_obj *slot = malloc(n * sizeof *slot);
    int rc = slot ? 0 : TR_ENOMEM;
    /* Slot k, owned by thread k % threads, is the oldest at steps k, k + n, ...:
     * its replacement is the next allocation after its free. */
    for (uint64_t step = 0; !rc && c->st.events + (s->free_at_end ? n : 0) < s->events; step++) {
        tr_gen_obj *o = &slot[step % n];
        if (step >= n && (rc = tr_gen_emit_free(c, o->thread, o->id, o->size, o->thread)))
            break;
        o->thread = (uint32_t)(step % n % s->threads);
        o->size = size;
        rc = tr_gen_emit_alloc(c, o->thread, size, &o->id);
        for (uint64_t w = 0; !rc && w < s->writes_per_object; w++)
            rc = tr_gen_emit_write(c, o->thread, o->id, size);
    }
    /* The budget exceeds the setup (gen_adv_spec.c), so every slot is filled. */
    if (!rc && s->free_at_end)
        rc = free_set(c, slot, n);
    free(slot);
    return rc;
}

static int gen_hammer(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint64_t nd = s->decoy_fraction > 0 ? s->decoy_objects : 0;
    tr_gen_obj *o = calloc(1 + nd, sizeof *o);     /* o[0] the target, then the decoys */
    int rc = o ? alloc_set(c, o, 1 + nd) : TR_ENOMEM;
    uint64_t off = 0, len = 0;
    if (!rc) {
        /* The spec's check keeps the line inside the smallest possible object. */
        off = s->line * TR_GEN_LINE;
        uint64_t span = o[0].size - off < TR_GEN_LINE ? o[0].size - off : TR_GEN_LINE;
        len = span < s->write_len ? span : s->write_len;
    }
    for (uint64_t w = 0; !rc && w < s->writes; w++) {
        /* Decoy w when floor((w + 1) f) steps up: evenly spread, floor(writes f) in all. */
        bool decoy = nd && floor((double)(w + 1) * s->decoy_fraction) > floor((double)w * s->decoy_fraction);
        if (decoy) {
            const tr_gen_obj *d = &o[1 + tr_gen_uniform(c->rng, nd)];
            rc = tr_gen_emit_write(c, d->thread, d->id, d->size);
        } else {
            rc = tr_gen_emit_write_at(c, o[0].thread, o[0].id, off, len);
        }
    }
    if (!rc && s->free_at_end)
        rc = free_set(c, o, 1 + nd);
    free(o);
    return rc;
}

/* The number of hot lines of a skewed spec: ceil(hot_lines x lines), at least
 * one and leaving one cold. */
static uint64_t skewed_hot_count(const tr_gen_spec *s)
{
    double h = ceil(s->hot_lines * (double)s->lines - 1e-9);
    return h < 1 ? 1 : h > (double)(s->lines - 1) ? s->lines - 1 : (uint64_t)h;
}

static int gen_skewed(tr_gen_ctx *c)
{
    const tr_gen_spec *s = c->spec;
    uint64_t n = s->objects, base = s->lines / n, extra = s->lines % n;
    uint64_t hot = skewed_hot_count(s), big = extra * (base + 1);   /* lines of the larger objects */
    tr_gen_obj *o = malloc(n * sizeof *o);
    uint64_t *perm = malloc(s->lines * sizeof *perm);   /* perm[0..hot) are the hot lines */
    int rc = o && perm ? 0 : TR_ENOMEM;
    /* The first `extra` objects have base + 1 lines, the others base: all
     * lines covered, in object order. */
    for (uint64_t i = 0; !rc && i < n; i++) {
        o[i].thread = (uint32_t)(i % s->threads);
        o[i].size = (base + (i < extra)) * TR_GEN_LINE;
        rc = tr_gen_emit_alloc(c, o[i].thread, o[i].size, &o[i].id);
        for (uint64_t w = 0; !rc && w < s->writes_per_object; w++)
            rc = tr_gen_emit_write(c, o[i].thread, o[i].id, o[i].size);
    }
    if (!rc) {
        for (uint64_t l = 0; l < s->lines; l++)
            perm[l] = l;
        gsl_ran_shuffle(c->rng, perm, s->lines, sizeof *perm);
    }
    for (uint64_t w = 0; !rc && w < s->writes; w++) {
        bool is_hot = gsl_rng_uniform(c->rng) < s->hot_fraction;
        uint64_t l = is_hot ? perm[tr_gen_uniform(c->rng, hot)]
                            : perm[hot + tr_gen_uniform(c->rng, s->lines - hot)];
        uint64_t i = l < big ? l / (base + 1) : extra + (l - big) / base;
        uint64_t first = i < extra ? i * (base + 1) : big + (i - extra) * base;
        rc = tr_gen_emit_write_at(c, o[i].thread, o[i].id, (l - first) * TR_GEN_LINE, TR_GEN_LINE);
    }
    if (!rc && s->free_at_end)
        rc = free_set(c, o, n);
    free(perm);
    free(o);
    return rc;
}

int tr_gen_adv_run(tr_gen_ctx *c)
{
    switch (c->spec->pattern) {
    case TR_GEN_HOTOBJECT: return gen_hotobject(c);
    case TR_GEN_PINGPONG: return gen_pingpong(c);
    case TR_GEN_HAMMER: return gen_hammer(c);
    default: return gen_skewed(c);
    }
}
