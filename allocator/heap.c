/*
 * heap.c - the heap: configuration, the heap header, formatting (pma_init),
 * finding a heap again (pma_open), the arena registry and page map, growing
 * into the device (hwm), the root, and statistics.
 *
 * The heap header sits at device offset 0 (layout.h). Its static line is
 * written once and checksummed; hwm, the root and (metadata nvram) the list
 * heads each have a line of their own. Growing: an arena is formatted and
 * persisted first, then hwm is moved over it and persisted (an 8-byte store,
 * failure-atomic), so a crash in between leaves the new arena invisible and
 * its space is reused.
 *
 * Locking: the grow lock protects hwm, the registry and the pools; see
 * heap_internal.h for the order.
 */
#include "tcache.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static const uint32_t class_sizes[PMA_CLASSES] = {64, 128, 256, 512, 1024, 2048, 4096, 0};
static const char *const policy_names[] = {"first-fit", "next-fit", "wear-aware", "lafo"};
static const char *const layout_names[] = {"linear", "interleaved"};
static const char *const metadata_names[] = {"nvram", "hybrid", "dram"};
static const char *const persistence_names[] = {"intent", "log", "gc"};
static _Atomic uint64_t next_heap_id = 1;
static _Thread_local int last_error;
static _Thread_local char last_detail[256];

void pma_set_error(int err) { last_error = err; }
int pma_last_error(void) { return last_error; }
const char *pma_last_error_detail(void) { return last_detail; }

void pma_set_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_detail, sizeof last_detail, fmt, ap);
    va_end(ap);
}
uint32_t pma_class_size(int cls) { return cls >= 0 && cls < PMA_CLASSES ? class_sizes[cls] : 0; }

void pma_spin_wait(pma_spin *l)
{
    for (unsigned spins = 0;; spins++) {
        while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
            if (spins++ > 64)
                sched_yield();
            else
                __builtin_ia32_pause();
        }
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
            return;
    }
}

const char *pma_strerror(int err)
{
    switch (err) {
    case PMA_OK: return "success";
    case PMA_EINVAL: return "invalid argument (not the start of an object, or a bad size or config)";
    case PMA_EDOUBLE: return "double free: the object at that address is already free";
    case PMA_ENOMEM: return "out of memory: no room on the device for this request (or host memory ran out)";
    case PMA_ENOHEAP: return "no pmarena heap on this device (a heap with metadata \"dram\" keeps "
                             "nothing on the device and cannot be reopened)";
    case PMA_ECORRUPT: return "the heap's metadata is inconsistent";
    case PMA_EDEVICE: return "the device refused an operation";
    case PMA_ENOTSUP: return "not supported in this configuration";
    default: return nv_strerror(err);
    }
}

const char *pma_policy_name(pma_policy p) { return (unsigned)p < PMA_POLICIES ? policy_names[p] : "?"; }
const char *pma_layout_name(pma_bitmap_layout l) { return (unsigned)l <= 1 ? layout_names[l] : "?"; }
const char *pma_metadata_name(pma_metadata m) { return (unsigned)m <= 2 ? metadata_names[m] : "?"; }
const char *pma_persistence_name(pma_persistence p)
{
    return (unsigned)p < PMA_PERSISTENCES ? persistence_names[p] : "?";
}

static int name_index(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return PMA_EINVAL;
}
int pma_policy_from_name(const char *s) { return name_index(s, policy_names, 4); }
int pma_layout_from_name(const char *s) { return name_index(s, layout_names, 2); }
int pma_metadata_from_name(const char *s) { return name_index(s, metadata_names, 3); }
int pma_persistence_from_name(const char *s) { return name_index(s, persistence_names, PMA_PERSISTENCES); }

void pma_config_defaults(pma_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->granularity = 1;
    cfg->alignment = 16;
    cfg->arena_size = 1u << 20;
    cfg->policy = PMA_FIRST_FIT;
    cfg->bitmap_layout = PMA_LAYOUT_LINEAR;
    cfg->metadata = PMA_META_HYBRID;
    cfg->wear_spread_percent = 50;
    cfg->wear_spread_full_at = PMA_SPREAD_FULL_AT;
    cfg->persistence = PMA_PERSIST_LOG;
}

