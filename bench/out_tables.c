/*
 * out_tables.c - the tables `pmarena bench` writes: throughput.csv and
 * wear.csv (the data, through an_csv: RFC 4180, numbers at full precision,
 * an undefined value (NAN) an empty field), throughput.md and wear.md (the
 * same as markdown tables, also printed on stdout). Every file is written
 * atomically (an_file: PATH.tmp.PID, then rename), like the rest of the
 * toolkit, so a reader never sees half a table. The wear statistics are over
 * the cells each allocator touched: p99_touched, mean_touched,
 * hotspot_touched, gini_touched (max is the same over every cell). pmarena's
 * rows add where the device's writes came from: the allocator's metadata
 * (meta_writes, per trace event, hottest_meta), the program's links
 * (links_writes, hottest_links) and the device's own leveling
 * (leveling_writes: Start-Gap's gap moves, counted in the with-metadata
 * row's cells), empty for the peers. The leveling column names the
 * device's leveling choice (wear_level.c; "-" for the peers): rows are
 * keyed by allocator, policy, leveling, persistence, trace and
 * with_metadata, and the new columns come last so that scripts reading the
 * older ones by position still work; expected_cell_writes
 * is empty on the pmarena-sim-PROTOCOL rows, whose replay engine does not
 * compute it.
 */
#include "rows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int bench_file_open(an_file *af, const char *dir, const char *name)
{
    char *path = an_path_join(dir, name, "");
    int rc = path ? an_file_open(af, path) : AN_ENOMEM;
    if (rc != 0)
        fprintf(stderr, "pmarena bench: cannot write %s/%s\n", dir, name);
    free(path);
    return rc ? -1 : 0;
}

