/*
 * cmd_convert.c - `pmarena convert IN OUT.pmt`: a trace to its compact binary
 * form (traces/binary.h), checked on the way. Sweeps do this on their own,
 * through a cache; this is for doing it by hand.
 */
#include "cmd.h"
#include "pmarena/trace.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char USAGE[] = "usage: pmarena convert IN.jsonl[.gz] OUT.pmt";

int cmd_convert(int argc, char **argv)
{
    static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    optind = 0;     /* glibc: start afresh */
    while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
        if (c != 'h') {
            fprintf(stderr, "%s (see --help)\n", USAGE);
            return EXIT_BADINPUT;
        }
        printf("%s\n"
               "Converts a trace to the binary form: fixed-size little-endian records, a\n"
               "versioned header and a CRC-32 trailer. Every event is checked as by validate.\n", USAGE);
        return EXIT_OK;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "%s (see --help)\n", USAGE);
        return EXIT_BADINPUT;
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    tr_error err = {0};
    uint64_t n = 0;
    int rc = tr_convert(in, out, &n, &err);
    if (rc) {
        char msg[1200];
        tr_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        return rc == TR_EIO || rc == TR_ENOMEM ? EXIT_FAIL : EXIT_BADINPUT;
    }
    fprintf(stderr, "%s: %llu events\n", out, (unsigned long long)n);
    return EXIT_OK;
}
