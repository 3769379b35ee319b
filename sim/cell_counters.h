/*
 * cell_counters.h - compact per-cell write counters that never wrap.
 *
 * One array of 16-bit counters per cell, incremented with a relaxed atomic
 * add, plus a sparse table of high parts ("carries") for the rare cell that
 * passes 65535: the thread whose increment takes a counter from 0xFFFF to 0
 * adds 65536 to the cell's carry, under a lock. The count of a cell is
 * carry + low. Two bytes a cell keeps a 256 MiB device at 1-byte cells at
 * 512 MiB per array, and the arrays are mapped lazily (untouched pages cost
 * nothing), so only regions that were written take memory.
 *
 * Reads are exact once writers are quiescent; during concurrent writes a read
 * of a cell that is just carrying may be 65536 short for an instant.
 */
#ifndef PMARENA_SIM_CELL_COUNTERS_H
#define PMARENA_SIM_CELL_COUNTERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

#define NV_CARRY_CHUNK 4096u

typedef struct nv_cell_counters {
    _Atomic uint16_t *low;
    uint64_t cells;
    size_t map_bytes;
    pthread_mutex_t carry_lock;
    _Atomic(uint64_t *) *carry;   /* chunk directory; a chunk appears on first carry */
    uint64_t chunks;
    _Atomic int used;             /* set on the first increment: lets scans skip */
    _Atomic uint8_t *dirty;       /* per carry chunk: written since the last
                                     nv_wear_now_get (cleared there), so
                                     sampling rescans only changed chunks */
} nv_cell_counters;

int nv_cell_counters_init(nv_cell_counters *c, uint64_t cells);
void nv_cell_counters_free(nv_cell_counters *c);
void nv_cell_counters_reset(nv_cell_counters *c);
void nv_cell_counters_carry(nv_cell_counters *c, uint64_t cell);

static inline void nv_cell_counters_mark_used(nv_cell_counters *c)
{
    if (!atomic_load_explicit(&c->used, memory_order_relaxed))
        atomic_store_explicit(&c->used, 1, memory_order_relaxed);
}

/* Adds one to every cell in [first, last]. The caller has marked the array used.
 * The chunk's dirty byte is only read when already set (the usual case), so
 * threads writing one chunk do not bounce its cache line. */
static inline void nv_cell_counters_add_range(nv_cell_counters *c, uint64_t first, uint64_t last)
{
    for (uint64_t i = first; i <= last; i++)
        if (atomic_fetch_add_explicit(&c->low[i], 1, memory_order_relaxed) == UINT16_MAX)
            nv_cell_counters_carry(c, i);
    for (uint64_t ch = first / NV_CARRY_CHUNK; ch <= last / NV_CARRY_CHUNK; ch++)
        if (!atomic_load_explicit(&c->dirty[ch], memory_order_relaxed))
            atomic_store_explicit(&c->dirty[ch], 1, memory_order_relaxed);
}

uint64_t nv_cell_counters_get(nv_cell_counters *c, uint64_t cell);
/* True when every count in carry chunk `chunk` (NV_CARRY_CHUNK cells) is 0.
 * A plain bulk read: for scans when writers are quiescent, where it lets
 * untouched regions (most of a large device) be skipped. */
bool nv_cell_counters_chunk_zero(nv_cell_counters *c, uint64_t chunk);

#endif
