/*
 * sim_device.c - the simulated NVRAM device: stores, reads, flushes and
 * fences, with per-cell wear counting and a latency model.
 *
 * Wear counting. A store of len bytes at off adds one to the counter of every
 * wear unit it touches, for the store's tag. The wear unit is the cell, or
 * the media line when one is configured (a store that reaches the media wears
 * the whole media line: read-modify-write amplification); a unit's increment
 * adds one to each cell inside it. Under the dcw model (data-comparison write)
 * a unit wears only if at least one of its bytes changes, and the changed bits
 * are counted. A store counts when it is stored, not when it is flushed.
 *
 * Latency: read and write cost per 64-byte line touched, flush per line
 * flushed, fence per fence, charged to the calling thread's slot.
 *
 * Fault injection (nv_fault_arm): once armed, every store that passes the
 * argument checks is counted, and the n-th and all later ones fail with
 * NV_EIO before touching anything (bytes, wear, slots, crash bookkeeping),
 * until disarmed. Unarmed, it costs the store path one relaxed load and a
 * branch predicted not taken.
 *
 * Locking: counters are atomic (cell_counters.h) and slots are per thread, so
 * stores run in parallel. With crash simulation on, a store, flush or fence
 * also updates the persisted-image bookkeeping under the crash lock.
 */
#include "sim_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static inline int sim_range_ok(const nv_sim *s, uint64_t off, size_t len)
{
    return off <= s->dev.size && len <= s->dev.size - off;
}

/* Adds one to each cell of [first, last]; with wear-out on, each is also
 * counted against its endurance (sim_wearout.c). */
static inline void sim_count(nv_sim *s, nv_tag tag, uint64_t first, uint64_t last)
{
    if (s->wearout)
        nv_sim_count(s, tag, first, last);
    else
        nv_cell_counters_add_range(&s->count[tag], first, last);
}

/* Adds one to each cell of the units [u0, u1] (unit indexes). */
static void sim_wear_units(nv_sim *s, nv_tag tag, uint64_t u0, uint64_t u1)
{
    uint64_t first = (u0 * s->unit) >> s->cell_shift;
    uint64_t last = (((u1 + 1) * s->unit) >> s->cell_shift) - 1;
    if (last >= s->cells)
        last = s->cells - 1;
    sim_count(s, tag, first, last);
}

/* The dcw model: compare the new bytes (src, or `byte` when src is NULL) with
 * the stored ones unit by unit, wear only the units that change. Returns the
 * number of flipped bits. The wear lands pdelta units further (leveling's
 * physical line; 0 without). */
static uint64_t sim_wear_dcw(nv_sim *s, uint64_t off, size_t len,
                             const unsigned char *src, int byte, nv_tag tag, int64_t pdelta)
{
    const unsigned char *old = s->dev.base;
    uint64_t flips = 0, end = off + len;
    uint64_t u = off / s->unit, ulast = (end - 1) / s->unit;
    for (; u <= ulast; u++) {
        uint64_t lo = u * s->unit > off ? u * s->unit : off;
        uint64_t hi = (u + 1) * s->unit < end ? (u + 1) * s->unit : end;
        uint64_t unit_flips = 0, i = lo;
        uint64_t rep = 0x0101010101010101ull * (unsigned char)byte;
        for (; i + 8 <= hi; i += 8) {       /* a word at a time: dcw is on the hot path */
            uint64_t a, b = rep;
            memcpy(&a, old + i, 8);
            if (src)
                memcpy(&b, src + (i - off), 8);
            unit_flips += (uint64_t)__builtin_popcountll(a ^ b);
        }
        for (; i < hi; i++) {
            unsigned char nb = src ? src[i - off] : (unsigned char)byte;
            unit_flips += (uint64_t)__builtin_popcount((unsigned)(old[i] ^ nb));
        }
        if (unit_flips) {
            sim_wear_units(s, tag, (uint64_t)((int64_t)u + pdelta), (uint64_t)((int64_t)u + pdelta));
            flips += unit_flips;
        }
    }
    return flips;
}

/* Wears the units of [off, off+len) (logical bytes), landing on the units
 * poff - off bytes further (a multiple of the unit). */
