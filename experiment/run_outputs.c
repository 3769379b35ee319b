/*
 * run_outputs.c - the files of one run's results folder: summary.json, the
 * data files (wear_hist.csv, heat.csv, kinds.csv, frag.csv, cells.csv with
 * --cells), each written by analysis/ under a temporary name and renamed, and
 * the plots (each PNG beside the gnuplot script that drew it).
 */
#include "run_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The heatmap's regions: rows x cols over the device, in address order. */
#define HEAT_ROWS 64u
#define HEAT_COLS 64u

/* dir as the user named it: the run writes into DIR.tmp.PID (outdir.c),
 * which is gone by the time the message is read. */
static void shown_dir(const char *dir, char *buf, size_t len)
{
    char suffix[40];
    int k = snprintf(suffix, sizeof suffix, ".tmp.%ld", (long)getpid());
    size_t n = strlen(dir);
    if (n > (size_t)k && strcmp(dir + n - (size_t)k, suffix) == 0)
        n -= (size_t)k;
    snprintf(buf, len, "%.*s", (int)n, dir);
}

/* The reason an analysis/ writer failed: for AN_EIO the system's (EFBIG,
 * ENOSPC, EACCES...), which an_file_commit leaves in errno. */
static const char *why(int rc, int e)
{
    return rc == AN_EIO && e ? strerror(e) : an_strerror(rc);
}

int run_fail_file(const char *dir, const char *name, int rc)
{
    int e = errno;
    char d[4200];
    shown_dir(dir, d, sizeof d);
    fprintf(stderr, "pmarena run: cannot write %s/%s: %s\n", d, name, why(rc, e));
    return EXP_FAIL;
}

int run_fail_plot(const char *dir, const char *name, int rc)
{
    int e = errno;
    char d[4200];
    shown_dir(dir, d, sizeof d);
    if (rc == AN_ETOOL)
        fprintf(stderr, "pmarena run: the %s plot failed: gnuplot is missing or failed (see %s/%s.log; "
                        "`make deps` installs it); the data files are written\n", name, d, name);
    else
        fprintf(stderr, "pmarena run: cannot write the %s plot (%s/%s.gp, .png): %s\n", name, d, name,
                why(rc, e));
    return EXP_FAIL;
}

/* heat_kinds.csv: the heatmap's regions folded per source, so the plot can
 * say which are data, bitmap, header, log... scratch holds m->cells counts. */
static int write_heat_kinds(const run_result *m, const char *dir, uint64_t *scratch)
{
    const uint64_t regions = (uint64_t)HEAT_ROWS * HEAT_COLS;
    uint64_t *folded = malloc(NV_TAGS * regions * sizeof *folded);
    if (!folded)
        return run_fail_file(dir, "heat_kinds.csv", AN_ENOMEM);
    const char *names[NV_TAGS];
    const uint64_t *rows[NV_TAGS];
    for (int t = 0; t < NV_TAGS; t++) {
        names[t] = nv_tag_name((nv_tag)t);
        rows[t] = folded + t * regions;
        nv_cells_export_tag(m->d, (nv_tag)t, 0, m->cells, scratch);
        an_heat_fold(scratch, m->cells, regions, folded + t * regions);
    }
    char *p = an_path_join(dir, "heat_kinds", ".csv");
    int rc = p ? an_heat_kinds_csv(names, rows, NV_TAGS, m->cells, HEAT_ROWS, HEAT_COLS, p) : AN_ENOMEM;
    free(p);
    free(folded);
    return rc ? run_fail_file(dir, "heat_kinds.csv", rc) : EXP_OK;
}

/* wear_hist.csv and heat.csv over all cells; cells.csv (cells with a write,
 * split by source: data, meta, links) when asked. */
