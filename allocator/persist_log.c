/*
 * persist_log.c - the `log` persistence protocol. The DRAM bitmaps are
 * authoritative; the device holds a checkpoint of each small arena's live
 * set and a log of what changed since.
 *
 *   log region  [4096, 4096 + log_kib KiB): 4 KiB chunks of 16-byte records
 *               (layout.h). A thread claims a chunk (one atomic add per 256
 *               records) and appends to it: one record, one line flush, one
 *               fence per get or return. Chunks are handed out in turn from
 *               where the last epoch stopped, so every record slot is written
 *               once per epoch: the log's wear is spread over the region.
 *   checkpoint  the arena's bitmap area holds (alloc, start) bit pairs, 32
 *               units per 8-byte word, so a word is failure-atomic and holds
 *               both bits of each unit: a torn checkpoint is still, unit by
 *               unit, the old or the new state.
 *   epoch       heap header line 4. A record counts only if it carries the
 *               current epoch.
 *
 * When every chunk is taken (a log wrap), a checkpoint runs: with every
 * thread cache locked (no get or return in flight), each arena's live image
 * is compared with the last checkpoint and only the words that differ are
 * written and flushed; a fence; then the epoch is advanced (an 8-byte
 * store, flushed, fenced), which retires every record at once.
 *
 * Recovery (pma_open): the checkpoint gives a live set; every valid record
 * overrides the state of its start slot, the record with the latest slot
 * generation winning (a slot's gets and returns alternate and each bumps the
 * generation, so records written by different threads order themselves);
 * then the space bitmaps are rebuilt from the final live set and a fresh
 * checkpoint retires the log. A crash during a checkpoint leaves the old
 * epoch's records valid, and they decide every slot they touch; slots they do
 * not touch are the same in the old and the new checkpoint.
 */
#include "tcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pma_heap_header *hdr(pma_heap *h) { return nv_base(h->dev); }

/* Log size for a device: 1/64 of it, between 8 KiB and 1 MiB. */
static uint32_t log_kib_for(uint64_t device)
{
    uint64_t kib = device / 64 / 1024;
    kib = kib < 8 ? 8 : kib > 1024 ? 1024 : kib;
    return (uint32_t)(kib / (PMA_LOG_CHUNK / 1024) * (PMA_LOG_CHUNK / 1024));
}

static int log_format(pma_heap *h)
{
    uint32_t kib = h->cfg.log_kib ? h->cfg.log_kib : log_kib_for(nv_size(h->dev));
    if ((uint64_t)kib * 1024 + PMA_HEAP_HEADER_SIZE + PMA_ARENA_ALIGN > nv_size(h->dev))
        return PMA_ENOMEM;
    /* Stale records of an older heap must not carry epoch 1's marks: zero the
     * region's non-zero lines (once, at format). */
    const unsigned char *p = nv_base(h->dev);
    static const unsigned char zero[PMA_LINE];
    for (uint64_t o = PMA_HEAP_HEADER_SIZE; o < PMA_HEAP_HEADER_SIZE + (uint64_t)kib * 1024; o += PMA_LINE) {
        if (memcmp(p + o, zero, PMA_LINE) != 0) {
            if (nv_set(h->dev, o, 0, PMA_LINE, NV_META_LOG) != 0)
                return PMA_EDEVICE;
            nv_flush(h->dev, o, PMA_LINE);
        }
    }
    h->log_bytes = (uint64_t)kib * 1024;     /* pma_init stores it in the header */
    return 0;
}

static int log_attach(pma_heap *h)
{
    const pma_heap_header *hd = hdr(h);
    h->log_off = PMA_HEAP_HEADER_SIZE;
    h->log_bytes = (uint64_t)hd->log_kib * 1024;
    h->log_chunks = (uint32_t)(h->log_bytes / PMA_LOG_CHUNK);
    /* 2^19 records at most: a slot's generations in one epoch stay
     * comparable mod 2^20 */
    if (h->log_chunks < 2 || h->log_bytes % PMA_LOG_CHUNK || h->log_bytes / PMA_LOG_REC > (1u << 19) ||
        h->log_bytes > nv_size(h->dev) - PMA_HEAP_HEADER_SIZE)
        return PMA_ECORRUPT;
    h->arena_base = h->log_off + h->log_bytes;
    h->epoch = hd->log_epoch;
    h->log_start = (uint32_t)(hd->log_start % h->log_chunks);
    atomic_store(&h->log_used, 0);
    return 0;
}

