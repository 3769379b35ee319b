/*
 * binary.c - reading and writing the binary trace form (binary.h), and the
 * conversion from any readable trace (tr_convert).
 */
#include "binary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static void put_u32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static void put_u64(unsigned char *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }
static uint32_t get_u32(const unsigned char *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get_u64(const unsigned char *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

bool pmt_sniff(const char *path)
{
    FILE *f = fopen(path, "rb");
    char m[8];
    bool yes = f && fread(m, 1, 8, f) == 8 && memcmp(m, PMT_MAGIC, 8) == 0;
    if (f)
        fclose(f);
    return yes;
}

static size_t header_size(uint32_t srclen) { return (8 + 4 + 4 + 8 + 4 + srclen + 7) / 8 * 8; }

int pmt_open(pmt_file *p, const char *path, tr_error *err)
{
    memset(p, 0, sizeof *p);
    p->f = fopen(path, "rb");
    if (!p->f) {
        tr_error_set(err, path, 0, 0, "cannot open: %s", strerror(errno));
        return TR_EIO;
    }
    unsigned char h[28];
    if (fread(h, 1, 28, p->f) != 28 || memcmp(h, PMT_MAGIC, 8) != 0 || get_u32(h + 8) != PMT_VERSION)
        goto damaged;
    p->hdr.version = TR_FORMAT_VERSION;
    p->hdr.threads = get_u32(h + 12);
    p->events = get_u64(h + 16);
    uint32_t srclen = get_u32(h + 24);
    if (p->hdr.threads == 0 || p->hdr.threads > TR_MAX_THREADS || srclen >= sizeof p->hdr.source)
        goto damaged;
    if (fseeko(p->f, 0, SEEK_END) != 0)
        goto damaged;
    uint64_t size = (uint64_t)ftello(p->f), hsz = header_size(srclen);
    if (p->events > (UINT64_MAX - hsz - 16) / PMT_RECORD || size != hsz + p->events * PMT_RECORD + 16)
        goto damaged;
    /* Checksum over everything before the trailer. */
    rewind(p->f);
    uLong crc = crc32(0, Z_NULL, 0);
    uint64_t left = size - 16;
    while (left) {
        size_t n = left < sizeof p->buf ? (size_t)left : sizeof p->buf;
        if (fread(p->buf, 1, n, p->f) != n)
            goto damaged;
        crc = crc32(crc, p->buf, (uInt)n);
        left -= n;
    }
    unsigned char t[16];
    if (fread(t, 1, 16, p->f) != 16 || get_u32(t) != (uint32_t)crc || memcmp(t + 8, PMT_END, 8) != 0)
        goto damaged;
    if (fseeko(p->f, 28, SEEK_SET) != 0 || fread(p->hdr.source, 1, srclen, p->f) != srclen)
        goto damaged;
    p->hdr.source[srclen] = '\0';
    if (fseeko(p->f, (off_t)hsz, SEEK_SET) != 0)
        goto damaged;
    return 0;
damaged:
    tr_error_set(err, path, 0, 0, "not a valid binary trace (truncated, damaged, or another format)");
    fclose(p->f);
    p->f = NULL;
    return TR_ESYNTAX;
}

int pmt_next(pmt_file *p, tr_event *e, tr_error *err, const char *name)
{
    if (p->next == p->events)
        return 0;
    if (p->pos == p->have) {
        uint64_t left = (p->events - p->next) * PMT_RECORD;
        size_t n = left < sizeof p->buf ? (size_t)left : sizeof p->buf;
        if (fread(p->buf, 1, n, p->f) != n) {
            tr_error_set(err, name, 0, 0, "read error");
            return TR_EIO;
        }
        p->have = n;
        p->pos = 0;
    }
    const unsigned char *r = p->buf + p->pos;
    p->pos += PMT_RECORD;
    p->next++;
    char msg[256];
    if (pmt_decode(r, p->hdr.threads, e, msg, sizeof msg) != 0) {
        tr_error_set(err, name, 0, 0, "record %llu: %s", (unsigned long long)p->next, msg);
        return TR_ESYNTAX;
    }
    return 1;
}

/* Which fields each op carries (bit per field, as the JSON reader's keys);
 * the others must be zero, as the writer leaves them. */
enum { F_ID = 1, F_NEW_ID = 2, F_SIZE = 4, F_OFFSET = 8, F_LEN = 16, F_ALIGN = 32 };
static const unsigned pmt_fields[TR_OPS] = {
    [TR_ALLOC] = F_ID | F_SIZE | F_ALIGN,
    [TR_FREE] = F_ID,
    [TR_REALLOC] = F_ID | F_NEW_ID | F_SIZE | F_ALIGN,
    [TR_WRITE] = F_ID | F_OFFSET | F_LEN,
    [TR_READ] = F_ID | F_OFFSET | F_LEN,
};

int pmt_decode(const unsigned char *r, uint32_t threads, tr_event *e, char *msg, size_t len)
{
    memset(e, 0, sizeof *e);
    if (r[0] >= TR_OPS) {
        snprintf(msg, len, "unknown op %u (expected 0 to %d: alloc, free, realloc, write, read)", r[0], TR_OPS - 1);
        return TR_ESYNTAX;
    }
    if (r[1] || r[2] || r[3]) {
        snprintf(msg, len, "reserved bytes 1 to 3 are not zero");
        return TR_ESYNTAX;
    }
    e->op = (tr_op)r[0];
    e->thread = get_u32(r + 4);
    /* The JSON reader's ranges (event_json.c), field by field. */
    static const struct { const char *name; unsigned bit; int at; uint64_t max; } f[] = {
        {"id", F_ID, 8, UINT64_MAX >> 1},        {"new_id", F_NEW_ID, 16, UINT64_MAX >> 1},
        {"size", F_SIZE, 24, TR_MAX_SIZE},       {"offset", F_OFFSET, 32, TR_MAX_SIZE},
        {"len", F_LEN, 40, TR_MAX_SIZE},         {"align", F_ALIGN, 48, (uint64_t)1 << 30},
    };
    uint64_t *dest[] = {&e->id, &e->new_id, &e->size, &e->offset, &e->len, &e->align};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        uint64_t v = get_u64(r + f[i].at);
        if (v && !(pmt_fields[e->op] & f[i].bit)) {
            snprintf(msg, len, "a %s event has no \"%s\" (got %llu; must be 0)", tr_op_name(e->op), f[i].name,
                     (unsigned long long)v);
            return TR_ESYNTAX;
        }
        if (v > f[i].max) {
            snprintf(msg, len, "\"%s\" is absurdly large (%llu; at most %llu)", f[i].name, (unsigned long long)v,
                     (unsigned long long)f[i].max);
            return TR_ESYNTAX;
        }
        *dest[i] = v;
    }
    if (e->align & (e->align - 1)) {
        snprintf(msg, len, "\"align\" must be a power of two (got %llu)", (unsigned long long)e->align);
        return TR_ESYNTAX;
    }
    if (e->thread >= threads) {
        snprintf(msg, len, "\"thread\" %u is not below the header's \"threads\" %u", e->thread, threads);
        return TR_ESYNTAX;
    }
    return 0;
}

void pmt_close(pmt_file *p)
{
    if (p->f)
        fclose(p->f);
    p->f = NULL;
}

/* ---- conversion --------------------------------------------------------------- */

int tr_convert(const char *in, const char *out, uint64_t *events, tr_error *err)
{
    tr_reader *r;
    int rc = tr_reader_open(&r, in, err);
    if (rc)
        return rc;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    FILE *f = fopen(tmp, "w+b");
    if (!f) {
        tr_error_set(err, out, 0, 0, "cannot create: %s", strerror(errno));
        tr_reader_close(r);
        return TR_EIO;
    }
    const tr_header *h = tr_reader_header(r);
    uint32_t srclen = (uint32_t)strlen(h->source);
    size_t hsz = header_size(srclen);
    unsigned char *hb = calloc(1, hsz);
    memcpy(hb, PMT_MAGIC, 8);
    put_u32(hb + 8, PMT_VERSION);
    put_u32(hb + 12, h->threads);
    put_u32(hb + 24, srclen);
    memcpy(hb + 28, h->source, srclen);
    bool ok = fwrite(hb, 1, hsz, f) == hsz;     /* event count patched at the end */
    tr_event e;
    tr_obj *o, *old;
    uint64_t n = 0;
    unsigned char rec[PMT_RECORD];
    while (ok && (rc = tr_reader_next(r, &e, &o, &old, err)) == 1) {
        memset(rec, 0, sizeof rec);
        rec[0] = (unsigned char)e.op;
        put_u32(rec + 4, e.thread);
        put_u64(rec + 8, e.id);
        put_u64(rec + 16, e.new_id);
        put_u64(rec + 24, e.size);
        put_u64(rec + 32, e.offset);
        put_u64(rec + 40, e.len);
        put_u64(rec + 48, e.align);
        ok = fwrite(rec, 1, PMT_RECORD, f) == PMT_RECORD;
        if (e.op == TR_FREE)
            tr_reader_release(r, o);
        if (old)
            tr_reader_release(r, old);
        n++;
    }
    tr_reader_close(r);
    if (rc < 0 || !ok) {
        free(hb);
        fclose(f);
        unlink(tmp);
        if (!ok)
            tr_error_set(err, out, 0, 0, "write failed");
        return rc < 0 ? rc : TR_EIO;
    }
    /* Patch the count, then checksum what was written. */
    put_u64(hb + 16, n);
    ok = fseeko(f, 0, SEEK_SET) == 0 && fwrite(hb, 1, hsz, f) == hsz && fflush(f) == 0;
    free(hb);
    uLong crc = crc32(0, Z_NULL, 0);
    unsigned char buf[1 << 16];
    ok = ok && fseeko(f, 0, SEEK_SET) == 0;
    uint64_t left = hsz + n * PMT_RECORD;
    while (ok && left) {
        size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
        ok = fread(buf, 1, k, f) == k;
        crc = crc32(crc, buf, (uInt)k);
        left -= k;
    }
    unsigned char t[16] = {0};
    put_u32(t, (uint32_t)crc);
    memcpy(t + 8, PMT_END, 8);
    ok = ok && fseeko(f, 0, SEEK_END) == 0 && fwrite(t, 1, 16, f) == 16;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, out) != 0) {
        unlink(tmp);
        tr_error_set(err, out, 0, 0, "write failed");
        return TR_EIO;
    }
    if (events)
        *events = n;
    return 0;
}
