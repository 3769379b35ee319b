/*
 * sim_wearout.c - cells that wear out, and Start-Gap leveling, in the sim
 * device: per-cell endurance and failures, the line mapping (a static
 * Feistel permutation, then Start-Gap), the gap moves, and their queries.
 *
 * Logical contents, physical wear. The device's bytes (nv_base) stay the
 * logical view the allocator reads through pointers; leveling maps only the
 * wear: a store's counts, endurance and failures land on the physical cells
 * its logical lines map to now, and a gap move is a write (source
 * NV_LEVELING) to the physical line it fills. So a failed physical cell keeps
 * the logical bytes of the line mapped onto it at the time unchanged (the
 * store path maps each failed cell back to its logical bytes and skips them).
 * What this leaves out: the data does not physically move, so a line that a
 * gap move carries onto a failed cell keeps its logical bytes (a real device
 * would lose them), and a crash (nv_crash) restores logical lines whatever
 * failed. Both only matter after failures, which the run reports.
 *
 * Start-Gap (Qureshi et al., MICRO'09): N logical lines on N+1 physical
 * lines; registers start and gap (gap = N at first). Logical line l maps to
 *     p = (perm(l) + start) mod N;  p + 1 when p >= gap
 * and every psi line writes the gap moves: gap > 0 copies line gap-1 into
 * gap, gap - 1; gap = 0 copies line N into 0, gap = N, start + 1 mod N.
 * perm is the identity, or with randomize a Feistel network over
 * ceil(log2 N) bits rounded up to even (4 rounds, keys from the seed by
 * splitmix64), cycle-walked back into [0, N): a permutation of [0, N).
 * Regions (region_lines R): the permuted line l is line l mod R of region
 * l / R, which has its own start, gap and spare line (physical lines
 * [k(R+1), (k+1)(R+1))) and moves its gap every psi writes to it; one
 * region (R = N) is the scheme above. A region in which a physical line
 * fails moves its gap no more (freeze_region).
 *
 * Costs: with endurance, 5 bytes a cell (a uint32 write count, a failed
 * byte), lazily mapped, plus 4 bytes a cell drawn at open for normal
 * endurance (one gaussian draw per cell, ~30 ns): 256 MiB of 64-byte cells
 * is 4 Mi cells, 20 MiB and ~0.1 s; at 1-byte cells 1.25 GiB and ~8 s. Every
 * store then takes one lock (the device stays thread safe, no longer
 * parallel). A write count saturates at 2^32 - 1, and a drawn endurance is
 * clamped there: such a cell never fails.
 */
#include "sim_internal.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *map_zero(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t nv_level_line(const nv_config *cfg)
{
    uint64_t l = NV_CACHE_LINE;
    if (cfg->media_line > l)
        l = cfg->media_line;
    if (cfg->cell_size > l)
        l = cfg->cell_size;
    return l;
}

static uint64_t regions_of(const nv_config *cfg)
{
    uint64_t lines = cfg->size / nv_level_line(cfg), r = cfg->leveling.region_lines;
    return r && r < lines ? lines / r : 1;
}

uint64_t nv_sim_level_cells(const nv_config *cfg, uint64_t cells)
{
    uint64_t cpl = nv_level_line(cfg) / cfg->cell_size;
    if (cfg->leveling.kind == NV_LEVELING_START_GAP)
        cells += regions_of(cfg) * cpl;            /* the gap lines */
    return cells + cfg->spare_lines * cpl;         /* then the spares */
}

/* ---- line sparing ----------------------------------------------------------- */

static uint64_t hash_line(uint64_t x)
{
    return splitmix64(x);
}

/* The line physical line p's writes go to now (p itself unless remapped). */
uint64_t nv_sim_spare_of(const nv_wearstate *w, uint64_t p)
{
    if (!w->spared)
        return p;
    for (uint64_t hops = 0; hops <= w->spared; hops++) {
        uint64_t i = hash_line(p) & (w->remap_cap - 1);
        while (w->remap_key[i] && w->remap_key[i] != p + 1)
            i = (i + 1) & (w->remap_cap - 1);
        if (!w->remap_key[i])
            return p;
        p = w->remap_val[i];
    }
    return p;
}

/* Remaps physical line p onto the next spare; false when none is left. */
static bool spare_take(nv_wearstate *w, uint64_t p)
{
    if (w->spared >= w->spares)
        return false;
    uint64_t i = hash_line(p) & (w->remap_cap - 1);
    while (w->remap_key[i])
        i = (i + 1) & (w->remap_cap - 1);
    w->remap_key[i] = p + 1;
    w->remap_val[i] = w->spare_base + w->spared++;
    return true;
}

