/* test_bench.c - `pmarena bench --quick` with the real binary (PMARENA_BIN):
 * every peer (glibc, jemalloc, mimalloc, pmemobj, pmarena on dram and sim,
 * and on the file device once per persistence protocol: pmarena-file-intent,
 * -log, -gc) produces throughput rows with ops/s > 0, one per workload and
 * --threads count (threads the 3rd column), pmarena's counter columns filled
 * (gc: all zero, nothing stored per get or return) and the peers' empty;
 * recovery.csv has each protocol's recovery of every object after a crash;
 * the CSVs parse with the documented columns, and the
 * wear-of-placement counts add up: on every data row the cell increments
 * equal the cells each write spans (computed from the addresses), and at
 * 1-byte cells on a hand-made trace they equal the trace's application
 * bytes, which this test computes itself from the trace (the per-protocol
 * rows too, replayed by the experiment's engine). The wear half has one row
 * pair per persistence protocol (check_protocol_wear), and first-fit and
 * wear-aware rows per device-level leveling choice, whose gap moves add
 * writes without changing the application's (leveling_rows_move_wear_not_data). Bad options (a bad
 * --threads list among them) exit 2 and write nothing. */
#include "testutil.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-bench-XXXXXX";

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Splits a CSV line in place; returns the field count. */
static int fields(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

static int col(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return i;
    ck_abort_msg("column %s missing", name);
    return -1;
}

/* pmarena's pma_heap_stats columns: for pmarena rows under intent or log
 * (the default: a record per get and return) flushes, fences and metadata
 * bytes per op are positive, under gc exactly 0, and the cache hit ratio is within 0..1 (pairs hit:
 * above one half); for the peers all are empty. */
static void check_counters(char **h, int nh, char **v)
{
    int ca = col(h, nh, "allocator"), ch = col(h, nh, "cache_hit_ratio");
    static const char *const per_op[] = {"flushes_per_op", "fences_per_op", "meta_bytes_per_op"};
    const char *ck = v[col(h, nh, "checkpoints_per_mop")], *lw = v[col(h, nh, "log_wraps_per_mop")];
    ck_assert_msg(strncmp(v[ca], "pmarena", 7) == 0 ? ck[0] != '\0' && atof(ck) >= 0 && lw[0] != '\0'
                                                     : ck[0] == '\0' && lw[0] == '\0',
                  "%s checkpoints '%s' log wraps '%s'", v[ca], ck, lw);
    int pma = strncmp(v[ca], "pmarena", 7) == 0, gc = strcmp(v[ca], "pmarena-file-gc") == 0;
    for (int i = 0; i < 3; i++) {
        const char *x = v[col(h, nh, per_op[i])];
        ck_assert_msg(gc ? x[0] != '\0' && atof(x) == 0 : pma ? x[0] != '\0' && atof(x) > 0 : x[0] == '\0',
                      "%s %s: '%s'", v[ca], per_op[i], x);
    }
    ck_assert_msg(pma ? v[ch][0] != '\0' && atof(v[ch]) >= 0 && atof(v[ch]) <= 1 : v[ch][0] == '\0',
                  "%s cache_hit_ratio '%s'", v[ca], v[ch]);
    int cw = col(h, nh, "workload");
    if (pma && strncmp(v[cw], "pairs", 5) == 0)
        ck_assert_msg(atof(v[ch]) > 0.5, "%s %s: cache_hit_ratio %s", v[ca], v[cw], v[ch]);
}

/* A sanitizer build of pmarena cannot preload jemalloc or mimalloc (the
 * sanitizer owns malloc), so `make test-asan`/`test-tsan` skip those two. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PRELOAD_PEERS 0
#else
#define PRELOAD_PEERS 2
#endif
/* ... and a ThreadSanitizer build skips PMDK, which is not instrumented. */
#if defined(__SANITIZE_THREAD__)
#define PMDK_PEER 0
#else
#define PMDK_PEER 1
#endif

/* recovery.csv of the quick set: one row per protocol on the file device,
 * 10^4 objects, each recovered the protocol's way (gc: by tracing every
 * object, the root's table too) with every object and the table live after,
 * in a positive time. */
/* d/sub/name opened, its header line read into hl and split into h[max]
 * (*nh fields). */
static FILE *open_csv(const char *d, const char *sub, const char *name, char *hl, size_t n, char **h, int max,
                      int *nh)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s/%s", d, sub, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    ck_assert_ptr_nonnull(fgets(hl, (int)n, f));
    *nh = fields(hl, h, max);
    return f;
}

