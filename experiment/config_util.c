/*
 * config_util.c - the pieces every config reader shares: messages that name
 * the key, the value and what is allowed, and a bounded integer (the typed
 * keys of the table go through config_keys.c).
 */
#include "config_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cfg_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return CFG_EINVAL;
}

/* The JSON value as compact text, for messages. */
void cfg_value_text(const json_t *v, char *buf, size_t len)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(buf, len, "%s", s ? s : "?");
    free(s);
}

int cfg_u64(const json_t *v, uint64_t *out, uint64_t max, const char *key, char *err, size_t errlen)
{
    char shown[96];
    cfg_value_text(v, shown, sizeof shown);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return cfg_fail(err, errlen, "%s: %s is not allowed (an integer from 0 to %llu)", key, shown,
                        (unsigned long long)max);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}
