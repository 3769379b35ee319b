/*
 * config_json.h - the JSON-level config readers and writers, experiment/'s
 * own (include/pmarena/config.h is the JSON-free public face): one block at
 * a time, dotted paths into a loaded document, --set assignments, and the
 * resolved config written into summaries.
 */
#ifndef PMARENA_EXPERIMENT_CONFIG_JSON_H
#define PMARENA_EXPERIMENT_CONFIG_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pmarena/config.h"

/* A byte size: a non-negative integer, or a string such as "256MiB", "4 KiB",
 * "1.5GiB", "64" or "16MB". Binary units (KiB, MiB, GiB, TiB, and K, M, G, T)
 * are powers of 1024; KB, MB, GB, TB are powers of 1000. */
int cfg_size_parse(const json_t *v, uint64_t *out, const char *key, char *err, size_t errlen);

/* Fills cfg from a "device" object. `key` is the path used in messages
 * ("device"). cfg->path then points into obj: keep obj alive while the config
 * is used. Keys not given keep the value already in cfg. */
int cfg_device_from_json(nv_config *cfg, const json_t *obj, const char *key,
                         char *err, size_t errlen);

/* The resolved config as a JSON object (new reference), for summaries. */
json_t *cfg_device_to_json(const nv_config *cfg);
/* The device's endurance (null when none; "kind" fixed or normal) and
 * leveling, as summary.json's device block echoes them. */
json_t *cfg_device_endurance_json(const nv_endurance *e);
/* analysis.endurance vs device.endurance: the projection uses the device's
 * when only it is given; both given and different is an error naming both. */
int cfg_endurance_reconcile(cfg_experiment *x, bool analysis_given, char *err, size_t errlen);
json_t *cfg_device_leveling_json(const nv_leveling *l);

/* Fills cfg from an "allocator" object. Keys not given keep their value. */
int cfg_allocator_from_json(pma_config *cfg, const json_t *obj, const char *key, char *err, size_t errlen);

/* The value at a dotted PATH of root ("wear.max"), or NULL. Borrowed. */
json_t *cfg_json_path(json_t *root, const char *path);
/* Sets the value at a dotted PATH of root (taking over value), creating
 * objects along the way. */
int cfg_set_value(json_t *root, const char *path, json_t *value, char *err, size_t errlen);
/* Applies one "PATH=VALUE" override to root (VALUE parsed as JSON when it
 * is, else taken as a string), creating objects along PATH. */
int cfg_apply_set(json_t *root, const char *assignment, char *err, size_t errlen);

/* cfg_experiment_load from an already loaded root (taken over); path is the
 * config file's (relative trace files are taken from its folder). */
int cfg_experiment_from_json(cfg_experiment *x, json_t *root, const char *path, char *err, size_t errlen);
/* The fully resolved config (every default filled in), new reference. */
json_t *cfg_experiment_resolved(const cfg_experiment *x);

#endif
