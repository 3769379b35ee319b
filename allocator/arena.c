/*
 * arena.c - one arena: its geometry, creation and loading, and how space is
 * handed out inside it.
 *
 * An arena is a 4 KiB-aligned region: a header, a durable bitmap area (two
 * bitmaps' worth: one bit per G bytes of the data area for allocation, one
 * for object starts), and the data area. The DRAM alloc/start bitmaps (in
 * logical bit order) are what the allocator searches: they say which units
 * are handed out, to live objects or to thread caches (space). What the
 * device holds is the live set only, in the encoding of the heap's
 * persistence protocol (persist_intent.c: two physical bitmaps written per
 * operation; persist_log.c: (alloc, start) bit pairs checkpointed now and
 * then). dimg is the DRAM copy of that area; the device copy is written,
 * never read, except when the heap is opened. Large arenas hold one object
 * and no bitmaps; their object word in the header is written per get and
 * return under every protocol.
 *
 * Creating an arena writes its header and clears what is not already zero
 * in its bitmap area (reading before writing: clearing zeros would wear
 * cells for nothing), persists them, and only then is the heap's hwm moved
 * over it (heap.c), so a crash in between leaves the arena invisible.
 *
 * Locking: callers hold the arena lock for everything that touches a
 * created arena's space bitmaps or counters.
 */
#include "heap_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HDR_BYTES ((uint32_t)sizeof(pma_arena_header))

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* Zeroed memory whose pages come at first touch. Shared: a private page
 * read first (the checkpoint reads slots no object has used yet) maps the
 * zero page, and the first write then flushes every other thread's TLB
 * (sim/dram_device.c says more). A forked child shares it: a heap is not
 * for use on both sides of a fork. */
static void *lazy_zalloc(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void lazy_free(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes ? bytes : 1);
}

/* ---- geometry ------------------------------------------------------------ */
static uint32_t stripe_of(const pma_heap *h)
{
    return h->cfg.bitmap_layout == PMA_LAYOUT_INTERLEAVED ? 8 : 1;
}

void pma_geometry_small(const pma_heap *h, uint64_t size, pma_geometry *g)
{
    uint32_t G = h->cfg.granularity, S = stripe_of(h);
    uint64_t quantum = h->q > PMA_LINE ? h->q : PMA_LINE;
    uint64_t units = (size - HDR_BYTES) * 8 / (8 * (uint64_t)G + 2);
    if (units > PMA_MAX_UNITS)
        units = PMA_MAX_UNITS;
    for (;;) {
        uint64_t bm = round_up((units + 7) / 8, (uint64_t)PMA_LINE * S);
        uint64_t data = round_up(HDR_BYTES + 2 * bm, quantum);
        uint64_t fit = data < size ? (size - data) / G : 0;
        if (fit >= units || units == 0) {
            g->units = (uint32_t)units;
            g->bitmap_bytes = (uint32_t)bm;
            g->stripe = S;
            g->alloc_off = HDR_BYTES;
            g->start_off = HDR_BYTES + (uint32_t)bm;
            g->data_off = (uint32_t)data;
            return;
        }
        units = fit;
    }
}

uint32_t pma_large_data_off(const pma_heap *h)
{
    uint64_t quantum = h->q > PMA_LINE ? h->q : PMA_LINE;
    return (uint32_t)round_up(HDR_BYTES, quantum);
}

/* ---- DRAM state ----------------------------------------------------------- */

static size_t slots_of(const pma_arena *a) { return a->units / a->stride + 1; }
static size_t wear_bytes(const pma_heap *h, const pma_arena *a)
{
    return ((uint64_t)a->units * h->cfg.granularity / PMA_WEAR_BLOCK + 1) * sizeof *a->wear;
}

