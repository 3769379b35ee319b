/*
 * record.h - recording the allocations of a real program as traces
 * (`pmarena record`; traces/record_run.c, traces/record_convert.c). The
 * program runs with the recorder library (libpmarena-record.so,
 * traces/record/, built apart) preloaded, which logs every allocation call
 * into raw files; these are then converted into one trace per process.
 * traces/RECORDING.md has the details.
 */
#ifndef PMARENA_RECORD_H
#define PMARENA_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmarena/trace.h"

/* Path buffers of the result (Linux's PATH_MAX, which <limits.h> gives only
 * under POSIX feature macros: an installed header must not need them). */
#define TR_RECORD_PATH_MAX 4096

#ifdef __cplusplus
extern "C" {
#endif

#define TR_RECORD_LIB_NAME "libpmarena-record.so"

/* tr_record_run's results, as exit statuses. */
enum { TR_RECORD_OK = 0, TR_RECORD_FAIL = 1, TR_RECORD_BADINPUT = 2 };

typedef struct tr_record_opts {
    const char *out;      /* the trace of the process started; others get ".<pid>" (tr_record_child_path) */
    bool keep_raw;        /* keep the raw files' folder */
    char **cmd;           /* the program and its arguments, NULL-terminated */
} tr_record_opts;

typedef struct tr_record_result {
    char status[128];               /* how the program ended, in words; "" when it did not run */
    char raw_dir[TR_RECORD_PATH_MAX];         /* the raw files' folder (removed unless keep_raw); "" none */
    char summary[TR_RECORD_PATH_MAX * 2 + 512];   /* the traces written, in one line; "" unless TR_RECORD_OK */
} tr_record_result;

/* Runs o->cmd under the recorder and converts what it logged: TR_RECORD_OK
 * when the traces are written (whatever the program's own status),
 * TR_RECORD_FAIL when recording or conversion failed, TR_RECORD_BADINPUT for
 * an unwritable OUT directory (checked before the run) or a program that
 * cannot be run. Errors and notes go to stderr as they happen. The library is
 * PMARENA_RECORD_LIB if set, else TR_RECORD_LIB_NAME next to the running
 * binary, in ../lib from it, or in $PREFIX/lib. */
int tr_record_run(const tr_record_opts *o, tr_record_result *res);

/* What converting one raw file produced. */
typedef struct tr_record_stats {
    uint64_t events, allocs, frees, reallocs;
    uint64_t skipped;     /* frees/reallocs of blocks never seen allocated */
    uint64_t stale;       /* live ids freed because their address came back */
    uint64_t images;      /* epoch records: 1 + the number of execs */
    uint64_t dropped;     /* allocations above TR_MAX_SIZE, left out */
    uint32_t threads;     /* the header's count (folded modulo TR_MAX_THREADS) */
    size_t os_threads;    /* OS threads seen */
    bool partial;         /* the file ended in part of a record (ignored) */
} tr_record_stats;

/* Converts the raw file `raw` into the trace `out` (gzip for .gz) with the
 * header's source `source`. 0, or a TR_E* code with the reason in err. */
int tr_record_convert(const char *raw, const char *out, const char *source, tr_record_stats *st, char *err,
                      size_t errlen);

/* OUT with "." TAG before ".jsonl" (a name without ".jsonl" gets it before a
 * final ".gz", else at the end): the trace of another process. */
void tr_record_child_path(char *buf, size_t len, const char *out, const char *tag);

#ifdef __cplusplus
}
#endif
#endif
