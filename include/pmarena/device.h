/*
 * device.h - the NVRAM device interface: what the allocator may touch.
 *
 * A device is a mapped byte region plus a small table of operations (write,
 * set, read, flush, fence, crash, close), called through the inline wrappers
 * below, in the manner of PMDK's pmem_ops. The allocator knows only this
 * interface, so the same allocator runs on three backends:
 *
 *   sim   simulated NVRAM: counts every write per cell (data, metadata per
 *         kind, and links), charges latency, can simulate crashes;
 *   dram  plain memory, no counting: the speed baseline;
 *   file  a memory-mapped file through libpmem: the real persistent backend.
 *
 * Callers get pointers into the region (nv_base) for reading, but every store
 * they want to persist or to be counted must go through nv_write / nv_set.
 * A write counts when it is stored, not when it is flushed.
 *
 * Thread safety: every operation may be called from any number of threads at
 * once; the sim backend loses no counts. Crash simulation and injection are
 * for tests and serialize their bookkeeping with a lock.
 *
 * Errors: functions return 0 or a negative NV_E* code; nv_strerror names it.
 */
#ifndef PMARENA_DEVICE_H
#define PMARENA_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    NV_OK = 0,
    NV_EINVAL = -1,    /* a bad argument or configuration value */
    NV_ENOMEM = -2,    /* host memory exhausted */
    NV_ERANGE = -3,    /* offset/length outside the device */
    NV_EIO = -4,       /* the file backend failed (errno has detail), or a sim
                          store failed by injection (nv_fault_arm) */
    NV_ENOTSUP = -5,   /* the backend does not do this (e.g. counters on dram) */
    NV_EWORN = -6,     /* sim with endurance: a cell of the store is worn out;
                          its bytes stayed as they were, the rest landed */
};

const char *nv_strerror(int err);

/* What a store is: application data, allocator metadata of a given kind, or
 * links: the application's own persistent bookkeeping that keeps its objects
 * reachable from the root (a table of device offsets, as a program on a gc
 * allocator must keep). The source is implied by the tag: data, metadata
 * (NV_META_*), or links, a third source counted apart from both, so that
 * what a gc allocator moves from its metadata to the program shows. */
typedef enum nv_tag {
    NV_DATA = 0,
    NV_META_BITMAP,
    NV_META_HEADER,
    NV_META_LIST,
    NV_META_ROOT,
    NV_META_LOG,
    NV_META_BADMAP,    /* the allocator's persistent bad-block map (retired lines) */
    NV_LINKS,          /* the application's reachability links (not metadata) */
    NV_LEVELING,       /* the device's own wear leveling (Start-Gap's gap
                          moves): never issued by callers, counted apart */
    NV_TAGS            /* number of tags */
} nv_tag;

#define NV_META_KINDS (NV_TAGS - 3)
static inline bool nv_tag_is_meta(nv_tag t) { return t != NV_DATA && t != NV_LINKS && t != NV_LEVELING; }
const char *nv_tag_name(nv_tag t);        /* "data", "bitmap", "header", ..., "links", "leveling" */
int nv_tag_from_name(const char *name);   /* tag, or NV_EINVAL */

typedef enum nv_kind { NV_KIND_SIM = 0, NV_KIND_DRAM, NV_KIND_FILE } nv_kind;
typedef enum nv_write_model { NV_MODEL_LINE = 0, NV_MODEL_DCW } nv_write_model;
typedef enum nv_preset {
    NV_PRESET_OPTANE = 0, NV_PRESET_PCM, NV_PRESET_STTRAM, NV_PRESET_RERAM,
    NV_PRESETS
} nv_preset;

/* Latency model, in ns. read and write are charged per 64-byte line an access
 * touches, flush per line flushed, fence per fence. */
typedef struct nv_latency {
    double read_ns, write_ns, flush_ns, fence_ns;
} nv_latency;

#define NV_CACHE_LINE 64u      /* flush granularity, whatever the cell size */
#define NV_CELL_MAX 4096u
#define NV_MAX_THREADS 64      /* per-thread time slots; later threads share the last */

