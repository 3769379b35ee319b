/*
 * trace.h - allocation traces: the event model, a writer, a streaming
 * reader, and the replay engine's entry points.
 *
 * A trace is JSON Lines (traces/FORMAT.md): a header line
 *   {"format":"pmarena-trace","version":1,"threads":N,"source":"..."}
 * then one event per line, e.g. {"op":"alloc","id":7,"size":48,"thread":1}.
 * Files ending in .gz are gzip-compressed, read and written transparently.
 * A small trace may instead be one JSON document {"events":[...]}.
 *
 * Errors: functions return 0 or a negative TR_E* code and fill a tr_error
 * naming the file, line and column (column 0 when it is the event as a whole
 * that is wrong) and what was expected.
 */
#ifndef PMARENA_TRACE_H
#define PMARENA_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TR_OK = 0,
    TR_EIO = -201,        /* cannot open, read or write the file */
    TR_ESYNTAX = -202,    /* not JSON, or JSON of the wrong shape */
    TR_ESEMANTIC = -203,  /* well-formed, but impossible (unknown id, double free, ...) */
    TR_ENOMEM = -204,
    TR_EREPLAY = -205,    /* the allocator or device failed during replay */
};

#define TR_FORMAT_VERSION 1
#define TR_MAX_THREADS 1024
#define TR_MAX_SIZE ((uint64_t)1 << 40)     /* sizes above 1 TiB are absurd */
/* The longest JSON line a reader takes, terminator not counted (1 MiB, far
 * above any event's ~100 bytes): a longer one is an error, so a line without
 * a newline (a gzip bomb of one character) cannot take memory without bound. */
#define TR_MAX_LINE ((size_t)1 << 20)

typedef enum tr_op { TR_ALLOC = 0, TR_FREE, TR_REALLOC, TR_WRITE, TR_READ, TR_OPS } tr_op;

typedef struct tr_event {
    tr_op op;
    uint32_t thread;
    uint64_t id;          /* alloc, free, write, read: the object; realloc: the old one */
    uint64_t new_id;      /* realloc */
    uint64_t size;        /* alloc; realloc: the new size */
    uint64_t offset, len; /* write, read */
    uint64_t align;       /* alloc, realloc: 0, or the alignment asked for */
} tr_event;

typedef struct tr_header {
    uint32_t version;
    uint32_t threads;
    char source[512];     /* free text: where the trace came from; may be empty */
} tr_header;

typedef struct tr_error {
    char file[512];
    uint64_t line;        /* 1-based; 0 when not tied to a line */
    uint64_t column;      /* 1-based; 0 when not tied to a column */
    char msg[512];
} tr_error;

const char *tr_op_name(tr_op op);
/* "FILE:LINE:COLUMN: MSG" (LINE and COLUMN left out when 0). */
void tr_error_format(const tr_error *e, char *buf, size_t len);
void tr_error_set(tr_error *e, const char *file, uint64_t line, uint64_t column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- writer --------------------------------------------------------------- */

typedef struct tr_writer tr_writer;

/* Writes to PATH.tmp.PID and renames it to PATH on tr_writer_close, so a
 * reader never sees half a file. ".gz" paths are gzip-compressed. */
int tr_writer_open(tr_writer **w, const char *path, const tr_header *hdr, tr_error *err);
int tr_writer_event(tr_writer *w, const tr_event *e);
/* Finishes and renames; on failure (or when abandon is true) removes the temp file. */
int tr_writer_close(tr_writer *w, bool abandon, tr_error *err);

/* One event as its JSON line (no newline), into buf; returns the length or
 * a negative code. Used by the writer and by tools that stream events. */
int tr_event_to_json(const tr_event *e, char *buf, size_t len);

/* ---- reader --------------------------------------------------------------- */

/* A live object of the trace. The reader owns the id map; records stay where
 * they are until released, so a replay can keep its pointer in `user` and
 * threads can wait on `done`. */
typedef struct tr_obj {
    uint64_t id, size;
    void *user;                  /* the replay's allocation */
    uint64_t issued;             /* events handed out on this object so far */
    _Atomic uint64_t done;       /* events finished on it (concurrent replay) */
    uint64_t link;               /* the replay's link-table entry (device offset; 0: none) */
} tr_obj;

typedef struct tr_reader tr_reader;

/* Opens a JSON Lines trace (plain or gzip, found by content) or a JSON
 * document with an "events" array. */
int tr_reader_open(tr_reader **r, const char *path, tr_error *err);
/* Reads events from an in-memory array of event objects (inline traces);
 * `name` stands for the file in messages. The array is borrowed. */
struct json_t;
int tr_reader_open_json(tr_reader **r, const struct json_t *events, const char *name, tr_error *err);
const tr_header *tr_reader_header(const tr_reader *r);
/* Next event: 1, 0 at the end, or a negative TR_E* code with err filled.
 * Checks it against the live objects (unknown ids, double frees, writes past
 * the object, ...). *obj is the event's object (for realloc, the new one;
 * *old then is the old one). A freed object (free, and realloc's old) is out
 * of the map but stays valid until tr_reader_release. */
int tr_reader_next(tr_reader *r, tr_event *e, tr_obj **obj, tr_obj **old, tr_error *err);
void tr_reader_release(tr_reader *r, tr_obj *o);
uint64_t tr_reader_line(const tr_reader *r);
const char *tr_reader_name(const tr_reader *r);      /* line (or event index) of the last event */
uint64_t tr_reader_live_objects(const tr_reader *r);
uint64_t tr_reader_live_bytes(const tr_reader *r);
uint64_t tr_reader_peak_live_bytes(const tr_reader *r);
uint64_t tr_reader_bytes_read(const tr_reader *r); /* compressed bytes consumed, for progress */
void tr_reader_close(tr_reader *r);

/* The binary form (traces/binary.h): converts any readable trace to OUT
 * (atomically); *events gets the count. */
int tr_convert(const char *in, const char *out, uint64_t *events, tr_error *err);
/* Opens `path` through a cache of binary forms in cache_dir, keyed by the
 * source file's content (length, CRC-32 and Adler-32 of its bytes), so a trace
 * replayed many times is parsed once and a changed file is never read stale. */
int tr_reader_open_cached(tr_reader **r, const char *path, const char *cache_dir, tr_error *err);

#ifdef __cplusplus
}
#endif
#endif
