/*
 * config.h - reading configuration structs from JSON experiment configs
 * (Jansson). This layer sits above sim/ and allocator/, which take plain
 * structs and know nothing of JSON.
 *
 * Every reader refuses an unknown key, a wrong type or an impossible value
 * with CFG_EINVAL and a message that names the key path, the value and what
 * is allowed, e.g. "device.cell_size: 3 is not allowed (a power of two from 1
 * to 4096)". Keys not given keep the value already in the struct, so callers
 * start from the *_defaults() function.
 */
#ifndef PMARENA_CONFIG_H
#define PMARENA_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pmarena/analysis.h"
#include "pmarena/device.h"
#include "pmarena/pma.h"
#include "pmarena/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CFG_OK = 0, CFG_EINVAL = -1 };

/* A byte size: a non-negative integer, or a string such as "256MiB", "4 KiB",
 * "1.5GiB", "64" or "16MB". Binary units (KiB, MiB, GiB, TiB, and K, M, G, T)
 * are powers of 1024; KB, MB, GB, TB are powers of 1000. */
int cfg_size_parse(const json_t *v, uint64_t *out, const char *key, char *err, size_t errlen);

/* Fills cfg from a "device" object (keys of DESIGN.md's schema). `key` is the
 * path used in messages ("device"). cfg->path then points into obj: keep obj
 * alive while the config is used. */
int cfg_device_from_json(nv_config *cfg, const json_t *obj, const char *key,
                         char *err, size_t errlen);

/* The resolved config as a JSON object (new reference), for summaries. */
json_t *cfg_device_to_json(const nv_config *cfg);

/* Fills cfg from an "allocator" object: granularity, alignment, arena_size,
 * policy, bitmap_layout, metadata. */
int cfg_allocator_from_json(pma_config *cfg, const json_t *obj, const char *key, char *err, size_t errlen);

/* ---- experiments ---------------------------------------------------------------- */

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
    const json_t *trace_events;     /* CFG_TRACE_EVENTS: the array, inside root */
    const json_t *trace_gen;        /* CFG_TRACE_GEN: the spec, inside root */
    an_endurance endurance;
    uint32_t hist_bins;             /* analysis.histogram_bins [64] */
    json_t *root;                   /* the config after --set overrides (owned) */
} cfg_experiment;

/* The value at a dotted PATH of root ("wear.max"), or NULL. Borrowed. */
json_t *cfg_json_path(json_t *root, const char *path);
/* Sets the value at a dotted PATH of root (taking over value), creating
 * objects along the way. */
int cfg_set_value(json_t *root, const char *path, json_t *value, char *err, size_t errlen);
/* Applies one "PATH=VALUE" override to root (VALUE parsed as JSON when it
 * is, else taken as a string), creating objects along PATH. */
int cfg_apply_set(json_t *root, const char *assignment, char *err, size_t errlen);

/* Loads path, applies the overrides, reads every block. On failure, err says
 * what is wrong (file:line:column for JSON syntax; the key path otherwise). */
int cfg_experiment_load(cfg_experiment *x, const char *path, char *const *sets, int nsets,
                        char *err, size_t errlen);
/* Same, from an already loaded root (taken over). */
int cfg_experiment_from_json(cfg_experiment *x, json_t *root, const char *path, char *err, size_t errlen);
/* The fully resolved config (every default filled in), new reference. */
json_t *cfg_experiment_resolved(const cfg_experiment *x);
void cfg_experiment_free(cfg_experiment *x);

#ifdef __cplusplus
}
#endif
#endif
