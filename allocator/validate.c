/*
 * validate.c - pma_open's first step: every structure open will read is
 * checked against the layout (layout.h) before anything is written, so an
 * image found corrupt is refused (PMA_ECORRUPT) and left byte for byte as
 * it was, with a detail (pma_last_error_detail) naming the structure and its
 * device offset. Recovery writes (intent's bitmap repairs, log's fresh
 * checkpoint, gc's clean flag, the bad-block map) come only after this.
 *
 * Reads the mapping directly, not through nv_read: these reads are a check,
 * not the recovery the device's counters charge. Arithmetic on fields read
 * from the device is overflow-checked; the arena walk advances by at least
 * a page each step and ends exactly at hwm; list walks stop after as many
 * steps as there are arenas. Cost: O(metadata) (headers, bitmaps, the log
 * region), once per open.
 *
 * What a torn (crashed) image can legitimately hold is accepted: only
 * values no heap ever stores are refused (a record of a future epoch, a bit
 * past an arena's last unit, an intent word of no operation), never the
 * half-done states the protocols recover from.
 */
#include "heap_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ULL(x) ((unsigned long long)(x))

static int corrupt(const char *what, uint64_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int corrupt(const char *what, uint64_t off, const char *fmt, ...)
{
    char why[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    pma_set_detail("%s at device offset 0x%llx: %s", what, ULL(off), why);
    return PMA_ECORRUPT;
}


/* ---- the heap header ------------------------------------------------------- */

int pma_validate_header(nv_device *dev, pma_config *cfg)
{
    const char *H = "heap header";
    if (nv_size(dev) < PMA_HEAP_HEADER_SIZE) {
        pma_set_detail("device of %llu bytes: too small to hold a heap header", ULL(nv_size(dev)));
        return PMA_ENOHEAP;
    }
    const pma_heap_header *hd = nv_base(dev);
    if (hd->magic != PMA_HEAP_MAGIC) {
        pma_set_detail("%s at device offset 0x0: magic 0x%016llx is not a heap's", H, ULL(hd->magic));
        return PMA_ENOHEAP;
    }
    if (hd->version == 1) {         /* made before the bad-block map: refused, not misread */
        pma_set_detail("%s at device offset 0x0: layout version 1 is no longer read", H);
        return PMA_ENOTSUP;
    }
    if (hd->version < PMA_LAYOUT_OLDEST || hd->version > PMA_LAYOUT_VERSION)
        return corrupt(H, 0, "layout version %u is not one this build reads (%u to %u)", hd->version,
                       PMA_LAYOUT_OLDEST, PMA_LAYOUT_VERSION);
    uint64_t sum = pma_checksum(hd->version, hd, offsetof(pma_heap_header, checksum));
    if (hd->checksum != sum)
        return corrupt(H, offsetof(pma_heap_header, checksum), "checksum 0x%llx, the fields sum to 0x%llx",
                       ULL(hd->checksum), ULL(sum));
    *cfg = (pma_config){
        .granularity = hd->granularity, .alignment = hd->alignment, .arena_size = hd->arena_size,
        .policy = (pma_policy)hd->policy, .bitmap_layout = (pma_bitmap_layout)hd->bitmap_layout,
        .metadata = (pma_metadata)hd->metadata, .wear_spread_percent = hd->wear_spread_percent,
        .persistence = (pma_persistence)hd->persistence, .log_kib = hd->log_kib,
        .wear_spread_full_at = PMA_SPREAD_FULL_AT,     /* not in the header: the default */
    };
    char msg[160];
    if (pma_config_check(cfg, msg, sizeof msg) != 0)
        return corrupt(H, 0, "%s", msg);
    if (cfg->metadata == PMA_META_DRAM)
        return corrupt(H, 0, "metadata \"dram\" keeps no heap on the device");
    uint64_t dsize = hd->device_size;
    if (dsize > nv_size(dev) || dsize < PMA_HEAP_HEADER_SIZE + PMA_ARENA_ALIGN)
        return corrupt(H, offsetof(pma_heap_header, device_size),
                       "device_size %llu is not within [8192, %llu] (the device's size)", ULL(dsize),
                       ULL(nv_size(dev)));
    uint64_t log_bytes = (uint64_t)hd->log_kib * 1024;
    if (cfg->persistence == PMA_PERSIST_LOG) {
        uint64_t chunks = log_bytes / PMA_LOG_CHUNK;
        /* two halves of whole chunks; 2^19 records at most (generations) */
        if (chunks < 2 || chunks % 2 || log_bytes % PMA_LOG_CHUNK || log_bytes / PMA_LOG_REC > (1u << 19) ||
            log_bytes > dsize - PMA_HEAP_HEADER_SIZE)
            return corrupt(H, offsetof(pma_heap_header, log_kib),
                           "log_kib %u is not a log region that fits the device of %llu bytes", hd->log_kib,
                           ULL(dsize));
        uint64_t half = chunks / 2;
        if ((hd->log_start & 0xffffffffu) >= half || (hd->log_start >> 32) >= half)
            return corrupt("log checkpoint line", offsetof(pma_heap_header, log_start),
                           "log_start 0x%llx names a chunk past a half of the log (%llu chunks)",
                           ULL(hd->log_start), ULL(half));
        if (hd->log_epoch == 0)
            return corrupt("log checkpoint line", offsetof(pma_heap_header, log_epoch),
                           "epoch 0 (epochs start at 1)");
    } else if (hd->log_kib != 0) {
        return corrupt(H, offsetof(pma_heap_header, log_kib), "log_kib %u under persistence %s (no log region)",
                       hd->log_kib, pma_persistence_name(cfg->persistence));
    }
    if (cfg->persistence == PMA_PERSIST_GC && hd->gc_clean != 0 && hd->gc_clean != PMA_GC_CLEAN)
        return corrupt(H, offsetof(pma_heap_header, gc_clean), "gc_clean word 0x%llx is neither 0 nor clean",
                       ULL(hd->gc_clean));
    /* header | log | bad-block map | arenas: no sum can wrap (dsize is
     * at most the mapping's size), but say so where it is read */
    uint64_t base;
    if (__builtin_add_overflow(PMA_HEAP_HEADER_SIZE + log_bytes, pma_badmap_bytes(dsize), &base) || base > dsize)
        return corrupt("bad-block map", PMA_HEAP_HEADER_SIZE + log_bytes,
                       "map of %llu bytes runs past the device's %llu", ULL(pma_badmap_bytes(dsize)), ULL(dsize));
    uint64_t hwm_at, hwm = pma_header_hwm(hd, hd->version, &hwm_at);
    if (hwm < base || hwm > nv_size(dev) || hwm % PMA_ARENA_ALIGN)
        return corrupt(H, hwm_at,
                       "hwm 0x%llx is not a page boundary in [0x%llx, 0x%llx] (first arena, device end)",
                       ULL(hwm), ULL(base), ULL(nv_size(dev)));
    if (hd->root && (hd->root < base || hd->root >= hwm))
        return corrupt(H, offsetof(pma_heap_header, root),
                       "root 0x%llx is outside the arenas [0x%llx, 0x%llx)", ULL(hd->root), ULL(base),
                       ULL(hwm));
    return 0;
}

/* ---- the arenas ------------------------------------------------------------ */

typedef struct varena {
    uint64_t off, size, data;        /* device offsets; data: the data area */
    uint32_t units;                  /* 0: large */
    bool large;
} varena;

typedef struct vstate {
    pma_heap *h;
    const unsigned char *base;
    varena *a;
    size_t n;
    uint64_t *failed;                /* lines the device reports failed, sorted */
    size_t nfailed;
    uint64_t bm_off;
} vstate;

/* The arena holding device offset off, or NULL. */
static const varena *arena_of(const vstate *v, uint64_t off)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (off < v->a[mid].off)
            hi = mid;
        else if (off - v->a[mid].off >= v->a[mid].size)
            lo = mid + 1;
        else
            return &v->a[mid];
    }
    return NULL;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* The device's own failure list (sim; a real device's bad-block list), for
 * reading past worn object-word slots as pma_open will. */