/* Cell endurance (sim): the writes a cell takes before it fails. none: cells
 * never fail. fixed: every cell takes `mean`. normal: each cell's endurance
 * is max(1, mean + gsl_ran_gaussian(r, sd)) with sd = stddev, or cov * mean
 * when cov > 0 (at most one of the two), drawn in cell order from an mt19937
 * seeded with seed: the same draw as an_lifetime's (analysis.h), so the
 * projection and the device face the same cells. */
typedef enum nv_endurance_kind {
    NV_ENDURANCE_NONE = 0, NV_ENDURANCE_FIXED, NV_ENDURANCE_NORMAL
} nv_endurance_kind;
typedef struct nv_endurance {
    nv_endurance_kind kind;
    double mean, stddev, cov;
    uint64_t seed;
} nv_endurance;
/* The standard deviation e describes (stddev, or cov * mean). */
double nv_endurance_sd(const nv_endurance *e);

/* Device-level wear leveling (sim). start-gap: Qureshi et al., MICRO'09. The
 * device's N lines (of nv_level_line bytes) live on N+1 physical lines; every
 * psi line writes the gap moves one line (a write of source NV_LEVELING).
 * randomize puts a static seeded permutation (a Feistel network) of the line
 * addresses before Start-Gap. region_lines splits the (permuted) lines into
 * regions of that many, each with its own start, gap and spare line, its gap
 * moving every psi writes to the region (the paper's region-based Start-Gap):
 * a line moves once per region_lines * psi writes to its region instead of
 * once per N * psi writes to the device. */
typedef enum nv_leveling_kind { NV_LEVELING_NONE = 0, NV_LEVELING_START_GAP } nv_leveling_kind;
typedef struct nv_leveling {
    nv_leveling_kind kind;
    uint32_t psi;              /* line writes between gap moves [100] */
    uint64_t region_lines;     /* lines per region; 0: one region, the device [0] */
    bool randomize;
    uint64_t seed;             /* of the permutation [1] */
} nv_leveling;
const char *nv_leveling_name(nv_leveling_kind k);   /* "none", "start-gap" */
int nv_leveling_from_name(const char *name);        /* kind, or NV_EINVAL */

typedef struct nv_config {
    nv_kind kind;
    uint64_t size;             /* bytes */
    const char *path;          /* file backend only; borrowed, not copied */
    uint32_t cell_size;        /* sim: power of two, 1..4096 */
    nv_write_model write_model;
    uint32_t media_line;       /* sim: 0 (off) or a power of two >= cell_size */
    nv_preset preset;
    nv_latency latency;        /* filled from the preset by nv_config_set_preset */
    bool crash_sim;            /* sim: keep the persisted image for crash tests */
    nv_endurance endurance;    /* sim: cells that wear out [none] */
    nv_leveling leveling;      /* sim: device-level leveling [none] */
    /* sim: spare lines (of nv_level_line bytes) past the device's own: a
     * line whose cell fails is remapped onto the next spare, silently, as a
     * device's line sparing does; failures reach nv_on_failure only once
     * the spares are used up [0] */
    uint64_t spare_lines;
} nv_config;

/* The leveling line of cfg: max(64, media_line, cell_size) bytes. */
uint64_t nv_level_line(const nv_config *cfg);

/* Defaults: sim, 256 MiB, 64-byte cells, line model, no media line, optane. */
void nv_config_defaults(nv_config *cfg);
/* Sets preset and overwrites cfg->latency with its figures. */
int nv_config_set_preset(nv_config *cfg, nv_preset p);
const char *nv_preset_name(nv_preset p);
int nv_preset_from_name(const char *name);       /* preset, or NV_EINVAL */
nv_latency nv_preset_latency(nv_preset p);
const char *nv_kind_name(nv_kind k);
const char *nv_write_model_name(nv_write_model m);
/* 0 when cfg is usable; else NV_EINVAL and a message naming the field. */
int nv_config_check(const nv_config *cfg, char *msg, size_t msglen);

