/*
 * cmd_run.c - `pmarena run CONFIG.json [-o DIR] [--set PATH=VALUE ...]`: one
 * experiment end to end. Reads the config (nothing is written if it is bad),
 * opens the device and the heap, replays the trace while sampling
 * fragmentation, then computes the wear statistics and writes the results
 * folder: summary.json, wear_hist.csv, frag.csv, kinds.csv, heat.csv (and
 * cells.csv with --cells), and the plots, each PNG beside the gnuplot script
 * that drew it. The folder is checked before the run (exit 2 when it cannot
 * take results), written as a temporary sibling and swapped in whole, so no
 * file of an earlier run survives; SIGINT/SIGTERM leave no temporary.
 *
 * Exit status: 0 ok, 1 the run failed (device, allocator, plots), 2 bad input
 * (usage, config, trace).
 */
#include "cmd.h"
#include "pmarena/experiment.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena run CONFIG.json [-o DIR] [--set PATH=VALUE]... [--cells] [--quiet] [--html]\n"
            "\n"
            "Runs one experiment: replays the config's trace through the allocator on the\n"
            "simulated device and writes results into DIR (default results/<name>/):\n"
            "  summary.json   every statistic (wear, wear_data, wear_meta, fragmentation,\n"
            "                 time, heap) and the resolved config; undefined values are null\n"
            "  wear_hist.csv  histogram of per-cell writes (linear and log2 bins)\n"
            "  frag.csv       fragmentation sampled over the replay\n"
            "  kinds.csv      writes and hottest cell per kind (data and each metadata kind)\n"
            "  heat.csv       wear folded over the address space (64 x 64 regions)\n"
            "  cells.csv      per-cell counts (with --cells)\n"
            "  *.png, *.gp    plots and the gnuplot scripts that made them\n"
            "\n"
            "  -o DIR             write into DIR (an earlier run there is replaced whole;\n"
            "                     a non-empty folder that holds no run is refused)\n"
            "  --set PATH=VALUE   override a config value, e.g. --set allocator.granularity=8\n"
            "                     (VALUE is JSON when it parses as JSON, else a string)\n"
            "  --cells            also write per-cell counts\n"
            "  --quiet            no summary table on stdout, no progress bar\n"
            "  --html             also write DIR/report.html: one self-contained page (plots\n"
            "                     inline as SVG; see pmarena report --html)\n"
            "\n"
            "Exit status: 0 ok, 1 the run failed, 2 bad input (nothing is written).\n");
}

int cmd_run(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    int nsets = 0;
    run_options opt = {0};
    bool html = false;
    static const struct option longs[] = {
        {"help", no_argument, NULL, 'h'}, {"set", required_argument, NULL, 's'},
        {"cells", no_argument, NULL, 'c'}, {"quiet", no_argument, NULL, 'q'}, {"html", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;   /* glibc: start afresh (argv[0] is "run") */
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":ho:", longs, NULL)) != -1) {
        switch (ch) {
        case 'h':
            usage(stdout);
            free(sets);
            return EXIT_OK;
        case 'o': out = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'c': opt.cells = true; break;
        case 'q': opt.quiet = true; break;
        case 'H': html = true; break;
        case ':':
            fprintf(stderr, "pmarena run: %s needs a value (see --help)\n", argv[optind - 1]);
            free(sets);
            return EXIT_BADINPUT;
        default:
            fprintf(stderr, "pmarena run: unexpected argument '%s' (see --help)\n", argv[optind - 1]);
            free(sets);
            return EXIT_BADINPUT;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (config) {
            fprintf(stderr, "pmarena run: unexpected argument '%s' (see --help)\n", argv[i]);
            free(sets);
            return EXIT_BADINPUT;
        }
        config = argv[i];
    }
    if (!config) {
        usage(stderr);
        free(sets);
        return EXIT_BADINPUT;
    }
    cfg_experiment x;
    char err[1200];
    int rc = cfg_experiment_load(&x, config, sets, nsets, err, sizeof err);
    free(sets);
    if (rc) {
        fprintf(stderr, "pmarena run: %s%s%s\n", strncmp(err, config, strlen(config)) ? config : "",
                strncmp(err, config, strlen(config)) ? ": " : "", err);
        cfg_experiment_free(&x);
        return EXIT_BADINPUT;
    }
    char dir[4096];
    if (out)
        snprintf(dir, sizeof dir, "%s", out);
    else
        snprintf(dir, sizeof dir, "results/%s", x.name);
    /* A bad -o is refused before the run, not found at its end. */
    if ((rc = exp_outdir_check("pmarena run", dir, true)) != 0) {
        cfg_experiment_free(&x);
        return rc;
    }
    exp_cleanup_install();
    rc = run_experiment(&x, dir, &opt);
    if (rc == EXIT_OK && html) {
        char page[4200];
        snprintf(page, sizeof page, "%s/report.html", dir);
        const char *d = dir;
        rc = exp_report_html(page, &d, 1);
    }
    cfg_experiment_free(&x);
    return rc;
}
