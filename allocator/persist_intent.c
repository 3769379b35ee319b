/*
 * persist_intent.c - the `intent` persistence protocol (the first one, kept
 * for comparison). The device holds, per small arena, an allocation bitmap
 * and a start bitmap of the live set (physical order: linear or
 * interleaved), and 8 intent slots in the arena header. Making an
 * allocation or a free of units [first, first+n) durable is, under the
 * arena lock:
 *
 *   1. write the intent word {op, seq, first, n} into the next of the 8 log
 *      slots (each its own line, used in turn, so the log's wear is spread);
 *      flush; fence.
 *   2. set (alloc) or clear (free) the start bit at `first` and the alloc bits
 *      of the range; flush every line written; fence.
 *
 * Only the arena's latest intent can be unfinished (the lock serializes its
 * operations, and each finishes step 2 before the next begins), and an 8-byte
 * aligned store is failure-atomic, so at open:
 *
 *   - latest intent alloc: if the start bit and every alloc bit are set, the
 *     allocation finished: keep it. Otherwise undo it: the range was free
 *     before step 2 began (a block in a thread cache is free on the device),
 *     so clearing it is exact.
 *   - latest intent free: redo it (clearing is idempotent). The object ends
 *     up free: never half.
 *
 * Whatever else is found inconsistent at open (allocated units with no
 * start, starts on free units) is repaired and counted in leaked_bytes.
 */
#include "tcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the changed durable words [w0, w1] of one bitmap half, flushed. */
static int store_words(pma_heap *h, pma_tcache *tc, uint64_t dev_off, const uint64_t *img, uint32_t w0, uint32_t w1)
{
    size_t len = (size_t)(w1 - w0 + 1) * 8;
    if (pma_meta_write(h, tc, dev_off + (uint64_t)w0 * 8, &img[w0], len, NV_META_BITMAP) != 0)
        return PMA_EDEVICE;
    pma_meta_flush(h, tc, dev_off + (uint64_t)w0 * 8, len);
    return 0;
}

/* Sets or clears bits [first, first+n) of one durable bitmap and stores the
 * changed words (the caller fences). */
static int bits_store(pma_heap *h, pma_tcache *tc, pma_arena *a, uint64_t *phys, uint64_t dev_off,
                      uint32_t first, uint32_t n, bool set)
{
    if (a->stripe == 1) {
        if (set)
            pma_bm_set_range(phys, first, n);
        else
            pma_bm_clear_range(phys, first, n);
        return store_words(h, tc, dev_off, phys, first >> 6, (first + n - 1) >> 6);
    }
    /* Interleaved: consecutive logical bits sit in different lines; write each
     * touched word once. Words come out grouped by line, so a short scan of
     * what was already written dedupes them. */
    uint32_t touched[64];
    uint32_t nt = 0;
    int rc = 0;
    for (uint32_t i = first; i < first + n; i++) {
        uint32_t p = pma_bm_interleave(i, a->stripe);
        if (set)
            phys[p >> 6] |= 1ull << (p & 63);
        else
            phys[p >> 6] &= ~(1ull << (p & 63));
        uint32_t w = p >> 6, k = 0;
        while (k < nt && touched[k] != w)
            k++;
        if (k < nt)
            continue;
        if (nt == 64) {
            for (k = 0; k < nt; k++)
                rc |= store_words(h, tc, dev_off, phys, touched[k], touched[k]);
            nt = 0;
        }
        touched[nt++] = w;
    }
    for (uint32_t k = 0; k < nt; k++)
        rc |= store_words(h, tc, dev_off, phys, touched[k], touched[k]);
    return rc ? PMA_EDEVICE : 0;
}

static int log_intent(pma_heap *h, pma_tcache *tc, pma_arena *a, unsigned op, uint32_t first, uint32_t n)
{
    if (pma_arena_slot_persist(h, tc, a, pma_log_pack(op, a->log_seq, first, n), NV_META_LOG))
        return PMA_EDEVICE;
    a->log_seq = (a->log_seq + 1) & 63;
    return 0;
}

static int change(pma_heap *h, pma_tcache *tc, pma_arena *a, unsigned op, uint32_t u, uint32_t n)
{
    bool set = op == PMA_OP_ALLOC;
    pma_spin_lock(&a->lock);
    int rc = log_intent(h, tc, a, op, u, n);
    if (rc == 0)
        rc = bits_store(h, tc, a, a->start_phys, a->start_dev, u, 1, set);
    if (rc == 0)
        rc = bits_store(h, tc, a, a->alloc_phys, a->alloc_dev, u, n, set);
    pma_meta_fence(h, tc);
    pma_spin_unlock(&a->lock);
    return rc;
}

static int intent_alloc(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n)
{
    return change(h, tc, a, PMA_OP_ALLOC, u, n);
}

static int intent_free(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n)
{
    return change(h, tc, a, PMA_OP_FREE, u, n);
}

static int latest_log_slot(const pma_arena_header *hd)
{
    int latest = -1;
    for (int i = 0; i < PMA_LOG_SLOTS; i++) {
        uint64_t w = hd->log[i].word;
        if (pma_log_op(w) == PMA_OP_NONE)
            continue;
        uint64_t nx = hd->log[(i + 1) % PMA_LOG_SLOTS].word;
        if (pma_log_op(nx) == PMA_OP_NONE || pma_log_seq(nx) != ((pma_log_seq(w) + 1) & 63))
            latest = i;
    }
    return latest;
}

