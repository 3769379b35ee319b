/*
 * wear_place.c - wear of placement: where each allocator puts a trace's
 * objects, turned into per-cell write counts, so allocators that never heard
 * of NVRAM can be compared with pmarena on the wear their placement causes.
 *
 * Method. The trace is replayed once, single-threaded, through the peer on
 * real memory, with the on_alloc full model of pmarena's replay engine: each
 * object is written whole once when allocated; a realloc writes the kept
 * bytes at the new place and then the new tail (alloc + copy + free, for
 * every peer alike); the trace's own write events are applied as written.
 *
 * Cells. Every application write of len bytes at address a adds one to each
 * cell a / C .. (a + len - 1) / C, C the cell size: cells are C-byte blocks of
 * the virtual address space, aligned to multiples of C. This is the same
 * division the sim device makes (its region is page-aligned and its cells are
 * C-byte blocks from its base), so the numbers are comparable, and it needs
 * no notion of each allocator's regions (mmap'd chunks, arenas, pools). The
 * counts are kept in a sparse map (open addressing) of the cells touched.
 * For pmarena the replay runs on the sim device and its own counters are
 * used: data-tagged counts alone, and all counts (data + the allocator's
 * metadata stores + the device's gap moves when it levels: wear_level.c).
 * With leveling the cells are physical (a logical write lands where its
 * line maps now), so the totals are the same and only where they land
 * differs; the allocator reads no counter, so it places alike. Statistics (an_wear_stats) are over the cells the
 * allocator touched, not over a device or address-space size, so an
 * allocator is not flattered by the cells it never used.
 *
 * Consistency check. Beside the counts, the replay sums per write the number
 * of cells its bytes span, computed from the address alone
 * (expected_cell_writes), and the bytes written (app_bytes): the counts must
 * add up to the first, and at C = 1 to the second. `pmarena bench` writes
 * both into wear.csv and the tests compare them.
 *
 * What is invisible: the peers' in-band metadata (malloc chunk headers, free
 * lists, jemalloc's and mimalloc's page metadata, PMDK's headers and redo
 * logs) is written by the peer itself, not by the trace, so it is not
 * counted. Only pmarena's with_metadata rows include an allocator's own
 * writes.
 */
#include "worker.h"

#include "pmarena/analysis.h"
#include "pmarena/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cellmap {
    uint64_t *key;           /* cell + 1; 0 = empty */
    uint64_t *val;
    size_t cap, used;
} cellmap;

static void cm_init(cellmap *m, size_t cap)
{
    m->cap = cap;
    m->used = 0;
    m->key = calloc(cap, sizeof *m->key);
    m->val = calloc(cap, sizeof *m->val);
    if (!m->key || !m->val) {
        fprintf(stderr, "bench-worker: out of memory\n");
        exit(1);
    }
}

static inline size_t cm_hash(uint64_t k, size_t cap)
{
    k *= 0x9e3779b97f4a7c15ull;
    return (size_t)(k >> 17) & (cap - 1);
}

static void cm_add(cellmap *m, uint64_t cell);

static void cm_grow(cellmap *m)
{
    cellmap n;
    cm_init(&n, m->cap * 2);
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i]) {
            size_t j = cm_hash(m->key[i], n.cap);
            while (n.key[j])
                j = (j + 1) & (n.cap - 1);
            n.key[j] = m->key[i];
            n.val[j] = m->val[i];
            n.used++;
        }
    free(m->key);
    free(m->val);
    *m = n;
}

static void cm_add(cellmap *m, uint64_t cell)
{
    uint64_t k = cell + 1;
    size_t j = cm_hash(k, m->cap);
    while (m->key[j] && m->key[j] != k)
        j = (j + 1) & (m->cap - 1);
    if (!m->key[j]) {
        m->key[j] = k;
        m->used++;
    }
    m->val[j]++;
    if (m->used * 2 > m->cap)
        cm_grow(m);
}

static int fill_stats(const uint64_t *counts, size_t n, bp_wear *w)
{
    if (n == 0)
        return 0;
    an_wear s;
    if (an_wear_stats(counts, n, &s) != 0)
        return -1;
    w->cells_touched = s.cells_touched;
    w->max = s.max;
    w->cell_writes = s.total;
    w->p99_touched = s.p99;
    w->mean_touched = s.mean;
    w->hotspot_touched = s.hotspot;
    w->gini_touched = s.gini;
    w->cov_touched = s.cov;
    w->lifetime_fraction_touched = s.lifetime_fraction;
    return 0;
}

