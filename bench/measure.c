/*
 * measure.c - one row of `pmarena bench` per measurement: each is a fresh
 * `pmarena bench-worker` process (this binary, bench/worker.c), one per
 * (allocator, workload, threads) and one per (allocator, policy, trace) for
 * wear. jemalloc and mimalloc go in by LD_PRELOAD of their shared library, so
 * they replace malloc in that process only, and each row's peak RSS is its
 * own; libpmemobj is dlopened by the worker from the path found. The worker
 * prints key=value pairs; a throughput row is the median of the runs.
 */
#include "rows.h"

#include <errno.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const bench_peer_names[NPEERS] = {"glibc", "jemalloc", "mimalloc", "pmemobj", "pmarena-dram",
                                              "pmarena-file-intent", "pmarena-file-log", "pmarena-file-gc",
                                              "pmarena-sim"};
#define PEERS bench_peer_names
#define PER_THREAD_HEAP (4ull << 20)         /* heap bytes per thread, past the set's heap size */

/* Runs a worker; its stdout into out. Returns its exit status (-1: killed). */
static int run_worker(const bench_ctx *c, int peer, char *const argv[], char *out, size_t outlen)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (c->preload[peer][0])
            setenv("LD_PRELOAD", c->preload[peer], 1);
        else
            unsetenv("LD_PRELOAD");
        if (peer == PEER_PMEMOBJ)
            setenv("PMARENA_BENCH_PMEMOBJ", c->pmemobj_lib, 1);
        execv(c->self, argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd[0], out + n, outlen - 1 - n)) > 0 || (k < 0 && errno == EINTR))
        if (k > 0)
            n += (size_t)k;
    out[n] = '\0';
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double kv(const char *s, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, " %s=", key);
    const char *p = strstr(s, k);
    if (!p && strncmp(s, k + 1, strlen(k + 1)) == 0)
        p = s - 1;
    return p ? strtod(p + strlen(k), NULL) : NAN;
}

void bench_trace_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    snprintf(out, n, "%s", b ? b + 1 : path);
    char *dot = strchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

/* ---- throughput ---------------------------------------------------------------- */

static void add_tput(bench_rows *r, const tput_row *t)
{
    if (r->nt == r->capt)
        r->t = realloc(r->t, (size_t)(r->capt = r->capt ? r->capt * 2 : 64) * sizeof *r->t);
    r->t[r->nt++] = *t;
}

/* The median of v[0..n) (sorted in place); NAN when any is NAN. */
static double median(double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (isnan(v[i]))
            return NAN;
    gsl_sort(v, 1, (size_t)n);
    return gsl_stats_median_from_sorted_data(v, 1, (size_t)n);
}

int bench_tput_one(bench_rows *r, const bench_ctx *c, int peer, const char *wl, const char *label, int threads,
                   const char *trace)
{
    char th[16], secs[32], bytes[32], out[4096];
    snprintf(th, sizeof th, "%d", threads);
    snprintf(secs, sizeof secs, "%g", c->seconds);
    /* Each thread holds its own live set (larson: 1000 objects, replay: a
     * copy of the trace's) and pmarena claims arenas per thread: past a few
     * threads the heap grows with them (4 MiB each; at 1 MiB larson on 64
     * threads ran out). */
    uint64_t heap = c->heap_bytes > (uint64_t)threads * PER_THREAD_HEAP ? c->heap_bytes
                                                                         : (uint64_t)threads * PER_THREAD_HEAP;
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)heap);
    char *argv[] = {(char *)c->self, "bench-worker", "tput", (char *)PEERS[peer], (char *)wl, th, secs, bytes,
                    (char *)c->o->policy, (char *)c->o->persistence, (char *)trace, (char *)c->cache, NULL};
    if (!trace)
        argv[10] = NULL;
    tput_row t = {0};
    snprintf(t.allocator, sizeof t.allocator, "%s", PEERS[peer]);
    snprintf(t.workload, sizeof t.workload, "%s", label);
    t.threads = threads;
    /* Each run is a fresh process; the median of the runs damps the noise a
     * 2-core VM makes, the min and max show how much there was. */
    double rate[99], sim_per_op[99], hit[99], flush[99], fence[99], meta[99], ckpt[99], wraps[99];
    int n = 0;
    for (int k = 0; k < c->repeat; k++) {
        int rc = run_worker(c, peer, argv, out, sizeof out);
        if (rc != 0) {
            fprintf(stderr, "pmarena bench: %s %s %d thread(s) failed (exit %d)\n", PEERS[peer], label, threads, rc);
            return -1;
        }
        double ops = kv(out, "ops"), s = kv(out, "secs"), sim = kv(out, "sim_ns");
        if (!(s > 0 && ops > 0)) {
            fprintf(stderr, "pmarena bench: %s %s %d thread(s) reported no operations\n", PEERS[peer], label, threads);
            return -1;
        }
        rate[n] = ops / s;
        sim_per_op[n] = sim / ops;
        /* pmarena's counters (absent for peers: NAN); 0/0 is NAN too */
        double h = kv(out, "cache_hits"), m = kv(out, "cache_misses");
        hit[n] = h + m > 0 ? h / (h + m) : NAN;
        flush[n] = kv(out, "flushes") / ops;
        fence[n] = kv(out, "fences") / ops;
        ckpt[n] = kv(out, "checkpoints") / ops * 1e6;
        wraps[n] = kv(out, "log_wraps") / ops * 1e6;
        meta[n++] = kv(out, "meta_bytes") / ops;
        long rss = (long)kv(out, "rss_kb");
        if (rss > t.peak_rss_kb)
            t.peak_rss_kb = rss;
    }
    gsl_sort(rate, 1, (size_t)n);
    gsl_sort(sim_per_op, 1, (size_t)n);
    t.ops_per_s = gsl_stats_median_from_sorted_data(rate, 1, (size_t)n);
    t.ops_per_s_min = rate[0];
    t.ops_per_s_max = rate[n - 1];
    t.runs = n;
    t.sim_ns_per_op = strcmp(PEERS[peer], "pmarena-sim") == 0 ? gsl_stats_median_from_sorted_data(sim_per_op, 1, (size_t)n)
                                                                : NAN;
    t.cache_hit_ratio = median(hit, n);
    t.flushes_per_op = median(flush, n);
    t.fences_per_op = median(fence, n);
    t.meta_bytes_per_op = median(meta, n);
    t.checkpoints_per_mop = median(ckpt, n);
    t.log_wraps_per_mop = median(wraps, n);
    t.ratio_to_glibc = NAN;
    t.scaling = NAN;
    add_tput(r, &t);
    return 0;
}

