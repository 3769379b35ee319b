/*
 * provenance.c - hashes of configs and traces, the tool's identity, and the
 * dotted-key difference of two configs (provenance.h).
 *
 * PMARENA_GIT_REVISION is defined by the Makefile for this file alone, so a
 * new commit rebuilds one object instead of the whole tree.
 */
#include "provenance.h"
#include "config_json.h"
#include "pmarena/experiment.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#ifndef PMARENA_GIT_REVISION
#define PMARENA_GIT_REVISION "unknown"
#endif

const char *prov_revision(void) { return PMARENA_GIT_REVISION; }

static void hex(XXH128_hash_t h, char out[PROV_HEX])
{
    snprintf(out, PROV_HEX, "%016llx%016llx", (unsigned long long)h.high64, (unsigned long long)h.low64);
}

void prov_hash_json(const json_t *j, char out[PROV_HEX], uint64_t *bytes)
{
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = s ? strlen(s) : 0;
    hex(XXH3_128bits(s ? s : "", n), out);
    if (bytes)
        *bytes = n;
    free(s);
}

void prov_config_hash(const cfg_experiment *x, char out[PROV_HEX])
{
    json_t *r = cfg_experiment_resolved(x);
    prov_hash_json(r, out, NULL);
    json_decref(r);
}

int prov_hash_file(const char *path, char out[PROV_HEX], uint64_t *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    XXH3_state_t *st = XXH3_createState();
    if (!st) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    XXH3_128bits_reset(st);
    static _Thread_local unsigned char buf[1 << 16];
    uint64_t total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        XXH3_128bits_update(st, buf, n);
        total += n;
    }
    int bad = ferror(f);
    fclose(f);
    if (!bad) {
        hex(XXH3_128bits_digest(st), out);
        *bytes = total;
    }
    XXH3_freeState(st);
    if (bad) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int prov_trace(const cfg_experiment *x, const char *genpath, char out[PROV_HEX], uint64_t *bytes)
{
    switch (x->trace_kind) {
    case CFG_TRACE_EVENTS:
        prov_hash_json(x->trace_events, out, bytes);
        return 0;
    case CFG_TRACE_GEN:
        return prov_hash_file(genpath, out, bytes);
    default:
        return prov_hash_file(x->trace_file, out, bytes);
    }
}

json_t *prov_json(const cfg_experiment *x, const char *trace_checksum, uint64_t trace_bytes)
{
    char ch[PROV_HEX];
    prov_config_hash(x, ch);
    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "version", PMARENA_VERSION, "git_revision", prov_revision(),
                     "config_hash", ch, "trace_checksum", trace_checksum, "trace_bytes", (json_int_t)trace_bytes);
}

/* Every leaf of j under prefix into flat (dotted key -> value, borrowed). */
static void flatten(const json_t *j, const char *prefix, json_t *flat)
{
    if (!json_is_object(j) || (json_object_size(j) == 0 && prefix[0])) {
        json_object_set(flat, prefix, (json_t *)j);
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        size_t len = strlen(prefix) + strlen(k) + 2;
        char *key = malloc(len);
        if (!key)
            return;
        snprintf(key, len, "%s%s%s", prefix, prefix[0] ? "." : "", k);
        flatten(v, key, flat);
        free(key);
    }
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *prov_diff_keys(const json_t *a, const json_t *b)
{
    json_t *fa = json_object(), *fb = json_object();
    flatten(a, "", fa);
    flatten(b, "", fb);
    size_t n = 0, cap = json_object_size(fa) + json_object_size(fb);
    const char **keys = calloc(cap ? cap : 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach(fa, k, v)
        if (keys && !json_equal(v, json_object_get(fb, k)))
            keys[n++] = k;
    json_object_foreach(fb, k, v)
        if (keys && !json_object_get(fa, k))
            keys[n++] = k;
    if (keys)
        qsort(keys, n, sizeof *keys, str_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(keys[i]));
    free(keys);
    json_decref(fa);
    json_decref(fb);
    return out;
}