static bool is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

#define FAIL(...) do { if (msg && msglen) snprintf(msg, msglen, __VA_ARGS__); return PMA_EINVAL; } while (0)

int pma_config_check(const pma_config *cfg, char *msg, size_t msglen)
{
    if (!is_pow2(cfg->granularity) || cfg->granularity > 4096)
        FAIL("granularity: %u is not allowed (a power of two from 1 to 4096)", cfg->granularity);
    if (!is_pow2(cfg->alignment) || cfg->alignment > 4096)
        FAIL("alignment: %u is not allowed (a power of two from 1 to 4096)", cfg->alignment);
    if (cfg->arena_size < 16384 || cfg->arena_size % PMA_ARENA_ALIGN ||
        cfg->arena_size > ((uint64_t)1 << 30))
        FAIL("arena_size: %llu is not allowed (a multiple of 4096 from 16 KiB to 1 GiB)",
             (unsigned long long)cfg->arena_size);
    if (cfg->arena_size / cfg->granularity > PMA_MAX_UNITS)
        FAIL("arena_size: %llu is too large for granularity %u (at most %u bitmap bits per arena)",
             (unsigned long long)cfg->arena_size, cfg->granularity, PMA_MAX_UNITS);
    if ((unsigned)cfg->policy >= PMA_POLICIES)
        FAIL("policy: %d is not a policy (first-fit, next-fit, wear-aware, lafo)", (int)cfg->policy);
    if ((unsigned)cfg->bitmap_layout > PMA_LAYOUT_INTERLEAVED)
        FAIL("bitmap_layout: %d is not a layout (linear, interleaved)", (int)cfg->bitmap_layout);
    if (cfg->wear_spread_percent > 100)
        FAIL("wear_spread_percent: %u is not allowed (0 to 100)", cfg->wear_spread_percent);
    if ((unsigned)cfg->metadata > PMA_META_DRAM)
        FAIL("metadata: %d is not a placement (nvram, hybrid, dram)", (int)cfg->metadata);
    if ((unsigned)cfg->persistence >= PMA_PERSISTENCES)
        FAIL("persistence: %d is not a protocol (intent, log, gc)", (int)cfg->persistence);
    if (cfg->log_kib && (cfg->log_kib < 8 || cfg->log_kib > 8192 || cfg->log_kib % 8))
        FAIL("log_kib: %u is not allowed (0 for automatic, or a multiple of 8 from 8 to 8192)", cfg->log_kib);
    return 0;
}

/* ---- construction ---------------------------------------------------------- */