static uint64_t sim_wear_at(nv_sim *s, uint64_t off, uint64_t poff, size_t len,
                            const unsigned char *src, int byte, nv_tag tag)
{
    nv_cell_counters_mark_used(&s->count[tag]);
    if (s->cfg.write_model == NV_MODEL_DCW)
        return sim_wear_dcw(s, off, len, src, byte, tag, ((int64_t)poff - (int64_t)off) / (int64_t)s->unit);
    if (s->unit == ((uint64_t)1 << s->cell_shift))
        sim_count(s, tag, poff >> s->cell_shift, (poff + len - 1) >> s->cell_shift);
    else
        sim_wear_units(s, tag, poff / s->unit, (poff + len - 1) / s->unit);
    return 0;
}

static uint64_t sim_wear(nv_sim *s, uint64_t off, size_t len,
                         const unsigned char *src, int byte, nv_tag tag)
{
    return sim_wear_at(s, off, off, len, src, byte, tag);
}

/* Stores [lo, hi) of the store at off, but for the bytes of the cells that
 * failed in it from pending entry p0 on (sorted by cell, mapped back to
 * logical bytes through the line's delta): those stay as they were. */
static void sim_put_skipping(nv_sim *s, uint64_t off, uint64_t lo, uint64_t hi,
                             const unsigned char *src, int byte, uint64_t p0)
{
    nv_wearstate *w = s->ws;
    uint64_t cs = s->cfg.cell_size, pos = lo;
    for (uint64_t i = p0; i <= w->npend; i++) {
        uint64_t a = hi, b = hi;
        if (i < w->npend) {
            a = (uint64_t)((int64_t)(w->pend[i].cell * cs) + w->delta);
            b = a + cs;
            a = a < lo ? lo : a;
            b = b > hi ? hi : b;
            if (a >= b || a < pos)
                continue;
        }
        if (a > pos) {
            if (src)
                memcpy(s->dev.base + pos, src + (pos - off), a - pos);
            else
                memset(s->dev.base + pos, byte, a - pos);
        }
        pos = b > pos ? b : pos;
    }
}

/* The store path with wear-out or leveling on (sim_wearout.c): under the
 * wear lock, line by line with leveling (each logical line wears the
 * physical line it maps to now, and may move the gap), a whole store
 * otherwise; cells that fail or had failed keep their bytes. Failures are
 * reported to the callback after the locks are dropped. */
static int sim_store_worn(nv_sim *s, uint64_t off, const unsigned char *src, int byte,
                          size_t len, nv_tag tag, uint64_t *flips)
{
    nv_wearstate *w = s->ws;
    pthread_mutex_lock(&w->lock);
    if (s->crash_sim)
        pthread_mutex_lock(&s->crash.lock);
    w->npend = 0;
    uint64_t end = off + len, own;
    if (!w->per_line) {
        w->delta = 0;
        *flips = sim_wear(s, off, len, src, byte, tag);
        sim_put_skipping(s, off, off, end, src, byte, 0);
        own = w->npend;
    } else {
        /* Failures a gap move meets (it carried a line onto a failed cell)
         * are reported for that line, but are not this store's: only its
         * own lines' failures make it NV_EWORN. */
        own = 0;
        for (uint64_t lo = off; lo < end;) {
            uint64_t l = lo / w->line;
            uint64_t hi = (l + 1) * w->line < end ? (l + 1) * w->line : end;
            uint64_t p = l < w->lines && w->level ? nv_sim_map(w, l) : l;   /* size % line == 0 */
            uint64_t to = nv_sim_spare_of(w, p);
            w->delta = (int64_t)(l * w->line) - (int64_t)(to * w->line);
            uint64_t p0 = w->npend;
            *flips += sim_wear_at(s, lo, (uint64_t)((int64_t)lo - w->delta), hi - lo, src ? src + (lo - off) : NULL,
                                  byte, tag);
            own += w->npend - p0;
            sim_put_skipping(s, off, lo, hi, src, byte, p0);
            if (w->level)
                nv_sim_line_written(s, p);
            lo = hi;
        }
    }
    if (s->crash_sim) {
        nv_sim_crash_store(s, off, len, tag);
        pthread_mutex_unlock(&s->crash.lock);
    }
    uint64_t n = w->npend;
    nv_failure few[8], *f = n <= 8 ? few : malloc(n * sizeof *f);
    if (!f)
        abort();
    if (n)
        memcpy(f, w->pend, n * sizeof *f);
    pthread_mutex_unlock(&w->lock);
    nv_sim_fire_failures(s, f, n);
    if (f != few)
        free(f);
    return own ? NV_EWORN : 0;
}