/* Crash options: each line that was written but not persisted survives the
 * crash with probability survive_p, drawn from a generator seeded by seed. */
typedef struct nv_crash_opts {
    double survive_p;
    uint64_t seed;
} nv_crash_opts;

typedef struct nv_device nv_device;

typedef struct nv_ops {
    int (*write)(nv_device *d, uint64_t off, const void *src, size_t len, nv_tag tag);
    int (*set)(nv_device *d, uint64_t off, int byte, size_t len, nv_tag tag);
    int (*read)(nv_device *d, uint64_t off, void *dst, size_t len);
    void (*flush)(nv_device *d, uint64_t off, size_t len);
    void (*fence)(nv_device *d);
    int (*crash)(nv_device *d, const nv_crash_opts *opts);
    void (*close)(nv_device *d);
} nv_ops;

/* Every backend's state begins with this, so the wrappers stay inline.
 * `direct` backends (dram, file) store with a plain memcpy and count nothing:
 * the wrappers do that inline, saving an indirect call on the allocator's
 * hot path. A NULL flush or fence is a no-op. */
struct nv_device {
    const nv_ops *ops;
    unsigned char *base;
    uint64_t size;
    nv_kind kind;
    bool direct;
};

static inline bool nv_range_ok(const nv_device *d, uint64_t off, size_t len)
{
    return off <= d->size && len <= d->size - off;
}

/* Opens a device of cfg->kind. The file backend opens cfg->path if it exists
 * (its size then comes from the file) and creates it with cfg->size if not. */
int nv_open(nv_device **dev, const nv_config *cfg);
/* Why the calling thread's last nv_open failed, in words that name the file
 * and the system's reason (e.g. the disk is full); "" when nv_strerror's
 * code says all there is. */
const char *nv_open_error(void);
static inline void nv_close(nv_device *d) { if (d) d->ops->close(d); }

static inline void *nv_base(const nv_device *d) { return d->base; }
static inline uint64_t nv_size(const nv_device *d) { return d->size; }
static inline nv_kind nv_device_kind(const nv_device *d) { return d->kind; }

static inline uint64_t nv_offset_of(const nv_device *d, const void *p)
{
    return (uint64_t)((const unsigned char *)p - d->base);
}

static inline int nv_write(nv_device *d, uint64_t off, const void *src, size_t len, nv_tag tag)
{
    if (d->direct) {
        if (!nv_range_ok(d, off, len))
            return NV_ERANGE;
        __builtin_memcpy(d->base + off, src, len);
        return 0;
    }
    return d->ops->write(d, off, src, len, tag);
}

static inline int nv_set(nv_device *d, uint64_t off, int byte, size_t len, nv_tag tag)
{
    if (d->direct) {
        if (!nv_range_ok(d, off, len))
            return NV_ERANGE;
        __builtin_memset(d->base + off, byte, len);
        return 0;
    }
    return d->ops->set(d, off, byte, len, tag);
}

static inline int nv_read(nv_device *d, uint64_t off, void *dst, size_t len)
{
    return d->ops->read(d, off, dst, len);
}

static inline void nv_flush(nv_device *d, uint64_t off, size_t len)
{
    if (d->ops->flush)
        d->ops->flush(d, off, len);
}

/* Orders the calling thread's flushes, as x86's sfence: on sim with crash_sim
 * a fence persists only the lines this thread flushed (sim/sim_crash.c). */
static inline void nv_fence(nv_device *d)
{
    if (d->ops->fence)
        d->ops->fence(d);
}

static inline void nv_persist(nv_device *d, uint64_t off, size_t len)
{
    nv_flush(d, off, len);
    nv_fence(d);
}

/* Simulates a power failure: on sim with crash_sim, every line not persisted
 * reverts to its last persisted contents (some may survive, see opts; NULL
 * means none survive). NV_ENOTSUP on other backends or without crash_sim. */
static inline int nv_crash(nv_device *d, const nv_crash_opts *opts)
{
    return d->ops->crash(d, opts);
}

/* ---- sim only: counters, simulated time, crash and fault injection ------ */