static pma_heap *heap_new(nv_device *dev, const pma_config *cfg)
{
    pma_heap *h = aligned_alloc(_Alignof(pma_heap), sizeof *h);    /* half_used has a line of its own */
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->dev = dev;
    h->cfg = *cfg;
    h->q = cfg->granularity > cfg->alignment ? cfg->granularity : cfg->alignment;
    h->g_shift = (unsigned)__builtin_ctz(cfg->granularity);
    h->q_shift = (unsigned)__builtin_ctz(h->q);
    h->id = atomic_fetch_add(&next_heap_id, 1);
    h->persistent = cfg->metadata != PMA_META_DRAM;
    h->tc_on = cfg->policy == PMA_FIRST_FIT;
    h->can_resize = true;
    h->version = PMA_LAYOUT_VERSION;
    h->hwm = PMA_HEAP_HEADER_SIZE;
    h->arena_base = PMA_HEAP_HEADER_SIZE;
    if (h->persistent) {
        h->po = cfg->persistence == PMA_PERSIST_LOG ? &pma_persist_log :
                cfg->persistence == PMA_PERSIST_GC ? &pma_persist_gc : &pma_persist_intent;
        h->fixed_slots = h->po->fixed_slots;
    }
    atomic_init(&h->wear_ceiling, 1);
    /* Adaptive (spin a while, then sleep): threads take it for large gets
     * and returns, held for microseconds, and a sleeping waiter cost a
     * context switch each time (perf: all of the 2-thread replay's). */
    pthread_mutexattr_t adaptive;
    pthread_mutexattr_init(&adaptive);
    pthread_mutexattr_settype(&adaptive, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&h->grow, &adaptive);
    pthread_mutexattr_destroy(&adaptive);
    pthread_mutex_init(&h->tc_lock, NULL);
    pthread_mutex_init(&h->ckpt, NULL);
    pthread_mutex_init(&h->bad_lock, NULL);
    pthread_mutex_init(&h->bm_lock, NULL);
    for (int c = 0; c < PMA_CLASSES; c++) {
        pthread_mutex_init(&h->cls[c].lock, NULL);
        pthread_cond_init(&h->cls[c].created, NULL);
        uint64_t sz = class_sizes[c] ? class_sizes[c] : h->q;
        h->cls[c].units = (uint32_t)(((sz + h->q - 1) / h->q * h->q) / cfg->granularity);
    }
    h->pagemap_bytes = (size_t)((nv_size(dev) + PMA_ARENA_ALIGN - 1) / PMA_ARENA_ALIGN) * sizeof *h->pagemap;
    /* Shared, as the arenas' slot arrays are (arena.c, lazy_zalloc): every
     * return reads it, and pages of it are written later, as arenas come. */
    void *pm = mmap(NULL, h->pagemap_bytes ? h->pagemap_bytes : 1, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pm == MAP_FAILED) {
        free(h);
        return NULL;
    }
    h->pagemap = pm;
    return h;
}

/* Frees the DRAM state; writes nothing. */
static void heap_free(pma_heap *h)
{
    pma_tc_detach_all(h);
    if (h->po)
        h->po->detach(h);
    pma_badmap_detach(h);
    for (pma_arena *a = h->first, *n; a; a = n) {
        n = a->all_next;
        pma_arena_free_dram(h, a);
    }
    for (pma_arena *a = h->dead, *n; a; a = n) {
        n = a->pool_next;
        pma_arena_free_dram(h, a);
    }
    pthread_mutex_destroy(&h->tc_lock);
    pthread_mutex_destroy(&h->ckpt);
    pthread_mutex_destroy(&h->bad_lock);
    pthread_mutex_destroy(&h->bm_lock);
    for (int c = 0; c < PMA_CLASSES; c++) {
        pthread_mutex_destroy(&h->cls[c].lock);
        pthread_cond_destroy(&h->cls[c].created);
    }
    pthread_mutex_destroy(&h->grow);
    munmap(h->pagemap, h->pagemap_bytes ? h->pagemap_bytes : 1);
    free(h);
}

void pma_destroy(pma_heap *h)
{
    if (!h)
        return;
    if (h->usable)
        pma_badmap_poll(h);         /* failures not yet taken reach the map */
    if (h->usable && h->po && h->po->close) {
        /* Cached blocks are not live: they are free in what close stores. */
        h->po->close(h);
    }
    heap_free(h);
}

void pma_abandon(pma_heap *h)
{
    if (h)
        heap_free(h);
}

void pma_open_info_get(pma_heap *h, pma_open_info *out)
{
    *out = h->info;
}

