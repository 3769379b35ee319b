/*
 * sweep.h - what the sweep files share: the points of a config's "sweep"
 * block, running them (in parallel processes, resumably, optionally one shard
 * of them), reusing only points whose provenance still matches, the sweep's
 * identity for merge, and the table and plots over the finished points of one
 * or more folders.
 *
 * Folder layout: DIR/points/NNNNN/ holds one point's results plus point.json
 * (its index and parameter values) and a `.done` marker written last, so a
 * point whose marker exists is finished. DIR/sweep.json is the sweep's
 * identity (sweep_ident.c); DIR/.lock is flock(2)ed by the running sweep.
 */
#ifndef PMARENA_EXPERIMENT_SWEEP_H
#define PMARENA_EXPERIMENT_SWEEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pmarena/experiment.h"
#include "provenance.h"

typedef struct sweep {
    json_t *base;            /* the config without its sweep block (owned) */
    const char *config_path;
    size_t nparams;
    const char **paths;      /* swept config paths, in the block's order */
    json_t **values;         /* arrays of values, borrowed from the sweep block */
    json_t *block;           /* the sweep block (owned) */
    uint64_t npoints;
    json_t *ident;           /* sweep.json's object (owned; NULL until sweep_main sets it) */
} sweep;

/* From a loaded config (taken over). 0, or 2 with err explaining. */
int sweep_init(sweep *s, json_t *root, const char *config_path, char *err, size_t errlen);
void sweep_free(sweep *s);
/* The point's config (new reference) and its parameters as an object. */
json_t *sweep_point_config(const sweep *s, uint64_t index, json_t **params);

/* Checks every point's config, locks dir, drops stale points, runs the
 * missing ones of this shard and writes the table. Exit status. */
int sweep_run(const sweep *s, const char *dir, const sweep_opts *o);

/* ---- reuse (sweep_reuse.c) ---------------------------------------------------------- */

/* What point i would be run with now: its resolved config's hash and, where
 * it is known without running, its trace's checksum (a trace file, inline
 * events; a generated trace is a function of its spec, which is in the
 * config, and of the tool, which is compared separately). */
typedef struct sweep_expect {
    char config[PROV_HEX];
    char trace[PROV_HEX];
    bool trace_known;
} sweep_expect;

typedef struct sweep_counts {
    uint64_t points;                       /* in this shard */
    uint64_t reused, rerun, fresh;         /* of this shard's points */
    uint64_t by_config, by_trace, by_tool; /* why the reruns */
    uint64_t dropped;                      /* folders of points no longer in the sweep */
    uint64_t stale_elsewhere;              /* stale folders of other shards' points */
} sweep_counts;

/* Removes from dir/points every folder that is not a finished, current point
 * of this sweep (stale provenance, or an index beyond the sweep), counting
 * what it kept and removed; this shard's removed points then run again.
 * 0, or EXP_FAIL when a folder could not be removed. */
int sweep_prune(const sweep *s, const char *dir, const sweep_expect *e, const sweep_opts *o, sweep_counts *c);

/* "3 points: 1 reused, 2 rerun (config changed: 1, trace changed: 1), 0 new" */
void sweep_counts_print(const sweep_counts *c, int jobs);

/* ---- identity (sweep_ident.c) ------------------------------------------------------- */

/* sweep.json's object: the base config (resolved) and its hash, the base
 * trace's checksum (NULL: a generated trace), the sweep block. */
json_t *sweep_ident_new(const sweep *s, const json_t *base_resolved, const char *trace_checksum);

/* Writes dir/sweep.json atomically. 0 or EXP_FAIL. */
int sweep_ident_write(const char *dir, const json_t *ident);

/* Every dir's sweep.json must describe the same sweep: 0, or EXP_BADINPUT
 * after naming the folders and what differs (the base config's dotted keys,
 * the trace, the swept keys or their values). */
int sweep_ident_check(const char *const *dirs, int ndirs);

#endif
