/* config_util.h - helpers shared by the config readers (config_util.c). */
#ifndef PMARENA_EXPERIMENT_CONFIG_UTIL_H
#define PMARENA_EXPERIMENT_CONFIG_UTIL_H

#include <jansson.h>
#include <stdint.h>
#include "pmarena/config.h"

int cfg_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The JSON value as compact text, for messages. */
void cfg_value_text(const json_t *v, char *buf, size_t len);
int cfg_u32(const json_t *v, uint32_t *out, const char *key, const char *field, char *err, size_t errlen);
int cfg_u64(const json_t *v, uint64_t *out, uint64_t max, const char *key, char *err, size_t errlen);
/* A string that must be one of names[0..n): *out gets its index. */
int cfg_enum(const json_t *v, int *out, const char *const *names, int n, const char *key, const char *field,
             char *err, size_t errlen);
/* Refuses keys of obj not in names, naming the key path and the allowed ones. */
int cfg_known_keys(const json_t *obj, const char *const *names, int n, const char *key, char *err, size_t errlen);

#endif
