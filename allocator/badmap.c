/*
 * badmap.c - retiring worn-out blocks: the persistent bad-block map, the
 * device's failure callback, and the retirement of the blocks that cover a
 * failed line.
 *
 * The map is a device region between the header (and log region) and the
 * first arena: 2 bits per 64-byte line of the device, (failed, retired),
 * every change one 8-byte store tagged NV_META_BADMAP, flushed and fenced
 * (failure-atomic, idempotent: a crash leaves the word before or after).
 * "failed" is stored when the heap learns of the failure; "retired" when
 * the block covering the line is taken out of use (at once when it was
 * free, else when its object is freed or its cached block handed back).
 * Only gc needs the second bit: its trace must not bring a retired block
 * back live through a stale reference, while a block that failed while
 * live stays live. Intent and log know the live set exactly at open.
 *
 * Retirement, small arenas: the units covering a failed line, widened to
 * whole strides (whole slots under fixed slots), are "bad"; a bad group
 * that is free becomes a block of its own in the space bitmaps (alloc set,
 * a start bit) that no object lives in (ret), so no search ever finds it
 * and pma_check counts it apart from live and cached blocks. Large arenas:
 * one with a failed line in its data area is never pooled again once its
 * object is freed. A failed line anywhere else (headers, bitmaps, log, the
 * map itself) is recorded and counted (meta_failed_lines); the protocols
 * fail the operation whose metadata store did not land (PMA_EDEVICE).
 *
 * The callback runs inside a device store, perhaps under an arena lock: it
 * only appends to a pending list (bad_lock, a leaf). The next get, return,
 * stats or close takes the list (pma_badmap_poll: one relaxed load when
 * nothing is pending). A crash before that loses the news, not the cell:
 * pma_init and pma_open read the device's own list of failed lines (sim:
 * nv_failures_get; a real device keeps a bad-block list) into the map.
 *
 * Limit: a failure names one line (its logical offset); with cells or media
 * lines wider than 64 bytes only that 64-byte line is retired.
 */
#include "tcache.h"

#include <stdlib.h>
#include <string.h>

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

uint64_t pma_badmap_bytes(uint64_t device_size)
{
    uint64_t lines = device_size / PMA_LINE;
    return round_up((lines + 31) / 32 * 8, PMA_ARENA_ALIGN);
}

static bool map_mark(pma_heap *h, uint64_t li, bool retired);
static void map_store(pma_heap *h, uint64_t w);

static void on_failure(void *ctx, uint64_t line_off, uint64_t cell)
{
    pma_heap *h = ctx;
    (void)cell;
    pthread_mutex_lock(&h->bad_lock);
    if (h->bad_npend == h->bad_cap) {
        size_t cap = h->bad_cap ? h->bad_cap * 2 : 64;
        uint64_t *p = realloc(h->bad_pend, cap * sizeof *p);
        if (!p) {
            atomic_fetch_add_explicit(&h->bad_lost, 1, memory_order_relaxed);
            pthread_mutex_unlock(&h->bad_lock);
            return;
        }
        h->bad_pend = p;
        h->bad_cap = cap;
    }
    h->bad_pend[h->bad_npend++] = line_off;
    atomic_store_explicit(&h->bad_pending, true, memory_order_relaxed);
    pthread_mutex_unlock(&h->bad_lock);
}

int pma_badmap_format(pma_heap *h, uint64_t off, uint64_t device_size)
{
    /* Read before write: a fresh device is zero, and clearing zeros wears. */
    uint64_t len = pma_badmap_bytes(device_size);
    const unsigned char *p = (const unsigned char *)nv_base(h->dev);
    static const unsigned char zero[PMA_LINE];
    for (uint64_t o = off; o < off + len; o += PMA_LINE)
        if (memcmp(p + o, zero, PMA_LINE) != 0) {
            if (nv_set(h->dev, o, 0, PMA_LINE, NV_META_BADMAP) != 0)
                return PMA_EDEVICE;
            nv_flush(h->dev, o, PMA_LINE);
        }
    nv_fence(h->dev);
    return 0;
}