static int arena_dram_init(pma_heap *h, pma_arena *a, const pma_geometry *g)
{
    a->units = g->units;
    a->stride = h->q / h->cfg.granularity;
    a->stride_shift = (unsigned)__builtin_ctz(a->stride);
    a->bitmap_bytes = g->bitmap_bytes;
    a->stripe = g->stripe;
    a->alloc_dev = a->off + g->alloc_off;
    a->start_dev = a->off + g->start_off;
    a->data = a->off + g->data_off;
    size_t words = g->bitmap_bytes / 8;
    a->alloc = calloc(words, 8);
    a->start = calloc(words, 8);
    a->slot = lazy_zalloc(slots_of(a) * sizeof *a->slot);
    if (h->persistent && h->cfg.persistence == PMA_PERSIST_LOG) {
        a->ck_mark[0] = calloc(words, 8);
        a->ck_mark[1] = calloc(words, 8);
        a->ck_sum[0] = calloc((words + 63) / 64, 8);
        a->ck_sum[1] = calloc((words + 63) / 64, 8);
        if (!a->ck_mark[0] || !a->ck_mark[1] || !a->ck_sum[0] || !a->ck_sum[1])
            return PMA_ENOMEM;
    }
    if (h->persistent) {
        a->dimg = calloc(2 * words, 8);
        a->alloc_phys = a->dimg;
        a->start_phys = a->dimg ? a->dimg + words : NULL;
    }
    if (h->cfg.policy == PMA_WEAR_AWARE)
        a->wear = lazy_zalloc(wear_bytes(h, a));
    if (!a->alloc || pma_ri_init(&a->ri, (uint32_t)words) != 0 || !a->start || !a->slot ||
        (h->persistent && !a->dimg) || (h->cfg.policy == PMA_WEAR_AWARE && !a->wear))
        return PMA_ENOMEM;
    a->free_units = a->units;
    return 0;
}

void pma_arena_free_dram(pma_heap *h, pma_arena *a)
{
    free(a->alloc);
    pma_ri_free(&a->ri);
    free(a->start);
    free(a->dimg);
    free(a->bad);
    free(a->ret);
    free((void *)a->ck_mark[0]);
    free((void *)a->ck_mark[1]);
    free((void *)a->ck_sum[0]);
    free((void *)a->ck_sum[1]);
    if (a->units) {
        lazy_free(a->slot, slots_of(a) * sizeof *a->slot);
        if (a->wear)
            lazy_free(a->wear, wear_bytes(h, a));
    }
    free(a);
}

/* ---- the live set ----------------------------------------------------------- */

void pma_live_image(const pma_heap *h, const pma_arena *a, bool pairs, uint64_t *out)
{
    size_t words = a->bitmap_bytes / 8;
    memset(out, 0, 2 * words * 8);
    (void)h;
    /* Live objects start where the arena has a block (arena lock held). */
    for (size_t w = 0; w < words; w++) {
        uint64_t bits = a->start[w];
        while (bits) {
            uint32_t s = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(bits));
            bits &= bits - 1;
            const pma_slot *sl = &a->slot[s >> a->stride_shift];
            if (!pma_slot_live(sl))
                continue;
            uint32_t n = pma_slot_n(sl);
            for (uint32_t u = s; u < s + n && u < a->units; u++) {
                if (pairs) {
                    out[u >> 5] |= 1ull << (2 * (u & 31));
                    if (u == s)
                        out[u >> 5] |= 2ull << (2 * (u & 31));
                } else {
                    uint32_t p = a->stripe > 1 ? pma_bm_interleave(u, a->stripe) : u;
                    out[p >> 6] |= 1ull << (p & 63);
                    if (u == s)
                        out[words + (p >> 6)] |= 1ull << (p & 63);
                }
            }
        }
    }
}

void pma_live_from_space(pma_heap *h, pma_arena *a)
{
    for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
         s = pma_bm_next_one(a->start, s + 1, a->units)) {
        pma_slot *sl = &a->slot[s >> a->stride_shift];
        pma_slot_set_n(sl, pma_arena_object_units(a, s));
        sl->slack = 0;
        atomic_store_explicit(&sl->gen, 1, memory_order_relaxed);
    }
    (void)h;
}

