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

#include "pmarena/device.h"

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

#ifdef __cplusplus
}
#endif
#endif
