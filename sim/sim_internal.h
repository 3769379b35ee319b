/*
 * sim_internal.h - state of the simulated NVRAM device, shared by the files
 * of sim/ (sim_device.c: stores, reads, counting, latency; sim_crash.c: the
 * persisted image, crash and injection; sim_counters.c: the counter queries).
 *
 * sim/ needs libc only, but for one file: file_pmem.c, the file device's
 * mapping through libpmem (behind file_map.h).
 */
#ifndef PMARENA_SIM_INTERNAL_H
#define PMARENA_SIM_INTERNAL_H

#include "pmarena/device.h"
#include "cell_counters.h"

#include <pthread.h>
#include <stdatomic.h>

/* Per-thread-slot tallies. A slot is written by one OS thread at a time
 * (relaxed load + store), except the last, shared by surplus threads
 * (atomic add). Time is kept in picoseconds so it can be added atomically. */
typedef struct nv_slot {
    _Atomic uint64_t time_ps;
    _Atomic uint64_t stores, reads, flushes, fences;
    _Atomic uint64_t bytes_stored, bytes_read;
    _Atomic uint64_t bits_flipped[NV_TAGS];
} __attribute__((aligned(64))) nv_slot;

enum { NV_LINE_CLEAN = 0, NV_LINE_DIRTY = 1, NV_LINE_FLUSHED = 2 };

/* One flush of one line by one thread, waiting for that thread's fence. It
 * still counts only while the line is flushed and line_gen[line] == gen (no
 * store since). */
typedef struct nv_flush_rec {
    uint64_t line;
    uint64_t tid;                /* crash_thread_id() of the flushing thread */
    uint32_t gen;
} nv_flush_rec;

typedef struct nv_crash_state {
    pthread_mutex_t lock;
    unsigned char *image;        /* last persisted contents */
    unsigned char *line_state;   /* NV_LINE_* per 64-byte line */
    uint32_t *line_gen;          /* per line: bumped when a store starts a dirty period */
    unsigned char *line_tag;     /* per line: the nv_tag of its last store */
    uint64_t *pending;           /* lines not clean, in no particular order */
    uint64_t npending, cap;
    nv_flush_rec *recs;          /* flushes not yet fenced, in flush order */
    uint64_t nrecs, rcap;
    uint64_t ops[3];             /* stores, flushes, fences since arm/reset */
    unsigned arm_mask;
    uint64_t arm_n;              /* 0: not armed */
    bool triggered;              /* past the injected crash point */
    unsigned point_op;           /* at the crash point: NV_OP_* of the operation */
    int point_tag;               /* ... and the tag of the line it touched (-1: fence) */
    /* At the crash point: the lines then in flight and their contents, the
     * only candidates to survive (what is stored later never persists). */
    uint64_t *frozen_line;
    unsigned char *frozen_data;
    uint64_t nfrozen;
} nv_crash_state;

#define NV_NOW_SUMS 4

/* Wear-out and leveling (sim_wearout.c): set up at open when the config asks
 * for endurance or leveling; then every store takes `lock` (sim_device.c). */
typedef struct nv_wearstate {
    pthread_mutex_t lock;        /* taken before the crash lock */
    /* endurance */
    bool endurance;
    uint64_t fixed;              /* fixed: every cell's endurance */
    uint32_t *endur;             /* normal: per cell, drawn at open */
    uint32_t *life;              /* per cell: writes of all sources, saturating */
    uint8_t *failed;             /* per cell: 1 once worn out */
    size_t cell_bytes;           /* mapping sizes of life/failed */
    nv_failure *fails;           /* distinct failures, in order */
    uint64_t nfails, fcap, failed_writes;
    _Atomic uint64_t stamp;      /* nv_event_stamp */
    nv_failure_fn fn;
    void *ctx;
    /* the cells that failed in the store in progress: (cell, line_off) */
    nv_failure *pend;
    uint64_t npend, pcap;
    int64_t delta;               /* logical - physical byte offset of the
                                    line being written (0 without leveling) */
    /* start-gap */
    bool level;
    uint64_t line, lines, cpl;   /* line bytes, N logical lines, cells per line */
    uint64_t rlines, nreg;       /* lines per region (R), regions (N / R) */
    uint64_t *start, *gap;       /* per region; region k's physical lines: [k(R+1), (k+1)(R+1)) */
    uint32_t *since;             /* per region: its line writes since its gap moved */
    uint8_t *frozen;             /* per region: a line of it failed, its gap moves no more */
    uint64_t nfrozen;
    uint64_t moves;
    /* line sparing: physical line -> the spare it was remapped to (open
     * addressing, key + 1; a spare that fails is remapped in turn) */
    uint64_t spares, spare_base, spared;
    uint64_t *remap_key, *remap_val, remap_cap;
    bool per_line;               /* the store path goes line by line (leveling or sparing) */
    uint32_t psi;
    bool randomize;
    unsigned half;               /* Feistel: bits per half */
    uint64_t key[4];
} nv_wearstate;

