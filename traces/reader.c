/*
 * reader.c - the streaming trace reader: JSON Lines (plain or gzip, told by
 * content through zlib), a JSON document with an "events" array, or an
 * in-memory array (inline traces in configs). Memory is bounded by the live
 * objects, never by the trace's length: lines are read one at a time and the
 * only state kept is the id map of live objects.
 *
 * Every event is checked twice: its JSON (event_json.c), then its meaning
 * against the live objects: an id allocated while live, a free, realloc,
 * write or read of an id that is not live (never allocated, or already
 * freed), a write or read past the object's end. Errors name the file, the
 * line and, for JSON syntax, the column (from Jansson).
 */
#include "pmarena/trace.h"
#include "binary.h"
#include "event_json.h"
#include "idmap.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

struct tr_reader {
    char name[512];
    tr_header hdr;
    /* JSON Lines source */
    gzFile gz;
    char *buf;
    size_t cap, len, pos;         /* buffered bytes [pos, len) */
    bool eof;
    /* binary source */
    pmt_file *bin;
    /* array source (document or inline) */
    json_t *doc;                  /* owned (document) or NULL */
    const json_t *events;
    size_t next_index;
    uint64_t line;
    tr_idmap live;
    uint64_t live_bytes, peak_live_bytes;
};

/* ---- lines ------------------------------------------------------------------ */

/* The next line without its terminator (and a CR before it), or NULL at the
 * end. The pointer is valid until the next call. The buffer is allocated
 * once, TR_MAX_LINE plus room for a read: a longer line is TR_ESYNTAX in
 * *io_err (report it with line_too_long), never a bigger buffer. */
#define LINE_BUF (TR_MAX_LINE + 2 + (1u << 16))   /* a line, its CR LF, a read */

static char *next_line(tr_reader *r, size_t *n, int *io_err)
{
    for (;;) {
        char *start = r->buf + r->pos;
        char *nl = memchr(start, '\n', r->len - r->pos);
        if (nl || (r->eof && r->pos < r->len)) {
            size_t l = nl ? (size_t)(nl - start) : r->len - r->pos;
            size_t whole = l + (nl ? 1 : 0);
            if (l && start[l - 1] == '\r')
                l--;
            if (l > TR_MAX_LINE) {
                *io_err = TR_ESYNTAX;
                return NULL;
            }
            r->pos += whole;
            start[l] = '\0';
            *n = l;
            r->line++;
            return start;
        }
        if (r->eof)
            return NULL;
        memmove(r->buf, start, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
        if (r->len >= TR_MAX_LINE + 2) {   /* no newline yet, CR or not: too long */
            *io_err = TR_ESYNTAX;
            return NULL;
        }
        int got = gzread(r->gz, r->buf + r->len, (unsigned)(r->cap - r->len - 1));
        if (got < 0) {
            *io_err = TR_EIO;
            return NULL;
        }
        if (got == 0)
            r->eof = true;
        r->len += (size_t)got;
    }
}

/* The error for next_line's TR_ESYNTAX: the line it was reading. */
static void line_too_long(tr_reader *r, tr_error *err)
{
    tr_error_set(err, r->name, r->line + 1, 0, "line longer than %zu bytes (1 MiB), the limit for one "
                 "JSON line (traces/FORMAT.md)", TR_MAX_LINE);
}

/* Does the buffered text start (after blanks) with '{'? */
static bool starts_object(const tr_reader *r)
{
    size_t i = r->pos;
    while (i < r->len && strchr(" \t\r\n", r->buf[i]))
        i++;
    return i < r->len && r->buf[i] == '{';
}

/* ---- header ----------------------------------------------------------------- */

static int read_header(tr_reader *r, const json_t *h, tr_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)h, k, v) {
        if (strcmp(k, "format") && strcmp(k, "version") && strcmp(k, "threads") && strcmp(k, "source") &&
            strcmp(k, "events")) {
            tr_error_set(err, r->name, r->line, 0, "header: unexpected key \"%.40s\" (expected format, "
                         "version, threads, source)", k);
            return TR_ESYNTAX;
        }
    }
    json_t *f = json_object_get(h, "format"), *ver = json_object_get(h, "version");
    json_t *th = json_object_get(h, "threads"), *src = json_object_get(h, "source");
    bool doc = json_object_get(h, "events") != NULL;
    if (!doc || f) {
        if (!json_is_string(f) || strcmp(json_string_value(f), "pmarena-trace") != 0) {
            tr_error_set(err, r->name, r->line, 0, "expected the header line "
                         "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":N}");
            return TR_ESYNTAX;
        }
    }
    if ((!doc || ver) && (!json_is_integer(ver) || json_integer_value(ver) != TR_FORMAT_VERSION)) {
        tr_error_set(err, r->name, r->line, 0, "header: \"version\" must be %d", TR_FORMAT_VERSION);
        return TR_ESYNTAX;
    }
    r->hdr.version = TR_FORMAT_VERSION;
    r->hdr.threads = doc ? TR_MAX_THREADS : 1;
    if (th || !doc) {
        if (!json_is_integer(th) || json_integer_value(th) < 1 || json_integer_value(th) > TR_MAX_THREADS) {
            tr_error_set(err, r->name, r->line, 0, "header: \"threads\" must be an integer from 1 to %d",
                         TR_MAX_THREADS);
            return TR_ESYNTAX;
        }
        r->hdr.threads = (uint32_t)json_integer_value(th);
    }
    if (src) {
        if (!json_is_string(src)) {
            tr_error_set(err, r->name, r->line, 0, "header: \"source\" must be a string");
            return TR_ESYNTAX;
        }
        snprintf(r->hdr.source, sizeof r->hdr.source, "%s", json_string_value(src));
    }
    return 0;
}