int pma_init(pma_heap **heap, nv_device *dev, const pma_config *cfg)
{
    *heap = NULL;
    if (!dev || !cfg || pma_config_check(cfg, NULL, 0) != 0)
        return PMA_EINVAL;
    if (nv_size(dev) < PMA_HEAP_HEADER_SIZE + PMA_ARENA_ALIGN)
        return PMA_ENOMEM;
    pma_heap *h = heap_new(dev, cfg);
    if (!h)
        return PMA_ENOMEM;
    if (h->persistent) {
        /* Invalidate any older heap first, so a crash mid-format finds none. */
        uint64_t zero = 0;
        int rc = nv_write(dev, 0, &zero, 8, NV_META_HEADER) ? PMA_EDEVICE : 0;
        nv_persist(dev, 0, 8);
        /* An older heap's hwm ring would outrank this one's hwm: cleared,
         * only where it is not zero already (no writes on a fresh device). */
        for (unsigned i = 0; rc == 0 && i < PMA_HWM_RING_SLOTS; i++) {
            uint64_t off = PMA_HWM_RING_OFF + (uint64_t)i * 64, w;
            memcpy(&w, (const unsigned char *)nv_base(dev) + off, 8);
            if (w == 0)
                continue;
            rc = nv_write(dev, off, &zero, 8, NV_META_HEADER) ? PMA_EDEVICE : 0;
            nv_persist(dev, off, 8);
        }
        if (rc == 0)
            rc = h->po->format(h);
        /* The bad-block map follows the header and the log region. */
        uint64_t bm_off = PMA_HEAP_HEADER_SIZE + h->log_bytes, bm_bytes = pma_badmap_bytes(nv_size(dev));
        if (rc == 0 && bm_off + bm_bytes + PMA_ARENA_ALIGN > nv_size(dev))
            rc = PMA_ENOMEM;
        if (rc == 0)
            rc = pma_badmap_format(h, bm_off, nv_size(dev));
        if (rc) {
            pma_destroy(h);
            return rc;
        }
        pma_heap_header hd;
        memset(&hd, 0, sizeof hd);
        hd.version = PMA_LAYOUT_VERSION;
        hd.granularity = cfg->granularity;
        hd.alignment = cfg->alignment;
        hd.policy = (uint8_t)cfg->policy;
        hd.bitmap_layout = (uint8_t)cfg->bitmap_layout;
        hd.metadata = (uint8_t)cfg->metadata;
        hd.wear_spread_percent = (uint8_t)cfg->wear_spread_percent;
        hd.arena_size = cfg->arena_size;
        hd.device_size = nv_size(dev);
        hd.persistence = (uint8_t)cfg->persistence;
        hd.log_kib = (uint32_t)(h->log_bytes / 1024);
        hd.hwm = bm_off + bm_bytes;
        hd.log_epoch = 1;
        hd.magic = PMA_HEAP_MAGIC;
        hd.checksum = pma_checksum(PMA_LAYOUT_VERSION, &hd, offsetof(pma_heap_header, checksum));
        /* Magic last: written after the rest is persisted. */
        if (nv_write(dev, 8, (const unsigned char *)&hd + 8, sizeof hd - 8, NV_META_HEADER) != 0)
            rc = PMA_EDEVICE;
        nv_persist(dev, 8, sizeof hd - 8);
        if (rc == 0 && nv_write(dev, 0, &hd.magic, 8, NV_META_HEADER) != 0)
            rc = PMA_EDEVICE;
        nv_persist(dev, 0, 8);
        if (rc == 0)
            rc = h->po->attach(h);
        if (rc == 0) {
            h->arena_base = bm_off + bm_bytes;
            rc = pma_badmap_attach(h, bm_off, nv_size(dev), false);
        }
        if (rc) {
            pma_destroy(h);
            return rc;
        }
        h->hwm = h->arena_base;
    } else if (pma_badmap_attach(h, 0, nv_size(dev), false) != 0) {
        pma_destroy(h);
        return PMA_ENOMEM;
    }
    h->info.how = "init";
    h->usable = true;
    pma_tc_lane_open(h);
    *heap = h;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int pma_open(pma_heap **heap, nv_device *dev)
{
    return pma_open_ex(heap, dev, NULL);
}

int pma_open_ex(pma_heap **heap, nv_device *dev, const pma_open_opts *opts)
{
    double t0 = now_s();
    *heap = NULL;
    last_detail[0] = 0;
    if (!dev)
        return PMA_EINVAL;
    /* Everything open will read is checked first, reading only: an image
     * found corrupt is left byte for byte as it was (validate.c). */
    pma_config cfg;
    int rc = pma_validate_header(dev, &cfg);
    if (rc)
        return rc;
    const pma_heap_header *hd = nv_base(dev);
    pma_heap *h = heap_new(dev, &cfg);
    if (!h)
        return PMA_ENOMEM;
    uint64_t hwm_at;
    h->hwm = pma_header_hwm(hd, hd->version, &hwm_at);
    h->hwm_slot = hwm_at >= PMA_HWM_RING_OFF ? (unsigned)((hwm_at - PMA_HWM_RING_OFF) / 64 + 1) % PMA_HWM_RING_SLOTS : 0;
    h->root = hd->root;
    h->version = hd->version;
    h->can_resize = hd->version >= 3;
    h->open_opts = opts;
    h->bm_defer = true;
    rc = pma_validate_image(h);
    if (rc == 0)
        rc = h->po->attach(h);
    if (rc == 0) {
        uint64_t bm_off = h->arena_base;
        h->arena_base += pma_badmap_bytes(hd->device_size);
        if (h->arena_base > h->hwm)
            rc = PMA_ECORRUPT;
        else
            rc = pma_badmap_attach(h, bm_off, hd->device_size, true);
    }
    if (rc == 0 && (h->hwm < h->arena_base || (h->root && h->root < h->arena_base)))
        rc = PMA_ECORRUPT;
    for (uint64_t off = h->arena_base; rc == 0 && off < h->hwm;) {
        pma_arena *a;
        if ((rc = pma_arena_load(h, off, &a)) != 0)
            break;
        pma_heap_register(h, a);
        off += a->size;
    }
    if (rc == 0)
        rc = h->po->recover(h);
    if (rc) {
        if (!last_detail[0])
            pma_set_detail("heap at device offset 0x0: open failed: %s", pma_strerror(rc));
        pma_destroy(h);
        return rc;
    }
    /* Recovery succeeded: the failures the device reported since the map
     * last stored them go to the map now. */
    pma_badmap_sync(h);
    /* What was found live is the starting point of the live counters
     * (requested sizes are not on the device: taken as the padded ones). */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        pma_count(&h->retired.objects, a->objects);
        pma_count(&h->retired.allocated, a->allocated);
        pma_count(&h->retired.held, a->allocated);       /* held, not cached */
        pma_count(&h->retired.requested, a->large ? a->requested : a->allocated);
    }
    /* What the bad-block map holds is retired again (not live: after the
     * counters above took the live set). */
    pma_badmap_apply(h);
    /* Rebuild the DRAM indexes: lists of arenas with room, the pools. */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        int c = atomic_load(&a->cls);
        if (a->large) {
            if (!a->live_large && !a->retired_large && !a->pooled) {
                a->in_pool = true;
                pma_pool_push(h, a);
            }
        } else if (pma_arena_has_room(h, a, c)) {
            pma_list_push(h, &h->cls[c], a);
        }
    }
    if (cfg.metadata == PMA_META_NVRAM)
        for (int c = 0; c < PMA_CLASS_LARGE; c++)
            pma_heap_persist_list(h, c);
    h->open_opts = NULL;
    if (!h->info.how)
        h->info.how = h->po->name;
    for (pma_arena *a = h->first; a; a = a->all_next)
        h->info.live_objects += a->objects - a->retired_runs;
    h->info.wall_s = now_s() - t0;
    h->usable = true;
    pma_tc_lane_open(h);
    *heap = h;
    return 0;
}

