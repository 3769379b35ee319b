/*
 * cmd_validate.c - `pmarena validate FILE...`: checks traces and experiment
 * configs without running them. A trace (JSON Lines, gzip or not, or a
 * document with "events") is read to the end with every event checked; a
 * config's JSON and its "device" block are checked (other blocks gain checks
 * as their readers land). Exit 0 with a one-line summary per file, or 2 at
 * the first invalid file with its error located (file, line, column).
 */
#include "cmd.h"
#include "pmarena/config.h"
#include "pmarena/gen.h"
#include "pmarena/trace.h"

#include <stdio.h>
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

/* Takes over root. */
static int validate_config(const char *path, json_t *root)
{
    cfg_experiment x;
    char err[1200];
    int rc = cfg_experiment_from_json(&x, root, path, err, sizeof err);
    if (rc == 0 && x.trace_kind == CFG_TRACE_GEN) {
        tr_error terr = {0};
        if (tr_gen_check(x.trace_gen, "trace.gen", &terr) != 0) {
            snprintf(err, sizeof err, "%s", terr.msg);
            rc = -1;
        }
    }
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, err);
        cfg_experiment_free(&x);
        return EXIT_BADINPUT;
    }
    printf("%s: ok: config \"%s\" (device %s, %llu bytes, %u-byte cells; allocator G %u, %s, %s, %s; trace %s)\n",
           path, x.name, nv_kind_name(x.device.kind), (unsigned long long)x.device.size, x.device.cell_size,
           x.allocator.granularity, pma_policy_name(x.allocator.policy), pma_metadata_name(x.allocator.metadata),
           pma_persistence_name(x.allocator.persistence),
           x.trace_kind == CFG_TRACE_FILE ? x.trace_file : x.trace_kind == CFG_TRACE_EVENTS ? "inline" : "generated");
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
                "experiment configs (.json) without running them. Prints one line per valid\n"
                "file (for a trace: events, threads, peak live bytes); at the first invalid\n"
                "one prints the error with its file, line and column and exits 2.\n");
        return argc < 2 ? EXIT_BADINPUT : EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int rc = validate_one(argv[i]);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}
