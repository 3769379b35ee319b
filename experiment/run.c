/*
 * run.c - one experiment from its loaded config to its results folder: the
 * device, the heap, the trace, the replay with fragmentation sampling and a
 * progress bar, then the measurements the outputs share (run_internal.h).
 *
 * Fragmentation is sampled every N events. With "auto" N starts at 1024 and
 * doubles whenever 400 samples have piled up (dropping every other sample), so
 * a trace of any length ends with 200 to 400 evenly spaced samples; the
 * time-averaged figures are means over them. Each sample also records the
 * wear so far on the sim device (wear_time.csv), thinned with the rest.
 */
#include "run_internal.h"
#include "cleanup.h"
#include "outdir.h"
#include "provenance.h"
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

typedef struct run_ctx {
    pma_heap *h;
    tr_reader *r;
    an_frag_sample *s;
    an_wear_sample *w;       /* wear at the same samples (sim device), s's twin */
    size_t n, cap;
    uint64_t every;          /* record a sample every this many events */
    bool adaptive;
    uint64_t peak_footprint, peak_requested;
    uint64_t trace_bytes;    /* for the progress bar; 0 when unknown */
    bool progress;
    double t0;
    /* to open the trace again for each pass (replay.repeat) */
    const cfg_experiment *x;
    const run_options *opt;
    const char *genpath;     /* the generated trace, kept for every pass; "" when none */
} run_ctx;

double run_ratio(double a, double b) { return b > 0 ? a / b : NAN; }