/* ---- checkpoint ------------------------------------------------------------ */

static int scratch(pma_heap *h, size_t words)
{
    if (h->ck_scratch_words >= words)
        return 0;
    free(h->ck_scratch);
    h->ck_scratch = malloc(words * 8);
    h->ck_scratch_words = h->ck_scratch ? words : 0;
    return h->ck_scratch ? 0 : PMA_ENOMEM;
}

/* Writes one arena's changed checkpoint words, one store per touched line. */
static int checkpoint_arena(pma_heap *h, pma_arena *a)
{
    size_t words = a->bitmap_bytes / 4;       /* both halves: the pairs */
    if (scratch(h, words) != 0)
        return PMA_ENOMEM;
    uint64_t *img = h->ck_scratch;
    pma_live_image(h, a, true, img);
    int rc = 0;
    for (size_t line = 0; line < words; line += PMA_LINE / 8) {
        size_t end = line + PMA_LINE / 8 < words ? line + PMA_LINE / 8 : words, lo = end, hi = 0;
        for (size_t w = line; w < end; w++)
            if (img[w] != a->dimg[w]) {
                lo = lo < w ? lo : w;
                hi = w;
            }
        if (lo == end)
            continue;
        memcpy(&a->dimg[lo], &img[lo], (hi - lo + 1) * 8);
        uint64_t off = a->alloc_dev + lo * 8;
        rc |= pma_meta_write(h, NULL, off, &img[lo], (hi - lo + 1) * 8, NV_META_BITMAP);
        pma_meta_flush(h, NULL, off, (hi - lo + 1) * 8);
    }
    return rc ? PMA_EDEVICE : 0;
}

/* Every cache lock held (or the heap not yet shared). */
static int checkpoint(pma_heap *h)
{
    int rc = 0;
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        pma_spin_lock(&a->lock);
        rc |= checkpoint_arena(h, a);
        pma_spin_unlock(&a->lock);
    }
    pma_meta_fence(h, NULL);
    if (rc)
        return rc;          /* the old epoch stays: its records still decide */
    uint32_t used = atomic_load(&h->log_used);
    uint64_t line[2] = {h->epoch + 1, (h->log_start + (used < h->log_chunks ? used : h->log_chunks)) % h->log_chunks};
    uint64_t off = offsetof(pma_heap_header, log_epoch);
    if (pma_meta_write(h, NULL, off, line, sizeof line, NV_META_LOG) != 0)
        return PMA_EDEVICE;
    pma_meta_flush(h, NULL, off, sizeof line);
    pma_meta_fence(h, NULL);
    h->epoch = line[0];
    h->log_start = (uint32_t)line[1];
    atomic_store(&h->log_used, 0);
    for (pma_tcache *tc = h->caches; tc; tc = tc->hnext)
        tc->log_pos = tc->log_end = 0;
    atomic_fetch_add(&h->checkpoints, 1);
    return 0;
}

/* A log wrap: stop every thread at the edge of an operation, checkpoint. */
static int checkpoint_all(pma_heap *h)
{
    pthread_mutex_lock(&h->tc_lock);
    for (pma_tcache *tc = h->caches; tc; tc = tc->hnext)
        pma_spin_lock(&tc->lock);
    int rc = 0;
    if (atomic_load(&h->log_used) >= h->log_chunks) {
        atomic_fetch_add(&h->log_wraps, 1);
        rc = checkpoint(h);
    }
    for (pma_tcache *tc = h->caches; tc; tc = tc->hnext)
        pma_spin_unlock(&tc->lock);
    pthread_mutex_unlock(&h->tc_lock);
    return rc;
}

/* ---- the fast path -------------------------------------------------------- */