/* One application write: into the map (real-memory peers) or the device. */
typedef struct wctx {
    bp_peer *p;
    uint32_t cell;
    cellmap map;
    bp_wear *data;
} wctx;

static void app_write(void *ctx, void *ptr, uint64_t len)
{
    wctx *c = ctx;
    if (!len)
        return;
    uint64_t a = c->p->kind == BP_PMA ? pma_offset(c->p->heap, ptr) : (uint64_t)(uintptr_t)ptr;
    uint64_t first = a / c->cell, last = (a + len - 1) / c->cell;
    c->data->expected_cell_writes += last - first + 1;
    c->data->app_bytes += len;
    if (c->p->kind == BP_PMA) {
        nv_set(c->p->dev, a, 0x5a, len, NV_DATA);
        return;
    }
    memset(ptr, 0x5a, len);
    for (uint64_t k = first; k <= last; k++)
        cm_add(&c->map, k);
}

int bp_device_wear(nv_device *dev, int which, bp_wear *w)
{
    nv_counters c;
    nv_counters_get(dev, &c);
    uint64_t chunk = 1 << 20;
    uint64_t *buf = malloc(chunk * sizeof *buf);
    size_t cap = 1 << 16, n = 0;
    uint64_t *touched = malloc(cap * sizeof *touched);
    for (uint64_t first = 0; first < c.cells; first += chunk) {
        uint64_t k = c.cells - first < chunk ? c.cells - first : chunk;
        nv_cells_export(dev, which, first, k, buf);
        for (uint64_t i = 0; i < k; i++)
            if (buf[i]) {
                if (n == cap)
                    touched = realloc(touched, (cap *= 2) * sizeof *touched);
                touched[n++] = buf[i];
            }
    }
    int rc = fill_stats(touched, n, w);
    free(buf);
    free(touched);
    return rc;
}

int bp_device_sources(nv_device *dev, uint64_t events, bp_sources *src)
{
    nv_counters k;
    bp_wear meta = {0}, links = {0};
    if (nv_counters_get(dev, &k) != 0 || bp_device_wear(dev, 1, &meta) != 0 || bp_device_wear(dev, 3, &links) != 0)
        return -1;
    *src = (bp_sources){.events = events, .meta_writes = k.meta_writes, .hottest_meta = meta.max,
                        .links_writes = k.links_writes, .hottest_links = links.max,
                        .leveling_writes = k.leveling_writes};
    return 0;
}

int bp_wear_run(bp_peer *p, const bp_trace *t, uint32_t cell_size, bp_wear *data, bp_wear *all,
                int *has_all, bp_sources *src, char *msg, size_t msglen)
{
    memset(data, 0, sizeof *data);
    memset(src, 0, sizeof *src);
    memset(all, 0, sizeof *all);
    *has_all = 0;
    if (p->kind == BP_PMA && nv_device_kind(p->dev) != NV_KIND_SIM) {
        snprintf(msg, msglen, "pmarena wear runs on the sim device (pmarena-sim)");
        return -1;
    }
    wctx c = {p, cell_size, {0}, data};
    cm_init(&c.map, 1 << 16);
    void **ptr = calloc(t->objects ? t->objects : 1, sizeof *ptr);
    if (p->kind == BP_PMA)
        nv_counters_reset(p->dev);
    for (size_t i = 0; i < t->n; i++)
        bp_replay_event(p, t, &t->ev[i], ptr, app_write, &c);
    int rc = 0;
    uint64_t expected = data->expected_cell_writes, bytes = data->app_bytes;
    if (p->kind == BP_PMA) {
        rc = bp_device_wear(p->dev, 0, data);
        if (rc == 0)
            rc = bp_device_wear(p->dev, 2, all);
        if (rc == 0)
            rc = bp_device_sources(p->dev, t->n, src);
        all->expected_cell_writes = expected;
        all->app_bytes = bytes;
        *has_all = 1;
    } else {
        uint64_t *v = malloc((c.map.used ? c.map.used : 1) * sizeof *v);
        size_t n = 0;
        for (size_t i = 0; i < c.map.cap; i++)
            if (c.map.key[i])
                v[n++] = c.map.val[i];
        rc = fill_stats(v, n, data);
        free(v);
    }
    data->expected_cell_writes = expected;
    data->app_bytes = bytes;
    for (uint32_t k = 0; k < t->objects; k++)
        if (ptr[k])
            bp_free(p, ptr[k]);
    free(ptr);
    free(c.map.key);
    free(c.map.val);
    if (rc != 0)
        snprintf(msg, msglen, "wear statistics failed");
    return rc;
}
