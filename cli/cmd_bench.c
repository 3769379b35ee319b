/*
 * cmd_bench.c - `pmarena bench`: its options, then bench_run (bench/runner.c
 * and the files beside it, include/pmarena/bench.h), which measures pmarena
 * against glibc, jemalloc, mimalloc and PMDK, prints the tables and writes
 * them. Exit: 0 ok, 1 a measurement failed, 2 bad input.
 */
#include "cmd.h"

#include "pmarena/bench.h"
#include "pmarena/pma.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
            "PMEM_IS_PMEM_FORCE=1 for pmarena-file-* and PMDK). jemalloc, mimalloc and\n"
            "libpmemobj are looked for in LD_LIBRARY_PATH, then through ldconfig, then in\n"
            "the usual directories; a peer not found is skipped with a note.\n"
            "\n"
            "  throughput  alloc/free pairs of 64, 256, 1024, 4096 bytes; batches of 1000;\n"
            "              larson (cross-thread frees); producer-consumer; replay of the\n"
            "              shipped traces/sqlite3.jsonl.gz and of each --trace; at each\n"
            "              --threads count (producer-consumer: N/2 pairs): ops/s, ratio to\n"
            "              glibc, peak RSS, scaling over 1 thread, sim ns/op; for pmarena\n"
            "              also its cache hit ratio and flushes, fences, metadata bytes per op;\n"
            "              and the floor: one 16-byte record made durable on the file device\n"
            "              (store, flush, fence; no allocator), what the log protocol pays\n"
            "              per get and per return (floor.csv).\n"
            "  wear        each trace replayed through each allocator (pmarena on the sim\n"
            "              device, per placement policy, data only and with its metadata),\n"
            "              application writes mapped onto cells: max, and over the cells\n"
            "              touched p99_touched, mean_touched, hotspot_touched (max/mean),\n"
            "              gini_touched, cov_touched, lifetime_fraction_touched (mean/max:\n"
            "              the projected lifetime as a fraction of ideal);\n"
            "              and pmarena-sim-intent, -log, -gc (first-fit, one per protocol,\n"
            "              replayed as `pmarena run` does: under gc with the program's link\n"
            "              table). pmarena rows add metadata cell writes (per trace event),\n"
            "              the hottest metadata cell, links writes, the hottest links cell.\n"
            "              first-fit and wear-aware also run on a leveling device: the\n"
            "              leveling column is none, start-gap (psi 100, one gap) or\n"
            "              start-gap+rand (randomized line mapping, 16-line regions;\n"
            "              peers: -); counts land on physical cells, and leveling_writes\n"
            "              (in the with-metadata rows' counts) is the gap moves' cost.\n"
            "\n"
            "  -o DIR            output folder [results/bench]: throughput.csv/.md, floor.csv/.md,\n"
            "                    recovery.csv/.md, wear.csv/.md,\n"
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
            "  --persistence P   pmarena's persistence protocol (intent, log, gc), both\n"
            "                    halves, but for the rows with one per protocol\n"
            "                    (pmarena-file-PROTOCOL, pmarena-sim-PROTOCOL) [the library default]\n"
            "  --throughput-only, --wear-only   run one half\n"
            "\n"
            "Targets are printed as met/MISSED, never asserted. Exit: 0 ok, 1 a measurement\n"
            "failed, 2 bad input.\n");
}

/* --threads: a comma-separated list of counts 1..BENCH_MAX_THREADS, digits only;
 * into out ascending and without repeats. 0, or -1 after saying what is
 * wrong on stderr. */
static int parse_threads(const char *arg, int *out, int *n)
{
    static char seen[BENCH_MAX_THREADS + 1];
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
        if (!ok || v < 1 || v > BENCH_MAX_THREADS) {
            fprintf(stderr, "pmarena bench: --threads: '%.*s' is not a thread count 1..%d (in '%s')\n", (int)len, p,
                    BENCH_MAX_THREADS, arg);
            return -1;
        }
        seen[v] = 1;
        if (!p[len])
            break;
        p += len + 1;
    }
    *n = 0;
    for (int v = 1; v <= BENCH_MAX_THREADS; v++)
        if (seen[v])
            out[(*n)++] = v;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    static bench_opts o;      /* static: the thread list makes it 4 KiB */
    bench_opts_defaults(&o);
    int quick = 0, is_long = 0;
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
        case 'q': quick = 1; break;
        case 'L': is_long = 1; break;
        case 's':
            o.seconds = atof(optarg);
            if (o.seconds <= 0) {
                fprintf(stderr, "pmarena bench: bad --seconds\n");
                return EXIT_BADINPUT;
            }
            break;
        case 't':
            if (o.ntraces == BENCH_MAX_TRACES || access(optarg, R_OK) != 0) {
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
                fprintf(stderr, "pmarena bench: --persistence: '%s' is not a protocol (intent, log, gc)\n", optarg);
                return EXIT_BADINPUT;
            }
            o.persistence = optarg;
            break;
        case 'N':
            if (parse_threads(optarg, o.threads, &o.nthreads) != 0)
                return EXIT_BADINPUT;
            break;
        case 'R':
            o.repeat = atoi(optarg);
            if (o.repeat < 1 || o.repeat > 99) {
                fprintf(stderr, "pmarena bench: --repeat must be 1 to 99\n");
                return EXIT_BADINPUT;
            }
            break;
        case 'T': o.do_wear = 0; break;
        case 'W': o.do_tput = 0; break;
        default: usage(stderr); return EXIT_BADINPUT;
        }
    }
    if (optind < argc || (quick && is_long)) {
        usage(stderr);
        return EXIT_BADINPUT;
    }
    o.set = quick ? BENCH_SET_QUICK : is_long ? BENCH_SET_LONG : BENCH_SET_SHORT;
    /* A bad -o is found before minutes of measuring, not after. */
    if (exp_outdir_check("pmarena bench", o.out ? o.out : "results/bench", false) != EXP_OK)
        return EXIT_BADINPUT;
    return bench_run(&o) == 0 ? EXIT_OK : EXIT_FAIL;
}