static void sim_account_store(nv_sim *s, uint64_t off, size_t len, nv_tag tag, uint64_t flips)
{
    bool shared;
    nv_slot *t = nv_sim_slot(s, &shared);
    nv_slot_add(&t->stores, 1, shared);
    nv_slot_add(&t->bytes_stored, len, shared);
    nv_slot_add(&t->time_ps, nv_lines_spanned(off, len) * s->ps_write, shared);
    if (flips)
        nv_slot_add(&t->bits_flipped[tag], flips, shared);
}

/* The armed fault path: counts this store; true if it is to fail. Kept out
 * of line so the unarmed store path stays one load and one branch. */
static __attribute__((noinline, cold)) bool sim_fault_hit(nv_sim *s)
{
    uint64_t k = atomic_fetch_add_explicit(&s->fault_seen, 1, memory_order_relaxed) + 1;
    return k >= atomic_load_explicit(&s->fault_n, memory_order_relaxed);
}

/* One store: src bytes, or `byte` repeated when src is NULL. */
static int sim_store(nv_device *d, uint64_t off, const void *src, int byte,
                     size_t len, nv_tag tag)
{
    nv_sim *s = nv_sim_of(d);
    if ((unsigned)tag >= NV_TAGS)
        return NV_EINVAL;
    if (!sim_range_ok(s, off, len))
        return NV_ERANGE;
    if (len == 0)
        return 0;
    if (__builtin_expect(atomic_load_explicit(&s->fault_armed, memory_order_relaxed), 0)
        && sim_fault_hit(s))
        return NV_EIO;       /* an injected fault: nothing stored or counted */
    if (s->wearout) {
        uint64_t flips = 0;
        int rc = sim_store_worn(s, off, src, byte, len, tag, &flips);
        sim_account_store(s, off, len, tag, flips);
        return rc;
    }
    if (s->crash_sim)
        pthread_mutex_lock(&s->crash.lock);
    uint64_t flips = sim_wear(s, off, len, src, byte, tag);
    if (src)
        memcpy(d->base + off, src, len);
    else
        memset(d->base + off, byte, len);
    if (s->crash_sim) {
        nv_sim_crash_store(s, off, len, tag);
        pthread_mutex_unlock(&s->crash.lock);
    }
    sim_account_store(s, off, len, tag, flips);
    return 0;
}

static int sim_write(nv_device *d, uint64_t off, const void *src, size_t len, nv_tag tag)
{
    if (!src && len)
        return NV_EINVAL;
    return sim_store(d, off, src, 0, len, tag);
}

static int sim_set(nv_device *d, uint64_t off, int byte, size_t len, nv_tag tag)
{
    return sim_store(d, off, NULL, byte, len, tag);
}

static int sim_read(nv_device *d, uint64_t off, void *dst, size_t len)
{
    nv_sim *s = nv_sim_of(d);
    if (!sim_range_ok(s, off, len))
        return NV_ERANGE;
    memcpy(dst, d->base + off, len);
    bool shared;
    nv_slot *t = nv_sim_slot(s, &shared);
    nv_slot_add(&t->reads, 1, shared);
    nv_slot_add(&t->bytes_read, len, shared);
    nv_slot_add(&t->time_ps, nv_lines_spanned(off, len) * s->ps_read, shared);
    return 0;
}

static void sim_flush(nv_device *d, uint64_t off, size_t len)
{
    nv_sim *s = nv_sim_of(d);
    if (off >= s->dev.size || len == 0)
        return;
    if (len > s->dev.size - off)
        len = (size_t)(s->dev.size - off);
    bool shared;
    nv_slot *t = nv_sim_slot(s, &shared);
    nv_slot_add(&t->flushes, 1, shared);
    nv_slot_add(&t->time_ps, nv_lines_spanned(off, len) * s->ps_flush, shared);
    if (s->crash_sim)
        nv_sim_crash_flush(s, off, len);
}

