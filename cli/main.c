/*
 * main.c - the `pmarena` command: dispatches to subcommands. A thin layer over
 * the library; each subcommand lives in cli/cmd_*.c.
 *
 * Exit codes everywhere: 0 ok, 1 failure while running, 2 bad input (usage,
 * config, trace).
 */
#include "cmd.h"
#include "pmarena/bench.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static const struct cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cmds[] = {
    {"run", cmd_run, "run one experiment config: replay, analyse, plot"},
    {"sweep", cmd_sweep, "run a config's parameter sweep (parallel, resumable, shardable)"},
    {"merge", cmd_merge, "combine sweep shard folders into one table and plot set"},
    {"plot", cmd_plot, "redraw the plots of a results folder"},
    {"report", cmd_report, "print runs side by side (table, csv, markdown)"},
    {"convert", cmd_convert, "convert a trace to the compact binary form"},
    {"gen", cmd_gen, "generate a synthetic allocation trace"},
    {"record", cmd_record, "record the allocations of a real program as a trace"},
    {"validate", cmd_validate, "check traces and experiment configs without running them"},
    {"bench", cmd_bench, "benchmark against glibc, jemalloc, mimalloc and PMDK: speed and wear"},
    {"bench-worker", bench_worker_main, "one measurement of `pmarena bench` (started by it)"},
    {"config-keys", cmd_config_keys, NULL},   /* hidden (no summary): renders docs/CONFIG.md */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena COMMAND [ARGS...]\n"
            "       pmarena --help | --version\n"
            "\n"
            "pmarena simulates a persistent-memory (NVRAM) arena allocator on a\n"
            "wear-counting device and reports where the writes went.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (cmds[i].summary)
            fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(out,
            "\n"
            "Run 'pmarena COMMAND --help' for a command's options.\n"
            "Exit status: 0 ok, 1 failure, 2 bad input.\n");
}

/* Under an address-space limit (ulimit -v), glibc cannot reserve the 64 MiB
 * heap a second thread's malloc arena needs, and then serves every malloc of
 * that thread with an mmap of its own: the trace reader thread ran 100x
 * slower (a 1 s run was still going after 120 s, seen at 400-460 MB). One
 * shared arena avoids that. Without a limit nothing changes: the bench's
 * glibc peer keeps its per-thread arenas. */
static void share_malloc_arena_under_rlimit_as(void)
{
#ifdef __GLIBC__
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        mallopt(M_ARENA_MAX, 1);
#endif
}

int main(int argc, char **argv)
{
    /* A write past RLIMIT_FSIZE then fails with EFBIG, like one on a full
     * disk (ENOSPC), and takes the same path: an error naming the file, exit
     * 1, no temporary left; the default action would kill us mid-file. */
    signal(SIGXFSZ, SIG_IGN);
    share_malloc_arena_under_rlimit_as();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (argv[1][0] == '-') {
        /* pmarena's own option: getopt sees argv[1] only (argc 2), and every
         * branch returns, so the commands' getopt starts from a clean slate. */
        static const struct option lo[] = {{"help", no_argument, NULL, 'h'},
                                           {"version", no_argument, NULL, 'V'},
                                           {NULL, 0, NULL, 0}};
        opterr = 0;
        int c = getopt_long(2, argv, "h", lo, NULL);
        if (c == 'h')
            usage(stdout);
        else if (c == 'V')
            printf("pmarena %s\n", PMARENA_VERSION);
        else
            fprintf(stderr, "pmarena: unknown option '%s' (see 'pmarena --help')\n", argv[1]);
        return c == 'h' || c == 'V' ? 0 : 2;
    }
    if (strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "pmarena: unknown command '%s' (see 'pmarena --help')\n", argv[1]);
    return 2;
}
