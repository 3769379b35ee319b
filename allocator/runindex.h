/*
 * runindex.h - a summary of an allocation bitmap by chunks of 4096 bits (64
 * words): per chunk, its longest run of zeros, its zeros at the start and at
 * the end. The run search uses it to pass over chunks that cannot hold the
 * run instead of reading their words: under mixed-size churn the front of an
 * arena fills with holes too small for most requests (larson: ~33 holes and
 * ~860 words scanned per first-fit allocation without it).
 *
 * Kept lazily. Only a free marks its chunks dirty (one OR each); a search
 * recounts a dirty chunk when it reaches it. An allocation marks nothing:
 * it can only shorten runs, so the counts may claim a run that is gone but
 * never miss one that is there, and a chunk whose words turn out not to
 * hold the run is recounted then. A search first scans the chunk it starts
 * in directly, so a request that fits near its start (the common alloc/free
 * pair) never pays for a recount.
 *
 * Requests longer than a chunk are searched word by word, as before.
 */
#ifndef PMARENA_ALLOCATOR_RUNINDEX_H
#define PMARENA_ALLOCATOR_RUNINDEX_H

#include "bitmap.h"

#define PMA_RI_CHUNK_BITS 4096u

typedef struct pma_run_index {
    uint16_t *longest, *head, *tail;   /* zeros: longest run, at the start, at the end */
    uint64_t *dirty;                   /* bit per chunk: counts out of date */
    uint32_t chunks, words;            /* words: the bitmap's length */
} pma_run_index;

/* For a bitmap of `words` 64-bit words; every chunk starts dirty. 0, or -1
 * (no memory). */
int pma_ri_init(pma_run_index *ri, uint32_t words);
void pma_ri_free(pma_run_index *ri);
void pma_ri_mark_all(pma_run_index *ri);

/* Bits [first, first+n) of the bitmap were cleared. */
static inline void pma_ri_mark(pma_run_index *ri, uint32_t first, uint32_t n)
{
    uint32_t c0 = first / PMA_RI_CHUNK_BITS, c1 = (first + n - 1) / PMA_RI_CHUNK_BITS;
    ri->dirty[c0 >> 6] |= 1ull << (c0 & 63);
    if (c1 != c0)
        for (uint32_t c = c0 + 1; c <= c1; c++)
            ri->dirty[c >> 6] |= 1ull << (c & 63);
}

uint32_t pma_ri_find_run_beyond(pma_run_index *ri, const uint64_t *w, uint32_t n, uint32_t stride,
                                uint32_t from, uint32_t to);

/* pma_bm_find_run on w with the index's help: the same answer. Starts in
 * the chunk of `from` are scanned directly (inline: the hot path), the later
 * chunks by their counts. */
static inline uint32_t pma_ri_find_run(pma_run_index *ri, const uint64_t *w, uint32_t n, uint32_t stride,
                                       uint32_t from, uint32_t to)
{
    if (n > PMA_RI_CHUNK_BITS || from >= to)
        return pma_bm_find_run(w, n, stride, from, to);
    uint32_t lim = (from / PMA_RI_CHUNK_BITS + 1) * PMA_RI_CHUNK_BITS + n - 1;
    uint32_t u = pma_bm_find_run(w, n, stride, from, lim < to ? lim : to);
    if (u != PMA_BM_NONE || lim >= to)
        return u;
    return pma_ri_find_run_beyond(ri, w, n, stride, from, to);
}

#endif
