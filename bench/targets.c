/*
 * targets.c - the fast-path issue's targets (issue 11) and the gc protocol's
 * (issue 13) checked against the rows of `pmarena bench` and printed as
 * met/MISSED: the machines are noisy and a 2-core VM cannot show 16-thread
 * scaling, so nothing is asserted. Issue 11's pmarena-file targets read the
 * log protocol's row, the default when they were set.
 */
#include "rows.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const tput_row *find_t(const bench_rows *r, const char *a, const char *wl, int th)
{
    for (int i = 0; i < r->nt; i++)
        if (!strcmp(r->t[i].allocator, a) && !strcmp(r->t[i].workload, wl) && r->t[i].threads == th)
            return &r->t[i];
    return NULL;
}

static const char *verdict(bool met) { return met ? "met" : "MISSED"; }

static void ratio_target(FILE *f, const bench_rows *r, const char *a, const char *peer, const char *wl, double want)
{
    const tput_row *x = find_t(r, a, wl, 1), *y = find_t(r, peer, wl, 1);
    if (x && y && y->ops_per_s > 0)
        fprintf(f, "%s %s 1 thread >= %.1fx %s: %.2fx (%s)\n", a, wl, want, peer, x->ops_per_s / y->ops_per_s,
                verdict(x->ops_per_s >= want * y->ops_per_s));
}

/* The gc protocol's targets (issue 13): its speed against PMDK, no metadata
 * stored by any get or return of any timed loop (steady state: arena
 * creation is not a get's store and is not counted), and recovery of 10^6
 * objects within a second. */
static void gc_targets(const bench_rows *r, FILE *f)
{
    ratio_target(f, r, "pmarena-file-gc", "pmemobj", "pairs64", 30);
    double worst = -1, flush = 0;
    int rows = 0;
    for (int i = 0; i < r->nt; i++) {
        const tput_row *t = &r->t[i];
        if (strcmp(t->allocator, "pmarena-file-gc") || isnan(t->meta_bytes_per_op))
            continue;
        rows++;
        worst = fmax(worst, t->meta_bytes_per_op);
        flush = fmax(flush, t->flushes_per_op + t->fences_per_op);
    }
    if (rows)
        fprintf(f, "pmarena-file-gc metadata bytes stored per get or return = 0 (steady state, every workload and "
                   "thread count): at most %.4g, flushes + fences at most %.4g, over %d rows (%s)\n",
                worst, flush, rows, verdict(worst == 0 && flush == 0));
    for (int i = 0; i < r->nrc; i++) {
        const recov_row *x = &r->rc[i];
        if (!strcmp(x->allocator, "pmarena-file-gc") && x->objects == 1000000)
            fprintf(f, "pmarena-file-gc recovery of 10^6 live objects after a crash <= 1 s: %.3f s (%s)\n", x->wall_s,
                    verdict(x->wall_s <= 1));
    }
    int big = 0;
    for (int i = 0; i < r->nrc; i++)
        big |= r->rc[i].objects == 1000000;
    if (r->nrc && !big)
        fprintf(f, "gc recovery of 10^6 objects: not measured in this set (the short and long sets do)\n");
}

/* gc's wear per trace (issue 13), from the pmarena-sim-gc rows: its hottest
 * metadata cell against its hottest data cell (<= 1/10), and metadata cell
 * writes per trace event (0 in steady state; the figure counts arena
 * creation during the replay, so a short trace shows more than 0), beside
 * the links writes the program pays instead. */
static void gc_wear_targets(const bench_rows *r, FILE *f)
{
    for (int i = 0; i < r->nw; i++) {
        const wear_row *m = &r->w[i];
        if (strcmp(m->allocator, "pmarena-sim-gc") || !m->with_metadata || !m->has_src)
            continue;
        const wear_row *d = NULL;
        for (int j = 0; j < r->nw; j++)
            if (!strcmp(r->w[j].allocator, m->allocator) && !strcmp(r->w[j].trace, m->trace) && !r->w[j].with_metadata)
                d = &r->w[j];
        if (d)
            fprintf(f, "pmarena-sim-gc %s, hottest metadata cell <= 1/10 of the hottest data cell: %llu vs %llu = "
                       "%.3f (%s)\n",
                    m->trace, (unsigned long long)m->hottest_meta, (unsigned long long)d->max,
                    d->max ? (double)m->hottest_meta / (double)d->max : NAN,
                    verdict(m->hottest_meta * 10 <= d->max));
        double per_op = m->events ? (double)m->meta_writes / (double)m->events : NAN;
        /* no verdict: the figure is not the steady state the target is about */
        fprintf(f, "pmarena-sim-gc %s, metadata cell writes per trace event (target 0 in steady state): %.4g "
                   "(%llu over %llu events, arena creation included, so no verdict; links writes %llu)\n",
                m->trace, per_op, (unsigned long long)m->meta_writes, (unsigned long long)m->events,
                (unsigned long long)m->links_writes);
    }
}

/* What the machine allows pmarena-file-log against PMDK: a pairs op makes
 * two records durable (a get's and a return's), so it costs at least twice
 * the floor (floor.c) however fast the allocator is; PMDK's pairs op over
 * that is the highest ratio a protocol with one flush and fence per
 * operation can reach here. Printed beside the 5x target, no verdict. */
