/* cmd_gen.c - placeholder until the generator lands (issue 4). */
#include "cmd.h"
#include <stdio.h>
int cmd_gen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "pmarena gen: not built yet\n");
    return EXIT_FAIL;
}