static tr_reader *reader_new(const char *name)
{
    tr_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->name, sizeof r->name, "%s", name);
    if (tr_idmap_init(&r->live) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

/* In an array source the threads of a header-less document are those used. */
static uint32_t array_threads(const json_t *events)
{
    uint64_t max = 0;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        json_t *t = json_object_get(e, "thread");
        if (json_is_integer(t) && json_integer_value(t) >= 0 && (uint64_t)json_integer_value(t) > max)
            max = (uint64_t)json_integer_value(t);
    }
    return max < TR_MAX_THREADS ? (uint32_t)max + 1 : TR_MAX_THREADS;
}

int tr_reader_open_json(tr_reader **out, const json_t *events, const char *name, tr_error *err)
{
    *out = NULL;
    if (!json_is_array(events)) {
        tr_error_set(err, name, 0, 0, "expected an array of events");
        return TR_ESYNTAX;
    }
    tr_reader *r = reader_new(name);
    if (!r)
        return TR_ENOMEM;
    r->events = events;
    r->hdr.version = TR_FORMAT_VERSION;
    r->hdr.threads = array_threads(events);
    *out = r;
    return 0;
}

/* The whole file as one JSON document {"events": [...]}. */
static int open_document(tr_reader *r, const char *path, tr_error *err)
{
    json_error_t je;
    r->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!r->doc) {
        tr_error_set(err, path, (uint64_t)(je.line > 0 ? je.line : 1), (uint64_t)(je.column > 0 ? je.column : 1),
                     "not JSON: %s", je.text);
        return TR_ESYNTAX;
    }
    r->line = 1;
    if (!json_is_object(r->doc) || !json_is_array(json_object_get(r->doc, "events"))) {
        tr_error_set(err, path, 1, 0, "expected JSON Lines with a header, or a document {\"events\": [...]}");
        return TR_ESYNTAX;
    }
    int rc = read_header(r, r->doc, err);
    if (rc)
        return rc;
    r->events = json_object_get(r->doc, "events");
    if (!json_object_get(r->doc, "threads"))
        r->hdr.threads = array_threads(r->events);
    return 0;
}

