/*
 * sweep.h - what the sweep files share: the points of a config's "sweep" block, running
 * them (in parallel processes, resumably, optionally one shard of them), and
 * the table and plots over the finished points of one or more folders.
 *
 * Folder layout: DIR/points/NNNNN/ holds one point's results plus point.json
 * (its index and parameter values) and a `.done` marker written last, so a
 * point whose marker exists is finished and is skipped on rerun.
 */
#ifndef PMARENA_EXPERIMENT_SWEEP_H
#define PMARENA_EXPERIMENT_SWEEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pmarena/experiment.h"

typedef struct sweep {
    json_t *base;            /* the config without its sweep block (owned) */
    const char *config_path;
    size_t nparams;
    const char **paths;      /* swept config paths, in the block's order */
    json_t **values;         /* arrays of values, borrowed from the sweep block */
    json_t *block;           /* the sweep block (owned) */
    uint64_t npoints;
} sweep;

/* From a loaded config (taken over). 0, or 2 with err explaining. */
int sweep_init(sweep *s, json_t *root, const char *config_path, char *err, size_t errlen);
void sweep_free(sweep *s);
/* The point's config (new reference) and its parameters as an object. */
json_t *sweep_point_config(const sweep *s, uint64_t index, json_t **params);

/* Checks every point's config, then runs the unfinished ones. Exit status. */
int sweep_run(const sweep *s, const char *dir, const sweep_opts *o);

#endif
