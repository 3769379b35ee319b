/*
 * run_experiment.c - one experiment from its loaded config to its results
 * folder (run.h): device, heap, trace, replay with fragmentation sampling,
 * wear statistics (analysis/), outputs written atomically, plots, and the
 * summary table.
 *
 * Fragmentation is sampled every N events. With "auto" N starts at 1024 and
 * doubles whenever 400 samples have piled up (dropping every other sample), so
 * a trace of any length ends with 200 to 400 evenly spaced samples; the
 * time-averaged figures are means over them.
 */
#include "run.h"
#include "cmd.h"
#include "pmarena/analysis.h"
#include "pmarena/gen.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 400

typedef struct sample {
    uint64_t events, requested, allocated, footprint;
    double internal, external, utilization;
} sample;

typedef struct run_ctx {
    pma_heap *h;
    tr_reader *r;
    sample *s;
    size_t n, cap;
    uint64_t every;          /* record a sample every this many events */
    bool adaptive;
    uint64_t peak_footprint, peak_requested;
    uint64_t trace_bytes;    /* for the progress bar; 0 when unknown */
    bool progress;
    double t0;
} run_ctx;

static double ratio_or_nan(double a, double b) { return b > 0 ? a / b : NAN; }

static void take_sample(run_ctx *c, uint64_t events)
{
    pma_heap_stats st;
    pma_stats(c->h, &st);
    if (st.footprint_bytes > c->peak_footprint)
        c->peak_footprint = st.footprint_bytes;
    if (st.requested_bytes > c->peak_requested)
        c->peak_requested = st.requested_bytes;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        sample *ns = realloc(c->s, ncap * sizeof *ns);
        if (!ns)
            return;   /* the series is a sample: losing one point under memory pressure is tolerable */
        c->s = ns;
        c->cap = ncap;
    }
    c->s[c->n++] = (sample){
        .events = events, .requested = st.requested_bytes, .allocated = st.allocated_bytes,
        .footprint = st.footprint_bytes,
        .internal = st.allocated_bytes ? 1.0 - (double)st.requested_bytes / (double)st.allocated_bytes : NAN,
        .external = st.free_bytes ? 1.0 - (double)st.largest_free_run / (double)st.free_bytes : NAN,
        .utilization = ratio_or_nan((double)st.requested_bytes, (double)st.footprint_bytes),
    };
    if (c->adaptive && c->n >= MAX_SAMPLES) {
        size_t k = 0;
        for (size_t i = 1; i < c->n; i += 2)
            c->s[k++] = c->s[i];
        c->n = k;
        c->every *= 2;
    }
}

