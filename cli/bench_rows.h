/* bench_rows.h - the rows `pmarena bench` collects (cli/cmd_bench.c) and writes
 * as CSV, markdown and plots (cli/bench_out.c). */
#ifndef PMARENA_CLI_BENCH_ROWS_H
#define PMARENA_CLI_BENCH_ROWS_H

#include <stdint.h>

typedef struct tput_row {
    char allocator[32];
    char workload[96];         /* pairs64 ... prodcons, replay:<trace name> */
    int threads;
    double ops_per_s;
    double ratio_to_glibc;     /* NAN when glibc has no row for it */
    long peak_rss_kb;
    double sim_ns_per_op;      /* pmarena-sim only; NAN otherwise */
    double scaling;            /* ops/s over the 1-thread row's; NAN on 1 thread or without one */
    double ops_per_s_min, ops_per_s_max;   /* over the runs; ops_per_s is their median */
    int runs;
    /* pmarena only, from pma_heap_stats over the timed loop (medians over the
     * runs); NAN for peers and where the denominator is 0 */
    double cache_hit_ratio;    /* hits / (hits + misses) */
    double flushes_per_op, fences_per_op, meta_bytes_per_op;
    double checkpoints_per_mop, log_wraps_per_mop;   /* per million ops */
} tput_row;

typedef struct wear_row {
    char allocator[32];
    char policy[16];           /* pmarena: its placement policy; peers: "-" */
    char trace[96];
    int with_metadata;
    uint32_t cell_size;
    uint64_t cells_touched, max, cell_writes, expected_cell_writes, app_bytes;
    double p99, mean, hotspot, gini;
} wear_row;

typedef struct bench_rows {
    tput_row *t;
    int nt, capt;
    wear_row *w;
    int nw, capw;
} bench_rows;

/* Writes throughput.csv/.md and wear.csv/.md (each atomically) and the plots
 * (throughput.png for 1 thread, throughput_Nt.png for N, scaling_WORKLOAD.png
 * when there are 2+ thread counts, wear_hottest.png; a plot that fails is
 * reported on stderr, not fatal). 0, or -1 when a file cannot be written. */
int bench_write_outputs(const bench_rows *r, const char *dir);
/* The markdown tables on stdout. */
void bench_print_tables(const bench_rows *r);

#define BENCH_METADATA_NOTE \
    "Peers' in-band metadata writes (malloc chunk headers, free lists, PMDK headers and logs) are " \
    "invisible here: only the trace's application writes are counted for them. pmarena's with_metadata=1 " \
    "rows add its own metadata stores, counted by the sim device."

#endif
