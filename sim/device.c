/*
 * device.c - what every backend shares: configuration defaults, latency
 * presets, validation, names, error strings, opening by kind, and the
 * process-wide thread index behind the per-thread time slots.
 *
 * Latency presets (ns; read/write per 64-byte line, flush per line, fence per
 * fence). Sources are in README.md ("Latency presets"): optane from Izraelevitz
 * et al. 2019, pcm from Lee et al. ISCA 2009, sttram and reram from the ranges
 * in Mittal and Vetter's NVM survey (TPDS 2016). flush and fence figures are
 * estimates; every figure can be overridden.
 */
#include "sim_internal.h"

#include <stdio.h>
#include <string.h>

static const nv_latency preset_latency[NV_PRESETS] = {
    [NV_PRESET_OPTANE] = {.read_ns = 305, .write_ns = 94, .flush_ns = 40, .fence_ns = 30},
    [NV_PRESET_PCM] = {.read_ns = 50, .write_ns = 150, .flush_ns = 40, .fence_ns = 30},
    [NV_PRESET_STTRAM] = {.read_ns = 15, .write_ns = 30, .flush_ns = 20, .fence_ns = 15},
    [NV_PRESET_RERAM] = {.read_ns = 20, .write_ns = 100, .flush_ns = 30, .fence_ns = 20},
};
static const char *const preset_names[NV_PRESETS] = {"optane", "pcm", "sttram", "reram"};
static const char *const tag_names[NV_TAGS] = {"data", "bitmap", "header", "list", "root", "log", "badmap", "links", "leveling"};
static const char *const kind_names[] = {"sim", "dram", "file"};
static const char *const model_names[] = {"line", "dcw"};

const char *nv_strerror(int err)
{
    switch (err) {
    case NV_OK: return "success";
    case NV_EINVAL: return "invalid argument";
    case NV_ENOMEM: return "out of host memory";
    case NV_ERANGE: return "offset or length outside the device";
    case NV_EIO: return "device I/O failed";
    case NV_ENOTSUP: return "not supported by this device";
    case NV_EWORN: return "a cell of the store is worn out (its bytes did not change)";
    default: return "unknown device error";
    }
}

const char *nv_tag_name(nv_tag t)
{
    return (unsigned)t < NV_TAGS ? tag_names[t] : "?";
}

int nv_tag_from_name(const char *name)
{
    for (int i = 0; i < NV_TAGS; i++)
        if (strcmp(name, tag_names[i]) == 0)
            return i;
    return NV_EINVAL;
}

const char *nv_preset_name(nv_preset p) { return (unsigned)p < NV_PRESETS ? preset_names[p] : "?"; }
const char *nv_kind_name(nv_kind k) { return (unsigned)k <= NV_KIND_FILE ? kind_names[k] : "?"; }
const char *nv_write_model_name(nv_write_model m) { return (unsigned)m <= NV_MODEL_DCW ? model_names[m] : "?"; }

int nv_preset_from_name(const char *name)
{
    for (int i = 0; i < NV_PRESETS; i++)
        if (strcmp(name, preset_names[i]) == 0)
            return i;
    return NV_EINVAL;
}

nv_latency nv_preset_latency(nv_preset p)
{
    return preset_latency[(unsigned)p < NV_PRESETS ? p : NV_PRESET_OPTANE];
}

void nv_config_defaults(nv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = NV_KIND_SIM;
    cfg->size = (uint64_t)256 << 20;
    cfg->cell_size = 64;
    cfg->write_model = NV_MODEL_LINE;
    cfg->media_line = 0;
    cfg->preset = NV_PRESET_OPTANE;
    cfg->latency = preset_latency[NV_PRESET_OPTANE];
    cfg->crash_sim = false;
    cfg->endurance = (nv_endurance){.kind = NV_ENDURANCE_NONE, .mean = 1e8, .seed = 1};
    cfg->leveling = (nv_leveling){.kind = NV_LEVELING_NONE, .psi = 100, .seed = 1};
}

int nv_config_set_preset(nv_config *cfg, nv_preset p)
{
    if ((unsigned)p >= NV_PRESETS)
        return NV_EINVAL;
    cfg->preset = p;
    cfg->latency = preset_latency[p];
    return 0;
}

static const char *const leveling_names[] = {"none", "start-gap"};

const char *nv_leveling_name(nv_leveling_kind k)
{
    return (unsigned)k <= NV_LEVELING_START_GAP ? leveling_names[k] : "?";
}

int nv_leveling_from_name(const char *name)
{
    for (int i = 0; i <= NV_LEVELING_START_GAP; i++)
        if (strcmp(name, leveling_names[i]) == 0)
            return i;
    return NV_EINVAL;
}

double nv_endurance_sd(const nv_endurance *e)
{
    return e->cov > 0 ? e->cov * e->mean : e->stddev;
}

static bool is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

static int nv_config_check_wearout(const nv_config *cfg, char *msg, size_t msglen);

#define FAIL(...) do { if (msg && msglen) snprintf(msg, msglen, __VA_ARGS__); return NV_EINVAL; } while (0)

