/*
 * bench.h - the peer benchmark (`pmarena bench`): pmarena against glibc
 * malloc, jemalloc, mimalloc and PMDK libpmemobj, throughput and wear of
 * placement, as a library call (bench/runner.c and the files beside it).
 *
 * bench_run runs every measurement in a fresh worker process, this very
 * binary started as `BINARY bench-worker ...` (bench_worker_main), because
 * jemalloc and mimalloc replace malloc for a whole process (LD_PRELOAD) and
 * so that each row's peak RSS is its own. The program that calls bench_run
 * must therefore dispatch `bench-worker` to bench_worker_main.
 *
 * Output: tables and the targets (met/MISSED, never asserted) on stdout,
 * progress and notes on stderr, files in opts.out (throughput.csv/.md,
 * wear.csv/.md, plots). Wear statistics are over the cells touched, so their
 * columns carry the _touched suffix (p99_touched, mean_touched,
 * hotspot_touched, gini_touched; max is the same over every cell).
 */
#ifndef PMARENA_BENCH_H
#define PMARENA_BENCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    BENCH_MAX_THREADS = 1024,   /* the largest --threads count */
    BENCH_MAX_TRACES = 30,      /* --trace files */
};

/* Which set of sizes: short (make bench), quick (seconds; the tests), long. */
typedef enum bench_set { BENCH_SET_SHORT = 0, BENCH_SET_QUICK, BENCH_SET_LONG } bench_set;

typedef struct bench_opts {
    const char *out;                  /* output folder, made with its parents [results/bench] */
    bench_set set;
    double seconds;                   /* per throughput measurement; 0: the set's (0.25, quick 0.02, long 3) */
    int repeat;                       /* runs per throughput measurement, median kept; 0: the set's (3, quick 1) */
    uint32_t cell;                    /* wear cell size, a power of two 1..4096 [64] */
    const char *policy;               /* pmarena's placement policy in the throughput rows [first-fit] */
    const char *persistence;          /* pmarena's protocol, or "default" (the library's) */
    int threads[BENCH_MAX_THREADS];   /* thread counts, ascending, distinct [1, 2] */
    int nthreads;
    const char *traces[BENCH_MAX_TRACES];   /* extra traces, replayed and measured for wear */
    int ntraces;
    int do_tput, do_wear;             /* the halves to run [both] */
} bench_opts;

/* The defaults above (the short set, both halves). */
void bench_opts_defaults(bench_opts *o);

/* Runs the benchmark. 0 when every measurement and file succeeded, 1 when
 * one failed (it is said on stderr; the others still run). */
int bench_run(const bench_opts *o);

/* `pmarena bench-worker ...`: one measurement (bench/worker.c). argv[0] is
 * "bench-worker"; returns the exit status (0 ok, 1 failure, 2 bad input). */
int bench_worker_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