static void check_recovery(const char *d, const char *sub)
{
    char hl[1024], line[1024], *h[16], *v[16];
    int nh;
    FILE *f = open_csv(d, sub, "recovery.csv", hl, sizeof hl, h, 16, &nh);
    int ca = col(h, nh, "allocator"), cn = col(h, nh, "live_objects"), cw = col(h, nh, "wall_s");
    int chow = col(h, nh, "how"), cl = col(h, nh, "live_after"), ct = col(h, nh, "traced_objects");
    static const char *const want[3][2] = {{"pmarena-file-intent", "intent"}, {"pmarena-file-log", "log"},
                                           {"pmarena-file-gc", "trace"}};
    int seen[3] = {0};
    while (fgets(line, sizeof line, f)) {
        ck_assert_int_eq(fields(line, v, 16), nh);
        ck_assert_str_eq(v[cn], "10000");
        ck_assert_msg(atof(v[cw]) > 0, "wall_s %s", v[cw]);
        ck_assert_msg(strtoull(v[cl], NULL, 10) == 10001, "%s: %s live after", v[ca], v[cl]);
        for (int k = 0; k < 3; k++)
            if (!strcmp(v[ca], want[k][0])) {
                seen[k]++;
                ck_assert_str_eq(v[chow], want[k][1]);
                ck_assert_msg(k == 2 ? !strcmp(v[ct], "10001") : !strcmp(v[ct], "0"), "%s traced %s", v[ca], v[ct]);
            }
    }
    fclose(f);
    for (int k = 0; k < 3; k++)
        ck_assert_msg(seen[k] == 1, "%s: %d recovery rows", want[k][0], seen[k]);
}

/* floor.csv: one row, the file device's durable 16-byte record, median of
 * `runs` runs between their min and max; the pair floor twice it; the
 * pmarena-file-log pairs64 figure the throughput table's. */
static void check_floor(const char *d, const char *sub, int runs)
{
    char hl[1024], line[1024], *h[16], *v[16];
    int nh;
    FILE *f = open_csv(d, sub, "floor.csv", hl, sizeof hl, h, 16, &nh);
    int cd = col(h, nh, "device"), cb = col(h, nh, "record_bytes"), cn = col(h, nh, "ns_per_record");
    int clo = col(h, nh, "ns_per_record_min"), chi = col(h, nh, "ns_per_record_max"), cr = col(h, nh, "runs");
    int crec = col(h, nh, "records"), cp = col(h, nh, "pair_floor_ns");
    int cl = col(h, nh, "pmarena_file_log_pairs64_ns");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq(fields(line, v, 16), nh);
    ck_assert_str_eq(v[cd], "file");
    ck_assert_str_eq(v[cb], "16");
    ck_assert_int_eq(atoi(v[cr]), runs);
    double ns = atof(v[cn]);
    ck_assert_msg(ns > 0 && atof(v[clo]) <= ns && ns <= atof(v[chi]), "ns_per_record %s [%s, %s]", v[cn], v[clo],
                  v[chi]);
    ck_assert_msg(strtoull(v[crec], NULL, 10) > 0, "records %s", v[crec]);
    ck_assert_msg(fabs(atof(v[cp]) - 2 * ns) <= 1e-6 * ns, "pair floor %s for %g", v[cp], ns);
    ck_assert_msg(atof(v[cl]) > 0, "pmarena-file-log pairs64 ns %s", v[cl]);
    ck_assert_ptr_null(fgets(line, sizeof line, f));
    fclose(f);
}

/* One wear.csv row's fields, by column name. */
typedef struct wrow {
    char allocator[40], persistence[16];
    int meta;
    unsigned long long cell_writes, app_bytes, meta_writes, links_writes, hottest_meta, hottest_links;
    double meta_per_op;
    int has_src;
} wrow;