void bench_tput_ratios(bench_rows *r)
{
    for (int i = 0; i < r->nt; i++) {
        tput_row *t = &r->t[i];
        for (int j = 0; j < r->nt; j++) {
            const tput_row *u = &r->t[j];
            if (strcmp(u->workload, t->workload) != 0)
                continue;
            if (!strcmp(u->allocator, "glibc") && u->threads == t->threads)
                t->ratio_to_glibc = t->ops_per_s / u->ops_per_s;
            if (!strcmp(u->allocator, t->allocator) && u->threads == 1 && t->threads > 1)
                t->scaling = t->ops_per_s / u->ops_per_s;
        }
    }
}

/* ---- recovery ------------------------------------------------------------------- */

int bench_recover_one(bench_rows *r, const bench_ctx *c, int peer, uint64_t n)
{
    char objs[32], bytes[32], out[4096];
    snprintf(objs, sizeof objs, "%llu", (unsigned long long)n);
    /* 256-byte objects at most, a table of 8-byte offsets, and room for the
     * arenas' tails and the protocol's own areas */
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)(n * 320 + (64ull << 20)));
    char *argv[] = {(char *)c->self, "bench-worker", "recover", (char *)PEERS[peer], objs, bytes, NULL};
    int rc = run_worker(c, peer, argv, out, sizeof out);
    if (rc != 0) {
        fprintf(stderr, "pmarena bench: recovery of %s with %llu objects failed (exit %d)\n", PEERS[peer],
                (unsigned long long)n, rc);
        return -1;
    }
    recov_row x = {0};
    snprintf(x.allocator, sizeof x.allocator, "%s", PEERS[peer]);
    x.objects = n;
    x.live_after = (uint64_t)kv(out, "live_after");
    x.traced = (uint64_t)kv(out, "traced");
    x.wall_s = kv(out, "wall_s");
    const char *how = strstr(out, " how=");
    snprintf(x.how, sizeof x.how, "%.*s", how ? (int)strcspn(how + 5, " \n") : 1, how ? how + 5 : "?");
    r->rc = realloc(r->rc, (size_t)(r->nrc + 1) * sizeof *r->rc);
    r->rc[r->nrc++] = x;
    return 0;
}

/* ---- the durable-record floor --------------------------------------------------- */

int bench_floor(bench_rows *r, const bench_ctx *c)
{
    enum { MAXR = 16 };
    double ns[MAXR];
    int n = c->repeat < MAXR ? c->repeat : MAXR;
    char secs[32], out[512];
    snprintf(secs, sizeof secs, "%g", c->seconds);
    char *argv[] = {(char *)c->self, "bench-worker", "floor", secs, NULL};
    r->floor_records = 0;
    for (int i = 0; i < n; i++) {
        if (run_worker(c, PEER_PMA_FILE_LOG, argv, out, sizeof out) != 0) {
            fprintf(stderr, "pmarena bench: the durable-record floor failed\n");
            r->floor_ns = NAN;
            return -1;
        }
        double recs = kv(out, "records");
        ns[i] = kv(out, "secs") / recs * 1e9;
        r->floor_records += (uint64_t)recs;
    }
    r->floor_runs = n;
    r->floor_ns = median(ns, n);
    r->floor_ns_min = ns[0];            /* median() sorted them */
    r->floor_ns_max = ns[n - 1];
    return 0;
}

