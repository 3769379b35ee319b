/*
 * cmd_validate.c - `pmarena validate FILE...`: checks experiment configs
 * without running anything. Today it checks the JSON itself (errors name file,
 * line and column) and the "device" block; other blocks are accepted as they
 * are until their readers exist. Exit 0 when all files are valid, 2 at the
 * first invalid one.
 */
#include "cmd.h"
#include "pmarena/config.h"

#include <stdio.h>
#include <string.h>

static int validate_one(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
        return EXIT_BADINPUT;
    }
    if (!json_is_object(root)) {
        fprintf(stderr, "%s: expected a JSON object at the top level\n", path);
        json_decref(root);
        return EXIT_BADINPUT;
    }
    nv_config dev;
    nv_config_defaults(&dev);
    char err[512];
    json_t *d = json_object_get(root, "device");
    if (d && cfg_device_from_json(&dev, d, "device", err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        json_decref(root);
        return EXIT_BADINPUT;
    }
    printf("%s: ok (device %s, %llu bytes, %u-byte cells, %s writes, preset %s)\n", path,
           nv_kind_name(dev.kind), (unsigned long long)dev.size, dev.cell_size,
           nv_write_model_name(dev.write_model), nv_preset_name(dev.preset));
    json_decref(root);
    return EXIT_OK;
}

int cmd_validate(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: pmarena validate CONFIG.json...\n"
                "Checks each experiment config without running it; prints one line per\n"
                "valid file, or the first error (file, key or line:column) and exits 2.\n");
        return argc < 2 ? EXIT_BADINPUT : EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int rc = validate_one(argv[i]);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}