static const pma_arena_header *header_of(pma_heap *h, const pma_arena *a)
{
    return (const void *)((const unsigned char *)nv_base(h->dev) + a->off);
}

/* The physical bitmaps (dimg, as read from the device) into logical order,
 * and where the arena's intent slots stand. */
static int intent_arena_load(pma_heap *h, pma_arena *a)
{
    int rc = pma_arena_bitmaps_from_dimg(h, a);
    if (rc)
        return rc;
    int latest = latest_log_slot(header_of(h, a));
    a->log_slot = (unsigned)(latest + 1) % PMA_LOG_SLOTS;
    a->log_seq = latest < 0 ? 0 : (pma_log_seq(header_of(h, a)->log[latest].word) + 1) & 63;
    return 0;
}

static bool range_all_set(const uint64_t *w, uint32_t first, uint32_t n)
{
    return pma_bm_next_zero(w, first, first + n) == first + n;
}

/* Writes the words of dimg that differ from img, flushed; img becomes dimg. */
static int sync_image(pma_heap *h, pma_arena *a, const uint64_t *img)
{
    size_t words = a->bitmap_bytes / 8;
    int rc = 0;
    for (size_t w = 0; w < 2 * words; w++) {
        if (a->dimg[w] == img[w])
            continue;
        a->dimg[w] = img[w];
        uint64_t off = (w < words ? a->alloc_dev : a->start_dev - words * 8) + w * 8;
        rc |= pma_meta_write(h, NULL, off, &img[w], 8, NV_META_BITMAP);
        pma_meta_flush(h, NULL, off, 8);
    }
    return rc ? PMA_EDEVICE : 0;
}

/* Applies the latest intent, repairs what is left inconsistent. */
static int recover_arena(pma_heap *h, pma_arena *a, uint64_t *img)
{
    int latest = latest_log_slot(header_of(h, a));
    if (latest >= 0) {
        uint64_t w = header_of(h, a)->log[latest].word;
        uint32_t first = pma_log_first(w), n = pma_log_count(w);
        if (n == 0 || first >= a->units || n > a->units - first)
            return PMA_ECORRUPT;
        bool done = pma_bm_get(a->start, first) && range_all_set(a->alloc, first, n);
        if (pma_log_op(w) == PMA_OP_FREE || !done) {
            if (pma_bm_get(a->start, first) || pma_bm_next_one(a->alloc, first, first + n) < first + n) {
                pma_bm_clear_range(a->start, first, 1);
                pma_bm_clear_range(a->alloc, first, n);
                h->recovered_ops++;
            }
        }
    }
    for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
         s = pma_bm_next_one(a->start, s + 1, a->units))
        if (!pma_bm_get(a->alloc, s) || s % a->stride)
            pma_bm_clear_range(a->start, s, 1);
    for (uint32_t u = pma_bm_next_one(a->alloc, 0, a->units); u < a->units;) {
        uint32_t end = pma_bm_next_zero(a->alloc, u, a->units);
        if (!pma_bm_get(a->start, u)) {
            uint32_t stop = pma_bm_next_one(a->start, u, end);
            pma_bm_clear_range(a->alloc, u, stop - u);
            h->leaked_bytes += (uint64_t)(stop - u) * h->cfg.granularity;
            u = stop < end ? stop : pma_bm_next_one(a->alloc, end, a->units);
            continue;
        }
        u = pma_bm_next_one(a->alloc, end, a->units);
    }
    pma_ri_mark_all(&a->ri);
    pma_live_from_space(h, a);
    pma_live_image(h, a, false, img);
    return sync_image(h, a, img);
}

static int intent_recover(pma_heap *h)
{
    uint64_t *img = NULL;
    size_t have = 0;
    int rc = 0;
    for (pma_arena *a = h->first; a && rc == 0; a = a->all_next) {
        if (a->large)
            continue;
        if (have < a->bitmap_bytes / 4) {
            free(img);
            have = a->bitmap_bytes / 4;
            if (!(img = malloc(have * 8)))
                return PMA_ENOMEM;
        }
        rc = recover_arena(h, a, img);
        pma_arena_derive_counters(h, a);
    }
    pma_meta_fence(h, NULL);
    free(img);
    return rc;
}

static int intent_check(pma_heap *h, pma_arena *a, char *msg, size_t len)
{
    size_t words = a->bitmap_bytes / 8;
    uint64_t *img = malloc(2 * words * 8);
    if (!img)
        return PMA_ENOMEM;
    pma_live_image(h, a, false, img);
    int bad = memcmp(img, a->dimg, 2 * words * 8) != 0 ? 1 :
              memcmp((const unsigned char *)nv_base(h->dev) + a->alloc_dev, a->dimg, 2 * words * 8) != 0 ? 2 : 0;
    free(img);
    if (bad && msg && len)
        snprintf(msg, len, "arena @%llu: %s", (unsigned long long)a->off,
                 bad == 1 ? "durable bitmap mirror differs from the live set"
                          : "persistent bitmap differs from its DRAM mirror");
    return bad ? PMA_ECORRUPT : 0;
}

static int no_op(pma_heap *h) { (void)h; return 0; }
static void no_detach(pma_heap *h) { (void)h; }

const pma_persist_ops pma_persist_intent = {
    .name = "intent",
    .format = no_op,
    .attach = no_op,
    .arena_load = intent_arena_load,
    .recover = intent_recover,
    .begin = NULL,
    .end = NULL,
    .alloc = intent_alloc,
    .free = intent_free,
    .check = intent_check,
    .close = NULL,
    .detach = no_detach,
    .large_words = true,
    .fixed_slots = false,
};
