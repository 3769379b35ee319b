/* worker.h - the peer benchmark's worker side (`pmarena bench-worker`), shared
 * by bench/peers.c (the allocator APIs), bench/workloads.c (throughput loops),
 * bench/wear_place.c (wear of placement) and bench/worker.c (the command).
 *
 * `pmarena bench` (bench/runner.c) runs every measurement in a fresh worker
 * process, because jemalloc and mimalloc replace malloc for a whole process
 * (LD_PRELOAD), and so that each row's peak RSS is its own. The worker picks
 * the allocator API from its arguments; every allocator is reached through
 * the same three calls (bp_alloc, bp_free, bp_write), so every peer runs the
 * very same loop. */
#ifndef PMARENA_BENCH_WORKER_H
#define PMARENA_BENCH_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pmarena/bench.h"
#include "pmarena/pma.h"
#include "pmarena/trace.h"

typedef enum bp_kind {
    BP_MALLOC = 0,     /* glibc, or whatever LD_PRELOAD put in malloc's place */
    BP_PMA,            /* pmarena on a dram, file or sim device */
    BP_PMEMOBJ,        /* PMDK libpmemobj, loaded with dlopen */
} bp_kind;

typedef struct bp_peer {
    bp_kind kind;
    char name[32];         /* glibc, jemalloc, mimalloc, pmemobj, pmarena-dram, ... */
    nv_device *dev;        /* BP_PMA */
    pma_heap *heap;
    void *pop;             /* BP_PMEMOBJ: the pool */
    char path[256];        /* pool file (file device, pmemobj), removed at close */
} bp_peer;

/* Opens the peer `name` (glibc, jemalloc, mimalloc, pmemobj, pmarena-dram,
 * pmarena-file, pmarena-sim). `bytes`: heap/pool size; policy and
 * persistence (a pma_persistence, or -1 for the library default) for
 * pmarena; cell_size and leveling (the device's; NULL: none) for pmarena-sim. jemalloc and mimalloc must already be
 * preloaded: 0 when they are, else -1 and a message in msg. pmemobj is
 * dlopened from $PMARENA_BENCH_PMEMOBJ (a path `pmarena bench` found) or,
 * without it, as libpmemobj.so.1 through the loader's own search. */
int bp_open(bp_peer *p, const char *name, uint64_t bytes, pma_policy policy, int persistence,
            uint32_t cell_size, const nv_leveling *leveling, char *msg, size_t msglen);
/* A leveling choice by its wear.csv name (wear_level.c: none, start-gap,
 * start-gap+rand) into *out. 0, or -1 when the name is not one. */
int bp_leveling_from_name(const char *name, nv_leveling *out);
void bp_close(bp_peer *p);

void *bp_alloc(bp_peer *p, size_t size);
void bp_free(bp_peer *p, void *ptr);
/* An application write of len bytes at ptr (pmarena: through nv_set, tagged
 * data, so the sim device counts it). */
void bp_write(bp_peer *p, void *ptr, int byte, size_t len);

/* bp_alloc that ends the worker when the peer is out of memory: a
 * measurement with a failed allocation in it means nothing. */
static inline void *bp_must_alloc(bp_peer *p, size_t size)
{
    void *q = bp_alloc(p, size);
    if (!q) {
        fprintf(stderr, "bench-worker: %s: allocation of %zu bytes failed\n", p->name, size);
        exit(1);
    }
    return q;
}

/* ---- traces, loaded into memory before anything is measured ---------------- */

typedef struct bp_ev {
    uint8_t op;            /* TR_ALLOC, TR_FREE, TR_REALLOC, TR_WRITE */
    uint32_t obj;          /* dense object index (realloc: the new object) */
    uint32_t old;          /* realloc: the old object */
    uint64_t size;         /* alloc/realloc: size; write: length */
    uint64_t offset;       /* write */
} bp_ev;

typedef struct bp_trace {
    bp_ev *ev;
    size_t n;
    uint32_t objects;      /* dense indices 0 .. objects-1 */
    uint64_t *size;        /* size of each object */
} bp_trace;

/* Reads the whole trace (through the binary cache in cache_dir when not
 * NULL). Reads are dropped (they store nothing). 0, or -1 with msg. */
int bp_trace_load(bp_trace *t, const char *path, const char *cache_dir, char *msg, size_t msglen);
void bp_trace_free(bp_trace *t);

/* One trace event through p with the on_alloc full write model, shared by
 * the throughput replay and the wear replay so both place and write alike:
 * an object is written whole when allocated; a realloc is alloc, the kept
 * bytes written at the new place, then the new tail, then free of the old.
 * ptr maps object indices to addresses; write(ctx, at, len) is each
 * application write (len may be 0). Inline, so a constant `write` costs no
 * call in the timed loop. */
