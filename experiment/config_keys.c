/*
 * config_keys.c - the table of every experiment config key and the generic
 * reading it drives: unknown-key checks, integers, sizes, numbers, booleans,
 * strings and enums. Keys whose reading depends on order or shape (the
 * device preset, replay.sample_every, the trace block, the name) are
 * CFG_T_CUSTOM: their block's reader handles them, the table documents them.
 * Enum names come from the library's own name functions where it has them,
 * so a value added there is accepted (and documented) here.
 */
#include "config_keys.h"
#include "config_json.h"
#include "config_util.h"

#include <stdio.h>
#include <string.h>

static const char *kind_name(int i) { return nv_kind_name((nv_kind)i); }
static const char *model_name(int i) { return nv_write_model_name((nv_write_model)i); }
static const char *leveling_name(int i) { return nv_leveling_name((nv_leveling_kind)i); }
static const char *preset_name(int i) { return nv_preset_name((nv_preset)i); }
static const char *policy_name(int i) { return pma_policy_name((pma_policy)i); }
static const char *layout_name(int i) { return pma_layout_name((pma_bitmap_layout)i); }
static const char *metadata_name(int i) { return pma_metadata_name((pma_metadata)i); }
static const char *persistence_name(int i) { return pma_persistence_name((pma_persistence)i); }
static const char *pick(const char *const *names, int n, int i) { return i >= 0 && i < n ? names[i] : "?"; }
static const char *mode_name(int i) { return pick((const char *const[]){"deterministic", "concurrent"}, 2, i); }
static const char *on_alloc_name(int i) { return pick((const char *const[]){"full", "none"}, 2, i); }
static const char *data_name(int i) { return pick((const char *const[]){"random", "zero"}, 2, i); }

#define U32ANY .imin = 0, .imax = UINT32_MAX
#define SEED .imin = 0, .imax = UINT64_MAX >> 1
#define LATENCY(f, what) {"device.latency", #f, CFG_T_NUMBER, offsetof(nv_latency, f), .min = 0, .max = 1e9, \
                          .range = "a number of ns from 0 to 1e9", .doc = what " (overrides the preset)"}

