/*
 * run_summary.c - summary.json of one run: the device, the events, the wear
 * statistics (all cells, data, metadata, links; each device-wide with a
 * "touched" block over the cells written at least once), fragmentation, time, the heap, the
 * persistence protocol's traffic and the resolved config. Undefined values
 * are null.
 */
#include "run_internal.h"
#include "config_json.h"
#include "provenance.h"

#include <math.h>

/* summary.json's format: 2 added "schema_version" itself and the "touched"
 * statistics inside each wear block; every key of 1 kept its name and
 * meaning (the plain wear statistics stay device-wide). Still 2 after links
 * (a third source beside data and metadata) came: they only add keys
 * (wear.links_writes, wear_links, persistence.links and
 * links_writes_per_op, heap.links_bytes_written), and without links every
 * older figure is what it was. */
#define RUN_SCHEMA_VERSION 2

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The statistics over the touched cells, beside the device-wide ones. */
static json_t *touched_json(const an_wear *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "cells", json_integer((json_int_t)t->cells));
    json_object_set_new(o, "mean", jnum(t->mean));
    json_object_set_new(o, "stddev", jnum(t->stddev));
    json_object_set_new(o, "cov", jnum(t->cov));
    json_object_set_new(o, "p50", jnum(t->p50));
    json_object_set_new(o, "p90", jnum(t->p90));
    json_object_set_new(o, "p99", jnum(t->p99));
    json_object_set_new(o, "p999", jnum(t->p999));
    json_object_set_new(o, "gini", jnum(t->gini));
    json_object_set_new(o, "hotspot", jnum(t->hotspot));
    json_object_set_new(o, "lifetime_fraction", jnum(t->lifetime_fraction));
    return o;
}

/* A wear block: the device-wide statistics under their historical names,
 * then "touched". */
static json_t *wear_json(const an_wear *w, const an_wear *touched)
{
    json_t *o = json_object();
    json_object_set_new(o, "total_writes", json_integer((json_int_t)w->total));
    json_object_set_new(o, "cells_touched", json_integer((json_int_t)w->cells_touched));
    json_object_set_new(o, "max", json_integer((json_int_t)w->max));
    json_object_set_new(o, "mean", jnum(w->mean));
    json_object_set_new(o, "stddev", jnum(w->stddev));
    json_object_set_new(o, "cov", jnum(w->cov));
    json_object_set_new(o, "p50", jnum(w->p50));
    json_object_set_new(o, "p90", jnum(w->p90));
    json_object_set_new(o, "p99", jnum(w->p99));
    json_object_set_new(o, "p999", jnum(w->p999));
    json_object_set_new(o, "gini", jnum(w->gini));
    json_object_set_new(o, "hotspot", jnum(w->hotspot));
    json_object_set_new(o, "lifetime_fraction", jnum(w->lifetime_fraction));
    json_object_set_new(o, "touched", touched_json(touched));
    return o;
}

/* The extra keys of the "wear" block (all cells): the split by source, the
 * metadata kinds, bit flips and the lifetime projection. */
static void wear_all_extras(json_t *o, const run_result *m)
{
    const nv_counters *k = &m->k;
    json_object_set_new(o, "data_writes", json_integer((json_int_t)k->data_writes));
    json_object_set_new(o, "meta_writes", json_integer((json_int_t)k->meta_writes));
    json_object_set_new(o, "links_writes", json_integer((json_int_t)k->links_writes));
    json_t *mk = json_object();
    for (int t = 0; t < NV_TAGS; t++)
        if (nv_tag_is_meta((nv_tag)t))
            json_object_set_new(mk, nv_tag_name((nv_tag)t), json_pack("{s:I, s:I, s:I}",
            "writes", (json_int_t)k->kind[t].writes, "hottest_cell", (json_int_t)k->kind[t].hottest_cell,
            "hottest_count", (json_int_t)k->kind[t].hottest_count));
    json_object_set_new(o, "meta_by_kind", mk);
    uint64_t flips = 0;
    for (int t = 0; t < NV_TAGS; t++)
        flips += k->bits_flipped[t];
    json_object_set_new(o, "bits_flipped", json_integer((json_int_t)flips));
    json_object_set_new(o, "projected_lifetime_s", jnum(m->lifetime_s));
    json_object_set_new(o, "first_failing_cell",
                        isfinite(m->lifetime_s) ? json_integer((json_int_t)m->first_failing_cell) : json_null());
}

/* The persistence protocol's traffic: the heap's counters, and per operation
 * (a get or a return, as the heap counted them). meta_writes_per_op divides
 * the device's metadata cell writes by the trace's alloc, free and realloc
 * events; it is null off the sim device, which counts nothing.
 * links_writes_per_op does the same for the replay's link table (replay.h),
 * so a gc heap's saving in metadata is set against what the program then
 * writes to keep its objects reachable. Each ratio is null when its
 * denominator is 0. */