static int load_failures(vstate *v)
{
    nv_failure f[256];
    uint64_t got = 0, cap = 0;
    for (uint64_t from = 0; nv_failures_get(v->h->dev, from, f, 256, &got) == 0 && got; from += got)
        for (uint64_t i = 0; i < got; i++) {
            if (v->nfailed == cap) {
                cap = cap ? cap * 2 : 64;
                uint64_t *p = realloc(v->failed, cap * sizeof *p);
                if (!p)
                    return PMA_ENOMEM;
                v->failed = p;
            }
            v->failed[v->nfailed++] = f[i].line_off / PMA_LINE;
        }
    if (v->nfailed)
        qsort(v->failed, v->nfailed, sizeof *v->failed, cmp_u64);
    return 0;
}

/* Line li failed: in the persistent map, or on the device's list. */
static bool line_failed(const vstate *v, uint64_t li)
{
    const uint64_t *map = (const uint64_t *)(v->base + v->bm_off);
    if ((map[li / 32] >> (2 * (li % 32))) & 1)
        return true;
    return v->nfailed && bsearch(&li, v->failed, v->nfailed, sizeof li, cmp_u64);
}

static unsigned worn_slots(const vstate *v, uint64_t arena_off)
{
    unsigned m = 0;
    for (int i = 0; i < PMA_LOG_SLOTS; i++)
        if (line_failed(v, (arena_off + offsetof(pma_arena_header, log) + (uint64_t)i * PMA_LINE) / PMA_LINE))
            m |= 1u << i;
    return m;
}