typedef struct nv_sim {
    nv_device dev;               /* must be first */
    nv_config cfg;
    unsigned cell_shift;
    uint64_t cells;
    uint64_t unit;               /* wear unit: media line if set, else cell */
    size_t map_bytes;
    uint64_t ps_read, ps_write, ps_flush, ps_fence;   /* latency in ps */
    nv_cell_counters count[NV_TAGS];
    nv_slot slot[NV_MAX_THREADS];
    /* nv_wear_now_get's running state (allocated on its first call): the
     * data, metadata and links sums of each chunk at the last call, and the
     * figures then; counts only grow, so a rescan of the dirty chunks
     * updates them. */
    uint64_t *now_sum;           /* NV_NOW_SUMS per chunk: data, metadata, links */
    nv_wear_now now;
    bool crash_sim;
    nv_crash_state crash;
    /* Fault injection (nv_fault_arm). The store path reads only fault_armed
     * until it is set: one predictable branch on an unarmed device. */
    _Atomic bool fault_armed;
    _Atomic uint64_t fault_n;      /* the first store to fail, 1-based */
    _Atomic uint64_t fault_seen;   /* stores attempted since arming */
    bool wearout;                  /* endurance or leveling on (ws is set) */
    nv_wearstate *ws;
} nv_sim;

static inline nv_sim *nv_sim_of(nv_device *d) { return (nv_sim *)d; }

/* Slot bookkeeping (device.c owns the thread index). */
extern _Thread_local int nv_tls_slot;
int nv_thread_slot_assign(void);

static inline nv_slot *nv_sim_slot(nv_sim *s, bool *shared)
{
    int i = nv_tls_slot;
    if (i < 0)
        i = nv_thread_slot_assign();
    *shared = (i == NV_MAX_THREADS - 1);
    return &s->slot[i];
}

static inline void nv_slot_add(_Atomic uint64_t *v, uint64_t x, bool shared)
{
    if (shared)
        atomic_fetch_add_explicit(v, x, memory_order_relaxed);
    else
        atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + x,
                              memory_order_relaxed);
}

static inline uint64_t nv_lines_spanned(uint64_t off, size_t len)
{
    return len ? ((off + len - 1) / NV_CACHE_LINE) - (off / NV_CACHE_LINE) + 1 : 0;
}

/* sim_crash.c */
int nv_sim_crash_init(nv_sim *s);
void nv_sim_crash_free(nv_sim *s);
void nv_sim_crash_store(nv_sim *s, uint64_t off, size_t len, nv_tag tag);  /* lock held */
void nv_sim_crash_flush(nv_sim *s, uint64_t off, size_t len);
void nv_sim_crash_fence(nv_sim *s);
int nv_sim_crash(nv_device *d, const nv_crash_opts *opts);
void nv_sim_crash_reset_ops(nv_sim *s);

/* sim_wearout.c */
int nv_sim_wearout_init(nv_sim *s);       /* s->cells already includes the gap line */
void nv_sim_wearout_free(nv_sim *s);
uint64_t nv_sim_level_cells(const nv_config *cfg, uint64_t cells);
uint64_t nv_sim_map(nv_wearstate *w, uint64_t line);
uint64_t nv_sim_spare_of(const nv_wearstate *w, uint64_t p);   /* p, or the spare its writes go to */
void nv_sim_count(nv_sim *s, nv_tag tag, uint64_t first, uint64_t last);   /* wear lock held */
void nv_sim_line_written(nv_sim *s, uint64_t p);   /* physical line p written: maybe move its
                                                      region's gap; lock held */
void nv_sim_fire_failures(nv_sim *s, nv_failure *f, uint64_t n);   /* no lock held */

/* sim_device.c */
int nv_sim_open(nv_device **dev, const nv_config *cfg);

/* dram_device.c, file_device.c */
int nv_dram_open(nv_device **dev, const nv_config *cfg);
int nv_file_open(nv_device **dev, const nv_config *cfg);
/* The calling thread's reason for its last failed nv_open, in words
 * (device.c; nv_open_error returns it). */
extern _Thread_local char nv_open_detail[512];

#endif
