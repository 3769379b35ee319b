/*
 * config.h - experiment configs (DESIGN.md's schema, docs/CONFIG.md for every
 * key) read into plain structs. This layer sits above sim/ and allocator/,
 * which take plain structs and know nothing of JSON; the JSON-level readers
 * (one block at a time, --set on a loaded document) are experiment/'s own
 * (experiment/config_json.h), so this header needs no JSON library.
 *
 * Every reader refuses an unknown key, a wrong type or an impossible value
 * with CFG_EINVAL and a message that names the key path, the value and what
 * is allowed, e.g. "device.cell_size: 3 is not allowed (a power of two from 1
 * to 4096)". Keys not given keep their defaults.
 */
#ifndef PMARENA_CONFIG_H
#define PMARENA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pmarena/analysis.h"
#include "pmarena/device.h"
#include "pmarena/pma.h"
#include "pmarena/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CFG_OK = 0, CFG_EINVAL = -1 };

/* The most cells (device.size / device.cell_size) a sim device may have: a
 * run scans every cell into a dense array of 8 bytes a cell (64 GiB of
 * device at 64-byte cells: an 8 GiB array, about two minutes). */
#define CFG_SIM_MAX_CELLS ((uint64_t)1 << 30)

typedef enum cfg_trace_kind { CFG_TRACE_FILE = 0, CFG_TRACE_EVENTS, CFG_TRACE_GEN } cfg_trace_kind;

typedef struct cfg_experiment {
    char name[256];
    char config_path[4096];
    nv_config device;
    pma_config allocator;
    tr_replay_config replay;        /* callbacks left for the caller */
    bool sample_auto;               /* replay.sample_every "auto": about 200 samples */
    cfg_trace_kind trace_kind;
    char trace_file[4096];          /* resolved path (CFG_TRACE_FILE) */
    /* The parsed document and parts of it, opaque here (JSON values; the
     * readers in experiment/ know their type). */
    const void *trace_events;       /* CFG_TRACE_EVENTS: the array, inside root */
    const void *trace_gen;          /* CFG_TRACE_GEN: the spec, inside root */
    an_endurance endurance;
    uint32_t hist_bins;             /* analysis.histogram_bins [64] */
    bool recovery;                  /* analysis.recovery: measure a crash's recovery [true] */
    void *root;                     /* the config after --set overrides (owned) */
} cfg_experiment;

/* Loads path, applies the "PATH=VALUE" overrides (VALUE is JSON when it
 * parses as JSON, else a string), reads every block. A relative trace file is
 * taken from the config file's folder. On failure, err says what is wrong
 * (file:line:column for JSON syntax; the key path otherwise). */
int cfg_experiment_load(cfg_experiment *x, const char *path, char *const *sets, int nsets,
                        char *err, size_t errlen);
void cfg_experiment_free(cfg_experiment *x);

/* The reference of every config key (block, type, default, allowed values),
 * rendered from the table the readers check against: Markdown (docs/CONFIG.md
 * is this output). 0, or -1 on a write error. */
int cfg_keys_markdown(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