const cfg_key cfg_keys[] = {
    {"", "name", CFG_T_CUSTOM, 0, .type_text = "string", .range = "a non-empty string usable as a folder name",
     .doc = "the experiment's name, and its results folder's (default: the config file's name without .json)"},
    {"", "comment", CFG_T_CUSTOM, 0, .type_text = "string", .range = "any string",
     .doc = "free text, copied into summary.json"},
    {"", "device", CFG_T_BLOCK, 0, .doc = "the simulated (or real) memory device"},
    {"", "allocator", CFG_T_BLOCK, 0, .doc = "the allocator under test"},
    {"", "replay", CFG_T_BLOCK, 0, .doc = "how the trace is replayed"},
    {"", "trace", CFG_T_BLOCK, 0, .doc = "the allocation trace (required): exactly one of its keys"},
    {"", "analysis", CFG_T_BLOCK, 0, .doc = "wear analysis settings"},
    {"", "sweep", CFG_T_CUSTOM, 0, .type_text = "object",
     .range = "config paths (\"allocator.granularity\") -> non-empty lists of values",
     .doc = "`pmarena sweep` runs every combination; each point must be a valid config"},

    {"device", "kind", CFG_T_ENUM, offsetof(nv_config, kind), .value_name = kind_name,
     .doc = "sim: simulated NVRAM that counts every write; dram: plain memory, no counting; file: a memory-mapped file (libpmem)"},
    {"device", "size", CFG_T_SIZE, offsetof(nv_config, size), .constraint = "at least one byte; sim: at most 2^30 cells (64 GiB at 64-byte cells)",
     .doc = "device size (an existing file's own size wins); a sim run scans every cell, 8 bytes of memory each"},
    {"device", "path", CFG_T_STRING, offsetof(nv_config, path),
     .doc = "the file of the file device: an existing file is mapped as it is (its size wins; a sparse "
            "file reserves nothing), a missing one is created with device.size reserved on disk, and refused "
            "when the disk or the file-size limit cannot hold it"},
    {"device", "cell_size", CFG_T_U32, offsetof(nv_config, cell_size), U32ANY,
     .constraint = "a power of two from 1 to 4096", .doc = "bytes per wear-counted cell"},
    {"device", "write_model", CFG_T_ENUM, offsetof(nv_config, write_model), .value_name = model_name,
     .doc = "line: every store wears the cells it touches; dcw: only cells whose bytes change wear"},
    {"device", "media_line", CFG_T_U32, offsetof(nv_config, media_line), U32ANY,
     .constraint = "0 (off), or a power of two >= cell_size",
     .doc = "a write that reaches the media wears this many bytes around it (read-modify-write)"},
    {"device", "preset", CFG_T_CUSTOM, offsetof(nv_config, preset), .value_name = preset_name, .type_text = "string",
     .doc = "latency preset, applied before the other keys whatever the order"},
    {"device", "latency", CFG_T_BLOCK, 0, .doc = "per-operation latencies in ns"},
    {"device", "crash_sim", CFG_T_BOOL, offsetof(nv_config, crash_sim),
     .doc = "keep the persisted image, for crash tests"},
    {"device", "endurance", CFG_T_BLOCK, 0,
     .doc = "sim: cells wear out: a cell written more times than its endurance fails (its bytes stay); "
            "absent: cells never fail"},
    {"device", "spare_lines", CFG_T_U64, offsetof(nv_config, spare_lines), .imin = 0, .imax = UINT64_MAX >> 1,
     .doc = "sim: spare lines; a line whose cell fails is remapped onto one, unseen, until they run out"},
    {"device", "leveling", CFG_T_CUSTOM, offsetof(nv_config, leveling), .type_text = "string or object",
     .range = "\"none\", \"start-gap\", or an object of the device.leveling keys",
     .doc = "sim: device-level wear leveling; counts, heatmaps and failures are then over physical cells "
            "(one line more than the size holds)"},
    {"device.endurance", "mean", CFG_T_NUMBER, offsetof(nv_endurance, mean), .min = 1, .max = 1e300,
     .range = "a number of writes >= 1", .doc = "mean writes a cell takes before it fails"},
    {"device.endurance", "stddev", CFG_T_NUMBER, offsetof(nv_endurance, stddev), .min = 0, .max = 1e300,
     .range = "a number >= 0", .doc = "standard deviation of the cells' endurance (normal; 0 and no cov: fixed)"},
    {"device.endurance", "cov", CFG_T_NUMBER, offsetof(nv_endurance, cov), .min = 0, .max = 1e6,
     .range = "a number >= 0", .doc = "or the coefficient of variation, stddev / mean (not with stddev)"},
    {"device.endurance", "seed", CFG_T_U64, offsetof(nv_endurance, seed), SEED,
     .doc = "seed of the per-cell draw (the same draw as analysis.endurance's)"},
    {"device.leveling", "kind", CFG_T_ENUM, offsetof(nv_leveling, kind), .value_name = leveling_name,
     .doc = "none, or start-gap (Qureshi et al., MICRO'09)"},
    {"device.leveling", "psi", CFG_T_U32, offsetof(nv_leveling, psi), .imin = 1, .imax = UINT32_MAX,
     .doc = "line writes between gap moves"},
    {"device.leveling", "region_lines", CFG_T_U64, offsetof(nv_leveling, region_lines), .imin = 0,
     .imax = UINT64_MAX >> 1,
     .doc = "lines per Start-Gap region, each with its own gap (0: the whole device one region)"},
    {"device.leveling", "randomize", CFG_T_BOOL, offsetof(nv_leveling, randomize),
     .doc = "a static seeded permutation (Feistel network) of the line addresses before Start-Gap"},
    {"device.leveling", "seed", CFG_T_U64, offsetof(nv_leveling, seed), SEED, .doc = "seed of the permutation"},
    LATENCY(read_ns, "a read"),
    LATENCY(write_ns, "a store"),
    LATENCY(flush_ns, "a cache-line flush"),
    LATENCY(fence_ns, "a fence"),

    {"allocator", "granularity", CFG_T_U32, offsetof(pma_config, granularity), U32ANY,
     .constraint = "a power of two from 1 to 4096", .doc = "bytes per bitmap bit (G)"},
    {"allocator", "alignment", CFG_T_U32, offsetof(pma_config, alignment), U32ANY,
     .constraint = "a power of two from 1 to 4096", .doc = "alignment of every allocation (A)"},
    {"allocator", "arena_size", CFG_T_SIZE, offsetof(pma_config, arena_size),
     .constraint = "a multiple of 4096 from 16 KiB to 1 GiB", .doc = "bytes per arena"},
    {"allocator", "policy", CFG_T_ENUM, offsetof(pma_config, policy), .value_name = policy_name,
     .doc = "where a new block goes"},
    {"allocator", "bitmap_layout", CFG_T_ENUM, offsetof(pma_config, bitmap_layout), .value_name = layout_name,
     .doc = "how bitmap words map to blocks"},
    {"allocator", "metadata", CFG_T_ENUM, offsetof(pma_config, metadata), .value_name = metadata_name,
     .doc = "where the allocator's metadata lives"},
    {"allocator", "wear_spread_percent", CFG_T_U32, offsetof(pma_config, wear_spread_percent), U32ANY,
     .constraint = "0 to 100",
     .doc = "wear-aware only: how much of the device it may fill with arenas before reusing worn blocks"},
    {"allocator", "wear_spread_full_at", CFG_T_U32, offsetof(pma_config, wear_spread_full_at), U32ANY,
     .constraint = "0 (never), or a wear ceiling",
     .doc = "wear-aware only: the wear ceiling at which that share has widened to the whole device"},
    {"allocator", "persistence", CFG_T_ENUM, offsetof(pma_config, persistence), .value_name = persistence_name,
     .doc = "how an allocation or free is made durable (ignored with metadata dram)"},
    {"allocator", "log_kib", CFG_T_U32, offsetof(pma_config, log_kib), U32ANY,
     .constraint = "0 (automatic), or a multiple of 8 from 8 to 8192",
     .doc = "log persistence only: size of the log region in KiB"},

    {"replay", "mode", CFG_T_ENUM, offsetof(tr_replay_config, mode), .value_name = mode_name,
     .doc = "deterministic: one thread, in trace order; concurrent: one thread per trace thread"},
    {"replay", "on_alloc", CFG_T_ENUM, offsetof(tr_replay_config, on_alloc), .value_name = on_alloc_name,
     .doc = "full: an allocation writes its whole block once; none: it writes nothing"},
    {"replay", "extra_writes", CFG_T_U32, offsetof(tr_replay_config, extra_writes), U32ANY,
     .doc = "extra full writes of each object before it is freed"},
    {"replay", "data", CFG_T_ENUM, offsetof(tr_replay_config, data), .value_name = data_name,
     .doc = "the bytes replayed writes carry: random (seeded) or zero"},
    {"replay", "sample_every", CFG_T_CUSTOM, offsetof(tr_replay_config, sample_every), .type_text = "string or integer",
     .range = "\"auto\" (about 200 samples), or a number of events (0: never)",
     .doc = "events between fragmentation samples"},
    {"replay", "seed", CFG_T_U64, offsetof(tr_replay_config, seed), SEED, .doc = "seed of the random data"},
    {"replay", "links", CFG_T_CUSTOM, offsetof(tr_replay_config, links), .type_text = "string or boolean",
     .range = "\"auto\", true or false",
     .doc = "keep the live objects reachable from the root through a persistent table of device offsets, "
            "its writes counted as links (auto: on exactly when allocator.persistence is gc and metadata is "
            "not dram)"},
    {"replay", "repeat", CFG_T_CUSTOM, offsetof(tr_replay_config, repeat), .type_text = "integer or string",
     .range = "a number of passes >= 1, or \"until-failure\" (needs device.endurance)",
     .doc = "loop the trace (fresh ids each pass; what is live at a pass's end is freed, except after the "
            "last); until-failure: until analysis.capacity_loss or an allocation fails for lack of good "
            "space, at most replay.max_passes passes"},
    {"replay", "max_passes", CFG_T_U64, offsetof(tr_replay_config, max_passes), .imin = 1, .imax = UINT64_MAX >> 1,
     .doc = "until-failure's safety cap on passes"},

    {"trace", "file", CFG_T_CUSTOM, 0, .type_text = "string",
     .range = "a trace file (.jsonl, .jsonl.gz, .pmt); relative to the config file's folder",
     .doc = "replay a recorded or generated trace"},
    {"trace", "events", CFG_T_CUSTOM, 0, .type_text = "array", .range = "trace events, as in a .jsonl file",
     .doc = "replay events given inline"},
    {"trace", "gen", CFG_T_CUSTOM, 0, .type_text = "object", .range = "a generator spec (traces/GENERATORS.md)",
     .doc = "generate the trace first"},

    {"analysis", "endurance", CFG_T_BLOCK, 0, .doc = "cell endurance, for the lifetime estimate"},
    {"analysis", "histogram_bins", CFG_T_U32, offsetof(cfg_experiment, hist_bins), .imin = 1, .imax = 100000,
     .doc = "bins of the wear histogram"},
    {"analysis", "recovery", CFG_T_BOOL, offsetof(cfg_experiment, recovery),
     .doc = "after the run, simulate a crash and measure the heap's recovery (summary.json's \"recovery\"; "
            "skipped with metadata dram)"},
    {"analysis", "capacity_loss", CFG_T_NUMBER, offsetof(cfg_experiment, replay) + offsetof(tr_replay_config, capacity_loss),
     .min = 0, .max = 1, .above_min = true, .range = "a fraction > 0 and <= 1",
     .doc = "end of life: the run ends once this share of the device's bytes is retired by the allocator "
            "(worn blocks)"},
    {"analysis.endurance", "mean", CFG_T_NUMBER, offsetof(an_endurance, mean), .min = 0, .max = 1e300,
     .above_min = true, .range = "a number of writes > 0", .doc = "mean writes a cell takes before it fails"},
    {"analysis.endurance", "stddev", CFG_T_NUMBER, offsetof(an_endurance, stddev), .min = 0, .max = 1e300,
     .range = "a number >= 0", .doc = "standard deviation of the cells' endurance (0: all equal)"},
    {"analysis.endurance", "seed", CFG_T_U64, offsetof(an_endurance, seed), SEED,
     .doc = "seed of the endurance draw"},
};
const size_t cfg_nkeys = sizeof cfg_keys / sizeof cfg_keys[0];

