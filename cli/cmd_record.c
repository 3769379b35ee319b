/* cmd_record.c - placeholder until the recorder lands (issue 4). */
#include "cmd.h"
#include <stdio.h>
int cmd_record(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "pmarena record: not built yet\n");
    return EXIT_FAIL;
}
