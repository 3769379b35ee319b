/*
 * cmd_bench.c - `pmarena bench`: pmarena against glibc malloc, jemalloc,
 * mimalloc and PMDK libpmemobj, in one run: throughput at each thread count of
 * --threads (ops/s, ratio to glibc, peak RSS, scaling over one thread,
 * pmarena-sim's simulated ns, pmarena's cache and persistence counters per
 * op) and the wear of each allocator's placement; tables on stdout and in
 * results/bench/, plots, and the targets printed as met/MISSED (never
 * asserted).
 *
 * Method: every measurement is a fresh `pmarena bench-worker` process (this
 * binary, bench/worker.c), one per (allocator, workload, threads) and one per
 * (allocator, policy, trace) for wear: jemalloc and mimalloc go in by
 * LD_PRELOAD of their shared library, so they replace malloc in that process
 * only, and each row's peak RSS is its own; libpmemobj is dlopened by the
 * worker from the path found here. A library is looked for as the dynamic
 * loader would: each directory of LD_LIBRARY_PATH, then `ldconfig -p`, then
 * the usual directories, so the bench also runs from a packed copy whose
 * peers sit beside it on LD_LIBRARY_PATH. PMEM_IS_PMEM_FORCE=1 is set for
 * every worker, so pmarena's file device and PMDK both flush with cache-line
 * instructions on their pool files in /dev/shm. Workers run one after the
 * other (never two measurements at once). A peer whose library is missing is
 * skipped with a note; a worker that fails makes the run exit 1.
 */
#include "bench_rows.h"
#include "cmd.h"

#include "pmarena/gen.h"
#include "pmarena/pma.h"

#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const PEERS[] = {"glibc", "jemalloc", "mimalloc", "pmemobj",
                                    "pmarena-dram", "pmarena-file", "pmarena-sim"};
enum { NPEERS = 7 };
static const char *const WORKLOADS[] = {"pairs64", "pairs256", "pairs1024", "pairs4096",
                                        "batch", "larson", "prodcons"};
enum { NWORKLOADS = 7 };
enum { PEER_JEMALLOC = 1, PEER_MIMALLOC = 2, PEER_PMEMOBJ = 3, PEER_PMA_SIM = 6 };
enum { MAX_THREADS = 1024 };                 /* bench/bench.h's BP_MAX_THREADS */
#define PER_THREAD_HEAP (4ull << 20)         /* heap bytes per thread, past the set's heap size */

typedef struct opts {
    const char *out;
    double seconds;
    uint64_t churn_events, heap_bytes;
    uint32_t cell;
    const char *policy;              /* pmarena's placement policy in the throughput rows */
    const char *persistence;         /* pmarena's protocol, or "default" (the library's) */
    int threads[MAX_THREADS];        /* thread counts, ascending, distinct */
    int nthreads;
    int repeat;                      /* runs per throughput measurement; the median is kept */
    const char *traces[32];
    int ntraces;
    int quick, do_tput, do_wear;
} opts;

static char self[4096];
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PMARENA_SANITIZED 1
#else
#define PMARENA_SANITIZED 0
#endif

