/*
 * gen_text.c - the short text forms of generator spec values that `pmarena
 * gen`'s flags take (--size-dist lognormal:4:1, --lifetime fixed:100,
 * --set size.max=4096), turned into the spec's JSON. Only the shape is
 * handled here: every value is checked by tr_gen_check (gen_spec.c), so a bad
 * one gets the same message, naming the key, as in a spec file.
 */
#include "pmarena/gen.h"

#include <jansson.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A number as JSON: an integer when it is one, else a real; NULL if neither. */
json_t *tr_gen_number_text(const char *s)
{
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*s && !*end && !errno)
        return json_integer(i);
    errno = 0;
    double d = strtod(s, &end);
    if (*s && !*end && !errno)
        return json_real(d);
    return NULL;
}

/* "kind:a:b..." -> {"dist": kind, names[0]: a, ...}; NULL if a part is not a
 * number or there are more parts than names. */
static json_t *dist_object(const char *text, const char *const *names, size_t most)
{
    char *copy = strdup(text), *save = NULL;
    char *kind = copy ? strtok_r(copy, ":", &save) : NULL;
    json_t *o = kind ? json_pack("{s:s}", "dist", kind) : NULL;
    size_t n = 0;
    for (char *part; o && (part = strtok_r(NULL, ":", &save)); n++) {
        json_t *v = n < most ? tr_gen_number_text(part) : NULL;
        if (!v) {
            json_decref(o);
            o = NULL;
            break;
        }
        json_object_set_new(o, names[n], v);
    }
    free(copy);
    return o;
}

/* An unknown kind goes on as {"dist": kind}, for the spec check to refuse
 * with the list of the allowed ones. */
static json_t *unknown_dist(const char *text)
{
    size_t n = strcspn(text, ":");
    char *kind = strndup(text, n);
    json_t *o = kind ? json_pack("{s:s}", "dist", kind) : NULL;
    free(kind);
    return o;
}

/* --size-dist: fixed:V, uniform:MIN:MAX, lognormal:MU:SIGMA[:MIN:MAX],
 * exponential:MEAN[:MIN:MAX], empirical:SIZE=WEIGHT,... or empirical:SIZE,... */
json_t *tr_gen_size_text(const char *text)
{
    static const char *const fixed[] = {"value"}, *const uniform[] = {"min", "max"},
                             *const lognormal[] = {"mu", "sigma", "min", "max"},
                             *const exponential[] = {"mean", "min", "max"};
    if (strncmp(text, "empirical:", 10) == 0) {
        json_t *sizes = json_array(), *weights = json_array();
        char *copy = strdup(text + 10), *save = NULL;
        bool ok = copy && *copy, weighted = strchr(text, '=') != NULL;
        for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; ok && item;
             item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            if (eq)
                *eq = '\0';
            json_t *s = tr_gen_number_text(item), *w = eq ? tr_gen_number_text(eq + 1) : NULL;
            ok = s && (weighted ? w != NULL : true);
            json_array_append_new(sizes, s ? s : json_null());
            if (w)
                json_array_append_new(weights, w);
        }
        free(copy);
        if (!ok) {
            json_decref(sizes);
            json_decref(weights);
            return NULL;
        }
        json_t *o = json_pack("{s:s, s:o}", "dist", "empirical", "sizes", sizes);
        if (weighted)
            json_object_set_new(o, "weights", weights);
        else
            json_decref(weights);
        return o;
    }
    if (strncmp(text, "fixed:", 6) == 0)
        return dist_object(text, fixed, 1);
    if (strncmp(text, "uniform:", 8) == 0)
        return dist_object(text, uniform, 2);
    if (strncmp(text, "lognormal:", 10) == 0)
        return dist_object(text, lognormal, 4);
    if (strncmp(text, "exponential:", 12) == 0)
        return dist_object(text, exponential, 3);
    return unknown_dist(text);
}

json_t *tr_gen_lifetime_text(const char *text)
{
    static const char *const exponential[] = {"mean"}, *const fixed[] = {"window"};
    if (strncmp(text, "exponential:", 12) == 0)
        return dist_object(text, exponential, 1);
    if (strncmp(text, "fixed:", 6) == 0)
        return dist_object(text, fixed, 1);
    return unknown_dist(text);
}

int tr_gen_set_path(json_t *spec, const char *path, json_t *value)
{
    char *key = strdup(path), *save = NULL;
    json_t *obj = spec;
    char *part = key ? strtok_r(key, ".", &save) : NULL, *next;
    while (part && (next = strtok_r(NULL, ".", &save))) {
        json_t *child = json_object_get(obj, part);
        if (!json_is_object(child)) {
            child = json_object();
            json_object_set_new(obj, part, child);
        }
        obj = child;
        part = next;
    }
    if (part)
        json_object_set_new(obj, part, value);
    else
        json_decref(value);
    free(key);
    return part ? 0 : -1;
}