const cfg_key *cfg_key_find(const char *block, const char *name)
{
    for (size_t i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].block, block) == 0 && strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

const char *cfg_key_type_text(const cfg_key *k)
{
    switch (k->type) {
    case CFG_T_BLOCK: return "object";
    case CFG_T_STRING: return "string";
    case CFG_T_BOOL: return "boolean";
    case CFG_T_U32:
    case CFG_T_U64: return "integer";
    case CFG_T_SIZE: return "size";
    case CFG_T_NUMBER: return "number";
    case CFG_T_ENUM: return "string";
    case CFG_T_CUSTOM: return k->type_text;
    }
    return "?";
}

static void names_text(const cfg_key *k, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < 64 && strcmp(k->value_name(i), "?") != 0; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", i ? ", " : "", k->value_name(i));
    }
}

void cfg_key_range_text(const cfg_key *k, char *buf, size_t len)
{
    char names[300];
    if (k->range) {
        snprintf(buf, len, "%s", k->range);
    } else if (k->value_name) {
        names_text(k, names, sizeof names);
        snprintf(buf, len, "one of: %s", names);
    } else if ((k->type == CFG_T_U32 && k->imin == 0 && k->imax == UINT32_MAX)) {
        snprintf(buf, len, "a non-negative integer");
    } else if (k->type == CFG_T_U32 || k->type == CFG_T_U64) {
        snprintf(buf, len, "an integer from %llu to %llu", (unsigned long long)k->imin,
                 (unsigned long long)k->imax);
    } else if (k->type == CFG_T_SIZE) {
        snprintf(buf, len, "bytes, or a string like \"256MiB\", \"4KiB\", \"1.5GB\"");
    } else if (k->type == CFG_T_BOOL) {
        snprintf(buf, len, "true or false");
    } else if (k->type == CFG_T_STRING) {
        snprintf(buf, len, "a non-empty string");
    } else {
        snprintf(buf, len, "an object");
    }
}

