/*
 * experiment.h - the experiment layer: one run from a loaded config to its
 * results folder, parameter sweeps (plan, run, table, merge) and config
 * validation. The `pmarena` command is argument parsing and printing over
 * these calls. Every call returns an exit status (EXP_OK, EXP_FAIL,
 * EXP_BADINPUT) after printing any error to stderr.
 */
#ifndef PMARENA_EXPERIMENT_H
#define PMARENA_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmarena/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef PMARENA_VERSION
#define PMARENA_VERSION "0.1.0"
#endif

/* Exit statuses: 0 ok, 1 the run failed (device, allocator, files, plots),
 * 2 bad input (usage, config, trace; nothing was run). */
enum { EXP_OK = 0, EXP_FAIL = 1, EXP_BADINPUT = 2 };

/* ---- one run (run*.c) ------------------------------------------------------------- */

typedef struct run_options {
    bool cells;     /* write per-cell counts */
    bool quiet;     /* no table, no progress bar */
    const char *cache_dir;   /* binary forms of file traces, keyed by content; NULL: none */
} run_options;

/* Runs x and writes dir. */
int run_experiment(const cfg_experiment *x, const char *dir, const run_options *opt);

/* ---- sweeps (sweep.c, sweep_table.c) ------------------------------------------------ */

typedef struct sweep_opts {
    int jobs;
    uint64_t shard, nshards;  /* run points with index % nshards == shard */
    bool quiet;
} sweep_opts;

/* Loads config, applies the overrides, checks every point, runs the
 * unfinished ones into out (NULL: results/<name>) and writes its table and
 * plots. */
int sweep_main(const char *config, char *const *sets, int nsets, const char *out, const sweep_opts *o);

/* sweep.csv and the metric plots over the finished points found in dirs,
 * written into out. */
int sweep_table(const char *const *dirs, int ndirs, const char *out, bool quiet);

/* ---- report (report.c) --------------------------------------------------------------- */

/* One figure of one run: an integer (is_int, ivalue) or a double; NAN when
 * the run's summary.json lacks it. */
typedef struct exp_report_cell {
    double value;
    int64_t ivalue;
    bool is_int;
} exp_report_cell;

/* The report's metrics (rows) for each run (column). */
typedef struct exp_report {
    int nruns;
    size_t nmetrics;
    const char *const *runs;      /* the folders, borrowed */
    exp_report_cell *cell;        /* nmetrics * nruns, row-major */
} exp_report;

/* Reads <dir>/summary.json of each of dirs[0..n). EXP_BADINPUT (after
 * naming the file on stderr) when one is missing or not JSON. */
int exp_report_load(exp_report *r, const char *const *dirs, int n);
/* Metric i's flat name (hotspot, p99_touched, ...) and its row label
 * ("hot-spot factor"; the statistics over touched cells are labelled with
 * their flat name, ending in `_touched`, indented two spaces under the
 * device-wide one); NULL past the end. */
const char *exp_report_metric(size_t i);
const char *exp_report_label(size_t i);
const exp_report_cell *exp_report_at(const exp_report *r, size_t metric, int run);
void exp_report_free(exp_report *r);

/* The self-contained HTML report (report_html*.c) into out (temporary +
 * rename): one run, a sweep folder or a bench folder when n == 1, else the
 * runs side by side. Plots are drawn again as inline SVG with gnuplot. */
int exp_report_html(const char *out, const char *const *dirs, int n);

/* ---- validation (validate.c) -------------------------------------------------------- */

/* Checks a trace or an experiment config (with every sweep point, after the
 * overrides) without running it. On success fills line with a one-line
 * summary; otherwise prints the located error and returns EXP_BADINPUT (or
 * EXP_FAIL when the file could not be read for another reason). */
int exp_validate_file(const char *path, char *const *sets, int nsets, char *line, size_t len);

/* ---- results folders and interruption (outdir.c, cleanup.c) ------------------------ */

/* Before anything runs: can dir take results? Not when it exists and is not a
 * folder, or it (or the folder it would be made in) cannot be written; with
 * replace (a run, which replaces dir whole), not when it is a non-empty
 * folder without an earlier run's summary.json. EXP_OK or EXP_BADINPUT
 * (printed, prefixed by who). */
int exp_outdir_check(const char *who, const char *dir, bool replace);

/* SIGINT and SIGTERM remove the temporaries of a run or a sweep (its points'
 * included), then end the process by the same signal (status 128 + signo). */
void exp_cleanup_install(void);

/* For `pmarena sweep`: dir is out, or results/<name> of the base config;
 * checks it (exp_outdir_check, writing inside it), installs the cleanup and
 * covers the sweep's own temporaries in dir and dir/.cache. dir is left
 * empty when the config does not read (sweep_main then says why). */
int exp_sweep_prepare(const char *config, char *const *sets, int nsets, const char *out, char *dir, size_t len);

#ifdef __cplusplus
}
#endif
#endif
