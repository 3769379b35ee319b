/*
 * arena.c - one arena: its geometry, creation and loading, and the protocol
 * by which its persistent bitmaps change.
 *
 * An arena is a 4 KiB-aligned region: a header, an allocation bitmap (one bit
 * per G bytes of the data area), a start bitmap (one bit per object start),
 * and the data area. DRAM mirrors of both bitmaps (in logical bit order) are
 * what the allocator searches; the persistent copies are written, never read,
 * except when the heap is opened. Large arenas hold one object and no bitmaps.
 *
 * Crash-consistency protocol (metadata nvram and hybrid). An allocation or a
 * free of units [first, first+n) is, under the arena lock:
 *
 *   1. write the intent word {op, seq, first, n} into the next of the 8 log
 *      slots (each its own line, used in turn, so the log's wear is spread);
 *      flush; fence.
 *   2. set (alloc) or clear (free) the start bit at `first` and the alloc bits
 *      of the range; flush every line written; fence.
 *
 * Only the arena's latest intent can be unfinished (the lock serializes its
 * operations, and each finishes step 2 before the next begins), and an 8-byte
 * aligned store is failure-atomic, so at open (pma_arena_recover):
 *
 *   - latest intent alloc: if the start bit and every alloc bit are set, the
 *     allocation finished: keep it. Otherwise undo it: the range was free
 *     before step 2 began (we chose a free run), so clearing it is exact.
 *   - latest intent free: redo it (clearing is idempotent). The object ends
 *     up free: never half.
 *
 * A finished allocation always persists before pma_get_mem returns, so it
 * survives; a crash after step 2 but before the caller stored the pointer
 * leaks that object, as with any allocator: the program's own persistent
 * pointers (the root) decide what is reachable. Whatever else is found
 * inconsistent at open (allocated units with no start, starts on free units)
 * is repaired and counted in leaked_bytes.
 *
 * Creating an arena writes its header and clears what is not already zero
 * in its bitmaps (reading before writing: clearing zeros would wear cells for
 * nothing), persists them, and only then is the heap's hwm moved over it
 * (heap.c), so a crash in between leaves the arena invisible.
 *
 * Locking: callers hold the arena lock for everything that touches a
 * created arena's bitmaps or counters.
 */
#include "heap_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HDR_BYTES ((uint32_t)sizeof(pma_arena_header))

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static void *lazy_zalloc(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void lazy_free(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes ? bytes : 1);
}

/* ---- geometry ------------------------------------------------------------ */

typedef struct geometry {
    uint32_t units, bitmap_bytes, stripe, alloc_off, start_off, data_off;
} geometry;

static uint32_t stripe_of(const pma_heap *h)
{
    return h->cfg.bitmap_layout == PMA_LAYOUT_INTERLEAVED ? 8 : 1;
}

static void geometry_small(const pma_heap *h, uint64_t size, geometry *g)
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

static uint32_t large_data_off(const pma_heap *h)
{
    uint64_t quantum = h->q > PMA_LINE ? h->q : PMA_LINE;
    return (uint32_t)round_up(HDR_BYTES, quantum);
}

/* ---- DRAM state ----------------------------------------------------------- */

static int arena_dram_init(pma_heap *h, pma_arena *a, const geometry *g)
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
    size_t slots = a->units / a->stride + 1;
    a->alloc = calloc(words, 8);
    a->start = calloc(words, 8);
    a->freed = calloc(words, 8);
    a->slack = lazy_zalloc(slots * sizeof *a->slack);
    if (g->stripe > 1) {
        a->alloc_phys = calloc(words, 8);
        a->start_phys = calloc(words, 8);
    } else {
        a->alloc_phys = a->alloc;
        a->start_phys = a->start;
    }
    if (h->cfg.policy == PMA_WEAR_AWARE)
        a->wear = lazy_zalloc(((uint64_t)a->units * h->cfg.granularity / PMA_WEAR_BLOCK + 1) * sizeof *a->wear);
    if (!a->alloc || pma_ri_init(&a->ri, (uint32_t)words) != 0 || !a->start || !a->freed || !a->slack || !a->alloc_phys || !a->start_phys ||
        (h->cfg.policy == PMA_WEAR_AWARE && !a->wear))
        return PMA_ENOMEM;
    a->free_units = a->units;
    return 0;
}

void pma_arena_free_dram(pma_arena *a)
{
    if (a->stripe > 1) {
        free(a->alloc_phys);
        free(a->start_phys);
    }
    free(a->alloc);
    pma_ri_free(&a->ri);
    free(a->start);
    free(a->freed);
    if (a->units) {
        lazy_free(a->slack, (a->units / a->stride + 1) * sizeof *a->slack);
        if (a->wear)
            lazy_free(a->wear, 0), a->wear = NULL;
    }
    free(a);
}

