/*
 * record_convert.c - turns one raw file of the allocation recorder
 * (libpmarena-record.so, traces/record/; the format is in
 * traces/record/record.h) into an allocation trace, for `pmarena record`.
 *
 * Conversion of one raw file takes two passes. The first checks the records
 * and numbers the OS thread ids 0,1,2,... in order of first appearance (the
 * header, written first, needs their count). The second keeps a map from live
 * addresses to object ids, assigned in allocation order from 1 and never
 * reused in the file, and writes one event per record:
 *   malloc, calloc (size = the product), memalign family (with "align"),
 *   realloc(NULL, n)                   -> alloc
 *   free(p), realloc(p, 0) that freed p -> free (free(NULL) is never logged)
 *   realloc(p, n)                       -> realloc (old id, new id, size)
 *   epoch (an exec: a new image)        -> nothing; the address map is
 *                                          dropped, the old image's objects are gone
 * A free or realloc of an address not in the map (allocated before the
 * library started, e.g. by ld.so, or inherited across fork) is skipped and
 * counted; such a realloc still yields an alloc of the new block. An alloc at
 * an address that is still live (the C library freed the old block behind our
 * back) first frees the stale id, so the replayed live set stays right. The
 * output never contains an address: traces are the same whatever the ASLR.
 *
 * This is main-library code: the preloaded library itself (the .c files of
 * traces/record/) is built apart, plain libc; only its two headers are shared.
 */
#include "pmarena/record.h"
#include "record/map.h"
#include "record/record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* snprintf for messages, where cutting a long path short is fine. */
__attribute__((format(printf, 3, 4))) static void msgf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- reading a raw file ------------------------------------------------------- */

typedef struct raw_reader {
    FILE *f;
    const char *path;
    size_t n, i;          /* buf[i..n) not yet returned */
    uint64_t index;       /* records returned so far */
    bool partial;         /* the file ends in part of a record */
    tr_raw_rec buf[1024];
} raw_reader;

static int raw_open(raw_reader *r, const char *path, char *err, size_t errlen)
{
    *r = (raw_reader){.path = path};
    r->f = fopen(path, "rb");
    if (!r->f) {
        msgf(err, errlen, "%s: %s", path, strerror(errno));
        return TR_EIO;
    }
    return 0;
}

/* 1 and the next record, 0 at the end, or a negative code. */
static int raw_next(raw_reader *r, tr_raw_rec *out, char *err, size_t errlen)
{
    if (r->i == r->n) {
        size_t bytes = fread(r->buf, 1, sizeof r->buf, r->f);
        if (ferror(r->f)) {
            msgf(err, errlen, "%s: read error", r->path);
            return TR_EIO;
        }
        r->n = bytes / sizeof r->buf[0];
        r->i = 0;
        if (bytes % sizeof r->buf[0])
            r->partial = true;    /* only the last read can be short */
        if (!r->n)
            return 0;
    }
    *out = r->buf[r->i++];
    uint64_t at = r->index++;
    if (out->op == TR_RAW_EPOCH ? out->addr != TR_RAW_MAGIC || out->size != sizeof *out
                                : at == 0 || out->op >= TR_RAW_OPS || out->op < TR_RAW_EPOCH) {
        msgf(err, errlen, "%s: record %llu: %s", r->path, (unsigned long long)at,
             at == 0 ? "not a pmarena raw file (no epoch record first)" : "corrupt record");
        return TR_ESYNTAX;
    }
    return 1;
}

static void raw_close(raw_reader *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
}

/* ---- converting one raw file ---------------------------------------------------- */

typedef struct conv {
    tr_writer *w;
    tr_map live;         /* address -> object id */
    tr_map threads;      /* OS tid -> logical thread + 1 */
    uint64_t next_id;
    tr_record_stats *st;
} conv;

static int emit(conv *c, tr_event *e)
{
    int rc = tr_writer_event(c->w, e);
    if (rc != 0)
        return rc;
    c->st->events++;
    if (e->op == TR_ALLOC)
        c->st->allocs++;
    else if (e->op == TR_FREE)
        c->st->frees++;
    else
        c->st->reallocs++;
    return 0;
}

/* The id now living at addr is gone (the allocator handed addr out again). */
static int drop_stale(conv *c, uint64_t addr, uint32_t thread)
{
    uint64_t id = tr_map_get(&c->live, addr);
    if (!id)
        return 0;
    tr_map_del(&c->live, addr);
    c->st->stale++;
    tr_event e = {.op = TR_FREE, .thread = thread, .id = id};
    return emit(c, &e);
}

static int conv_alloc(conv *c, uint64_t addr, uint64_t size, uint64_t align, uint32_t thread)
{
    if (size > TR_MAX_SIZE) {
        c->st->dropped++;
        return 0;
    }
    int rc = drop_stale(c, addr, thread);
    if (rc == 0)
        rc = tr_map_put(&c->live, addr, ++c->next_id);
    tr_event e = {.op = TR_ALLOC, .thread = thread, .id = c->next_id, .size = size, .align = align};
    return rc ? rc : emit(c, &e);
}

