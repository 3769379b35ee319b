/*
 * sweep_ident.c - a sweep's identity, DIR/sweep.json (sweep.h): the base
 * config (resolved, with defaults filled in) and its canonical hash, the base
 * trace's checksum, and the sweep block (swept paths and their values). Point
 * NNNNN means the same run only within one identity, so `merge` refuses
 * folders whose identities differ and names what differs.
 */
#include "sweep.h"
#include "pmarena/analysis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *sweep_ident_new(const sweep *s, const json_t *base_resolved, const char *trace_checksum)
{
    char h[PROV_HEX];
    prov_hash_json(base_resolved, h, NULL);
    return json_pack("{s:i, s:s, s:s, s:s, s:s?, s:O, s:I, s:O}", "format", 1, "version", PMARENA_VERSION,
                     "git_revision", prov_revision(), "base_hash", h, "trace_checksum", trace_checksum,
                     "sweep", s->block, "npoints", (json_int_t)s->npoints, "base", base_resolved);
}

int sweep_ident_write(const char *dir, const json_t *ident)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    an_file af;
    if (an_file_open(&af, path) != 0) {
        fprintf(stderr, "pmarena sweep: cannot write %s: %s\n", path, strerror(errno));
        return EXP_FAIL;
    }
    json_dumpf(ident, af.f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', af.f);
    if (an_file_commit(&af) != 0) {
        fprintf(stderr, "pmarena sweep: cannot write %s: %s\n", path, strerror(errno));
        return EXP_FAIL;
    }
    return 0;
}

static json_t *load(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "base_hash")) ||
        !json_is_object(json_object_get(j, "sweep"))) {
        fprintf(stderr, "pmarena: %s: %s (not the folder of a `pmarena sweep`, or one made before sweeps "
                        "recorded their identity: run its sweep again)\n", path, j ? "not a sweep identity" : je.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Appends "a, b, c" (the array's strings, or its keys) to buf. */
static void join(char *buf, size_t len, const json_t *arr)
{
    size_t n = strlen(buf), i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (n < len)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", json_string_value(v));
}

static json_t *keys_of(const json_t *o)
{
    json_t *a = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
        json_array_append_new(a, json_string(k));
    return a;
}

/* 0 when a and b are one sweep; else prints why not and returns EXP_BADINPUT. */
static int compare(const json_t *a, const json_t *b, const char *da, const char *db)
{
    char why[2000] = "";
    json_t *sa = json_object_get(a, "sweep"), *sb = json_object_get(b, "sweep");
    json_t *ka = keys_of(sa), *kb = keys_of(sb);
    if (strcmp(json_string_value(json_object_get(a, "base_hash")), json_string_value(json_object_get(b, "base_hash")))) {
        json_t *d = prov_diff_keys(json_object_get(a, "base"), json_object_get(b, "base"));
        snprintf(why, sizeof why, "their base configs differ in ");
        if (json_array_size(d))
            join(why, sizeof why, d);
        else
            snprintf(why + strlen(why), sizeof why - strlen(why), "(no key: a different hash)");
        json_decref(d);
    } else if (!json_equal(json_object_get(a, "trace_checksum"), json_object_get(b, "trace_checksum"))) {
        snprintf(why, sizeof why, "their trace files' contents differ (trace_checksum)");
    } else if (!json_equal(ka, kb)) {
        snprintf(why, sizeof why, "they sweep different keys: ");
        join(why, sizeof why, ka);
        snprintf(why + strlen(why), sizeof why - strlen(why), " vs ");
        join(why, sizeof why, kb);
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(sa, k, v)
            if (!why[0] && !json_equal(v, json_object_get(sb, k)))
                snprintf(why, sizeof why, "the values swept for %s differ", k);
    }
    json_decref(ka);
    json_decref(kb);
    if (!why[0])
        return 0;
    fprintf(stderr, "pmarena: %s and %s hold different sweeps, not shards of one: %s\n", da, db, why);
    return EXP_BADINPUT;
}

int sweep_ident_check(const char *const *dirs, int ndirs)
{
    json_t *first = load(dirs[0]);
    int rc = first ? 0 : EXP_BADINPUT;
    for (int i = 1; i < ndirs && rc == 0; i++) {
        json_t *j = load(dirs[i]);
        rc = j ? compare(first, j, dirs[0], dirs[i]) : EXP_BADINPUT;
        json_decref(j);
    }
    json_decref(first);
    return rc;
}