typedef struct nv_kind_counts {
    uint64_t writes;         /* per-cell increments of this kind */
    uint64_t hottest_cell;   /* index of the cell this kind wore most */
    uint64_t hottest_count;  /* ... and its count of this kind (0: untouched) */
} nv_kind_counts;

typedef struct nv_counters {
    uint64_t cells, cell_size;
    uint64_t total_writes;            /* sum of all per-cell increments */
    uint64_t data_writes, meta_writes;
    uint64_t links_writes;            /* NV_LINKS: neither data nor metadata */
    uint64_t leveling_writes;         /* NV_LEVELING: the device's gap moves */
    nv_kind_counts kind[NV_TAGS];     /* indexed by nv_tag; [NV_DATA] is data,
                                         [NV_LINKS] links */
    uint64_t bits_flipped[NV_TAGS];   /* dcw model only: bits changed by stores */
    uint64_t stores, reads, flushes, fences;   /* operations */
    uint64_t bytes_stored, bytes_read;
    uint64_t cells_touched;           /* cells with at least one write */
    double time_ns;                   /* simulated time, all threads */
} nv_counters;

/* Fills *out (a full scan of the counters: call between phases, not per op). */
int nv_counters_get(nv_device *d, nv_counters *out);
/* Writes of one cell with the given tag, or (tag < 0) of all tags. */
uint64_t nv_cell_count(nv_device *d, uint64_t cell, int tag);
/* Per-cell counts of cells [first, first+n) into out: data, metadata (all
 * kinds), every source summed, links or leveling (which: 0 data, 1 metadata,
 * 2 total, 3 links, 4 leveling). With leveling on, cells are physical: the
 * device has one line of cells more than its size holds (Start-Gap's gap),
 * and a logical cell's writes land on whichever physical cell it maps to. */
int nv_cells_export(nv_device *d, int which, uint64_t first, uint64_t n, uint64_t *out);
/* The same for the writes of one tag only (a heatmap's per-kind regions). */
int nv_cells_export_tag(nv_device *d, nv_tag tag, uint64_t first, uint64_t n, uint64_t *out);
/* Zeroes every counter and the simulated time (contents are kept). */
int nv_counters_reset(nv_device *d);

/* The wear so far, cheap enough to take often during a run (a wear-over-time
 * series): cell writes in all, of data, of metadata (all kinds) and of links,
 * and the highest count of any one cell: all sources summed (hottest), data
 * only, metadata only, links only. At the end of a run they equal the max of nv_cells_export's
 * vectors. Cost: a rescan of the 4096-cell chunks written since the last call
 * (the store path sets one byte per chunk), not of the device. Exact when
 * writers are quiescent (e.g. between replayed events). */
typedef struct nv_wear_now {
    uint64_t total_writes, data_writes, meta_writes;
    uint64_t hottest, hottest_data, hottest_meta;
    uint64_t links_writes, hottest_links;
    uint64_t leveling_writes, hottest_leveling;
} nv_wear_now;
int nv_wear_now_get(nv_device *d, nv_wear_now *out);

/* ---- sim only: wear-out (nv_config.endurance) and leveling ------------- *
 *
 * A store that would take a cell past its endurance does not change that
 * cell's bytes (stuck at its old contents; the rest of the store lands), the
 * cell is marked failed, the failure is recorded with the event stamp the
 * caller last set (nv_event_stamp; 0 until then) and the calling thread
 * slot's simulated ns, the registered callback gets the device offset of the
 * failed line (logical: what the caller addressed) and the cell index
 * (physical), and the store returns NV_EWORN. A store to a failed cell fails
 * again the same way (counted in failed_writes, the callback fires again).
 * A gap move can fail a cell too (its failure has no caller to answer). */
typedef void (*nv_failure_fn)(void *ctx, uint64_t line_off, uint64_t cell);
int nv_on_failure(nv_device *d, nv_failure_fn fn, void *ctx);
void nv_event_stamp(nv_device *d, uint64_t event);