/* The wear half's per-protocol rows (pmarena-sim-intent, -log, -gc at
 * first-fit, replayed by the experiment's engine): each has its data and its
 * with-metadata row, its protocol in the persistence column and the sources
 * filled; gc stores far less metadata per event than log (the log records
 * every get and return, gc only arena creation) and pays in links, which
 * intent and log do not keep; every pmarena row wrote the same application
 * bytes as the peers, and under log (the default --persistence) the engine's
 * data cell writes equal wear_place.c's first-fit row's (the same model and
 * allocation order). */
static void check_protocol_wear(const char *path)
{
    char hl[4096], line[4096], *h[32], *v[32];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(hl, sizeof hl, f));
    int nh = fields(hl, h, 32);
    int ca = col(h, nh, "allocator"), cm = col(h, nh, "with_metadata"), cp = col(h, nh, "persistence");
    int cw = col(h, nh, "cell_writes"), cb = col(h, nh, "app_bytes"), cmw = col(h, nh, "meta_writes");
    int cpo = col(h, nh, "meta_writes_per_op"), clw = col(h, nh, "links_writes"), chm = col(h, nh, "hottest_meta");
    int chl = col(h, nh, "hottest_links"), cev = col(h, nh, "events"), cpol = col(h, nh, "policy");
    int cmx = col(h, nh, "max"), cmean = col(h, nh, "mean_touched"), ccov = col(h, nh, "cov_touched");
    int clf = col(h, nh, "lifetime_fraction_touched"), clev = col(h, nh, "leveling");
    wrow rows[64];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < 64) {
        ck_assert_int_eq(fields(line, v, 32), nh);
        wrow *w = &rows[n++];
        snprintf(w->allocator, sizeof w->allocator, "%s", v[ca]);
        snprintf(w->persistence, sizeof w->persistence, "%s", v[cp]);
        w->meta = atoi(v[cm]);
        /* lifetime of ideal beside the spread: mean over max of the touched
         * cells, in (0, 1]; CoV 0 only when every touched cell wore alike */
        double lf = atof(v[clf]), mx = atof(v[cmx]), mean = atof(v[cmean]);
        ck_assert_msg(lf > 0 && lf <= 1 && fabs(lf - mean / mx) < 1e-9 * (1 + lf) && atof(v[ccov]) >= 0,
                      "%s: lifetime_fraction_touched %s, mean %s, max %s, cov %s", v[ca], v[clf], v[cmean],
                      v[cmx], v[ccov]);
        w->cell_writes = strtoull(v[cw], NULL, 10);
        w->app_bytes = strtoull(v[cb], NULL, 10);
        w->has_src = v[cmw][0] != '\0';
        int pma = strncmp(v[ca], "pmarena", 7) == 0;
        ck_assert_msg(pma == w->has_src && pma == (v[cp][0] != '\0') && pma == (v[cev][0] != '\0'),
                      "%s: persistence '%s' meta_writes '%s'", v[ca], v[cp], v[cmw]);
        w->meta_writes = strtoull(v[cmw], NULL, 10);
        w->links_writes = strtoull(v[clw], NULL, 10);
        w->hottest_meta = strtoull(v[chm], NULL, 10);
        w->hottest_links = strtoull(v[chl], NULL, 10);
        w->meta_per_op = atof(v[cpo]);
        if (pma && strcmp(v[ca], "pmarena") == 0 && !strcmp(v[cpol], "first-fit") && !w->meta &&
            !strcmp(v[clev], "none"))
            snprintf(w->allocator, sizeof w->allocator, "pmarena first-fit");
        if (w->has_src)
            ck_assert_msg(strtoull(v[cev], NULL, 10) > 0 && w->meta_writes > 0 && w->hottest_meta > 0 &&
                              w->hottest_meta <= w->meta_writes && w->hottest_links <= w->links_writes,
                          "%s: sources", v[ca]);
    }
    fclose(f);
    static const char *const proto[] = {"intent", "log", "gc"};
    const wrow *pr[3][2] = {{NULL}}, *ff = NULL;
    for (int i = 0; i < n; i++) {
        ck_assert_msg(rows[i].app_bytes == rows[0].app_bytes, "%s: app_bytes %llu, glibc %llu", rows[i].allocator,
                      rows[i].app_bytes, rows[0].app_bytes);
        if (!strcmp(rows[i].allocator, "pmarena first-fit"))
            ff = &rows[i];
        for (int k = 0; k < 3; k++) {
            char name[40];
            snprintf(name, sizeof name, "pmarena-sim-%s", proto[k]);
            if (!strcmp(rows[i].allocator, name)) {
                ck_assert_msg(pr[k][rows[i].meta] == NULL, "%s: two rows", name);
                ck_assert_str_eq(rows[i].persistence, proto[k]);
                pr[k][rows[i].meta] = &rows[i];
            }
        }
    }
    for (int k = 0; k < 3; k++)
        ck_assert_msg(pr[k][0] && pr[k][1], "pmarena-sim-%s: rows missing", proto[k]);
    const wrow *lg = pr[1][1], *gc = pr[2][1];
    ck_assert_msg(gc->meta_per_op > 0 && gc->meta_per_op * 10 < lg->meta_per_op,
                  "gc %g metadata writes per op, log %g", gc->meta_per_op, lg->meta_per_op);
    ck_assert_msg(gc->links_writes > 0 && gc->hottest_links > 0, "gc: %llu links writes", gc->links_writes);
    ck_assert_msg(lg->links_writes == 0 && pr[0][1]->links_writes == 0, "log %llu, intent %llu links writes",
                  lg->links_writes, pr[0][1]->links_writes);
    /* with metadata counts every source: data + metadata + links */
    for (int k = 0; k < 3; k++)
        ck_assert_msg(pr[k][1]->cell_writes == pr[k][0]->cell_writes + pr[k][1]->meta_writes + pr[k][1]->links_writes,
                      "pmarena-sim-%s: %llu cell writes in all", proto[k], pr[k][1]->cell_writes);
    ck_assert_ptr_nonnull(ff);
    ck_assert_str_eq(ff->persistence, "log");
    ck_assert_msg(pr[1][0]->cell_writes == ff->cell_writes, "log data cell writes %llu, wear_place's %llu",
                  pr[1][0]->cell_writes, ff->cell_writes);
}

