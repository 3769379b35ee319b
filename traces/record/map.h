/*
 * map.h - a map from 64-bit keys (never 0) to 64-bit values, for the recorder's
 * converter (traces/record_convert.c): live addresses -> object ids, OS thread ids ->
 * logical threads. Header-only so that it stays out of the preloaded library,
 * which is built from the .c files beside it and must not allocate.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), so millions of alloc/free pairs leave no debris and lookups
 * stay short. Capacity is a power of two, kept at most half full. A value of 0
 * reads as "absent": store ids and numbers + 1. Not thread-safe; one owner.
 */
#ifndef PMARENA_TRACES_RECORD_MAP_H
#define PMARENA_TRACES_RECORD_MAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pmarena/trace.h"

typedef struct tr_map {
    uint64_t *keys, *vals;
    size_t cap, n;
} tr_map;

static inline size_t tr_map_slot(const tr_map *m, uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (m->cap - 1);
}

static inline int tr_map_grow(tr_map *m)
{
    tr_map g = {.cap = m->cap ? m->cap * 2 : 1024};
    g.keys = calloc(g.cap, sizeof *g.keys);
    g.vals = malloc(g.cap * sizeof *g.vals);
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return TR_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = tr_map_slot(&g, m->keys[i]);
        while (g.keys[j])
            j = (j + 1) & (g.cap - 1);
        g.keys[j] = m->keys[i];
        g.vals[j] = m->vals[i];
        g.n++;
    }
    free(m->keys);
    free(m->vals);
    *m = g;
    return 0;
}

/* The value of k, or 0 when absent (values are ids and thread numbers + 1). */
static inline uint64_t tr_map_get(const tr_map *m, uint64_t k)
{
    if (!m->n)
        return 0;
    for (size_t j = tr_map_slot(m, k); m->keys[j]; j = (j + 1) & (m->cap - 1))
        if (m->keys[j] == k)
            return m->vals[j];
    return 0;
}

static inline int tr_map_put(tr_map *m, uint64_t k, uint64_t v)
{
    if ((m->n + 1) * 2 > m->cap && tr_map_grow(m) != 0)
        return TR_ENOMEM;
    size_t j = tr_map_slot(m, k);
    while (m->keys[j] && m->keys[j] != k)
        j = (j + 1) & (m->cap - 1);
    if (!m->keys[j])
        m->n++;
    m->keys[j] = k;
    m->vals[j] = v;
    return 0;
}

static inline void tr_map_del(tr_map *m, uint64_t k)
{
    if (!m->n)
        return;
    size_t mask = m->cap - 1, j = tr_map_slot(m, k);
    while (m->keys[j] != k) {
        if (!m->keys[j])
            return;
        j = (j + 1) & mask;
    }
    /* Pull later entries of the probe run back over the hole, where allowed. */
    for (size_t i = (j + 1) & mask; m->keys[i]; i = (i + 1) & mask) {
        size_t home = tr_map_slot(m, m->keys[i]);
        if (((i - home) & mask) >= ((i - j) & mask)) {
            m->keys[j] = m->keys[i];
            m->vals[j] = m->vals[i];
            j = i;
        }
    }
    m->keys[j] = 0;
    m->n--;
}

static inline void tr_map_clear(tr_map *m)
{
    if (m->n)
        memset(m->keys, 0, m->cap * sizeof *m->keys);
    m->n = 0;
}

static inline void tr_map_free(tr_map *m)
{
    free(m->keys);
    free(m->vals);
    *m = (tr_map){0};
}

#endif
