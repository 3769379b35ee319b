/*
 * persist_gc.c - the `gc` persistence protocol (after Ralloc, ISMM'20):
 * nothing about allocation is stored per operation. The live set is
 * durable in two ways only:
 *
 *   clean close   pma_destroy stores each small arena's live set in its
 *                 durable bitmaps (intent's encoding; only the words that
 *                 changed since the device last held them) and each large
 *                 arena's object word, fences, then sets the header's
 *                 gc_clean word. pma_open loads that state with no trace and
 *                 clears gc_clean (persisted) before the heap is used, so a
 *                 crash from then on is recovered by tracing.
 *   crash         pma_open marks what is reachable from the root and frees
 *                 the rest. Object starts follow from the arena's class:
 *                 small objects fill fixed slots of their class's size at
 *                 multiples of it (heap_internal.h: fixed_slots), a large
 *                 arena's object starts at its data area. Conservative by
 *                 default: every aligned 8-byte word of a reachable object
 *                 (its whole slot) that equals the device offset of an
 *                 object start makes that object reachable. A program's
 *                 tracer (pma_open_ex) reports the references itself. The
 *                 root may point inside an object: that object is live.
 *
 * Recovery reads object contents through nv_read, so the device counts
 * and charges the bytes recovery reads; it stores nothing. The cost of
 * the fixed slots is internal fragmentation: a request takes its class's
 * whole size (a 65-byte object takes 128 bytes).
 */
#include "tcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_CHUNK 65536u            /* bytes of a large object read at a time */

struct pma_tracer {
    pma_heap *h;
    uint64_t *stack;                 /* offsets of marked objects not yet scanned */
    size_t n, cap;
    int err;
};

static pma_heap_header *hdr(pma_heap *h) { return nv_base(h->dev); }

static int gc_attach(pma_heap *h)
{
    h->gc_clean_open = hdr(h)->gc_clean == PMA_GC_CLEAN;
    return 0;
}

static int gc_format(pma_heap *h) { (void)h; return 0; }

static int gc_arena_load(pma_heap *h, pma_arena *a)
{
    /* After a crash the space bitmaps start empty: the trace fills them. */
    return h->gc_clean_open ? pma_arena_bitmaps_from_dimg(h, a) : 0;
}

/* ---- the trace ------------------------------------------------------------- */

static void push(pma_tracer *t, uint64_t off)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        uint64_t *s = realloc(t->stack, cap * sizeof *s);
        if (!s) {
            t->err = PMA_ENOMEM;
            return;
        }
        t->stack = s;
        t->cap = cap;
    }
    t->stack[t->n++] = off;
}

/* The arena whose object starts at off, and the object's first unit; NULL
 * when no object can start there. */
static pma_arena *object_at(pma_heap *h, uint64_t off, uint32_t *unit)
{
    if (off < h->arena_base || off >= h->hwm)
        return NULL;
    pma_arena *a = pma_heap_arena_at(h, off);
    if (!a || off < a->data)
        return NULL;
    uint64_t rel = off - a->data;
    if (a->large) {
        *unit = 0;
        return rel == 0 ? a : NULL;
    }
    uint32_t n = pma_slot_units(h, atomic_load_explicit(&a->cls, memory_order_relaxed));
    if (rel & ((1ull << h->g_shift) - 1))
        return NULL;
    uint64_t u = rel >> h->g_shift;
    if (u & (n - 1) || u + n > a->units)
        return NULL;
    *unit = (uint32_t)u;
    return a;
}

/* Marks the object at off (a start); false when none starts there. */
static bool mark(pma_tracer *t, uint64_t off)
{
    uint32_t u;
    pma_arena *a = object_at(t->h, off, &u);
    if (!a)
        return false;
    /* A retired block is not an object: a reference to it is stale. */
    if (a->large) {
        if (a->live_large)
            return true;
        if (pma_badmap_retired(t->h, a->data, a->capacity))
            return false;
        a->live_large = true;
    } else {
        if (pma_bm_get(a->start, u))
            return true;
        if (pma_badmap_retired(t->h, off, (uint64_t)pma_slot_units(t->h, atomic_load(&a->cls)) << t->h->g_shift))
            return false;
        pma_bm_set_range(a->start, u, 1);
        pma_bm_set_range(a->alloc, u, pma_slot_units(t->h, atomic_load(&a->cls)));
    }
    push(t, off);
    return true;
}