/* "prefix.name", or "name" at the top level. */
static void key_path(char *buf, size_t len, const char *prefix, const char *name)
{
    snprintf(buf, len, "%s%s%s", prefix, *prefix ? "." : "", name);
}

int cfg_block_keys(const json_t *obj, const char *block, const char *prefix, char *err, size_t errlen)
{
    if (!json_is_object(obj))
        return cfg_fail(err, errlen, "%s: expected an object", *prefix ? prefix : "the config");
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)obj, name, v) {
        if (cfg_key_find(block, name))
            continue;
        char allowed[400] = "", path[300];
        for (size_t i = 0; i < cfg_nkeys; i++) {
            if (strcmp(cfg_keys[i].block, block) != 0)
                continue;
            size_t used = strlen(allowed);
            snprintf(allowed + used, sizeof allowed - used, "%s%s", *allowed ? ", " : "", cfg_keys[i].name);
        }
        key_path(path, sizeof path, prefix, name);
        return cfg_fail(err, errlen, "%s: unknown key (allowed: %s)", path, allowed);
    }
    return 0;
}

int cfg_key_enum(const cfg_key *k, const json_t *v, const char *prefix, int *out, char *err, size_t errlen)
{
    for (int i = 0; i < 64 && strcmp(k->value_name(i), "?") != 0; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), k->value_name(i)) == 0) {
            *out = i;
            return 0;
        }
    }
    char shown[96], range[300], path[300];
    cfg_value_text(v, shown, sizeof shown);
    cfg_key_range_text(k, range, sizeof range);
    key_path(path, sizeof path, prefix, k->name);
    return cfg_fail(err, errlen, "%s: %s is not allowed (%s)", path, shown, range);
}