/* ---- growing --------------------------------------------------------------- */

void pma_heap_register(pma_heap *h, pma_arena *a)
{
    if (h->last)
        h->last->all_next = a;
    else
        h->first = a;
    h->last = a;
    for (uint64_t p = a->off / PMA_ARENA_ALIGN; p < (a->off + a->size) / PMA_ARENA_ALIGN; p++)
        atomic_store_explicit(&h->pagemap[p], a, memory_order_release);
}

/* Reserves `bytes` past hwm (grow lock held). The caller formats the arena,
 * registers it, then publishes the new hwm. */
int pma_heap_alloc_space(pma_heap *h, uint64_t bytes, uint64_t *off)
{
    if (bytes > nv_size(h->dev) || h->hwm > nv_size(h->dev) - bytes)
        return PMA_ENOMEM;
    *off = h->hwm;
    return 0;
}

int pma_heap_publish_hwm(pma_heap *h)
{
    if (!h->persistent)
        return 0;
    if (h->version < 5) {
        uint64_t off = offsetof(pma_heap_header, hwm);
        int rc = nv_write(h->dev, off, &h->hwm, 8, NV_META_HEADER) ? PMA_EDEVICE : 0;
        nv_persist(h->dev, off, 8);
        return rc;
    }
    /* The next slot of the ring; one whose line wore out is passed over
     * (it keeps a smaller hwm, which the largest outranks). */
    for (unsigned k = 0; k < PMA_HWM_RING_SLOTS; k++) {
        uint64_t off = PMA_HWM_RING_OFF + (uint64_t)h->hwm_slot * 64;
        h->hwm_slot = (h->hwm_slot + 1) % PMA_HWM_RING_SLOTS;
        int wr = nv_write(h->dev, off, &h->hwm, 8, NV_META_HEADER);
        nv_persist(h->dev, off, 8);
        if (wr == 0)
            return 0;
        if (wr != NV_EWORN)
            return PMA_EDEVICE;
    }
    return PMA_EDEVICE;
}