int pma_badmap_attach(pma_heap *h, uint64_t off, uint64_t device_size, bool load)
{
    h->bm_lines = device_size / PMA_LINE;
    size_t words = (size_t)((h->bm_lines + 31) / 32) + 1;
    h->bm = calloc(words, 8);
    if (!h->bm)
        return PMA_ENOMEM;
    if (h->persistent) {
        h->bm_off = off;
        h->bm_bytes = pma_badmap_bytes(device_size);
        /* Through the device, so recovery's reads are counted and charged. */
        if (load && nv_read(h->dev, off, h->bm, (size_t)((h->bm_lines + 31) / 32) * 8) != 0)
            return PMA_EDEVICE;
        for (size_t w = 0; load && w < words; w++)
            if (h->bm[w] & 0x5555555555555555ull)
                atomic_store_explicit(&h->bm_any, true, memory_order_release);
    }
    nv_on_failure(h->dev, on_failure, h);     /* NV_ENOTSUP: a device whose cells never fail */
    /* The device's own list of failed lines (sim; a real one's bad-block
     * list): what a crash kept the map from storing is found again. */
    nv_failure f[256];
    uint64_t got = 0;
    for (uint64_t from = 0; nv_failures_get(h->dev, from, f, 256, &got) == 0 && got; from += got)
        for (uint64_t i = 0; i < got; i++)
            if (f[i].line_off / PMA_LINE < h->bm_lines)
                map_mark(h, f[i].line_off / PMA_LINE, false);
    return 0;
}

void pma_badmap_sync(pma_heap *h)
{
    h->bm_defer = false;
    if (!h->bm || !h->bm_bytes)
        return;
    const uint64_t *dev = (const uint64_t *)((const unsigned char *)nv_base(h->dev) + h->bm_off);
    pthread_mutex_lock(&h->bm_lock);
    for (uint64_t w = 0; w < (h->bm_lines + 31) / 32; w++)
        if (h->bm[w] != dev[w])
            map_store(h, w);
    pthread_mutex_unlock(&h->bm_lock);
}

void pma_badmap_detach(pma_heap *h)
{
    if (h->bm)
        nv_on_failure(h->dev, NULL, NULL);
    free(h->bm);
    free(h->bad_pend);
    h->bm = NULL;
    h->bad_pend = NULL;
}

/* ---- the map ---------------------------------------------------------------- */

static bool line_failed(const pma_heap *h, uint64_t li) { return (h->bm[li / 32] >> (2 * (li % 32))) & 1; }
static bool line_retired(const pma_heap *h, uint64_t li) { return (h->bm[li / 32] >> (2 * (li % 32))) & 2; }

static void map_store(pma_heap *h, uint64_t w)
{
    /* pma_open stores nothing until the image is known good: a corrupt one
     * is left as it was found (pma_badmap_sync stores the change later). */
    if (!h->bm_bytes || h->bm_defer)
        return;
    uint64_t off = h->bm_off + w * 8;
    if (pma_meta_write(h, NULL, off, &h->bm[w], 8, NV_META_BADMAP) != 0)
        atomic_fetch_add_explicit(&h->bm_store_failures, 1, memory_order_relaxed);
    pma_meta_flush(h, NULL, off, 8);
    pma_meta_fence(h, NULL);
}

/* Sets line li's failed bit (and retired bit); true when it was new. */
static bool map_mark(pma_heap *h, uint64_t li, bool retired)
{
    uint64_t bits = (retired ? 3ull : 1ull) << (2 * (li % 32));
    pthread_mutex_lock(&h->bm_lock);
    bool was = line_failed(h, li);
    atomic_store_explicit(&h->bm_any, true, memory_order_release);
    if ((h->bm[li / 32] & bits) != bits) {
        h->bm[li / 32] |= bits;
        map_store(h, li / 32);
    }
    pthread_mutex_unlock(&h->bm_lock);
    return !was;
}

/* Every failed line of [off, end) retired: one store per changed word. */
static void map_retire_range(pma_heap *h, uint64_t off, uint64_t end)
{
    uint64_t l0 = off / PMA_LINE, l1 = (end + PMA_LINE - 1) / PMA_LINE;
    if (l1 > h->bm_lines)
        l1 = h->bm_lines;
    pthread_mutex_lock(&h->bm_lock);
    for (uint64_t w = l0 / 32; l0 < l1 && w <= (l1 - 1) / 32; w++) {
        uint64_t failed = h->bm[w] & 0x5555555555555555ull, old = h->bm[w];
        uint64_t lo = w * 32 < l0 ? l0 - w * 32 : 0, hi = (w + 1) * 32 > l1 ? l1 - w * 32 : 32;
        uint64_t mask = (hi >= 32 ? ~0ull : (1ull << (2 * hi)) - 1) & ~((1ull << (2 * lo)) - 1);
        h->bm[w] |= (failed & mask) << 1;
        if (h->bm[w] != old)
            map_store(h, w);
    }
    pthread_mutex_unlock(&h->bm_lock);
}