static inline void bp_replay_event(bp_peer *p, const bp_trace *t, const bp_ev *e, void **ptr,
                                   void (*write)(void *ctx, void *at, uint64_t len), void *ctx)
{
    switch (e->op) {
    case TR_ALLOC:
        ptr[e->obj] = bp_must_alloc(p, e->size);
        write(ctx, ptr[e->obj], e->size);
        break;
    case TR_FREE:
        bp_free(p, ptr[e->obj]);
        ptr[e->obj] = NULL;
        break;
    case TR_REALLOC: {
        uint64_t os = t->size[e->old], keep = os < e->size ? os : e->size;
        ptr[e->obj] = bp_must_alloc(p, e->size);
        write(ctx, ptr[e->obj], keep);
        write(ctx, (char *)ptr[e->obj] + keep, e->size - keep);
        bp_free(p, ptr[e->old]);
        ptr[e->old] = NULL;
        break;
    }
    case TR_WRITE:
        write(ctx, (char *)ptr[e->obj] + e->offset, e->size);
        break;
    }
}

/* ---- throughput ----------------------------------------------------------- */

enum { BP_MAX_THREADS = 1024 };

typedef struct bp_result {
    uint64_t ops;          /* alloc/free pairs (replay: trace events) */
    double secs;
    double sim_ns;         /* pmarena-sim: simulated time, all threads */
    /* pmarena (has_stats): pma_heap_stats counters over the timed loop */
    int has_stats;
    uint64_t cache_hits, cache_misses, flushes, fences, meta_bytes, checkpoints, log_wraps;
} bp_result;

/* Workloads: pairs64 pairs256 pairs1024 pairs4096 batch larson prodcons replay. */
int bp_workload_known(const char *name);
/* Runs `workload` on `threads` threads (1 .. BP_MAX_THREADS) for about
 * `seconds`. trace: for replay only. 0, or -1 with msg; a thread that cannot
 * be started ends the process (exit 1). */
int bp_run(bp_peer *p, const char *workload, int threads, double seconds, const bp_trace *trace,
           bp_result *out, char *msg, size_t msglen);

/* ---- wear of placement ------------------------------------------------------ */

/* The statistics are over the cells touched (written at least once), hence
 * the _touched names; max is the same over every cell. */
typedef struct bp_wear {
    uint64_t cells_touched, max, cell_writes, expected_cell_writes, app_bytes;
    double p99_touched, mean_touched, hotspot_touched, gini_touched;
    double cov_touched, lifetime_fraction_touched;   /* stddev/mean; mean/max */
} bp_wear;

/* Where the sim device's writes came from beyond the data: the allocator's
 * metadata (all kinds) and the application's links (NV_LINKS), each as cell
 * writes and the count of the cell it wore most, over `events` trace events
 * (all ops the replay ran). */
typedef struct bp_sources {
    uint64_t events, meta_writes, hottest_meta, links_writes, hottest_links;
    uint64_t leveling_writes;      /* the device's gap moves (NV_LEVELING) */
} bp_sources;

/* Replays the trace once, single-threaded, through p with the on_alloc full
 * model, and fills data (cells the application's writes touched) and, for
 * pmarena-sim, all (data plus the allocator's metadata: every cell the device
 * counted) and src. For the other peers *has_all is 0. */
int bp_wear_run(bp_peer *p, const bp_trace *t, uint32_t cell_size, bp_wear *data, bp_wear *all,
                int *has_all, bp_sources *src, char *msg, size_t msglen);
/* The statistics of one of the sim device's per-cell vectors (which:
 * nv_cells_export's: 0 data, 1 metadata, 2 every source, 3 links) over the
 * cells it touched. 0, or -1. */
int bp_device_wear(nv_device *dev, int which, bp_wear *w);
/* src from the sim device's counters (events: the caller's). 0, or -1. */
int bp_device_sources(nv_device *dev, uint64_t events, bp_sources *src);

/* wear_proto.c: the per-protocol rows. p is pmarena-sim-PROTOCOL; the trace
 * file is replayed by the experiment's engine (replay.h, its default
 * config: links on under gc), and data, all (every source: data, metadata
 * and links) and src are read from the device. data->app_bytes is the
 * engine's; expected_cell_writes is not computed (0). 0, or -1 with msg. */
int bp_wear_engine_run(bp_peer *p, const char *trace, bp_wear *data, bp_wear *all, bp_sources *src, char *msg,
                       size_t msglen);

/* ---- recovery after a crash (recover.c) ---------------------------------------- */

typedef struct bp_recover {
    uint64_t live_before, live_after, traced;
    double wall_s;           /* pma_open after pma_abandon */
    char how[16];            /* pma_open_info's */
} bp_recover;

/* n objects reachable from the root on p (pmarena on the file device), a
 * simulated crash, then pma_open timed and checked. 0, or -1 with msg (the
 * recovered heap fails pma_check or lost objects). */
int bp_recover_run(bp_peer *p, uint64_t n, bp_recover *out, char *msg, size_t msglen);

/* floor.c: durable 16-byte records on the file device, no allocator. */
typedef struct bp_floor {
    uint64_t records;
    double secs;
} bp_floor;
/* Stores, flushes and fences records for about `seconds`. 0, or -1 with msg. */
int bp_floor_run(double seconds, bp_floor *out, char *msg, size_t msglen);

#endif