int bench_file_commit(an_file *af)
{
    char path[1200];
    snprintf(path, sizeof path, "%s", af->path);
    if (an_file_commit(af) != 0) {
        fprintf(stderr, "pmarena bench: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

static void fmt(char *buf, size_t n, const char *f, double v)
{
    if (isnan(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, f, v);
}

static void tput_csv(FILE *f, const bench_rows *r)
{
    /* threads stays the 3rd column: scripts select rows by it (awk -F, '$3 == 4') */
    static const char *const head[] = {
        "allocator", "workload", "threads", "ops_per_s", "ratio_to_glibc", "peak_rss_kb", "sim_ns_per_op",
        "scaling", "runs", "ops_per_s_min", "ops_per_s_max", "cache_hit_ratio", "flushes_per_op",
        "fences_per_op", "meta_bytes_per_op", "checkpoints_per_mop", "log_wraps_per_mop"};
    an_csv c;
    an_csv_begin(&c, f);
    an_csv_row(&c, head, sizeof head / sizeof head[0]);
    for (int i = 0; i < r->nt; i++) {
        const tput_row *t = &r->t[i];
        an_csv_str(&c, t->allocator);
        an_csv_str(&c, t->workload);
        an_csv_i64(&c, t->threads);
        an_csv_double(&c, t->ops_per_s);
        an_csv_double(&c, t->ratio_to_glibc);
        an_csv_i64(&c, t->peak_rss_kb);
        an_csv_double(&c, t->sim_ns_per_op);
        an_csv_double(&c, t->scaling);
        an_csv_i64(&c, t->runs);
        const double tail[] = {t->ops_per_s_min, t->ops_per_s_max, t->cache_hit_ratio, t->flushes_per_op,
                               t->fences_per_op, t->meta_bytes_per_op, t->checkpoints_per_mop, t->log_wraps_per_mop};
        for (size_t k = 0; k < sizeof tail / sizeof tail[0]; k++)
            an_csv_double(&c, tail[k]);
        an_csv_end(&c);
    }
}

static void tput_md(FILE *f, const bench_rows *r)
{
    fprintf(f, "| allocator | workload | threads | Mops/s | spread | x glibc | x 1 thread | peak RSS KiB | sim ns/op "
               "| cache hits | flushes/op | fences/op | meta B/op |\n"
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < r->nt; i++) {
        const tput_row *t = &r->t[i];
        char a[32], b[32], c[32], d[32], e[32], g[32], h[32], k[32], m[32];
        fmt(a, sizeof a, "%.3f", t->ops_per_s / 1e6);
        fmt(b, sizeof b, "%.2fx", t->ratio_to_glibc);
        fmt(c, sizeof c, "%.2fx", t->scaling);
        fmt(d, sizeof d, "%.0f", t->sim_ns_per_op);
        /* (max - min) / median over the runs: how far to trust the row */
        fmt(e, sizeof e, "%.0f%%", t->runs > 1 ? 100 * (t->ops_per_s_max - t->ops_per_s_min) / t->ops_per_s : NAN);
        fmt(g, sizeof g, "%.1f%%", 100 * t->cache_hit_ratio);
        fmt(h, sizeof h, "%.3g", t->flushes_per_op);
        fmt(k, sizeof k, "%.3g", t->fences_per_op);
        fmt(m, sizeof m, "%.3g", t->meta_bytes_per_op);
        fprintf(f, "| %s | %s | %d | %s | %s | %s | %s | %ld | %s | %s | %s | %s | %s |\n", t->allocator, t->workload,
                t->threads, a, e, b, t->threads > 1 ? c : "", t->peak_rss_kb, d, g, h, k, m);
    }
}

static void wear_csv(FILE *f, const bench_rows *r)
{
    static const char *const head[] = {
        "allocator", "policy", "trace", "cells_touched", "max", "p99_touched", "mean_touched", "hotspot_touched",
        "gini_touched", "with_metadata", "cell_size", "cell_writes", "expected_cell_writes", "app_bytes",
        "persistence", "events", "meta_writes", "meta_writes_per_op", "hottest_meta", "links_writes",
        "hottest_links", "cov_touched", "lifetime_fraction_touched", "leveling", "leveling_writes"};
    an_csv c;
    an_csv_begin(&c, f);
    an_csv_row(&c, head, sizeof head / sizeof head[0]);
    for (int i = 0; i < r->nw; i++) {
        const wear_row *w = &r->w[i];
        an_csv_str(&c, w->allocator);
        an_csv_str(&c, w->policy);
        an_csv_str(&c, w->trace);
        an_csv_u64(&c, w->cells_touched);
        an_csv_u64(&c, w->max);
        an_csv_double(&c, w->p99_touched);
        an_csv_double(&c, w->mean_touched);
        an_csv_double(&c, w->hotspot_touched);
        an_csv_double(&c, w->gini_touched);
        an_csv_i64(&c, w->with_metadata);
        an_csv_u64(&c, w->cell_size);
        an_csv_u64(&c, w->cell_writes);
        if (w->engine)            /* the engine does not compute it: empty */
            an_csv_str(&c, NULL);
        else
            an_csv_u64(&c, w->expected_cell_writes);
        an_csv_u64(&c, w->app_bytes);
        an_csv_str(&c, w->persistence[0] ? w->persistence : NULL);
        if (w->has_src) {
            an_csv_u64(&c, w->events);
            an_csv_u64(&c, w->meta_writes);
            an_csv_double(&c, w->events ? (double)w->meta_writes / (double)w->events : NAN);
            an_csv_u64(&c, w->hottest_meta);
            an_csv_u64(&c, w->links_writes);
            an_csv_u64(&c, w->hottest_links);
        } else {
            for (int k = 0; k < 6; k++)
                an_csv_str(&c, NULL);
        }
        an_csv_double(&c, w->cov_touched);
        an_csv_double(&c, w->lifetime_fraction_touched);
        an_csv_str(&c, w->leveling);
        if (w->has_src)
            an_csv_u64(&c, w->leveling_writes);
        else
            an_csv_str(&c, NULL);
        an_csv_end(&c);
    }
}

static void wear_md(FILE *f, const bench_rows *r)
{
    fprintf(f, "| allocator | policy | leveling | persistence | trace | metadata | cells touched | max | p99_touched "
               "| mean_touched | hotspot_touched | gini_touched | cov_touched | lifetime of ideal | meta writes/op "
               "| hottest meta | links writes | hottest links | leveling writes |\n"
               "|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < r->nw; i++) {
        const wear_row *w = &r->w[i];
        char a[32], b[32], c[32], d[32], e[32] = "", g[32] = "", h[32] = "", k[32] = "", v[32], lf[32], lw[32] = "";
        fmt(v, sizeof v, "%.3f", w->cov_touched);
        fmt(lf, sizeof lf, "%.4f", w->lifetime_fraction_touched);
        fmt(a, sizeof a, "%.1f", w->p99_touched);
        fmt(b, sizeof b, "%.2f", w->mean_touched);
        fmt(c, sizeof c, "%.1f", w->hotspot_touched);
        fmt(d, sizeof d, "%.3f", w->gini_touched);
        /* the sources once per pair of rows: on the with-metadata one */
        if (w->has_src && w->with_metadata) {
            fmt(e, sizeof e, "%.4g", w->events ? (double)w->meta_writes / (double)w->events : NAN);
            snprintf(g, sizeof g, "%llu", (unsigned long long)w->hottest_meta);
            snprintf(h, sizeof h, "%llu", (unsigned long long)w->links_writes);
            snprintf(k, sizeof k, "%llu", (unsigned long long)w->hottest_links);
            snprintf(lw, sizeof lw, "%llu", (unsigned long long)w->leveling_writes);
        }
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %llu | %llu | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                w->allocator, w->policy, w->leveling, w->persistence[0] ? w->persistence : "-", w->trace,
                w->with_metadata ? "with" : "data only", (unsigned long long)w->cells_touched,
                (unsigned long long)w->max, a, b, c, d, v, lf, e, g, h, k, lw);
    }
    fprintf(f, "\n%s\n", BENCH_METADATA_NOTE);
}

int bench_write_table(const char *dir, const char *name, void (*fill)(FILE *, const bench_rows *),
                      const bench_rows *r)
{
    an_file af;
    if (bench_file_open(&af, dir, name) != 0)
        return -1;
    fill(af.f, r);
    return bench_file_commit(&af);
}

int bench_write_outputs(const bench_rows *r, const char *dir)
{
    int rc = 0;
    if (r->nt) {
        if (bench_write_table(dir, "throughput.csv", tput_csv, r) != 0 ||
            bench_write_table(dir, "throughput.md", tput_md, r) != 0)
            return -1;
        rc |= bench_plot_tput(r, dir);
    }
    if (r->nw) {
        if (bench_write_table(dir, "wear.csv", wear_csv, r) != 0 || bench_write_table(dir, "wear.md", wear_md, r) != 0)
            return -1;
        rc |= bench_plot_wear(r, dir);
    }
    return rc ? -1 : 0;
}

void bench_print_tables(const bench_rows *r)
{
    if (r->nt) {
        printf("\n== throughput (ops/s; pairs: alloc+free pairs, replay: trace events)\n\n");
        tput_md(stdout, r);
    }
    if (r->nw) {
        printf("\n== wear of placement (per-cell application writes over the cells each allocator touched)\n\n");
        wear_md(stdout, r);
    }
    fflush(stdout);
}