static json_t *persistence_json(const run_result *m)
{
    const pma_heap_stats *hs = &m->hs;
    const tr_replay_stats *st = m->st;
    double ops = (double)(hs->allocs + hs->frees);
    double trace_ops = (double)(st->events[TR_ALLOC] + st->events[TR_FREE] + st->events[TR_REALLOC]);
    json_t *o = json_object();
    json_object_set_new(o, "protocol", json_string(pma_persistence_name(m->x->allocator.persistence)));
    json_object_set_new(o, "cache_hits", json_integer((json_int_t)hs->cache_hits));
    json_object_set_new(o, "cache_misses", json_integer((json_int_t)hs->cache_misses));
    json_object_set_new(o, "cache_hit_ratio", jnum(run_ratio((double)hs->cache_hits,
                                                             (double)(hs->cache_hits + hs->cache_misses))));
    json_object_set_new(o, "cached_bytes", json_integer((json_int_t)hs->cached_bytes));
    json_object_set_new(o, "lane_ops", json_integer((json_int_t)hs->lane_ops));
    json_object_set_new(o, "flushes", json_integer((json_int_t)hs->flushes));
    json_object_set_new(o, "fences", json_integer((json_int_t)hs->fences));
    json_object_set_new(o, "meta_bytes", json_integer((json_int_t)hs->meta_bytes));
    json_object_set_new(o, "checkpoints", json_integer((json_int_t)hs->checkpoints));
    json_object_set_new(o, "log_wraps", json_integer((json_int_t)hs->log_wraps));
    json_object_set_new(o, "flushes_per_op", jnum(run_ratio((double)hs->flushes, ops)));
    json_object_set_new(o, "fences_per_op", jnum(run_ratio((double)hs->fences, ops)));
    json_object_set_new(o, "flushes_fences_per_op", jnum(run_ratio((double)(hs->flushes + hs->fences), ops)));
    json_object_set_new(o, "meta_bytes_per_op", jnum(run_ratio((double)hs->meta_bytes, ops)));
    json_object_set_new(o, "meta_writes_per_op", m->sim ? jnum(run_ratio((double)m->k.meta_writes, trace_ops))
                                                        : json_null());
    json_object_set_new(o, "links", json_boolean(st->links));
    json_object_set_new(o, "links_writes_per_op", m->sim ? jnum(run_ratio((double)m->k.links_writes, trace_ops))
                                                         : json_null());
    return o;
}

json_t *run_summary_json(const run_result *m)
{
    const cfg_experiment *x = m->x;
    const tr_replay_stats *st = m->st;
    json_t *sum = json_object();
    json_object_set_new(sum, "schema_version", json_integer(RUN_SCHEMA_VERSION));
    json_object_set_new(sum, "device", json_pack("{s:s, s:I, s:i, s:I}", "kind", nv_kind_name(x->device.kind),
                                                 "size", (json_int_t)nv_size(m->d), "cell_size",
                                                 (int)x->device.cell_size, "cells", (json_int_t)m->cells));
    json_object_set_new(sum, "events", json_pack("{s:I, s:I, s:I, s:I, s:I}", "alloc",
                                                 (json_int_t)st->events[TR_ALLOC], "free", (json_int_t)st->events[TR_FREE],
                                                 "realloc", (json_int_t)st->events[TR_REALLOC], "write",
                                                 (json_int_t)st->events[TR_WRITE], "read", (json_int_t)st->events[TR_READ]));
    static const char *const names[4] = {"wear", "wear_data", "wear_meta", "wear_links"};
    for (int i = 0; i < 4; i++) {
        if (!m->sim) {
            json_object_set_new(sum, names[i], json_null());
            continue;
        }
        json_t *o = wear_json(&m->wear[i], &m->wear_touched[i]);
        if (i == 0)
            wear_all_extras(o, m);
        json_object_set_new(sum, names[i], o);
    }
    const an_frag_sample *last = m->nsamples ? &m->samples[m->nsamples - 1] : NULL;
    json_object_set_new(sum, "fragmentation", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I}",
        "internal", jnum(m->internal), "internal_final", jnum(last ? last->internal : NAN),
        "external", jnum(m->external), "external_final", jnum(last ? last->external : NAN),
        "utilization", jnum(m->utilization), "utilization_final", jnum(last ? last->utilization : NAN),
        "peak_footprint", (json_int_t)m->peak_footprint, "peak_requested", (json_int_t)m->peak_requested,
        "samples", (json_int_t)m->nsamples));
    json_object_set_new(sum, "time", json_pack("{s:o, s:o, s:f, s:o}",
        "simulated_ns", m->sim ? jnum(m->k.time_ns) : json_null(),
        "simulated_elapsed_ns", m->sim ? jnum(m->elapsed_ns) : json_null(), "wall_s", st->wall_s,
        "events_per_s", jnum(st->wall_s > 0 ? (double)m->events / st->wall_s : NAN)));
    const pma_heap_stats *hs = &m->hs;
    json_object_set_new(sum, "heap", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "arena_creations", (json_int_t)hs->arena_creations, "search_restarts", (json_int_t)hs->search_restarts,
        "next_class_hits", (json_int_t)hs->next_class_hits, "live_objects_at_end", (json_int_t)hs->live_objects,
        "footprint", (json_int_t)hs->footprint_bytes, "failed_allocs", (json_int_t)hs->failed_allocs,
        "misaligned", (json_int_t)st->misaligned, "data_bytes_written", (json_int_t)st->data_bytes_written));
    json_object_set_new(json_object_get(sum, "heap"), "links_bytes_written",
                        json_integer((json_int_t)st->links_bytes_written));
    json_object_set_new(json_object_get(sum, "heap"), "links_worn_entries",
                        json_integer((json_int_t)st->links_worn_entries));
    json_object_set_new(json_object_get(sum, "heap"), "links_stale_entries",
                        json_integer((json_int_t)st->links_stale_entries));
    run_wearout_json(m, sum);
    run_lifetime_json(m, sum);
    json_object_set_new(sum, "persistence", persistence_json(m));
    run_recovery_json(m, sum);
    json_object_set_new(sum, "config", cfg_experiment_resolved(x));
    json_object_set_new(sum, "provenance", prov_json(x, m->trace_checksum, m->trace_bytes));
    return sum;
}