/* Physical bit p of an interleaved bitmap back to its logical unit. */
static uint64_t deinterleave(uint64_t p, uint32_t s)
{
    uint64_t group = (uint64_t)PMA_BITS_PER_LINE * s, g = p / group, r = p % group;
    return g * group + (r % PMA_BITS_PER_LINE) * s + r / PMA_BITS_PER_LINE;
}

/* intent and gc: two physical bitmaps; no bit may name a unit past the last.
 * Only the words that can hold such a bit are read (linear: from the last
 * unit on; interleaved: the last, partial group of lines), so the check
 * costs the bitmap's tail, not its live bits. */
static int check_phys_bitmaps(const vstate *v, const pma_arena_header *hd, uint64_t off, uint32_t stripe)
{
    uint64_t group = (uint64_t)PMA_BITS_PER_LINE * stripe;
    uint64_t from = stripe > 1 ? hd->units / group * group : hd->units;
    for (int half = 0; half < 2; half++) {
        uint64_t at = off + (half ? hd->start_off : hd->alloc_off);
        const uint64_t *w = (const uint64_t *)(v->base + at);
        for (uint64_t i = from / 64; i < hd->bitmap_bytes / 8; i++)
            for (uint64_t x = w[i]; x; x &= x - 1) {
                uint64_t p = i * 64 + (unsigned)__builtin_ctzll(x);
                uint64_t u = stripe > 1 ? deinterleave(p, stripe) : p;
                if (u >= hd->units)
                    return corrupt(half ? "start bitmap" : "alloc bitmap", at + i * 8,
                                   "bit for unit %llu set; the arena at 0x%llx has %u units", ULL(u), ULL(off),
                                   hd->units);
            }
    }
    return 0;
}

#define PAIR_ALLOC 0x5555555555555555ull     /* the alloc bit of each of a word's 32 units */

/* log: (alloc, start) bit pairs; a start only on an allocated unit at a
 * stride multiple (recovery reads objects from the starts), nothing past
 * the last unit. Word at a time: 32 units per word. */
