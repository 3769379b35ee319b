/*
 * cmd_validate.c - `pmarena validate [--set PATH=VALUE]... FILE...`: checks
 * traces and experiment configs without running them (experiment/validate.c)
 * and prints one line per valid file. Exit 0, or 2 at the first invalid file.
 */
#include "cmd.h"
#include "pmarena/experiment.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena validate [--set PATH=VALUE]... FILE...\n"
            "Checks traces (.jsonl, .jsonl.gz, .pmt, or a .json document with \"events\") and\n"
            "experiment configs (.json, every point of a \"sweep\" block included) without\n"
            "running them. Prints one line per valid file (for a trace: events, threads,\n"
            "peak live bytes); at the first invalid one prints the error with its file,\n"
            "line and column (or key path and sweep point) and exits 2.\n"
            "\n"
            "  --set PATH=VALUE   override a config value first, as `pmarena run` does\n"
            "                     (applies to every config named)\n");
}

int cmd_validate(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"set", required_argument, NULL, 's'}, {NULL, 0, NULL, 0}};
    char **sets = calloc((size_t)argc, sizeof *sets);
    int nsets = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            free(sets);
            return EXIT_OK;
        } else if (c == 's') {
            sets[nsets++] = optarg;
        } else {
            usage(stderr);
            free(sets);
            return EXIT_BADINPUT;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        free(sets);
        return EXIT_BADINPUT;
    }
    int rc = EXIT_OK;
    for (int i = optind; i < argc && rc == EXIT_OK; i++) {
        char line[8192];
        rc = exp_validate_file(argv[i], sets, nsets, line, sizeof line);
        if (rc == EXIT_OK)
            printf("%s\n", line);
    }
    free(sets);
    return rc;
}
