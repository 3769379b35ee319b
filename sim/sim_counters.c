/*
 * sim_counters.c - queries over the sim device's counters: totals, per-kind
 * hottest cells, per-cell exports, per-thread simulated time, reset.
 *
 * The store path keeps only per-cell counters and per-thread tallies (so it
 * never touches a shared total); everything here is derived from them by a
 * scan. Call these between phases, when writers are quiescent.
 *
 * nv_wear_now_get is the exception meant for frequent calls (a sample every
 * few thousand events): it rescans only the chunks whose dirty byte the
 * store path set since its last call. Counts never decrease (short of
 * nv_counters_reset, which clears its state too), so each hottest figure is
 * max(last figure, max over the rescanned cells), and each total moves by the
 * rescanned chunks' new sums minus their sums at the last call.
 */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

static nv_sim *sim_of(nv_device *d)
{
    return d && d->kind == NV_KIND_SIM ? nv_sim_of(d) : NULL;
}

int nv_counters_get(nv_device *d, nv_counters *out)
{
    nv_sim *s = sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    memset(out, 0, sizeof *out);
    out->cells = s->cells;
    out->cell_size = s->cfg.cell_size;
    for (int k = 0; k < NV_TAGS; k++) {
        nv_cell_counters *c = &s->count[k];
        if (!atomic_load(&c->used))
            continue;
        nv_kind_counts *kc = &out->kind[k];
        for (uint64_t ch = 0; ch < c->chunks; ch++) {
            if (nv_cell_counters_chunk_zero(c, ch))
                continue;
            uint64_t end = (ch + 1) * NV_CARRY_CHUNK < s->cells ? (ch + 1) * NV_CARRY_CHUNK : s->cells;
            for (uint64_t i = ch * NV_CARRY_CHUNK; i < end; i++) {
                uint64_t v = nv_cell_counters_get(c, i);
                kc->writes += v;
                if (v > kc->hottest_count) {
                    kc->hottest_count = v;
                    kc->hottest_cell = i;
                }
            }
        }
        if (k == NV_DATA)
            out->data_writes = kc->writes;
        else if (k == NV_LINKS)
            out->links_writes = kc->writes;
        else if (k == NV_LEVELING)
            out->leveling_writes = kc->writes;
        else
            out->meta_writes += kc->writes;
    }
    out->total_writes = out->data_writes + out->meta_writes + out->links_writes + out->leveling_writes;
    for (uint64_t ch = 0; ch < s->count[0].chunks; ch++) {
        bool any = false;
        for (int k = 0; k < NV_TAGS && !any; k++)
            any = atomic_load(&s->count[k].used) && !nv_cell_counters_chunk_zero(&s->count[k], ch);
        if (!any)
            continue;
        uint64_t end = (ch + 1) * NV_CARRY_CHUNK < s->cells ? (ch + 1) * NV_CARRY_CHUNK : s->cells;
        for (uint64_t i = ch * NV_CARRY_CHUNK; i < end; i++)
            if (nv_cell_count(d, i, -1))
                out->cells_touched++;
    }
    uint64_t ps = 0;
    for (int t = 0; t < NV_MAX_THREADS; t++) {
        nv_slot *sl = &s->slot[t];
        ps += atomic_load(&sl->time_ps);
        out->stores += atomic_load(&sl->stores);
        out->reads += atomic_load(&sl->reads);
        out->flushes += atomic_load(&sl->flushes);
        out->fences += atomic_load(&sl->fences);
        out->bytes_stored += atomic_load(&sl->bytes_stored);
        out->bytes_read += atomic_load(&sl->bytes_read);
        for (int k = 0; k < NV_TAGS; k++)
            out->bits_flipped[k] += atomic_load(&sl->bits_flipped[k]);
    }
    out->time_ns = (double)ps / 1000.0;
    return 0;
}

uint64_t nv_cell_count(nv_device *d, uint64_t cell, int tag)
{
    nv_sim *s = sim_of(d);
    if (!s || cell >= s->cells || tag >= NV_TAGS)
        return 0;
    if (tag >= 0)
        return nv_cell_counters_get(&s->count[tag], cell);
    uint64_t v = 0;
    for (int k = 0; k < NV_TAGS; k++)
        if (atomic_load_explicit(&s->count[k].used, memory_order_relaxed))
            v += nv_cell_counters_get(&s->count[k], cell);
    return v;
}

/* Adds tag k's counts of cells [first, first+n) into out, skipping chunks
 * without writes. */
static void export_add(nv_sim *s, int k, uint64_t first, uint64_t n, uint64_t *out)
{
    if (!atomic_load(&s->count[k].used))
        return;
    nv_cell_counters *c = &s->count[k];
    for (uint64_t i = 0; i < n;) {
        uint64_t cell = first + i, ch = cell / NV_CARRY_CHUNK;
        uint64_t stop = (ch + 1) * NV_CARRY_CHUNK - first;
        if (stop > n)
            stop = n;
        if (nv_cell_counters_chunk_zero(c, ch)) {
            i = stop;
            continue;
        }
        for (; i < stop; i++)
            out[i] += nv_cell_counters_get(c, first + i);
    }
}

