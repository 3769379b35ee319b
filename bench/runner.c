/*
 * runner.c - `pmarena bench` as a library call (bench_run): pmarena against
 * glibc malloc, jemalloc, mimalloc and PMDK libpmemobj, in one run:
 * throughput at each thread count (ops/s, ratio to glibc, peak RSS, scaling
 * over one thread, pmarena-sim's simulated ns, pmarena's cache and
 * persistence counters per op) and the wear of each allocator's placement;
 * tables on stdout and in the output folder, plots, and the targets
 * printed as met/MISSED (never asserted).
 *
 * This file resolves the settings, finds the peers and orders the
 * measurements (bench/measure.c runs each in a worker process, one after the
 * other: never two measurements at once). A library is looked for as the
 * dynamic loader would (bench/libs.c). PMEM_IS_PMEM_FORCE=1 is set for every
 * worker, so pmarena's file device and PMDK both flush with cache-line
 * instructions on their pool files in /dev/shm. A peer whose library is
 * missing is skipped with a note; a worker that fails makes the run fail.
 */
#include "rows.h"

#include "pmarena/gen.h"
#include "pmarena/pma.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PMARENA_SANITIZED 1
#else
#define PMARENA_SANITIZED 0
#endif

#define PEERS bench_peer_names
static const char *const WORKLOADS[] = {"pairs64", "pairs256", "pairs1024", "pairs4096",
                                        "batch", "larson", "prodcons"};
enum { NWORKLOADS = 7 };

void bench_opts_defaults(bench_opts *o)
{
    *o = (bench_opts){.out = "results/bench", .set = BENCH_SET_SHORT, .cell = 64, .policy = "first-fit",
                      .persistence = "default", .threads = {1, 2}, .nthreads = 2, .do_tput = 1, .do_wear = 1};
}

static int gen_churn(const bench_ctx *c, char *path, size_t n)
{
    snprintf(path, n, "%s/churn.jsonl.gz", c->o->out);
    json_t *spec = json_pack("{s:s, s:i, s:I, s:i, s:{s:s, s:f, s:f, s:i, s:i}}", "pattern", "churn", "seed", 1,
                             "events", (json_int_t)c->churn_events, "live", c->quick ? 200 : 2000, "size",
                             "dist", "lognormal", "mu", 4.5, "sigma", 1.0, "min", 8, "max", 4096);
    tr_error err;
    int rc = tr_gen_write(spec, "", path, &err);
    json_decref(spec);
    if (rc != 0) {
        char buf[1200];
        tr_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "pmarena bench: generating the churn trace: %s\n", buf);
        return -1;
    }
    return 0;
}

/* traces/sqlite3.jsonl.gz: in the working directory, else beside the binary
 * or up to three folders above it (build/pmarena, build/VARIANT/pmarena, a
 * packed copy with traces/ next to it). NULL when none is found. */
static const char *shipped_trace(const char *self)
{
    static char p[4200 + 32];
    if (access("traces/sqlite3.jsonl.gz", R_OK) == 0)
        return "traces/sqlite3.jsonl.gz";
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", self);
    for (int up = 0; up < 4; up++) {
        char *s = strrchr(dir, '/');
        if (!s)
            break;
        *s = '\0';
        snprintf(p, sizeof p, "%s/traces/sqlite3.jsonl.gz", dir);
        if (access(p, R_OK) == 0)
            return p;
    }
    return NULL;
}

/* The set's sizes, this binary, the output folder and its trace cache. 0,
 * or -1 after saying why. */
static int resolve(bench_ctx *c, const bench_opts *o)
{
    c->o = o;
    c->quick = o->set == BENCH_SET_QUICK;
    c->seconds = c->quick ? 0.02 : o->set == BENCH_SET_LONG ? 3 : 0.25;
    c->churn_events = c->quick ? 4000 : o->set == BENCH_SET_LONG ? 2000000 : 200000;
    c->heap_bytes = c->quick ? 64ull << 20 : 256ull << 20;
    c->repeat = c->quick ? 1 : 3;
    if (o->seconds > 0)
        c->seconds = o->seconds;
    if (o->repeat > 0)
        c->repeat = o->repeat;
    ssize_t n = readlink("/proc/self/exe", c->self, sizeof c->self - 1);
    if (n <= 0) {
        fprintf(stderr, "pmarena bench: cannot find its own binary\n");
        return -1;
    }
    c->self[n] = '\0';
    struct stat sb;
    if (an_mkdir_p(o->out) != 0 || stat(o->out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "pmarena bench: cannot create %s\n", o->out);
        return -1;
    }
    snprintf(c->cache, sizeof c->cache, "%s/trace-cache", o->out);
    mkdir(c->cache, 0777);
    return 0;
}

/* Finds each peer's library; skip[p] for those not found or not usable in
 * this build, with a note on stderr. */
