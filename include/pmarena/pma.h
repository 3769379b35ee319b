/*
 * pma.h - the persistent arena allocator (the origin design's four APIs,
 * plus reopen).
 *
 * A heap lives on an nv_device. It owns arenas; each arena belongs to a size
 * class (64, 128, ..., 4096 bytes, or the large class) and has an allocation
 * bitmap in which one bit covers G bytes (the granularity), plus a start
 * bitmap recording where each object begins. Each class has a free list: the
 * arenas of that class that still have room. Get_Mem pads the request, looks
 * in its class's list, then once in the next class's list, and only then
 * creates an arena (single-flight: a thread that finds another creating one
 * starts again). Return_Mem clears the object's bits; an arena that regains
 * room rejoins its list. Large objects (above 4096 bytes) each get an arena of
 * their own, sized to the object rounded up to a power of two.
 *
 * Persistence (metadata "nvram" and "hybrid"): the heap header, arena headers
 * and bitmaps are on the device and every store to them goes through it,
 * tagged by kind; pma_open rebuilds the DRAM indexes from them after a restart
 * or crash. The crash-consistency protocol is described in allocator/arena.c.
 * With metadata "dram" nothing is stored on the device but application data,
 * and the heap cannot be reopened.
 *
 * Thread safety: every function may be called concurrently on one heap, except
 * pma_destroy (no other call may be running) and pma_check (call when
 * quiescent). Threads in different classes do not share a lock; a thread keeps
 * reusing the arena it last used in a class (affinity), so threads scale.
 * A heap is not for use on both sides of a fork(): parent and child share
 * the dram device and parts of the heap's DRAM state (shared mappings).
 *
 * Errors: int functions return 0 or a negative PMA_E* code; pma_strerror
 * names it. pma_get_mem returns NULL on failure; pma_last_error tells why
 * (thread-local).
 *
 * Limits of detection: pma_return_mem refuses pointers that are not the start
 * of a live object (PMA_EINVAL) and objects already free (PMA_EDOUBLE), leaving
 * the heap unchanged. A stale pointer into memory that has since been handed
 * out again cannot be told from a live one: freeing it frees the new object.
 * Double frees are told from foreign pointers only while the heap stays open
 * (the record of freed starts is in DRAM); after a reopen both are PMA_EINVAL.
 */
#ifndef PMARENA_PMA_H
#define PMARENA_PMA_H

#include <stddef.h>
#include <stdint.h>

#include "pmarena/device.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    PMA_OK = 0,
    PMA_EINVAL = -101,    /* bad argument: not an object start, bad size, bad config */
    PMA_EDOUBLE = -102,   /* the object at that address is already free */
    PMA_ENOMEM = -103,    /* the device (or host memory) is full */
    PMA_ENOHEAP = -104,   /* no valid heap on the device */
    PMA_ECORRUPT = -105,  /* the heap's metadata is inconsistent */
    PMA_EDEVICE = -106,   /* the device refused an operation */
    PMA_ENOTSUP = -107,   /* not possible in this configuration */
};

#define PMA_CLASSES 8            /* 64 .. 4096, and large */
#define PMA_CLASS_LARGE 7

typedef enum pma_policy {
    PMA_FIRST_FIT = 0, PMA_NEXT_FIT, PMA_WEAR_AWARE, PMA_LAFO, PMA_POLICIES
} pma_policy;
typedef enum pma_bitmap_layout { PMA_LAYOUT_LINEAR = 0, PMA_LAYOUT_INTERLEAVED } pma_bitmap_layout;
typedef enum pma_metadata { PMA_META_NVRAM = 0, PMA_META_HYBRID, PMA_META_DRAM } pma_metadata;
/* How an allocation or a free is made durable (allocator/persist_*.c):
 *   intent  an intent word, then the bitmap words, written and flushed per
 *           operation under the arena lock (the first protocol, kept for
 *           comparison);
 *   log     bitmaps authoritative in DRAM; one 16-byte record appended per
 *           operation to a log that rotates over a device region; dirty
 *           bitmap words checkpointed when the log fills; pma_open loads the
 *           checkpoint and replays the log after it;
 *   gc      nothing about allocation is written per operation (no store,
 *           flush or fence); small objects sit in fixed slots of their
 *           class's size, so their boundaries need no record. A clean close
 *           (pma_destroy) stores the live set once; after a crash pma_open
 *           rebuilds it by tracing from the root (conservatively, or with a
 *           program's tracer: pma_open_ex). What the program does not keep
 *           reachable from the root is free after a crash. */
typedef enum pma_persistence {
    PMA_PERSIST_INTENT = 0, PMA_PERSIST_LOG, PMA_PERSIST_GC, PMA_PERSISTENCES
} pma_persistence;

