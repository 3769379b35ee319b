/*
 * replay.h - the replay engine: runs a trace against an allocator heap on a
 * device, turning allocs, frees and reallocs into pma_get_mem /
 * pma_return_mem, and application writes into device stores tagged data.
 *
 *   deterministic  one OS thread runs the events in file order; each logical
 *                  thread's simulated time goes to its own slot. Two runs give
 *                  bit-identical counters and stats.
 *   concurrent     one pthread per trace thread; events on one object keep
 *                  their file order across threads (an event waits until every
 *                  earlier event on its object has finished).
 *
 * Application writes: the trace's write events, plus a model for traces that
 * have none: on_alloc "full" writes the whole object once when it is
 * allocated, and extra_writes more full writes happen during its life (before
 * its free). The bytes written are seeded pseudo-random (or zeros), so the dcw
 * model sees realistic change. A realloc is pma_realloc: in place it copies
 * nothing; when it moves, it copies the old contents (a data write of the
 * smaller size); either way, with on_alloc full, the new tail is written.
 * Reads are charged through nv_read. Alignment requests above the heap's own
 * (max(G, A)) cannot be honoured and are counted, not failed.
 *
 * Links (cfg.links): a program on a gc allocator (pma.h, PMA_PERSIST_GC) must
 * keep its live objects reachable from the root, or recovery after a crash
 * frees them; the replay does what such a program must. It keeps a
 * persistent link table: the root names a directory object whose 8-byte
 * words are device offsets of chunk objects (4096 bytes, 512 entries), whose
 * words are the device offsets (pma_offset) of the live trace objects, 0 for
 * an empty entry. An alloc is linked after its data is written, a free is
 * unlinked before the object is returned, a realloc's new object takes over
 * the old one's entry before the old one is freed; every store to the table
 * is tagged NV_LINKS (a source of its own, neither data nor metadata) and
 * persisted (flush + fence). Free entries are reused first in, first out
 * (spreading the table's writes), new chunks are zeroed, and the directory
 * doubles when full (a new one, copied and persisted, becomes the root; the
 * old one is freed). The table stays on the device at the end, linked from
 * the root (the replay replaces any root the heap had). "auto" turns links on
 * exactly when the heap's persistence is gc and its metadata is not dram:
 * other protocols record allocations themselves, and a dram heap cannot be
 * reopened. traces/replay_links.c has the details.
 *
 * Worn cells (sim device with endurance, device.h "wear-out"): each event is
 * stamped (nv_event_stamp) with its number, counted from 1 across passes. A
 * data write that returns NV_EWORN on a live object moves the object: its
 * intended contents (its bytes read back, with the failed write's bytes laid
 * over them) go into a new block, are read back and compared (a mismatch is a
 * replay failure), its link entry (if any) names the new block, and the old
 * block is returned (the allocator retires it). A new block that wears on
 * the copy is kept aside and the next one tried; the rejected ones are
 * returned once the object has a home. A realloc whose copy wears is redone
 * the same way. traces/replay_move.c has the details.
 *
 * Passes (repeat): the trace runs `repeat` times, or with repeat 0 ("until
 * failure") until the device's end of life, at most max_passes times. Every
 * pass reads the trace afresh (next_pass opens it again: fresh ids); what is
 * live at the end of a pass that is not the last is freed (unlinked first),
 * so each pass starts from the trace's own empty heap, on a worn device. The
 * last pass's live objects stay, as with one pass. The run ends early, as a
 * result and not an error:
 *   capacity_loss      the heap's retired_bytes reached capacity_loss of the
 *                      device's size (checked every 256 events and at each
 *                      pass end, once a cell has failed);
 *   allocation_failed  an alloc, realloc or move failed with PMA_ENOMEM
 *                      after a cell failed, or (repeat != 1) at all: a
 *                      lifetime run ends when the heap has no good space;
 *   metadata_worn      an alloc, realloc, free or move failed with
 *                      PMA_EDEVICE: a store of the allocator's own metadata
 *                      (a checkpoint word, a header line, an object word)
 *                      met a worn cell that the protocol cannot write around;
 *   links_failed       the link table could not store an entry: no entry or
 *                      chunk without a worn cell was found (worn entries are
 *                      dropped and the object linked elsewhere first).
 * With repeat 1 and no failed cell, a failed allocation is still an error.
 */
#ifndef PMARENA_REPLAY_H
#define PMARENA_REPLAY_H