/* One key of a table type into its field. */
static int read_key(const cfg_key *k, const json_t *v, const char *prefix, char *field, char *err, size_t errlen)
{
    char shown[96], range[300], path[300];
    cfg_value_text(v, shown, sizeof shown);
    cfg_key_range_text(k, range, sizeof range);
    key_path(path, sizeof path, prefix, k->name);
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
    double d = json_is_number(v) ? json_number_value(v) : -1;
    int e;
    switch (k->type) {
    case CFG_T_STRING:
        if (!json_is_string(v) || !*json_string_value(v))
            return cfg_fail(err, errlen, "%s: expected a non-empty string", path);
        *(const char **)field = json_string_value(v);
        return 0;
    case CFG_T_BOOL:
        if (!json_is_boolean(v))
            return cfg_fail(err, errlen, "%s: expected true or false", path);
        *(bool *)field = json_is_true(v);
        return 0;
    case CFG_T_U32:
    case CFG_T_U64:
        if (!json_is_integer(v) || i < 0 || (uint64_t)i < k->imin || (uint64_t)i > k->imax)
            return cfg_fail(err, errlen, "%s: %s is not allowed (%s)", path, shown, range);
        if (k->type == CFG_T_U32)
            *(uint32_t *)field = (uint32_t)i;
        else
            *(uint64_t *)field = (uint64_t)i;
        return 0;
    case CFG_T_SIZE:
        return cfg_size_parse(v, (uint64_t *)field, path, err, errlen);
    case CFG_T_NUMBER:
        if (!json_is_number(v) || d < k->min || (k->above_min && d == k->min) || d > k->max)
            return cfg_fail(err, errlen, "%s: %s is not allowed (%s)", path, shown, range);
        *(double *)field = d;
        return 0;
    case CFG_T_ENUM:
        if ((e = cfg_key_enum(k, v, prefix, (int *)(void *)field, err, errlen)))
            return e;
        return 0;
    case CFG_T_BLOCK:
    case CFG_T_CUSTOM:
        break;
    }
    return 0;
}

int cfg_block_read(const json_t *obj, const char *block, const char *prefix, void *target, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const cfg_key *k = &cfg_keys[i];
        json_t *v;
        if (strcmp(k->block, block) != 0 || !(v = json_object_get(obj, k->name)))
            continue;
        int rc = read_key(k, v, prefix, (char *)target + k->offset, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}