int pma_arena_bitmaps_from_dimg(pma_heap *h, pma_arena *a)
{
    size_t words = a->bitmap_bytes / 8;
    (void)h;
    if (a->stripe > 1) {
        for (uint32_t i = 0; i < a->units; i++) {
            uint32_t p = pma_bm_interleave(i, a->stripe);
            if (pma_bm_get(a->alloc_phys, p))
                a->alloc[i >> 6] |= 1ull << (i & 63);
            if (pma_bm_get(a->start_phys, p))
                a->start[i >> 6] |= 1ull << (i & 63);
        }
    } else {
        memcpy(a->alloc, a->alloc_phys, words * 8);
        memcpy(a->start, a->start_phys, words * 8);
    }
    /* Bits past the last unit were never written by a heap: a foreign image. */
    if (pma_bm_next_one(a->alloc, a->units, (uint32_t)words * 64) < words * 64 ||
        pma_bm_next_one(a->start, a->units, (uint32_t)words * 64) < words * 64)
        return PMA_ECORRUPT;
    return 0;
}

/* ---- creation and loading -------------------------------------------------- */

/* Clears the persistent bytes [off, off+len) that are not zero already. */
static int clear_nonzero_lines(pma_heap *h, uint64_t off, uint64_t len)
{
    const unsigned char *p = (const unsigned char *)nv_base(h->dev);
    static const unsigned char zero[PMA_LINE];
    for (uint64_t o = off; o < off + len; o += PMA_LINE) {
        size_t l = off + len - o < PMA_LINE ? (size_t)(off + len - o) : PMA_LINE;
        if (memcmp(p + o, zero, l) != 0) {
            if (nv_set(h->dev, o, 0, l, NV_META_BITMAP) != 0)
                return PMA_EDEVICE;
            nv_flush(h->dev, o, l);
        }
    }
    return 0;
}

pma_arena *pma_arena_new(void)
{
    pma_arena *a = aligned_alloc(_Alignof(pma_arena), sizeof *a);
    if (a)
        memset(a, 0, sizeof *a);
    return a;
}

int pma_arena_create(pma_heap *h, int cls, uint64_t off, uint64_t size, pma_arena **out)
{
    pma_arena *a = pma_arena_new();
    if (!a)
        return PMA_ENOMEM;
    a->off = off;
    a->size = size;
    atomic_init(&a->cls, cls);
    pma_geometry g = {0};
    if (cls == PMA_CLASS_LARGE) {
        a->large = true;
        g.data_off = pma_large_data_off(h);
        a->data = off + g.data_off;
        a->capacity = size - g.data_off;
        a->stride = 1;
        a->log_seq = 1;                 /* object words start at sequence 1: 0 is "none" */
    } else {
        pma_geometry_small(h, size, &g);
        int rc = arena_dram_init(h, a, &g);
        if (rc) {
            pma_arena_free_dram(h, a);
            return rc;
        }
    }
    if (h->persistent) {
        pma_arena_header hd;
        memset(&hd, 0, sizeof hd);
        hd.magic = PMA_ARENA_MAGIC;
        hd.size = size;
        hd.units = g.units;
        hd.bitmap_bytes = g.bitmap_bytes;
        hd.alloc_off = g.alloc_off;
        hd.start_off = g.start_off;
        hd.data_off = g.data_off;
        hd.checksum = pma_checksum(h->version, &hd, offsetof(pma_arena_header, checksum));
        hd.class_word = (uint64_t)cls;
        int rc = nv_write(h->dev, off, &hd, sizeof hd, NV_META_HEADER) ? PMA_EDEVICE : 0;
        nv_flush(h->dev, off, sizeof hd);
        if (rc == 0 && !a->large)
            rc = clear_nonzero_lines(h, a->alloc_dev, 2 * (uint64_t)g.bitmap_bytes);
        nv_fence(h->dev);
        if (rc) {
            pma_arena_free_dram(h, a);
            return rc;
        }
    }
    *out = a;
    return 0;
}