static int write_cell_files(const run_result *m, const char *dir, const run_options *opt)
{
    uint64_t *all = malloc(m->cells * sizeof *all);
    if (!all) {
        fprintf(stderr, "pmarena run: out of memory for %llu cell counts\n", (unsigned long long)m->cells);
        return EXP_FAIL;
    }
    int status = EXP_OK, rc;
    nv_cells_export(m->d, 2, 0, m->cells, all);
    char *p = an_path_join(dir, "wear_hist", ".csv");
    if ((rc = p ? an_histogram_csv(all, m->cells, m->x->hist_bins, p) : AN_ENOMEM) != 0)
        status = run_fail_file(dir, "wear_hist.csv", rc);
    free(p);
    p = an_path_join(dir, "heat", ".csv");
    if ((rc = p ? an_heatmap_csv(all, m->cells, HEAT_ROWS, HEAT_COLS, p) : AN_ENOMEM) != 0)
        status = run_fail_file(dir, "heat.csv", rc);
    free(p);
    if (write_heat_kinds(m, dir, all) != EXP_OK)
        status = EXP_FAIL;
    if (opt->cells) {
        uint64_t *data = all, *meta = malloc(m->cells * sizeof *meta);
        uint64_t *links = malloc(m->cells * sizeof *links);
        an_file af;
        p = an_path_join(dir, "cells", ".csv");
        rc = meta && links && p ? an_file_open(&af, p) : AN_ENOMEM;
        if (rc == 0) {
            nv_cells_export(m->d, 0, 0, m->cells, data);
            nv_cells_export(m->d, 1, 0, m->cells, meta);
            nv_cells_export(m->d, 3, 0, m->cells, links);
            an_csv c;
            an_csv_begin(&c, af.f);
            an_csv_row(&c, (const char *[]){"cell", "data", "meta", "links"}, 4);
            for (uint64_t i = 0; i < m->cells; i++)
                if (data[i] || meta[i] || links[i]) {
                    an_csv_u64(&c, i);
                    an_csv_u64(&c, data[i]);
                    an_csv_u64(&c, meta[i]);
                    an_csv_u64(&c, links[i]);
                    an_csv_end(&c);
                }
            rc = an_file_commit(&af);
        }
        if (rc)
            status = run_fail_file(dir, "cells.csv", rc);
        free(links);
        free(meta);
        free(p);
    }
    free(all);
    return status;
}

static int write_kinds(const run_result *m, const char *dir)
{
    const char *names[NV_TAGS];
    uint64_t writes[NV_TAGS], hottest[NV_TAGS];
    for (int t = 0; t < NV_TAGS; t++) {
        names[t] = nv_tag_name((nv_tag)t);
        writes[t] = m->k.kind[t].writes;
        hottest[t] = m->k.kind[t].hottest_count;
    }
    char *p = an_path_join(dir, "kinds", ".csv");
    int rc = p ? an_kinds_csv(names, writes, hottest, NV_TAGS, p) : AN_ENOMEM;
    free(p);
    return rc ? run_fail_file(dir, "kinds.csv", rc) : EXP_OK;
}

static int write_summary(const run_result *m, const char *dir)
{
    json_t *sum = run_summary_json(m);
    char *p = an_path_join(dir, "summary", ".json");
    an_file af;
    int rc = p ? an_file_open(&af, p) : AN_ENOMEM;
    if (rc == 0) {
        if (json_dumpf(sum, af.f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', af.f) == EOF) {
            an_file_abort(&af);
            rc = AN_EIO;
        } else {
            rc = an_file_commit(&af);
        }
    }
    free(p);
    json_decref(sum);
    return rc ? run_fail_file(dir, "summary.json", rc) : EXP_OK;
}

int run_write_cell_files(const run_result *m, const char *dir, const run_options *opt)
{
    return m->sim ? write_cell_files(m, dir, opt) | write_kinds(m, dir) : EXP_OK;
}

int run_write_files(const run_result *m, const char *dir, bool data_ok)
{
    int status = data_ok ? EXP_OK : EXP_FAIL;
    char *p = an_path_join(dir, "frag", ".csv");
    int rc = p ? an_frag_csv(m->samples, m->nsamples, p) : AN_ENOMEM;
    free(p);
    if (rc)
        status = run_fail_file(dir, "frag.csv", rc);
    if (m->sim) {
        p = an_path_join(dir, "wear_time", ".csv");
        rc = p ? an_wear_time_csv(m->wear_samples, m->nsamples, p) : AN_ENOMEM;
        free(p);
        if (rc)
            status = run_fail_file(dir, "wear_time.csv", rc);
    }
    status |= run_lifetime_files(m, dir);
    /* No summary without every data file: the run's folder is then dropped
     * (run.c keeps a folder only with its summary), so a full disk leaves
     * the earlier results, not a folder missing some of its files. */
    if (status != EXP_OK)
        return status;
    if ((status = write_summary(m, dir)) != EXP_OK)
        return status;
    /* Plots: each PNG beside its script. Without gnuplot the data stays. */
    int (*plots[])(const char *) = {an_plot_frag, an_plot_wear_hist, an_plot_wear_cdf, an_plot_heatmap,
                                    an_plot_meta_kinds, an_plot_wear_time};
    static const char *const names[] = {"frag", "wear_hist", "wear_cdf", "heatmap", "meta_kinds", "wear_time"};
    for (size_t i = 0; i < (m->sim ? sizeof plots / sizeof plots[0] : 1u); i++)
        if ((rc = plots[i](dir)) != 0)
            return run_fail_plot(dir, names[i], rc);
    return run_lifetime_plot(m, dir);
}