int nv_cells_export(nv_device *d, int which, uint64_t first, uint64_t n, uint64_t *out)
{
    nv_sim *s = sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    if (which < 0 || which > 4)
        return NV_EINVAL;
    if (first > s->cells || n > s->cells - first)
        return NV_ERANGE;
    memset(out, 0, n * sizeof *out);
    for (int k = 0; k < NV_TAGS; k++)
        if (which == 2 || (which == 0 && k == NV_DATA) || (which == 3 && k == NV_LINKS) ||
            (which == 4 && k == NV_LEVELING) ||
            (which == 1 && nv_tag_is_meta((nv_tag)k)))
            export_add(s, k, first, n, out);
    return 0;
}

int nv_cells_export_tag(nv_device *d, nv_tag tag, uint64_t first, uint64_t n, uint64_t *out)
{
    nv_sim *s = sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    if ((int)tag < 0 || tag >= NV_TAGS)
        return NV_EINVAL;
    if (first > s->cells || n > s->cells - first)
        return NV_ERANGE;
    memset(out, 0, n * sizeof *out);
    export_add(s, (int)tag, first, n, out);
    return 0;
}

int nv_counters_reset(nv_device *d)
{
    nv_sim *s = sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    for (int k = 0; k < NV_TAGS; k++)
        nv_cell_counters_reset(&s->count[k]);
    memset(s->slot, 0, sizeof s->slot);
    if (s->now_sum)
        memset(s->now_sum, 0, NV_NOW_SUMS * s->count[0].chunks * sizeof *s->now_sum);
    memset(&s->now, 0, sizeof s->now);
    return 0;
}

double nv_time_thread_ns(nv_device *d, int slot)
{
    nv_sim *s = sim_of(d);
    if (!s || slot < 0 || slot >= NV_MAX_THREADS)
        return 0.0;
    return (double)atomic_load(&s->slot[slot].time_ps) / 1000.0;
}

int nv_wear_now_get(nv_device *d, nv_wear_now *out)
{
    nv_sim *s = sim_of(d);
    if (!s)
        return NV_ENOTSUP;
    uint64_t chunks = s->count[0].chunks;
    if (!s->now_sum && !(s->now_sum = calloc(NV_NOW_SUMS * chunks, sizeof *s->now_sum)))
        return NV_ENOMEM;
    nv_wear_now *w = &s->now;
    for (uint64_t ch = 0; ch < chunks; ch++) {
        bool dirty = false;
        for (int k = 0; k < NV_TAGS; k++)
            if (atomic_load_explicit(&s->count[k].dirty[ch], memory_order_relaxed)) {
                atomic_store_explicit(&s->count[k].dirty[ch], 0, memory_order_relaxed);
                dirty = true;
            }
        if (!dirty)
            continue;
        uint64_t end = (ch + 1) * NV_CARRY_CHUNK < s->cells ? (ch + 1) * NV_CARRY_CHUNK : s->cells;
        uint64_t sum_data = 0, sum_meta = 0, sum_links = 0, sum_lev = 0;
        for (uint64_t i = ch * NV_CARRY_CHUNK; i < end; i++) {
            uint64_t data = 0, meta = 0, links = 0, lev = 0;
            for (int k = 0; k < NV_TAGS; k++) {
                if (!atomic_load_explicit(&s->count[k].used, memory_order_relaxed))
                    continue;
                uint64_t v = nv_cell_counters_get(&s->count[k], i);
                if (k == NV_DATA)
                    data = v;
                else if (k == NV_LINKS)
                    links = v;
                else if (k == NV_LEVELING)
                    lev = v;
                else
                    meta += v;
            }
            sum_lev += lev;
            w->hottest_leveling = lev > w->hottest_leveling ? lev : w->hottest_leveling;
            sum_data += data;
            sum_meta += meta;
            sum_links += links;
            w->hottest_data = data > w->hottest_data ? data : w->hottest_data;
            w->hottest_meta = meta > w->hottest_meta ? meta : w->hottest_meta;
            w->hottest_links = links > w->hottest_links ? links : w->hottest_links;
            uint64_t all = data + meta + links + lev;
            w->hottest = all > w->hottest ? all : w->hottest;
        }
        uint64_t *prev = &s->now_sum[NV_NOW_SUMS * ch];
        w->data_writes += sum_data - prev[0];
        w->meta_writes += sum_meta - prev[1];
        w->links_writes += sum_links - prev[2];
        w->leveling_writes += sum_lev - prev[3];
        prev[0] = sum_data;
        prev[1] = sum_meta;
        prev[2] = sum_links;
        prev[3] = sum_lev;
    }
    w->total_writes = w->data_writes + w->meta_writes + w->links_writes + w->leveling_writes;
    *out = *w;
    return 0;
}
