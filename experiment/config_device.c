/*
 * config_device.c - the "device" object of an experiment config -> nv_config,
 * and back (for the resolved config written into summaries).
 *
 * The keys, their types and names are config_keys.c's table. The preset is
 * applied first, whatever the key order, so latency overrides always win over
 * it. Cross-field checks (media_line >= cell_size, ...) are nv_config_check's,
 * so the rules live in one place.
 */
#include "config_json.h"
#include "config_keys.h"
#include "config_util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

int cfg_size_parse(const json_t *v, uint64_t *out, const char *key, char *err, size_t errlen)
{
    char shown[96];
    cfg_value_text(v, shown, sizeof shown);
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return cfg_fail(err, errlen, "%s: %s is not allowed (a size in bytes, >= 0)", key, shown);
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return cfg_fail(err, errlen, "%s: %s is not a size (an integer, or a string like \"256MiB\")",
                        key, shown);
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    double num = strtod(s, &end);
    if (end == s || errno || !(num >= 0) || isinf(num))
        return cfg_fail(err, errlen, "%s: %s is not a size (like \"256MiB\", \"4KiB\", \"64\")", key, shown);
    while (isspace((unsigned char)*end))
        end++;
    static const struct { const char *unit; double mult; } units[] = {
        {"", 1}, {"B", 1},
        {"K", 1024.0}, {"KiB", 1024.0}, {"KB", 1e3},
        {"M", 1048576.0}, {"MiB", 1048576.0}, {"MB", 1e6},
        {"G", 1073741824.0}, {"GiB", 1073741824.0}, {"GB", 1e9},
        {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        double bytes = num * units[i].mult;
        if (bytes != floor(bytes) || bytes > 18446744073709549568.0)
            return cfg_fail(err, errlen, "%s: %s is not a whole number of bytes", key, shown);
        *out = (uint64_t)bytes;
        return 0;
    }
    return cfg_fail(err, errlen, "%s: %s has an unknown unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)",
                    key, shown);
}

/* device.endurance (an object: fixed without stddev/cov, else normal) and
 * device.leveling (a kind's name, or an object of device.leveling keys). */
static int cfg_device_wearout(nv_config *cfg, const json_t *obj, const char *key, char *err, size_t errlen)
{
    int e, x;
    char path[160];
    json_t *v = json_object_get(obj, "endurance");
    if (v) {
        snprintf(path, sizeof path, "%s.endurance", key);
        if (!json_is_object(v))
            return cfg_fail(err, errlen, "%s: expected an object {\"mean\", \"stddev\" or \"cov\", \"seed\"}", path);
        nv_endurance *en = &cfg->endurance;
        if ((e = cfg_block_keys(v, "device.endurance", path, err, errlen)) ||
            (e = cfg_block_read(v, "device.endurance", path, en, err, errlen)))
            return e;
        if (en->stddev > 0 && en->cov > 0)
            return cfg_fail(err, errlen, "%s: give stddev or cov, not both", path);
        en->kind = nv_endurance_sd(en) > 0 ? NV_ENDURANCE_NORMAL : NV_ENDURANCE_FIXED;
    }
    v = json_object_get(obj, "leveling");
    if (v) {
        snprintf(path, sizeof path, "%s.leveling", key);
        if (json_is_string(v)) {
            if ((e = cfg_key_enum(cfg_key_find("device.leveling", "kind"), v, path, &x, err, errlen)))
                return e;
            cfg->leveling.kind = (nv_leveling_kind)x;
        } else if (json_is_object(v)) {
            if ((e = cfg_block_keys(v, "device.leveling", path, err, errlen)) ||
                (e = cfg_block_read(v, "device.leveling", path, &cfg->leveling, err, errlen)))
                return e;
        } else {
            return cfg_fail(err, errlen, "%s: expected \"none\", \"start-gap\" or an object", path);
        }
    }
    return 0;
}

/* A new file device reserves its whole size on disk when it is created
 * (posix_fallocate, so a full disk is found then and not as a SIGBUS
 * mid-run): validate and run refuse one the file system, or the process's
 * file-size limit, cannot hold, instead of run failing after the trace was
 * read. An existing file is mapped as it is (a sparse one reserves nothing),
 * and a file system that reports nothing is left to the run. */
static int cfg_device_file_fits(const nv_config *cfg, const char *key, char *err, size_t errlen)
{
    if (cfg->kind != NV_KIND_FILE || !cfg->path || access(cfg->path, F_OK) == 0)
        return 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", cfg->path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir] = '\0';        /* "/x" -> "/" */
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        return cfg_fail(err, errlen, "%s.path: %s: cannot create the device file there: %s", key, cfg->path,
                        strerror(errno));
    uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize;
    const char *hint = "a sparse file made beforehand (truncate -s SIZE FILE) is mapped as it is, "
                       "without reserving the space";
    if (v.f_blocks && cfg->size > avail)
        return cfg_fail(err, errlen, "%s.size: a new file device %s of %llu bytes does not fit in the %llu bytes "
                        "free there (it is reserved when the file is made; %s)", key, cfg->path,
                        (unsigned long long)cfg->size, (unsigned long long)avail, hint);
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && cfg->size > rl.rlim_cur)
        return cfg_fail(err, errlen, "%s.size: a new file device %s of %llu bytes is larger than the file size "
                        "limit (ulimit -f: %llu bytes; %s)", key, cfg->path, (unsigned long long)cfg->size,
                        (unsigned long long)rl.rlim_cur, hint);
    return 0;
}