/* ---- persistent stores ----------------------------------------------------- */

static inline void dev_store(pma_heap *h, uint64_t off, const void *src, size_t len, nv_tag tag)
{
    nv_write(h->dev, off, src, len, tag);
    nv_flush(h->dev, off, len);
}

/* Changes bits [first, first+n) of one bitmap in its mirrors and sends the
 * changed persistent words to the device, flushed (the caller fences). */
static void bits_store(pma_heap *h, pma_arena *a, uint64_t *logical, uint64_t *phys,
                       uint64_t dev_off, uint32_t first, uint32_t n, bool set)
{
    if (set)
        pma_bm_set_range(logical, first, n);
    else
        pma_bm_clear_range(logical, first, n);
    if (!set && logical == a->alloc)
        pma_ri_mark(&a->ri, first, n);     /* allocations only shrink runs: see runindex.h */
    if (!h->persistent)
        return;
    if (phys == logical) {
        uint32_t w0 = first >> 6, w1 = (first + n - 1) >> 6;
        if (w0 == w1)    /* the common case, a constant-size store the compiler inlines */
            dev_store(h, dev_off + (uint64_t)w0 * 8, &logical[w0], 8, NV_META_BITMAP);
        else
            dev_store(h, dev_off + (uint64_t)w0 * 8, &logical[w0], (size_t)(w1 - w0 + 1) * 8, NV_META_BITMAP);
        return;
    }
    /* Interleaved: consecutive logical bits sit in different lines; write each
     * touched word once. Words come out grouped by line, so a short scan of
     * what was already written dedupes them. */
    uint32_t touched[64];
    uint32_t nt = 0;
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
        if (nt == 64) {               /* flush the batch, start another */
            for (k = 0; k < nt; k++)
                dev_store(h, dev_off + (uint64_t)touched[k] * 8, &phys[touched[k]], 8, NV_META_BITMAP);
            nt = 0;
        }
        touched[nt++] = w;
    }
    for (uint32_t k = 0; k < nt; k++)
        dev_store(h, dev_off + (uint64_t)touched[k] * 8, &phys[touched[k]], 8, NV_META_BITMAP);
}

/* Step 1 of the protocol: the intent, persisted before any bit changes. */
static void log_intent(pma_heap *h, pma_arena *a, unsigned op, uint32_t first, uint32_t n)
{
    if (!h->persistent)
        return;
    uint64_t w = pma_log_pack(op, a->log_seq, first, n);
    uint64_t off = a->off + offsetof(pma_arena_header, log) + (uint64_t)a->log_slot * PMA_LINE;
    nv_write(h->dev, off, &w, 8, NV_META_LOG);
    nv_persist(h->dev, off, 8);
    a->log_slot = (a->log_slot + 1) % PMA_LOG_SLOTS;
    a->log_seq = (a->log_seq + 1) & 63;
}

/* ---- creation and loading -------------------------------------------------- */

/* Clears the persistent bytes [off, off+len) that are not zero already. */
static void clear_nonzero_lines(pma_heap *h, uint64_t off, uint64_t len)
{
    const unsigned char *p = (const unsigned char *)nv_base(h->dev);
    static const unsigned char zero[PMA_LINE];
    for (uint64_t o = off; o < off + len; o += PMA_LINE) {
        size_t l = off + len - o < PMA_LINE ? (size_t)(off + len - o) : PMA_LINE;
        if (memcmp(p + o, zero, l) != 0) {
            nv_set(h->dev, o, 0, l, NV_META_BITMAP);
            nv_flush(h->dev, o, l);
        }
    }
}