/* Moves hwm over a formatted arena and registers it (grow lock held); an
 * arena whose hwm store failed is forgotten (it is invisible on the device). */
int pma_heap_publish_arena(pma_heap *h, pma_arena *a, uint64_t hwm)
{
    uint64_t old = h->hwm;
    h->hwm = hwm;
    if (pma_heap_publish_hwm(h) != 0) {
        h->hwm = old;
        pma_arena_free_dram(h, a);
        return PMA_EDEVICE;
    }
    pma_heap_register(h, a);
    atomic_fetch_add_explicit(&h->creations, 1, memory_order_relaxed);
    return 0;
}

/* Metadata nvram: the class list's head and every member's links, as the
 * origin design keeps them (a crash can tear them; pma_open rebuilds the
 * lists from the arena walk, which is authoritative). Class lock held. */
int pma_heap_persist_list(pma_heap *h, int cls)
{
    /* gc stores nothing per operation, list links included: its lists are
     * in DRAM under either placement. */
    if (h->cfg.metadata != PMA_META_NVRAM || cls >= PMA_CLASS_LARGE || h->fixed_slots)
        return 0;
    uint64_t head = h->cls[cls].head ? h->cls[cls].head->off : 0;
    uint64_t off = offsetof(pma_heap_header, list_head) + (uint64_t)cls * 8;
    int rc = nv_write(h->dev, off, &head, 8, NV_META_LIST) ? PMA_EDEVICE : 0;
    if (rc)          /* never read back: see list.c */
        atomic_fetch_add_explicit(&h->list_store_failures, 1, memory_order_relaxed);
    nv_persist(h->dev, off, 8);
    return rc;
}

/* ---- root and offsets ------------------------------------------------------ */

uint64_t pma_offset(pma_heap *h, const void *p) { return nv_offset_of(h->dev, p); }
void *pma_pointer(pma_heap *h, uint64_t off) { return (unsigned char *)nv_base(h->dev) + off; }
nv_device *pma_device(pma_heap *h) { return h->dev; }
const pma_config *pma_heap_config(pma_heap *h) { return &h->cfg; }

int pma_set_root(pma_heap *h, void *ptr)
{
    uint64_t off = 0;
    if (ptr) {
        const unsigned char *p = ptr, *base = nv_base(h->dev);
        if (p < base + h->arena_base || p >= base + nv_size(h->dev))
            return PMA_EINVAL;
        off = (uint64_t)(p - base);
    }
    int rc = 0;
    pthread_mutex_lock(&h->grow);
    /* Past the last arena: pma_open would refuse the heap (a fuzz finding,
     * tests/fuzz/regress/api/set-root-past-hwm-unopenable). */
    if (off >= h->hwm) {
        pthread_mutex_unlock(&h->grow);
        return PMA_EINVAL;
    }
    /* Inside an arena's header or bitmaps: pma_open would refuse it too. */
    pma_arena *a = off ? pma_heap_arena_at(h, off) : NULL;
    if (off && (!a || off < a->data)) {
        pthread_mutex_unlock(&h->grow);
        return PMA_EINVAL;
    }
    if (h->persistent) {
        uint64_t at = offsetof(pma_heap_header, root);
        rc = nv_write(h->dev, at, &off, 8, NV_META_ROOT) ? PMA_EDEVICE : 0;
        nv_persist(h->dev, at, 8);
    }
    if (rc == 0)
        h->root = off;
    pthread_mutex_unlock(&h->grow);
    return rc;
}