static char preload[NPEERS][512];      /* LD_PRELOAD of each peer; "" none */
static char pmemobj_lib[512];          /* libpmemobj.so.1's path; "" not found */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pmarena bench [--quick | --long] [-o DIR] [--seconds S] [--trace FILE]...\n"
            "                     [--threads N,N...] [--cell-size N] [--repeat N] [--policy P]\n"
            "                     [--persistence P] [--throughput-only | --wear-only]\n"
            "\n"
            "Benchmarks pmarena (dram, file and sim devices) against glibc malloc, jemalloc,\n"
            "mimalloc and PMDK libpmemobj in one run, each measurement in its own process\n"
            "(jemalloc and mimalloc by LD_PRELOAD; pool files in /dev/shm with\n"
            "PMEM_IS_PMEM_FORCE=1 for pmarena-file and PMDK). jemalloc, mimalloc and\n"
            "libpmemobj are looked for in LD_LIBRARY_PATH, then through ldconfig, then in\n"
            "the usual directories; a peer not found is skipped with a note.\n"
            "\n"
            "  throughput  alloc/free pairs of 64, 256, 1024, 4096 bytes; batches of 1000;\n"
            "              larson (cross-thread frees); producer-consumer; replay of the\n"
            "              shipped traces/sqlite3.jsonl.gz and of each --trace; at each\n"
            "              --threads count (producer-consumer: N/2 pairs): ops/s, ratio to\n"
            "              glibc, peak RSS, scaling over 1 thread, sim ns/op; for pmarena\n"
            "              also its cache hit ratio and flushes, fences, metadata bytes per op.\n"
            "  wear        each trace replayed through each allocator (pmarena on the sim\n"
            "              device, per placement policy, data only and with its metadata),\n"
            "              application writes mapped onto cells: max, p99, mean, hotspot, gini.\n"
            "\n"
            "  -o DIR            output folder [results/bench]: throughput.csv/.md, wear.csv/.md,\n"
            "                    throughput.png (1 thread), throughput_Nt.png (N threads),\n"
            "                    scaling_WORKLOAD.png (ops/s against threads; 2+ counts),\n"
            "                    wear_hottest.png\n"
            "  --quick           tiny sizes, a few seconds (the tests use it); wear on the\n"
            "                    generated churn trace and the --trace files only\n"
            "  --long            the long set: 3 s per measurement, a 2M-event churn trace\n"
            "  --seconds S       time per throughput measurement [0.25; quick 0.02; long 3]\n"
            "  --trace FILE      also replay this recorded trace (repeatable)\n"
            "  --threads LIST    thread counts for the throughput half, comma-separated,\n"
            "                    each 1..1024 (e.g. 1,2,4,8,16) [1,2]; throughput.csv has one\n"
            "                    row per allocator, workload and count (its 3rd column)\n"
            "  --cell-size N     wear cell size in bytes, power of two [64]\n"
            "  --repeat N        runs per throughput measurement, the median kept [3; quick 1]\n"
            "  --policy P        pmarena's placement policy in the throughput rows [first-fit]\n"
            "                    (the wear half always runs every policy)\n"
            "  --persistence P   pmarena's persistence protocol (intent, log), both halves\n"
            "                    [the library default]\n"
            "  --throughput-only, --wear-only   run one half\n"
            "\n"
            "Targets are printed as met/MISSED, never asserted. Exit: 0 ok, 1 a measurement\n"
            "failed, 2 bad input.\n");
}

/* ---- preload libraries and workers -------------------------------------------- */

/* dir/soname into out when it is a readable file: 1, else 0. A relative dir
 * (LD_LIBRARY_PATH may hold one) is made absolute, since workers get the
 * path in LD_PRELOAD or for dlopen. */
static int lib_at(const char *dir, size_t dirlen, const char *soname, char *out, size_t n)
{
    char path[PATH_MAX + 600], cwd[PATH_MAX] = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
        return 0;
    int len = snprintf(path, sizeof path, "%s%s%.*s/%s", cwd, cwd[0] ? "/" : "", (int)dirlen, dir, soname);
    if (len < 0 || (size_t)len >= n || access(path, R_OK) != 0)
        return 0;
    memcpy(out, path, (size_t)len + 1);
    return 1;
}

/* Looks for the shared library `soname` in the dynamic loader's order: each
 * directory of LD_LIBRARY_PATH (so a packed copy that carries its peers
 * works where they are not installed), then the ldconfig cache, then the
 * usual directories. The path into out and 1, or 0 when not found. */
static int find_lib(const char *soname, char *out, size_t n)
{
    const char *llp = getenv("LD_LIBRARY_PATH");
    for (const char *d = llp; d && *d;) {
        size_t len = strcspn(d, ":;");
        if (len > 0 && lib_at(d, len, soname, out, n))
            return 1;
        d += len;
        if (*d)
            d++;
    }
    FILE *p = popen("{ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null", "r");
    int found = 0;
    if (p) {
        char line[1024];
        /* "\tlibjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2" */
        while (!found && fgets(line, sizeof line, p)) {
            const char *name = line + strspn(line, " \t"), *arrow = strstr(line, "=> ");
            size_t len = strcspn(name, " \t");
            if (!arrow || len != strlen(soname) || strncmp(name, soname, len) != 0)
                continue;
            const char *path = arrow + 3;
            const char *slash = strrchr(path, '/');
            if (slash)
                found = lib_at(path, (size_t)(slash - path), soname, out, n);
        }
        while (fgets(line, sizeof line, p))      /* let ldconfig finish writing */
            ;
        pclose(p);
    }
    if (found)
        return 1;
    static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                                       "/usr/lib", "/usr/local/lib", "/lib/x86_64-linux-gnu"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++)
        if (lib_at(dirs[d], strlen(dirs[d]), soname, out, n))
            return 1;
    return 0;
}