int pma_arena_resize(pma_heap *h, pma_arena *a, uint64_t size)
{
    if (h->persistent) {
        uint64_t w = pma_resize_pack(size), off = a->off + offsetof(pma_arena_header, resize);
        if (nv_write(h->dev, off, &w, 8, NV_META_HEADER) != 0)
            return PMA_EDEVICE;
        nv_persist(h->dev, off, 8);
    }
    a->size = size;
    a->capacity = size - (a->data - a->off);
    return 0;
}

int pma_arena_set_class(pma_heap *h, pma_arena *a, int cls)
{
    if (h->persistent) {
        uint64_t w = (uint64_t)cls, off = a->off + offsetof(pma_arena_header, class_word);
        if (nv_write(h->dev, off, &w, 8, NV_META_HEADER) != 0)
            return PMA_EDEVICE;
        nv_persist(h->dev, off, 8);
    }
    atomic_store(&a->cls, cls);
    return 0;
}

int pma_arena_load(pma_heap *h, uint64_t off, pma_arena **out)
{
    /* Read through the device, so recovery's reads are counted and charged. */
    pma_arena_header copy;
    if (off > h->hwm || h->hwm - off < sizeof copy || nv_read(h->dev, off, &copy, sizeof copy) != 0)
        return PMA_ECORRUPT;
    const pma_arena_header *hd = &copy;
    if (hd->magic != PMA_ARENA_MAGIC ||
        hd->checksum != pma_checksum(h->version, hd, offsetof(pma_arena_header, checksum)) ||
        hd->class_word >= PMA_CLASSES)
        return PMA_ECORRUPT;
    /* A large arena split or merged since it was made: its resize word. */
    uint64_t size = hd->size;
    if (hd->resize) {
        size = pma_resize_size(hd->resize);
        if (!h->can_resize || hd->class_word != PMA_CLASS_LARGE || size == 0)
            return PMA_ECORRUPT;
    }
    if (size < PMA_ARENA_ALIGN || size % PMA_ARENA_ALIGN || size > h->hwm - off)
        return PMA_ECORRUPT;
    int cls = (int)hd->class_word;
    pma_arena *a = pma_arena_new();
    if (!a)
        return PMA_ENOMEM;
    a->off = off;
    a->size = size;
    atomic_init(&a->cls, cls);
    if (cls == PMA_CLASS_LARGE) {
        if (hd->units != 0 || hd->data_off != pma_large_data_off(h) || hd->data_off >= size) {
            free(a);
            return PMA_ECORRUPT;
        }
        a->large = true;
        a->stride = 1;
        a->data = off + hd->data_off;
        a->capacity = size - hd->data_off;
        uint64_t w;
        int latest = pma_large_latest(hd, pma_large_worn_slots(h, off), &w);
        a->log_slot = (unsigned)(latest + 1) % PMA_LOG_SLOTS;
        a->log_seq = pma_object_next_seq(latest < 0 ? 0 : pma_object_seq(w));
        a->live_large = (w & PMA_OBJECT_LIVE) != 0;
        a->requested = w & PMA_OBJECT_SIZE_MASK;
        if (a->live_large && (a->requested > a->capacity || a->requested == 0)) {
            free(a);
            return PMA_ECORRUPT;
        }
        if (!a->live_large)
            a->requested = 0;
        a->allocated = a->live_large ? round_up(a->requested, h->q) : 0;
        a->objects = a->live_large;
        *out = a;
        return 0;
    }
    pma_geometry g;
    pma_geometry_small(h, size, &g);
    if (g.units != hd->units || g.bitmap_bytes != hd->bitmap_bytes || g.alloc_off != hd->alloc_off ||
        g.start_off != hd->start_off || g.data_off != hd->data_off) {
        free(a);
        return PMA_ECORRUPT;
    }
    int rc = arena_dram_init(h, a, &g);
    if (rc) {
        pma_arena_free_dram(h, a);
        return rc;
    }
    /* Through the device, so recovery's reads are counted and charged. */
    if (nv_read(h->dev, a->alloc_dev, a->dimg, 2 * (size_t)g.bitmap_bytes) != 0) {
        pma_arena_free_dram(h, a);
        return PMA_EDEVICE;
    }
    if ((rc = h->po->arena_load(h, a)) != 0) {
        pma_arena_free_dram(h, a);
        return rc;
    }
    pma_ri_mark_all(&a->ri);      /* the bits came from the device */
    *out = a;
    return 0;
}