void *pma_root(pma_heap *h)
{
    pthread_mutex_lock(&h->grow);
    uint64_t off = h->root;
    pthread_mutex_unlock(&h->grow);
    return off ? pma_pointer(h, off) : NULL;
}

/* ---- statistics ------------------------------------------------------------ */

int pma_stats(pma_heap *h, pma_heap_stats *s)
{
    memset(s, 0, sizeof *s);
    pma_badmap_poll(h);
    pma_tcounters t;
    pthread_mutex_lock(&h->tc_lock);
    pma_tc_sum(h, &t, &s->cached_bytes);
    pthread_mutex_lock(&h->grow);
    s->footprint_bytes = h->hwm - pma_zone_unused(h);   /* wear-aware: the gap is unused */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        pma_spin_lock(&a->lock);
        s->arenas[atomic_load(&a->cls)]++;
        if (!a->large) {
            if (a->free_units == a->units)
                s->empty_arenas++;
            s->free_bytes += (uint64_t)a->free_units * h->cfg.granularity;
            for (uint32_t u = pma_bm_next_zero(a->alloc, 0, a->units); u < a->units;) {
                uint32_t end = pma_bm_next_one(a->alloc, u, a->units);
                uint64_t run = (uint64_t)(end - u) * h->cfg.granularity;
                if (run > s->largest_free_run)
                    s->largest_free_run = run;
                s->free_runs++;
                u = pma_bm_next_zero(a->alloc, end, a->units);
            }
        }
        pma_spin_unlock(&a->lock);
    }
    s->leaked_bytes = h->leaked_bytes;
    s->recovered_ops = h->recovered_ops;
    pthread_mutex_unlock(&h->grow);
    pthread_mutex_unlock(&h->tc_lock);
#define T(f) atomic_load_explicit(&t.f, memory_order_relaxed)
    s->requested_bytes = T(requested);
    s->allocated_bytes = T(allocated);
    s->live_objects = T(objects) + T(allocs) - T(frees);
    s->allocs = T(allocs);
    s->frees = T(frees);
    s->next_class_hits = T(next_class);
    s->cache_hits = T(hits);
    s->cache_misses = T(misses);
    s->lane_ops = T(lane_gets) + T(lane_frees);
    s->flushes = T(flushes) + T(records);
    s->fences = T(fences) + T(records);
    s->meta_bytes = T(meta_bytes) + T(records) * PMA_LOG_REC;
#undef T
    s->checkpoints = atomic_load(&h->checkpoints);
    s->log_wraps = atomic_load(&h->log_wraps);
    s->log_worn_skips = atomic_load(&h->log_worn_skips);
    s->arena_carves = atomic_load(&h->carves);
    s->arena_merges = atomic_load(&h->merges);
    s->arena_creations = atomic_load(&h->creations);
    s->search_restarts = atomic_load(&h->restarts);
    s->failed_allocs = atomic_load(&h->failed_allocs);
    s->bad_frees = atomic_load(&h->bad_frees);
    s->list_store_failures = atomic_load(&h->list_store_failures);
    s->retired_blocks = atomic_load(&h->retired_blocks);
    s->retired_bytes = atomic_load(&h->retired_bytes);
    s->failed_lines = atomic_load(&h->failed_lines);
    s->meta_failed_lines = atomic_load(&h->meta_failed_lines);
    s->badmap_store_failures = atomic_load(&h->bm_store_failures);
    return 0;
}
