/* rows.h - inside the peer benchmark's runner: the peers, the run's resolved
 * settings (bench_ctx), the rows it collects (bench/measure.c) and what is
 * made of them: tables and CSVs (bench/out_tables.c), plots
 * (bench/out_plots.c) and the targets (bench/targets.c). */
#ifndef PMARENA_BENCH_ROWS_H
#define PMARENA_BENCH_ROWS_H

#include <stdint.h>
#include <stdio.h>

#include "pmarena/analysis.h"
#include "pmarena/bench.h"
#include "pmarena/pma.h"

/* The peers, in the order of the tables. pmarena on the file device runs
 * once per persistence protocol (pmarena-file-intent, -log, -gc: the
 * protocol is in the name, whatever --persistence says); the other pmarena
 * rows run the protocol --persistence picks. */
enum { PEER_GLIBC, PEER_JEMALLOC, PEER_MIMALLOC, PEER_PMEMOBJ, PEER_PMA_DRAM, PEER_PMA_FILE_INTENT,
       PEER_PMA_FILE_LOG, PEER_PMA_FILE_GC, PEER_PMA_SIM, NPEERS };
extern const char *const bench_peer_names[NPEERS];

/* A run's settings, resolved from bench_opts and what was found. */
typedef struct bench_ctx {
    const bench_opts *o;
    double seconds;
    int repeat;
    uint64_t churn_events, heap_bytes;
    int quick;
    char self[4096];                  /* this binary: the workers' */
    char preload[NPEERS][512];        /* LD_PRELOAD of each peer; "" none */
    char pmemobj_lib[512];            /* libpmemobj.so.1's path; "" not found */
    char cache[4200];                 /* the workers' binary trace cache */
} bench_ctx;

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

/* Wear rows: the peers (allocator glibc ...), pmarena per placement policy
 * under --persistence (allocator pmarena; first-fit and wear-aware also
 * under each device-level leveling choice, in the leveling column), and pmarena per persistence
 * protocol at first-fit (allocator pmarena-sim-intent, -log, -gc: the trace
 * replayed by the experiment's engine, links and all; bench/wear_proto.c). */
typedef struct wear_row {
    char allocator[32];
    char policy[16];           /* pmarena: its placement policy; peers: "-" */
    char persistence[16];      /* pmarena: its protocol; peers: "" */
    char trace[96];
    char leveling[16];         /* the device's leveling (wear_level.c); peers: "-" */
    int with_metadata;         /* 1: every source the device counted (data, metadata, links) */
    uint32_t cell_size;
    /* over the cells touched (max: the same over all) */
    uint64_t cells_touched, max, cell_writes, expected_cell_writes, app_bytes;
    double p99_touched, mean_touched, hotspot_touched, gini_touched;
    double cov_touched, lifetime_fraction_touched;   /* stddev/mean; mean/max (projected, of ideal) */
    int engine;                /* replayed by replay.h: expected_cell_writes not computed */
    int has_src;               /* pmarena: the sources below were counted */
    uint64_t events, meta_writes, hottest_meta, links_writes, hottest_links;
    uint64_t leveling_writes;  /* the device's gap moves (NV_LEVELING), in the with-metadata counts */
} wear_row;

/* Recovery after a simulated crash of a heap with `objects` live objects
 * reachable from the root (pmarena-file-PROTOCOL; bench/recover.c). */
typedef struct recov_row {
    char allocator[32];
    uint64_t objects, live_after, traced;
    double wall_s;
    char how[16];
} recov_row;

typedef struct bench_rows {
    tput_row *t;
    int nt, capt;
    wear_row *w;
    int nw, capw;
    recov_row *rc;
    int nrc;
    /* one durable 16-byte record on the file device (floor.c), ns; NAN when
     * not measured: what the log protocol pays per get and per return */
    double floor_ns, floor_ns_min, floor_ns_max;
    uint64_t floor_records;
    int floor_runs;
} bench_rows;

/* ---- measure.c: one row per worker run ---------------------------------------- */

/* The loader's search for soname (LD_LIBRARY_PATH, ldconfig, the usual
 * folders; libs.c): its absolute path into out and 1, or 0. */