static void find_peers(bench_ctx *c, int *skip)
{
    static const char *const soname[NPEERS] = {[PEER_JEMALLOC] = "libjemalloc.so.2",
                                               [PEER_MIMALLOC] = "libmimalloc.so.2",
                                               [PEER_PMEMOBJ] = "libpmemobj.so.1"};
    for (int p = 0; p < NPEERS; p++) {
        if (!soname[p])
            continue;
        char *path = p == PEER_PMEMOBJ ? c->pmemobj_lib : c->preload[p];
        size_t pathlen = p == PEER_PMEMOBJ ? sizeof c->pmemobj_lib : sizeof c->preload[p];
        if (PMARENA_SANITIZED && p != PEER_PMEMOBJ) {
            /* The sanitizer's runtime must come first and owns malloc: another
             * allocator cannot be preloaded into this binary. */
            fprintf(stderr, "pmarena bench: %s skipped: a sanitizer build cannot preload another malloc\n",
                    PEERS[p]);
            skip[p] = 1;
        } else if (!bench_find_lib(soname[p], path, pathlen)) {
            fprintf(stderr,
                    "pmarena bench: note: %s skipped: %s not found in LD_LIBRARY_PATH, the ldconfig cache or "
                    "the usual directories (install it: make deps-bench, or put its folder on LD_LIBRARY_PATH)\n",
                    PEERS[p], soname[p]);
            skip[p] = 1;
            path[0] = '\0';
        }
    }
#if defined(__SANITIZE_THREAD__)
    /* libpmemobj is not built with ThreadSanitizer: its locking (down to its
     * thread-local destructors) looks wrong to it, so it cannot run here. */
    fprintf(stderr, "pmarena bench: pmemobj skipped: a ThreadSanitizer build cannot check PMDK's internals\n");
    skip[PEER_PMEMOBJ] = 1;
#endif
}

/* The first line: the set, its sizes and where each peer came from. */
static void print_header(const bench_ctx *c, const int *skip)
{
    const bench_opts *o = c->o;
    char thl[80] = "";
    size_t len = 0;
    for (int k = 0; k < o->nthreads; k++) {
        if (len > sizeof thl - 16) {
            snprintf(thl + len, sizeof thl - len, ",...");
            break;
        }
        len += (size_t)snprintf(thl + len, sizeof thl - len, "%s%d", k ? "," : "", o->threads[k]);
    }
    pma_config pc;
    pma_config_defaults(&pc);
    printf("pmarena bench: %s set, %g s per throughput measurement (median of %d), threads %s, pmarena policy %s, "
           "persistence %s, output in %s\n", c->quick ? "quick" : o->set == BENCH_SET_LONG ? "long" : "short",
           c->seconds, c->repeat, thl, o->policy,
           strcmp(o->persistence, "default") ? o->persistence : pma_persistence_name(pc.persistence), o->out);
    for (int p = 0; p < NPEERS; p++)       /* which copy of each peer ran: provenance */
        if ((p == PEER_JEMALLOC || p == PEER_MIMALLOC || p == PEER_PMEMOBJ) && !skip[p])
            printf("pmarena bench: %s from %s\n", PEERS[p], p == PEER_PMEMOBJ ? c->pmemobj_lib : c->preload[p]);
    fflush(stdout);
}

/* Every workload (and replay of each trace) of every peer at each count. */
static int run_tput(bench_rows *r, const bench_ctx *c, const int *skip, const char *const *replay, int nr)
{
    int failed = 0;
    for (int p = 0; p < NPEERS; p++) {
        if (skip[p])
            continue;
        for (int w = 0; w < NWORKLOADS + nr; w++)
            for (int k = 0; k < c->o->nthreads; k++) {
                char label[96];
                const char *wl = w < NWORKLOADS ? WORKLOADS[w] : "replay", *tr = NULL;
                if (w < NWORKLOADS) {
                    snprintf(label, sizeof label, "%s", wl);
                } else {
                    char nm[80];
                    tr = replay[w - NWORKLOADS];
                    bench_trace_name(tr, nm, sizeof nm);
                    snprintf(label, sizeof label, "replay:%s", nm);
                }
                failed |= bench_tput_one(r, c, p, wl, label, c->o->threads[k], tr) != 0;
            }
        fprintf(stderr, "pmarena bench: throughput of %s done\n", PEERS[p]);
    }
    bench_tput_ratios(r);
    return failed;
}

/* Recovery after a simulated crash, per protocol on the file device: 10^4
 * live objects in the quick set, 10^4, 10^5 and 10^6 otherwise (the gc
 * target is stated at 10^6). 1 when a measurement failed. */
