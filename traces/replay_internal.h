/*
 * replay_internal.h - what the replay's files share (internal to traces/):
 * the replay's state, the stop signals (a failure is an error, an end is a
 * result: replay.h, "Passes"), the data write that moves an object off a worn
 * cell (replay_move.c) and the set of live objects a pass frees at its end
 * (replay_live.c).
 */
#ifndef PMARENA_TRACES_REPLAY_INTERNAL_H
#define PMARENA_TRACES_REPLAY_INTERNAL_H

#include "pmarena/replay.h"
#include "replay_links.h"

#include <pthread.h>
#include <stdatomic.h>

#define POOL_BYTES (1u << 20)     /* pseudo-random bytes that writes draw from */

/* The live trace objects (only kept when a pass must free them). */
typedef struct tr_live {
    pthread_mutex_t lock;
    tr_obj **slot;
    uint64_t cap, count;
} tr_live;

typedef struct replay {
    pma_heap *h;
    nv_device *dev;
    const tr_replay_config *cfg;
    unsigned char *pool;          /* POOL_BYTES, plus slack for a straddling slice */
    _Atomic uint64_t pool_pos;
    _Atomic uint64_t data_bytes, misaligned;
    _Atomic uint64_t live_bytes, live_objects, peak_bytes, peak_objects;
    _Atomic uint64_t moves, moved_bytes, verified, verified_bytes, rejected;
    uint64_t heap_align;
    tr_links *links;              /* NULL: links off */
    bool track_live;              /* passes free what is live at their end */
    tr_live live;
    _Atomic int failed;           /* an error: the run fails */
    _Atomic int ended;            /* the device's end of life: the run stops, a result */
    tr_end ended_by;
    char end_reason[300];
    uint64_t n;                   /* events run (dispatched, concurrent), all passes */
    uint64_t last_retired;        /* capacity checks: the retired bytes seen last */
    tr_retired_point *ret;        /* ... each change of them */
    size_t nret, capret;
    bool capacity_reached;
    uint64_t capacity_event;
    double capacity_ns;
    tr_error fail_err;
    pthread_mutex_t fail_lock;
} replay;

static inline bool replay_stopped(replay *rp)
{
    return atomic_load_explicit(&rp->failed, memory_order_relaxed) ||
           atomic_load_explicit(&rp->ended, memory_order_relaxed);
}

/* An error (the first one wins; later ones and ends are ignored). */
void replay_fail(replay *rp, uint64_t line, const char *what, int code);
/* The end of the run (the first stop wins). */
void replay_end(replay *rp, tr_end why, const char *what, int code);
/* A heap operation failed with code: an end (replay.h, "Passes") or an error. */
void replay_heap_failed(replay *rp, uint64_t line, const char *what, int code);
/* A link-table store failed with code: links_failed once a cell failed, else an error. */
void replay_links_failed(replay *rp, uint64_t line, const char *what, int code);
/* Whether any cell of the device has failed. */
bool replay_cells_failed(replay *rp);

/* Writes len bytes of data into o at pos (pool slices, or zeros), moving o
 * when a cell wears. 0, or -1 when the replay stopped. */
int replay_data_write(replay *rp, tr_obj *o, uint64_t pos, uint64_t len, uint64_t line);
/* A realloc whose copy wore (pma_realloc failed with PMA_EDEVICE): moves
 * old's contents (min of the sizes) into a new block of o->size, verified;
 * o->user gets it and old's block is returned. 0, or -1 (stopped). */
int replay_realloc_move(replay *rp, tr_obj *old, tr_obj *o, uint64_t line);

int replay_live_init(tr_live *l);
void replay_live_free(tr_live *l);
int replay_live_add(tr_live *l, tr_obj *o);      /* 0, or PMA_ENOMEM (host memory) */
void replay_live_remove(tr_live *l, tr_obj *o);
/* Frees every tracked object (unlinking it first) and empties the set. */
void replay_live_release_all(replay *rp);

#endif