/* ---- the Feistel permutation -------------------------------------------- */

static uint64_t feistel_once(const nv_wearstate *w, uint64_t x, bool inverse)
{
    uint64_t mask = ((uint64_t)1 << w->half) - 1;
    uint64_t l = x >> w->half, r = x & mask;
    for (int i = 0; i < 4; i++) {
        if (!inverse) {
            uint64_t t = l ^ (splitmix64(r ^ w->key[i]) & mask);
            l = r;
            r = t;
        } else {
            uint64_t t = r ^ (splitmix64(l ^ w->key[3 - i]) & mask);
            r = l;
            l = t;
        }
    }
    return (l << w->half) | r;
}

/* Cycle walking: a permutation of [0, 2^(2 half)) restricted to [0, N). */
static uint64_t feistel(const nv_wearstate *w, uint64_t x, bool inverse)
{
    if (!w->randomize)
        return x;
    do
        x = feistel_once(w, x, inverse);
    while (x >= w->lines);
    return x;
}

uint64_t nv_sim_map(nv_wearstate *w, uint64_t line)
{
    uint64_t l = feistel(w, line, false), R = w->rlines, k = l / R;
    uint64_t p = (l % R + w->start[k]) % R;
    return k * (R + 1) + (p >= w->gap[k] ? p + 1 : p);
}

/* The logical line on physical line p (not its region's gap). */
static uint64_t unmap(const nv_wearstate *w, uint64_t p)
{
    uint64_t R = w->rlines, k = p / (R + 1), q = p % (R + 1);
    q = q > w->gap[k] ? q - 1 : q;
    return feistel(w, k * R + (q + R - w->start[k] % R) % R, true);
}

/* ---- failures ------------------------------------------------------------ */

static uint64_t cell_endurance(const nv_wearstate *w, uint64_t c)
{
    return w->endur ? w->endur[c] : w->fixed;
}

static int push(nv_failure **v, uint64_t *n, uint64_t *cap, nv_failure f)
{
    if (*n == *cap) {
        uint64_t nc = *cap ? *cap * 2 : 64;
        nv_failure *p = realloc(*v, nc * sizeof *p);
        if (!p)
            return -1;
        *v = p;
        *cap = nc;
    }
    (*v)[(*n)++] = f;
    return 0;
}

/* A physical line of a Start-Gap region failed: the region's gap moves no
 * more. Were it to keep moving, each move would carry another logical line
 * onto the failed one (whose bytes a real device would lose; the sim keeps
 * them, see the top) and the allocator would retire each of them in turn: one
 * failed cell cost up to a region of lines, and runs with regions ended far
 * earlier than without leveling. Frozen, the failure stays under the one
 * logical line already reported, as a device that stops leveling around a
 * dead line would leave it; the region's other lines keep their places. */
static void freeze_region(nv_wearstate *w, uint64_t p)
{
    uint64_t k = w->level ? p / (w->rlines + 1) : UINT64_MAX;
    if (k < w->nreg && !w->frozen[k]) {       /* spare lines lie past the regions */
        w->frozen[k] = 1;
        w->nfrozen++;
    }
}

/* One write reached physical cell c: count it against its endurance. */
static void wear_cell(nv_sim *s, uint64_t c)
{
    nv_wearstate *w = s->ws;
    uint64_t cs = s->cfg.cell_size;
    nv_failure f = {.cell = c,
                    .line_off = (uint64_t)((int64_t)(c * cs) + w->delta) & ~(w->line - 1),
                    .event = atomic_load_explicit(&w->stamp, memory_order_relaxed)};
    if (w->failed[c]) {
        w->failed_writes++;
    } else {
        if (w->life[c] < UINT32_MAX)
            w->life[c]++;
        if (w->life[c] <= cell_endurance(w, c))
            return;
        /* A spare takes the line's writes from now on: no one is told (the
         * store lands, on the spare). The cell keeps its count past its
         * endurance and is written no more. */
        if (spare_take(w, c / w->cpl))
            return;
        w->failed[c] = 1;
        w->failed_writes++;
        freeze_region(w, c / w->cpl);
        bool shared;
        f.sim_ns = (double)atomic_load(&nv_sim_slot(s, &shared)->time_ps) / 1000.0;
        if (push(&w->fails, &w->nfails, &w->fcap, f) != 0)
            abort();   /* a failure lost silently would falsify the run */
    }
    if (push(&w->pend, &w->npend, &w->pcap, f) != 0)
        abort();
}

