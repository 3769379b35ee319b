/*
 * cmd_sweep.c - `pmarena sweep` and `pmarena merge`: run a config's sweep
 * block (in parallel, resumable, shardable), and combine shard folders into
 * one table and plot set.
 */
#include "cmd.h"
#include "pmarena/experiment.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sweep_usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena sweep CONFIG.json [-j N] [--shard I/N] [-o DIR] [--set PATH=VALUE]... [--quiet] [--html]\n"
            "\n"
            "Runs every point of the config's \"sweep\" block (config path -> list of values;\n"
            "the cartesian product, the last path varying fastest) and writes DIR (default\n"
            "results/<name>/): points/NNNNN/ (one run's results each), sweep.csv (one row per\n"
            "point: its parameters and key metrics) and plots of each key metric against\n"
            "each swept parameter, one line per value of the others.\n"
            "\n"
            "  -j N          run N points at a time, in separate processes [1]\n"
            "  --shard I/N   run only points with index %% N == I-1 (I from 1 to N); combine\n"
            "                shard folders with `pmarena merge`\n"
            "  -o DIR        results folder\n"
            "  --set P=V     override a base config value before sweeping\n"
            "  --html        also write DIR/report.html: the points table (sortable) and the\n"
            "                plots in one self-contained page (see pmarena report --html)\n"
            "\n"
            "Finished points are skipped, so a killed sweep resumes where it stopped.\n"
            "Exit status: 0 ok, 1 some point failed, 2 bad input (nothing is run).\n");
}

int cmd_sweep(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets);
    int nsets = 0;
    sweep_opts o = {.jobs = 1, .shard = 0, .nshards = 1};
    bool html = false;
    static const struct option longs[] = {
        {"help", no_argument, NULL, 'h'}, {"shard", required_argument, NULL, 'S'},
        {"set", required_argument, NULL, 's'}, {"quiet", no_argument, NULL, 'q'}, {"html", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;   /* glibc: start afresh (argv[0] is "sweep") */
    opterr = 0;
    int ch;
    unsigned long long a, b;
    while ((ch = getopt_long(argc, argv, ":hj:o:", longs, NULL)) != -1) {
        switch (ch) {
        case 'h':
            sweep_usage(stdout);
            free(sets);
            return EXIT_OK;
        case 'j': o.jobs = atoi(optarg); break;
        case 'S':
            if (sscanf(optarg, "%llu/%llu", &a, &b) != 2 || b == 0 || a == 0 || a > b) {
                fprintf(stderr, "pmarena sweep: --shard %s: expected I/N with 1 <= I <= N\n", optarg);
                free(sets);
                return EXIT_BADINPUT;
            }
            o.shard = a - 1;
            o.nshards = b;
            break;
        case 'o': out = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'q': o.quiet = true; break;
        case 'H': html = true; break;
        case ':':
            fprintf(stderr, "pmarena sweep: %s needs a value (see --help)\n", argv[optind - 1]);
            free(sets);
            return EXIT_BADINPUT;
        default:
            fprintf(stderr, "pmarena sweep: unexpected argument '%s' (see --help)\n", argv[optind - 1]);
            free(sets);
            return EXIT_BADINPUT;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (config) {
            fprintf(stderr, "pmarena sweep: unexpected argument '%s' (see --help)\n", argv[i]);
            free(sets);
            return EXIT_BADINPUT;
        }
        config = argv[i];
    }
    if (!config || o.jobs < 1 || o.jobs > 256) {
        sweep_usage(stderr);
        free(sets);
        return EXIT_BADINPUT;
    }
    /* -o (or the default folder) checked before any point runs; Ctrl-C
     * stops the points and removes every temporary. */
    char dir[4096];
    int rc = exp_sweep_prepare(config, sets, nsets, out, dir, sizeof dir);
    if (rc == 0)
        rc = sweep_main(config, sets, nsets, dir[0] ? dir : out, &o);
    if (rc == EXIT_OK && html && dir[0]) {
        char page[4200];
        snprintf(page, sizeof page, "%s/report.html", dir);
        const char *d = dir;
        rc = exp_report_html(page, &d, 1);
    }
    free(sets);
    return rc;
}

static void merge_usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena merge [-o OUT] DIR...\n"
            "Combines the finished points of sweep folders (e.g. the shards of one sweep run\n"
            "with --shard I/N on several machines) into OUT/sweep.csv and its plots\n"
            "(OUT defaults to the first DIR). A point found in several folders counts once.\n"
            "The folders must hold one sweep (their sweep.json: the same base config, trace\n"
            "and swept values); otherwise merge names what differs and exits 2.\n"
            "\n"
            "  -o, --output OUT   write the table and plots into OUT\n");
}

int cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        if (c == 'h') {
            merge_usage(stdout);
            return EXIT_OK;
        } else if (c == 'o') {
            out = optarg;
        } else {
            fprintf(stderr, "usage: pmarena merge [-o OUT] DIR... (see --help)\n");
            return EXIT_BADINPUT;
        }
    }
    int n = argc - optind;
    if (n == 0) {
        fprintf(stderr, "usage: pmarena merge [-o OUT] DIR... (see --help)\n");
        return EXIT_BADINPUT;
    }
    const char **dirs = (const char **)(argv + optind);
    if (!out)
        out = dirs[0];
    if (exp_outdir_check("pmarena merge", out, false) != EXP_OK)
        return EXIT_BADINPUT;
    return sweep_table(dirs, n, out, false);
}
