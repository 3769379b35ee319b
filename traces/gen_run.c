/*
 * gen_run.c - running a generator: the emitter the patterns call (it numbers
 * objects, keeps the live set's size and the statistics, and hands each event
 * to a sink), the timeline that emits frees and writes when they fall due, the
 * seeded random generator, and the two ways out: a sink callback (tr_gen_run)
 * or a trace file through tr_writer (tr_gen_write).
 *
 * Determinism: one gsl_rng (mt19937) per run, seeded with seed + 1 (GSL
 * replaces a seed of 0 by 4357, which would make seeds 0 and 4357 the same
 * trace; seed + 1 is never 0), drawn in an order fixed by the spec alone. Nothing else enters the output:
 * no time, no pid, no addresses; the header's source is the resolved spec.
 * Same spec, same bytes.
 *
 * The timeline: churn and phases keep due frees and writes in a binary
 * min-heap ordered by (time, insertion number). Times are in steps; a step
 * first emits everything due by then, then allocates. An object's writes are
 * pushed before its free, at times strictly inside its life, so on a tie of
 * times (rounding at very large step numbers) the insertion number still puts
 * them before the free: a write never follows the free of its object.
 *
 * Atomicity: validation happens before the file is opened, and a failure
 * after opening abandons the writer, which removes its temp file; so an
 * error never leaves a file behind.
 */
#include "gen_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the emitter ---------------------------------------------------------------- */

int tr_gen_emit_alloc(tr_gen_ctx *c, uint32_t thread, uint64_t size, uint64_t *id)
{
    tr_event e = {.op = TR_ALLOC, .thread = thread, .id = c->next_id++, .size = size};
    *id = e.id;
    c->st.events++;
    c->st.allocs++;
    c->live_objects++;
    c->live_bytes += size;
    if (c->live_objects > c->st.peak_live_objects)
        c->st.peak_live_objects = c->live_objects;
    if (c->live_bytes > c->st.peak_live_bytes)
        c->st.peak_live_bytes = c->live_bytes;
    return c->sink(c->sink_ctx, &e);
}

int tr_gen_emit_free(tr_gen_ctx *c, uint32_t thread, uint64_t id, uint64_t size, uint32_t owner)
{
    tr_event e = {.op = TR_FREE, .thread = thread, .id = id};
    c->st.events++;
    c->st.frees++;
    c->st.cross_thread_frees += thread != owner;
    c->live_objects--;
    c->live_bytes -= size;
    return c->sink(c->sink_ctx, &e);
}

int tr_gen_emit_write(tr_gen_ctx *c, uint32_t thread, uint64_t id, uint64_t size)
{
    tr_event e = {.op = TR_WRITE, .thread = thread, .id = id};
    tr_gen_write_range(c->rng, size, c->spec->write_len, &e.offset, &e.len);
    c->st.events++;
    c->st.writes++;
    return c->sink(c->sink_ctx, &e);
}

int tr_gen_emit_write_at(tr_gen_ctx *c, uint32_t thread, uint64_t id, uint64_t off, uint64_t len)
{
    tr_event e = {.op = TR_WRITE, .thread = thread, .id = id, .offset = off, .len = len};
    c->st.events++;
    c->st.writes++;
    return c->sink(c->sink_ctx, &e);
}

/* ---- the timeline --------------------------------------------------------------- */

static bool tl_before(const tr_gen_tl_item *x, const tr_gen_tl_item *y)
{
    return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static int tl_push(tr_gen_timeline *tl, double t, uint64_t id, uint64_t size, uint32_t thread, bool is_free)
{
    if (tl->n == tl->cap) {
        size_t cap = tl->cap ? tl->cap * 2 : 1024;
        tr_gen_tl_item *a = realloc(tl->a, cap * sizeof *a);
        if (!a)
            return TR_ENOMEM;
        tl->a = a;
        tl->cap = cap;
    }
    tr_gen_tl_item it = {t, tl->seq++, id, size, thread, is_free};
    size_t i = tl->n++;
    while (i > 0 && tl_before(&it, &tl->a[(i - 1) / 2])) {
        tl->a[i] = tl->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    tl->a[i] = it;
    return 0;
}

static tr_gen_tl_item tl_pop(tr_gen_timeline *tl)
{
    tr_gen_tl_item top = tl->a[0], last = tl->a[--tl->n];
    size_t i = 0;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= tl->n)
            break;
        if (k + 1 < tl->n && tl_before(&tl->a[k + 1], &tl->a[k]))
            k++;
        if (!tl_before(&tl->a[k], &last))
            break;
        tl->a[i] = tl->a[k];
        i = k;
    }
    if (tl->n)
        tl->a[i] = last;
    return top;
}

