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

static int validate_config(const char *path, json_t *root)
{
    if (!json_is_object(root)) {
        fprintf(stderr, "%s: expected a JSON object at the top level\n", path);
        return EXIT_BADINPUT;
    }
    nv_config dev;
    nv_config_defaults(&dev);
    char err[512];
    json_t *d = json_object_get(root, "device");
    if (d && cfg_device_from_json(&dev, d, "device", err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return EXIT_BADINPUT;
    }
    printf("%s: ok: config (device %s, %llu bytes, %u-byte cells, %s writes, preset %s)\n", path,
           nv_kind_name(dev.kind), (unsigned long long)dev.size, dev.cell_size,
           nv_write_model_name(dev.write_model), nv_preset_name(dev.preset));
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
    int rc = trace ? validate_trace(path) : validate_config(path, root);
    json_decref(root);
    return rc;
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