int nv_config_check(const nv_config *cfg, char *msg, size_t msglen)
{
    if ((unsigned)cfg->kind > NV_KIND_FILE)
        FAIL("kind: %d is not a device kind (sim, dram, file)", (int)cfg->kind);
    if (cfg->kind == NV_KIND_FILE && (!cfg->path || !*cfg->path))
        FAIL("path: the file device needs a path");
    if (cfg->size == 0 && cfg->kind != NV_KIND_FILE)
        FAIL("size: 0 is not allowed (at least one byte)");
    if (cfg->size > ((uint64_t)1 << 40))
        FAIL("size: %llu is too large (at most 1 TiB)", (unsigned long long)cfg->size);
    if (!is_pow2(cfg->cell_size) || cfg->cell_size > NV_CELL_MAX)
        FAIL("cell_size: %u is not allowed (a power of two from 1 to 4096)", cfg->cell_size);
    if ((unsigned)cfg->write_model > NV_MODEL_DCW)
        FAIL("write_model: %d is not a write model (line, dcw)", (int)cfg->write_model);
    if (cfg->media_line && (!is_pow2(cfg->media_line) || cfg->media_line < cfg->cell_size))
        FAIL("media_line: %u is not allowed (0, or a power of two >= cell_size %u)",
             cfg->media_line, cfg->cell_size);
    if ((unsigned)cfg->preset >= NV_PRESETS)
        FAIL("preset: %d is not a preset (optane, pcm, sttram, reram)", (int)cfg->preset);
    const double *lat = &cfg->latency.read_ns;
    static const char *const lat_names[] = {"read_ns", "write_ns", "flush_ns", "fence_ns"};
    for (int i = 0; i < 4; i++)
        if (!(lat[i] >= 0.0 && lat[i] <= 1e9))
            FAIL("latency.%s: %g is not allowed (0 to 1e9 ns)", lat_names[i], lat[i]);
    if (cfg->crash_sim && cfg->kind != NV_KIND_SIM)
        FAIL("crash_sim: only the sim device simulates crashes");
    return nv_config_check_wearout(cfg, msg, msglen);
}

/* The endurance and leveling fields (sim only). */
static int nv_config_check_wearout(const nv_config *cfg, char *msg, size_t msglen)
{
    const nv_endurance *e = &cfg->endurance;
    if ((unsigned)e->kind > NV_ENDURANCE_NORMAL)
        FAIL("endurance: %d is not an endurance kind (none, fixed, normal)", (int)e->kind);
    if (e->kind != NV_ENDURANCE_NONE) {
        if (cfg->kind != NV_KIND_SIM)
            FAIL("endurance: only the sim device wears out");
        if (!(e->mean >= 1 && e->mean <= 1e300))
            FAIL("endurance.mean: %g is not allowed (a number of writes >= 1)", e->mean);
        if (!(e->stddev >= 0 && e->stddev <= 1e300) || !(e->cov >= 0 && e->cov <= 1e6))
            FAIL("endurance.stddev/cov: not allowed (numbers >= 0)");
        if (e->stddev > 0 && e->cov > 0)
            FAIL("endurance: give stddev or cov, not both");
        if (e->kind == NV_ENDURANCE_NORMAL && nv_endurance_sd(e) == 0)
            FAIL("endurance: a normal endurance needs stddev or cov > 0");
    }
    if (cfg->spare_lines && cfg->kind != NV_KIND_SIM)
        FAIL("spare_lines: only the sim device spares lines");
    if (cfg->spare_lines > cfg->size / nv_level_line(cfg))
        FAIL("spare_lines: %llu is more than the device's %llu lines", (unsigned long long)cfg->spare_lines,
             (unsigned long long)(cfg->size / nv_level_line(cfg)));
    const nv_leveling *l = &cfg->leveling;
    if ((unsigned)l->kind > NV_LEVELING_START_GAP)
        FAIL("leveling: %d is not a leveling kind (none, start-gap)", (int)l->kind);
    if (l->kind == NV_LEVELING_START_GAP) {
        uint64_t line = nv_level_line(cfg);
        if (cfg->kind != NV_KIND_SIM)
            FAIL("leveling: only the sim device levels");
        if (l->psi == 0)
            FAIL("leveling.psi: 0 is not allowed (line writes between gap moves, >= 1)");
        if (cfg->size % line || cfg->size / line < 2)
            FAIL("leveling: start-gap needs a size that is a multiple of its %llu-byte line, "
                 "at least two lines (size %llu)", (unsigned long long)line, (unsigned long long)cfg->size);
        uint64_t lines = cfg->size / line;
        if (l->region_lines && (l->region_lines < 2 || l->region_lines > lines || lines % l->region_lines))
            FAIL("leveling.region_lines: %llu is not allowed (0, or from 2 to the device's %llu lines, "
                 "dividing them)", (unsigned long long)l->region_lines, (unsigned long long)lines);
    }
    return 0;
}

_Thread_local char nv_open_detail[512];

const char *nv_open_error(void)
{
    return nv_open_detail;
}

int nv_open(nv_device **dev, const nv_config *cfg)
{
    *dev = NULL;
    nv_open_detail[0] = '\0';
    if (nv_config_check(cfg, nv_open_detail, sizeof nv_open_detail) != 0)
        return NV_EINVAL;
    switch (cfg->kind) {
    case NV_KIND_SIM: return nv_sim_open(dev, cfg);
    case NV_KIND_DRAM: return nv_dram_open(dev, cfg);
    case NV_KIND_FILE: return nv_file_open(dev, cfg);
    }
    return NV_EINVAL;
}

/* ---- thread slots -------------------------------------------------------- */

_Thread_local int nv_tls_slot = -1;
static _Atomic int next_slot;

int nv_thread_slot_assign(void)
{
    int i = atomic_fetch_add(&next_slot, 1);
    nv_tls_slot = i < NV_MAX_THREADS - 1 ? i : NV_MAX_THREADS - 1;
    return nv_tls_slot;
}

int nv_thread_slot(void)
{
    return nv_tls_slot >= 0 ? nv_tls_slot : nv_thread_slot_assign();
}

void nv_thread_slot_bind(int slot)
{
    if (slot >= 0 && slot < NV_MAX_THREADS)
        nv_tls_slot = slot;
}