static int check_pairs(const vstate *v, const pma_arena_header *hd, uint64_t off, uint32_t stride)
{
    uint64_t at = off + hd->alloc_off;
    const uint64_t *w = (const uint64_t *)(v->base + at);
    /* start bits allowed in a word: units at stride multiples (stride a power of two) */
    uint64_t ok = 0;
    for (unsigned k = 0; k < 32; k += stride < 32 ? stride : 32)
        ok |= 2ull << (2 * k);
    for (uint64_t i = 0; i < (uint64_t)hd->bitmap_bytes / 4; i++) {
        uint64_t x = w[i];
        if (!x)
            continue;
        uint64_t past = i * 32 + 32 <= hd->units ? 0 : hd->units <= i * 32 ? ~0ull :
                        ~0ull << (2 * (hd->units - i * 32));
        if (x & past) {
            uint64_t u = i * 32 + (unsigned)__builtin_ctzll(x & past) / 2;
            return corrupt("log checkpoint", at + i * 8, "bit for unit %llu set; the arena at 0x%llx has %u units",
                           ULL(u), ULL(off), hd->units);
        }
        uint64_t starts = x & (PAIR_ALLOC << 1);
        uint64_t word_ok = stride > 32 && (i * 32) % stride ? 0 : ok;
        uint64_t bad = (starts & ~((x & PAIR_ALLOC) << 1)) | (starts & ~word_ok);
        if (bad) {
            uint64_t u = i * 32 + (unsigned)__builtin_ctzll(bad) / 2;
            return corrupt("log checkpoint", at + i * 8, "start of unit %llu is on a %s", ULL(u),
                           u % stride ? "unit that is not a stride multiple" : "free unit");
        }
    }
    return 0;
}

/* intent: every slot word is 0 or an operation on units of this arena. */
static int check_intents(const pma_arena_header *hd, uint64_t off)
{
    for (int i = 0; i < PMA_LOG_SLOTS; i++) {
        uint64_t w = hd->log[i].word;
        uint64_t first = pma_log_first(w), n = pma_log_count(w);
        if (w == 0)
            continue;
        if ((pma_log_op(w) != PMA_OP_ALLOC && pma_log_op(w) != PMA_OP_FREE) || n == 0 ||
            first + n > hd->units)
            return corrupt("intent slot", off + offsetof(pma_arena_header, log) + (uint64_t)i * PMA_LINE,
                           "word 0x%016llx (op %u, units %llu..%llu) is no operation on the arena's %u units",
                           ULL(w), pma_log_op(w), ULL(first), ULL(first + n), hd->units);
    }
    return 0;
}