void pma_arena_derive_counters(pma_heap *h, pma_arena *a)
{
    uint32_t used = pma_bm_count_ones(a->alloc, 0, a->units);
    a->free_units = a->units - used;
    a->allocated = (uint64_t)used * h->cfg.granularity;
    a->objects = pma_bm_count_ones(a->start, 0, a->units);
    a->first_free = pma_bm_next_zero(a->alloc, 0, a->units);
}

/* ---- space inside an arena ------------------------------------------------ */

bool pma_arena_has_room(const pma_heap *h, const pma_arena *a, int cls)
{
    uint32_t need = cls < PMA_CLASS_LARGE ? h->cls[cls].units : 1;
    return a->free_units >= need && (a->no_run == 0 || a->no_run > need);
}

uint32_t pma_arena_alloc(pma_heap *h, pma_arena *a, uint32_t n)
{
    if (n > a->free_units || (a->no_run && n >= a->no_run))
        return PMA_BM_NONE;
    uint32_t u = pma_place(h, a, n);
    if (u == PMA_PLACE_HOT)
        return PMA_BM_NONE;      /* there is room: no_run must not say otherwise */
    if (u == PMA_BM_NONE) {
        if (!a->no_run || n < a->no_run)
            a->no_run = n;
        return PMA_BM_NONE;
    }
    pma_bm_set_range(a->start, u, 1);
    pma_bm_set_range(a->alloc, u, n);
    a->free_units -= n;
    a->allocs++;
    a->allocated += (uint64_t)n << h->g_shift;
    a->objects++;
    a->first_free = pma_bm_next_zero(a->alloc, a->first_free, a->units);
    a->cursor = u + n < a->units ? u + n : 0;
    pma_arena_count_alloc(a);
    if (a->wear) {
        uint64_t b0 = (uint64_t)u * h->cfg.granularity / PMA_WEAR_BLOCK;
        uint64_t b1 = ((uint64_t)(u + n) * h->cfg.granularity - 1) / PMA_WEAR_BLOCK;
        for (uint64_t b = b0; b <= b1; b++)
            a->wear[b]++;
    }
    return u;
}

/* The object ends at the next start bit or the first free unit, whichever
 * comes first: one scan over both bitmaps, so it costs the object's length,
 * not the packed neighbours' after it nor the free space after it. */
uint32_t pma_arena_object_units(const pma_arena *a, uint32_t first)
{
    return pma_bm_next_boundary(a->start, a->alloc, first + 1, a->units) - first;
}

void pma_arena_release_space(pma_heap *h, pma_arena *a, uint32_t first, uint32_t n)
{
    pma_bm_clear_range(a->start, first, 1);
    pma_bm_clear_range(a->alloc, first, n);
    pma_ri_mark(&a->ri, first, n);     /* allocations only shrink runs: see runindex.h */
    a->free_units += n;
    a->frees++;
    a->allocated -= (uint64_t)n << h->g_shift;
    a->objects--;
    if (a->wear)
        pma_wear_note_free(h, a, first, n);
    if (first < a->first_free)
        a->first_free = first;
    a->no_run = 0;
    /* Units covering a failed line stay out of use (badmap.c). */
    if (atomic_load_explicit(&a->nbad, memory_order_relaxed))
        pma_badmap_retire_freed(h, a, first, n);
}

