/*
 * cmd_validate.c - `pmarena validate FILE...`: checks traces and experiment
 * configs without running them. A trace (JSON Lines, gzip or not, or a
 * document with "events") is read to the end with every event checked; a
 * config is read as `pmarena run` reads it (every block, and a generator spec
 * checked), and with a "sweep" block every point's config is read too, as
 * `pmarena sweep` does before it runs anything. Exit 0 with a one-line
 * summary per file, or 2 at the first invalid file with its error located
 * (file, line, column; or the key path, and the sweep point).
 */
#include "cmd.h"
#include "sweep.h"
#include "pmarena/config.h"
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

static int validate_trace(const char *path)
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
        return rc == TR_EIO || rc == TR_ENOMEM ? EXIT_FAIL : EXIT_BADINPUT;
    }
    printf("%s: ok: %llu events, %u threads, peak live %llu bytes, %llu objects live at the end\n", path,
           (unsigned long long)events, tr_reader_header(r)->threads,
           (unsigned long long)tr_reader_peak_live_bytes(r), (unsigned long long)tr_reader_live_objects(r));
    tr_reader_close(r);
    return EXIT_OK;
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
        return EXIT_BADINPUT;
    }
    int status = EXIT_OK;
    for (uint64_t i = 0; status == EXIT_OK && i < s.npoints; i++) {
        json_t *params, *c = sweep_point_config(&s, i, &params);
        cfg_experiment x;
        if (read_config(&x, c, path, err, sizeof err) != 0) {
            char *ps = json_dumps(params, JSON_COMPACT);
            fprintf(stderr, "%s: sweep point %llu %s: %s\n", path, (unsigned long long)i, ps ? ps : "", err);
            free(ps);
            status = EXIT_BADINPUT;
        }
        cfg_experiment_free(&x);
        json_decref(params);
    }
    *npoints = s.npoints;
    sweep_free(&s);
    return status;
}

/* Takes over root. */
static int validate_config(const char *path, json_t *root)
{
    cfg_experiment x;
    char err[1200];
    int rc = read_config(&x, root, path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, err);
        cfg_experiment_free(&x);
        return EXIT_BADINPUT;
    }
    const json_t *block = json_object_get(root, "sweep");
    uint64_t npoints = 0;
    if (json_object_size(block) > 0 && validate_sweep(path, root, &npoints) != EXIT_OK) {
        cfg_experiment_free(&x);
        return EXIT_BADINPUT;
    }
    char points[64] = "";
    if (npoints)
        snprintf(points, sizeof points, "; sweep of %llu points", (unsigned long long)npoints);
    printf("%s: ok: config \"%s\" (device %s, %llu bytes, %u-byte cells; allocator G %u, %s, %s, %s; trace %s%s)\n",
           path, x.name, nv_kind_name(x.device.kind), (unsigned long long)x.device.size, x.device.cell_size,
           x.allocator.granularity, pma_policy_name(x.allocator.policy), pma_metadata_name(x.allocator.metadata),
           pma_persistence_name(x.allocator.persistence),
           x.trace_kind == CFG_TRACE_FILE ? x.trace_file : x.trace_kind == CFG_TRACE_EVENTS ? "inline" : "generated",
           points);
    cfg_experiment_free(&x);
    return EXIT_OK;
}

static int validate_one(const char *path)
{
    if (!ends_with(path, ".json"))
        return validate_trace(path);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        return EXIT_BADINPUT;
    }
    bool trace = json_is_object(root) && json_object_get(root, "events") && !json_object_get(root, "trace");
    if (!trace)
        return validate_config(path, root);
    json_decref(root);
    return validate_trace(path);
}

int cmd_validate(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: pmarena validate FILE...\n"
                "Checks traces (.jsonl, .jsonl.gz, or a .json document with \"events\") and\n"
                "experiment configs (.json, every point of a \"sweep\" block included) without\n"
                "running them. Prints one line per valid file (for a trace: events, threads,\n"
                "peak live bytes); at the first invalid one prints the error with its file,\n"
                "line and column (or key path and sweep point) and exits 2.\n");
        return argc < 2 ? EXIT_BADINPUT : EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int rc = validate_one(argv[i]);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}