typedef struct nv_failure {
    uint64_t cell;           /* physical cell index */
    uint64_t line_off;       /* logical device offset of its line */
    uint64_t event;          /* the stamp when it failed */
    double sim_ns;           /* the failing thread slot's simulated time */
} nv_failure;
typedef struct nv_wearout {
    uint64_t failed_cells;   /* distinct cells failed */
    uint64_t failed_writes;  /* stores (and gap moves) that hit a failed cell */
    bool any;                /* a cell has failed: first is set */
    nv_failure first;
    uint64_t gap_moves;      /* start-gap: gap moves so far */
    uint64_t start, gap;     /* start-gap: the registers now (of the first region) */
    uint64_t lines;          /* start-gap: N logical lines (N + regions physical) */
    uint64_t regions;        /* start-gap: regions (1 without region_lines) */
    uint64_t spares, spared; /* spare lines, and of them in use (lines remapped) */
    uint64_t frozen_regions; /* start-gap: regions whose gap stopped (a line failed) */
} nv_wearout;
int nv_wearout_get(nv_device *d, nv_wearout *out);
/* The distinct cell failures in the order they happened: copies up to max of
 * them from the i-th on into out, and the number copied into *n. */
int nv_failures_get(nv_device *d, uint64_t from, nv_failure *out, uint64_t max, uint64_t *n);
/* The physical line of logical line `line` now (identity without leveling),
 * and the endurance of a cell (UINT64_MAX: none). For tests and reports. */
uint64_t nv_level_map(nv_device *d, uint64_t line);
uint64_t nv_cell_endurance(nv_device *d, uint64_t cell);

/* Simulated time charged by one thread slot. Each OS thread gets its own slot
 * on first use; a replay engine that interleaves logical threads on one OS
 * thread binds the slot explicitly (one OS thread per slot at a time). */
double nv_time_thread_ns(nv_device *d, int slot);
int nv_thread_slot(void);
void nv_thread_slot_bind(int slot);

/* Crash injection (sim with crash_sim). Arms the device to crash after the
 * n-th operation of the kinds in mask counted from now (n >= 1): that
 * operation completes, and from then on nothing more persists until
 * nv_crash. nv_crash_ops_count tells how many such operations ran since the
 * last arm or reset, so a test can first count, then place a crash at each. */
enum { NV_OP_STORE = 1, NV_OP_FLUSH = 2, NV_OP_FENCE = 4, NV_OP_ALL = 7 };
int nv_crash_arm(nv_device *d, unsigned mask, uint64_t n);
int nv_crash_disarm(nv_device *d);
bool nv_crash_triggered(nv_device *d);
uint64_t nv_crash_ops_count(nv_device *d, unsigned mask);
/* What the armed crash landed after, while it is pending (triggered, not yet
 * nv_crash): *op the NV_OP_* kind, *tag the nv_tag of the line a store wrote
 * or a flush named (its last store), -1 for a fence. *op is 0 when no crash
 * has triggered. Crash tests tally their points by this class. */
int nv_crash_point(nv_device *d, unsigned *op, int *tag);

/* Fault injection (sim, with or without crash_sim), for error-path tests.
 * Arms the device so that the n-th store counted from now (n >= 1), and
 * every later store until nv_fault_disarm, fails with NV_EIO. Stores are
 * nv_write and nv_set calls that pass the argument checks and have len > 0
 * (a bad call still gets NV_EINVAL or NV_ERANGE and is not counted); mask
 * must be NV_OP_STORE, as flush and fence cannot fail. A failing store
 * changes no byte and counts nowhere: no wear, no nv_counters entry, no
 * simulated time, no dirty line, no nv_crash_ops_count. To fail each store of
 * a workload in turn, run it once and read nv_counters.stores, then arm at
 * 1..stores. Arming again restarts the count; disarming an unarmed device is
 * a no-op. Arm between phases: with stores racing the arm, which of them is
 * the first counted is unspecified. NV_ENOTSUP on other backends. */
int nv_fault_arm(nv_device *d, unsigned mask, uint64_t n);
int nv_fault_disarm(nv_device *d);

#ifdef __cplusplus
}
#endif
#endif
