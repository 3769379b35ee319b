/* config_util.h - helpers shared by the config readers (config_util.c). */
#ifndef PMARENA_EXPERIMENT_CONFIG_UTIL_H
#define PMARENA_EXPERIMENT_CONFIG_UTIL_H

#include <jansson.h>
#include <stdint.h>
#include "config_json.h"

int cfg_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The JSON value as compact text, for messages. */
void cfg_value_text(const json_t *v, char *buf, size_t len);
int cfg_u64(const json_t *v, uint64_t *out, uint64_t max, const char *key, char *err, size_t errlen);

#endif
