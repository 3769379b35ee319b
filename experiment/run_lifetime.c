/*
 * run_lifetime.c - a run's lifetime to failure (replay.repeat, analysis.
 * capacity_loss; replay.h "Worn cells" and "Passes"): summary.json's
 * "lifetime" block, failures.csv with its plot, and the table's lines.
 *
 * lifetime_fraction_of_ideal = the cell writes the device absorbed until the
 * run ended (nv_counters.total_writes: every source, gap moves included;
 * stores refused by a failed cell are not writes) / the sum of every cell's
 * endurance (nv_cell_endurance over all cells, physical with leveling): what
 * share of the device's total endurance the run used before its end, 1 when
 * the writes were spread so perfectly that every cell wore out together.
 *
 * worn_metadata (runs that end as metadata_worn): the kind of the latest
 * failed cell written mostly by the allocator's metadata, and its line.
 *
 * failures.csv has one row per failed cell, in order: the event and the
 * failing thread's simulated ns (nv_failures_get), the physical cell and its
 * line's logical offset, the failed cells so far, and the heap's retired
 * bytes at that event (the replay's step series, sampled every 256 events
 * once a cell failed, so a retirement shows up to 256 events late).
 */
#include "run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static bool endurance_on(const run_result *m)
{
    return m->sim && m->x->device.endurance.kind != NV_ENDURANCE_NONE;
}

int run_lifetime_measure(run_result *m)
{
    m->endurance_sum = NAN;
    if (!endurance_on(m))
        return EXP_OK;
    double sum = 0;
    for (uint64_t c = 0; c < m->cells; c++)
        sum += (double)nv_cell_endurance(m->d, c);
    m->endurance_sum = sum;
    return EXP_OK;
}

/* Which of the allocator's structures wore out when a run ended as
 * metadata_worn: the latest failed cell whose writes were mostly one
 * metadata kind (the store that ended the run met it), looked for among the
 * last 64 failures. NV_DATA and *f untouched when none is found. */
static nv_tag worn_metadata(const run_result *m, nv_failure *f)
{
    if (m->st->ended_by != TR_END_METADATA_WORN || !m->wo.any)
        return NV_DATA;
    uint64_t total = m->wo.failed_cells, from = total > 64 ? total - 64 : 0, n = 0;
    nv_failure buf[64];
    if (nv_failures_get(m->d, from, buf, total - from, &n) != 0)
        return NV_DATA;
    for (uint64_t i = n; i-- > 0;) {
        nv_tag best = NV_DATA;
        uint64_t most = nv_cell_count(m->d, buf[i].cell, NV_DATA);
        for (int t = 0; t < NV_TAGS; t++) {
            uint64_t c = nv_tag_is_meta((nv_tag)t) ? nv_cell_count(m->d, buf[i].cell, t) : 0;
            if (c > most) {
                most = c;
                best = (nv_tag)t;
            }
        }
        if (best != NV_DATA) {
            *f = buf[i];
            return best;
        }
    }
    return NV_DATA;
}

void run_lifetime_json(const run_result *m, json_t *sum)
{
    if (!m->sim) {
        json_object_set_new(sum, "lifetime", json_null());
        return;
    }
    const tr_replay_stats *st = m->st;
    const tr_replay_config *rc = &m->x->replay;
    const nv_wearout *wo = &m->wo;
    json_t *l = json_object();
    json_object_set_new(l, "repeat", rc->repeat ? json_integer((json_int_t)rc->repeat) : json_string("until-failure"));
    json_object_set_new(l, "passes", json_integer((json_int_t)st->passes));
    json_object_set_new(l, "events", json_integer((json_int_t)m->events));
    json_object_set_new(l, "ended_by", json_string(tr_end_name(st->ended_by)));
    json_object_set_new(l, "end_reason", st->end_reason[0] ? json_string(st->end_reason) : json_null());
    nv_failure wf;
    nv_tag wt = worn_metadata(m, &wf);
    json_object_set_new(l, "worn_metadata",
                        wt == NV_DATA ? json_null()
                                      : json_pack("{s:s, s:I, s:I}", "kind", nv_tag_name(wt), "line_offset",
                                                  (json_int_t)wf.line_off, "event", (json_int_t)wf.event));
    json_object_set_new(l, "events_to_first_failure", wo->any ? json_integer((json_int_t)wo->first.event) : json_null());
    json_object_set_new(l, "sim_ns_to_first_failure", wo->any ? jnum(wo->first.sim_ns) : json_null());
    json_object_set_new(l, "capacity_loss", json_real(rc->capacity_loss));
    json_object_set_new(l, "events_to_capacity_loss",
                        st->capacity_reached ? json_integer((json_int_t)st->capacity_event) : json_null());
    json_object_set_new(l, "sim_ns_to_capacity_loss", st->capacity_reached ? jnum(st->capacity_ns) : json_null());
    json_object_set_new(l, "sim_ns_to_end", jnum(m->elapsed_ns));
    json_object_set_new(l, "failed_cells", json_integer((json_int_t)wo->failed_cells));
    json_object_set_new(l, "retired_bytes", json_integer((json_int_t)st->retired_bytes));
    json_object_set_new(l, "retired_fraction",
                        jnum(run_ratio((double)st->retired_bytes, (double)nv_size(m->d))));
    json_object_set_new(l, "writes_absorbed", json_integer((json_int_t)m->k.total_writes));
    json_object_set_new(l, "endurance_total", jnum(m->endurance_sum));
    json_object_set_new(l, "lifetime_fraction_of_ideal", jnum(run_ratio((double)m->k.total_writes, m->endurance_sum)));
    json_object_set_new(l, "moves", json_integer((json_int_t)st->moves));
    json_object_set_new(l, "moved_bytes", json_integer((json_int_t)st->moved_bytes));
    json_object_set_new(l, "verified_objects", json_integer((json_int_t)st->verified_objects));
    json_object_set_new(l, "verified_bytes", json_integer((json_int_t)st->verified_bytes));
    json_object_set_new(l, "rejected_blocks", json_integer((json_int_t)st->rejected_blocks));
    json_object_set_new(sum, "lifetime", l);
}