void nv_sim_count(nv_sim *s, nv_tag tag, uint64_t first, uint64_t last)
{
    nv_cell_counters_add_range(&s->count[tag], first, last);
    if (s->ws->endurance)
        for (uint64_t c = first; c <= last; c++)
            wear_cell(s, c);
}

void nv_sim_fire_failures(nv_sim *s, nv_failure *f, uint64_t n)
{
    nv_wearstate *w = s->ws;
    if (!w->fn)
        return;
    for (uint64_t i = 0; i < n; i++)
        w->fn(w->ctx, f[i].line_off, f[i].cell);
}

/* ---- the gap ------------------------------------------------------------- */

static void gap_move(nv_sim *s, uint64_t k)
{
    nv_wearstate *w = s->ws;
    uint64_t dst, R = w->rlines;
    if (w->gap[k] == 0) {
        dst = 0;
        w->gap[k] = R;
        w->start[k] = (w->start[k] + 1) % R;
    } else {
        dst = w->gap[k];
        w->gap[k]--;
    }
    dst += k * (R + 1);
    w->moves++;
    uint64_t to = nv_sim_spare_of(w, dst);
    w->delta = (int64_t)(unmap(w, dst) * w->line) - (int64_t)(to * w->line);
    nv_cell_counters_mark_used(&s->count[NV_LEVELING]);
    nv_sim_count(s, NV_LEVELING, to * w->cpl, (to + 1) * w->cpl - 1);
    bool shared;
    nv_slot *t = nv_sim_slot(s, &shared);
    nv_slot_add(&t->time_ps, nv_lines_spanned(0, (size_t)w->line) * s->ps_write, shared);
}

void nv_sim_line_written(nv_sim *s, uint64_t p)
{
    nv_wearstate *w = s->ws;
    uint64_t k = p / (w->rlines + 1);
    if (w->level && k < w->nreg && !w->frozen[k] && ++w->since[k] >= w->psi) {
        w->since[k] = 0;
        gap_move(s, k);
    }
}

/* ---- setup --------------------------------------------------------------- */

static int draw_endurance(nv_wearstate *w, const nv_endurance *e, uint64_t cells)
{
    if (e->kind == NV_ENDURANCE_FIXED) {
        double m = floor(e->mean);
        w->fixed = m >= (double)UINT32_MAX ? UINT32_MAX : (uint64_t)(m < 1 ? 1 : m);
        return 0;
    }
    w->endur = malloc(cells * sizeof *w->endur);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!w->endur || !r) {
        gsl_rng_free(r);
        return -1;
    }
    gsl_rng_set(r, (unsigned long)e->seed);
    double sd = nv_endurance_sd(e);
    for (uint64_t i = 0; i < cells; i++) {
        double x = floor(e->mean + gsl_ran_gaussian(r, sd));   /* as an_lifetime */
        w->endur[i] = x < 1 ? 1 : x >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)x;
    }
    gsl_rng_free(r);
    return 0;
}

int nv_sim_wearout_init(nv_sim *s)
{
    const nv_config *cfg = &s->cfg;
    nv_wearstate *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    s->ws = w;
    pthread_mutex_init(&w->lock, NULL);
    w->line = nv_level_line(cfg);
    w->cpl = w->line / cfg->cell_size;
    w->lines = cfg->size / w->line;
    if (cfg->leveling.kind == NV_LEVELING_START_GAP) {
        w->level = true;
        w->nreg = regions_of(cfg);
        w->rlines = w->lines / w->nreg;
        w->start = calloc(w->nreg, sizeof *w->start);
        w->gap = malloc(w->nreg * sizeof *w->gap);
        w->since = calloc(w->nreg, sizeof *w->since);
        w->frozen = calloc(w->nreg, sizeof *w->frozen);
        if (!w->start || !w->gap || !w->since || !w->frozen)
            return -1;
        for (uint64_t k = 0; k < w->nreg; k++)
            w->gap[k] = w->rlines;
        w->psi = cfg->leveling.psi;
        w->randomize = cfg->leveling.randomize;
        unsigned bits = 1;
        while (bits < 63 && ((uint64_t)1 << bits) < w->lines)
            bits++;
        w->half = (bits + 1) / 2;
        for (int i = 0; i < 4; i++)
            w->key[i] = splitmix64(cfg->leveling.seed * 4 + (uint64_t)i);
    }
    w->spares = cfg->spare_lines;
    if (w->spares) {
        w->spare_base = w->lines + (w->level ? w->nreg : 0);
        w->remap_cap = 16;
        while (w->remap_cap < 2 * w->spares)
            w->remap_cap <<= 1;
        w->remap_key = calloc(w->remap_cap, sizeof *w->remap_key);
        w->remap_val = calloc(w->remap_cap, sizeof *w->remap_val);
        if (!w->remap_key || !w->remap_val)
            return -1;
    }
    w->per_line = w->level || w->spares;
    if (cfg->endurance.kind != NV_ENDURANCE_NONE) {
        w->endurance = true;
        w->cell_bytes = (size_t)s->cells;
        w->life = map_zero(w->cell_bytes * sizeof *w->life);
        w->failed = map_zero(w->cell_bytes);
        if (!w->life || !w->failed || draw_endurance(w, &cfg->endurance, s->cells) != 0)
            return -1;
    }
    return 0;
}

