/*
 * cmd_config_keys.c - `pmarena config-keys --markdown` (hidden): prints the
 * config key reference (docs/CONFIG.md) from the library's key table.
 */
#include "cmd.h"
#include "pmarena/config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

static const char usage[] = "usage: pmarena config-keys --markdown\n";

int cmd_config_keys(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"markdown", no_argument, NULL, 'm'}, {NULL, 0, NULL, 0}};
    bool markdown = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            printf("%sPrints the reference of every experiment config key (docs/CONFIG.md).\n", usage);
            return EXIT_OK;
        } else if (c == 'm') {
            markdown = true;
        } else {
            fputs(usage, stderr);
            return EXIT_BADINPUT;
        }
    }
    if (!markdown || optind != argc) {
        fputs(usage, stderr);
        return EXIT_BADINPUT;
    }
    if (cfg_keys_markdown(stdout) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "pmarena config-keys: cannot write the reference\n");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
