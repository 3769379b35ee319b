/* test_record.c - `pmarena record` end to end: the real binary runs a known
 * program (tests/progs/alloc_known.c) under the preloaded recorder, and the
 * traces it writes are read back (Jansson per line, zlib for .gz) and checked
 * event by event: the known allocations in their order after the C library's
 * start-up ones, realloc ids, alignments, a second thread, one trace per
 * forked child, exec through a shell, gzip output, no raw addresses, the raw
 * format kept by --keep-raw, exit codes, threads freeing each other's
 * blocks while the main thread forks (tests/progs/alloc_threads.c). Then sqlite3 running a few thousand
 * inserts, an index and deletes must give a well-formed trace: ids assigned
 * 1,2,3,... in allocation order, every free and realloc of a live id.
 *
 * Needs PMARENA_BIN, PMARENA_RECORD_LIB and PMARENA_PROGS (set by `make test`). */
#include "testutil.h"
#include "pmarena/trace.h"
#include "../traces/record/record.h"

#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

typedef struct tev {
    tr_op op;
    uint64_t id, new_id, size, align;
    uint32_t thread;
} tev;

typedef struct ttrace {
    uint64_t threads;
    char source[1024];
    tev *ev;
    size_t n, cap;
} ttrace;

static char tmp[256];                 /* this test's scratch dir */

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v && *v, "%s is not set: run through `make test`", name);
    return v;
}