void pma_trace_ref(pma_tracer *t, uint64_t off)
{
    if (!mark(t, off))
        t->h->info.bad_refs++;
}

/* The root may point inside an object: the object it is in is live. */
static void mark_root(pma_tracer *t, uint64_t root)
{
    pma_heap *h = t->h;
    if (!root || mark(t, root) || root < h->arena_base || root >= h->hwm)
        return;
    pma_arena *a = pma_heap_arena_at(h, root);
    if (!a || root < a->data)
        return;
    if (a->large) {
        if (root - a->data < a->capacity)
            mark(t, a->data);
        return;
    }
    uint64_t slot = (uint64_t)pma_slot_units(h, atomic_load(&a->cls)) << h->g_shift;
    mark(t, a->data + (root - a->data) / slot * slot);
}

static uint64_t object_bytes(pma_heap *h, uint64_t off)
{
    uint32_t u;
    pma_arena *a = object_at(h, off, &u);
    return a->large ? a->capacity : (uint64_t)pma_slot_units(h, atomic_load(&a->cls)) << h->g_shift;
}

/* Reads one marked object through the device and follows what it holds. */
static int scan(pma_tracer *t, uint64_t off, uint64_t *buf)
{
    pma_heap *h = t->h;
    uint64_t bytes = object_bytes(h, off);
    const pma_open_opts *o = h->open_opts;
    h->info.traced_objects++;
    h->info.scanned_bytes += bytes;
    if (o && o->trace) {
        void *copy = bytes <= SCAN_CHUNK ? buf : malloc(bytes);
        if (!copy)
            return PMA_ENOMEM;
        int rc = nv_read(h->dev, off, copy, bytes) ? PMA_EDEVICE : 0;
        if (rc == 0)
            o->trace(t, off, copy, bytes, o->trace_arg);
        if (copy != buf)
            free(copy);
        return rc;
    }
    for (uint64_t done = 0; done < bytes;) {
        size_t len = bytes - done < SCAN_CHUNK ? (size_t)(bytes - done) : SCAN_CHUNK;
        if (nv_read(h->dev, off + done, buf, len) != 0)
            return PMA_EDEVICE;
        for (size_t i = 0; i < len / 8; i++) {
            uint64_t w = buf[i];
            /* Most words are data: one range test rejects them. */
            if (w >= h->arena_base && w < h->hwm)
                mark(t, w);
        }
        done += len;
    }
    return t->err;
}

static int trace(pma_heap *h)
{
    pma_tracer t = {.h = h};
    uint64_t *buf = malloc(SCAN_CHUNK);
    if (!buf)
        return PMA_ENOMEM;
    for (pma_arena *a = h->first; a; a = a->all_next)
        if (a->large)
            a->live_large = false;     /* the object word is a clean close's: stale */
    mark_root(&t, h->root);
    int rc = t.err;
    while (rc == 0 && t.n)
        rc = scan(&t, t.stack[--t.n], buf);
    if (rc == 0)
        rc = t.err;
    free(t.stack);
    free(buf);
    return rc;
}

/* ---- open ------------------------------------------------------------------ */

static void derive_large(pma_arena *a, bool traced)
{
    /* Traced: the size asked for is not on the device; the object may use
     * the whole data area, so that is what it is taken to be. */
    if (traced)
        a->requested = a->allocated = a->live_large ? a->capacity : 0;
    a->objects = a->live_large;
}

/* A clean close's bitmaps hold whole slots at multiples of the slot. */
static int slots_valid(pma_heap *h, pma_arena *a)
{
    uint32_t n = pma_slot_units(h, atomic_load(&a->cls));
    for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
         s = pma_bm_next_one(a->start, s + 1, a->units))
        if (s & (n - 1) || s + n > a->units || pma_arena_object_units(a, s) != n)
            return PMA_ECORRUPT;
    uint32_t used = pma_bm_count_ones(a->alloc, 0, a->units);
    return used == pma_bm_count_ones(a->start, 0, a->units) * n ? 0 : PMA_ECORRUPT;
}