static int log_begin(pma_heap *h, pma_tcache *tc)
{
    while (tc->log_pos == tc->log_end) {
        uint32_t k = atomic_fetch_add_explicit(&h->log_used, 1, memory_order_relaxed);
        if (k < h->log_chunks) {
            uint64_t chunk = (h->log_start + k) % h->log_chunks;
            tc->log_pos = h->log_off + chunk * PMA_LOG_CHUNK;
            tc->log_end = tc->log_pos + PMA_LOG_CHUNK;
            break;
        }
        pma_spin_unlock(&tc->lock);
        pthread_mutex_lock(&h->ckpt);
        int rc = checkpoint_all(h);
        pthread_mutex_unlock(&h->ckpt);
        pma_spin_lock(&tc->lock);
        if (rc)
            return rc;
    }
    return 0;
}

static int append(pma_heap *h, pma_tcache *tc, pma_arena *a, unsigned op, uint32_t u, uint32_t n)
{
    uint64_t w[2];
    uint32_t gen = atomic_load_explicit(&a->slot[u >> a->stride_shift].gen, memory_order_relaxed);
    pma_rec_pack(w, op, h->epoch, a->data + ((uint64_t)u << h->g_shift), gen, n);
    uint64_t off = tc->log_pos;
    if (pma_meta_write(h, tc, off, w, sizeof w, NV_META_LOG) != 0)
        return PMA_EDEVICE;
    pma_meta_flush(h, tc, off, sizeof w);
    pma_meta_fence(h, tc);
    tc->log_pos += PMA_LOG_REC;
    return 0;
}

static int log_alloc(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n)
{
    return append(h, tc, a, PMA_OP_ALLOC, u, n);
}

static int log_free(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n)
{
    return append(h, tc, a, PMA_OP_FREE, u, n);
}

/* ---- loading and recovery --------------------------------------------------- */

/* Bit pairs (dimg) into the space bitmaps. */
static int pairs_to_space(const pma_arena *a, const uint64_t *pairs, uint64_t *alloc, uint64_t *start)
{
    size_t words = a->bitmap_bytes / 4;
    memset(alloc, 0, a->bitmap_bytes);
    memset(start, 0, a->bitmap_bytes);
    for (size_t w = 0; w < words; w++) {
        uint64_t x = pairs[w];
        while (x) {
            unsigned b = (unsigned)__builtin_ctzll(x);
            x &= x - 1;
            uint32_t u = (uint32_t)(w * 32 + b / 2);
            if (u >= a->units)
                return PMA_ECORRUPT;
            if (b & 1)
                start[u >> 6] |= 1ull << (u & 63);
            else
                alloc[u >> 6] |= 1ull << (u & 63);
        }
    }
    return 0;
}

static int log_arena_load(pma_heap *h, pma_arena *a)
{
    (void)h;
    return pairs_to_space(a, a->dimg, a->alloc, a->start);
}

/* The final live set of every small arena, from its checkpoint (already in
 * the space bitmaps) and the log: rebuilds the space bitmaps. `seen` marks
 * slots a record decided. Modifies only DRAM. */