typedef struct pma_config {
    uint32_t granularity;        /* G: bytes per bitmap bit, power of two 1..4096 [1] */
    uint32_t alignment;          /* A: power of two 1..4096 [16] */
    uint64_t arena_size;         /* bytes, multiple of 4096 [1 MiB] */
    pma_policy policy;           /* [first-fit] */
    pma_bitmap_layout bitmap_layout;   /* [linear] */
    pma_metadata metadata;       /* [hybrid] */
    /* wear-aware only: how much of the device (percent, 0..100) it may fill
     * with arenas to avoid reusing worn blocks before it reuses them [50];
     * 0 grows only when nothing fits, like the other policies */
    uint32_t wear_spread_percent;
    /* wear-aware only: the wear ceiling at which that share has widened
     * to the whole device, a step per ceiling (growth for heat then stops
     * only at the room kept for large objects: allocator/zone.c); 0 keeps
     * it at wear_spread_percent [100] */
    uint32_t wear_spread_full_at;
    pma_persistence persistence; /* [log]; ignored with metadata "dram" */
    /* log only: size of the log region in KiB, a multiple of 8 (two halves
     * of 4 KiB chunks) from 8 to
     * 8192; 0 picks 1/64 of the device, between 8 KiB and 4 MiB [0] */
    uint32_t log_kib;
} pma_config;

typedef struct pma_heap pma_heap;

void pma_config_defaults(pma_config *cfg);
/* 0 when usable; else PMA_EINVAL and a message naming the field. */
int pma_config_check(const pma_config *cfg, char *msg, size_t msglen);
const char *pma_policy_name(pma_policy p);
const char *pma_layout_name(pma_bitmap_layout l);
const char *pma_metadata_name(pma_metadata m);
const char *pma_persistence_name(pma_persistence p);
int pma_policy_from_name(const char *s);      /* value, or PMA_EINVAL */
int pma_layout_from_name(const char *s);
int pma_metadata_from_name(const char *s);
int pma_persistence_from_name(const char *s);
const char *pma_strerror(int err);
int pma_last_error(void);
/* Why this thread's last pma_open failed, naming the structure and its
 * device offset, e.g. "arena header at device offset 0x21000: size ..."
 * (PMA_ECORRUPT, PMA_ENOHEAP, PMA_ENOTSUP); "" when it gave none. */
const char *pma_last_error_detail(void);

/* Formats a new heap on dev (whatever was there is forgotten). */
int pma_init(pma_heap **heap, nv_device *dev, const pma_config *cfg);
/* Finds the heap on dev again, rebuilding DRAM state and repairing what a crash
 * left half done. PMA_ENOHEAP when there is none (or it was made with
 * metadata "dram"); PMA_ENOTSUP for a heap of layout version 1 (made before
 * the bad-block map). Blocks the persistent bad-block map names stay retired. */
int pma_open(pma_heap **heap, nv_device *dev);
/* Closes the heap cleanly and releases DRAM state; the device keeps the
 * heap. Under gc this stores the live set (a clean reopen needs no trace). */
void pma_destroy(pma_heap *heap);
/* Releases DRAM state and writes nothing, as if the process died here:
 * the next pma_open recovers as after a crash (tests, recovery
 * measurements). No other call may be running. */
void pma_abandon(pma_heap *heap);

/* gc recovery with a program's knowledge of its layout (Ralloc's filter
 * functions are the model): `trace` is called once for each reachable
 * object, the root's first, with its device offset and a copy of its bytes
 * (its usable size: the whole slot), and reports every device offset of an
 * object it refers to with pma_trace_ref. Without a tracer every aligned 8-byte word of a reachable
 * object that equals the device offset of an object start counts
 * (conservative). */
typedef struct pma_tracer pma_tracer;
typedef void (*pma_trace_fn)(pma_tracer *t, uint64_t off, const void *obj, size_t bytes, void *arg);
/* Marks the object starting at device offset off reachable; an offset where
 * no object starts is ignored and counted (pma_open_info.bad_refs). */
void pma_trace_ref(pma_tracer *t, uint64_t off);

typedef struct pma_open_opts {
    pma_trace_fn trace;           /* gc only; NULL: conservative */
    void *trace_arg;
} pma_open_opts;
/* pma_open with options (opts may be NULL). */
int pma_open_ex(pma_heap **heap, nv_device *dev, const pma_open_opts *opts);

/* What pma_init or pma_open did to find the live set. */
typedef struct pma_open_info {
    const char *how;              /* "init", "clean" (a gc clean close's state),
                                     "intent", "log", "trace" (gc after a crash) */
    uint64_t live_objects;        /* live objects found */
    uint64_t traced_objects;      /* gc trace: objects scanned */
    uint64_t scanned_bytes;       /* gc trace: object bytes read */
    uint64_t bad_refs;            /* gc precise trace: offsets that named no object */
    double wall_s;                /* pma_open's own wall time */
} pma_open_info;
void pma_open_info_get(pma_heap *heap, pma_open_info *out);

void *pma_get_mem(pma_heap *heap, size_t size);
int pma_return_mem(pma_heap *heap, void *ptr);

