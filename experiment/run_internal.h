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
} run_result;

/* b > 0 ? a / b : NAN */
double run_ratio(double a, double b);

/* Fills the wear statistics and the projections of m (sim device). */
int run_measure_wear(run_result *m);

/* summary.json's object (new reference). */
json_t *run_summary_json(const run_result *m);

/* Writes every data file, summary.json and the plots into dir. */
int run_write_files(const run_result *m, const char *dir, const run_options *opt);

/* The table on stdout. */
void run_print(const run_result *m, const char *dir);

#endif