static void floor_ceiling(FILE *f, const bench_rows *r)
{
    const tput_row *x = find_t(r, "pmemobj", "pairs64", 1);
    if (isnan(r->floor_ns) || !x || x->ops_per_s <= 0)
        return;
    double peer = 1e9 / x->ops_per_s;
    fprintf(f, "  (the ceiling here: a durable 16-byte record costs %.1f ns on the file device, so a pairs op "
               "with one per get and one per return costs >= %.1f ns; pmemobj's pairs64 op %.1f ns: at most "
               "%.2fx pmemobj on this machine)\n",
            r->floor_ns, 2 * r->floor_ns, peer, peer / (2 * r->floor_ns));
}

/* The fast-path issue's targets (issue 11), in its order, then issue 13's. */
void bench_targets(const bench_rows *r, FILE *f)
{
    fprintf(f, "\n== targets (printed, not asserted)\n");
    ratio_target(f, r, "pmarena-file-log", "pmemobj", "pairs64", 5);
    ratio_target(f, r, "pmarena-file-log", "pmemobj", "larson", 5);
    floor_ceiling(f, r);
    ratio_target(f, r, "pmarena-dram", "glibc", "pairs64", 0.5);
    ratio_target(f, r, "pmarena-dram", "glibc", "larson", 0.3);
    int top = 1;
    for (int i = 0; i < r->nt; i++)
        top = r->t[i].threads > top ? r->t[i].threads : top;
    static const struct { const char *wl; double at16; } scal[] = {
        {"pairs64", 10}, {"larson", 6}, {"replay:sqlite3", 8}};
    for (size_t k = 0; k < sizeof scal / sizeof scal[0]; k++)
        for (int d = 0; d < 2; d++) {
            const char *a = d ? "pmarena-file-log" : "pmarena-dram";
            const tput_row *one = find_t(r, a, scal[k].wl, 1), *two = find_t(r, a, scal[k].wl, 2),
                           *many = find_t(r, a, scal[k].wl, top);
            if (one && two && strcmp(scal[k].wl, "larson"))
                fprintf(f, "%s %s 2 threads >= 1.8x one: %.2fx (%s)\n", a, scal[k].wl,
                        two->ops_per_s / one->ops_per_s, verdict(two->ops_per_s >= 1.8 * one->ops_per_s));
            if (one && many && top >= 16)
                fprintf(f, "%s %s %d threads >= %.0fx one: %.2fx (%s)\n", a, scal[k].wl, top, scal[k].at16,
                        many->ops_per_s / one->ops_per_s, verdict(many->ops_per_s >= scal[k].at16 * one->ops_per_s));
        }
    if (top < 16)
        fprintf(f, "16 threads vs 1: not measured here (--threads up to %d; the target needs a 16-core machine)\n", top);
    static const char *const hit_wl[] = {"pairs64", "replay:sqlite3"};
    for (size_t k = 0; k < 2; k++) {
        const tput_row *t = find_t(r, "pmarena-dram", hit_wl[k], 1);
        if (t && !isnan(t->cache_hit_ratio))
            fprintf(f, "pmarena-dram %s thread-cache hit ratio >= 95%%: %.1f%% (%s)\n", hit_wl[k],
                    100 * t->cache_hit_ratio, verdict(t->cache_hit_ratio >= 0.95));
    }
    const tput_row *p = find_t(r, "pmarena-dram", "pairs64", 1);
    /* A pairs op is a get and a return. Each makes one record durable (one
     * flush, one fence); the log's checkpoints add a few per thousand,
     * amortized, and are shown, not hidden: the verdict allows them 0.5%. */
    if (p && !isnan(p->flushes_per_op) && !isnan(p->fences_per_op))
        fprintf(f, "flushes + fences per small get or return <= 2 (checkpoints amortized in): %.4f (%s)\n",
                (p->flushes_per_op + p->fences_per_op) / 2, verdict(p->flushes_per_op + p->fences_per_op <= 4.02));
    for (int i = 0; i < r->nw; i++) {
        const wear_row *w = &r->w[i];
        /* the allocator's own targets: on a device that does not level */
        if (strcmp(w->allocator, "pmarena") || strcmp(w->policy, "wear-aware") || strcmp(w->leveling, "none"))
            continue;
        if (w->with_metadata && !strcmp(w->trace, "sqlite3"))
            fprintf(f, "pmarena wear-aware sqlite3, hottest cell with metadata <= 1,000: %llu (%s)\n",
                    (unsigned long long)w->max, verdict(w->max <= 1000));
        if (w->with_metadata)
            continue;
        for (int j = 0; j < r->nw; j++)
            if (!strcmp(r->w[j].allocator, "glibc") && !strcmp(r->w[j].trace, w->trace))
                fprintf(f, "pmarena wear-aware hottest data cell <= 1/10 of glibc's, %s: %llu vs %llu = %.3f (%s)\n",
                        w->trace, (unsigned long long)w->max, (unsigned long long)r->w[j].max,
                        r->w[j].max ? (double)w->max / (double)r->w[j].max : NAN, verdict(w->max * 10 <= r->w[j].max));
    }
    gc_targets(r, f);
    gc_wear_targets(r, f);
    fprintf(f, "note: %s\n", BENCH_METADATA_NOTE);
}