/* ---- wear --------------------------------------------------------------------- */

static void add_wear(bench_rows *r, const wear_row *w)
{
    if (r->nw == r->capw)
        r->w = realloc(r->w, (size_t)(r->capw = r->capw ? r->capw * 2 : 32) * sizeof *r->w);
    r->w[r->nw++] = *w;
}

static void parse_wear(const char *line, wear_row *w)
{
    w->cells_touched = (uint64_t)kv(line, "cells_touched");
    w->max = (uint64_t)kv(line, "max");
    w->p99_touched = kv(line, "p99_touched");
    w->mean_touched = kv(line, "mean_touched");
    w->hotspot_touched = kv(line, "hotspot_touched");
    w->gini_touched = kv(line, "gini_touched");
    w->cov_touched = kv(line, "cov_touched");
    w->lifetime_fraction_touched = kv(line, "lifetime_fraction_touched");
    w->cell_writes = (uint64_t)kv(line, "cell_writes");
    w->expected_cell_writes = (uint64_t)kv(line, "expected_cell_writes");
    w->app_bytes = (uint64_t)kv(line, "app_bytes");
}

/* Runs a wear worker for pname (run_worker's peer: its LD_PRELOAD) on
 * trace and adds its rows under allocator name `as`; leveling: the sim
 * device's (pmarena-sim), NULL for the peers ("-" in the column). */
static int wear_rows(bench_rows *r, const bench_ctx *c, int peer, const char *pname, const char *as,
                     const char *policy, const char *persistence, const char *leveling, const char *trace,
                     int engine)
{
    char cell[16], bytes[32], out[4096], name[96];
    snprintf(cell, sizeof cell, "%u", c->o->cell);
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)c->heap_bytes);
    char *argv[] = {(char *)c->self, "bench-worker", "wear", (char *)pname, (char *)trace, cell,
                    (char *)(policy ? policy : "first-fit"), bytes, (char *)c->o->persistence, (char *)c->cache,
                    (char *)(leveling ? leveling : "none"), NULL};
    int rc = run_worker(c, peer, argv, out, sizeof out);
    bench_trace_name(trace, name, sizeof name);
    if (rc != 0) {
        fprintf(stderr, "pmarena bench: wear of %s%s%s on %s failed (exit %d)\n", pname, leveling ? " with leveling " : "",
                leveling ? leveling : "", name, rc);
        return -1;
    }
    wear_row w = {0};
    snprintf(w.allocator, sizeof w.allocator, "%s", as);
    snprintf(w.policy, sizeof w.policy, "%s", policy ? policy : "-");
    snprintf(w.persistence, sizeof w.persistence, "%s", persistence);
    snprintf(w.trace, sizeof w.trace, "%s", name);
    snprintf(w.leveling, sizeof w.leveling, "%s", leveling ? leveling : "-");
    w.cell_size = c->o->cell;
    w.engine = engine;
    char *src = strstr(out, "\nsrc ");
    if (src) {
        *src = '\0';
        w.has_src = 1;
        w.events = (uint64_t)kv(src + 5, "events");
        w.meta_writes = (uint64_t)kv(src + 5, "meta_writes");
        w.hottest_meta = (uint64_t)kv(src + 5, "hottest_meta");
        w.links_writes = (uint64_t)kv(src + 5, "links_writes");
        w.hottest_links = (uint64_t)kv(src + 5, "hottest_links");
        w.leveling_writes = (uint64_t)kv(src + 5, "leveling_writes");
    }
    char *all = strstr(out, "\nall ");
    if (all)
        *all = '\0';
    parse_wear(out + 4, &w);      /* after "data" */
    add_wear(r, &w);
    if (all) {
        wear_row m = w;
        m.with_metadata = 1;
        parse_wear(all + 4, &m);
        add_wear(r, &m);
    }
    return 0;
}

int bench_wear_one(bench_rows *r, const bench_ctx *c, int peer, const char *policy, const char *leveling,
                   const char *trace)
{
    char pers[16] = "";
    if (peer == PEER_PMA_SIM) {
        pma_config pc;         /* --persistence, or the library's */
        pma_config_defaults(&pc);
        snprintf(pers, sizeof pers, "%s", strcmp(c->o->persistence, "default") ? c->o->persistence
                                                                                : pma_persistence_name(pc.persistence));
    }
    int sim = peer == PEER_PMA_SIM;
    return wear_rows(r, c, peer, PEERS[peer], sim ? "pmarena" : PEERS[peer], policy, pers,
                     sim ? (leveling ? leveling : "none") : NULL, trace, 0);
}

int bench_wear_protocol(bench_rows *r, const bench_ctx *c, pma_persistence proto, const char *trace)
{
    char pname[32];
    snprintf(pname, sizeof pname, "pmarena-sim-%s", pma_persistence_name(proto));
    return wear_rows(r, c, PEER_PMA_SIM, pname, pname, "first-fit", pma_persistence_name(proto), "none", trace, 1);
}