static void on_sample(void *ctx, uint64_t events)
{
    run_ctx *c = ctx;
    if (events % c->every == 0)
        take_sample(c, events);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_progress(void *ctx, uint64_t events)
{
    run_ctx *c = ctx;
    if (!c->progress)
        return;
    double t = now_s() - c->t0;
    if (c->trace_bytes) {
        double f = (double)tr_reader_bytes_read(c->r) / (double)c->trace_bytes;
        if (f > 1)
            f = 1;
        int bar = (int)(f * 30);
        fprintf(stderr, "\r[%.*s%*s] %3.0f%%  %llu events  %.2f M events/s ", bar,
                "##############################", 30 - bar, "", f * 100, (unsigned long long)events,
                (double)events / t / 1e6);
    } else {
        fprintf(stderr, "\r%llu events  %.2f M events/s ", (unsigned long long)events, (double)events / t / 1e6);
    }
}

/* ---- atomic files ---------------------------------------------------------------- */

typedef struct afile { FILE *f; char path[4200], tmp[4300]; } afile;

static FILE *afile_open(afile *a, const char *dir, const char *name)
{
    snprintf(a->path, sizeof a->path, "%s/%s", dir, name);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", a->path, (long)getpid());
    a->f = fopen(a->tmp, "w");
    return a->f;
}

static int afile_close(afile *a)
{
    bool ok = !ferror(a->f);
    ok = fclose(a->f) == 0 && ok;
    if (ok && rename(a->tmp, a->path) == 0)
        return 0;
    unlink(a->tmp);
    fprintf(stderr, "pmarena run: cannot write %s: %s\n", a->path, strerror(errno));
    return EXIT_FAIL;
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static void csv_num(FILE *f, double v, const char *sep)
{
    if (isfinite(v))
        fprintf(f, "%.6g%s", v, sep);
    else
        fprintf(f, "%s", sep);
}

/* ---- JSON helpers ------------------------------------------------------------------ */

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *wear_json(const an_wear *w)
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
    return o;
}

/* The persistence protocol's traffic: the heap's counters, and per operation
 * (a get or a return, as the heap counted them). meta_writes_per_op divides
 * the device's metadata cell writes by the trace's alloc, free and realloc
 * events; it is null off the sim device, which counts nothing. Each ratio is
 * null when its denominator is 0. */
static json_t *persistence_json(pma_heap *h, const pma_heap_stats *hs, bool sim, const nv_counters *k,
                                const tr_replay_stats *st)
{
    double ops = (double)(hs->allocs + hs->frees);
    double trace_ops = (double)(st->events[TR_ALLOC] + st->events[TR_FREE] + st->events[TR_REALLOC]);
    json_t *o = json_object();
    json_object_set_new(o, "protocol", json_string(pma_persistence_name(pma_heap_config(h)->persistence)));
    json_object_set_new(o, "cache_hits", json_integer((json_int_t)hs->cache_hits));
    json_object_set_new(o, "cache_misses", json_integer((json_int_t)hs->cache_misses));
    json_object_set_new(o, "cache_hit_ratio", jnum(ratio_or_nan((double)hs->cache_hits,
                                                                (double)(hs->cache_hits + hs->cache_misses))));
    json_object_set_new(o, "cached_bytes", json_integer((json_int_t)hs->cached_bytes));
    json_object_set_new(o, "flushes", json_integer((json_int_t)hs->flushes));
    json_object_set_new(o, "fences", json_integer((json_int_t)hs->fences));
    json_object_set_new(o, "meta_bytes", json_integer((json_int_t)hs->meta_bytes));
    json_object_set_new(o, "checkpoints", json_integer((json_int_t)hs->checkpoints));
    json_object_set_new(o, "log_wraps", json_integer((json_int_t)hs->log_wraps));
    json_object_set_new(o, "flushes_per_op", jnum(ratio_or_nan((double)hs->flushes, ops)));
    json_object_set_new(o, "fences_per_op", jnum(ratio_or_nan((double)hs->fences, ops)));
    json_object_set_new(o, "flushes_fences_per_op", jnum(ratio_or_nan((double)(hs->flushes + hs->fences), ops)));
    json_object_set_new(o, "meta_bytes_per_op", jnum(ratio_or_nan((double)hs->meta_bytes, ops)));
    json_object_set_new(o, "meta_writes_per_op", sim ? jnum(ratio_or_nan((double)k->meta_writes, trace_ops))
                                                     : json_null());
    return o;
}

static void fmt_frac(char *buf, size_t len, double v)
{
    if (isfinite(v))
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "n/a");
}

/* v * scale with two decimals (one for a percentage) and unit, or "n/a". */
static void fmt_fixed(char *buf, size_t len, double v, double scale, const char *unit)
{
    if (isfinite(v))
        snprintf(buf, len, "%.*f%s", *unit == '%' ? 1 : 2, v * scale, unit);
    else
        snprintf(buf, len, "n/a");
}

/* ---- the run ---------------------------------------------------------------------- */

