/* test_trace_reader.c - the trace reader: round trip through the writer,
 * CRLF, gzip, the document and inline forms, and a corpus of broken traces
 * (bad JSON, wrong types, missing fields, unknown ids, double free, writes past
 * the object, truncated last line, huge numbers, empty file, binary garbage),
 * each refused with the right line, by the library and by `pmarena validate`
 * with exit status 2; .pmt files whose records break the same rules (with a
 * correct checksum) refused at the record. */
#include "testutil.h"
#include "pmarena/trace.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zlib.h>

static char dir[] = "/tmp/pmarena-trace-XXXXXX";

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void put_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(text, 1, len, f);
    fclose(f);
}

/* Reads a whole trace: 0 at a clean end, or the error (and its line). */
static int read_all(const char *path, uint64_t *events, tr_error *err)
{
    tr_reader *r;
    int rc = tr_reader_open(&r, path, err);
    *events = 0;
    if (rc)
        return rc;
    tr_event e;
    tr_obj *o;
    while ((rc = tr_reader_next(r, &e, &o, NULL, err)) == 1) {
        (*events)++;
        if (e.op == TR_FREE)
            tr_reader_release(r, o);
    }
    tr_reader_close(r);
    return rc;
}

START_TEST(round_trip_plain_and_gzip)
{
    const char *names[] = {"rt.jsonl", "rt.jsonl.gz"};
    for (int k = 0; k < 2; k++) {
        tr_header h = {.threads = 2};
        snprintf(h.source, sizeof h.source, "unit test");
        tr_writer *w;
        tr_error err;
        ck_assert_int_eq(tr_writer_open(&w, tmp_path(names[k]), &h, &err), 0);
        tr_event evs[] = {
            {.op = TR_ALLOC, .id = 1, .size = 48, .thread = 1},
            {.op = TR_ALLOC, .id = 2, .size = 100, .align = 64},
            {.op = TR_WRITE, .id = 1, .offset = 8, .len = 40},
            {.op = TR_READ, .id = 2, .offset = 0, .len = 100, .thread = 1},
            {.op = TR_REALLOC, .id = 1, .new_id = 3, .size = 4000},
            {.op = TR_FREE, .id = 2},
            {.op = TR_FREE, .id = 3, .thread = 1},
        };
        for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
            ck_assert_int_eq(tr_writer_event(w, &evs[i]), 0);
        ck_assert_int_eq(access(tmp_path(names[k]), F_OK), -1);   /* not there until closed */
        ck_assert_int_eq(tr_writer_close(w, false, &err), 0);
        tr_reader *r;
        ck_assert_int_eq(tr_reader_open(&r, tmp_path(names[k]), &err), 0);
        ck_assert_uint_eq(tr_reader_header(r)->threads, 2);
        ck_assert_str_eq(tr_reader_header(r)->source, "unit test");
        tr_event e;
        tr_obj *o, *old;
        for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
            ck_assert_int_eq(tr_reader_next(r, &e, &o, &old, &err), 1);
            ck_assert_int_eq(e.op, evs[i].op);
            ck_assert_uint_eq(e.id, evs[i].id);
            ck_assert_uint_eq(e.new_id, evs[i].new_id);
            ck_assert_uint_eq(e.size, evs[i].size);
            ck_assert_uint_eq(e.offset, evs[i].offset);
            ck_assert_uint_eq(e.len, evs[i].len);
            ck_assert_uint_eq(e.thread, evs[i].thread);
            ck_assert_uint_eq(e.align, evs[i].align);
            ck_assert_uint_eq(tr_reader_line(r), i + 2);
            if (e.op == TR_FREE)
                tr_reader_release(r, o);
            if (old)
                tr_reader_release(r, old);
        }
        ck_assert_int_eq(tr_reader_next(r, &e, &o, &old, &err), 0);
        ck_assert_uint_eq(tr_reader_peak_live_bytes(r), 4100);
        ck_assert_uint_eq(tr_reader_live_objects(r), 0);
        tr_reader_close(r);
    }
}
END_TEST

