/*
 * worker.c - `pmarena bench-worker`: one measurement of the peer benchmark in
 * a process of its own, started by `pmarena bench` (bench/runner.c), which
 * sets LD_PRELOAD for jemalloc and mimalloc and PMEM_IS_PMEM_FORCE=1 for all.
 * Not meant to be run by hand, but it can be:
 *
 *   pmarena bench-worker tput PEER WORKLOAD THREADS SECONDS HEAP_BYTES POLICY PERSISTENCE [TRACE [CACHE_DIR]]
 *   pmarena bench-worker wear PEER TRACE CELL_SIZE POLICY HEAP_BYTES PERSISTENCE [CACHE_DIR [LEVELING]]
 *   pmarena bench-worker recover PEER OBJECTS HEAP_BYTES
 *   pmarena bench-worker floor SECONDS
 *
 * PERSISTENCE: intent, log, gc, or `default` (the library's). LEVELING
 * (pmarena-sim only): none [default], start-gap, start-gap+rand
 * (wear_level.c). THREADS: 1 ..
 * BP_MAX_THREADS. tput prints one line `ops=N secs=S sim_ns=T rss_kb=K`,
 * for pmarena followed by ` cache_hits=.. cache_misses=.. flushes=..
 * fences=.. meta_bytes=..` (pma_heap_stats over the timed loop); wear prints
 * `data ...` and, for pmarena-sim and pmarena-sim-PROTOCOL (the
 * per-protocol rows, replayed by the experiment's engine: wear_proto.c),
 * `all ...` lines with the statistics as key=value pairs and a `src events=..
 * meta_writes=.. hottest_meta=.. links_writes=.. hottest_links=..
 * leveling_writes=..` line; recover (PEER: pmarena-file-PROTOCOL) prints `live_before=..
 * live_after=.. traced=.. wall_s=.. how=..`; floor (floor.c) prints `records=.. secs=..`. rss_kb is getrusage's ru_maxrss of this process: the
 * peak resident set of exactly one workload at one thread count. The trace is
 * loaded before the allocator is opened. Exit 0 ok, 1 failure, 2 bad input.
 */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void print_wear(const char *tag, const bp_wear *w)
{
    printf("%s cells_touched=%llu max=%llu p99_touched=%.17g mean_touched=%.17g hotspot_touched=%.17g "
           "gini_touched=%.17g cov_touched=%.17g lifetime_fraction_touched=%.17g "
           "cell_writes=%llu expected_cell_writes=%llu app_bytes=%llu\n",
           tag, (unsigned long long)w->cells_touched, (unsigned long long)w->max, w->p99_touched, w->mean_touched,
           w->hotspot_touched, w->gini_touched, w->cov_touched, w->lifetime_fraction_touched,
           (unsigned long long)w->cell_writes, (unsigned long long)w->expected_cell_writes,
           (unsigned long long)w->app_bytes);
}

/* "default" -> -1 (the library's), else a pma_persistence; -2 when bad. */
static int persistence_arg(const char *s)
{
    if (strcmp(s, "default") == 0)
        return -1;
    int v = pma_persistence_from_name(s);
    return v < 0 ? -2 : v;
}

