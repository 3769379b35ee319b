/*
 * run_print.c - the table a run prints on stdout: events and speed, the wear
 * headline (sim device), fragmentation, the persistence protocol's traffic,
 * and where the results went.
 */
#include "run_internal.h"

#include <math.h>
#include <stdio.h>

static void fmt_frac(char *buf, size_t len, double v)
{
    if (isfinite(v))
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "n/a");
}

/* v * scale with two decimals (one for a percentage) and unit, or "n/a". */
static void fmt_fixed(char *buf, size_t len, double v, double scale, const char *unit)
{
    if (isfinite(v))
        snprintf(buf, len, "%.*f%s", *unit == '%' ? 1 : 2, v * scale, unit);
    else
        snprintf(buf, len, "n/a");
}

void run_print(const run_result *m, const char *dir)
{
    const tr_replay_stats *st = m->st;
    const an_wear *w = m->wear;
    printf("%s: %llu events in %.2f s (%.2f M events/s)\n", m->x->name, (unsigned long long)m->events, st->wall_s,
           st->wall_s > 0 ? (double)m->events / st->wall_s / 1e6 : 0.0);
    if (m->sim) {
        printf("  %-24s %14llu   (data %llu, metadata %llu, links %llu)\n", "cell writes",
               (unsigned long long)w[0].total, (unsigned long long)m->k.data_writes,
               (unsigned long long)m->k.meta_writes, (unsigned long long)m->k.links_writes);
        printf("  %-24s %14llu   of %llu cells (%llu touched)\n", "hottest cell", (unsigned long long)w[0].max,
               (unsigned long long)m->cells, (unsigned long long)w[0].cells_touched);
        printf("  %-24s %14llu   data %llu, metadata %llu, links %llu\n", "  hottest by source",
               (unsigned long long)w[0].max, (unsigned long long)w[1].max, (unsigned long long)w[2].max,
               (unsigned long long)w[3].max);
        printf("  %-24s %14.3g   p99 %.3g, gini %.3g\n", "mean writes per cell", w[0].mean, w[0].p99, w[0].gini);
        const an_wear *t = m->wear_touched;
        printf("  %-24s %14.3g   over touched cells %.3g; lifetime fraction %.3g, touched %.3g\n",
               "hot-spot factor", w[0].hotspot, t[0].hotspot, w[0].lifetime_fraction, t[0].lifetime_fraction);
        printf("  %-24s %14.3g ms\n", "simulated time", m->elapsed_ns / 1e6);
        run_wearout_print(m);
        run_lifetime_print(m);
    }
    char fin[32], fex[32], fut[32];
    fmt_frac(fin, sizeof fin, m->internal);
    fmt_frac(fex, sizeof fex, m->external);
    fmt_frac(fut, sizeof fut, m->utilization);
    printf("  %-24s %14s   external %s, utilization %s (time averages)\n", "internal fragmentation", fin, fex, fut);
    printf("  %-24s %14llu bytes\n", "peak footprint", (unsigned long long)m->peak_footprint);
    const pma_heap_stats *hs = &m->hs;
    double ops = (double)(hs->allocs + hs->frees);
    double hit = run_ratio((double)hs->cache_hits, (double)(hs->cache_hits + hs->cache_misses));
    char fl[32], fe[32], hr[32];
    fmt_fixed(fl, sizeof fl, run_ratio((double)hs->flushes, ops), 1, "");
    fmt_fixed(fe, sizeof fe, run_ratio((double)hs->fences, ops), 1, "");
    fmt_fixed(hr, sizeof hr, hit, 100, "%");
    printf("  persistence %s: %s flushes + %s fences per op, cache hit %s\n",
           pma_persistence_name(m->x->allocator.persistence), fl, fe, hr);
    if (m->sim) {
        /* Per trace operation, as summary.json's *_writes_per_op. */
        double tops = (double)(st->events[TR_ALLOC] + st->events[TR_FREE] + st->events[TR_REALLOC]);
        char mw[32], lw[32];
        fmt_fixed(mw, sizeof mw, run_ratio((double)m->k.meta_writes, tops), 1, "");
        fmt_fixed(lw, sizeof lw, run_ratio((double)m->k.links_writes, tops), 1, "");
        printf("  %-24s %14s   links %s%s\n", "metadata writes per op", mw, lw,
               st->links ? "" : " (no link table)");
    }
    run_recovery_print(m);
    printf("results: %s/summary.json, plots: %s/*.png\n", dir, dir);
}