static int measure_recovery(bench_rows *r, const bench_ctx *c)
{
    static const uint64_t counts[] = {10000, 100000, 1000000};
    int failed = 0;
    for (int p = PEER_PMA_FILE_INTENT; p <= PEER_PMA_FILE_GC; p++)
        for (int k = 0; k < (c->quick ? 1 : 3); k++)
            failed |= bench_recover_one(r, c, p, counts[k]) != 0;
    fprintf(stderr, "pmarena bench: recovery done\n");
    return failed;
}

/* Wear of the churn trace (and the shipped one, but in the quick set, and
 * each --trace): the peers, then pmarena-sim under every policy (under
 * --persistence), then first-fit and wear-aware on a leveling device
 * (start-gap, start-gap+rand: wear_level.c), then under every persistence
 * protocol at first-fit (pmarena-sim-intent, -log, -gc). 0, 1 when a measurement failed, -1 when
 * the churn trace could not be made. */
static int run_wear(bench_rows *r, const bench_ctx *c, const int *skip, const char *sq)
{
    char churn[4200];
    const char *wt[BENCH_MAX_TRACES + 2];
    int nwt = 0, failed = 0;
    if (gen_churn(c, churn, sizeof churn) != 0)
        return -1;
    wt[nwt++] = churn;
    if (sq && !c->quick)
        wt[nwt++] = sq;
    for (int i = 0; i < c->o->ntraces; i++)
        wt[nwt++] = c->o->traces[i];
    for (int t = 0; t < nwt; t++) {
        for (int p = 0; p < PEER_PMA_DRAM; p++)
            if (!skip[p])
                failed |= bench_wear_one(r, c, p, NULL, NULL, wt[t]) != 0;
        for (int pol = 0; pol < PMA_POLICIES; pol++)
            failed |= bench_wear_one(r, c, PEER_PMA_SIM, pma_policy_name((pma_policy)pol), "none", wt[t]) != 0;
        /* device-level leveling under the policy that ignores wear and the
         * one that levels it itself: what the device adds to each */
        static const pma_policy leveled[] = {PMA_FIRST_FIT, PMA_WEAR_AWARE};
        for (int l = 1; l < BENCH_WEAR_LEVELINGS; l++)
            for (size_t k = 0; k < sizeof leveled / sizeof leveled[0]; k++)
                failed |= bench_wear_one(r, c, PEER_PMA_SIM, pma_policy_name(leveled[k]), bench_wear_levelings[l],
                                         wt[t]) != 0;
        for (int pr = 0; pr < PMA_PERSISTENCES; pr++)
            failed |= bench_wear_protocol(r, c, (pma_persistence)pr, wt[t]) != 0;
    }
    return failed;
}

int bench_run(const bench_opts *o)
{
    static bench_ctx c;      /* static: 8 KiB of paths */
    memset(&c, 0, sizeof c);
    if (resolve(&c, o) != 0)
        return 1;
    setenv("PMEM_IS_PMEM_FORCE", "1", 1);
    int skip[NPEERS] = {0};
    find_peers(&c, skip);
    if (access("/dev/shm", W_OK) != 0)
        fprintf(stderr, "pmarena bench: /dev/shm is not writable: pmarena-file-* and pmemobj will fail\n");
    const char *sq = shipped_trace(c.self);
    const char *replay[BENCH_MAX_TRACES + 1];
    int nr = 0;
    if (sq)
        replay[nr++] = sq;
    else
        fprintf(stderr, "pmarena bench: traces/sqlite3.jsonl.gz not found: its replay is left out\n");
    for (int i = 0; i < o->ntraces; i++)
        replay[nr++] = o->traces[i];

    print_header(&c, skip);
    bench_rows r = {0};
    r.floor_ns = NAN;
    int failed = 0;
    if (o->do_tput) {
        failed |= run_tput(&r, &c, skip, replay, nr);
        if (!skip[PEER_PMA_FILE_LOG])
            failed |= bench_floor(&r, &c) != 0;
        failed |= measure_recovery(&r, &c);
    }
    if (o->do_wear) {
        int w = run_wear(&r, &c, skip, sq);
        if (w < 0) {
            free(r.t);
            free(r.rc);
            free(r.w);
            return 1;
        }
        failed |= w;
    }
    bench_print_tables(&r);
    bench_print_floor(&r);
    bench_print_recovery(&r);
    bench_targets(&r, stdout);
    if (bench_write_outputs(&r, o->out) != 0 || bench_write_floor(&r, o->out) != 0 ||
        bench_write_recovery(&r, o->out) != 0)
        failed = 1;
    printf("\nwritten in %s:%s%s%s%s *.png\n", o->out, r.nt ? " throughput.csv, throughput.md," : "",
           isnan(r.floor_ns) ? "" : " floor.csv, floor.md,", r.nrc ? " recovery.csv, recovery.md," : "",
           r.nw ? " wear.csv, wear.md," : "");
    free(r.t);
    free(r.w);
    free(r.rc);
    return failed;
}
