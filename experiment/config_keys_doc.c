/*
 * config_keys_doc.c - docs/CONFIG.md, rendered from the key table the readers
 * use (config_keys.c). Defaults are not written down twice: they are read
 * from the resolved config of an experiment that sets nothing, i.e. from the
 * *_defaults() functions the runs start from.
 */
#include "config_json.h"
#include "config_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Markdown table cells: a '|' would end the cell. */
static void cell(FILE *out, const char *s)
{
    for (; *s; s++)
        fputs(*s == '|' ? "\\|" : (char[]){*s, 0}, out);
}

static void default_text(json_t *resolved, const cfg_key *k, char *buf, size_t len)
{
    char path[200];
    snprintf(path, sizeof path, "%s.%s", k->block, k->name);
    json_t *v = *k->block && strcmp(k->block, "trace") != 0 && k->type != CFG_T_BLOCK
                    ? cfg_json_path(resolved, path) : NULL;
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (s)
        snprintf(buf, len, "`%s`", s);
    else if (len)
        buf[0] = 0;
    free(s);
}

int cfg_keys_markdown(FILE *out)
{
    cfg_experiment x;
    char err[512];
    json_t *root = json_pack("{s:{s:{}}}", "trace", "gen");
    if (!root || cfg_experiment_from_json(&x, root, "CONFIG.json", err, sizeof err) != 0) {
        fprintf(stderr, "config keys: the default config does not read: %s\n", err);
        return -1;
    }
    json_t *resolved = cfg_experiment_resolved(&x);
    fputs("# Experiment config keys\n\n"
          "<!-- Generated from experiment/config_keys.c by `pmarena config-keys --markdown` (make docs);\n"
          "     tests/test_config_keys.c fails when this file and the table differ. Do not edit. -->\n\n"
          "An experiment config is one JSON object; `pmarena run`, `sweep` and `validate` read it\n"
          "through the table this file is generated from. A key not listed is an error that\n"
          "names its path; a key left out keeps its default. `--set PATH=VALUE` overrides any\n"
          "key by its dotted path (`--set device.latency.write_ns=500`). Sizes are a number of\n"
          "bytes or a string with a unit: KiB, MiB, GiB, TiB (or K, M, G, T) are powers of\n"
          "1024, KB, MB, GB, TB powers of 1000.\n", out);
    const char *block = NULL;
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const cfg_key *k = &cfg_keys[i];
        if (!block || strcmp(block, k->block) != 0) {
            block = k->block;
            fprintf(out, "\n## %s%s%s\n\n", *block ? "`" : "", *block ? block : "Top level", *block ? "`" : "");
            fputs("| Key | Type | Default | Allowed | Meaning |\n|---|---|---|---|---|\n", out);
        }
        char range[400], def[200];
        cfg_key_range_text(k, range, sizeof range);
        default_text(resolved, k, def, sizeof def);
        fprintf(out, "| `%s%s%s` | %s | %s | ", k->block, *k->block ? "." : "", k->name, cfg_key_type_text(k), def);
        cell(out, k->constraint ? k->constraint : k->type == CFG_T_BLOCK ? "the keys below" : range);
        fputs(" | ", out);
        cell(out, k->doc);
        fputs(" |\n", out);
    }
    json_decref(resolved);
    cfg_experiment_free(&x);
    return ferror(out) ? -1 : 0;
}