/* Runs a worker; its stdout into out. Returns its exit status (-1: killed). */
static int run_worker(int peer, char *const argv[], char *out, size_t outlen)
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
        if (preload[peer][0])
            setenv("LD_PRELOAD", preload[peer], 1);
        else
            unsetenv("LD_PRELOAD");
        if (peer == PEER_PMEMOBJ)
            setenv("PMARENA_BENCH_PMEMOBJ", pmemobj_lib, 1);
        execv(self, argv);
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

static void trace_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    snprintf(out, n, "%s", b ? b + 1 : path);
    char *dot = strchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

/* ---- throughput ----------------------------------------------------------------- */

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

static int tput_one(bench_rows *r, const opts *o, int peer, const char *wl, const char *label, int threads,
                    const char *trace, const char *cache)
{
    char th[16], secs[32], bytes[32], out[4096];
    snprintf(th, sizeof th, "%d", threads);
    snprintf(secs, sizeof secs, "%g", o->seconds);
    /* Each thread holds its own live set (larson: 1000 objects, replay: a
     * copy of the trace's) and pmarena claims arenas per thread: past a few
     * threads the heap grows with them (4 MiB each; at 1 MiB larson on 64
     * threads ran out). */
    uint64_t heap = o->heap_bytes > (uint64_t)threads * PER_THREAD_HEAP ? o->heap_bytes
                                                                         : (uint64_t)threads * PER_THREAD_HEAP;
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)heap);
    char *argv[] = {self, "bench-worker", "tput", (char *)PEERS[peer], (char *)wl, th, secs, bytes,
                    (char *)o->policy, (char *)o->persistence, (char *)trace, (char *)cache, NULL};
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
    for (int k = 0; k < o->repeat; k++) {
        int rc = run_worker(peer, argv, out, sizeof out);
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

static void tput_ratios(bench_rows *r)
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

/* ---- wear --------------------------------------------------------------------------- */

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
    w->p99 = kv(line, "p99");
    w->mean = kv(line, "mean");
    w->hotspot = kv(line, "hotspot");
    w->gini = kv(line, "gini");
    w->cell_writes = (uint64_t)kv(line, "cell_writes");
    w->expected_cell_writes = (uint64_t)kv(line, "expected_cell_writes");
    w->app_bytes = (uint64_t)kv(line, "app_bytes");
}

static int wear_one(bench_rows *r, const opts *o, int peer, const char *policy, const char *trace,
                    const char *cache)
{
    char cell[16], bytes[32], out[4096], name[96];
    snprintf(cell, sizeof cell, "%u", o->cell);
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)o->heap_bytes);
    char *argv[] = {self, "bench-worker", "wear", (char *)PEERS[peer], (char *)trace, cell,
                    (char *)(policy ? policy : "first-fit"), bytes, (char *)o->persistence, (char *)cache, NULL};
    int rc = run_worker(peer, argv, out, sizeof out);
    trace_name(trace, name, sizeof name);
    if (rc != 0) {
        fprintf(stderr, "pmarena bench: wear of %s on %s failed (exit %d)\n", PEERS[peer], name, rc);
        return -1;
    }
    wear_row w = {0};
    snprintf(w.allocator, sizeof w.allocator, "%s", peer == PEER_PMA_SIM ? "pmarena" : PEERS[peer]);
    snprintf(w.policy, sizeof w.policy, "%s", policy ? policy : "-");
    snprintf(w.trace, sizeof w.trace, "%s", name);
    w.cell_size = o->cell;
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

/* ---- targets ------------------------------------------------------------------------- */