START_TEST(quick_every_peer_and_counts_add_up)
{
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    char cmd[1200], path[700], line[4096], hl[4096];
    snprintf(cmd, sizeof cmd, "%s bench --quick --repeat 2 --threads 2,1 -o %s/q > %s/q.log 2>&1", bin, dir, dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/q/throughput.csv", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *h[32], *v[32];
    ck_assert_ptr_nonnull(fgets(hl, sizeof hl, f));
    int nh = fields(hl, h, 32);
    int ca = col(h, nh, "allocator"), co = col(h, nh, "ops_per_s"), cr = col(h, nh, "ratio_to_glibc");
    int cwl = col(h, nh, "workload");
    ck_assert_int_eq(col(h, nh, "threads"), 2);          /* the 3rd column: scripts rely on it */
    int cm = col(h, nh, "peak_rss_kb");
    int cn = col(h, nh, "runs"), clo = col(h, nh, "ops_per_s_min"), chi = col(h, nh, "ops_per_s_max");
    static const char *const peers[] = {"glibc", "jemalloc", "mimalloc", "pmemobj", "pmarena-dram",
                                        "pmarena-file-intent", "pmarena-file-log", "pmarena-file-gc",
                                        "pmarena-sim"};
    enum { NP = sizeof peers / sizeof peers[0] };
    int rows[NP] = {0}, total = 0;
    char seen[NP][8][2] = {{{0}}};     /* peer x workload x threads 1, 2: rows */
    while (fgets(line, sizeof line, f)) {
        ck_assert_int_eq(fields(line, v, 32), nh);
        total++;
        int th = atoi(v[2]);
        ck_assert_msg(th == 1 || th == 2, "threads %s", v[2]);
        check_counters(h, nh, v);
        static const char *const wls[] = {"pairs64", "pairs256", "pairs1024", "pairs4096", "batch", "larson",
                                          "prodcons", "replay:sqlite3"};
        for (int p = 0; p < NP; p++)
            for (int w = 0; w < 8; w++)
                if (!strcmp(v[ca], peers[p]) && !strcmp(v[cwl], wls[w]))
                    seen[p][w][th - 1]++;
        ck_assert_int_eq(atoi(v[cn]), 2);                  /* the median of 2 runs: between them */
        ck_assert(atof(v[clo]) > 0 && atof(v[clo]) <= atof(v[co]) && atof(v[co]) <= atof(v[chi]));
        for (int p = 0; p < NP; p++)
            if (strcmp(v[ca], peers[p]) == 0 && atof(v[co]) > 0 && atof(v[cr]) > 0 && atol(v[cm]) > 0)
                rows[p]++;
    }
    fclose(f);
    for (int p = 0; p < NP; p++) {
        int skipped = ((p == 1 || p == 2) && !PRELOAD_PEERS) || (p == 3 && !PMDK_PEER);
        ck_assert_msg(rows[p] >= 16 || skipped, "%s: %d throughput rows", peers[p], rows[p]);
        for (int w = 0; w < 8 && !skipped; w++)
            for (int t = 0; t < 2; t++)
                ck_assert_msg(seen[p][w][t] == 1, "%s workload %d, %d thread(s): %d rows", peers[p], w, t + 1,
                              seen[p][w][t]);
    }
    ck_assert_int_eq(total, (6 + PMDK_PEER + PRELOAD_PEERS) * 16);
    check_recovery(dir, "q");
    check_floor(dir, "q", 2);
    snprintf(path, sizeof path, "%s/q/wear.csv", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(hl, sizeof hl, f));
    nh = fields(hl, h, 32);
    ca = col(h, nh, "allocator");
    int cw = col(h, nh, "cell_writes"), ce = col(h, nh, "expected_cell_writes"), cx = col(h, nh, "max");
    int cmeta = col(h, nh, "with_metadata");
    col(h, nh, "policy"), col(h, nh, "trace"), col(h, nh, "cells_touched"), col(h, nh, "p99_touched");
    col(h, nh, "mean_touched"), col(h, nh, "hotspot_touched"), col(h, nh, "gini_touched");
    int wrows = 0;
    char prev_cw[32] = "";
    while (fgets(line, sizeof line, f)) {
        ck_assert_int_eq(fields(line, v, 32), nh);
        ck_assert_int_gt(atol(v[cx]), 0);
        /* the per-protocol rows' engine does not compute expected_cell_writes */
        int engine = strncmp(v[ca], "pmarena-sim-", 12) == 0;
        ck_assert_msg(engine == (v[ce][0] == '\0'), "%s: expected_cell_writes '%s'", v[ca], v[ce]);
        if (atoi(v[cmeta]) == 0 && !engine)
            ck_assert_msg(strcmp(v[cw], v[ce]) == 0, "%s: %s cell writes, %s expected", v[ca], v[cw], v[ce]);
        else if (atoi(v[cmeta]) != 0)     /* the data row comes just before its with-metadata row */
            ck_assert_msg(strtoull(v[cw], NULL, 10) > strtoull(engine ? prev_cw : v[ce], NULL, 10),
                          "%s: metadata adds writes", v[ca]);
        snprintf(prev_cw, sizeof prev_cw, "%s", v[cw]);
        wrows++;
    }
    fclose(f);
    /* peers + (4 policies + 2 policies x 2 leveling choices + 3 protocols) x 2 on the churn trace */
    ck_assert_int_eq(wrows, 1 + PMDK_PEER + PRELOAD_PEERS + 8 + 8 + 6);
    check_protocol_wear(path);
    static const char *const pngs[] = {"throughput.png", "throughput_2t.png", "scaling_pairs64.png",
                                       "scaling_replay-sqlite3.png"};
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
        snprintf(path, sizeof path, "%s/q/%s", dir, pngs[i]);
        ck_assert_msg(access(path, R_OK) == 0, "%s missing", pngs[i]);
    }
}
END_TEST