static int replay(pma_heap *h, uint64_t **seen_out)
{
    const unsigned char *base = nv_base(h->dev);
    /* Base lengths first: records overwrite the slots they decide. */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
             s = pma_bm_next_one(a->start, s + 1, a->units)) {
            if (!pma_bm_get(a->alloc, s) || s % a->stride)
                return PMA_ECORRUPT;
            pma_slot *sl = &a->slot[s >> a->stride_shift];
            sl->n = (uint16_t)pma_arena_object_units(a, s);
            sl->slack = 1;
        }
    }
    for (uint64_t off = h->log_off; off < h->log_off + h->log_bytes; off += PMA_LOG_REC) {
        uint64_t w[2];
        memcpy(w, base + off, sizeof w);
        if (!pma_rec_valid(w, h->epoch))
            continue;
        unsigned op = pma_rec_op(w);
        uint64_t at = pma_rec_off(w);
        uint32_t n = pma_rec_units(w);
        if (op != PMA_OP_ALLOC && op != PMA_OP_FREE)
            return PMA_ECORRUPT;
        if (at < h->arena_base || at >= h->hwm)
            return PMA_ECORRUPT;
        pma_arena *a = pma_heap_arena_at(h, at);
        if (!a || a->large || at < a->data)
            return PMA_ECORRUPT;
        uint64_t rel = at - a->data;
        uint64_t u = rel >> h->g_shift;
        if ((rel & (h->q - 1)) || u >= a->units || n > a->units - u)
            return PMA_ECORRUPT;
        uint64_t *seen = seen_out[a->all_index];
        pma_slot *sl = &a->slot[u >> a->stride_shift];
        uint32_t gen = pma_rec_gen(w);
        if (pma_bm_get(seen, (uint32_t)u) &&
            !pma_gen_after(gen, atomic_load_explicit(&sl->gen, memory_order_relaxed)))
            continue;
        seen[u >> 6] |= 1ull << (u & 63);
        atomic_store_explicit(&sl->gen, gen, memory_order_relaxed);
        sl->n = (uint16_t)n;
        sl->slack = op == PMA_OP_ALLOC;
    }
    /* Rebuild: the final set is the checkpoint's starts a record did not
     * decide, and the records that say live. Overlaps mean a corrupt image. */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        uint64_t *seen = seen_out[a->all_index];
        size_t words = a->bitmap_bytes / 8;
        for (size_t i = 0; i < words; i++)
            seen[i] |= a->start[i];           /* every candidate start */
        memset(a->alloc, 0, a->bitmap_bytes);
        memset(a->start, 0, a->bitmap_bytes);
        for (uint32_t s = pma_bm_next_one(seen, 0, a->units); s < a->units;
             s = pma_bm_next_one(seen, s + 1, a->units)) {
            pma_slot *sl = &a->slot[s >> a->stride_shift];
            if (!sl->slack)
                continue;
            if (s % a->stride || sl->n == 0 || sl->n > a->units - s ||
                pma_bm_next_one(a->alloc, s, s + sl->n) < s + sl->n)
                return PMA_ECORRUPT;
            pma_bm_set_range(a->start, s, 1);
            pma_bm_set_range(a->alloc, s, sl->n);
        }
        for (uint32_t s = pma_bm_next_one(seen, 0, a->units); s < a->units;
             s = pma_bm_next_one(seen, s + 1, a->units))
            a->slot[s >> a->stride_shift] = (pma_slot){0};
    }
    return 0;
}

static uint64_t **seen_alloc(pma_heap *h)
{
    size_t n = 0;
    for (pma_arena *a = h->first; a; a = a->all_next)
        a->all_index = n++;
    uint64_t **seen = calloc(n ? n : 1, sizeof *seen);
    if (!seen)
        return NULL;
    for (pma_arena *a = h->first; a; a = a->all_next)
        if (!a->large && !(seen[a->all_index] = calloc(a->bitmap_bytes / 8, 8)))
            return seen;           /* the caller finds the NULL */
    return seen;
}

static void seen_free(pma_heap *h, uint64_t **seen)
{
    if (!seen)
        return;
    for (pma_arena *a = h->first; a; a = a->all_next)
        free(seen[a->all_index]);
    free(seen);
}

static bool seen_ok(pma_heap *h, uint64_t **seen)
{
    if (!seen)
        return false;
    for (pma_arena *a = h->first; a; a = a->all_next)
        if (!a->large && !seen[a->all_index])
            return false;
    return true;
}

static int log_recover(pma_heap *h)
{
    uint64_t **seen = seen_alloc(h);
    int rc = seen_ok(h, seen) ? replay(h, seen) : PMA_ENOMEM;
    seen_free(h, seen);
    if (rc)
        return rc;
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        pma_ri_mark_all(&a->ri);
        pma_live_from_space(h, a);
        pma_arena_derive_counters(h, a);
    }
    /* A fresh checkpoint: the replayed records retire, generations restart. */
    return checkpoint(h);
}