int pma_arena_slot_persist(pma_heap *h, pma_tcache *tc, pma_arena *a, uint64_t w, nv_tag tag)
{
    uint64_t off = a->off + offsetof(pma_arena_header, log) + (uint64_t)a->log_slot * PMA_LINE;
    if (pma_meta_write(h, tc, off, &w, 8, tag) != 0)
        return PMA_EDEVICE;
    pma_meta_flush(h, tc, off, 8);
    pma_meta_fence(h, tc);
    a->log_slot = (a->log_slot + 1) % PMA_LOG_SLOTS;
    return 0;
}

unsigned pma_large_worn_slots(pma_heap *h, uint64_t arena_off)
{
    unsigned m = 0;
    for (int i = 0; i < PMA_LOG_SLOTS; i++)
        if (pma_badmap_line_failed(h, arena_off + offsetof(pma_arena_header, log) + (uint64_t)i * PMA_LINE))
            m |= 1u << i;
    return m;
}

int pma_large_latest(const pma_arena_header *hd, unsigned worn, uint64_t *word)
{
    /* Slots whose line wore out hold whatever they held when it did: read
     * past them (the writer skips them too). With every slot worn the
     * writer could store nothing since, and all of them are read. */
    if (worn == (1u << PMA_LOG_SLOTS) - 1)
        worn = 0;
    int latest = -1;
    for (int i = 0; i < PMA_LOG_SLOTS; i++) {
        if (worn & (1u << i))
            continue;
        int j = (i + 1) % PMA_LOG_SLOTS;
        while (j != i && (worn & (1u << j)))
            j = (j + 1) % PMA_LOG_SLOTS;
        uint64_t w = hd->log[i].word, nx = j == i ? 0 : hd->log[j].word;
        if (w && (!nx || pma_object_seq(nx) != pma_object_next_seq(pma_object_seq(w))))
            latest = i;
    }
    *word = latest < 0 ? 0 : hd->log[latest].word;
    return latest;
}

/* A large arena's object word, in the next of its slots whose line has not
 * worn out; a store that wears one out now did not take, and the next slot
 * is tried (the bad-block map learns of the line, and pma_large_latest
 * reads past it). The sequence moves only with a store that landed. */
int pma_large_word_store(pma_heap *h, pma_tcache *tc, pma_arena *a, uint64_t w, bool fence)
{
    for (int tries = 0; tries < PMA_LOG_SLOTS; tries++) {
        uint64_t off = a->off + offsetof(pma_arena_header, log) + (uint64_t)a->log_slot * PMA_LINE;
        a->log_slot = (a->log_slot + 1) % PMA_LOG_SLOTS;
        if (pma_badmap_line_failed(h, off) || pma_meta_write(h, tc, off, &w, 8, NV_META_HEADER) != 0)
            continue;
        pma_meta_flush(h, tc, off, 8);
        if (fence)
            pma_meta_fence(h, tc);
        return 0;
    }
    return PMA_EDEVICE;
}

int pma_arena_large_set(pma_heap *h, pma_tcache *tc, pma_arena *a, bool live, uint64_t requested)
{
    if (h->persistent && h->po->large_words) {
        if (pma_large_word_store(h, tc, a, pma_object_pack(live, a->log_seq, requested), true))
            return PMA_EDEVICE;
        a->log_seq = pma_object_next_seq(a->log_seq);
    }
    a->live_large = live;
    a->requested = live ? requested : 0;
    a->allocated = live ? round_up(requested, h->q) : 0;
    a->objects = live;
    if (live) {
        a->allocs++;
        pma_arena_count_alloc(a);
    } else {
        a->frees++;
    }
    return 0;
}

int pma_arena_large_resize(pma_heap *h, pma_tcache *tc, pma_arena *a, uint64_t requested)
{
    if (requested != a->requested && h->persistent && h->po->large_words) {
        if (pma_large_word_store(h, tc, a, pma_object_pack(true, a->log_seq, requested), true))
            return PMA_EDEVICE;
        a->log_seq = pma_object_next_seq(a->log_seq);
    }
    a->requested = requested;
    a->allocated = round_up(requested, h->q);
    return 0;
}