/* Any thread count, not just 1 and 2: 3 (prodcons as one pair and a thread
 * alone) and 1, given out of order; scaling is against the 1-thread row. */
START_TEST(three_threads_one_row_each_and_scaling)
{
    const char *bin = getenv("PMARENA_BIN");
    char cmd[1200], path[700], line[4096], hl[4096];
    snprintf(cmd, sizeof cmd,
             "%s bench --quick --throughput-only --seconds 0.005 --threads 3,1 -o %s/t3 > %s/t3.log 2>&1", bin, dir,
             dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/t3/throughput.csv", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *h[32], *v[32];
    ck_assert_ptr_nonnull(fgets(hl, sizeof hl, f));
    int nh = fields(hl, h, 32);
    int co = col(h, nh, "ops_per_s"), cs = col(h, nh, "scaling");
    int n[4] = {0};
    while (fgets(line, sizeof line, f)) {
        ck_assert_int_eq(fields(line, v, 32), nh);
        int th = atoi(v[2]);
        ck_assert_msg(th == 1 || th == 3, "threads %s", v[2]);
        n[th]++;
        ck_assert(atof(v[co]) > 0);
        ck_assert_msg((th == 1) == (v[cs][0] == '\0'), "scaling '%s' on %d thread(s)", v[cs], th);
        check_counters(h, nh, v);
    }
    fclose(f);
    ck_assert_int_eq(n[1], (6 + PMDK_PEER + PRELOAD_PEERS) * 8);
    ck_assert_int_eq(n[3], n[1]);
    snprintf(path, sizeof path, "%s/t3/scaling_prodcons.png", dir);
    ck_assert_msg(access(path, R_OK) == 0, "scaling_prodcons.png missing");
}
END_TEST

START_TEST(one_byte_cells_count_every_byte)
{
    const char *bin = getenv("PMARENA_BIN");
    char path[700], cmd[2000], line[4096], hl[4096];
    snprintf(path, sizeof path, "%s/tiny.jsonl", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\n", f);
    uint64_t bytes = 0;
    for (int i = 1; i <= 300; i++) {
        int size = 1 + (i * 37) % 700;
        fprintf(f, "{\"op\":\"alloc\",\"id\":%d,\"size\":%d}\n", i, size);
        bytes += (uint64_t)size;
        fprintf(f, "{\"op\":\"write\",\"id\":%d,\"offset\":0,\"len\":%d}\n", i, size / 2 + 1);
        bytes += (uint64_t)(size / 2 + 1);
        if (i % 3 == 0)
            fprintf(f, "{\"op\":\"free\",\"id\":%d}\n", i - 1);
    }
    /* realloc of id 300 (size 1 + 11100 % 700 = 601) to 1500: 601 copied, 899
     * new (past gc's 1024-byte slot too, so every allocator moves it) */
    fprintf(f, "{\"op\":\"realloc\",\"id\":300,\"new_id\":301,\"size\":1500}\n");
    bytes += 1500;
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s bench --quick --wear-only --cell-size 1 --trace %s -o %s/w > %s/w.log 2>&1",
             bin, path, dir, dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/w/wear.csv", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *h[32], *v[32];
    ck_assert_ptr_nonnull(fgets(hl, sizeof hl, f));
    int nh = fields(hl, h, 32);
    int ct = col(h, nh, "trace"), cw = col(h, nh, "cell_writes"), cb = col(h, nh, "app_bytes");
    int cm = col(h, nh, "with_metadata"), ca = col(h, nh, "allocator");
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        fields(line, v, 32);
        if (strcmp(v[ct], "tiny") != 0 || atoi(v[cm]) != 0)
            continue;
        ck_assert_msg(strtoull(v[cb], NULL, 10) == bytes, "%s: app_bytes %s, trace has %llu", v[ca], v[cb],
                      (unsigned long long)bytes);
        ck_assert_msg(strtoull(v[cw], NULL, 10) == bytes, "%s: cell writes %s, trace bytes %llu", v[ca], v[cw],
                      (unsigned long long)bytes);
        seen++;
    }
    fclose(f);
    /* ... 4 policies, 2 of them on 2 leveling devices, 3 protocols */
    ck_assert_int_eq(seen, 1 + PMDK_PEER + PRELOAD_PEERS + 4 + 4 + 3);
}
END_TEST

/* One pmarena wear row of the leveling test, by its key. */
typedef struct lrow {
    char trace[16], policy[16], leveling[16];
    int meta;
    unsigned long long max, cell_writes, leveling_writes, meta_writes, app_bytes;
} lrow;

static const lrow *lfind(const lrow *r, int n, const char *trace, const char *policy, const char *lev, int meta)
{
    const lrow *hit = NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(r[i].trace, trace) && !strcmp(r[i].policy, policy) && !strcmp(r[i].leveling, lev) &&
            r[i].meta == meta) {
            ck_assert_msg(hit == NULL, "%s %s %s meta %d: two rows", trace, policy, lev, meta);
            hit = &r[i];
        }
    ck_assert_msg(hit != NULL, "%s %s %s meta %d: no row", trace, policy, lev, meta);
    return hit;
}