static int check_arena(vstate *v, uint64_t off, varena *out)
{
    pma_heap *h = v->h;
    const char *A = "arena header";
    const pma_arena_header *hd = (const void *)(v->base + off);
    if (hd->magic != PMA_ARENA_MAGIC)
        return corrupt(A, off, "magic 0x%016llx is not an arena's", ULL(hd->magic));
    uint64_t sum = pma_checksum(h->version, hd, offsetof(pma_arena_header, checksum));
    if (hd->checksum != sum)
        return corrupt(A, off, "checksum 0x%llx, the fields sum to 0x%llx", ULL(hd->checksum), ULL(sum));
    if (hd->class_word >= PMA_CLASSES)
        return corrupt(A, off, "class %llu is not a class (0 to %d)", ULL(hd->class_word), PMA_CLASSES - 1);
    bool large = hd->class_word == PMA_CLASS_LARGE;
    uint64_t size = hd->size;
    if (hd->resize) {
        size = pma_resize_size(hd->resize);
        if (!h->can_resize || !large || size == 0)
            return corrupt(A, off + offsetof(pma_arena_header, resize),
                           "resize word 0x%016llx is not valid here (%s)", ULL(hd->resize),
                           !h->can_resize ? "layout 2 has none" : !large ? "a small arena" : "no tag");
    }
    if (size < PMA_ARENA_ALIGN || size % PMA_ARENA_ALIGN || size > h->hwm - off)
        return corrupt(A, off, "size 0x%llx is not whole pages up to the heap end 0x%llx", ULL(size), ULL(h->hwm));
    *out = (varena){.off = off, .size = size, .large = large};
    if (large) {
        uint32_t data_off = pma_large_data_off(h);
        if (hd->units || hd->bitmap_bytes || hd->data_off != data_off || data_off >= size)
            return corrupt(A, off, "large arena: units %u, bitmap bytes %u, data at +%u (expected 0, 0, +%u)",
                           hd->units, hd->bitmap_bytes, hd->data_off, data_off);
        out->data = off + data_off;
        uint64_t w;
        int latest = pma_large_latest(hd, worn_slots(v, off), &w);
        uint64_t req = w & PMA_OBJECT_SIZE_MASK, cap = size - data_off;
        if ((w & PMA_OBJECT_LIVE) && (req == 0 || req > cap))
            return corrupt("large object word",
                           off + offsetof(pma_arena_header, log) + (uint64_t)latest * PMA_LINE,
                           "live object of %llu bytes in a data area of %llu", ULL(req), ULL(cap));
        return 0;
    }
    pma_geometry g;
    pma_geometry_small(h, size, &g);
    if (g.units != hd->units || g.bitmap_bytes != hd->bitmap_bytes || g.alloc_off != hd->alloc_off ||
        g.start_off != hd->start_off || g.data_off != hd->data_off || g.data_off > size)
        return corrupt(A, off,
                       "geometry (units %u, bitmaps %u bytes at +%u/+%u, data at +%u) is not that of a "
                       "%llu-byte arena (%u, %u at +%u/+%u, +%u)",
                       hd->units, hd->bitmap_bytes, hd->alloc_off, hd->start_off, hd->data_off, ULL(size),
                       g.units, g.bitmap_bytes, g.alloc_off, g.start_off, g.data_off);
    out->data = off + g.data_off;
    out->units = g.units;
    uint32_t stride = h->q / h->cfg.granularity;
    switch (h->cfg.persistence) {
    case PMA_PERSIST_LOG:
        return check_pairs(v, hd, off, stride);
    case PMA_PERSIST_INTENT: {
        int rc = check_intents(hd, off);
        return rc ? rc : check_phys_bitmaps(v, hd, off, g.stripe);
    }
    default:
        return check_phys_bitmaps(v, hd, off, g.stripe);
    }
}

/* log: every record slot holds nothing of a live epoch, or a record of one
 * that names a start slot of a small arena; none is of a future epoch. */
static int check_log(const vstate *v)
{
    pma_heap *h = v->h;
    const pma_heap_header *hh = (const void *)v->base;
    uint64_t c = hh->log_epoch, start = PMA_HEAP_HEADER_SIZE, end = start + (uint64_t)hh->log_kib * 1024;
    for (uint64_t off = start; off < end; off += PMA_LOG_REC) {
        uint64_t w[2];
        memcpy(w, v->base + off, sizeof w);
        uint64_t e = w[1] >> 32;
        uint32_t ahead = (uint32_t)(e - (c + 2));
        if (pma_rec_valid(w, e) && ahead != 0 && ahead < (1u << 31))
            return corrupt("log record", off, "epoch %llu is past the last one that can have run (%llu)", ULL(e),
                           ULL(c + 2));
        if (!pma_rec_valid(w, c + 1) && !pma_rec_valid(w, c + 2))
            continue;
        unsigned op = pma_rec_op(w);
        uint64_t at = pma_rec_off(w), n = pma_rec_units(w);
        const varena *a = arena_of(v, at);
        if (op != PMA_OP_ALLOC && op != PMA_OP_FREE)
            return corrupt("log record", off, "op %u is neither alloc nor free", op);
        if (!a || a->large || at < a->data)
            return corrupt("log record", off, "block offset 0x%llx is not in a small arena's data area", ULL(at));
        uint64_t rel = at - a->data, u = rel >> h->g_shift;
        if ((rel & (h->q - 1)) || u >= a->units || n > a->units - u)
            return corrupt("log record", off,
                           "block at 0x%llx of %llu units is not a start slot within the arena at 0x%llx (%u units)",
                           ULL(at), ULL(n), ULL(a->off), a->units);
    }
    return 0;
}

