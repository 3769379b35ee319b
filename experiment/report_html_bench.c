/*
 * report_html_bench.c - the HTML page of a `pmarena bench` folder: its
 * throughput and wear tables (throughput.csv, wear.csv, recovery.csv when
 * present) as sortable tables, and its plots (throughput, scaling, wear).
 */
#include "report_html.h"
#include "pmarena/analysis.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *bench_caption(const char *name)
{
    if (!strncmp(name, "throughput", 10))
        return "Operations per second for each workload (x) and allocator (bars, told apart by fill "
               "pattern order and colour), at one thread count; y is log scale: higher is faster.";
    if (!strncmp(name, "scaling_", 8))
        return "Operations per second (y, log scale) against threads (x) for one workload, one line per "
               "allocator (distinct dash and point types): a line that rises with x scales.";
    if (!strncmp(name, "wear_", 5))
        return "The hottest cell's writes per allocator and trace: lower is gentler on the device.";
    return NULL;
}

static int table(html *h, const char *dir, const char *file, const char *caption, const char *heading)
{
    char *p = an_path_join(dir, file, "");
    if (!p)
        return EXP_FAIL;
    int rc = EXP_OK;
    if (access(p, R_OK) == 0) {
        fprintf(h->f, "<h2>%s</h2>\n<p>Click a column header to sort by it (again: reversed).</p>\n", heading);
        rc = html_csv_table(h, p, caption, NULL, 0);
    }
    free(p);
    return rc;
}

int html_bench_page(html *h, const char *dir)
{
    char title[300];
    snprintf(title, sizeof title, "pmarena bench: %s", dir);
    html_begin(h, title);
    int rc = table(h, dir, "throughput.csv", "Throughput and scaling per allocator, workload and thread count "
                                             "(throughput.csv; ops_per_s in operations per second, peak_rss_kb "
                                             "in KiB, sim_ns_per_op in simulated ns)", "Throughput");
    if (!rc)
        rc = table(h, dir, "wear.csv", "Wear per allocator and trace (wear.csv; max and p99_touched in cell "
                                       "writes, the rest ratios)", "Wear");
    if (!rc)
        rc = table(h, dir, "recovery.csv", "Recovery after a crash (recovery.csv)", "Recovery");
    if (rc)
        return rc;
    fputs("<h2 id=\"h-plots\">Plots</h2>\n", h->f);
    if (html_plots_matching(h, dir, "", bench_caption) == 0)
        fputs("<p class=\"missing\">No plots in this folder (no .gp scripts).</p>\n", h->f);
    return EXP_OK;
}
