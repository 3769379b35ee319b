/*
 * config_keys.h - the one table of experiment config keys (config_keys.c):
 * for each block, its keys, their types, allowed values and meaning. The
 * readers (config_device.c, config_experiment.c) check and read through it,
 * and docs/CONFIG.md is rendered from it (config_keys_doc.c), so the
 * reference and the validator cannot drift apart.
 */
#ifndef PMARENA_EXPERIMENT_CONFIG_KEYS_H
#define PMARENA_EXPERIMENT_CONFIG_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cfg_type {
    CFG_T_BLOCK,    /* an object whose keys are the table's under "block.name" */
    CFG_T_STRING,   /* a non-empty string; stored as a const char * into the document */
    CFG_T_BOOL,     /* stored as bool */
    CFG_T_U32,      /* an integer from imin to imax; stored as uint32_t */
    CFG_T_U64,      /* an integer from imin to imax; stored as uint64_t */
    CFG_T_SIZE,     /* a byte size (cfg_size_parse); stored as uint64_t */
    CFG_T_NUMBER,   /* a number from min (excluded when above_min) to max; stored as double */
    CFG_T_ENUM,     /* one of value_name(0), value_name(1), ...; stored as an enum (int) */
    CFG_T_CUSTOM,   /* read by its block's own code (order or shape matters); typed by type_text */
} cfg_type;

typedef struct cfg_key {
    const char *block;               /* "" (top level), "device", "device.latency", ... */
    const char *name;
    cfg_type type;
    size_t offset;                   /* the field in the struct its block's reader fills */
    uint64_t imin, imax;             /* CFG_T_U32, CFG_T_U64 */
    double min, max;                 /* CFG_T_NUMBER */
    bool above_min;
    const char *(*value_name)(int);  /* CFG_T_ENUM (or CUSTOM): the names, "?" past the last */
    const char *type_text;           /* CFG_T_CUSTOM: its type, in words */
    const char *range;               /* CFG_T_NUMBER, CFG_T_CUSTOM: what is allowed, in words
                                      * (messages and docs); derived from the type otherwise */
    const char *constraint;          /* docs: a rule the device's or allocator's own check
                                      * enforces (nv_config_check, pma_config_check) */
    const char *doc;                 /* what the key does */
} cfg_key;

extern const cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* The entry of block.name, or NULL. */
const cfg_key *cfg_key_find(const char *block, const char *name);
/* The key's type, and what its reader accepts, in words (messages, docs). */
const char *cfg_key_type_text(const cfg_key *k);
void cfg_key_range_text(const cfg_key *k, char *buf, size_t len);

/* obj must be an object whose keys are all block's; prefix is the path used
 * in messages (usually block itself). */
int cfg_block_keys(const json_t *obj, const char *block, const char *prefix, char *err, size_t errlen);
/* Reads each of block's keys present in obj into target, every type but
 * CFG_T_BLOCK and CFG_T_CUSTOM (left to the block's reader). */
int cfg_block_read(const json_t *obj, const char *block, const char *prefix, void *target,
                   char *err, size_t errlen);
/* An enum key's value: *out gets its index among the names. */
int cfg_key_enum(const cfg_key *k, const json_t *v, const char *prefix, int *out, char *err, size_t errlen);

#endif