/* Emits every item due at or before `until`, in order. */
int tr_gen_tl_drain(tr_gen_ctx *c, tr_gen_timeline *tl, double until)
{
    while (tl->n && tl->a[0].t <= until) {
        tr_gen_tl_item it = tl_pop(tl);
        int rc = it.is_free ? tr_gen_emit_free(c, it.thread, it.id, it.size, it.thread)
                            : tr_gen_emit_write(c, it.thread, it.id, it.size);
        if (rc)
            return rc;
    }
    return 0;
}

/* Schedules the object's writes inside (now, death), then its free at death. */
int tr_gen_tl_schedule(tr_gen_ctx *c, tr_gen_timeline *tl, double now, double death, uint64_t id,
                       uint64_t size, uint32_t thread)
{
    for (uint64_t w = 0; w < c->spec->writes_per_object; w++) {
        double t = now + gsl_rng_uniform_pos(c->rng) * (death - now);
        int rc = tl_push(tl, t, id, size, thread, false);
        if (rc)
            return rc;
    }
    return tl_push(tl, death, id, size, thread, true);
}

void tr_gen_tl_free(tr_gen_timeline *tl)
{
    free(tl->a);
    tl->a = NULL;
    tl->n = tl->cap = 0;
}

/* ---- running ---------------------------------------------------------------------- */

/* Generates s (read and owned by the caller) into sink. */
static int gen_generate(tr_gen_spec *s, tr_gen_sink sink, void *ctx, tr_gen_stats *stats, tr_error *err)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = rng ? tr_gen_size_prepare(&s->size) : TR_ENOMEM;
    tr_gen_ctx c = {.spec = s, .rng = rng, .sink = sink, .sink_ctx = ctx, .next_id = 1};
    c.st.threads = s->threads;
    if (!rc) {
        gsl_rng_set(rng, (unsigned long)(s->seed + 1));
        rc = tr_gen_patterns_run(&c);
    }
    c.st.end_live_objects = c.live_objects;
    if (stats)
        *stats = c.st;
    if (rc == TR_ENOMEM)
        tr_error_set(err, "", 0, 0, "out of memory generating a %s trace", tr_gen_pattern_name(s->pattern));
    if (rng)
        gsl_rng_free(rng);
    return rc;
}

int tr_gen_run(const json_t *spec, const char *key, tr_gen_sink sink, void *ctx, tr_gen_stats *stats,
               tr_error *err)
{
    tr_gen_spec s;
    int rc = tr_gen_spec_read(&s, spec, key, err);
    if (rc)
        return rc;
    rc = gen_generate(&s, sink, ctx, stats, err);
    tr_gen_spec_free(&s);
    return rc;
}

/* ---- into a file -------------------------------------------------------------------- */

/* The header's source: the resolved spec, or, when an empirical histogram
 * makes it too long for tr_header.source, the same with the two arrays
 * replaced by their length (the trace then no longer carries its spec). */
static void gen_source(const tr_gen_spec *s, char *buf, size_t len)
{
    json_t *o = tr_gen_spec_to_json(s);
    char *text = o ? tr_gen_json_dumps(o) : NULL;
    if (text && strlen(text) >= len && s->size.dist == TR_GEN_EMPIRICAL) {
        json_t *size = json_object_get(o, "size");
        char what[64];
        snprintf(what, sizeof what, "(%zu values)", s->size.n);
        json_object_set_new(size, "sizes", json_string(what));
        json_object_set_new(size, "weights", json_string(what));
        free(text);
        text = tr_gen_json_dumps(o);
    }
    snprintf(buf, len, "%s", text ? text : "");
    free(text);
    json_decref(o);
}

static int gen_sink_writer(void *ctx, const tr_event *e)
{
    return tr_writer_event(ctx, e);
}

int tr_gen_write_stats(const json_t *spec, const char *key, const char *out_path, tr_gen_stats *stats,
                       tr_error *err)
{
    tr_gen_spec s;
    int rc = tr_gen_spec_read(&s, spec, key, err);
    if (rc)
        return rc;
    tr_header hdr = {.version = TR_FORMAT_VERSION, .threads = s.threads};
    gen_source(&s, hdr.source, sizeof hdr.source);
    tr_writer *w = NULL;
    if ((rc = tr_writer_open(&w, out_path, &hdr, err))) {
        tr_gen_spec_free(&s);
        return rc;
    }
    rc = gen_generate(&s, gen_sink_writer, w, stats, err);
    tr_gen_spec_free(&s);
    if (rc) {
        tr_writer_close(w, true, NULL);
        if (rc != TR_ENOMEM)
            tr_error_set(err, out_path, 0, 0, "write failed (disk full?)");
        return rc;
    }
    return tr_writer_close(w, false, err);
}

int tr_gen_write(const json_t *spec, const char *key, const char *out_path, tr_error *err)
{
    return tr_gen_write_stats(spec, key, out_path, NULL, err);
}