static int check_fail(char *msg, size_t len, const pma_arena *a, const char *what, uint32_t u)
{
    if (msg && len)
        snprintf(msg, len, "arena @%llu: %s (unit %u)", (unsigned long long)a->off, what, u);
    return PMA_ECORRUPT;
}

/* The checkpoint on the device equals dimg, and what recovery would make of
 * the device decides every slot as the live set has it: the latest record
 * where there is one, the checkpoint elsewhere. Reads only. */
static int log_check(pma_heap *h, pma_arena *a, char *msg, size_t len)
{
    size_t words = a->bitmap_bytes / 8;
    const unsigned char *base = nv_base(h->dev);
    if (memcmp(base + a->alloc_dev, a->dimg, 2 * words * 8) != 0)
        return check_fail(msg, len, a, "checkpoint on the device differs from its DRAM copy", 0);
    uint64_t *alloc = calloc(words, 8), *start = calloc(words, 8), *seen = calloc(words, 8);
    uint32_t *gen = calloc(a->units / a->stride + 1, sizeof *gen);
    uint8_t *live = calloc(a->units / a->stride + 1, 1);
    uint16_t *units = calloc(a->units / a->stride + 1, sizeof *units);
    int rc = 0;
    if (!alloc || !start || !seen || !gen || !live || !units) {
        rc = PMA_ENOMEM;
        goto out;
    }
    if (pairs_to_space(a, a->dimg, alloc, start) != 0) {
        rc = check_fail(msg, len, a, "checkpoint has bits past the last unit", 0);
        goto out;
    }
    for (uint64_t off = h->log_off; off < h->log_off + h->log_bytes; off += PMA_LOG_REC) {
        uint64_t w[2];
        memcpy(w, base + off, sizeof w);
        uint64_t at = pma_rec_off(w);
        if (!pma_rec_valid(w, h->epoch) || at < a->data || at >= a->off + a->size)
            continue;
        uint64_t u = (at - a->data) >> h->g_shift;
        if (u >= a->units || u % a->stride) {
            rc = check_fail(msg, len, a, "a log record names no start slot", (uint32_t)u);
            goto out;
        }
        size_t sl = u >> a->stride_shift;
        if (pma_bm_get(seen, (uint32_t)u) && !pma_gen_after(pma_rec_gen(w), gen[sl]))
            continue;
        seen[u >> 6] |= 1ull << (u & 63);
        gen[sl] = pma_rec_gen(w);
        live[sl] = pma_rec_op(w) == PMA_OP_ALLOC;
        units[sl] = (uint16_t)pma_rec_units(w);
    }
    for (uint32_t u = 0; u < a->units; u += a->stride) {
        size_t sl = u >> a->stride_shift;
        bool is_live = (atomic_load_explicit(&a->live[u >> 6], memory_order_relaxed) >> (u & 63)) & 1;
        bool durable = pma_bm_get(seen, u) ? live[sl] : pma_bm_get(start, u);
        uint32_t n = pma_bm_get(seen, u) ? units[sl] :
                     pma_bm_get(start, u) ? pma_bm_next_boundary(start, alloc, u + 1, a->units) - u : 0;
        if (is_live != durable) {
            rc = check_fail(msg, len, a, is_live ? "a live object would not survive a crash"
                                                 : "a free block would come back live after a crash", u);
            goto out;
        }
        if (is_live && n != a->slot[sl].n) {
            rc = check_fail(msg, len, a, "a live object would come back with another length", u);
            goto out;
        }
    }
out:
    free(alloc); free(start); free(seen); free(gen); free(live); free(units);
    return rc;
}

static void log_detach(pma_heap *h)
{
    free(h->ck_scratch);
    h->ck_scratch = NULL;
    h->ck_scratch_words = 0;
}

const pma_persist_ops pma_persist_log = {
    .name = "log",
    .format = log_format,
    .attach = log_attach,
    .arena_load = log_arena_load,
    .recover = log_recover,
    .begin = log_begin,
    .alloc = log_alloc,
    .free = log_free,
    .check = log_check,
    .detach = log_detach,
};