/* Device-level leveling in the wear half (issue 14 item 7): first-fit and
 * wear-aware run on a device with no leveling, Start-Gap (psi 100) and
 * randomized region Start-Gap, each a data and a with-metadata row keyed
 * by the leveling column (the allocator keeps its name); the peers' column
 * is "-", the per-protocol rows' "none". Leveling moves wear, never the
 * application's: each leveled data row has the none row's cell writes and
 * bytes, and its with-metadata row the none row's cell writes plus exactly
 * its leveling_writes (the gap moves, counted there) and the same metadata
 * writes. Gap moves happen on Start-Gap in the quick churn trace, and on a
 * trace that writes one 64-byte object 4000 times in both Start-Gap
 * choices; there the randomized regions move the hot line through its
 * region's 17 physical lines, so its hottest cell is cooler than without
 * leveling (whole-device Start-Gap moves a line once per N * psi writes:
 * not in 4000). wear.md has the column. */
START_TEST(leveling_rows_move_wear_not_data)
{
    const char *bin = getenv("PMARENA_BIN");
    char path[700], cmd[2000], line[4096], hl[4096];
    snprintf(path, sizeof path, "%s/hot.jsonl", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\n", f);
    for (int i = 1; i <= 40; i++)
        fprintf(f, "{\"op\":\"alloc\",\"id\":%d,\"size\":64}\n", i);
    for (int k = 0; k < 4000; k++)
        fprintf(f, "{\"op\":\"write\",\"id\":%d,\"offset\":0,\"len\":64}\n", 1 + (k % 97 == 0 ? k % 40 : 0));
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s bench --quick --wear-only --trace %s -o %s/lv > %s/lv.log 2>&1", bin, path, dir,
             dir);
    ck_assert_int_eq(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/lv/wear.csv", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char *h[32], *v[32];
    ck_assert_ptr_nonnull(fgets(hl, sizeof hl, f));
    int nh = fields(hl, h, 32);
    int ca = col(h, nh, "allocator"), ct = col(h, nh, "trace"), cp = col(h, nh, "policy");
    int cl = col(h, nh, "leveling"), clw = col(h, nh, "leveling_writes"), cm = col(h, nh, "with_metadata");
    int cx = col(h, nh, "max"), cw = col(h, nh, "cell_writes"), cmw = col(h, nh, "meta_writes");
    int cb = col(h, nh, "app_bytes"), chs = col(h, nh, "hotspot_touched"), clf = col(h, nh, "lifetime_fraction_touched");
    int cmean = col(h, nh, "mean_touched");
    col(h, nh, "cov_touched"), col(h, nh, "gini_touched");
    lrow rows[64];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_int_eq(fields(line, v, 32), nh);
        if (strcmp(v[ca], "pmarena") != 0) {
            int pma = strncmp(v[ca], "pmarena-sim-", 12) == 0;
            ck_assert_msg(!strcmp(v[cl], pma ? "none" : "-") && (pma ? !strcmp(v[clw], "0") : v[clw][0] == '\0'),
                          "%s: leveling '%s', leveling_writes '%s'", v[ca], v[cl], v[clw]);
            continue;
        }
        ck_assert_int_lt(n, 64);
        lrow *r = &rows[n++];
        snprintf(r->trace, sizeof r->trace, "%s", v[ct]);
        snprintf(r->policy, sizeof r->policy, "%s", v[cp]);
        snprintf(r->leveling, sizeof r->leveling, "%s", v[cl]);
        r->meta = atoi(v[cm]);
        ck_assert_msg(v[clw][0] != '\0', "pmarena %s %s: no leveling_writes", v[cp], v[cl]);
        r->max = strtoull(v[cx], NULL, 10);
        r->cell_writes = strtoull(v[cw], NULL, 10);
        r->leveling_writes = strtoull(v[clw], NULL, 10);
        r->meta_writes = strtoull(v[cmw], NULL, 10);
        r->app_bytes = strtoull(v[cb], NULL, 10);
        /* hotspot (max/mean) and lifetime of ideal (mean/max) of the same cells */
        double hs = atof(v[chs]), lf = atof(v[clf]), mean = atof(v[cmean]);
        ck_assert_msg(fabs(hs * lf - 1) < 1e-9 && fabs(hs - (double)r->max / mean) < 1e-9 * hs,
                      "pmarena %s %s %s: hotspot %s, lifetime of ideal %s", v[ct], v[cp], v[cl], v[chs], v[clf]);
    }
    fclose(f);
    /* 4 policies on none, 2 on each leveling device, data and with metadata, 2 traces */
    ck_assert_int_eq(n, (4 + 2 + 2) * 2 * 2);
    static const char *const traces[] = {"churn", "hot"}, *const pols[] = {"first-fit", "wear-aware"};
    static const char *const levs[] = {"start-gap", "start-gap+rand"};
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < 2; p++) {
            const lrow *d0 = lfind(rows, n, traces[t], pols[p], "none", 0);
            const lrow *m0 = lfind(rows, n, traces[t], pols[p], "none", 1);
            ck_assert_msg(d0->leveling_writes == 0 && m0->leveling_writes == 0, "%s %s none: gap moves",
                          traces[t], pols[p]);
            for (int l = 0; l < 2; l++) {
                const lrow *d = lfind(rows, n, traces[t], pols[p], levs[l], 0);
                const lrow *m = lfind(rows, n, traces[t], pols[p], levs[l], 1);
                ck_assert_msg(d->cell_writes == d0->cell_writes && d->app_bytes == d0->app_bytes,
                              "%s %s %s: data cell writes %llu, none's %llu", traces[t], pols[p], levs[l],
                              d->cell_writes, d0->cell_writes);
                ck_assert_msg(m->leveling_writes == d->leveling_writes && m->meta_writes == m0->meta_writes &&
                                  m->cell_writes == m0->cell_writes + m->leveling_writes,
                              "%s %s %s: %llu cell writes with metadata, none's %llu + %llu gap-move writes",
                              traces[t], pols[p], levs[l], m->cell_writes, m0->cell_writes, m->leveling_writes);
                if (l == 0 || t == 1)
                    ck_assert_msg(m->leveling_writes > 0, "%s %s %s: no gap moves", traces[t], pols[p], levs[l]);
            }
        }
    const lrow *hot0 = lfind(rows, n, "hot", "first-fit", "none", 0);
    const lrow *hotr = lfind(rows, n, "hot", "first-fit", "start-gap+rand", 0);
    ck_assert_msg(hotr->max < hot0->max, "hot first-fit: hottest cell %llu with randomized Start-Gap, %llu without",
                  hotr->max, hot0->max);
    snprintf(path, sizeof path, "%s/lv/wear.md", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(hl, sizeof hl, f));
    ck_assert_msg(strstr(hl, "| policy | leveling |") && strstr(hl, "| leveling writes |"), "wear.md: %s", hl);
    int rand_rows = 0;
    while (fgets(line, sizeof line, f))
        rand_rows += strstr(line, "| start-gap+rand |") != NULL;
    fclose(f);
    ck_assert_int_eq(rand_rows, 2 * 2 * 2);
}
END_TEST

START_TEST(bad_options_exit_2_and_write_nothing)
{
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    static const char *const bad[] = {"--policy best-fit", "--repeat 0", "--cell-size 3", "--quick --long",
                                      "--threads 0",       "--threads 1,x", "--threads 1025", "--threads ''",
                                      "--threads 1,,2",    "--threads -2", "--persistence fast"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[1200], out[700];
        snprintf(out, sizeof out, "%s/bad%zu", dir, i);
        snprintf(cmd, sizeof cmd, "%s bench %s -o %s > /dev/null 2>&1", bin, bad[i], out);
        ck_assert_msg(sh(cmd) == 2, "%s should exit 2", bad[i]);
        ck_assert_msg(access(out, F_OK) != 0, "%s wrote %s", bad[i], out);
    }
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("bench");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);    /* under ThreadSanitizer the quick set takes ~40 s */
    tcase_add_test(tc, quick_every_peer_and_counts_add_up);
    tcase_add_test(tc, three_threads_one_row_each_and_scaling);
    tcase_add_test(tc, one_byte_cells_count_every_byte);
    tcase_add_test(tc, leveling_rows_move_wear_not_data);
    tcase_add_test(tc, bad_options_exit_2_and_write_nothing);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? rc : 1;
}