static int conv_free(conv *c, uint64_t addr, uint32_t thread)
{
    uint64_t id = tr_map_get(&c->live, addr);
    if (!id) {
        c->st->skipped++;
        return 0;
    }
    tr_map_del(&c->live, addr);
    tr_event e = {.op = TR_FREE, .thread = thread, .id = id};
    return emit(c, &e);
}

static int conv_realloc(conv *c, const tr_raw_rec *r, uint32_t thread)
{
    if (!r->old)                                  /* realloc(NULL, n) */
        return r->addr ? conv_alloc(c, r->addr, r->size, 0, thread) : 0;
    if (!r->addr)                                 /* realloc(p, 0) freed p */
        return conv_free(c, r->old, thread);
    uint64_t old_id = tr_map_get(&c->live, r->old);
    if (!old_id) {
        c->st->skipped++;
        return conv_alloc(c, r->addr, r->size, 0, thread);
    }
    tr_map_del(&c->live, r->old);
    if (r->size > TR_MAX_SIZE) {
        c->st->dropped++;
        tr_event f = {.op = TR_FREE, .thread = thread, .id = old_id};
        return emit(c, &f);
    }
    int rc = drop_stale(c, r->addr, thread);
    if (rc == 0)
        rc = tr_map_put(&c->live, r->addr, ++c->next_id);
    tr_event e = {.op = TR_REALLOC, .thread = thread, .id = old_id, .new_id = c->next_id,
                  .size = r->size};
    return rc ? rc : emit(c, &e);
}

static uint32_t thread_of(conv *c, uint32_t tid)
{
    uint64_t v = tr_map_get(&c->threads, tid);
    return v ? (uint32_t)((v - 1) % TR_MAX_THREADS) : 0;
}

/* Pass 1: checks every record and numbers the threads. */
static int scan_threads(conv *c, const char *raw, char *err, size_t errlen)
{
    raw_reader *r = malloc(sizeof *r);
    if (!r)
        return TR_ENOMEM;
    int rc = raw_open(r, raw, err, errlen);
    tr_raw_rec rec;
    while (rc == 0 && (rc = raw_next(r, &rec, err, errlen)) == 1) {
        rc = 0;
        if (rec.op != TR_RAW_EPOCH && !tr_map_get(&c->threads, rec.tid))
            rc = tr_map_put(&c->threads, rec.tid, c->threads.n + 1);
    }
    c->st->partial = r->partial;
    raw_close(r);
    free(r);
    return rc;
}

/* Pass 2: writes the events. */
static int write_events(conv *c, const char *raw, char *err, size_t errlen)
{
    raw_reader *r = malloc(sizeof *r);
    if (!r)
        return TR_ENOMEM;
    int rc = raw_open(r, raw, err, errlen);
    tr_raw_rec rec;
    while (rc == 0 && (rc = raw_next(r, &rec, err, errlen)) == 1) {
        uint32_t t = thread_of(c, rec.tid);
        switch (rec.op) {
        case TR_RAW_EPOCH:
            tr_map_clear(&c->live);
            c->st->images++;
            rc = 0;
            break;
        case TR_RAW_MALLOC:
        case TR_RAW_CALLOC:
            rc = conv_alloc(c, rec.addr, rec.size, 0, t);
            break;
        case TR_RAW_MEMALIGN:
        case TR_RAW_VALLOC:
        case TR_RAW_PVALLOC:
            rc = conv_alloc(c, rec.addr, rec.size, rec.align, t);
            break;
        case TR_RAW_FREE:
            rc = conv_free(c, rec.addr, t);
            break;
        default:
            rc = conv_realloc(c, &rec, t);
            break;
        }
        if (rc < 0 && !err[0])
            msgf(err, errlen, "%s: cannot write the trace (%s)", raw,
                 rc == TR_ENOMEM ? "out of memory" : "disk full?");
    }
    raw_close(r);
    free(r);
    return rc;
}

int tr_record_convert(const char *raw, const char *out, const char *source, tr_record_stats *st, char *err,
                      size_t errlen)
{
    conv c = {.st = st};
    *st = (tr_record_stats){0};
    err[0] = '\0';
    int rc = scan_threads(&c, raw, err, errlen);
    if (rc == 0) {
        st->threads = (uint32_t)(c.threads.n < TR_MAX_THREADS ? c.threads.n : TR_MAX_THREADS);
        st->threads += !st->threads;  /* the header's count: a trace has at least one */
        st->os_threads = c.threads.n;
        tr_header h = {.version = TR_FORMAT_VERSION, .threads = st->threads};
        snprintf(h.source, sizeof h.source, "%s", source);
        tr_error te = {0};
        rc = tr_writer_open(&c.w, out, &h, &te);
        if (rc != 0)
            tr_error_format(&te, err, errlen);
    }
    if (rc == 0)
        rc = write_events(&c, raw, err, errlen);
    if (c.w) {
        tr_error te = {0};
        int crc = tr_writer_close(c.w, rc != 0, &te);
        if (rc == 0 && crc != 0) {
            rc = crc;
            tr_error_format(&te, err, errlen);
        }
    }
    tr_map_free(&c.live);
    tr_map_free(&c.threads);
    return rc;
}