START_TEST(crlf_blank_lines_document_and_inline)
{
    const char crlf[] = "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\r\n\r\n"
                        "{\"op\":\"alloc\",\"id\":7,\"size\":48}\r\n{\"op\":\"free\",\"id\":7}\r\n";
    put_file(tmp_path("crlf.jsonl"), crlf, sizeof crlf - 1);
    uint64_t n;
    tr_error err;
    ck_assert_int_eq(read_all(tmp_path("crlf.jsonl"), &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    const char doc[] = "{\"events\": [\n {\"op\":\"alloc\",\"id\":1,\"size\":8,\"thread\":2},\n"
                       " {\"op\":\"free\",\"id\":1}\n]}\n";
    put_file(tmp_path("doc.json"), doc, sizeof doc - 1);
    ck_assert_int_eq(read_all(tmp_path("doc.json"), &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    json_t *arr = json_loads("[{\"op\":\"alloc\",\"id\":1,\"size\":8},{\"op\":\"free\",\"id\":9}]", 0, NULL);
    tr_reader *r;
    ck_assert_int_eq(tr_reader_open_json(&r, arr, "config.json", &err), 0);
    tr_event e;
    tr_obj *o;
    ck_assert_int_eq(tr_reader_next(r, &e, &o, NULL, &err), 1);
    ck_assert_int_eq(tr_reader_next(r, &e, &o, NULL, &err), TR_ESEMANTIC);
    ck_assert_str_eq(err.msg, "event 2: free of id 9, which is not live (never allocated, or already freed)");
    tr_reader_close(r);
    json_decref(arr);
}
END_TEST

#define HDR "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":2}\n"
#define A1 "{\"op\":\"alloc\",\"id\":1,\"size\":64}\n"

static const struct bad {
    const char *name, *text;
    int rc;
    uint64_t line;
    const char *msg_part;
} corpus[] = {
    {"badjson", HDR A1 "{\"op\":\"free\" \"id\":1}\n", TR_ESYNTAX, 3, "not JSON"},
    {"wrongtype", HDR "{\"op\":\"alloc\",\"id\":\"one\",\"size\":64}\n", TR_ESYNTAX, 2, "\"id\" must be a non-negative integer"},
    {"missing", HDR "{\"op\":\"alloc\",\"id\":1}\n", TR_ESYNTAX, 2, "needs \"size\""},
    {"unknownop", HDR "{\"op\":\"calloc\",\"id\":1,\"size\":4}\n", TR_ESYNTAX, 2, "unknown event"},
    {"unknownkey", HDR "{\"op\":\"free\",\"id\":1,\"size\":4}\n", TR_ESYNTAX, 2, "unexpected key \"size\""},
    {"unknownid", HDR A1 "{\"op\":\"free\",\"id\":2}\n", TR_ESEMANTIC, 3, "not live"},
    {"doublefree", HDR A1 "{\"op\":\"free\",\"id\":1}\n{\"op\":\"free\",\"id\":1}\n", TR_ESEMANTIC, 4, "not live"},
    {"twice", HDR A1 A1, TR_ESEMANTIC, 3, "already live"},
    {"beyond", HDR A1 "{\"op\":\"write\",\"id\":1,\"offset\":60,\"len\":8}\n", TR_ESEMANTIC, 3, "beyond the object"},
    {"writeunknown", HDR "{\"op\":\"write\",\"id\":5,\"offset\":0,\"len\":8}\n", TR_ESEMANTIC, 2, "not live"},
    {"truncated", HDR A1 "{\"op\":\"alloc\", \"id\": \n", TR_ESYNTAX, 3, "not JSON"},
    {"huge", HDR "{\"op\":\"alloc\",\"id\":1,\"size\":99999999999999999}\n", TR_ESYNTAX, 2, "absurdly large"},
    {"negative", HDR "{\"op\":\"alloc\",\"id\":1,\"size\":-5}\n", TR_ESYNTAX, 2, "negative"},
    {"thread", HDR "{\"op\":\"alloc\",\"id\":1,\"size\":5,\"thread\":2}\n", TR_ESYNTAX, 2, "not below"},
    {"noheader", A1, TR_ESYNTAX, 1, "header"},
    {"version", "{\"format\":\"pmarena-trace\",\"version\":2,\"threads\":1}\n", TR_ESYNTAX, 1, "version"},
    {"empty", "", TR_ESYNTAX, 0, "empty file"},
    {"notarray", HDR "[1,2]\n", TR_ESYNTAX, 2, "expected an event object"},
};

START_TEST(broken_traces_located)
{
    const struct bad *b = &corpus[_i];
    char name[64];
    snprintf(name, sizeof name, "%s.jsonl", b->name);
    put_file(tmp_path(name), b->text, strlen(b->text));
    uint64_t n;
    tr_error err = {0};
    int rc = read_all(tmp_path(name), &n, &err);
    ck_assert_msg(rc == b->rc, "%s: rc %d, want %d (%s)", b->name, rc, b->rc, err.msg);
    ck_assert_msg(err.line == b->line, "%s: line %llu, want %llu", b->name, (unsigned long long)err.line,
                  (unsigned long long)b->line);
    ck_assert_msg(strstr(err.msg, b->msg_part) != NULL, "%s: message \"%s\"", b->name, err.msg);
    /* And through the real binary: exit 2, message naming file and line. */
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s validate %s 2>%s >/dev/null", bin, tmp_path(name), tmp_path("stderr"));
    int st = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    FILE *f = fopen(tmp_path("stderr"), "r");
    char line[1200] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    char want[600];
    if (b->line)
        snprintf(want, sizeof want, "%s:%llu:", tmp_path(name), (unsigned long long)b->line);
    else
        snprintf(want, sizeof want, "%s:", tmp_path(name));
    ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "stderr: %s", line);
}
END_TEST

START_TEST(garbage_and_truncated_gzip)
{
    unsigned char junk[4096];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        junk[i] = (unsigned char)x;
    }
    put_file(tmp_path("junk.jsonl"), (const char *)junk, sizeof junk);
    uint64_t n;
    tr_error err;
    ck_assert_int_eq(read_all(tmp_path("junk.jsonl"), &n, &err), TR_ESYNTAX);
    ck_assert_uint_eq(err.line, 1);
    /* A gzip stream cut in the middle: an error, not a crash or silent end. */
    gzFile gz = gzopen(tmp_path("full.jsonl.gz"), "wb");
    gzputs(gz, HDR);
    for (int i = 1; i <= 20000; i++)
        gzprintf(gz, "{\"op\":\"alloc\",\"id\":%d,\"size\":%d}\n{\"op\":\"free\",\"id\":%d}\n", i, i % 500 + 1, i);
    gzclose(gz);
    FILE *f = fopen(tmp_path("full.jsonl.gz"), "rb");
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_int_eq(read_all(tmp_path("full.jsonl.gz"), &n, &err), 0);
    ck_assert_uint_eq(n, 40000);
    put_file(tmp_path("cut.jsonl.gz"), buf, len / 2);
    int rc = read_all(tmp_path("cut.jsonl.gz"), &n, &err);
    ck_assert_int_lt(rc, 0);
    ck_assert_uint_lt(n, 40000);
}
END_TEST

/* The binary form reads back the same events, refuses damage, and the cache
 * is keyed by content. */
START_TEST(binary_form_and_cache)
{
    gzFile gz = gzopen(tmp_path("src.jsonl.gz"), "wb");
    gzputs(gz, "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":2,\"source\":\"bin test\"}\n");
    for (int i = 1; i <= 5000; i++)
        gzprintf(gz, "{\"op\":\"alloc\",\"id\":%d,\"size\":%d,\"thread\":%d}\n"
                     "{\"op\":\"write\",\"id\":%d,\"offset\":1,\"len\":%d}\n"
                     "{\"op\":\"realloc\",\"id\":%d,\"new_id\":%d,\"size\":%d,\"align\":64}\n"
                     "{\"op\":\"free\",\"id\":%d,\"thread\":1}\n",
                 i, i % 300 + 2, i % 2, i, i % 300 + 1, i, i + 100000, i % 77 + 1, i + 100000);
    gzclose(gz);
    tr_error err;
    uint64_t n = 0;
    ck_assert_int_eq(tr_convert(tmp_path("src.jsonl.gz"), tmp_path("out.pmt"), &n, &err), 0);
    ck_assert_uint_eq(n, 20000);
    tr_reader *a, *b;
    ck_assert_int_eq(tr_reader_open(&a, tmp_path("src.jsonl.gz"), &err), 0);
    ck_assert_int_eq(tr_reader_open(&b, tmp_path("out.pmt"), &err), 0);
    ck_assert_str_eq(tr_reader_header(b)->source, "bin test");
    ck_assert_uint_eq(tr_reader_header(b)->threads, 2);
    tr_event ea, eb;
    tr_obj *oa, *ob, *olda, *oldb;
    int ra, rb;
    uint64_t same = 0;
    while ((ra = tr_reader_next(a, &ea, &oa, &olda, &err)) == 1) {
        rb = tr_reader_next(b, &eb, &ob, &oldb, &err);
        TEST_REQUIRE(rb == 1 && memcmp(&ea, &eb, sizeof ea) == 0, "event %llu differs", (unsigned long long)same);
        same++;
        if (ea.op == TR_FREE) {
            tr_reader_release(a, oa);
            tr_reader_release(b, ob);
        }
        if (olda) {
            tr_reader_release(a, olda);
            tr_reader_release(b, oldb);
        }
    }
    ck_assert_int_eq(ra, 0);
    ck_assert_int_eq(tr_reader_next(b, &eb, &ob, &oldb, &err), 0);
    ck_assert_uint_eq(same, 20000);
    tr_reader_close(a);
    tr_reader_close(b);
    /* Damage: flip one byte in a record, cut the tail: both refused at open. */
    FILE *f = fopen(tmp_path("out.pmt"), "rb");
    static unsigned char buf[2 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    buf[len / 2] ^= 0x10;
    put_file(tmp_path("flip.pmt"), (const char *)buf, len);
    ck_assert_int_eq(tr_reader_open(&a, tmp_path("flip.pmt"), &err), TR_ESYNTAX);
    buf[len / 2] ^= 0x10;
    put_file(tmp_path("cut.pmt"), (const char *)buf, len - 100);
    ck_assert_int_eq(tr_reader_open(&a, tmp_path("cut.pmt"), &err), TR_ESYNTAX);
    /* Cache: the first open converts, the second reuses, a changed file misses. */
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    mkdir(cache, 0755);
    ck_assert_int_eq(tr_reader_open_cached(&a, tmp_path("src.jsonl.gz"), cache, &err), 0);
    tr_reader_close(a);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", cache);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(tr_reader_open_cached(&a, tmp_path("src.jsonl.gz"), cache, &err), 0);
    ck_assert_uint_eq(tr_reader_header(a)->threads, 2);
    tr_reader_close(a);
    ck_assert_int_eq(system(cmd), 0);
    put_file(tmp_path("src.jsonl.gz"), (const char *)buf, 0);   /* now empty: invalid */
    ck_assert_int_eq(tr_reader_open_cached(&a, tmp_path("src.jsonl.gz"), cache, &err), TR_ESYNTAX);
}
END_TEST

/* A .pmt record that breaks the JSON reader's rules is refused at that
 * record, with its number, even when the checksum is right (a buggy writer,
 * a hand-made file): by the library and by `pmarena validate` (exit 2). */
static const struct pmt_bad {
    const char *name;
    int record;      /* 1-based */
    int at, width;   /* byte offset in the record and width (1, 4 or 8) */
    uint64_t value;
    const char *msg_part;
} pmt_corpus[] = {
    {"op", 3, 0, 1, 7, "unknown op 7"},
    {"reserved", 2, 2, 1, 1, "reserved"},
    {"thread", 5, 4, 4, 2, "\"thread\" 2 is not below"},
    {"align", 1, 48, 8, 48, "power of two"},
    {"size", 1, 24, 8, (uint64_t)1 << 41, "\"size\" is absurdly large"},
    {"id", 4, 8, 8, UINT64_MAX, "\"id\" is absurdly large"},
    {"free_size", 4, 24, 8, 64, "a free event has no \"size\""},
    {"write_align", 2, 48, 8, 8, "a write event has no \"align\""},
};

START_TEST(binary_records_validated)
{
    const struct pmt_bad *b = &pmt_corpus[_i];
    const char *src = tmp_path("v.jsonl");
    const char *text = "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":2,\"source\":\"v\"}\n"
                       "{\"op\":\"alloc\",\"id\":1,\"size\":64,\"align\":16}\n"
                       "{\"op\":\"write\",\"id\":1,\"offset\":0,\"len\":8}\n"
                       "{\"op\":\"alloc\",\"id\":2,\"size\":32}\n"
                       "{\"op\":\"free\",\"id\":1}\n"
                       "{\"op\":\"free\",\"id\":2,\"thread\":1}\n";
    put_file(src, text, strlen(text));
    tr_error err;
    uint64_t n;
    ck_assert_int_eq(tr_convert(src, tmp_path("v.pmt"), &n, &err), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(read_all(tmp_path("v.pmt"), &n, &err), 0);
    FILE *f = fopen(tmp_path("v.pmt"), "rb");
    ck_assert_ptr_nonnull(f);
    static unsigned char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* Patch the field, then the checksum over everything before the trailer. */
    uint32_t srclen = (uint32_t)buf[24] | (uint32_t)buf[25] << 8 | (uint32_t)buf[26] << 16 | (uint32_t)buf[27] << 24;
    size_t hsz = (28 + srclen + 7) / 8 * 8;
    ck_assert_uint_eq(len, hsz + 5 * 56 + 16);
    unsigned char *rec = buf + hsz + (size_t)(b->record - 1) * 56;
    for (int i = 0; i < b->width; i++)
        rec[b->at + i] = (unsigned char)(b->value >> (8 * i));
    uLong crc = crc32(crc32(0, Z_NULL, 0), buf, (uInt)(len - 16));
    for (int i = 0; i < 4; i++)
        buf[len - 16 + i] = (unsigned char)(crc >> (8 * i));
    char name[64];
    snprintf(name, sizeof name, "bad_%s.pmt", b->name);
    put_file(tmp_path(name), (const char *)buf, len);
    int rc = read_all(tmp_path(name), &n, &err);
    ck_assert_msg(rc == TR_ESYNTAX, "%s: rc %d (%s)", b->name, rc, err.msg);
    ck_assert_uint_eq(n, (uint64_t)b->record - 1);
    char want[200];
    snprintf(want, sizeof want, "record %d: ", b->record);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0 && strstr(err.msg, b->msg_part), "%s: \"%s\"",
                  b->name, err.msg);
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s validate %s 2>%s >/dev/null", bin, tmp_path(name), tmp_path("stderr"));
    int st = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    f = fopen(tmp_path("stderr"), "r");
    char line[1200] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    char loc[700];
    snprintf(loc, sizeof loc, "%s: record %d: ", tmp_path(name), b->record);
    ck_assert_msg(strstr(line, loc) != NULL, "stderr: %s", line);
    /* convert and run refuse it too (exit 2), writing nothing. */
    snprintf(cmd, sizeof cmd, "%s convert %s %s 2>/dev/null >/dev/null", bin, tmp_path(name), tmp_path("conv.pmt"));
    st = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    ck_assert_int_ne(access(tmp_path("conv.pmt"), F_OK), 0);
    char cfg[900];
    snprintf(cfg, sizeof cfg, "{\"name\": \"bad\", \"device\": {\"kind\": \"sim\", \"size\": \"16MiB\"},"
             " \"trace\": {\"file\": \"%s\"}}", tmp_path(name));
    put_file(tmp_path("bad.json"), cfg, strlen(cfg));
    snprintf(cmd, sizeof cmd, "%s run %s --quiet -o %s 2>/dev/null >/dev/null", bin, tmp_path("bad.json"),
             tmp_path("badrun"));
    st = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    ck_assert_int_ne(access(tmp_path("badrun"), F_OK), 0);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("trace_reader");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip_plain_and_gzip);
    tcase_add_test(tc, crlf_blank_lines_document_and_inline);
    tcase_add_loop_test(tc, broken_traces_located, 0, (int)(sizeof corpus / sizeof corpus[0]));
    tcase_add_test(tc, garbage_and_truncated_gzip);
    tcase_add_test(tc, binary_form_and_cache);
    tcase_add_loop_test(tc, binary_records_validated, 0, (int)(sizeof pmt_corpus / sizeof pmt_corpus[0]));
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return rc;
}