static void sim_fence(nv_device *d)
{
    nv_sim *s = nv_sim_of(d);
    bool shared;
    nv_slot *t = nv_sim_slot(s, &shared);
    nv_slot_add(&t->fences, 1, shared);
    nv_slot_add(&t->time_ps, s->ps_fence, shared);
    if (s->crash_sim)
        nv_sim_crash_fence(s);
}

static void sim_close(nv_device *d)
{
    nv_sim *s = nv_sim_of(d);
    for (int k = 0; k < NV_TAGS; k++)
        nv_cell_counters_free(&s->count[k]);
    free(s->now_sum);
    nv_sim_wearout_free(s);
    if (s->crash_sim)
        nv_sim_crash_free(s);
    munmap(d->base, s->map_bytes);
    free(s);
}

int nv_fault_arm(nv_device *d, unsigned mask, uint64_t n)
{
    if (!d || d->kind != NV_KIND_SIM)
        return NV_ENOTSUP;
    if (n == 0 || mask != NV_OP_STORE)
        return NV_EINVAL;
    nv_sim *s = nv_sim_of(d);
    atomic_store(&s->fault_armed, false);
    atomic_store(&s->fault_n, n);
    atomic_store(&s->fault_seen, 0);
    atomic_store(&s->fault_armed, true);
    return 0;
}

int nv_fault_disarm(nv_device *d)
{
    if (!d || d->kind != NV_KIND_SIM)
        return NV_ENOTSUP;
    atomic_store(&nv_sim_of(d)->fault_armed, false);
    return 0;
}

static const nv_ops sim_ops = {
    .write = sim_write,
    .set = sim_set,
    .read = sim_read,
    .flush = sim_flush,
    .fence = sim_fence,
    .crash = nv_sim_crash,
    .close = sim_close,
};

static uint64_t ns_to_ps(double ns) { return (uint64_t)llround(ns * 1000.0); }

int nv_sim_open(nv_device **dev, const nv_config *cfg)
{
    nv_sim *s = calloc(1, sizeof *s);
    if (!s)
        return NV_ENOMEM;
    s->cfg = *cfg;
    s->cfg.path = NULL;
    s->cell_shift = (unsigned)__builtin_ctz(cfg->cell_size);
    s->cells = nv_sim_level_cells(cfg, (cfg->size + cfg->cell_size - 1) >> s->cell_shift);
    s->unit = cfg->media_line ? cfg->media_line : cfg->cell_size;
    s->ps_read = ns_to_ps(cfg->latency.read_ns);
    s->ps_write = ns_to_ps(cfg->latency.write_ns);
    s->ps_flush = ns_to_ps(cfg->latency.flush_ns);
    s->ps_fence = ns_to_ps(cfg->latency.fence_ns);
    s->map_bytes = (size_t)((cfg->size + 4095) & ~(uint64_t)4095);
    void *base = mmap(NULL, s->map_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(s);
        return NV_ENOMEM;
    }
    s->dev.ops = &sim_ops;
    s->dev.base = base;
    s->dev.size = cfg->size;
    s->dev.kind = NV_KIND_SIM;
    int k = 0;
    for (; k < NV_TAGS; k++)
        if (nv_cell_counters_init(&s->count[k], s->cells) != 0)
            break;
    s->crash_sim = cfg->crash_sim;
    s->wearout = cfg->endurance.kind != NV_ENDURANCE_NONE || cfg->leveling.kind != NV_LEVELING_NONE;
    bool crash_ok = false;
    if (k < NV_TAGS || (s->crash_sim && !(crash_ok = nv_sim_crash_init(s) == 0)) ||
        (s->wearout && nv_sim_wearout_init(s) != 0)) {
        nv_sim_wearout_free(s);
        if (crash_ok)
            nv_sim_crash_free(s);
        while (k-- > 0)
            nv_cell_counters_free(&s->count[k]);
        munmap(base, s->map_bytes);
        free(s);
        return NV_ENOMEM;
    }
    *dev = &s->dev;
    return 0;
}