static int gc_recover(pma_heap *h)
{
    bool clean = h->gc_clean_open;
    int rc = clean ? 0 : trace(h);
    for (pma_arena *a = h->first; a && rc == 0; a = a->all_next) {
        if (a->large) {
            derive_large(a, !clean);
            continue;
        }
        if (clean && (rc = slots_valid(h, a)) != 0)
            break;
        pma_ri_mark_all(&a->ri);
        pma_live_from_space(h, a);
        pma_arena_derive_counters(h, a);
    }
    if (rc)
        return rc;
    h->info.how = clean ? "clean" : "trace";
    if (clean) {
        /* From now on a crash must trace: the state on the device goes stale. */
        uint64_t zero = 0, off = offsetof(pma_heap_header, gc_clean);
        rc = pma_meta_write(h, NULL, off, &zero, 8, NV_META_HEADER);
        pma_meta_flush(h, NULL, off, 8);
        pma_meta_fence(h, NULL);
        h->gc_clean_open = false;
    }
    return rc;
}

/* ---- clean close ----------------------------------------------------------- */

/* Stores the words of the live image that differ from what the device holds. */
static int store_image(pma_heap *h, pma_arena *a, const uint64_t *img)
{
    size_t words = a->bitmap_bytes / 8;
    int rc = 0;
    for (size_t w = 0; w < 2 * words; w++) {
        if (a->dimg[w] == img[w])
            continue;
        a->dimg[w] = img[w];
        uint64_t off = a->alloc_dev + w * 8;      /* start follows alloc: one area */
        rc |= pma_meta_write(h, NULL, off, &img[w], 8, NV_META_BITMAP);
        pma_meta_flush(h, NULL, off, 8);
    }
    return rc ? PMA_EDEVICE : 0;
}

static int store_large(pma_heap *h, pma_arena *a)
{
    const pma_arena_header *hd = (const void *)((const unsigned char *)nv_base(h->dev) + a->off);
    uint64_t w;
    pma_large_latest(hd, pma_large_worn_slots(h, a->off), &w);
    bool live = (w & PMA_OBJECT_LIVE) != 0;
    if (live == a->live_large && (!live || (w & PMA_OBJECT_SIZE_MASK) == a->requested))
        return 0;
    uint64_t word = pma_object_pack(a->live_large, a->log_seq, a->live_large ? a->requested : 0);
    int rc = pma_large_word_store(h, NULL, a, word, false);   /* the close fences once */
    if (rc == 0)
        a->log_seq = pma_object_next_seq(a->log_seq);
    return rc;
}

static int gc_close(pma_heap *h)
{
    uint64_t *img = NULL;
    size_t have = 0;
    int rc = 0;
    for (pma_arena *a = h->first; a && rc == 0; a = a->all_next) {
        if (a->large) {
            rc = store_large(h, a);
            continue;
        }
        if (have < a->bitmap_bytes / 4) {
            free(img);
            have = a->bitmap_bytes / 4;
            if (!(img = malloc(have * 8)))
                return PMA_ENOMEM;
        }
        pma_live_image(h, a, false, img);
        rc = store_image(h, a, img);
    }
    free(img);
    pma_meta_fence(h, NULL);
    if (rc)
        return rc;          /* not clean: the next open traces */
    uint64_t clean = PMA_GC_CLEAN, off = offsetof(pma_heap_header, gc_clean);
    rc = pma_meta_write(h, NULL, off, &clean, 8, NV_META_HEADER);
    pma_meta_flush(h, NULL, off, 8);
    pma_meta_fence(h, NULL);
    return rc;
}

/* ---- check ----------------------------------------------------------------- */

static int gc_check(pma_heap *h, pma_arena *a, char *msg, size_t len)
{
    uint32_t n = pma_slot_units(h, atomic_load(&a->cls));
    for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
         s = pma_bm_next_one(a->start, s + 1, a->units)) {
        if ((s & (n - 1)) == 0 && pma_arena_object_units(a, s) == n)
            continue;
        if (msg && len)
            snprintf(msg, len, "arena @%llu: block at unit %u is not a whole slot of its class (%u units)",
                     (unsigned long long)a->off, s, n);
        return PMA_ECORRUPT;
    }
    return 0;
}

static void gc_detach(pma_heap *h) { (void)h; }

const pma_persist_ops pma_persist_gc = {
    .name = "gc",
    .format = gc_format,
    .attach = gc_attach,
    .arena_load = gc_arena_load,
    .recover = gc_recover,
    .begin = NULL,
    .end = NULL,
    .alloc = NULL,
    .free = NULL,
    .check = gc_check,
    .close = gc_close,
    .detach = gc_detach,
    .large_words = false,
    .fixed_slots = true,
};