/* The retired bytes at event ev: the last step at or before it. */
static uint64_t retired_at(const tr_replay_stats *st, uint64_t ev, size_t *i)
{
    while (*i < st->nretired && st->retired[*i].event <= ev)
        (*i)++;
    return *i ? st->retired[*i - 1].retired_bytes : 0;
}

static int write_failures_csv(const run_result *m, const char *dir)
{
    char *p = an_path_join(dir, "failures", ".csv");
    an_file af;
    int rc = p ? an_file_open(&af, p) : AN_ENOMEM;
    free(p);
    if (rc)
        return run_fail_file(dir, "failures.csv", rc);
    an_csv c;
    an_csv_begin(&c, af.f);
    an_csv_row(&c, (const char *[]){"event", "sim_ns", "cell", "line_offset", "failed_cells", "retired_bytes"}, 6);
    nv_failure buf[4096];
    uint64_t from = 0, n = 0;
    size_t ri = 0;
    while (nv_failures_get(m->d, from, buf, sizeof buf / sizeof buf[0], &n) == 0 && n > 0) {
        for (uint64_t i = 0; i < n; i++) {
            an_csv_u64(&c, buf[i].event);
            an_csv_double(&c, buf[i].sim_ns);
            an_csv_u64(&c, buf[i].cell);
            an_csv_u64(&c, buf[i].line_off);
            an_csv_u64(&c, from + i + 1);
            an_csv_u64(&c, retired_at(m->st, buf[i].event, &ri));
            an_csv_end(&c);
        }
        from += n;
    }
    rc = an_file_commit(&af);
    return rc ? run_fail_file(dir, "failures.csv", rc) : EXP_OK;
}

/* Failed cells over events above the retired bytes; either axis log when its
 * values span more than 100x. */
static const char failures_gp[] =
    "set datafile separator ','\n"
    "set multiplot layout 2,1 title 'Cells failed over the run (failures.csv)'\n"
    "set xlabel 'events'\n"
    "set grid\n"
    "an_file = 'failures.csv'; an_cols = '5'; eval an_span\n"
    "set ylabel 'failed cells so far'\n"
    "if (an_log) { set logscale y; set ylabel 'failed cells so far (log scale)' }\n"
    "plot 'failures.csv' skip 1 using 1:5 with steps lt 1 title 'failed_cells'\n"
    "unset logscale y\n"
    "an_cols = '6'; eval an_span\n"
    "set ylabel 'retired bytes'\n"
    "if (an_log) { set logscale y; set ylabel 'retired bytes (log scale)' }\n"
    "plot 'failures.csv' skip 1 using 1:6 with steps lt 2 title 'retired_bytes'\n"
    "unset multiplot\n";

int run_lifetime_files(const run_result *m, const char *dir)
{
    return endurance_on(m) ? write_failures_csv(m, dir) : EXP_OK;
}

int run_lifetime_plot(const run_result *m, const char *dir)
{
    /* gnuplot cannot draw an empty file: no failure, no plot. */
    if (!endurance_on(m) || !m->wo.any)
        return EXP_OK;
    int rc = an_plot(dir, "failures", failures_gp);
    return rc ? run_fail_plot(dir, "failures", rc) : EXP_OK;
}

void run_lifetime_print(const run_result *m)
{
    const tr_replay_stats *st = m->st;
    if (!endurance_on(m) && st->passes <= 1)
        return;
    nv_failure wf;
    nv_tag wt = worn_metadata(m, &wf);
    char worn[160] = "";
    if (wt != NV_DATA)
        snprintf(worn, sizeof worn, " (a %s line wore out, at device offset 0x%llx%s)", nv_tag_name(wt),
                 (unsigned long long)wf.line_off,
                 wt == NV_META_LOG ? "; a bigger allocator.log_kib spreads the log wider" : "");
    printf("  %-24s %14llu   %llu events, ended by %s%s\n", "passes", (unsigned long long)st->passes,
           (unsigned long long)m->events, tr_end_name(st->ended_by), worn);
    if (!endurance_on(m))
        return;
    char cap[64] = "not reached";
    if (st->capacity_reached)
        snprintf(cap, sizeof cap, "at event %llu", (unsigned long long)st->capacity_event);
    printf("  %-24s %14.3g   of ideal; %.3g%% of the device retired (capacity loss %g%%: %s)\n",
           "lifetime", run_ratio((double)m->k.total_writes, m->endurance_sum),
           100 * run_ratio((double)st->retired_bytes, (double)nv_size(m->d)), 100 * m->x->replay.capacity_loss, cap);
    printf("  %-24s %14llu   %llu verified, %llu blocks rejected on the copy\n", "objects moved",
           (unsigned long long)st->moves, (unsigned long long)st->verified_objects,
           (unsigned long long)st->rejected_blocks);
}
