/*
 * config_experiment.c - an experiment config (DESIGN.md's schema) -> plain
 * structs: the allocator, replay, trace and analysis blocks (the device block
 * is config_device.c's), --set overrides, and the resolved config written
 * into summaries.
 *
 * Top-level keys: name, comment, device, allocator, replay, trace (required),
 * analysis, sweep. Unknown keys anywhere are errors that name their path.
 * A trace file's relative path is taken from the config file's folder, so a
 * config means the same trace from any working directory (and installed).
 * Keys, types and allowed values are config_keys.c's table.
 */
#include "config_json.h"
#include "config_keys.h"
#include "config_links.h"
#include "config_util.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cfg_allocator_from_json(pma_config *cfg, const json_t *obj, const char *key, char *err, size_t errlen)
{
    int rc;
    if ((rc = cfg_block_keys(obj, "allocator", key, err, errlen)) ||
        (rc = cfg_block_read(obj, "allocator", key, cfg, err, errlen)))
        return rc;
    char msg[300];
    if (pma_config_check(cfg, msg, sizeof msg) != 0)
        return cfg_fail(err, errlen, "%s.%s", key, msg);
    return 0;
}

static int read_replay(cfg_experiment *x, const json_t *obj, char *err, size_t errlen)
{
    int rc;
    if ((rc = cfg_block_keys(obj, "replay", "replay", err, errlen)) ||
        (rc = cfg_block_read(obj, "replay", "replay", &x->replay, err, errlen)))
        return rc;
    json_t *v = json_object_get(obj, "sample_every");
    if (v) {
        if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0) {
            x->sample_auto = true;
        } else {
            if ((rc = cfg_u64(v, &x->replay.sample_every, UINT64_MAX >> 1, "replay.sample_every", err, errlen)))
                return cfg_fail(err, errlen, "replay.sample_every: expected \"auto\" or a number of events (0: never)");
            x->sample_auto = false;
        }
    }
    if ((v = json_object_get(obj, "repeat"))) {
        if (json_is_string(v) && strcmp(json_string_value(v), "until-failure") == 0)
            x->replay.repeat = 0;
        else if (cfg_u64(v, &x->replay.repeat, UINT64_MAX >> 1, "replay.repeat", err, errlen) != 0 ||
                 x->replay.repeat == 0)
            return cfg_fail(err, errlen, "replay.repeat: expected \"until-failure\" or a number of passes >= 1");
    }
    return cfg_replay_links(json_object_get(obj, "links"), &x->replay, err, errlen);
}

/* "until-failure" needs cells that fail: else it would only stop at
 * replay.max_passes. */
static int check_repeat(const cfg_experiment *x, char *err, size_t errlen)
{
    if (x->replay.repeat != 0)
        return 0;
    if (x->device.kind != NV_KIND_SIM || x->device.endurance.kind == NV_ENDURANCE_NONE)
        return cfg_fail(err, errlen, "replay.repeat: \"until-failure\" needs device.kind \"sim\" with "
                        "device.endurance set (cells that fail)");
    return 0;
}

static bool readable(const char *p) { return access(p, R_OK) == 0; }

static int read_trace(cfg_experiment *x, const json_t *obj, char *err, size_t errlen)
{
    if (!obj)
        return cfg_fail(err, errlen, "trace: missing (give {\"file\": PATH}, {\"events\": [...]} or {\"gen\": {...}})");
    if (!json_is_object(obj) || json_object_size(obj) != 1)
        return cfg_fail(err, errlen, "trace: expected exactly one of {\"file\": PATH}, {\"events\": [...]}, {\"gen\": {...}}");
    int rc = cfg_block_keys(obj, "trace", "trace", err, errlen);
    if (rc)
        return rc;
    json_t *v;
    if ((v = json_object_get(obj, "file"))) {
        if (!json_is_string(v) || !*json_string_value(v))
            return cfg_fail(err, errlen, "trace.file: expected a path");
        const char *f = json_string_value(v);
        x->trace_kind = CFG_TRACE_FILE;
        if (f[0] == '/') {
            snprintf(x->trace_file, sizeof x->trace_file, "%s", f);
        } else {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s", x->config_path);
            snprintf(x->trace_file, sizeof x->trace_file, "%s/%s", dirname(dir), f);
        }
        if (!readable(x->trace_file))
            return cfg_fail(err, errlen, "trace.file: \"%s\" cannot be read (as %s: a relative path is taken "
                            "from the config file's folder)", f, x->trace_file);
    } else if ((v = json_object_get(obj, "events"))) {
        if (!json_is_array(v))
            return cfg_fail(err, errlen, "trace.events: expected an array of events");
        x->trace_kind = CFG_TRACE_EVENTS;
        x->trace_events = v;
    } else {
        v = json_object_get(obj, "gen");
        if (!json_is_object(v))
            return cfg_fail(err, errlen, "trace.gen: expected a generator spec object");
        x->trace_kind = CFG_TRACE_GEN;
        x->trace_gen = v;
    }
    return 0;
}