static int open_trace(const cfg_experiment *x, const run_options *opt, tr_reader **r, char *genpath,
                      size_t genlen)
{
    tr_error err = {0};
    int rc;
    genpath[0] = '\0';
    if (x->trace_kind == CFG_TRACE_EVENTS) {
        rc = tr_reader_open_json(r, x->trace_events, "trace.events", &err);
    } else {
        const char *path = x->trace_file;
        if (x->trace_kind == CFG_TRACE_GEN) {
            snprintf(genpath, genlen, "/tmp/pmarena-gen-%ld.jsonl", (long)getpid());
            if ((rc = tr_gen_write(x->trace_gen, "trace.gen", genpath, &err)) != 0)
                goto fail;
            path = genpath;
        }
        if (x->trace_kind == CFG_TRACE_FILE && opt->cache_dir)
            rc = tr_reader_open_cached(r, path, opt->cache_dir, &err);
        else
            rc = tr_reader_open(r, path, &err);
    }
    if (rc == 0)
        return 0;
fail:;
    char msg[1200];
    if (err.file[0])
        tr_error_format(&err, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "%s", err.msg);
    fprintf(stderr, "pmarena run: %s\n", msg);
    if (genpath[0])
        unlink(genpath);
    return rc == TR_EIO || rc == TR_ENOMEM ? EXIT_FAIL : EXIT_BADINPUT;
}