#include "pmarena/pma.h"
#include "pmarena/trace.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tr_mode { TR_DETERMINISTIC = 0, TR_CONCURRENT } tr_mode;
typedef enum tr_on_alloc { TR_ON_ALLOC_FULL = 0, TR_ON_ALLOC_NONE } tr_on_alloc;
typedef enum tr_data { TR_DATA_RANDOM = 0, TR_DATA_ZERO } tr_data;
typedef enum tr_links_mode { TR_LINKS_AUTO = 0, TR_LINKS_ON, TR_LINKS_OFF } tr_links_mode;

/* Why a run stopped (replay.h, "Passes"). */
typedef enum tr_end {
    TR_END_PASSES = 0, TR_END_CAPACITY, TR_END_ALLOC_FAILED, TR_END_LINKS_FAILED, TR_END_METADATA_WORN
} tr_end;
/* "passes", "capacity_loss", "allocation_failed", "links_failed", "metadata_worn" */
const char *tr_end_name(tr_end e);

/* The heap's retired bytes from event `event` on (a step series). */
typedef struct tr_retired_point {
    uint64_t event, retired_bytes;
} tr_retired_point;

typedef struct tr_replay_config {
    tr_mode mode;
    tr_on_alloc on_alloc;
    uint32_t extra_writes;
    tr_data data;
    uint64_t seed;
    tr_links_mode links;                  /* [auto] */
    uint64_t sample_every;                /* events between samples; 0: never */
    void (*sample)(void *ctx, uint64_t events);
    void (*progress)(void *ctx, uint64_t events);   /* every 65536 events */
    void *ctx;
    uint64_t repeat;                      /* passes [1]; 0: until failure */
    uint64_t max_passes;                  /* until failure's cap [1000000] */
    double capacity_loss;                 /* share of the device retired that ends the run [0.1] */
    /* Opens the trace again for pass `pass` (2, 3, ...) into *r, closing the
     * previous reader (the replay is done with it); 0 or a TR_E* code. NULL:
     * one pass only. */
    int (*next_pass)(void *ctx, uint64_t pass, tr_reader **r, tr_error *err);
} tr_replay_config;

typedef struct tr_replay_stats {
    uint64_t events[TR_OPS];
    uint64_t data_bytes_written;          /* by app writes, the on_alloc model and realloc copies */
    uint64_t misaligned;                  /* align requests above the heap's */
    uint64_t peak_live_bytes, peak_live_objects;
    uint64_t live_objects;                /* trace objects live at the end */
    bool links;                           /* the link table was kept */
    uint64_t links_bytes_written;         /* stored to the link table (0 without links) */
    uint64_t links_worn_entries;          /* table entries dropped: a cell of theirs wore out */
    uint64_t links_stale_entries;         /* of them, left naming an object since freed */
    double wall_s;
    /* lifetime (replay.h, "Worn cells" and "Passes") */
    uint64_t passes;                      /* passes begun */
    tr_end ended_by;
    char end_reason[300];                 /* the failing operation, for allocation/links ends */
    bool capacity_reached;
    uint64_t capacity_event;              /* events when capacity_loss was seen */
    double capacity_ns;                   /* the slowest thread slot's simulated ns then */
    uint64_t moves, moved_bytes;          /* objects moved off worn cells, bytes copied */
    uint64_t verified_objects, verified_bytes;   /* moves read back and matched */
    uint64_t rejected_blocks;             /* new blocks that wore on the copy */
    uint64_t retired_bytes;               /* the heap's, at the end */
    tr_retired_point *retired;            /* retired bytes' changes (malloc'd) */
    size_t nretired;
} tr_replay_stats;

void tr_replay_config_defaults(tr_replay_config *cfg);
/* Whether cfg->links means links on a heap h ("auto" resolved). */
bool tr_replay_links_on(const tr_replay_config *cfg, pma_heap *h);
/* Runs the whole trace, every pass (after the first, on the readers
 * cfg->next_pass opens: the caller keeps track of them through its ctx). 0,
 * or a negative code with err naming the event. st->retired is allocated only
 * once a cell failed; tr_replay_stats_free frees it. */
int tr_replay(tr_reader *r, pma_heap *h, const tr_replay_config *cfg, tr_replay_stats *st, tr_error *err);
void tr_replay_stats_free(tr_replay_stats *st);

#ifdef __cplusplus
}
#endif
#endif
