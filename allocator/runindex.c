/*
 * runindex.c - the chunk summary of an allocation bitmap and the run search
 * that uses it (see runindex.h).
 */
#include "runindex.h"

#include <stdlib.h>

int pma_ri_init(pma_run_index *ri, uint32_t words)
{
    ri->words = words;
    ri->chunks = words ? (words - 1) / 64 + 1 : 1;
    ri->longest = malloc(ri->chunks * sizeof *ri->longest);
    ri->head = malloc(ri->chunks * sizeof *ri->head);
    ri->tail = malloc(ri->chunks * sizeof *ri->tail);
    ri->dirty = calloc((ri->chunks + 63) / 64, sizeof *ri->dirty);
    if (!ri->longest || !ri->head || !ri->tail || !ri->dirty) {
        pma_ri_free(ri);
        return -1;
    }
    pma_ri_mark_all(ri);
    return 0;
}

void pma_ri_free(pma_run_index *ri)
{
    free(ri->longest);
    free(ri->head);
    free(ri->tail);
    free(ri->dirty);
    ri->longest = ri->head = ri->tail = NULL;
    ri->dirty = NULL;
}

void pma_ri_mark_all(pma_run_index *ri)
{
    for (uint32_t c = 0; c < ri->chunks; c++)
        ri->dirty[c >> 6] |= 1ull << (c & 63);
}

/* Counts chunk c's zeros from its words (bit i of a word is unit i); words
 * past the bitmap's end count as allocated. */
static void recount(pma_run_index *ri, const uint64_t *w, uint32_t c)
{
    uint32_t run = 0, longest = 0, head = 0;
    int in_head = 1;
    for (uint32_t k = c * 64; k < c * 64 + 64; k++) {
        uint64_t v = k < ri->words ? w[k] : ~0ull;
        if (v == 0) {
            run += 64;
            continue;
        }
        uint32_t pos = (uint32_t)__builtin_ctzll(v);    /* zeros continuing the run */
        run += pos;
        if (in_head) {
            head = run;
            in_head = 0;
        }
        if (run > longest)
            longest = run;
        for (;;) {                                      /* v has a one at pos */
            uint64_t zeros_ahead = ~v >> pos;
            if (!zeros_ahead) {
                run = 0;
                break;
            }
            pos += (uint32_t)__builtin_ctzll(zeros_ahead);
            uint64_t ones_ahead = v >> pos;
            if (!ones_ahead) {
                run = 64 - pos;                         /* carries into the next word */
                break;
            }
            uint32_t z = (uint32_t)__builtin_ctzll(ones_ahead);
            if (z > longest)
                longest = z;
            pos += z;
        }
    }
    if (in_head)
        head = run;
    if (run > longest)
        longest = run;
    ri->longest[c] = (uint16_t)longest;
    ri->head[c] = (uint16_t)head;
    ri->tail[c] = (uint16_t)run;
}

static inline void fresh(pma_run_index *ri, const uint64_t *w, uint32_t c)
{
    uint64_t bit = 1ull << (c & 63);
    if (ri->dirty[c >> 6] & bit) {
        recount(ri, w, c);
        ri->dirty[c >> 6] &= ~bit;
    }
}

/* After pma_ri_find_run found nothing starting in the chunk of `from`. */
uint32_t pma_ri_find_run_beyond(pma_run_index *ri, const uint64_t *w, uint32_t n, uint32_t stride,
                                uint32_t from, uint32_t to)
{
    uint32_t c = from / PMA_RI_CHUNK_BITS, lim, u;
    /* Starts in each later chunk: a run that starts there lies inside it, or
     * takes its zeros at the end and the next chunk's at the start (n is at
     * most a chunk). Only where the counts allow one are the words read. */
    for (c++; c < ri->chunks && c * PMA_RI_CHUNK_BITS < to; c++) {
        fresh(ri, w, c);
        int maybe = ri->longest[c] >= n;
        if (!maybe && ri->tail[c] && c + 1 < ri->chunks) {
            fresh(ri, w, c + 1);
            maybe = (uint32_t)ri->tail[c] + ri->head[c + 1] >= n;
        }
        if (!maybe)
            continue;
        uint32_t s = c * PMA_RI_CHUNK_BITS;
        lim = s + PMA_RI_CHUNK_BITS + n - 1;
        u = pma_bm_find_run(w, n, stride, s, lim < to ? lim : to);
        if (u != PMA_BM_NONE || lim >= to)
            return u;
        /* Counts made before allocations there: bring them up to date. */
        recount(ri, w, c);
    }
    return PMA_BM_NONE;
}