int cfg_device_from_json(nv_config *cfg, const json_t *obj, const char *key, char *err, size_t errlen)
{
    int e, x;
    if ((e = cfg_block_keys(obj, "device", key, err, errlen)))
        return e;
    json_t *v = json_object_get(obj, "preset");
    if (v) {
        if ((e = cfg_key_enum(cfg_key_find("device", "preset"), v, key, &x, err, errlen)))
            return e;
        nv_config_set_preset(cfg, (nv_preset)x);
    }
    if ((e = cfg_block_read(obj, "device", key, cfg, err, errlen)))
        return e;
    if ((v = json_object_get(obj, "latency"))) {
        char path[160];
        snprintf(path, sizeof path, "%s.latency", key);
        if ((e = cfg_block_keys(v, "device.latency", path, err, errlen)) ||
            (e = cfg_block_read(v, "device.latency", path, &cfg->latency, err, errlen)))
            return e;
    }
    if ((e = cfg_device_wearout(cfg, obj, key, err, errlen)))
        return e;
    char msg[200];
    if (nv_config_check(cfg, msg, sizeof msg) != 0)
        return cfg_fail(err, errlen, "%s.%s", key, msg);
    /* A run scans every cell's counters, more than once, into a dense array
     * of 8 bytes a cell (wear statistics, histogram, heat map), however few
     * were written: about 100 ns and 8 bytes a cell. Past the limit a run
     * would take hours or fail for memory (1 TiB at 64-byte cells: 2^34
     * cells, a 128 GiB array), so validate and run refuse it up front. */
    uint64_t cells = cfg->cell_size ? cfg->size / cfg->cell_size + (cfg->size % cfg->cell_size != 0) : 0;
    if (cfg->kind == NV_KIND_SIM && cells > CFG_SIM_MAX_CELLS)
        return cfg_fail(err, errlen, "%s.size: %llu bytes is %llu cells of %u bytes; a sim device holds at most "
                        "%llu cells (%llu GiB at %u-byte cells): a run scans every cell's counters",
                        key, (unsigned long long)cfg->size, (unsigned long long)cells, cfg->cell_size,
                        (unsigned long long)CFG_SIM_MAX_CELLS,
                        (unsigned long long)(CFG_SIM_MAX_CELLS * cfg->cell_size >> 30), cfg->cell_size);
    return cfg_device_file_fits(cfg, key, err, errlen);
}

