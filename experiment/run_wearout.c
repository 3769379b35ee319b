/*
 * run_wearout.c - what a run reports of the device's wear-out and leveling
 * (nv_config.endurance, .leveling): summary.json's device echo of both, the
 * gap moves' own wear block ("wear_leveling", source `leveling`), the
 * "failures" block, and the lines run_print adds. Kept apart from
 * run_summary.c so the other wear sources' code stays as it was.
 *
 * With leveling on, every wear figure (wear*, heatmaps, cells.csv) is over
 * physical cells, one line more than the device's size holds: summary.json
 * says so in device.cells_are ("physical", else "logical").
 */
#include "run_internal.h"
#include "config_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *wear_block(const an_wear *w, const an_wear *t)
{
    json_t *o = json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
                          "total_writes", (json_int_t)w->total, "cells_touched", (json_int_t)w->cells_touched,
                          "max", (json_int_t)w->max, "mean", jnum(w->mean), "cov", jnum(w->cov),
                          "gini", jnum(w->gini), "hotspot", jnum(w->hotspot), "p99", jnum(w->p99));
    json_object_set_new(o, "touched", json_pack("{s:I, s:o, s:o}", "cells", (json_int_t)t->cells,
                                                "mean", jnum(t->mean), "hotspot", jnum(t->hotspot)));
    return o;
}

static json_t *failure_json(const nv_failure *f)
{
    return json_pack("{s:I, s:f, s:I, s:I}", "event", (json_int_t)f->event, "sim_ns", f->sim_ns,
                     "cell", (json_int_t)f->cell, "line_offset", (json_int_t)f->line_off);
}

/* Takes the gap moves' wear and the failures so far (with the other wear
 * figures, before recovery writes more). */
int run_wearout_measure(run_result *m)
{
    uint64_t *counts = malloc((m->cells ? m->cells : 1) * sizeof *counts);
    if (!counts) {
        fprintf(stderr, "pmarena run: out of memory for %llu cell counts\n", (unsigned long long)m->cells);
        return EXP_FAIL;
    }
    nv_cells_export(m->d, 4, 0, m->cells, counts);
    an_wear_stats(counts, m->cells, &m->wear_lev[0]);
    an_wear_stats_touched(counts, m->cells, &m->wear_lev[1]);
    free(counts);
    nv_wearout_get(m->d, &m->wo);
    return EXP_OK;
}

void run_wearout_json(const run_result *m, json_t *sum)
{
    const nv_config *dc = &m->x->device;
    json_t *dev = json_object_get(sum, "device");
    json_object_set_new(dev, "endurance", cfg_device_endurance_json(&dc->endurance));
    json_object_set_new(dev, "leveling", cfg_device_leveling_json(&dc->leveling));
    json_object_set_new(dev, "cells_are", json_string(dc->leveling.kind != NV_LEVELING_NONE || dc->spare_lines
                                                          ? "physical" : "logical"));
    if (!m->sim) {
        json_object_set_new(sum, "wear_leveling", json_null());
        json_object_set_new(sum, "failures", json_null());
        return;
    }
    json_object_set_new(json_object_get(sum, "wear"), "leveling_writes",
                        json_integer((json_int_t)m->k.leveling_writes));
    json_object_set_new(sum, "wear_leveling", wear_block(&m->wear_lev[0], &m->wear_lev[1]));
    const nv_wearout wo = m->wo;
    json_t *f = json_pack("{s:b, s:I, s:I, s:o}", "endurance", dc->endurance.kind != NV_ENDURANCE_NONE,
                          "failed_cells", (json_int_t)wo.failed_cells, "failed_writes",
                          (json_int_t)wo.failed_writes, "first", wo.any ? failure_json(&wo.first) : json_null());
    json_object_set_new(f, "gap_moves", json_integer((json_int_t)wo.gap_moves));
    json_object_set_new(f, "spare_lines", json_integer((json_int_t)wo.spares));
    json_object_set_new(f, "spared_lines", json_integer((json_int_t)wo.spared));
    json_object_set_new(f, "frozen_regions", json_integer((json_int_t)wo.frozen_regions));
    json_object_set_new(sum, "failures", f);
}

void run_wearout_print(const run_result *m)
{
    const nv_config *dc = &m->x->device;
    if (!m->sim)
        return;
    const nv_wearout wo = m->wo;
    if (dc->leveling.kind != NV_LEVELING_NONE)
        printf("  %-24s %14llu   %llu gap moves (psi %u%s), counts over physical cells\n", "leveling writes",
               (unsigned long long)m->k.leveling_writes, (unsigned long long)wo.gap_moves, dc->leveling.psi,
               dc->leveling.randomize ? ", randomized" : "");
    if (dc->endurance.kind == NV_ENDURANCE_NONE)
        return;
    if (wo.spares)
        printf("  %-24s %14llu   of %llu spare lines in use (lines whose cell failed, remapped)\n", "spared lines",
               (unsigned long long)wo.spared, (unsigned long long)wo.spares);
    if (wo.any)
        printf("  %-24s %14llu   first at event %llu, %.3g ms simulated; %llu writes hit failed cells\n",
               "failed cells", (unsigned long long)wo.failed_cells, (unsigned long long)wo.first.event,
               wo.first.sim_ns / 1e6, (unsigned long long)wo.failed_writes);
    else
        printf("  %-24s %14d\n", "failed cells", 0);
}
