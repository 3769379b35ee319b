/*
 * cmd_record.c - `pmarena record -o OUT.jsonl[.gz] [--keep-raw] -- CMD [ARGS...]`:
 * the options, then tr_record_run (traces/record_run.c), which runs CMD
 * under the recorder library (libpmarena-record.so, traces/record/) and
 * turns what it logged into one trace per process (traces/RECORDING.md);
 * then the summary.
 *
 * Exit status: 0 when the traces are written (whatever CMD's own status, which
 * is reported), 1 when recording or conversion failed, 2 for bad usage, an
 * unwritable OUT directory (checked before the run) or a CMD that cannot be
 * run.
 */
#include "cmd.h"
#include "pmarena/record.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena record -o OUT.jsonl[.gz] [--keep-raw] -- CMD [ARGS...]\n"
            "\n"
            "Runs CMD with every malloc, calloc, realloc, free and aligned allocation\n"
            "recorded (LD_PRELOAD of " TR_RECORD_LIB_NAME "), and writes the allocation\n"
            "trace of the process it started to OUT (gzip if OUT ends in .gz). Every\n"
            "other process (forks, children) gets its own trace, named OUT with\n"
            "\".PID\" before \".jsonl\". Addresses become object ids; OS threads become\n"
            "logical threads 0,1,...; frees of blocks allocated before recording\n"
            "started are skipped and counted. See traces/RECORDING.md.\n"
            "\n"
            "options:\n"
            "  -o, --output OUT   the trace of the process started (required)\n"
            "  --keep-raw         keep the raw per-process files (the dir is printed)\n"
            "  -h, --help         this help\n"
            "\n"
            "The library is PMARENA_RECORD_LIB if set, else " TR_RECORD_LIB_NAME " next to\n"
            "the pmarena binary, in ../lib from it, or in $PREFIX/lib.\n"
            "Exit status: 0 traces written (also when CMD failed: its status is\n"
            "reported), 1 failure, 2 bad usage, OUT's directory not writable, or CMD\n"
            "cannot be run.\n");
}

/* 0, or EXIT_BADINPUT after saying why; -1 for --help (already printed).
 * Options stop at "--" or at CMD (getopt_long's "+"). */
static int parse_args(int argc, char **argv, tr_record_opts *o)
{
    static const struct option lo[] = {{"output", required_argument, NULL, 'o'},
                                       {"keep-raw", no_argument, NULL, 'k'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    *o = (tr_record_opts){0};
    int c;
    opterr = 0;
    optind = 0;     /* glibc: start afresh */
    while ((c = getopt_long(argc, argv, "+:ho:", lo, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); return -1;
        case 'k': o->keep_raw = true; break;
        case 'o': o->out = optarg; break;
        case ':':
            fprintf(stderr, "pmarena record: %s needs a file name\n", argv[optind - 1]);
            return EXIT_BADINPUT;
        default:
            fprintf(stderr, "pmarena record: unknown option '%s' (see 'pmarena record --help')\n", argv[optind - 1]);
            return EXIT_BADINPUT;
        }
    }
    o->cmd = argv + optind;
    const char *why = !o->out ? "-o OUT is required" : !o->out[0] ? "-o needs a file name"
                    : optind >= argc ? "no command to record" : NULL;
    if (why) {
        fprintf(stderr, "pmarena record: %s (see 'pmarena record --help')\n", why);
        return EXIT_BADINPUT;
    }
    return 0;
}

int cmd_record(int argc, char **argv)
{
    tr_record_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    static tr_record_result res;      /* static: 12 KiB of paths */
    rc = tr_record_run(&o, &res);
    if (!res.status[0])               /* CMD did not run: the reason is printed */
        return rc;
    const char *kept = o.keep_raw ? "; raw files kept in " : "", *dir = o.keep_raw ? res.raw_dir : "";
    if (rc == TR_RECORD_OK)
        fprintf(stderr, "pmarena record: %s; '%s' %s%s%s\n", res.summary, o.cmd[0], res.status, kept, dir);
    else
        fprintf(stderr, "pmarena record: '%s' %s%s%s\n", o.cmd[0], res.status, kept, dir);
    return rc;
}