static int write_outputs(const cfg_experiment *x, const char *dir, const run_options *opt, nv_device *d,
                         pma_heap *h, run_ctx *c, const tr_replay_stats *st)
{
    int status = 0;
    json_t *sum = json_object();
    nv_counters k = {0};
    bool sim = nv_device_kind(d) == NV_KIND_SIM && nv_counters_get(d, &k) == 0;
    uint64_t cells = sim ? k.cells : 0;
    json_object_set_new(sum, "device", json_pack("{s:s, s:I, s:i, s:I}", "kind", nv_kind_name(x->device.kind),
                                                 "size", (json_int_t)nv_size(d), "cell_size",
                                                 (int)x->device.cell_size, "cells", (json_int_t)cells));
    json_object_set_new(sum, "events", json_pack("{s:I, s:I, s:I, s:I, s:I}", "alloc",
                                                 (json_int_t)st->events[TR_ALLOC], "free", (json_int_t)st->events[TR_FREE],
                                                 "realloc", (json_int_t)st->events[TR_REALLOC], "write",
                                                 (json_int_t)st->events[TR_WRITE], "read", (json_int_t)st->events[TR_READ]));
    double elapsed_ns = 0;
    for (int t = 0; t < NV_MAX_THREADS; t++)
        if (nv_time_thread_ns(d, t) > elapsed_ns)
            elapsed_ns = nv_time_thread_ns(d, t);
    uint64_t *counts = sim ? malloc(cells * sizeof *counts) : NULL;
    if (sim && !counts) {
        fprintf(stderr, "pmarena run: out of memory for %llu cell counts\n", (unsigned long long)cells);
        json_decref(sum);
        return EXIT_FAIL;
    }
    an_wear w[3];
    static const char *const names[3] = {"wear", "wear_data", "wear_meta"};
    static const int which[3] = {2, 0, 1};
    afile a;
    for (int i = 0; sim && i < 3; i++) {
        nv_cells_export(d, which[i], 0, cells, counts);
        an_wear_stats(counts, cells, &w[i]);
        json_t *o = wear_json(&w[i]);
        if (i == 0) {
            double life;
            uint64_t first = 0;
            an_lifetime(counts, cells, elapsed_ns / 1e9, &x->endurance, &life, &first);
            json_object_set_new(o, "data_writes", json_integer((json_int_t)k.data_writes));
            json_object_set_new(o, "meta_writes", json_integer((json_int_t)k.meta_writes));
            json_t *mk = json_object();
            for (int t = NV_META_BITMAP; t < NV_TAGS; t++)
                json_object_set_new(mk, nv_tag_name((nv_tag)t), json_pack("{s:I, s:I, s:I}",
                    "writes", (json_int_t)k.kind[t].writes, "hottest_cell", (json_int_t)k.kind[t].hottest_cell,
                    "hottest_count", (json_int_t)k.kind[t].hottest_count));
            json_object_set_new(o, "meta_by_kind", mk);
            uint64_t flips = 0;
            for (int t = 0; t < NV_TAGS; t++)
                flips += k.bits_flipped[t];
            json_object_set_new(o, "bits_flipped", json_integer((json_int_t)flips));
            json_object_set_new(o, "projected_lifetime_s", jnum(life));
            json_object_set_new(o, "first_failing_cell", isfinite(life) ? json_integer((json_int_t)first) : json_null());
            char path[4200];
            snprintf(path, sizeof path, "%s/wear_hist.csv", dir);
            if (an_histogram_csv(counts, cells, x->hist_bins, path) != 0)
                status = EXIT_FAIL;
            snprintf(path, sizeof path, "%s/heat.csv", dir);
            if (an_heatmap_csv(counts, cells, 64, 64, path) != 0)
                status = EXIT_FAIL;
        }
        json_object_set_new(sum, names[i], o);
    }
    if (sim && opt->cells && afile_open(&a, dir, "cells.csv")) {
        uint64_t *data = malloc(cells * sizeof *data);
        nv_cells_export(d, 0, 0, cells, data);
        nv_cells_export(d, 1, 0, cells, counts);
        fprintf(a.f, "cell,data,meta\n");
        for (uint64_t i = 0; data && i < cells; i++)
            if (data[i] || counts[i])
                fprintf(a.f, "%llu,%llu,%llu\n", (unsigned long long)i, (unsigned long long)data[i],
                        (unsigned long long)counts[i]);
        free(data);
        status |= afile_close(&a);
    }
    free(counts);
    if (!sim)
        for (int i = 0; i < 3; i++)
            json_object_set_new(sum, names[i], json_null());
    if (sim && afile_open(&a, dir, "kinds.csv")) {
        fprintf(a.f, "kind,writes,hottest\n");
        for (int t = 0; t < NV_TAGS; t++)
            fprintf(a.f, "%s,%llu,%llu\n", nv_tag_name((nv_tag)t), (unsigned long long)k.kind[t].writes,
                    (unsigned long long)k.kind[t].hottest_count);
        status |= afile_close(&a);
    }
    /* Fragmentation: time averages over the samples, and the final state. */
    double in = 0, ex = 0, ut = 0;
    size_t nin = 0, nex = 0, nut = 0;
    if (afile_open(&a, dir, "frag.csv")) {
        fprintf(a.f, "events,requested,allocated,footprint,internal,external,utilization\n");
        for (size_t i = 0; i < c->n; i++) {
            sample *s = &c->s[i];
            fprintf(a.f, "%llu,%llu,%llu,%llu,", (unsigned long long)s->events, (unsigned long long)s->requested,
                    (unsigned long long)s->allocated, (unsigned long long)s->footprint);
            csv_num(a.f, s->internal, ",");
            csv_num(a.f, s->external, ",");
            csv_num(a.f, s->utilization, "\n");
            if (isfinite(s->internal))
                in += s->internal, nin++;
            if (isfinite(s->external))
                ex += s->external, nex++;
            if (isfinite(s->utilization))
                ut += s->utilization, nut++;
        }
        status |= afile_close(&a);
    }
    sample *last = c->n ? &c->s[c->n - 1] : NULL;
    /* Samples can miss the peaks between them; the replay tracks the live
     * bytes exactly, and the footprint only grows. */
    if (st->peak_live_bytes > c->peak_requested)
        c->peak_requested = st->peak_live_bytes;
    json_object_set_new(sum, "fragmentation", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I}",
        "internal", jnum(nin ? in / (double)nin : NAN), "internal_final", jnum(last ? last->internal : NAN),
        "external", jnum(nex ? ex / (double)nex : NAN), "external_final", jnum(last ? last->external : NAN),
        "utilization", jnum(nut ? ut / (double)nut : NAN), "utilization_final", jnum(last ? last->utilization : NAN),
        "peak_footprint", (json_int_t)c->peak_footprint, "peak_requested", (json_int_t)c->peak_requested,
        "samples", (json_int_t)c->n));
    uint64_t events = 0;
    for (int i = 0; i < TR_OPS; i++)
        events += st->events[i];
    json_object_set_new(sum, "time", json_pack("{s:o, s:o, s:f, s:o}", "simulated_ns", sim ? jnum(k.time_ns) : json_null(),
        "simulated_elapsed_ns", sim ? jnum(elapsed_ns) : json_null(), "wall_s", st->wall_s,
        "events_per_s", jnum(st->wall_s > 0 ? (double)events / st->wall_s : NAN)));
    pma_heap_stats hs;
    pma_stats(h, &hs);
    json_object_set_new(sum, "heap", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "arena_creations", (json_int_t)hs.arena_creations, "search_restarts", (json_int_t)hs.search_restarts,
        "next_class_hits", (json_int_t)hs.next_class_hits, "live_objects_at_end", (json_int_t)hs.live_objects,
        "footprint", (json_int_t)hs.footprint_bytes, "failed_allocs", (json_int_t)hs.failed_allocs,
        "misaligned", (json_int_t)st->misaligned, "data_bytes_written", (json_int_t)st->data_bytes_written));
    json_object_set_new(sum, "persistence", persistence_json(h, &hs, sim, &k, st));
    json_object_set_new(sum, "config", cfg_experiment_resolved(x));
    if (afile_open(&a, dir, "summary.json")) {
        if (json_dumpf(sum, a.f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
            fputs("", a.f);
        fputc('\n', a.f);
        status |= afile_close(&a);
    } else {
        status = EXIT_FAIL;
    }
    /* Plots: each PNG beside its script. Without gnuplot the data stays. */
    int (*plots[])(const char *) = {an_plot_frag, an_plot_wear_hist, an_plot_wear_cdf, an_plot_heatmap, an_plot_meta_kinds};
    for (size_t i = 0; i < (sim ? 5u : 1u); i++)
        if (plots[i](dir) != 0) {
            fprintf(stderr, "pmarena run: a plot failed (is gnuplot installed? `make deps`); data files are written\n");
            status = EXIT_FAIL;
            break;
        }
    if (!opt->quiet) {
        printf("%s: %llu events in %.2f s (%.2f M events/s)\n", x->name, (unsigned long long)events, st->wall_s,
               st->wall_s > 0 ? (double)events / st->wall_s / 1e6 : 0.0);
        if (sim) {
            printf("  %-24s %14llu   (data %llu, metadata %llu)\n", "cell writes", (unsigned long long)w[0].total,
                   (unsigned long long)k.data_writes, (unsigned long long)k.meta_writes);
            printf("  %-24s %14llu   of %llu cells (%llu touched)\n", "hottest cell", (unsigned long long)w[0].max,
                   (unsigned long long)cells, (unsigned long long)w[0].cells_touched);
            printf("  %-24s %14.3g   p99 %.3g, gini %.3g\n", "mean writes per cell", w[0].mean, w[0].p99, w[0].gini);
            printf("  %-24s %14.3g   lifetime fraction %.3g\n", "hot-spot factor", w[0].hotspot, w[0].lifetime_fraction);
            printf("  %-24s %14.3g ms\n", "simulated time", elapsed_ns / 1e6);
        }
        char fin[32], fex[32], fut[32];
        fmt_frac(fin, sizeof fin, nin ? in / (double)nin : NAN);
        fmt_frac(fex, sizeof fex, nex ? ex / (double)nex : NAN);
        fmt_frac(fut, sizeof fut, nut ? ut / (double)nut : NAN);
        printf("  %-24s %14s   external %s, utilization %s (time averages)\n", "internal fragmentation",
               fin, fex, fut);
        printf("  %-24s %14llu bytes\n", "peak footprint", (unsigned long long)c->peak_footprint);
        double ops = (double)(hs.allocs + hs.frees), hit = ratio_or_nan((double)hs.cache_hits,
                                                                        (double)(hs.cache_hits + hs.cache_misses));
        char fl[32], fe[32], hr[32];
        fmt_fixed(fl, sizeof fl, ratio_or_nan((double)hs.flushes, ops), 1, "");
        fmt_fixed(fe, sizeof fe, ratio_or_nan((double)hs.fences, ops), 1, "");
        fmt_fixed(hr, sizeof hr, hit, 100, "%");
        printf("  persistence %s: %s flushes + %s fences per op, cache hit %s\n",
               pma_persistence_name(pma_heap_config(h)->persistence), fl, fe, hr);
        printf("results: %s/summary.json, plots: %s/*.png\n", dir, dir);
    }
    json_decref(sum);
    return status;
}

int run_experiment(const cfg_experiment *x, const char *dir, const run_options *opt)
{
    tr_reader *r = NULL;
    char genpath[256];
    int rc = open_trace(x, opt, &r, genpath, sizeof genpath);
    if (rc)
        return rc;
    nv_device *d = NULL;
    pma_heap *h = NULL;
    if ((rc = nv_open(&d, &x->device)) != 0) {
        fprintf(stderr, "pmarena run: cannot open the %s device: %s\n", nv_kind_name(x->device.kind), nv_strerror(rc));
        tr_reader_close(r);
        return EXIT_FAIL;
    }
    if ((rc = pma_init(&h, d, &x->allocator)) != 0) {
        fprintf(stderr, "pmarena run: cannot make a heap: %s\n", pma_strerror(rc));
        nv_close(d);
        tr_reader_close(r);
        return EXIT_FAIL;
    }
    run_ctx c = {.h = h, .r = r, .adaptive = x->sample_auto, .t0 = now_s()};
    c.every = x->sample_auto ? 1024 : x->replay.sample_every;
    c.progress = !opt->quiet && isatty(2);
    struct stat sb;
    if (x->trace_kind != CFG_TRACE_EVENTS && stat(genpath[0] ? genpath : x->trace_file, &sb) == 0)
        c.trace_bytes = (uint64_t)sb.st_size;
    tr_replay_config rcfg = x->replay;
    rcfg.sample_every = c.every ? 1024 : 0;
    if (!x->sample_auto)
        rcfg.sample_every = x->replay.sample_every;
    rcfg.sample = on_sample;
    rcfg.progress = on_progress;
    rcfg.ctx = &c;
    take_sample(&c, 0);
    tr_replay_stats st;
    tr_error err = {0};
    rc = tr_replay(r, h, &rcfg, &st, &err);
    if (c.progress)
        fprintf(stderr, "\r%*s\r", 79, "");
    uint64_t total = 0;
    for (int i = 0; i < TR_OPS; i++)
        total += st.events[i];
    if (rc == 0)
        take_sample(&c, total);
    int status = EXIT_OK;
    if (rc) {
        char msg[1200];
        tr_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "pmarena run: %s\n", msg);
        status = rc == TR_EREPLAY || rc == TR_EIO || rc == TR_ENOMEM ? EXIT_FAIL : EXIT_BADINPUT;
    } else if (mkdir_p(dir) != 0) {
        fprintf(stderr, "pmarena run: cannot create %s: %s\n", dir, strerror(errno));
        status = EXIT_FAIL;
    } else {
        status = write_outputs(x, dir, opt, d, h, &c, &st);
    }
    free(c.s);
    pma_destroy(h);
    nv_close(d);
    tr_reader_close(r);
    if (genpath[0])
        unlink(genpath);
    return status;
}
