/*
 * report.c - the figures `pmarena report` puts side by side: each run's
 * summary.json read with Jansson and the report's metrics looked up in it,
 * one value per (metric, run). Printing is the command's (cli/cmd_report.c).
 *
 * Metrics are named two ways: a label, the row's name in every format
 * ("hot-spot factor", kept as it was for the scripts that read report csv),
 * and a flat name (wear.hotspot -> "hotspot"). The wear statistics over
 * touched cells are labelled with their flat name, the device-wide one's
 * with a `_touched` suffix (wear.touched.hotspot -> "hotspot_touched"), the
 * names bench uses too.
 * A metric missing from a summary (an older run, or a dram run without wear)
 * is NAN, so runs of different vintages still line up.
 */
#include "pmarena/experiment.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct metric {
    const char *name, *label, *path;   /* path NULL: the sum of the events block */
} metric;

static const metric metrics[] = {
    {"events", "trace events", NULL},
    {"total_writes", "cell writes", "wear.total_writes"},
    {"data_writes", "  data", "wear.data_writes"},
    {"meta_writes", "  metadata", "wear.meta_writes"},
    {"links_writes", "  links", "wear.links_writes"},
    {"max", "hottest cell", "wear.max"},
    {"cells_touched", "cells touched", "wear.cells_touched"},
    {"mean", "mean per cell", "wear.mean"},
    {"mean_touched", "  mean_touched", "wear.touched.mean"},
    {"p50", "p50 per cell", "wear.p50"},
    {"p50_touched", "  p50_touched", "wear.touched.p50"},
    {"p99", "p99 per cell", "wear.p99"},
    {"p99_touched", "  p99_touched", "wear.touched.p99"},
    {"gini", "gini", "wear.gini"},
    {"gini_touched", "  gini_touched", "wear.touched.gini"},
    {"hotspot", "hot-spot factor", "wear.hotspot"},
    {"hotspot_touched", "  hotspot_touched", "wear.touched.hotspot"},
    {"lifetime_fraction", "lifetime fraction", "wear.lifetime_fraction"},
    {"lifetime_fraction_touched", "  lifetime_fraction_touched", "wear.touched.lifetime_fraction"},
    {"projected_lifetime_s", "projected lifetime s", "wear.projected_lifetime_s"},
    {"meta_max", "hottest metadata cell", "wear_meta.max"},
    {"data_max", "hottest data cell", "wear_data.max"},
    {"links_max", "hottest links cell", "wear_links.max"},
    {"meta_writes_per_op", "metadata writes per op", "persistence.meta_writes_per_op"},
    {"links_writes_per_op", "links writes per op", "persistence.links_writes_per_op"},
    {"internal", "internal frag", "fragmentation.internal"},
    {"external", "external frag", "fragmentation.external"},
    {"utilization", "utilization", "fragmentation.utilization"},
    {"peak_footprint", "peak footprint", "fragmentation.peak_footprint"},
    {"simulated_ns", "simulated ns", "time.simulated_ns"},
    /* wear's spread and the lifetime to failure (device.endurance), side by
     * side for allocator and leveling choices (max/mean is the hot-spot
     * factor above) */
    {"cov", "wear cov", "wear.cov"},
    {"cov_touched", "  cov_touched", "wear.touched.cov"},
    {"leveling_writes", "leveling writes", "wear.leveling_writes"},
    {"failed_cells", "failed cells", "failures.failed_cells"},
    {"lifetime_passes", "lifetime passes", "lifetime.passes"},
    {"lifetime_events", "lifetime events", "lifetime.events"},
    {"events_to_first_failure", "events to first failure", "lifetime.events_to_first_failure"},
    {"events_to_capacity_loss", "events to capacity loss", "lifetime.events_to_capacity_loss"},
    {"retired_fraction", "retired fraction", "lifetime.retired_fraction"},
    {"lifetime_of_ideal", "lifetime of ideal", "lifetime.lifetime_fraction_of_ideal"},
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

/* The value at a dotted path, or NULL. */
static json_t *at_path(json_t *root, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save = NULL, *p = strtok_r(buf, ".", &save); p && v; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    return v;
}

static void fill_run(exp_report *r, int k, json_t *s)
{
    for (size_t i = 0; i < NMETRICS; i++) {
        exp_report_cell *c = &r->cell[i * (size_t)r->nruns + (size_t)k];
        c->value = NAN;
        c->is_int = false;
        if (!metrics[i].path) {
            json_int_t n = 0;
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(s, "events"), key, v)
                n += json_integer_value(v);
            c->value = (double)n;
            c->ivalue = (int64_t)n;
            c->is_int = true;
            continue;
        }
        json_t *v = at_path(s, metrics[i].path);
        if (json_is_integer(v)) {
            c->ivalue = (int64_t)json_integer_value(v);
            c->value = (double)c->ivalue;
            c->is_int = true;
        } else if (json_is_real(v)) {
            c->value = json_real_value(v);
        }
    }
}

int exp_report_load(exp_report *r, const char *const *dirs, int n)
{
    memset(r, 0, sizeof *r);
    if (n <= 0)
        return EXP_BADINPUT;
    r->nruns = n;
    r->nmetrics = NMETRICS;
    r->runs = dirs;
    r->cell = calloc(NMETRICS * (size_t)n, sizeof *r->cell);
    if (!r->cell) {
        fprintf(stderr, "pmarena report: out of memory\n");
        return EXP_FAIL;
    }
    for (int k = 0; k < n; k++) {
        size_t len = strlen(dirs[k]) + sizeof "/summary.json";
        char *p = malloc(len);
        if (!p) {
            exp_report_free(r);
            fprintf(stderr, "pmarena report: out of memory\n");
            return EXP_FAIL;
        }
        snprintf(p, len, "%s/summary.json", dirs[k]);
        json_error_t je;
        json_t *s = json_load_file(p, 0, &je);
        if (!s || !json_is_object(s)) {
            fprintf(stderr, "pmarena report: %s: %s\n", p, s ? "not a JSON object" : je.text);
            json_decref(s);
            free(p);
            exp_report_free(r);
            return EXP_BADINPUT;
        }
        free(p);
        fill_run(r, k, s);
        json_decref(s);
    }
    return EXP_OK;
}

const char *exp_report_metric(size_t i) { return i < NMETRICS ? metrics[i].name : NULL; }
const char *exp_report_label(size_t i) { return i < NMETRICS ? metrics[i].label : NULL; }

const exp_report_cell *exp_report_at(const exp_report *r, size_t metric, int run)
{
    return &r->cell[metric * (size_t)r->nruns + (size_t)run];
}

void exp_report_free(exp_report *r)
{
    free(r->cell);
    r->cell = NULL;
}