int bench_find_lib(const char *soname, char *out, size_t n);
/* A trace's name: its file name up to the first dot. */
void bench_trace_name(const char *path, char *out, size_t n);
/* One throughput row (the median of c->repeat worker runs) of peer running
 * workload wl (label: the row's name) on threads threads; trace for replay.
 * 0, or -1 after saying why on stderr. */
int bench_tput_one(bench_rows *r, const bench_ctx *c, int peer, const char *wl, const char *label, int threads,
                   const char *trace);
/* ratio_to_glibc and scaling of every row, once all are in. */
void bench_tput_ratios(bench_rows *r);
/* The wear rows of peer on trace (pmarena-sim: policy, on a device with
 * the leveling choice `leveling` (a bench_wear_levelings name; NULL: none);
 * with its metadata row). */
int bench_wear_one(bench_rows *r, const bench_ctx *c, int peer, const char *policy, const char *leveling,
                   const char *trace);
/* The wear rows (data only, with metadata and links) of pmarena-sim under
 * one persistence protocol at first-fit, replayed by the experiment's
 * engine (bench/wear_proto.c). */
int bench_wear_protocol(bench_rows *r, const bench_ctx *c, pma_persistence proto, const char *trace);

/* One recovery row of peer (a pmarena-file-PROTOCOL) with n live objects. */
int bench_recover_one(bench_rows *r, const bench_ctx *c, int peer, uint64_t n);
/* The durable-record floor (floor.c), c->repeat runs of c->seconds, median. */
int bench_floor(bench_rows *r, const bench_ctx *c);

/* The device-level leveling choices of the wear half's pmarena rows, by
 * name (wear_level.c): none, start-gap, start-gap+rand. */
enum { BENCH_WEAR_LEVELINGS = 3 };
extern const char *const bench_wear_levelings[BENCH_WEAR_LEVELINGS];

/* ---- the targets (targets.c) ---------------------------------------------------- */

/* The fast-path issue's targets as met/MISSED lines on f. */
void bench_targets(const bench_rows *r, FILE *f);

/* ---- out_tables.c, out_plots.c -------------------------------------------------- */

/* Opens dir/name for an atomic write; commits it. Both say what failed on
 * stderr and return -1. */
int bench_file_open(an_file *af, const char *dir, const char *name);
int bench_file_commit(an_file *af);
/* One table into dir/name, atomically (out_tables.c): 0 or -1. */
int bench_write_table(const char *dir, const char *name, void (*fill)(FILE *, const bench_rows *),
                      const bench_rows *r);
/* The plots of throughput (one per thread count, the scaling ones) and of
 * wear; a plot gnuplot fails on is reported, not fatal. -1: a file. */
int bench_plot_tput(const bench_rows *r, const char *dir);
int bench_plot_wear(const bench_rows *r, const char *dir);

/* Writes throughput.csv/.md and wear.csv/.md (each atomically) and the plots
 * (throughput.png for 1 thread, throughput_Nt.png for N, scaling_WORKLOAD.png
 * when there are 2+ thread counts, wear_hottest.png; a plot that fails is
 * reported on stderr, not fatal). 0, or -1 when a file cannot be written. */
int bench_write_outputs(const bench_rows *r, const char *dir);
/* The markdown tables on stdout. */
void bench_print_tables(const bench_rows *r);
/* recovery.csv and recovery.md (out_recovery.c), when there are rows: 0 or
 * -1; and the table on stdout. */
int bench_write_recovery(const bench_rows *r, const char *dir);
void bench_print_recovery(const bench_rows *r);
/* out_floor.c: floor.csv and floor.md (nothing when not measured); on stdout */
int bench_write_floor(const bench_rows *r, const char *dir);
void bench_print_floor(const bench_rows *r);

#define BENCH_METADATA_NOTE \
    "Peers' in-band metadata writes (malloc chunk headers, free lists, PMDK headers and logs) are " \
    "invisible here: only the trace's application writes are counted for them. pmarena's with_metadata=1 " \
    "rows add its own metadata stores, counted by the sim device; the pmarena-sim-PROTOCOL rows replay the " \
    "trace as `pmarena run` does, under gc with the program's link table (its links writes)."

#endif