void nv_sim_wearout_free(nv_sim *s)
{
    nv_wearstate *w = s->ws;
    if (!w)
        return;
    if (w->life)
        munmap(w->life, w->cell_bytes * sizeof *w->life);
    if (w->failed)
        munmap(w->failed, w->cell_bytes);
    free(w->endur);
    free(w->remap_key);
    free(w->remap_val);
    free(w->start);
    free(w->gap);
    free(w->since);
    free(w->frozen);
    free(w->fails);
    free(w->pend);
    pthread_mutex_destroy(&w->lock);
    free(w);
    s->ws = NULL;
}

/* ---- queries ------------------------------------------------------------- */

static nv_wearstate *ws_of(nv_device *d)
{
    return d && d->kind == NV_KIND_SIM ? nv_sim_of(d)->ws : NULL;
}

int nv_on_failure(nv_device *d, nv_failure_fn fn, void *ctx)
{
    nv_wearstate *w = ws_of(d);
    if (!w)
        return NV_ENOTSUP;
    pthread_mutex_lock(&w->lock);
    w->fn = fn;
    w->ctx = ctx;
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void nv_event_stamp(nv_device *d, uint64_t event)
{
    nv_wearstate *w = ws_of(d);
    if (w)
        atomic_store_explicit(&w->stamp, event, memory_order_relaxed);
}

int nv_wearout_get(nv_device *d, nv_wearout *out)
{
    memset(out, 0, sizeof *out);
    if (!d || d->kind != NV_KIND_SIM)
        return NV_ENOTSUP;
    nv_wearstate *w = ws_of(d);
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    out->failed_cells = w->nfails;
    out->failed_writes = w->failed_writes;
    out->any = w->nfails > 0;
    if (out->any)
        out->first = w->fails[0];
    out->gap_moves = w->moves;
    out->start = w->level ? w->start[0] : 0;
    out->gap = w->level ? w->gap[0] : 0;
    out->lines = w->level ? w->lines : 0;
    out->regions = w->level ? w->nreg : 0;
    out->spares = w->spares;
    out->spared = w->spared;
    out->frozen_regions = w->nfrozen;
    pthread_mutex_unlock(&w->lock);
    return 0;
}

int nv_failures_get(nv_device *d, uint64_t from, nv_failure *out, uint64_t max, uint64_t *n)
{
    *n = 0;
    if (!d || d->kind != NV_KIND_SIM)
        return NV_ENOTSUP;
    nv_wearstate *w = ws_of(d);
    if (!w)
        return 0;
    pthread_mutex_lock(&w->lock);
    for (uint64_t i = from; i < w->nfails && *n < max; i++)
        out[(*n)++] = w->fails[i];
    pthread_mutex_unlock(&w->lock);
    return 0;
}

uint64_t nv_level_map(nv_device *d, uint64_t line)
{
    nv_wearstate *w = ws_of(d);
    if (!w || !w->per_line || line >= w->lines)
        return line;
    pthread_mutex_lock(&w->lock);
    uint64_t p = nv_sim_spare_of(w, w->level ? nv_sim_map(w, line) : line);
    pthread_mutex_unlock(&w->lock);
    return p;
}

uint64_t nv_cell_endurance(nv_device *d, uint64_t cell)
{
    nv_wearstate *w = ws_of(d);
    if (!w || !w->endurance || cell >= w->cell_bytes)
        return UINT64_MAX;
    return cell_endurance(w, cell);
}