int pma_arena_create(pma_heap *h, int cls, uint64_t off, uint64_t size, pma_arena **out)
{
    pma_arena *a = calloc(1, sizeof *a);
    if (!a)
        return PMA_ENOMEM;
    a->off = off;
    a->size = size;
    atomic_init(&a->cls, cls);
    geometry g = {0};
    if (cls == PMA_CLASS_LARGE) {
        a->large = true;
        g.data_off = large_data_off(h);
        a->data = off + g.data_off;
        a->capacity = size - g.data_off;
        a->stride = 1;
    } else {
        geometry_small(h, size, &g);
        int rc = arena_dram_init(h, a, &g);
        if (rc) {
            pma_arena_free_dram(a);
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
        hd.checksum = pma_checksum(&hd, offsetof(pma_arena_header, checksum));
        hd.class_word = (uint64_t)cls;
        nv_write(h->dev, off, &hd, sizeof hd, NV_META_HEADER);
        nv_flush(h->dev, off, sizeof hd);
        if (!a->large)
            clear_nonzero_lines(h, a->alloc_dev, 2 * (uint64_t)g.bitmap_bytes);
        nv_fence(h->dev);
    }
    *out = a;
    return 0;
}

int pma_arena_set_class(pma_heap *h, pma_arena *a, int cls)
{
    atomic_store(&a->cls, cls);
    if (!h->persistent)
        return 0;
    uint64_t w = (uint64_t)cls, off = a->off + offsetof(pma_arena_header, class_word);
    nv_write(h->dev, off, &w, 8, NV_META_HEADER);
    nv_persist(h->dev, off, 8);
    return 0;
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

int pma_arena_load(pma_heap *h, uint64_t off, pma_arena **out)
{
    const pma_arena_header *hd = (const void *)((const unsigned char *)nv_base(h->dev) + off);
    if (hd->magic != PMA_ARENA_MAGIC ||
        hd->checksum != pma_checksum(hd, offsetof(pma_arena_header, checksum)) ||
        hd->size < PMA_ARENA_ALIGN || hd->size % PMA_ARENA_ALIGN || off + hd->size > h->hwm ||
        hd->class_word >= PMA_CLASSES)
        return PMA_ECORRUPT;
    int cls = (int)hd->class_word;
    pma_arena *a = calloc(1, sizeof *a);
    if (!a)
        return PMA_ENOMEM;
    a->off = off;
    a->size = hd->size;
    atomic_init(&a->cls, cls);
    if (cls == PMA_CLASS_LARGE) {
        if (hd->units != 0 || hd->data_off != large_data_off(h) || hd->data_off >= hd->size) {
            free(a);
            return PMA_ECORRUPT;
        }
        a->large = true;
        a->stride = 1;
        a->data = off + hd->data_off;
        a->capacity = hd->size - hd->data_off;
        a->live = (hd->object & PMA_OBJECT_LIVE) != 0;
        a->requested = hd->object & ~PMA_OBJECT_LIVE;
        if (a->live && a->requested > a->capacity) {
            free(a);
            return PMA_ECORRUPT;
        }
        a->allocated = a->live ? round_up(a->requested, h->q) : 0;
        a->objects = a->live;
        *out = a;
        return 0;
    }
    geometry g;
    geometry_small(h, hd->size, &g);
    if (g.units != hd->units || g.bitmap_bytes != hd->bitmap_bytes || g.alloc_off != hd->alloc_off ||
        g.start_off != hd->start_off || g.data_off != hd->data_off) {
        free(a);
        return PMA_ECORRUPT;
    }
    int rc = arena_dram_init(h, a, &g);
    if (rc) {
        pma_arena_free_dram(a);
        return rc;
    }
    const unsigned char *base = nv_base(h->dev);
    memcpy(a->alloc_phys, base + a->alloc_dev, g.bitmap_bytes);
    memcpy(a->start_phys, base + a->start_dev, g.bitmap_bytes);
    if (a->stripe > 1) {
        for (uint32_t i = 0; i < a->units; i++) {
            uint32_t p = pma_bm_interleave(i, a->stripe);
            if (pma_bm_get(a->alloc_phys, p))
                a->alloc[i >> 6] |= 1ull << (i & 63);
            if (pma_bm_get(a->start_phys, p))
                a->start[i >> 6] |= 1ull << (i & 63);
        }
    }
    pma_ri_mark_all(&a->ri);      /* the bits came from the device */
    int latest = latest_log_slot(hd);
    a->log_slot = (unsigned)(latest + 1) % PMA_LOG_SLOTS;
    a->log_seq = latest < 0 ? 0 : (pma_log_seq(hd->log[latest].word) + 1) & 63;
    *out = a;
    return 0;
}

/* ---- recovery -------------------------------------------------------------- */

static bool range_all_set(const uint64_t *w, uint32_t first, uint32_t n)
{
    return pma_bm_next_zero(w, first, first + n) == first + n;
}

/* Applies the latest intent, repairs what is left inconsistent, and derives
 * the counters from the bitmaps. Called once per arena by pma_open. */
int pma_arena_recover(pma_heap *h, pma_arena *a)
{
    if (a->large)
        return 0;
    const pma_arena_header *hd = (const void *)((const unsigned char *)nv_base(h->dev) + a->off);
    int latest = latest_log_slot(hd);
    bool dirty = false;
    if (latest >= 0) {
        uint64_t w = hd->log[latest].word;
        uint32_t first = pma_log_first(w), n = pma_log_count(w);
        if (n == 0 || first >= a->units || n > a->units - first)
            return PMA_ECORRUPT;
        bool done = pma_bm_get(a->start, first) && range_all_set(a->alloc, first, n);
        if (pma_log_op(w) == PMA_OP_FREE || !done) {
            if (pma_bm_get(a->start, first) || pma_bm_next_one(a->alloc, first, first + n) < first + n) {
                bits_store(h, a, a->start, a->start_phys, a->start_dev, first, 1, false);
                bits_store(h, a, a->alloc, a->alloc_phys, a->alloc_dev, first, n, false);
                h->recovered_ops++;
                dirty = true;
            }
        }
    }
    /* Repairs: starts on free units or off the stride; allocated runs that do
     * not begin with a start (orphans). Not reachable with the protocol above,
     * but a heap damaged otherwise is still made consistent, and it is counted. */
    for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
         s = pma_bm_next_one(a->start, s + 1, a->units)) {
        if (!pma_bm_get(a->alloc, s) || s % a->stride) {
            bits_store(h, a, a->start, a->start_phys, a->start_dev, s, 1, false);
            dirty = true;
        }
    }
    for (uint32_t u = pma_bm_next_one(a->alloc, 0, a->units); u < a->units;) {
        uint32_t end = pma_bm_next_zero(a->alloc, u, a->units);
        if (!pma_bm_get(a->start, u)) {
            uint32_t stop = pma_bm_next_one(a->start, u, end);
            bits_store(h, a, a->alloc, a->alloc_phys, a->alloc_dev, u, stop - u, false);
            h->leaked_bytes += (uint64_t)(stop - u) * h->cfg.granularity;
            dirty = true;
            u = stop < end ? stop : pma_bm_next_one(a->alloc, end, a->units);
            continue;
        }
        u = pma_bm_next_one(a->alloc, end, a->units);
    }
    if (dirty)
        nv_fence(h->dev);
    uint32_t used = pma_bm_count_ones(a->alloc, 0, a->units);
    a->free_units = a->units - used;
    a->allocated = a->requested = (uint64_t)used * h->cfg.granularity;   /* requests unknown after open */
    a->objects = pma_bm_count_ones(a->start, 0, a->units);
    a->first_free = pma_bm_next_zero(a->alloc, 0, a->units);
    return 0;
}

/* ---- allocation inside an arena ------------------------------------------- */

bool pma_arena_has_room(const pma_heap *h, const pma_arena *a, int cls)
{
    uint32_t need = cls < PMA_CLASS_LARGE ? h->cls[cls].units : 1;
    return a->free_units >= need && (a->no_run == 0 || a->no_run > need);
}

uint32_t pma_arena_alloc(pma_heap *h, pma_arena *a, uint32_t n, uint64_t requested)
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
    log_intent(h, a, PMA_OP_ALLOC, u, n);
    bits_store(h, a, a->start, a->start_phys, a->start_dev, u, 1, true);
    bits_store(h, a, a->alloc, a->alloc_phys, a->alloc_dev, u, n, true);
    if (h->persistent)
        nv_fence(h->dev);
    uint64_t bytes = (uint64_t)n << h->g_shift;
    a->free_units -= n;
    a->slack[u >> a->stride_shift] = (uint16_t)(bytes - requested);
    a->allocs++;
    a->requested += requested;
    a->allocated += bytes;
    a->objects++;
    a->freed[u >> 6] &= ~(1ull << (u & 63));
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

void pma_arena_release(pma_heap *h, pma_arena *a, uint32_t first, uint32_t n)
{
    log_intent(h, a, PMA_OP_FREE, first, n);
    bits_store(h, a, a->start, a->start_phys, a->start_dev, first, 1, false);
    bits_store(h, a, a->alloc, a->alloc_phys, a->alloc_dev, first, n, false);
    if (h->persistent)
        nv_fence(h->dev);
    uint64_t bytes = (uint64_t)n << h->g_shift;
    a->free_units += n;
    a->requested -= bytes - a->slack[first >> a->stride_shift];
    a->frees++;
    a->allocated -= bytes;
    a->objects--;
    a->freed[first >> 6] |= 1ull << (first & 63);
    if (a->wear)
        pma_wear_note_free(h, a, first, n);
    if (first < a->first_free)
        a->first_free = first;
    a->no_run = 0;
}

int pma_arena_large_set(pma_heap *h, pma_arena *a, bool live, uint64_t requested)
{
    a->live = live;
    a->requested = live ? requested : 0;
    a->allocated = live ? round_up(requested, h->q) : 0;
    a->objects = live;
    if (live) {
        a->allocs++;
        pma_arena_count_alloc(a);
    } else {
        a->frees++;
    }
    if (!h->persistent)
        return 0;
    uint64_t w = (live ? PMA_OBJECT_LIVE : 0) | requested;
    uint64_t off = a->off + offsetof(pma_arena_header, object);
    nv_write(h->dev, off, &w, 8, NV_META_HEADER);
    nv_persist(h->dev, off, 8);
    return 0;
}
