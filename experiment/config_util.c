/*
 * config_util.c - the pieces every config reader shares: messages that name
 * the key, the value and what is allowed; integer, enum and unknown-key
 * checks.
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

/* An integer key that must fit in uint32. */
int cfg_u32(const json_t *v, uint32_t *out, const char *key, const char *field,
                   char *err, size_t errlen)
{
    char shown[96];
    cfg_value_text(v, shown, sizeof shown);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
        return cfg_fail(err, errlen, "%s.%s: %s is not allowed (a non-negative integer)", key, field, shown);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

/* A string key whose value must be one of names[0..n). */
int cfg_enum(const json_t *v, int *out, const char *const *names, int n,
                    const char *key, const char *field, char *err, size_t errlen)
{
    char shown[96], allowed[160] = "";
    cfg_value_text(v, shown, sizeof shown);
    for (int i = 0; i < n; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
        size_t used = strlen(allowed);
        snprintf(allowed + used, sizeof allowed - used, "%s%s", i ? ", " : "", names[i]);
    }
    return cfg_fail(err, errlen, "%s.%s: %s is not allowed (one of: %s)", key, field, shown, allowed);
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

int cfg_known_keys(const json_t *obj, const char *const *names, int n, const char *key, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        int i = 0;
        while (i < n && strcmp(k, names[i]) != 0)
            i++;
        if (i < n)
            continue;
        char allowed[400] = "";
        for (int j = 0; j < n; j++) {
            size_t used = strlen(allowed);
            snprintf(allowed + used, sizeof allowed - used, "%s%s", j ? ", " : "", names[j]);
        }
        return cfg_fail(err, errlen, "%s%s%s: unknown key (allowed: %s)", key, *key ? "." : "", k, allowed);
    }
    return 0;
}