json_t *cfg_device_endurance_json(const nv_endurance *e)
{
    if (e->kind == NV_ENDURANCE_NONE)
        return json_null();
    json_t *o = json_pack("{s:s, s:f, s:I}", "kind", e->kind == NV_ENDURANCE_FIXED ? "fixed" : "normal",
                          "mean", e->mean, "seed", (json_int_t)e->seed);
    if (e->cov > 0)
        json_object_set_new(o, "cov", json_real(e->cov));
    else
        json_object_set_new(o, "stddev", json_real(e->stddev));
    return o;
}

json_t *cfg_device_leveling_json(const nv_leveling *l)
{
    json_t *o = json_pack("{s:s, s:i, s:b, s:I}", "kind", nv_leveling_name(l->kind), "psi", (int)l->psi,
                          "randomize", l->randomize, "seed", (json_int_t)l->seed);
    if (o && l->region_lines)     /* only when set: older configs keep their resolved form */
        json_object_set_new(o, "region_lines", json_integer((json_int_t)l->region_lines));
    return o;
}

json_t *cfg_device_to_json(const nv_config *cfg)
{
    json_t *lat = json_pack("{s:f, s:f, s:f, s:f}",
                            "read_ns", cfg->latency.read_ns, "write_ns", cfg->latency.write_ns,
                            "flush_ns", cfg->latency.flush_ns, "fence_ns", cfg->latency.fence_ns);
    json_t *o = json_pack("{s:s, s:I, s:i, s:s, s:i, s:s, s:o, s:b}",
                          "kind", nv_kind_name(cfg->kind),
                          "size", (json_int_t)cfg->size,
                          "cell_size", (int)cfg->cell_size,
                          "write_model", nv_write_model_name(cfg->write_model),
                          "media_line", (int)cfg->media_line,
                          "preset", nv_preset_name(cfg->preset),
                          "latency", lat,
                          "crash_sim", cfg->crash_sim);
    if (o && cfg->path)
        json_object_set_new(o, "path", json_string(cfg->path));
    /* Only when set, so a config without them keeps its resolved form (and
     * its provenance hash) of before they existed. */
    if (o && cfg->endurance.kind != NV_ENDURANCE_NONE) {
        json_t *e = cfg_device_endurance_json(&cfg->endurance);
        json_object_del(e, "kind");   /* implied by stddev/cov: re-readable */
        json_object_set_new(o, "endurance", e);
    }
    if (o && cfg->leveling.kind != NV_LEVELING_NONE)
        json_object_set_new(o, "leveling", cfg_device_leveling_json(&cfg->leveling));
    if (o && cfg->spare_lines)
        json_object_set_new(o, "spare_lines", json_integer((json_int_t)cfg->spare_lines));
    return o;
}

int cfg_endurance_reconcile(cfg_experiment *x, bool analysis_given, char *err, size_t errlen)
{
    const nv_endurance *d = &x->device.endurance;
    if (d->kind == NV_ENDURANCE_NONE)
        return 0;
    an_endurance want = {.mean = d->mean, .stddev = nv_endurance_sd(d), .seed = d->seed};
    if (!analysis_given) {
        x->endurance = want;
        return 0;
    }
    const an_endurance *a = &x->endurance;
    bool same = a->mean == want.mean && a->stddev == want.stddev && (want.stddev == 0 || a->seed == want.seed);
    if (!same)
        return cfg_fail(err, errlen, "analysis.endurance (mean %g, stddev %g, seed %llu) and device.endurance "
                        "(mean %g, stddev %g, seed %llu) differ: give one of them, or the same in both",
                        a->mean, a->stddev, (unsigned long long)a->seed, want.mean, want.stddev,
                        (unsigned long long)want.seed);
    return 0;
}
