/*
 * validate.c - checking traces and experiment configs without running them.
 * A trace (JSON Lines, gzip or not, or a document with "events") is read to
 * the end with every event checked; a config is read as `pmarena run` reads
 * it (after any --set overrides: every block, and a generator spec checked),
 * and with a "sweep" block every point's config is read too, as `pmarena
 * sweep` does before it runs anything. Errors are located: file, line and
 * column; or the key path, and the sweep point.
 */
#include "sweep.h"
#include "config_json.h"
#include "pmarena/experiment.h"
#include "pmarena/gen.h"
#include "pmarena/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int validate_trace(const char *path, char *line, size_t len)
{
    tr_reader *r;
    tr_error err = {0};
    char msg[1200];
    int rc = tr_reader_open(&r, path, &err);
    uint64_t events = 0;
    if (rc == 0) {
        tr_event e;
        tr_obj *o;
        while ((rc = tr_reader_next(r, &e, &o, NULL, &err)) == 1) {
            events++;
            if (e.op == TR_FREE)
                tr_reader_release(r, o);
        }
    }
    if (rc < 0) {
        tr_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        tr_reader_close(r);
        return rc == TR_EIO || rc == TR_ENOMEM ? EXP_FAIL : EXP_BADINPUT;
    }
    snprintf(line, len, "%s: ok: %llu events, %u threads, peak live %llu bytes, %llu objects live at the end", path,
           (unsigned long long)events, tr_reader_header(r)->threads,
           (unsigned long long)tr_reader_peak_live_bytes(r), (unsigned long long)tr_reader_live_objects(r));
    tr_reader_close(r);
    return EXP_OK;
}

/* Reads one config as a run would (taking over root). 0, or nonzero with err. */
static int read_config(cfg_experiment *x, json_t *root, const char *path, char *err, size_t errlen)
{
    int rc = cfg_experiment_from_json(x, root, path, err, errlen);
    if (rc == 0 && x->trace_kind == CFG_TRACE_GEN) {
        tr_error terr = {0};
        if (tr_gen_check(x->trace_gen, "trace.gen", &terr) != 0) {
            snprintf(err, errlen, "%s", terr.msg);
            rc = -1;
        }
    }
    return rc;
}

/* Every point of root's sweep block must read, or a swept value nothing
 * checked would pass here and fail only when the sweep starts. */
static int validate_sweep(const char *path, const json_t *root, uint64_t *npoints)
{
    sweep s;
    char err[1200];
    *npoints = 0;
    if (sweep_init(&s, json_deep_copy(root), path, err, sizeof err) != 0) {
        fprintf(stderr, "%s%s%s\n", strncmp(err, path, strlen(path)) ? path : "",
                strncmp(err, path, strlen(path)) ? ": " : "", err);
        sweep_free(&s);
        return EXP_BADINPUT;
    }
    int status = EXP_OK;
    for (uint64_t i = 0; status == EXP_OK && i < s.npoints; i++) {
        json_t *params, *c = sweep_point_config(&s, i, &params);
        cfg_experiment x;
        if (read_config(&x, c, path, err, sizeof err) != 0) {
            char *ps = json_dumps(params, JSON_COMPACT);
            fprintf(stderr, "%s: sweep point %llu %s: %s\n", path, (unsigned long long)i, ps ? ps : "", err);
            free(ps);
            status = EXP_BADINPUT;
        }
        cfg_experiment_free(&x);
        json_decref(params);
    }
    *npoints = s.npoints;
    sweep_free(&s);
    return status;
}

/* Takes over root. */
static int validate_config(const char *path, json_t *root, char *line, size_t len)
{
    cfg_experiment x;
    char err[1200];
    int rc = read_config(&x, root, path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, err);
        cfg_experiment_free(&x);
        return EXP_BADINPUT;
    }
    const json_t *block = json_object_get(root, "sweep");
    uint64_t npoints = 0;
    if (json_object_size(block) > 0 && validate_sweep(path, root, &npoints) != EXP_OK) {
        cfg_experiment_free(&x);
        return EXP_BADINPUT;
    }
    char points[64] = "";
    if (npoints)
        snprintf(points, sizeof points, "; sweep of %llu points", (unsigned long long)npoints);
    snprintf(line, len, "%s: ok: config \"%s\" (device %s, %llu bytes, %u-byte cells; allocator G %u, %s, %s, %s; trace %s%s)",
           path, x.name, nv_kind_name(x.device.kind), (unsigned long long)x.device.size, x.device.cell_size,
           x.allocator.granularity, pma_policy_name(x.allocator.policy), pma_metadata_name(x.allocator.metadata),
           pma_persistence_name(x.allocator.persistence),
           x.trace_kind == CFG_TRACE_FILE ? x.trace_file : x.trace_kind == CFG_TRACE_EVENTS ? "inline" : "generated",
           points);
    cfg_experiment_free(&x);
    return EXP_OK;
}

int exp_validate_file(const char *path, char *const *sets, int nsets, char *line, size_t len)
{
    line[0] = '\0';
    if (!ends_with(path, ".json")) {
        if (nsets > 0) {
            fprintf(stderr, "%s: --set applies to configs, not to traces\n", path);
            return EXP_BADINPUT;
        }
        return validate_trace(path, line, len);
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        return EXP_BADINPUT;
    }
    bool trace = json_is_object(root) && json_object_get(root, "events") && !json_object_get(root, "trace");
    if (trace && nsets == 0) {
        json_decref(root);
        return validate_trace(path, line, len);
    }
    char err[1200];
    for (int i = 0; i < nsets; i++)
        if (cfg_apply_set(root, sets[i], err, sizeof err) != 0) {
            fprintf(stderr, "%s: --set %s: %s\n", path, sets[i], err);
            json_decref(root);
            return EXP_BADINPUT;
        }
    return validate_config(path, root, line, len);
}