int bench_worker_main(int argc, char **argv)
{
    char msg[600] = "";
    bp_trace t = {0};
    bp_peer p;
    if (argc >= 9 && strcmp(argv[1], "tput") == 0) {
        const char *wl = argv[3];
        int threads = atoi(argv[4]);
        double secs = atof(argv[5]);
        uint64_t bytes = strtoull(argv[6], NULL, 10);
        int replay = strcmp(wl, "replay") == 0;
        int pol = pma_policy_from_name(argv[7]);
        int pers = persistence_arg(argv[8]);
        if (!bp_workload_known(wl) || threads < 1 || threads > BP_MAX_THREADS || secs <= 0 || bytes == 0 ||
            pol < 0 || pers < -1 || (replay && argc < 10)) {
            fprintf(stderr, "bench-worker: bad arguments\n");
            return 2;
        }
        if (replay && bp_trace_load(&t, argv[9], argc > 10 ? argv[10] : NULL, msg, sizeof msg) != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            return 2;
        }
        if (bp_open(&p, argv[2], bytes, (pma_policy)pol, pers, 64, NULL, msg, sizeof msg) != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            bp_trace_free(&t);
            return 1;
        }
        bp_result r;
        int rc = bp_run(&p, wl, threads, secs, replay ? &t : NULL, &r, msg, sizeof msg);
        bp_close(&p);
        bp_trace_free(&t);
        if (rc != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            return 1;
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("ops=%llu secs=%.9f sim_ns=%.17g rss_kb=%ld", (unsigned long long)r.ops, r.secs, r.sim_ns,
               ru.ru_maxrss);
        if (r.has_stats)
            printf(" cache_hits=%llu cache_misses=%llu flushes=%llu fences=%llu meta_bytes=%llu checkpoints=%llu"
                   " log_wraps=%llu",
                   (unsigned long long)r.cache_hits, (unsigned long long)r.cache_misses,
                   (unsigned long long)r.flushes, (unsigned long long)r.fences, (unsigned long long)r.meta_bytes,
                   (unsigned long long)r.checkpoints, (unsigned long long)r.log_wraps);
        printf("\n");
        return 0;
    }
    if (argc >= 8 && strcmp(argv[1], "wear") == 0) {
        uint32_t cell = (uint32_t)atoi(argv[4]);
        int pol = pma_policy_from_name(argv[5]);
        uint64_t bytes = strtoull(argv[6], NULL, 10);
        int pers = persistence_arg(argv[7]);
        nv_leveling lev;
        /* leveling is the sim device's: a peer given one would be a
         * mislabeled row */
        int bad_lev = bp_leveling_from_name(argc > 9 ? argv[9] : "none", &lev) != 0 ||
                      (lev.kind != NV_LEVELING_NONE && strcmp(argv[2], "pmarena-sim") != 0);
        if (cell < 1 || cell > NV_CELL_MAX || (cell & (cell - 1)) || pol < 0 || bytes == 0 || pers < -1 || bad_lev) {
            fprintf(stderr, "bench-worker: bad arguments\n");
            return 2;
        }
        /* pmarena-sim-PROTOCOL: the experiment's replay engine reads the
         * trace itself (wear_proto.c); the rest replay it from memory */
        int engine = strncmp(argv[2], "pmarena-sim-", 12) == 0;
        if (!engine && bp_trace_load(&t, argv[3], argc > 8 ? argv[8] : NULL, msg, sizeof msg) != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            return 2;
        }
        if (bp_open(&p, argv[2], bytes, (pma_policy)pol, pers, cell, &lev, msg, sizeof msg) != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            bp_trace_free(&t);
            return 1;
        }
        bp_wear data, all;
        bp_sources src;
        int has_all = 1;
        int rc = engine ? bp_wear_engine_run(&p, argv[3], &data, &all, &src, msg, sizeof msg)
                        : bp_wear_run(&p, &t, cell, &data, &all, &has_all, &src, msg, sizeof msg);
        bp_close(&p);
        bp_trace_free(&t);
        if (rc != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            return 1;
        }
        print_wear("data", &data);
        if (has_all) {
            print_wear("all", &all);
            printf("src events=%llu meta_writes=%llu hottest_meta=%llu links_writes=%llu hottest_links=%llu "
                   "leveling_writes=%llu\n",
                   (unsigned long long)src.events, (unsigned long long)src.meta_writes,
                   (unsigned long long)src.hottest_meta, (unsigned long long)src.links_writes,
                   (unsigned long long)src.hottest_links, (unsigned long long)src.leveling_writes);
        }
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "recover") == 0) {
        uint64_t n = strtoull(argv[3], NULL, 10), bytes = strtoull(argv[4], NULL, 10);
        if (n == 0 || bytes == 0) {
            fprintf(stderr, "bench-worker: bad arguments\n");
            return 2;
        }
        if (bp_open(&p, argv[2], bytes, PMA_FIRST_FIT, -1, 64, NULL, msg, sizeof msg) != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            return 1;
        }
        bp_recover r;
        int rc = bp_recover_run(&p, n, &r, msg, sizeof msg);
        bp_close(&p);
        if (rc != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            return 1;
        }
        printf("live_before=%llu live_after=%llu traced=%llu wall_s=%.9f how=%s\n", (unsigned long long)r.live_before,
               (unsigned long long)r.live_after, (unsigned long long)r.traced, r.wall_s, r.how);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "floor") == 0) {
        double secs = strtod(argv[2], NULL);
        if (!(secs > 0 && secs <= 3600)) {
            fprintf(stderr, "bench-worker: bad arguments\n");
            return 2;
        }
        bp_floor f;
        if (bp_floor_run(secs, &f, msg, sizeof msg) != 0) {
            fprintf(stderr, "bench-worker: %s\n", msg);
            return 1;
        }
        printf("records=%llu secs=%.9f\n", (unsigned long long)f.records, f.secs);
        return 0;
    }
    fprintf(stderr, "usage: pmarena bench-worker tput PEER WORKLOAD THREADS SECONDS HEAP_BYTES POLICY PERSISTENCE\n"
                    "                                 [TRACE [CACHE]]\n"
                    "       pmarena bench-worker wear PEER TRACE CELL_SIZE POLICY HEAP_BYTES PERSISTENCE\n"
                    "                                 [CACHE [LEVELING]]\n"
                    "       pmarena bench-worker recover PEER OBJECTS HEAP_BYTES\n"
                    "       pmarena bench-worker floor SECONDS\n"
                    "(started by `pmarena bench`; see `pmarena bench --help`)\n");
    return 2;
}