int tr_reader_open(tr_reader **out, const char *path, tr_error *err)
{
    *out = NULL;
    tr_reader *r = reader_new(path);
    if (!r)
        return TR_ENOMEM;
    if (pmt_sniff(path)) {
        int rc = (r->bin = malloc(sizeof *r->bin)) ? pmt_open(r->bin, path, err) : TR_ENOMEM;
        if (rc) {
            free(r->bin);
            r->bin = NULL;
            tr_reader_close(r);
            return rc;
        }
        r->hdr = r->bin->hdr;
        *out = r;
        return 0;
    }
    r->gz = gzopen(path, "rb");
    r->cap = LINE_BUF;
    r->buf = malloc(r->cap);
    if (!r->gz || !r->buf) {
        tr_error_set(err, path, 0, 0, "cannot open: %s", r->gz ? "out of memory" : strerror(errno));
        tr_reader_close(r);
        return r->gz ? TR_ENOMEM : TR_EIO;
    }
    gzbuffer(r->gz, 1 << 16);
    size_t n;
    int io = 0;
    char *first = next_line(r, &n, &io);
    while (first && n == 0)
        first = next_line(r, &n, &io);
    /* A first line over the limit may be a one-line document {"events":
     * [...]} in a plain file, which open_document reads whole (as Jansson
     * reads any document); gzip is never a document, and anything else is a
     * JSON Lines file with a line too long. */
    bool doc_line = !first && io == TR_ESYNTAX && gzdirect(r->gz) && starts_object(r);
    if (!first && io == TR_ESYNTAX && !doc_line) {
        line_too_long(r, err);
    } else if (!first && !doc_line) {
        tr_error_set(err, path, 0, 0, io ? "read error" : "empty file: expected the header line "
                     "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":N}");
    }
    if (!first && !doc_line) {
        tr_reader_close(r);
        return io ? io : TR_ESYNTAX;
    }
    json_error_t je;
    json_t *h = first ? json_loadb(first, n, JSON_REJECT_DUPLICATES, &je) : NULL;
    int rc;
    if (h && json_is_object(h) && !json_object_get(h, "events")) {
        rc = read_header(r, h, err);
    } else {
        /* Not a header line: maybe a document spread over lines. */
        uint64_t line = r->line;
        gzclose(r->gz);
        r->gz = NULL;
        rc = open_document(r, path, err);
        if (rc && first && !h && err && err->line == 1 && line == 1)
            tr_error_set(err, path, 1, (uint64_t)(je.column > 0 ? je.column : 1), "not JSON: %s", je.text);
    }
    json_decref(h);
    if (rc) {
        tr_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

const tr_header *tr_reader_header(const tr_reader *r) { return &r->hdr; }
uint64_t tr_reader_line(const tr_reader *r) { return r->line; }
const char *tr_reader_name(const tr_reader *r) { return r->name; }
uint64_t tr_reader_live_objects(const tr_reader *r) { return r->live.count; }
uint64_t tr_reader_live_bytes(const tr_reader *r) { return r->live_bytes; }
uint64_t tr_reader_peak_live_bytes(const tr_reader *r) { return r->peak_live_bytes; }

uint64_t tr_reader_bytes_read(const tr_reader *r)
{
    return r->gz ? (uint64_t)gzoffset(r->gz) : 0;
}

/* ---- events ----------------------------------------------------------------- */

/* A semantic error at the current event, located as the source allows. */
__attribute__((format(printf, 3, 4)))
static int semantic(tr_reader *r, tr_error *err, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if ((r->events && !r->doc) || r->bin)
        tr_error_set(err, r->name, 0, 0, "event %llu: %s", (unsigned long long)r->line, msg);
    else if (r->events)
        tr_error_set(err, r->name, 0, 0, "events[%llu]: %s", (unsigned long long)r->line - 1, msg);
    else
        tr_error_set(err, r->name, r->line, 0, "%s", msg);
    return TR_ESEMANTIC;
}

static int new_object(tr_reader *r, uint64_t id, uint64_t size, tr_obj **out, tr_error *err)
{
    if (tr_idmap_get(&r->live, id))
        return semantic(r, err, "alloc of id %llu, which is already live", (unsigned long long)id);
    tr_obj *o = calloc(1, sizeof *o);
    if (!o || tr_idmap_put(&r->live, o ? (o->id = id, o->size = size, o) : o) != 0) {
        free(o);
        tr_error_set(err, r->name, r->line, 0, "out of memory");
        return TR_ENOMEM;
    }
    r->live_bytes += size;
    if (r->live_bytes > r->peak_live_bytes)
        r->peak_live_bytes = r->live_bytes;
    *out = o;
    return 0;
}

static tr_obj *drop_object(tr_reader *r, uint64_t id)
{
    tr_obj *o = tr_idmap_remove(&r->live, id);
    if (o)
        r->live_bytes -= o->size;
    return o;
}

/* The next event's JSON, from the lines or the array: 1, 0 at the end, or an error. */
static int next_json(tr_reader *r, json_t **out, tr_error *err)
{
    if (r->events) {
        if (r->next_index >= json_array_size(r->events))
            return 0;
        r->line = ++r->next_index;
        *out = json_incref(json_array_get(r->events, r->next_index - 1));
        return 1;
    }
    size_t n;
    int io = 0;
    char *s;
    do
        s = next_line(r, &n, &io);
    while (s && n == 0);
    if (!s) {
        if (io == TR_ESYNTAX)
            line_too_long(r, err);
        else if (io)
            tr_error_set(err, r->name, r->line, 0, "read error (truncated or corrupt gzip?)");
        return io;
    }
    json_error_t je;
    *out = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    if (!*out && json_error_code(&je) == json_error_out_of_memory) {
        /* Not the input's fault: a failure (exit 1), not bad input (exit 2). */
        tr_error_set(err, r->name, r->line, 0, "out of host memory while parsing this line");
        return TR_ENOMEM;
    }
    if (!*out) {
        tr_error_set(err, r->name, r->line, (uint64_t)(je.column > 0 ? je.column : 1), "not JSON: %s", je.text);
        return TR_ESYNTAX;
    }
    return 1;
}

int tr_reader_next(tr_reader *r, tr_event *e, tr_obj **obj, tr_obj **old, tr_error *err)
{
    int rc;
    char msg[256];
    if (r->bin) {
        if ((rc = pmt_next(r->bin, e, err, r->name)) <= 0)
            return rc;
        r->line++;
        rc = 0;
    } else {
        json_t *j = NULL;
        if ((rc = next_json(r, &j, err)) <= 0)
            return rc;
        rc = tr_event_from_json(j, r->hdr.threads, e, msg, sizeof msg);
        json_decref(j);
    }
    if (rc) {
        if (r->events && !r->doc)
            tr_error_set(err, r->name, 0, 0, "event %llu: %s", (unsigned long long)r->line, msg);
        else if (r->events)
            tr_error_set(err, r->name, 0, 0, "events[%llu]: %s", (unsigned long long)r->line - 1, msg);
        else
            tr_error_set(err, r->name, r->line, 0, "%s", msg);
        return rc;
    }
    *obj = NULL;
    if (old)
        *old = NULL;
    tr_obj *o;
    switch (e->op) {
    case TR_ALLOC:
        return (rc = new_object(r, e->id, e->size, obj, err)) ? rc : 1;
    case TR_FREE:
        if (!(o = drop_object(r, e->id)))
            return semantic(r, err, "free of id %llu, which is not live (never allocated, or already freed)",
                            (unsigned long long)e->id);
        *obj = o;
        return 1;
    case TR_REALLOC:
        if (!tr_idmap_get(&r->live, e->id))
            return semantic(r, err, "realloc of id %llu, which is not live (never allocated, or already freed)",
                            (unsigned long long)e->id);
        if (e->new_id != e->id && tr_idmap_get(&r->live, e->new_id))
            return semantic(r, err, "realloc to new_id %llu, which is already live",
                            (unsigned long long)e->new_id);
        o = drop_object(r, e->id);
        if ((rc = new_object(r, e->new_id, e->size, obj, err))) {
            tr_reader_release(r, o);
            return rc;
        }
        if (old)
            *old = o;
        else
            tr_reader_release(r, o);
        return 1;
    case TR_WRITE:
    case TR_READ:
        if (!(o = tr_idmap_get(&r->live, e->id)))
            return semantic(r, err, "%s of id %llu, which is not live (never allocated, or already freed)",
                            tr_op_name(e->op), (unsigned long long)e->id);
        if (e->offset > o->size || e->len > o->size - e->offset)
            return semantic(r, err, "%s of bytes [%llu, %llu) is beyond the object (id %llu, size %llu)",
                            tr_op_name(e->op), (unsigned long long)e->offset,
                            (unsigned long long)(e->offset + e->len), (unsigned long long)e->id,
                            (unsigned long long)o->size);
        *obj = o;
        return 1;
    default:
        return TR_ESYNTAX;
    }
}

/* ---- the binary cache --------------------------------------------------------- */

int tr_reader_open_cached(tr_reader **out, const char *path, const char *cache_dir, tr_error *err)
{
    *out = NULL;
    if (pmt_sniff(path))
        return tr_reader_open(out, path, err);
    FILE *f = fopen(path, "rb");
    if (!f) {
        tr_error_set(err, path, 0, 0, "cannot open: %s", strerror(errno));
        return TR_EIO;
    }
    static unsigned char buf[1 << 16];
    uLong crc = crc32(0, Z_NULL, 0), adler = adler32(0, Z_NULL, 0);
    uint64_t len = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = crc32(crc, buf, (uInt)n);
        adler = adler32(adler, buf, (uInt)n);
        len += n;
    }
    fclose(f);
    char cached[4096];
    snprintf(cached, sizeof cached, "%s/%016llx-%08lx%08lx.pmt", cache_dir, (unsigned long long)len,
             (unsigned long)crc, (unsigned long)adler);
    if (access(cached, R_OK) == 0 && tr_reader_open(out, cached, NULL) == 0) {
        snprintf((*out)->name, sizeof (*out)->name, "%s", path);
        return 0;
    }
    int rc = tr_convert(path, cached, NULL, err);
    if (rc)
        return rc;
    rc = tr_reader_open(out, cached, err);
    if (rc == 0)
        snprintf((*out)->name, sizeof (*out)->name, "%s", path);
    return rc;
}

void tr_reader_release(tr_reader *r, tr_obj *o)
{
    (void)r;
    free(o);
}

void tr_reader_close(tr_reader *r)
{
    if (!r)
        return;
    for (uint64_t i = 0; r->live.slot && i < r->live.cap; i++)
        free(r->live.slot[i]);
    tr_idmap_free(&r->live);
    if (r->gz)
        gzclose(r->gz);
    if (r->bin) {
        pmt_close(r->bin);
        free(r->bin);
    }
    json_decref(r->doc);
    free(r->buf);
    free(r);
}