static int read_analysis(cfg_experiment *x, const json_t *obj, char *err, size_t errlen)
{
    int rc;
    if ((rc = cfg_block_keys(obj, "analysis", "analysis", err, errlen)) ||
        (rc = cfg_block_read(obj, "analysis", "analysis", x, err, errlen)))
        return rc;
    json_t *e = json_object_get(obj, "endurance");
    if (e && ((rc = cfg_block_keys(e, "analysis.endurance", "analysis.endurance", err, errlen)) ||
              (rc = cfg_block_read(e, "analysis.endurance", "analysis.endurance", &x->endurance, err, errlen))))
        return rc;
    return 0;
}

int cfg_experiment_from_json(cfg_experiment *x, json_t *root, const char *path, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    x->root = root;
    snprintf(x->config_path, sizeof x->config_path, "%s", path);
    nv_config_defaults(&x->device);
    pma_config_defaults(&x->allocator);
    tr_replay_config_defaults(&x->replay);
    x->sample_auto = true;
    x->endurance = (an_endurance){.mean = 1e8, .stddev = 0, .seed = 1};
    x->hist_bins = 64;
    x->recovery = true;
    if (!json_is_object(root))
        return cfg_fail(err, errlen, "%s: expected a JSON object at the top level", path);
    int rc = cfg_block_keys(root, "", "", err, errlen);
    if (rc)
        return rc;
    json_t *v = json_object_get(root, "name");
    if (v) {
        const char *n = json_string_value(v);
        if (!n || !*n || strchr(n, '/') || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            return cfg_fail(err, errlen, "name: expected a non-empty string usable as a folder name");
        snprintf(x->name, sizeof x->name, "%s", n);
    } else {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", path);
        char *b = basename(tmp), *dot = strrchr(b, '.');
        if (dot && dot != b)
            *dot = '\0';
        snprintf(x->name, sizeof x->name, "%s", b);
    }
    if ((v = json_object_get(root, "comment")) && !json_is_string(v))
        return cfg_fail(err, errlen, "comment: expected a string");
    if ((v = json_object_get(root, "device")) && (rc = cfg_device_from_json(&x->device, v, "device", err, errlen)))
        return rc;
    if ((v = json_object_get(root, "allocator")) &&
        (rc = cfg_allocator_from_json(&x->allocator, v, "allocator", err, errlen)))
        return rc;
    if ((v = json_object_get(root, "replay")) && (rc = read_replay(x, v, err, errlen)))
        return rc;
    if ((v = json_object_get(root, "analysis")) && (rc = read_analysis(x, v, err, errlen)))
        return rc;
    if ((rc = cfg_endurance_reconcile(x, v && json_object_get(v, "endurance"), err, errlen)))
        return rc;
    if ((rc = check_repeat(x, err, errlen)))
        return rc;
    if ((v = json_object_get(root, "sweep")) && !json_is_object(v))
        return cfg_fail(err, errlen, "sweep: expected an object mapping config paths to lists of values");
    return read_trace(x, json_object_get(root, "trace"), err, errlen);
}

json_t *cfg_json_path(json_t *root, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save, *p = strtok_r(buf, ".", &save); p && v; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    return v;
}

int cfg_set_value(json_t *root, const char *path_in, json_t *val, char *err, size_t errlen)
{
    char path[512];
    snprintf(path, sizeof path, "%s", path_in);
    json_t *o = root;
    char *save = NULL, *part = strtok_r(path, ".", &save);
    while (part) {
        char *next = strtok_r(NULL, ".", &save);
        if (!json_is_object(o)) {
            json_decref(val);
            return cfg_fail(err, errlen, "%s: the path crosses a value that is not an object", path_in);
        }
        /* Jansson refuses keys and strings that are not UTF-8, freeing
         * what it was given (found by fuzz_config: the new child was used
         * after that). */
        if (!next) {
            if (!val || json_object_set_new(o, part, val) != 0)
                return cfg_fail(err, errlen, "%s: not valid UTF-8", path_in);
            return 0;
        }
        json_t *child = json_object_get(o, part);
        if (!child) {
            child = json_object();
            if (json_object_set_new(o, part, child) != 0) {
                json_decref(val);
                return cfg_fail(err, errlen, "%s: not valid UTF-8", path_in);
            }
        }
        o = child;
        part = next;
    }
    json_decref(val);
    return cfg_fail(err, errlen, "%s: empty path", path_in);
}

int cfg_apply_set(json_t *root, const char *assignment, char *err, size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return cfg_fail(err, errlen, "--set %s: expected PATH=VALUE, e.g. allocator.granularity=8", assignment);
    char path[512];
    snprintf(path, sizeof path, "%.*s", (int)(eq - assignment), assignment);
    json_t *val = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    if (!val)
        val = json_string(eq + 1);
    int rc = cfg_set_value(root, path, val, err, errlen);
    if (rc) {
        char inner[600];
        snprintf(inner, sizeof inner, "%s", err);
        return cfg_fail(err, errlen, "--set %s", inner);
    }
    return 0;
}

int cfg_experiment_load(cfg_experiment *x, const char *path, char *const *sets, int nsets, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cfg_fail(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    for (int i = 0; i < nsets; i++) {
        int rc = cfg_apply_set(root, sets[i], err, errlen);
        if (rc) {
            json_decref(root);
            return rc;
        }
    }
    /* A refused config leaves nothing for the caller to free (found by
     * fuzz_config: the root leaked on every refusal). */
    int rc = cfg_experiment_from_json(x, root, path, err, errlen);
    if (rc)
        cfg_experiment_free(x);
    return rc;
}

json_t *cfg_experiment_resolved(const cfg_experiment *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(x->name));
    json_t *c = json_object_get(x->root, "comment");
    if (c)
        json_object_set(o, "comment", c);
    json_object_set_new(o, "device", cfg_device_to_json(&x->device));
    json_object_set_new(o, "allocator", json_pack("{s:i, s:i, s:I, s:s, s:s, s:s, s:i, s:i, s:s, s:i}",
        "granularity", (int)x->allocator.granularity, "alignment", (int)x->allocator.alignment,
        "arena_size", (json_int_t)x->allocator.arena_size, "policy", pma_policy_name(x->allocator.policy),
        "bitmap_layout", pma_layout_name(x->allocator.bitmap_layout),
        "metadata", pma_metadata_name(x->allocator.metadata),
        "wear_spread_percent", (int)x->allocator.wear_spread_percent,
        "wear_spread_full_at", (int)x->allocator.wear_spread_full_at,
        "persistence", pma_persistence_name(x->allocator.persistence), "log_kib", (int)x->allocator.log_kib));
    json_t *se = x->sample_auto ? json_string("auto") : json_integer((json_int_t)x->replay.sample_every);
    json_t *rep = x->replay.repeat ? json_integer((json_int_t)x->replay.repeat) : json_string("until-failure");
    json_object_set_new(o, "replay", json_pack("{s:s, s:s, s:i, s:s, s:o, s:I, s:o, s:o, s:I}",
        "mode", x->replay.mode == TR_CONCURRENT ? "concurrent" : "deterministic",
        "on_alloc", x->replay.on_alloc == TR_ON_ALLOC_NONE ? "none" : "full",
        "extra_writes", (int)x->replay.extra_writes, "data", x->replay.data == TR_DATA_ZERO ? "zero" : "random",
        "sample_every", se, "seed", (json_int_t)x->replay.seed, "links", cfg_replay_links_json(&x->replay),
        "repeat", rep, "max_passes", (json_int_t)x->replay.max_passes));
    json_t *t = json_deep_copy(json_object_get(x->root, "trace"));
    json_object_set_new(o, "trace", t);
    if (x->trace_kind == CFG_TRACE_FILE)
        json_object_set_new(json_object_get(o, "trace"), "file", json_string(x->trace_file));
    json_object_set_new(o, "analysis", json_pack("{s:{s:f, s:f, s:I}, s:i, s:b}", "endurance",
        "mean", x->endurance.mean, "stddev", x->endurance.stddev, "seed", (json_int_t)x->endurance.seed,
        "histogram_bins", (int)x->hist_bins, "recovery", x->recovery));
    json_object_set_new(json_object_get(o, "analysis"), "capacity_loss", json_real(x->replay.capacity_loss));
    return o;
}

void cfg_experiment_free(cfg_experiment *x)
{
    json_decref(x->root);
    x->root = NULL;
}
