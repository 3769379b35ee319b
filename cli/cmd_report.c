/*
 * cmd_report.c - `pmarena plot DIR...` redraws a results folder's plots from
 * its data files; `pmarena report DIR... [--format table|csv|markdown]`
 * prints runs side by side, one column per run (the figures come from
 * experiment/report.c; this file parses the options and prints).
 */
#include "cmd.h"
#include "pmarena/analysis.h"
#include "pmarena/config.h"
#include "pmarena/experiment.h"

#include <getopt.h>
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
                "heat.csv, kinds.csv, frag.csv, wear_time.csv), rewriting each .gp script beside its PNG.\n"
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
                                        an_plot_meta_kinds, an_plot_wear_time};
        const char *needs[] = {"frag.csv", "wear_hist.csv", "wear_hist.csv", "heat.csv", "kinds.csv",
                               "wear_time.csv"};
        for (int k = 0; k < 6; k++) {
            snprintf(p, sizeof p, "%s/%s", argv[i], needs[k]);
            if (access(p, R_OK) == 0 && plots[k](argv[i]) != 0) {
                fprintf(stderr, "pmarena plot: %s: a plot failed (is gnuplot installed?)\n", argv[i]);
                status = EXIT_FAIL;
            }
        }
    }
    return status;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: pmarena report DIR... [--format table|csv|markdown] [--csv]\n"
               "       pmarena report --html OUT.html DIR...\n"
               "Prints the key figures of each run's summary.json side by side, one column per\n"
               "run. Wear statistics come device-wide and over touched cells (the rows\n"
               "ending in _touched: hotspot_touched, p99_touched, ...). csv is\n"
               "RFC 4180 with numbers at full precision (shortest round-trip form).\n");
}

/* A cell as text for people: integers whole, doubles to 4 significant digits. */
static void cell_text(const exp_report_cell *c, char *buf, size_t len)
{
    if (c->is_int)
        snprintf(buf, len, "%lld", (long long)c->ivalue);
    else if (isfinite(c->value))
        snprintf(buf, len, "%.4g", c->value);
    else
        snprintf(buf, len, "-");
}

static void print_csv(const exp_report *r)
{
    an_csv c;
    an_csv_begin(&c, stdout);
    an_csv_str(&c, "metric");
    for (int k = 0; k < r->nruns; k++)
        an_csv_str(&c, r->runs[k]);
    an_csv_end(&c);
    for (size_t i = 0; i < r->nmetrics; i++) {
        const char *label = exp_report_label(i);
        an_csv_str(&c, label + strspn(label, " "));
        for (int k = 0; k < r->nruns; k++) {
            const exp_report_cell *v = exp_report_at(r, i, k);
            if (v->is_int)
                an_csv_i64(&c, v->ivalue);
            else
                an_csv_double(&c, v->value);   /* NAN: an empty field */
        }
        an_csv_end(&c);
    }
}

static void print_text(const exp_report *r, bool md)
{
    printf(md ? "| metric |" : "%-24s", md ? "" : "metric");
    for (int k = 0; k < r->nruns; k++)
        printf(md ? " %s |" : " %16.16s", r->runs[k]);
    printf("\n");
    if (md) {
        printf("|---|");
        for (int k = 0; k < r->nruns; k++)
            printf("---:|");
        printf("\n");
    }
    for (size_t i = 0; i < r->nmetrics; i++) {
        const char *label = exp_report_label(i);
        if (md)
            printf("| %s |", label + strspn(label, " "));
        else
            printf("%-24s", label);
        for (int k = 0; k < r->nruns; k++) {
            char t[64];
            cell_text(exp_report_at(r, i, k), t, sizeof t);
            printf(md ? " %s |" : " %16s", t);
        }
        printf("\n");
    }
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"csv", no_argument, NULL, 'c'},
        {"html", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "table";
    const char *html = NULL;
    optind = 1;
    int o;
    while ((o = getopt_long(argc, argv, "f:chH:", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            format = optarg;
            if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "markdown")) {
                fprintf(stderr, "pmarena report: --format %s: expected table, csv or markdown\n", format);
                return EXIT_BADINPUT;
            }
            break;
        case 'c':
            format = "csv";
            break;
        case 'H':
            html = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_BADINPUT;
        }
    }
    int n = argc - optind;
    if (n <= 0) {
        usage(stderr);
        return EXIT_BADINPUT;
    }
    if (html)
        return exp_report_html(html, (const char *const *)argv + optind, n);
    exp_report r;
    int rc = exp_report_load(&r, (const char *const *)argv + optind, n);
    if (rc)
        return rc;
    if (!strcmp(format, "csv"))
        print_csv(&r);
    else
        print_text(&r, !strcmp(format, "markdown"));
    exp_report_free(&r);
    return EXIT_OK;
}