/* Resizes the object at ptr (PMDK's pmemobj_realloc, C's realloc):
 *   ptr NULL: pma_get_mem(size). size 0: PMA_EINVAL (free with
 *   pma_return_mem; a realloc to 0 that frees would be C's ambiguity).
 *   In place, returning ptr, when size fits the object's usable size
 *   (pma_usable_size; a shrink keeps the block) and, under wear-aware, the
 *   block is below the wear ceiling (placement's test for a new object there;
 *   a worn block moves even when the new size fits).
 *   Else a new object: min(old requested size, size) bytes are copied to it
 *   through the device (a data write), then the old one is freed; returns
 *   the new pointer.
 * On failure returns NULL (pma_last_error says why: PMA_EINVAL or
 * PMA_EDOUBLE for a pointer that is not a live object, PMA_ENOMEM, ...) and
 * the old object is untouched, still live, contents and all.
 * Crashes: the copy is the caller's data and is not made durable here (flush
 * it, as any data write). With intent and log the new object is durably live
 * when its get returns and the old durably free when its return does: a
 * crash in between leaves both live (the program's root still names one of
 * them; the other is a leak that its own references decide about). An in-place
 * size change of a large object is one durable object-word store. Under gc
 * nothing is stored: the old object is freed before pma_realloc returns, so
 * the caller must relink (store the new pointer where the old one was
 * reachable from the root) before it relies on the new object surviving a
 * crash; until then recovery finds the old one, still linked, live again. */
void *pma_realloc(pma_heap *heap, void *ptr, size_t size);

/* Bytes usable at ptr (the padded size), or 0 if ptr is not a live object. */
size_t pma_usable_size(pma_heap *heap, const void *ptr);

/* A persistent root: the one pointer a program finds again after reopen. */
int pma_set_root(pma_heap *heap, void *ptr);
void *pma_root(pma_heap *heap);

/* Device offsets <-> pointers (offsets survive remapping). */
uint64_t pma_offset(pma_heap *heap, const void *ptr);
void *pma_pointer(pma_heap *heap, uint64_t off);
nv_device *pma_device(pma_heap *heap);
const pma_config *pma_heap_config(pma_heap *heap);
uint32_t pma_class_size(int cls);            /* 64 .. 4096; 0 for large */

typedef struct pma_heap_stats {
    uint64_t requested_bytes;     /* live objects: sizes asked for */
    uint64_t allocated_bytes;     /* live objects: padded sizes */
    uint64_t live_objects;
    uint64_t footprint_bytes;     /* device bytes the heap spans (header + arenas) */
    uint64_t arenas[PMA_CLASSES]; /* arenas per class (large: one per object slot) */
    uint64_t empty_arenas;        /* small arenas with nothing allocated */
    uint64_t free_bytes;          /* free inside small arenas */
    uint64_t largest_free_run;    /* bytes, over all small arenas */
    uint64_t free_runs;           /* number of maximal free runs */
    uint64_t arena_creations;
    uint64_t search_restarts;     /* single-flight waits */
    uint64_t next_class_hits;     /* served from the next larger class */
    uint64_t leaked_bytes;        /* found at open: reclaimed orphans */
    uint64_t recovered_ops;       /* found at open: half-done ops rolled back/forward */
    uint64_t allocs, frees, failed_allocs, bad_frees;
    /* thread caches: gets served from the calling thread's cache, and not */
    uint64_t cache_hits, cache_misses;
    uint64_t cached_bytes;        /* blocks held in thread caches (not live, not free) */
    /* gets and returns the fast lane served (allocator/lane.h): the log
     * protocol on a direct device (dram, file) with thread caches; 0 on
     * other heaps. Counted in allocs, frees and cache_hits as well. */
    uint64_t lane_ops;
    /* the persistence protocol's own device traffic, since the heap was made
     * or opened: cache lines flushed, fences, metadata bytes stored (by
     * gets and returns, checkpoints included; arena creation excluded) */
    uint64_t flushes, fences, meta_bytes;
    uint64_t checkpoints;         /* log: bitmap checkpoints written */
    uint64_t log_wraps;           /* log: times the log region was used up */
    uint64_t log_worn_skips;      /* log: records written again further on: a cell had worn out */
    /* freed large arenas' space: arenas carved out of one (large or small),
     * and merges of a freed one with a free neighbour */
    uint64_t arena_carves, arena_merges;
    uint64_t list_store_failures; /* nvram list links the device refused (never read back) */
    /* worn-out device lines (nv_on_failure) the heap has retired: never
     * handed out again, recorded in its persistent bad-block map */
    uint64_t retired_blocks, retired_bytes;
    /* distinct failed lines the heap knows of (its map), those of them in
     * metadata (headers, bitmaps, log, the map: recorded, not retired; the
     * operation whose store did not land failed with PMA_EDEVICE), and map
     * stores the device refused (the DRAM map still holds them) */
    uint64_t failed_lines, meta_failed_lines, badmap_store_failures;
} pma_heap_stats;

/* A consistent snapshot (takes every lock briefly). */
int pma_stats(pma_heap *heap, pma_heap_stats *out);

/* Walks every invariant (headers, bitmaps vs their persistent copies, lists,
 * counters). 0 when they hold, else PMA_ECORRUPT and the first violation in
 * msg. Call when no other thread is using the heap. */
int pma_check(pma_heap *heap, char *msg, size_t msglen);

#ifdef __cplusplus
}
#endif
#endif