static void scratch_make(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/pmarena-test-record-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void scratch_remove(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs a shell command line with stdout and stderr into tmp/stdout and
 * tmp/stderr; its exit status (-1 if it did not exit). */
__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
    char cmd[4096], line[4096 + 600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s >'%s/stdout' 2>'%s/stderr' </dev/null", cmd, tmp, tmp);
    int st = system(line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void read_small(const char *name, char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static tr_op op_of(const char *s)
{
    for (int op = 0; op < TR_OPS; op++)
        if (strcmp(s, tr_op_name((tr_op)op)) == 0)
            return (tr_op)op;
    return TR_OPS;
}

static uint64_t int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* Reads a trace (plain or gzip: gzopen reads both). Every number in it must
 * be below 2^40: addresses would not be. */
static void trace_load(ttrace *t, const char *path)
{
    memset(t, 0, sizeof *t);
    gzFile gz = gzopen(path, "rb");
    ck_assert_msg(gz != NULL, "cannot open %s", path);
    static char line[1 << 16];
    size_t lineno = 0;
    while (gzgets(gz, line, sizeof line)) {
        lineno++;
        size_t len = strlen(line);
        TEST_REQUIRE(len && line[len - 1] == '\n', "%s:%zu: line not terminated", path, lineno);
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        TEST_REQUIRE(o && json_is_object(o), "%s:%zu: %s", path, lineno, o ? "not an object" : je.text);
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v)
            if (json_is_integer(v))
                TEST_REQUIRE(json_integer_value(v) >= 0 && json_integer_value(v) < ((json_int_t)1 << 40),
                             "%s:%zu: %s = %lld looks like an address", path, lineno, k,
                             (long long)json_integer_value(v));
        if (lineno == 1) {
            ck_assert_str_eq(json_string_value(json_object_get(o, "format")), "pmarena-trace");
            ck_assert_int_eq(int_of(o, "version"), TR_FORMAT_VERSION);
            t->threads = int_of(o, "threads");
            const char *src = json_string_value(json_object_get(o, "source"));
            snprintf(t->source, sizeof t->source, "%s", src ? src : "");
            json_decref(o);
            continue;
        }
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 4096;
            t->ev = realloc(t->ev, t->cap * sizeof *t->ev);
            ck_assert_ptr_nonnull(t->ev);
        }
        const char *ops = json_string_value(json_object_get(o, "op"));
        tev *e = &t->ev[t->n++];
        e->op = ops ? op_of(ops) : TR_OPS;
        TEST_REQUIRE(e->op == TR_ALLOC || e->op == TR_FREE || e->op == TR_REALLOC,
                     "%s:%zu: op %s", path, lineno, ops ? ops : "(none)");
        e->id = int_of(o, "id");
        e->new_id = int_of(o, "new_id");
        e->size = int_of(o, "size");
        e->align = int_of(o, "align");
        e->thread = (uint32_t)int_of(o, "thread");
        json_decref(o);
    }
    gzclose(gz);
    ck_assert_msg(lineno >= 1, "%s: empty", path);
}

static void trace_free(ttrace *t)
{
    free(t->ev);
    memset(t, 0, sizeof *t);
}

/* Ids are 1,2,3,... in allocation order; frees and reallocs name live ids;
 * threads are below the header's count. */
static void trace_check_wellformed(const ttrace *t)
{
    unsigned char *live = calloc(t->n + 2, 1);
    ck_assert_ptr_nonnull(live);
    uint64_t next = 1;
    for (size_t i = 0; i < t->n; i++) {
        const tev *e = &t->ev[i];
        TEST_REQUIRE(e->thread < t->threads, "event %zu: thread %u of %llu", i, e->thread,
                     (unsigned long long)t->threads);
        switch (e->op) {
        case TR_ALLOC:
            TEST_REQUIRE(e->id == next, "event %zu: alloc id %llu, expected %llu", i,
                         (unsigned long long)e->id, (unsigned long long)next);
            live[next++] = 1;
            break;
        case TR_FREE:
            TEST_REQUIRE(e->id && e->id < next && live[e->id], "event %zu: free of id %llu, not live", i,
                         (unsigned long long)e->id);
            live[e->id] = 0;
            break;
        default:
            TEST_REQUIRE(e->id && e->id < next && live[e->id], "event %zu: realloc of id %llu, not live", i,
                         (unsigned long long)e->id);
            TEST_REQUIRE(e->new_id == next, "event %zu: realloc new_id %llu, expected %llu", i,
                         (unsigned long long)e->new_id, (unsigned long long)next);
            live[e->id] = 0;
            live[next++] = 1;
            break;
        }
    }
    free(live);
}

static bool is_alloc(const tev *e, uint64_t size, uint64_t align)
{
    return e->op == TR_ALLOC && e->size == size && e->align == align;
}

static bool is_free(const tev *e, uint64_t id) { return e->op == TR_FREE && e->id == id; }

/* The index of alloc_known's step 1 (see the program), checked in full. */
static size_t check_step1(const ttrace *t)
{
    size_t i = 0;
    while (i + 9 <= t->n && !(is_alloc(&t->ev[i], 100, 0) && is_alloc(&t->ev[i + 1], 150, 0)))
        i++;
    ck_assert_msg(i + 9 <= t->n, "alloc 100 then alloc 150 (malloc, calloc(3, 50)) not found");
    const tev *e = &t->ev[i];
    uint64_t a = e[0].id, b = e[1].id;
    ck_assert_int_eq(e[2].op, TR_REALLOC);
    ck_assert_uint_eq(e[2].id, a);
    ck_assert_uint_eq(e[2].size, 400);
    ck_assert_uint_gt(e[2].new_id, b);
    ck_assert_msg(is_alloc(&e[3], 256, 64), "posix_memalign(64, 256) is event %zu", i + 3);
    ck_assert_msg(is_alloc(&e[4], 96, 32), "aligned_alloc(32, 96) is event %zu", i + 4);
    ck_assert(is_free(&e[5], e[2].new_id));
    ck_assert(is_free(&e[6], b));
    ck_assert(is_free(&e[7], e[3].id));
    ck_assert(is_free(&e[8], e[4].id));
    for (int k = 0; k < 9; k++)
        ck_assert_uint_eq(e[k].thread, e[0].thread);
    return i;
}

/* Steps 2 and 3, after step 1 at index s1. */
static void check_steps23(const ttrace *t, size_t s1)
{
    size_t i = s1 + 9;
    while (i < t->n && !is_alloc(&t->ev[i], 1111, 0))
        i++;
    ck_assert_msg(i < t->n, "the second thread's alloc 1111 not found after step 1");
    uint32_t th = t->ev[i].thread;
    ck_assert_uint_ne(th, t->ev[s1].thread);
    const tev *mine[6];
    int n = 0;
    size_t j = i;
    for (; j < t->n && n < 6; j++)
        if (t->ev[j].thread == th)
            mine[n++] = &t->ev[j];
    ck_assert_int_eq(n, 6);
    ck_assert(is_alloc(mine[1], 2222, 0) && is_alloc(mine[2], 3333, 0));
    for (int k = 0; k < 3; k++)
        ck_assert(is_free(mine[3 + k], mine[k]->id));

    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    while (j < t->n && !is_alloc(&t->ev[j], 640, 128))
        j++;
    ck_assert_msg(j + 6 <= t->n, "memalign(128, 640) not found after step 2");
    const tev *e = &t->ev[j];
    ck_assert_msg(is_alloc(&e[1], 5000, page), "valloc(5000) is event %zu", j + 1);
    ck_assert_msg(is_alloc(&e[2], 77, 0), "reallocarray(NULL, 7, 11) is event %zu", j + 2);
    ck_assert_msg(is_free(&e[3], e[2].id), "realloc(g, 0) is event %zu", j + 3);
    ck_assert(is_free(&e[4], e[0].id));          /* free(NULL) in between: not recorded */
    ck_assert(is_free(&e[5], e[1].id));
}

/* The child's trace path: OUT with ".pid" before ".jsonl". */
static void child_trace(char *buf, size_t len, const char *gz, long pid)
{
    snprintf(buf, len, "%s/out.%ld.jsonl%s", tmp, pid, gz);
}

static void check_children(const char *gz)
{
    char out[4096], path[512];
    long c1 = 0, c2 = 0;
    read_small("stdout", out, sizeof out);
    ck_assert_int_eq(sscanf(out, "child1 %ld child2 %ld", &c1, &c2), 2);
    const uint64_t sizes[2] = {777, 778};      /* ended with exit, then with _exit */
    const long pids[2] = {c1, c2};
    for (int k = 0; k < 2; k++) {
        child_trace(path, sizeof path, gz, pids[k]);
        ttrace t;
        trace_load(&t, path);
        trace_check_wellformed(&t);
        ck_assert_ptr_nonnull(strstr(t.source, "(recorded by pmarena record"));
        bool found = false;
        for (size_t i = 0; i < t.n; i++)
            found |= is_alloc(&t.ev[i], sizes[k], 0);
        ck_assert_msg(found, "%s: no alloc of %llu", path, (unsigned long long)sizes[k]);
        trace_free(&t);
    }
}

START_TEST(known_program)
{
    const char *bin = env_or_fail("PMARENA_BIN"), *progs = env_or_fail("PMARENA_PROGS");
    scratch_make();
    ck_assert_int_eq(run("'%s' record -o '%s/out.jsonl' -- '%s/alloc_known'", bin, tmp, progs), 0);
    char path[512], err[4096];
    snprintf(path, sizeof path, "%s/out.jsonl", tmp);
    ttrace t;
    trace_load(&t, path);
    ck_assert_uint_ge(t.threads, 2);
    ck_assert_msg(strstr(t.source, "alloc_known (recorded by pmarena record)"), "source: %s", t.source);
    trace_check_wellformed(&t);
    check_steps23(&t, check_step1(&t));
    trace_free(&t);
    check_children("");
    read_small("stderr", err, sizeof err);
    ck_assert_msg(strstr(err, "3 processes") && strstr(err, "exited with status 0"), "summary: %s", err);
    scratch_remove();
}
END_TEST

START_TEST(gzip_output)
{
    const char *bin = env_or_fail("PMARENA_BIN"), *progs = env_or_fail("PMARENA_PROGS");
    scratch_make();
    ck_assert_int_eq(run("'%s' record -o '%s/out.jsonl.gz' -- '%s/alloc_known'", bin, tmp, progs), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/out.jsonl.gz", tmp);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fgetc(f), 0x1f);            /* gzip's magic, not plain text */
    ck_assert_int_eq(fgetc(f), 0x8b);
    fclose(f);
    ttrace t;
    trace_load(&t, path);
    trace_check_wellformed(&t);
    check_steps23(&t, check_step1(&t));
    trace_free(&t);
    check_children(".gz");
    scratch_remove();
}
END_TEST

/* A wrapper that execs the program: same pid, a new image; the program's
 * events are still there, after the shell's, with ids unique in the file. */
START_TEST(exec_through_shell)
{
    const char *bin = env_or_fail("PMARENA_BIN"), *progs = env_or_fail("PMARENA_PROGS");
    scratch_make();
    ck_assert_int_eq(run("'%s' record -o '%s/out.jsonl' -- sh -c 'exec \"$0\"' '%s/alloc_known'", bin, tmp,
                         progs), 0);
    char path[512], err[4096];
    snprintf(path, sizeof path, "%s/out.jsonl", tmp);
    ttrace t;
    trace_load(&t, path);
    ck_assert_msg(strncmp(t.source, "sh -c ", 6) == 0, "source: %s", t.source);
    trace_check_wellformed(&t);
    size_t s1 = check_step1(&t);
    ck_assert_uint_gt(s1, 0);                    /* the shell allocated first */
    check_steps23(&t, s1);
    trace_free(&t);
    check_children("");
    read_small("stderr", err, sizeof err);
    ck_assert_msg(strstr(err, "2 images"), "summary: %s", err);
    scratch_remove();
}
END_TEST

/* --keep-raw leaves raw.<pid> files that start with an epoch record. */
START_TEST(keep_raw_format)
{
    const char *bin = env_or_fail("PMARENA_BIN"), *progs = env_or_fail("PMARENA_PROGS");
    scratch_make();
    ck_assert_int_eq(run("'%s' record --keep-raw -o '%s/out.jsonl' -- '%s/alloc_known'", bin, tmp, progs), 0);
    char err[4096], out[4096], raw[600];
    read_small("stderr", err, sizeof err);
    const char *kept = strstr(err, "raw files kept in ");
    ck_assert_msg(kept, "summary: %s", err);
    char dir[512];
    ck_assert_int_eq(sscanf(kept, "raw files kept in %511s", dir), 1);
    read_small("stdout", out, sizeof out);
    long c1 = 0, c2 = 0;
    ck_assert_int_eq(sscanf(out, "child1 %ld child2 %ld", &c1, &c2), 2);
    snprintf(raw, sizeof raw, "%s/raw.%ld", dir, c1);
    FILE *f = fopen(raw, "rb");
    ck_assert_msg(f != NULL, "%s missing", raw);
    tr_raw_rec r[3];
    ck_assert_uint_eq(fread(r, sizeof r[0], 3, f), 2);     /* fork epoch, malloc(777) */
    fclose(f);
    ck_assert_uint_eq(r[0].op, TR_RAW_EPOCH);
    ck_assert_uint_eq(r[0].addr, TR_RAW_MAGIC);
    ck_assert_uint_eq(r[0].size, sizeof(tr_raw_rec));
    ck_assert_uint_eq(r[0].old, (uint64_t)c1);
    ck_assert_uint_eq(r[0].align, TR_RAW_EPOCH_FORK);
    ck_assert_uint_eq(r[1].op, TR_RAW_MALLOC);
    ck_assert_uint_eq(r[1].size, 777);
    ck_assert_uint_eq(r[1].tid, (uint64_t)c1);
    ck_assert_uint_ne(r[1].addr, 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    scratch_remove();
}
END_TEST

/* Threads allocating, reallocating and freeing each other's blocks at once:
 * addresses are reused across threads all the time, and the trace is still
 * well-formed, with no stale ids to clean up (see traces/record/malloc.c).
 * Meanwhile the main thread forks 10 times: no deadlock, and each child's
 * trace holds its own two events and nothing of the parent's. */
START_TEST(threads_and_forks)
{
    const char *bin = env_or_fail("PMARENA_BIN"), *progs = env_or_fail("PMARENA_PROGS");
    scratch_make();
    ck_assert_int_eq(run("'%s' record -o '%s/out.jsonl' -- '%s/alloc_threads' 4 20000 10", bin, tmp, progs), 0);
    char path[512], err[4096];
    snprintf(path, sizeof path, "%s/out.jsonl", tmp);
    ttrace t;
    trace_load(&t, path);
    ck_assert_uint_eq(t.threads, 5);
    trace_check_wellformed(&t);
    size_t per_thread[5] = {0};
    for (size_t i = 0; i < t.n; i++)
        per_thread[t.ev[i].thread]++;
    for (int k = 1; k < 5; k++)
        ck_assert_uint_ge(per_thread[k], 20000);
    trace_free(&t);
    read_small("stderr", err, sizeof err);
    ck_assert_msg(!strstr(err, "stale") && strstr(err, " 0 skipped;") && strstr(err, "11 processes"),
                  "summary: %s", err);

    DIR *d = opendir(tmp);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int children = 0;
    while ((de = readdir(d))) {
        long pid;
        char rest[64];
        if (sscanf(de->d_name, "out.%ld.%63s", &pid, rest) != 2 || strcmp(rest, "jsonl") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmp, de->d_name);
        trace_load(&t, path);
        ck_assert_msg(t.n == 2 && is_alloc(&t.ev[0], 999, 0) && is_free(&t.ev[1], t.ev[0].id),
                      "%s: %zu events, expected alloc 999 and its free", path, t.n);
        trace_free(&t);
        children++;
    }
    closedir(d);
    ck_assert_int_eq(children, 10);
    scratch_remove();
}
END_TEST

START_TEST(exit_codes)
{
    const char *bin = env_or_fail("PMARENA_BIN"), *progs = env_or_fail("PMARENA_PROGS");
    scratch_make();
    ck_assert_int_eq(run("'%s' record", bin), 2);
    ck_assert_int_eq(run("'%s' record -- '%s/alloc_known'", bin, progs), 2);      /* no -o */
    ck_assert_int_eq(run("'%s' record -o '%s/o.jsonl'", bin, tmp), 2);           /* no command */
    ck_assert_int_eq(run("'%s' record -o '%s/o.jsonl' --", bin, tmp), 2);
    ck_assert_int_eq(run("'%s' record --frobnicate -o '%s/o.jsonl' -- true", bin, tmp), 2);
    ck_assert_int_eq(run("'%s' record -o '%s/o.jsonl' -- /nonexistent/program", bin, tmp), 2);
    char gone[512];
    snprintf(gone, sizeof gone, "%s/o.jsonl", tmp);
    ck_assert_int_eq(access(gone, F_OK), -1);                                /* nothing written */
    ck_assert_int_eq(run("'%s' record -o /nonexistent/dir/o.jsonl -- true", bin), 2);
    ck_assert_int_eq(run("'%s' record --help", bin), 0);
    /* The command fails: the trace is still written, and its status said. */
    ck_assert_int_eq(run("'%s' record -o '%s/o.jsonl' -- sh -c 'exit 3'", bin, tmp), 0);
    char err[4096], path[512];
    read_small("stderr", err, sizeof err);
    ck_assert_msg(strstr(err, "exited with status 3"), "summary: %s", err);
    snprintf(path, sizeof path, "%s/o.jsonl", tmp);
    ttrace t;
    trace_load(&t, path);
    trace_check_wellformed(&t);
    trace_free(&t);
    /* A library that is not there: a failure, not a usage error. */
    ck_assert_int_eq(run("PMARENA_RECORD_LIB=/nonexistent.so '%s' record -o '%s/p.jsonl' -- true", bin, tmp), 1);
    scratch_remove();
}
END_TEST

/* A real program: sqlite3 with a few thousand inserts, an index, deletes. */
START_TEST(sqlite3_end_to_end)
{
    const char *bin = env_or_fail("PMARENA_BIN");
    ck_assert_msg(system("command -v sqlite3 >/dev/null") == 0, "sqlite3 not installed (make deps installs it)");
    scratch_make();
    char sql[512], path[512];
    snprintf(sql, sizeof sql, "%s/script.sql", tmp);
    FILE *f = fopen(sql, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);\nBEGIN;\n");
    uint64_t x = 42;
    for (int i = 0; i < 3000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        fprintf(f, "INSERT INTO t(name, v) VALUES ('%.*s%d', %d.5);\n", (int)(x >> 58) + 1,
                "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm", i, i);
    }
    fprintf(f, "COMMIT;\nCREATE INDEX t_name ON t(name);\nDELETE FROM t WHERE id %% 3 = 0;\n"
               "SELECT count(*) FROM t;\n");
    fclose(f);
    ck_assert_int_eq(run("'%s' record -o '%s/sqlite.jsonl.gz' -- sqlite3 -batch :memory: '.read %s'", bin, tmp,
                         sql), 0);
    char out[256];
    read_small("stdout", out, sizeof out);
    ck_assert_str_eq(out, "2000\n");
    snprintf(path, sizeof path, "%s/sqlite.jsonl.gz", tmp);
    ttrace t;
    trace_load(&t, path);
    trace_check_wellformed(&t);
    size_t allocs = 0, frees = 0, reallocs = 0;
    for (size_t i = 0; i < t.n; i++) {
        allocs += t.ev[i].op == TR_ALLOC;
        frees += t.ev[i].op == TR_FREE;
        reallocs += t.ev[i].op == TR_REALLOC;
    }
    ck_assert_uint_ge(allocs, 3000);
    ck_assert_uint_ge(frees, 1000);
    ck_assert_uint_ge(reallocs, 1);
    trace_free(&t);
    scratch_remove();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, known_program);
    tcase_add_test(tc, gzip_output);
    tcase_add_test(tc, exec_through_shell);
    tcase_add_test(tc, keep_raw_format);
    tcase_add_test(tc, threads_and_forks);
    tcase_add_test(tc, exit_codes);
    tcase_add_test(tc, sqlite3_end_to_end);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
