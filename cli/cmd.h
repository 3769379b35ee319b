/* cmd.h - the subcommands of `pmarena`, one file each (cli/cmd_*.c). Each
 * takes argv with argv[0] = the command's name and returns the exit status. */
#ifndef PMARENA_CLI_CMD_H
#define PMARENA_CLI_CMD_H

#include "pmarena/experiment.h"

enum { EXIT_OK = EXP_OK, EXIT_FAIL = EXP_FAIL, EXIT_BADINPUT = EXP_BADINPUT };

int cmd_validate(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_config_keys(int argc, char **argv);   /* hidden: docs/CONFIG.md */

#endif
