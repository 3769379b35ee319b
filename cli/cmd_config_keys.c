/*
 * cmd_config_keys.c - `pmarena config-keys --markdown` (hidden): prints the
 * config key reference (docs/CONFIG.md) from the library's key table.
 */
#include "cmd.h"
#include "pmarena/config.h"

#include <stdio.h>
#include <string.h>

int cmd_config_keys(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: pmarena config-keys --markdown\n"
               "Prints the reference of every experiment config key (docs/CONFIG.md).\n");
        return 0;
    }
    if (argc != 2 || strcmp(argv[1], "--markdown") != 0) {
        fprintf(stderr, "usage: pmarena config-keys --markdown\n");
        return 2;
    }
    if (cfg_keys_markdown(stdout) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "pmarena config-keys: cannot write the reference\n");
        return 1;
    }
    return 0;
}