/* metadata nvram: every list link names an arena, and the lists end. Links
 * are never read back, but a heap only ever stores arena offsets in them;
 * a store the device refused leaves a stale link, so the lists are only
 * required to end on a device with no failed line. */
static int check_lists(const vstate *v)
{
    const pma_heap_header *hh = (const void *)v->base;
    for (size_t i = 0; i < v->n; i++) {
        const pma_arena_header *ah = (const void *)(v->base + v->a[i].off);
        if (v->a[i].large)
            continue;
        uint64_t link[2] = {ah->prev, ah->next};
        for (int k = 0; k < 2; k++) {
            const varena *t = link[k] ? arena_of(v, link[k]) : NULL;
            if (link[k] && (!t || t->off != link[k] || t->large))
                return corrupt("arena list link", v->a[i].off + offsetof(pma_arena_header, prev) + 8u * (unsigned)k,
                               "%s 0x%llx is not the start of a small arena", k ? "next" : "prev", ULL(link[k]));
        }
    }
    for (int c = 0; c < PMA_CLASS_LARGE; c++) {
        uint64_t at = offsetof(pma_heap_header, list_head) + 8u * (unsigned)c, x = hh->list_head[c];
        const varena *t = x ? arena_of(v, x) : NULL;
        if (x && (!t || t->off != x || t->large))
            return corrupt("class list head", at, "0x%llx is not the start of a small arena", ULL(x));
        if (v->nfailed)
            continue;
        size_t steps = 0;
        for (; x; steps++) {
            if (steps > v->n)
                return corrupt("class list head", at, "the list of class %d does not end (a cycle)", c);
            x = ((const pma_arena_header *)(v->base + x))->next;
        }
    }
    return 0;
}

int pma_validate_image(pma_heap *h)
{
    const pma_heap_header *hh = nv_base(h->dev);
    vstate v = {.h = h, .base = nv_base(h->dev)};
    v.bm_off = PMA_HEAP_HEADER_SIZE + (uint64_t)hh->log_kib * 1024;
    uint64_t arena_base = v.bm_off + pma_badmap_bytes(hh->device_size);
    /* The map's bits past the device's last line: no heap sets them. */
    uint64_t lines = hh->device_size / PMA_LINE;
    if (lines % 32) {
        uint64_t last = ((const uint64_t *)(v.base + v.bm_off))[lines / 32];
        if (last >> (2 * (lines % 32)))
            return corrupt("bad-block map", v.bm_off + lines / 32 * 8, "bits set past the device's last line %llu",
                           ULL(lines - 1));
    }
    size_t cap = (size_t)((h->hwm - arena_base) / PMA_ARENA_ALIGN);
    v.a = malloc((cap ? cap : 1) * sizeof *v.a);
    int rc = v.a ? load_failures(&v) : PMA_ENOMEM;
    /* Each step moves at least a page and stops at hwm: at most cap steps. */
    for (uint64_t off = arena_base; rc == 0 && off < h->hwm; off += v.a[v.n++].size)
        rc = check_arena(&v, off, &v.a[v.n]);
    if (rc == 0 && h->cfg.persistence == PMA_PERSIST_LOG)
        rc = check_log(&v);
    if (rc == 0 && h->cfg.metadata == PMA_META_NVRAM && h->cfg.persistence != PMA_PERSIST_GC)
        rc = check_lists(&v);
    if (rc == 0 && h->root) {
        const varena *a = arena_of(&v, h->root);
        if (!a || h->root < a->data)
            rc = corrupt("heap header", offsetof(pma_heap_header, root),
                         "root 0x%llx is in the header or bitmaps of the arena at 0x%llx, not its data area",
                         ULL(h->root), ULL(a ? a->off : 0));
    }
    free(v.a);
    free(v.failed);
    return rc;
}
