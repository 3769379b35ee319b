/* run.h - one experiment, from a loaded config to its results folder
 * (run_experiment.c); used by `pmarena run` and `pmarena sweep`. */
#ifndef PMARENA_CLI_RUN_H
#define PMARENA_CLI_RUN_H

#include <stdbool.h>
#include "pmarena/config.h"

typedef struct run_options {
    bool cells;     /* write per-cell counts */
    bool quiet;     /* no table, no progress bar */
    const char *cache_dir;   /* binary forms of file traces, keyed by content; NULL: none */
} run_options;

/* Runs x and writes dir; returns an exit status (0, 1, 2) after printing any
 * error to stderr. */
int run_experiment(const cfg_experiment *x, const char *dir, const run_options *opt);

#endif