static const tput_row *find_t(const bench_rows *r, const char *a, const char *wl, int th)
{
    for (int i = 0; i < r->nt; i++)
        if (!strcmp(r->t[i].allocator, a) && !strcmp(r->t[i].workload, wl) && r->t[i].threads == th)
            return &r->t[i];
    return NULL;
}

static const char *verdict(bool met) { return met ? "met" : "MISSED"; }

static void ratio_target(FILE *f, const bench_rows *r, const char *a, const char *peer, const char *wl, double want)
{
    const tput_row *x = find_t(r, a, wl, 1), *y = find_t(r, peer, wl, 1);
    if (x && y && y->ops_per_s > 0)
        fprintf(f, "%s %s 1 thread >= %.1fx %s: %.2fx (%s)\n", a, wl, want, peer, x->ops_per_s / y->ops_per_s,
                verdict(x->ops_per_s >= want * y->ops_per_s));
}

/* The fast-path issue's targets (issue 11), in its order. */
static void targets(const bench_rows *r, FILE *f)
{
    fprintf(f, "\n== targets (printed, not asserted)\n");
    ratio_target(f, r, "pmarena-file", "pmemobj", "pairs64", 5);
    ratio_target(f, r, "pmarena-file", "pmemobj", "larson", 5);
    ratio_target(f, r, "pmarena-dram", "glibc", "pairs64", 0.5);
    ratio_target(f, r, "pmarena-dram", "glibc", "larson", 0.3);
    int top = 1;
    for (int i = 0; i < r->nt; i++)
        top = r->t[i].threads > top ? r->t[i].threads : top;
    static const struct { const char *wl; double at16; } scal[] = {
        {"pairs64", 10}, {"larson", 6}, {"replay:sqlite3", 8}};
    for (size_t k = 0; k < sizeof scal / sizeof scal[0]; k++)
        for (int d = 0; d < 2; d++) {
            const char *a = d ? "pmarena-file" : "pmarena-dram";
            const tput_row *one = find_t(r, a, scal[k].wl, 1), *two = find_t(r, a, scal[k].wl, 2),
                           *many = find_t(r, a, scal[k].wl, top);
            if (one && two && strcmp(scal[k].wl, "larson"))
                fprintf(f, "%s %s 2 threads >= 1.8x one: %.2fx (%s)\n", a, scal[k].wl,
                        two->ops_per_s / one->ops_per_s, verdict(two->ops_per_s >= 1.8 * one->ops_per_s));
            if (one && many && top >= 16)
                fprintf(f, "%s %s %d threads >= %.0fx one: %.2fx (%s)\n", a, scal[k].wl, top, scal[k].at16,
                        many->ops_per_s / one->ops_per_s, verdict(many->ops_per_s >= scal[k].at16 * one->ops_per_s));
        }
    if (top < 16)
        fprintf(f, "16 threads vs 1: not measured here (--threads up to %d; the target needs a 16-core machine)\n", top);
    static const char *const hit_wl[] = {"pairs64", "replay:sqlite3"};
    for (size_t k = 0; k < 2; k++) {
        const tput_row *t = find_t(r, "pmarena-dram", hit_wl[k], 1);
        if (t && !isnan(t->cache_hit_ratio))
            fprintf(f, "pmarena-dram %s thread-cache hit ratio >= 95%%: %.1f%% (%s)\n", hit_wl[k],
                    100 * t->cache_hit_ratio, verdict(t->cache_hit_ratio >= 0.95));
    }
    const tput_row *p = find_t(r, "pmarena-dram", "pairs64", 1);
    /* A pairs op is a get and a return. Each makes one record durable (one
     * flush, one fence); the log's checkpoints add a few per thousand,
     * amortized, and are shown, not hidden: the verdict allows them 0.5%. */
    if (p && !isnan(p->flushes_per_op) && !isnan(p->fences_per_op))
        fprintf(f, "flushes + fences per small get or return <= 2 (checkpoints amortized in): %.4f (%s)\n",
                (p->flushes_per_op + p->fences_per_op) / 2, verdict(p->flushes_per_op + p->fences_per_op <= 4.02));
    for (int i = 0; i < r->nw; i++) {
        const wear_row *w = &r->w[i];
        if (strcmp(w->allocator, "pmarena") || strcmp(w->policy, "wear-aware"))
            continue;
        if (w->with_metadata && !strcmp(w->trace, "sqlite3"))
            fprintf(f, "pmarena wear-aware sqlite3, hottest cell with metadata <= 1,000: %llu (%s)\n",
                    (unsigned long long)w->max, verdict(w->max <= 1000));
        if (w->with_metadata)
            continue;
        for (int j = 0; j < r->nw; j++)
            if (!strcmp(r->w[j].allocator, "glibc") && !strcmp(r->w[j].trace, w->trace))
                fprintf(f, "pmarena wear-aware hottest data cell <= 1/10 of glibc's, %s: %llu vs %llu = %.3f (%s)\n",
                        w->trace, (unsigned long long)w->max, (unsigned long long)r->w[j].max,
                        r->w[j].max ? (double)w->max / (double)r->w[j].max : NAN, verdict(w->max * 10 <= r->w[j].max));
    }
    fprintf(f, "note: %s\n", BENCH_METADATA_NOTE);
}