bool pma_badmap_line_failed(pma_heap *h, uint64_t off)
{
    uint64_t li = off / PMA_LINE;
    if (!h->bm || li >= h->bm_lines || !atomic_load_explicit(&h->bm_any, memory_order_acquire))
        return false;
    pthread_mutex_lock(&h->bm_lock);
    bool f = line_failed(h, li);
    pthread_mutex_unlock(&h->bm_lock);
    return f;
}

bool pma_badmap_retired(const pma_heap *h, uint64_t off, uint64_t bytes)
{
    uint64_t end = off + bytes;
    for (uint64_t li = off / PMA_LINE; li * PMA_LINE < end && li < h->bm_lines; li++)
        if (line_retired(h, li))
            return true;
    return false;
}

/* ---- small arenas ------------------------------------------------------------ */

static uint32_t group_of(const pma_heap *h, const pma_arena *a)
{
    return h->fixed_slots ? pma_slot_units(h, atomic_load_explicit(&a->cls, memory_order_relaxed)) : a->stride;
}

bool pma_badmap_block_bad(const pma_arena *a, uint32_t u, uint32_t n)
{
    return a->bad && pma_bm_next_one(a->bad, u, u + n) < u + n;
}

/* One retired block of [u, u + n) (free units; arena lock held). */
static void retire_run(pma_heap *h, pma_arena *a, uint32_t u, uint32_t n)
{
    pma_bm_set_range(a->start, u, 1);
    pma_bm_set_range(a->alloc, u, n);
    pma_bm_set_range(a->ret, u, n);
    a->free_units -= n;
    a->allocated += (uint64_t)n << h->g_shift;
    a->objects++;
    a->retired_runs++;
    atomic_fetch_add_explicit(&h->retired_blocks, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->retired_bytes, (uint64_t)n << h->g_shift, memory_order_relaxed);
    map_retire_range(h, a->data + ((uint64_t)u << h->g_shift), a->data + ((uint64_t)(u + n) << h->g_shift));
}

/* Retires the free bad groups of [from, to) (group-aligned; arena lock
 * held): consecutive ones as one block, except under fixed slots (a block
 * is one slot there). */
static void retire_free_groups(pma_heap *h, pma_arena *a, uint32_t from, uint32_t to)
{
    uint32_t g = group_of(h, a), run = 0, run_n = 0;
    for (uint32_t u = from; u + g <= to; u += g) {
        bool take = pma_bm_next_one(a->bad, u, u + g) < u + g && !pma_bm_get(a->ret, u) &&
                    pma_bm_next_one(a->alloc, u, u + g) >= u + g;
        if (take && run_n && !h->fixed_slots) {
            run_n += g;
            continue;
        }
        if (run_n)
            retire_run(h, a, run, run_n);
        run_n = take ? g : 0;
        run = u;
    }
    if (run_n)
        retire_run(h, a, run, run_n);
}

/* Marks the groups covering [off, off + 64) bad and retires the free ones
 * (arena lock held). False when the line is past the last unit. */
static bool small_line(pma_heap *h, pma_arena *a, uint64_t off)
{
    uint64_t rel = off - a->data;
    uint64_t u0 = rel >> h->g_shift, u1 = (rel + PMA_LINE + h->cfg.granularity - 1) >> h->g_shift;
    if (u0 >= a->units)
        return false;
    uint32_t g = group_of(h, a);
    uint64_t g0 = u0 / g * g, g1 = round_up(u1, g);
    if (g1 > a->units)
        g1 = a->units / g * g;
    if (g0 >= g1)
        return false;
    if (!a->bad) {
        size_t words = a->bitmap_bytes / 8;
        a->bad = calloc(words, 8);
        a->ret = calloc(words, 8);
        if (!a->bad || !a->ret) {
            free(a->bad);
            free(a->ret);
            a->bad = a->ret = NULL;
            atomic_fetch_add_explicit(&h->bad_lost, 1, memory_order_relaxed);
            return true;
        }
    }
    for (uint32_t u = (uint32_t)g0; u < g1; u++)
        if (!pma_bm_get(a->bad, u)) {
            pma_bm_set_range(a->bad, u, 1);
            atomic_fetch_add_explicit(&a->nbad, 1, memory_order_relaxed);
        }
    retire_free_groups(h, a, (uint32_t)g0, (uint32_t)g1);
    return true;
}

void pma_badmap_retire_freed(pma_heap *h, pma_arena *a, uint32_t u, uint32_t n)
{
    if (pma_badmap_block_bad(a, u, n))
        retire_free_groups(h, a, u, u + n);
}

/* ---- large arenas ------------------------------------------------------------ */

