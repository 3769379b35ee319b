/*
 * cmd_report.c - `pmarena plot DIR...` redraws a results folder's plots from
 * its data files; `pmarena report DIR... [--format table|csv|markdown]`
 * prints runs side by side, one column per run.
 */
#include "cmd.h"
#include "pmarena/analysis.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cmd_plot(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: pmarena plot DIR...\n"
                "Redraws the plots of each results folder from its data files (wear_hist.csv,\n"
                "heat.csv, kinds.csv, frag.csv), rewriting each .gp script beside its PNG.\n"
                "To change a plot by hand, edit its .gp and run `gnuplot NAME.gp` in DIR.\n");
        return argc < 2 ? EXIT_BADINPUT : EXIT_OK;
    }
    int status = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/summary.json", argv[i]);
        if (access(p, R_OK) != 0) {
            fprintf(stderr, "pmarena plot: %s: not a results folder (no summary.json)\n", argv[i]);
            return EXIT_BADINPUT;
        }
        int (*plots[])(const char *) = {an_plot_frag, an_plot_wear_hist, an_plot_wear_cdf, an_plot_heatmap,
                                        an_plot_meta_kinds};
        const char *needs[] = {"frag.csv", "wear_hist.csv", "wear_hist.csv", "heat.csv", "kinds.csv"};
        for (int k = 0; k < 5; k++) {
            snprintf(p, sizeof p, "%s/%s", argv[i], needs[k]);
            if (access(p, R_OK) == 0 && plots[k](argv[i]) != 0) {
                fprintf(stderr, "pmarena plot: %s: a plot failed (is gnuplot installed?)\n", argv[i]);
                status = EXIT_FAIL;
            }
        }
    }
    return status;
}

static const struct { const char *label, *path; } rows[] = {
    {"trace events", NULL},
    {"cell writes", "wear.total_writes"},
    {"  data", "wear.data_writes"},
    {"  metadata", "wear.meta_writes"},
    {"hottest cell", "wear.max"},
    {"mean per cell", "wear.mean"},
    {"p99 per cell", "wear.p99"},
    {"gini", "wear.gini"},
    {"hot-spot factor", "wear.hotspot"},
    {"lifetime fraction", "wear.lifetime_fraction"},
    {"projected lifetime s", "wear.projected_lifetime_s"},
    {"hottest metadata cell", "wear_meta.max"},
    {"internal frag", "fragmentation.internal"},
    {"external frag", "fragmentation.external"},
    {"utilization", "fragmentation.utilization"},
    {"peak footprint", "fragmentation.peak_footprint"},
    {"simulated ns", "time.simulated_ns"},
};


/* The value at a dotted path of a summary ("wear.max"), or NULL. */
static json_t *summary_value(json_t *s, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save, *p = strtok_r(buf, ".", &save); p && s; p = strtok_r(NULL, ".", &save))
        s = json_object_get(s, p);
    return s;
}

static void value_text(json_t *s, size_t r, char *buf, size_t len)
{
    if (!rows[r].path) {
        json_t *e = json_object_get(s, "events");
        long long n = 0;
        const char *k;
        json_t *v;
        json_object_foreach(e, k, v)
            n += json_integer_value(v);
        snprintf(buf, len, "%lld", n);
        return;
    }
    json_t *v = summary_value(s, rows[r].path);
    if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.4g", json_real_value(v));
    else
        snprintf(buf, len, "-");
}

int cmd_report(int argc, char **argv)
{
    const char *format = "table";
    json_t *runs[64];
    const char *names[64];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: pmarena report DIR... [--format table|csv|markdown]\n"
                   "Prints the key figures of each run's summary.json side by side.\n");
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            format = argv[++i];
            if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "markdown")) {
                fprintf(stderr, "pmarena report: --format %s: expected table, csv or markdown\n", format);
                return EXIT_BADINPUT;
            }
        } else if (n < 64) {
            char p[4200];
            snprintf(p, sizeof p, "%s/summary.json", argv[i]);
            json_error_t je;
            if (!(runs[n] = json_load_file(p, 0, &je))) {
                fprintf(stderr, "pmarena report: %s: %s\n", p, je.text);
                for (int k = 0; k < n; k++)
                    json_decref(runs[k]);
                return EXIT_BADINPUT;
            }
            names[n++] = argv[i];
        }
    }
    if (n == 0) {
        fprintf(stderr, "usage: pmarena report DIR... [--format table|csv|markdown]\n");
        return EXIT_BADINPUT;
    }
    bool csv = !strcmp(format, "csv"), md = !strcmp(format, "markdown");
    printf(md ? "| metric |" : csv ? "metric" : "%-24s", md || csv ? "" : "metric");
    for (int k = 0; k < n; k++)
        printf(md ? " %s |" : csv ? ",%s" : " %16.16s", names[k]);
    printf("\n");
    if (md) {
        printf("|---|");
        for (int k = 0; k < n; k++)
            printf("---:|");
        printf("\n");
    }
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        printf(md ? "| %s |" : csv ? "%s" : "%-24s", rows[r].label + (csv || md ? strspn(rows[r].label, " ") : 0));
        for (int k = 0; k < n; k++) {
            char t[64];
            value_text(runs[k], r, t, sizeof t);
            printf(md ? " %s |" : csv ? ",%s" : " %16s", t);
        }
        printf("\n");
    }
    for (int k = 0; k < n; k++)
        json_decref(runs[k]);
    return EXIT_OK;
}