/* ---- main ------------------------------------------------------------------------------- */

static int gen_churn(const opts *o, char *path, size_t n)
{
    snprintf(path, n, "%s/churn.jsonl.gz", o->out);
    json_t *spec = json_pack("{s:s, s:i, s:I, s:i, s:{s:s, s:f, s:f, s:i, s:i}}", "pattern", "churn", "seed", 1,
                             "events", (json_int_t)o->churn_events, "live", o->quick ? 200 : 2000, "size",
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
static const char *shipped_trace(void)
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

/* --threads: a comma-separated list of counts 1..MAX_THREADS, digits only;
 * into out ascending and without repeats. 0, or -1 after saying what is
 * wrong on stderr. */
static int parse_threads(const char *arg, int *out, int *n)
{
    static char seen[MAX_THREADS + 1];
    memset(seen, 0, sizeof seen);
    const char *p = arg;
    if (!*p) {
        fprintf(stderr, "pmarena bench: --threads: empty list (give counts like 1,2,4)\n");
        return -1;
    }
    for (;;) {
        size_t len = strcspn(p, ",");
        long v = 0;
        int ok = len > 0 && len <= 5;
        for (size_t i = 0; ok && i < len; i++) {
            ok = p[i] >= '0' && p[i] <= '9';
            v = v * 10 + (p[i] - '0');
        }
        if (len == 0) {
            fprintf(stderr, "pmarena bench: --threads: an empty count in '%s' (give counts like 1,2,4)\n", arg);
            return -1;
        }
        if (!ok || v < 1 || v > MAX_THREADS) {
            fprintf(stderr, "pmarena bench: --threads: '%.*s' is not a thread count 1..%d (in '%s')\n", (int)len, p,
                    MAX_THREADS, arg);
            return -1;
        }
        seen[v] = 1;
        if (!p[len])
            break;
        p += len + 1;
    }
    *n = 0;
    for (int v = 1; v <= MAX_THREADS; v++)
        if (seen[v])
            out[(*n)++] = v;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    static opts o;      /* static: the thread list makes it 4 KiB */
    o = (opts){.out = "results/bench", .seconds = 0.25, .churn_events = 200000, .heap_bytes = 256ull << 20,
               .cell = 64, .policy = "first-fit", .persistence = "default", .threads = {1, 2}, .nthreads = 2,
               .repeat = 3, .do_tput = 1, .do_wear = 1};
    int repeat = 0;
    int is_long = 0;
    double secs = 0;
    static const struct option lo[] = {
        {"help", no_argument, 0, 'h'},          {"quick", no_argument, 0, 'q'},
        {"long", no_argument, 0, 'L'},          {"seconds", required_argument, 0, 's'},
        {"trace", required_argument, 0, 't'},   {"cell-size", required_argument, 0, 'c'},
        {"throughput-only", no_argument, 0, 'T'}, {"wear-only", no_argument, 0, 'W'},
        {"policy", required_argument, 0, 'P'},  {"repeat", required_argument, 0, 'R'},
        {"threads", required_argument, 0, 'N'}, {"persistence", required_argument, 0, 'S'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return EXIT_OK;
        case 'o': o.out = optarg; break;
        case 'q': o.quick = 1; break;
        case 'L': is_long = 1; break;
        case 's': secs = atof(optarg); if (secs <= 0) { fprintf(stderr, "pmarena bench: bad --seconds\n"); return EXIT_BADINPUT; } break;
        case 't':
            if (o.ntraces == 30 || access(optarg, R_OK) != 0) {
                fprintf(stderr, "pmarena bench: cannot read trace %s\n", optarg);
                return EXIT_BADINPUT;
            }
            o.traces[o.ntraces++] = optarg;
            break;
        case 'c':
            o.cell = (uint32_t)atoi(optarg);
            if (o.cell < 1 || o.cell > 4096 || (o.cell & (o.cell - 1))) {
                fprintf(stderr, "pmarena bench: --cell-size must be a power of two 1..4096\n");
                return EXIT_BADINPUT;
            }
            break;
        case 'P':
            if (pma_policy_from_name(optarg) < 0) {
                fprintf(stderr, "pmarena bench: --policy: '%s' is not a policy (first-fit, next-fit, wear-aware, lafo)\n",
                        optarg);
                return EXIT_BADINPUT;
            }
            o.policy = optarg;
            break;
        case 'S':
            if (strcmp(optarg, "default") != 0 && pma_persistence_from_name(optarg) < 0) {
                fprintf(stderr, "pmarena bench: --persistence: '%s' is not a protocol (intent, log)\n", optarg);
                return EXIT_BADINPUT;
            }
            o.persistence = optarg;
            break;
        case 'N':
            if (parse_threads(optarg, o.threads, &o.nthreads) != 0)
                return EXIT_BADINPUT;
            break;
        case 'R':
            repeat = atoi(optarg);
            if (repeat < 1 || repeat > 99) {
                fprintf(stderr, "pmarena bench: --repeat must be 1 to 99\n");
                return EXIT_BADINPUT;
            }
            break;
        case 'T': o.do_wear = 0; break;
        case 'W': o.do_tput = 0; break;
        default: usage(stderr); return EXIT_BADINPUT;
        }
    }
    if (optind < argc || (o.quick && is_long)) {
        usage(stderr);
        return EXIT_BADINPUT;
    }
    if (o.quick) {
        o.seconds = 0.02;
        o.churn_events = 4000;
        o.heap_bytes = 64ull << 20;
    } else if (is_long) {
        o.seconds = 3;
        o.churn_events = 2000000;
    }
    if (secs > 0)
        o.seconds = secs;
    if (o.quick)
        o.repeat = 1;
    if (repeat)
        o.repeat = repeat;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "pmarena bench: cannot find its own binary\n");
        return EXIT_FAIL;
    }
    self[n] = '\0';
    char mk[4200];
    snprintf(mk, sizeof mk, "%s", o.out);
    for (char *s = strchr(mk + 1, '/'); s; s = strchr(s + 1, '/')) {   /* mkdir -p */
        *s = '\0';
        mkdir(mk, 0777);
        *s = '/';
    }
    mkdir(o.out, 0777);
    struct stat sb;
    if (stat(o.out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "pmarena bench: cannot create %s\n", o.out);
        return EXIT_FAIL;
    }
    char cache[4200];
    snprintf(cache, sizeof cache, "%s/trace-cache", o.out);
    mkdir(cache, 0777);
    setenv("PMEM_IS_PMEM_FORCE", "1", 1);
    static const char *const soname[NPEERS] = {[PEER_JEMALLOC] = "libjemalloc.so.2",
                                               [PEER_MIMALLOC] = "libmimalloc.so.2",
                                               [PEER_PMEMOBJ] = "libpmemobj.so.1"};
    int skip[NPEERS] = {0};
    for (int p = 0; p < NPEERS; p++) {
        if (!soname[p])
            continue;
        char *path = p == PEER_PMEMOBJ ? pmemobj_lib : preload[p];
        size_t pathlen = p == PEER_PMEMOBJ ? sizeof pmemobj_lib : sizeof preload[p];
        if (PMARENA_SANITIZED && p != PEER_PMEMOBJ) {
            /* The sanitizer's runtime must come first and owns malloc: another
             * allocator cannot be preloaded into this binary. */
            fprintf(stderr, "pmarena bench: %s skipped: a sanitizer build cannot preload another malloc\n",
                    PEERS[p]);
            skip[p] = 1;
        } else if (!find_lib(soname[p], path, pathlen)) {
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
    if (access("/dev/shm", W_OK) != 0)
        fprintf(stderr, "pmarena bench: /dev/shm is not writable: pmarena-file and pmemobj will fail\n");
    const char *sq = shipped_trace();
    const char *replay_traces[33];
    int nr = 0;
    if (sq)
        replay_traces[nr++] = sq;
    else
        fprintf(stderr, "pmarena bench: traces/sqlite3.jsonl.gz not found: its replay is left out\n");
    for (int i = 0; i < o.ntraces; i++)
        replay_traces[nr++] = o.traces[i];

    bench_rows r = {0};
    int failed = 0;
    char thl[80] = "";
    size_t len = 0;
    for (int k = 0; k < o.nthreads; k++) {
        if (len > sizeof thl - 16) {
            snprintf(thl + len, sizeof thl - len, ",...");
            break;
        }
        len += (size_t)snprintf(thl + len, sizeof thl - len, "%s%d", k ? "," : "", o.threads[k]);
    }
    pma_config pc;
    pma_config_defaults(&pc);
    printf("pmarena bench: %s set, %g s per throughput measurement (median of %d), threads %s, pmarena policy %s, "
           "persistence %s, output in %s\n", o.quick ? "quick" : is_long ? "long" : "short", o.seconds, o.repeat,
           thl, o.policy, strcmp(o.persistence, "default") ? o.persistence : pma_persistence_name(pc.persistence),
           o.out);
    for (int p = 0; p < NPEERS; p++)       /* which copy of each peer ran: provenance */
        if (soname[p] && !skip[p])
            printf("pmarena bench: %s from %s\n", PEERS[p], p == PEER_PMEMOBJ ? pmemobj_lib : preload[p]);
    fflush(stdout);
    if (o.do_tput) {
        for (int p = 0; p < NPEERS; p++) {
            if (skip[p])
                continue;
            for (int w = 0; w < NWORKLOADS + nr; w++)
                for (int k = 0; k < o.nthreads; k++) {
                    int th = o.threads[k];
                    char label[96];
                    const char *wl = w < NWORKLOADS ? WORKLOADS[w] : "replay", *tr = NULL;
                    if (w < NWORKLOADS) {
                        snprintf(label, sizeof label, "%s", wl);
                    } else {
                        char nm[80];
                        tr = replay_traces[w - NWORKLOADS];
                        trace_name(tr, nm, sizeof nm);
                        snprintf(label, sizeof label, "replay:%s", nm);
                    }
                    failed |= tput_one(&r, &o, p, wl, label, th, tr, cache) != 0;
                }
            fprintf(stderr, "pmarena bench: throughput of %s done\n", PEERS[p]);
        }
        tput_ratios(&r);
    }
    if (o.do_wear) {
        char churn[4200];
        const char *wt[34];
        int nwt = 0;
        if (gen_churn(&o, churn, sizeof churn) != 0)
            return EXIT_FAIL;
        wt[nwt++] = churn;
        if (sq && !o.quick)
            wt[nwt++] = sq;
        for (int i = 0; i < o.ntraces; i++)
            wt[nwt++] = o.traces[i];
        for (int t = 0; t < nwt; t++) {
            for (int p = 0; p < 4; p++)
                if (!skip[p])
                    failed |= wear_one(&r, &o, p, NULL, wt[t], cache) != 0;
            for (int pol = 0; pol < PMA_POLICIES; pol++)
                failed |= wear_one(&r, &o, PEER_PMA_SIM, pma_policy_name((pma_policy)pol), wt[t], cache) != 0;
        }
    }
    bench_print_tables(&r);
    targets(&r, stdout);
    if (bench_write_outputs(&r, o.out) != 0)
        failed = 1;
    printf("\nwritten in %s:%s%s *.png\n", o.out, r.nt ? " throughput.csv, throughput.md," : "",
           r.nw ? " wear.csv, wear.md," : "");
    free(r.t);
    free(r.w);
    return failed ? EXIT_FAIL : EXIT_OK;
}
