/*
 * cmd_convert.c - `pmarena convert IN OUT.pmt`: a trace to its compact binary
 * form (traces/binary.h), checked on the way. Sweeps do this on their own,
 * through a cache; this is for doing it by hand.
 */
#include "cmd.h"
#include "pmarena/trace.h"

#include <stdio.h>
#include <string.h>

int cmd_convert(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: pmarena convert IN.jsonl[.gz] OUT.pmt\n"
               "Converts a trace to the binary form: fixed-size little-endian records, a\n"
               "versioned header and a CRC-32 trailer. Every event is checked as by validate.\n");
        return EXIT_OK;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: pmarena convert IN.jsonl[.gz] OUT.pmt (see --help)\n");
        return EXIT_BADINPUT;
    }
    tr_error err = {0};
    uint64_t n = 0;
    int rc = tr_convert(argv[1], argv[2], &n, &err);
    if (rc) {
        char msg[1200];
        tr_error_format(&err, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        return rc == TR_EIO || rc == TR_ENOMEM ? EXIT_FAIL : EXIT_BADINPUT;
    }
    fprintf(stderr, "%s: %llu events\n", argv[2], (unsigned long long)n);
    return EXIT_OK;
}
