/*
 * writer.c - writing traces as JSON Lines (Jansson for every line), plain or
 * gzip-compressed (zlib), atomically: the file appears under its name only
 * once it is complete.
 */
#include "pmarena/trace.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

struct tr_writer {
    char path[4096], tmp[4200];
    FILE *f;
    gzFile gz;
    bool failed;
};

static const char *const op_names[TR_OPS] = {"alloc", "free", "realloc", "write", "read"};

const char *tr_op_name(tr_op op) { return (unsigned)op < TR_OPS ? op_names[op] : "?"; }

void tr_error_set(tr_error *e, const char *file, uint64_t line, uint64_t column, const char *fmt, ...)
{
    if (!e)
        return;
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    e->line = line;
    e->column = column;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

void tr_error_format(const tr_error *e, char *buf, size_t len)
{
    if (e->line && e->column)
        snprintf(buf, len, "%s:%llu:%llu: %s", e->file, (unsigned long long)e->line,
                 (unsigned long long)e->column, e->msg);
    else if (e->line)
        snprintf(buf, len, "%s:%llu: %s", e->file, (unsigned long long)e->line, e->msg);
    else if (e->file[0])
        snprintf(buf, len, "%s: %s", e->file, e->msg);
    else
        snprintf(buf, len, "%s", e->msg);   /* not about a file: no ": " prefix */
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int put_line(tr_writer *w, const char *s, size_t n)
{
    if (w->gz) {
        if (gzwrite(w->gz, s, (unsigned)n) != (int)n || gzputc(w->gz, '\n') != '\n')
            w->failed = true;
    } else if (fwrite(s, 1, n, w->f) != n || fputc('\n', w->f) == EOF) {
        w->failed = true;
    }
    return w->failed ? TR_EIO : 0;
}

static int put_json(tr_writer *w, json_t *o)
{
    char buf[1024];
    size_t n = json_dumpb(o, buf, sizeof buf, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (n == 0 || n > sizeof buf) {
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        int rc = s ? put_line(w, s, strlen(s)) : TR_ENOMEM;
        free(s);
        return rc;
    }
    return put_line(w, buf, n);
}

int tr_writer_open(tr_writer **out, const char *path, const tr_header *hdr, tr_error *err)
{
    *out = NULL;
    tr_writer *w = calloc(1, sizeof *w);
    if (!w)
        return TR_ENOMEM;
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", path, (long)getpid());
    if (ends_with(path, ".gz"))
        w->gz = gzopen(w->tmp, "wb6");
    else
        w->f = fopen(w->tmp, "w");
    if (!w->gz && !w->f) {
        tr_error_set(err, path, 0, 0, "cannot create: %s", strerror(errno));
        free(w);
        return TR_EIO;
    }
    json_t *h = json_pack("{s:s, s:i, s:i}", "format", "pmarena-trace", "version", TR_FORMAT_VERSION,
                          "threads", (int)(hdr && hdr->threads ? hdr->threads : 1));
    if (hdr && hdr->source[0])
        json_object_set_new(h, "source", json_string(hdr->source));
    put_json(w, h);
    json_decref(h);
    *out = w;
    return 0;
}

int tr_event_to_json(const tr_event *e, char *buf, size_t len)
{
    if ((unsigned)e->op >= TR_OPS)
        return TR_ESYNTAX;
    json_t *o = json_pack("{s:s, s:I}", "op", op_names[e->op], "id", (json_int_t)e->id);
    if (!o)
        return TR_ENOMEM;
    switch (e->op) {
    case TR_ALLOC:
        json_object_set_new(o, "size", json_integer((json_int_t)e->size));
        break;
    case TR_REALLOC:
        json_object_set_new(o, "new_id", json_integer((json_int_t)e->new_id));
        json_object_set_new(o, "size", json_integer((json_int_t)e->size));
        break;
    case TR_WRITE:
    case TR_READ:
        json_object_set_new(o, "offset", json_integer((json_int_t)e->offset));
        json_object_set_new(o, "len", json_integer((json_int_t)e->len));
        break;
    default:
        break;
    }
    if (e->align && (e->op == TR_ALLOC || e->op == TR_REALLOC))
        json_object_set_new(o, "align", json_integer((json_int_t)e->align));
    if (e->thread)
        json_object_set_new(o, "thread", json_integer((json_int_t)e->thread));
    size_t n = json_dumpb(o, buf, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (n == 0 || n >= len)
        return TR_ENOMEM;
    buf[n] = '\0';
    return (int)n;
}

int tr_writer_event(tr_writer *w, const tr_event *e)
{
    char buf[512];
    int n = tr_event_to_json(e, buf, sizeof buf);
    if (n < 0)
        return n;
    return put_line(w, buf, (size_t)n);
}

int tr_writer_close(tr_writer *w, bool abandon, tr_error *err)
{
    if (!w)
        return 0;
    bool failed = w->failed;
    if (w->gz)
        failed |= gzclose(w->gz) != Z_OK;
    else
        failed |= fclose(w->f) != 0;
    int rc = 0;
    if (failed || abandon) {
        unlink(w->tmp);
        if (failed) {
            tr_error_set(err, w->path, 0, 0, "write failed (disk full?)");
            rc = TR_EIO;
        }
    } else if (rename(w->tmp, w->path) != 0) {
        tr_error_set(err, w->path, 0, 0, "cannot rename into place: %s", strerror(errno));
        unlink(w->tmp);
        rc = TR_EIO;
    }
    free(w);
    return rc;
}