/* One sample: the heap's fragmentation and, on the sim device, the wear so
 * far (nv_wear_now_get rescans only the cells written since the last one). */
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
        an_frag_sample *ns = realloc(c->s, ncap * sizeof *ns);
        if (ns)
            c->s = ns;
        an_wear_sample *nw = ns ? realloc(c->w, ncap * sizeof *nw) : NULL;
        if (!nw)
            return;   /* the series is a sample: losing one point under memory pressure is tolerable */
        c->w = nw;
        c->cap = ncap;
    }
    nv_wear_now wn = {0};
    nv_wear_now_get(pma_device(c->h), &wn);   /* NV_ENOTSUP off the sim device: zeros, never written */
    c->w[c->n] = (an_wear_sample){
        .events = events, .total_writes = wn.total_writes, .data_writes = wn.data_writes,
        .meta_writes = wn.meta_writes, .hottest = wn.hottest, .hottest_data = wn.hottest_data,
        .hottest_meta = wn.hottest_meta, .links_writes = wn.links_writes, .hottest_links = wn.hottest_links,
    };
    c->s[c->n++] = (an_frag_sample){
        .events = events, .requested = st.requested_bytes, .allocated = st.allocated_bytes,
        .footprint = st.footprint_bytes,
        .internal = st.allocated_bytes ? 1.0 - (double)st.requested_bytes / (double)st.allocated_bytes : NAN,
        .external = st.free_bytes ? 1.0 - (double)st.largest_free_run / (double)st.free_bytes : NAN,
        .utilization = run_ratio((double)st.requested_bytes, (double)st.footprint_bytes),
    };
    if (c->adaptive && c->n >= MAX_SAMPLES) {
        size_t k = 0;
        for (size_t i = 1; i < c->n; i += 2) {
            c->w[k] = c->w[i];
            c->s[k++] = c->s[i];
        }
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

/* replay.repeat: the next pass reads the same trace afresh (a generated one
 * is not generated again). */
static int next_pass(void *ctx, uint64_t pass, tr_reader **r, tr_error *err)
{
    (void)pass;
    run_ctx *c = ctx;
    const cfg_experiment *x = c->x;
    tr_reader_close(*r);
    *r = c->r = NULL;
    int rc;
    if (x->trace_kind == CFG_TRACE_EVENTS)
        rc = tr_reader_open_json(r, x->trace_events, "trace.events", err);
    else if (x->trace_kind == CFG_TRACE_FILE && c->opt->cache_dir)
        rc = tr_reader_open_cached(r, x->trace_file, c->opt->cache_dir, err);
    else
        rc = tr_reader_open(r, c->genpath[0] ? c->genpath : x->trace_file, err);
    if (rc == 0)
        c->r = *r;
    return rc;
}

/* ---- the run ---------------------------------------------------------------------- */

/* A generated trace goes to $TMPDIR (default /tmp), registered with the
 * signal cleanup (gslot[0] the file, gslot[1] the writer's temporary). */
static int open_trace(const cfg_experiment *x, const run_options *opt, tr_reader **r, char *genpath,
                      size_t genlen, int gslot[2])
{
    tr_error err = {0};
    int rc;
    genpath[0] = '\0';
    gslot[0] = gslot[1] = -1;
    if (x->trace_kind == CFG_TRACE_EVENTS) {
        rc = tr_reader_open_json(r, x->trace_events, "trace.events", &err);
    } else {
        const char *path = x->trace_file;
        if (x->trace_kind == CFG_TRACE_GEN) {
            const char *td = getenv("TMPDIR");
            snprintf(genpath, genlen, "%s/pmarena-gen-%ld.jsonl", td && *td ? td : "/tmp", (long)getpid());
            char tmp[4200];
            snprintf(tmp, sizeof tmp, "%s.tmp.%ld", genpath, (long)getpid());   /* as writer.c names it */
            gslot[0] = cl_add(CL_UNLINK, genpath);
            gslot[1] = cl_add(CL_UNLINK, tmp);
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
    cl_drop(gslot[0]);
    cl_drop(gslot[1]);
    return rc == TR_EIO || rc == TR_ENOMEM ? EXP_FAIL : EXP_BADINPUT;
}

/* Wear statistics over all cells, data, metadata and links, each
 * device-wide and over the touched cells, and the lifetime projection over
 * all cells. */
int run_measure_wear(run_result *m)
{
    uint64_t *counts = malloc(m->cells * sizeof *counts);
    if (!counts) {
        fprintf(stderr, "pmarena run: out of memory for %llu cell counts\n", (unsigned long long)m->cells);
        return EXP_FAIL;
    }
    static const int which[4] = {2, 0, 1, 3};   /* nv_cells_export: all, data, metadata, links */
    for (int i = 0; i < 4; i++) {
        nv_cells_export(m->d, which[i], 0, m->cells, counts);
        an_wear_stats(counts, m->cells, &m->wear[i]);
        an_wear_stats_touched(counts, m->cells, &m->wear_touched[i]);
        if (i == 0)
            an_lifetime(counts, m->cells, m->elapsed_ns / 1e9, &m->x->endurance, &m->lifetime_s,
                        &m->first_failing_cell);
    }
    free(counts);
    return run_wearout_measure(m);
}

/* Everything the outputs read, from the finished replay. */
static int measure(run_result *m, run_ctx *c)
{
    m->samples = c->s;
    m->wear_samples = c->w;
    m->nsamples = c->n;
    /* Samples can miss the peaks between them; the replay tracks the live
     * bytes exactly, and the footprint only grows. */
    if (m->st->peak_live_bytes > c->peak_requested)
        c->peak_requested = m->st->peak_live_bytes;
    m->peak_footprint = c->peak_footprint;
    m->peak_requested = c->peak_requested;
    m->sim = nv_device_kind(m->d) == NV_KIND_SIM && nv_counters_get(m->d, &m->k) == 0;
    m->cells = m->sim ? m->k.cells : 0;
    for (int t = 0; t < NV_MAX_THREADS; t++)
        if (nv_time_thread_ns(m->d, t) > m->elapsed_ns)
            m->elapsed_ns = nv_time_thread_ns(m->d, t);
    for (int i = 0; i < TR_OPS; i++)
        m->events += m->st->events[i];
    double in = 0, ex = 0, ut = 0;
    size_t nin = 0, nex = 0, nut = 0;
    for (size_t i = 0; i < c->n; i++) {
        const an_frag_sample *s = &c->s[i];
        if (isfinite(s->internal))
            in += s->internal, nin++;
        if (isfinite(s->external))
            ex += s->external, nex++;
        if (isfinite(s->utilization))
            ut += s->utilization, nut++;
    }
    m->internal = nin ? in / (double)nin : NAN;
    m->external = nex ? ex / (double)nex : NAN;
    m->utilization = nut ? ut / (double)nut : NAN;
    m->lifetime_s = NAN;
    pma_stats(m->h, &m->hs);
    if (m->sim) {
        int rc = run_measure_wear(m);
        return rc ? rc : run_lifetime_measure(m);
    }
    return EXP_OK;
}

/* A trace file read pass after pass (replay.repeat) is parsed once: its
 * binary form goes to a folder of our own in $TMPDIR, read by every pass
 * (parsing the JSON took a third of a lifetime run's time), and removed at
 * the end. A sweep's points share the sweep's cache instead. */
static const run_options *pass_cache(const cfg_experiment *x, const run_options *opt, run_options *own,
                                     char *tdir, size_t tlen, int *tslot)
{
    *tslot = -1;
    tdir[0] = '\0';
    if (x->replay.repeat == 1 || x->trace_kind != CFG_TRACE_FILE || opt->cache_dir)
        return opt;
    const char *td = getenv("TMPDIR");
    snprintf(tdir, tlen, "%s/pmarena-passes-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tdir)) {
        tdir[0] = '\0';
        return opt;                 /* no cache: every pass parses the trace */
    }
    *tslot = cl_add(CL_TREE, tdir);
    *own = *opt;
    own->cache_dir = tdir;
    return own;
}

int run_experiment(const cfg_experiment *x, const char *dir, const run_options *opt)
{
    /* A sweep point (a forked child) keeps its folder's temporaries covered
     * to the end: the sweep writes point.json and .done there after us. */
    bool child = exp_cleanup_child();
    int pslot = cl_add(CL_PURGE, dir);
    run_options own;
    char tdir[4096];
    int cslot;
    opt = pass_cache(x, opt, &own, tdir, sizeof tdir, &cslot);
    tr_reader *r = NULL;
    char genpath[4096];
    int gslot[2];
    int rc = open_trace(x, opt, &r, genpath, sizeof genpath, gslot);
    if (rc) {
        if (tdir[0])
            cl_rm_tree(tdir);
        cl_drop(cslot);
        if (!child)
            cl_drop(pslot);
        return rc;
    }
    nv_device *d = NULL;
    pma_heap *h = NULL;
    int status = EXP_OK;
    char tsum[PROV_HEX];   /* the trace's checksum for summary.json's provenance */
    uint64_t tbytes = 0;
    if (prov_trace(x, genpath, tsum, &tbytes) != 0) {
        fprintf(stderr, "pmarena run: cannot read the trace to checksum it: %s\n", strerror(errno));
        tr_reader_close(r);
        status = EXP_FAIL;
        goto out;
    }
    if ((rc = nv_open(&d, &x->device)) != 0) {
        const char *why = nv_open_error();
        fprintf(stderr, "pmarena run: cannot open the %s device: %s\n", nv_kind_name(x->device.kind),
                why[0] ? why : nv_strerror(rc));
        tr_reader_close(r);
        status = EXP_FAIL;
        goto out;
    }
    if ((rc = pma_init(&h, d, &x->allocator)) != 0) {
        fprintf(stderr, "pmarena run: cannot make a heap: %s\n", pma_strerror(rc));
        nv_close(d);
        tr_reader_close(r);
        status = EXP_FAIL;
        goto out;
    }
    run_ctx c = {.h = h, .r = r, .adaptive = x->sample_auto, .t0 = now_s(), .x = x, .opt = opt, .genpath = genpath};
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
    rcfg.next_pass = next_pass;
    take_sample(&c, 0);
    tr_replay_stats st;
    tr_error err = {0};
    char tmpdir[4200] = "";
    int tslot = -1;
    rc = tr_replay(r, h, &rcfg, &st, &err);
    r = c.r;                 /* the last pass's reader (NULL when reopening failed) */
    if (c.progress)
        fprintf(stderr, "\r%*s\r", 79, "");
    uint64_t total = 0;
    for (int i = 0; i < TR_OPS; i++)
        total += st.events[i];
    if (rc == 0)
        take_sample(&c, total);
    if (rc) {
        char msg[1200];
        tr_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "pmarena run: %s\n", msg);
        status = rc == TR_EREPLAY || rc == TR_EIO || rc == TR_ENOMEM ? EXP_FAIL : EXP_BADINPUT;
    } else if (outdir_begin(dir, tmpdir, sizeof tmpdir, &tslot) != 0) {
        fprintf(stderr, "pmarena run: cannot create %s: %s\n", tmpdir[0] ? tmpdir : dir, strerror(errno));
        status = EXP_FAIL;
    } else {
        /* Everything goes into the temporary folder, swapped in at dir once
         * the summary is written (a failed plot still leaves the data). */
        run_result m = {.x = x, .d = d, .h = h, .st = &st, .trace_bytes = tbytes};
        memcpy(m.trace_checksum, tsum, sizeof tsum);
        status = measure(&m, &c);
        if (status == EXP_OK) {
            int files = run_write_cell_files(&m, tmpdir, opt);
            /* After every statistic and the cell files: recovery's reads and
             * writes are not the run's. A failed one still gets its summary. */
            status = run_recover(&m, &h);
            status |= run_write_files(&m, tmpdir, files == EXP_OK);
        }
        char sum[4300];
        snprintf(sum, sizeof sum, "%s/summary.json", tmpdir);
        if (access(sum, F_OK) == 0) {
            int crc = outdir_commit("pmarena run", dir, tmpdir, tslot);
            status = crc ? crc : status;
            if (!opt->quiet && crc == EXP_OK)
                run_print(&m, dir);
        } else {
            outdir_abort(tmpdir, tslot);
            fprintf(stderr, "pmarena run: no results kept (%s is as it was)\n", dir);
        }
    }
    free(c.s);
    free(c.w);
    tr_replay_stats_free(&st);
    pma_destroy(h);
    nv_close(d);
    tr_reader_close(r);
out:
    if (genpath[0])
        unlink(genpath);
    cl_drop(gslot[0]);
    cl_drop(gslot[1]);
    if (tdir[0])
        cl_rm_tree(tdir);
    cl_drop(cslot);
    if (!child)
        cl_drop(pslot);
    return status;
}