void pma_badmap_retire_large(pma_heap *h, pma_arena *a)
{
    if (a->retired_large)
        return;
    a->retired_large = true;
    a->in_pool = false;
    atomic_fetch_add_explicit(&h->retired_blocks, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->retired_bytes, a->capacity, memory_order_relaxed);
    map_retire_range(h, a->data, a->off + a->size);
}

/* A failed line in a large arena's data area (looked up again under the
 * grow lock: a carve or merge may have changed which arena holds it). False
 * when it now lies in a small arena (carved from a freed large one). */
static bool large_line(pma_heap *h, uint64_t off)
{
    pthread_mutex_lock(&h->grow);
    pma_arena *a = pma_heap_arena_at(h, off);
    if (!a || !a->large) {
        pthread_mutex_unlock(&h->grow);
        return false;
    }
    if (off < a->data) {          /* now the header of an arena carved there */
        pthread_mutex_unlock(&h->grow);
        atomic_fetch_add_explicit(&h->meta_failed_lines, 1, memory_order_relaxed);
        return true;
    }
    pma_spin_lock(&a->lock);
    atomic_store(&a->bad_large, true);
    bool live = a->live_large;
    pma_spin_unlock(&a->lock);
    /* A live one is retired when its object is freed (alloc.c); a freed one
     * is in the pool, or about to be pushed there by a return that will see
     * bad_large under the grow lock, or kept by a thread, which retires it
     * when it next looks at it or hands it back (tcache.c). */
    if (!live && pma_pool_remove(h, a))
        pma_space_retire_bad(h, a);
    pthread_mutex_unlock(&h->grow);
    return true;
}

/* ---- taking failures ---------------------------------------------------------- */

static void take_line(pma_heap *h, uint64_t off)
{
    off -= off % PMA_LINE;
    uint64_t li = off / PMA_LINE;
    if (li >= h->bm_lines) {      /* past the device size the heap was made for */
        atomic_fetch_add_explicit(&h->meta_failed_lines, 1, memory_order_relaxed);
        return;
    }
    pthread_mutex_lock(&h->bm_lock);
    bool known = line_failed(h, li);
    pthread_mutex_unlock(&h->bm_lock);
    if (known)
        return;                   /* the device reports a failed line at every store */
    atomic_fetch_add_explicit(&h->failed_lines, 1, memory_order_relaxed);
    pma_arena *a = pma_heap_arena_at(h, off);
    if (!a || off < a->data) {
        atomic_fetch_add_explicit(&h->meta_failed_lines, 1, memory_order_relaxed);
        map_mark(h, li, false);
        return;
    }
    map_mark(h, li, false);       /* failed first: a crash from here on still knows */
    if (a->large && large_line(h, off))
        return;
    a = pma_heap_arena_at(h, off);
    pma_spin_lock(&a->lock);
    small_line(h, a, off);
    pma_spin_unlock(&a->lock);
}

void pma_badmap_drain(pma_heap *h)
{
    pthread_mutex_lock(&h->bad_lock);
    uint64_t *list = h->bad_pend;
    size_t n = h->bad_npend;
    h->bad_pend = NULL;
    h->bad_npend = h->bad_cap = 0;
    atomic_store_explicit(&h->bad_pending, false, memory_order_relaxed);
    pthread_mutex_unlock(&h->bad_lock);
    for (size_t i = 0; i < n; i++)
        take_line(h, list[i]);
    free(list);
}

/* pma_open: the map's failed lines, after recovery found the live set (no
 * other thread yet). Free bad groups are retired, live ones wait for their
 * free; a freed large arena is kept out of the pool. */
void pma_badmap_apply(pma_heap *h)
{
    size_t words = (size_t)((h->bm_lines + 31) / 32);
    for (size_t w = 0; w < words; w++) {
        uint64_t failed = h->bm[w] & 0x5555555555555555ull;
        while (failed) {
            uint64_t li = w * 32 + (unsigned)__builtin_ctzll(failed) / 2;
            failed &= failed - 1;
            uint64_t off = li * PMA_LINE;
            atomic_fetch_add_explicit(&h->failed_lines, 1, memory_order_relaxed);
            pma_arena *a = off < h->hwm ? pma_heap_arena_at(h, off) : NULL;
            if (!a || off < a->data) {
                atomic_fetch_add_explicit(&h->meta_failed_lines, 1, memory_order_relaxed);
                continue;
            }
            if (a->large) {
                atomic_store(&a->bad_large, true);
                if (!a->live_large && !a->retired_large) {
                    pma_pool_remove(h, a);
                    pma_space_retire_bad(h, a);
                }
                continue;
            }
            small_line(h, a, off);
        }
    }
}
