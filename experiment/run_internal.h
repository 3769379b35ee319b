/*
 * run_internal.h - what the files of one run share: the replay's samples and
 * the measured results (run.c measures; run_summary.c, run_outputs.c and
 * run_print.c turn them into summary.json, the data files and plots, and the
 * table on stdout).
 */
#ifndef PMARENA_EXPERIMENT_RUN_INTERNAL_H
#define PMARENA_EXPERIMENT_RUN_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pmarena/analysis.h"
#include "pmarena/experiment.h"

/* A simulated crash's recovery, measured after the run (run_recovery.c). */
typedef struct run_recovery {
    bool done;                        /* measured; else why says why not */
    const char *why;
    bool counted;                     /* the device counted it (sim) */
    char how[16];                     /* pma_open_info's */
    double wall_s, sim_ns;
    uint64_t bytes_read, bytes_written, flushes, fences;
    uint64_t live_before, live_after, traced, scanned;
    char check[300];                  /* "ok", or what failed */
} run_recovery;

/* What a finished replay measured, read by every output. */
typedef struct run_result {
    const cfg_experiment *x;
    nv_device *d;
    pma_heap *h;
    const tr_replay_stats *st;
    an_frag_sample *samples;          /* the fragmentation series */
    an_wear_sample *wear_samples;     /* the wear so far at the same samples (sim only) */
    size_t nsamples;
    uint64_t peak_footprint, peak_requested;
    bool sim;                         /* counters exist (sim device) */
    nv_counters k;
    uint64_t cells;
    double elapsed_ns;                /* the slowest thread's simulated time */
    uint64_t events;                  /* trace events replayed */
    an_wear wear[4];                  /* all, data, metadata, links (sim only), device-wide */
    an_wear wear_touched[4];          /* the same over the touched cells */
    double lifetime_s;                /* projected (NAN when none) */
    uint64_t first_failing_cell;
    double internal, external, utilization;   /* time averages (NAN when no sample) */
    pma_heap_stats hs;
    char trace_checksum[33];          /* the replayed trace's (provenance.h) */
    uint64_t trace_bytes;
    run_recovery rec;                 /* filled by run_recover */
    an_wear wear_lev[2];              /* the gap moves' wear, device-wide and touched
                                         (run_wearout.c; before recovery, as wear[]) */
    nv_wearout wo;                    /* failures and gap moves, at the same time */
    double endurance_sum;             /* every (physical) cell's endurance summed (run_lifetime.c) */
} run_result;

/* b > 0 ? a / b : NAN */
double run_ratio(double a, double b);

/* Fills the wear statistics and the projections of m (sim device). */
int run_measure_wear(run_result *m);

/* Drops *h as a crash would (*h and m->h become NULL), reopens the heap
 * and fills m->rec; with analysis.recovery false or metadata dram it only
 * says why not. EXP_FAIL (said on stderr) when the recovered heap fails its
 * check or lost live objects. Call after every other measurement. */
int run_recover(run_result *m, pma_heap **h);
/* summary.json's "recovery" block (null and "recovery_why" when skipped). */
void run_recovery_json(const run_result *m, json_t *sum);
/* The table's recovery line. */
void run_recovery_print(const run_result *m);

/* summary.json's object (new reference). */
json_t *run_summary_json(const run_result *m);
/* Adds the device's wear-out and leveling to summary.json (run_wearout.c),
 * and prints them after the wear lines. */
int run_wearout_measure(run_result *m);
void run_wearout_json(const run_result *m, json_t *sum);
void run_wearout_print(const run_result *m);

/* Lifetime to failure (run_lifetime.c): the endurance sum, summary.json's
 * "lifetime" block, failures.csv and failures.png, and the table's lines. */
int run_lifetime_measure(run_result *m);
void run_lifetime_json(const run_result *m, json_t *sum);
int run_lifetime_files(const run_result *m, const char *dir);   /* failures.csv */
int run_lifetime_plot(const run_result *m, const char *dir);    /* failures.png */
void run_lifetime_print(const run_result *m);

/* Writes the data files read from the device's cell counters (sim only:
 * wear_hist.csv, heat.csv, heat_kinds.csv, kinds.csv, cells.csv) into dir. */
int run_write_cell_files(const run_result *m, const char *dir, const run_options *opt);
/* Writes the other data files, then (only when they and, by data_ok, the
 * cell files were all written) summary.json and the plots into dir. */
int run_write_files(const run_result *m, const char *dir, bool data_ok);
/* The messages for a file (a plot) of dir that could not be written, naming
 * the results folder as the user gave it and the reason; EXP_FAIL. */
int run_fail_file(const char *dir, const char *name, int rc);
int run_fail_plot(const char *dir, const char *name, int rc);

/* The table on stdout. */
void run_print(const run_result *m, const char *dir);

#endif
