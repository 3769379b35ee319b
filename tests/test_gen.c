/* test_gen.c - the synthetic trace generators (traces/gen*.c, pmarena gen):
 * every pattern writes a valid trace (read back line by line with Jansson and
 * checked against a model of the live set), the same seed gives the same
 * bytes and another seed other bytes, the size, lifetime and Zipf
 * distributions have the right shape, bad specs are refused with a message
 * naming the key (and nothing is written), and the command works end to end
 * through $PMARENA_BIN. */
#include "testutil.h"
#include "pmarena/gen.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pmarena-test-gen-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

static const char *tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
    return buf;
}

static json_t *spec_of(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    ck_assert_msg(o != NULL, "test JSON is bad: %s: %s", text, je.text);
    return o;
}

static int files_in_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", tmpdir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/* ---- reading a trace back and checking every invariant -------------------------- */

typedef struct trace_info {
    json_t *header;
    uint32_t threads;
    uint64_t events, allocs, frees, writes;
    uint64_t left_live, cross_frees, same_thread_frees;
    uint32_t max_alloc_thread, min_free_thread;
    uint64_t nids;
    uint64_t *size, *writes_on;     /* by id (1-based) */
    uint32_t *thread;
    unsigned char *state;           /* 0 never seen, 1 live, 2 freed */
} trace_info;

static void info_free(trace_info *t)
{
    json_decref(t->header);
    free(t->size);
    free(t->writes_on);
    free(t->thread);
    free(t->state);
}

/* Reads PATH (plain or gzip: gzopen reads both) and checks: header shape;
 * ids allocated once, in order 1, 2, ...; frees and writes of live ids only;
 * writes inside their object; threads below the header's. */
static void trace_check(const char *path, trace_info *t)
{
    memset(t, 0, sizeof *t);
    t->min_free_thread = UINT32_MAX;
    gzFile f = gzopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char line[1 << 16];
    ck_assert_ptr_nonnull(gzgets(f, line, sizeof line));
    json_error_t je;
    t->header = json_loads(line, 0, &je);
    ck_assert_msg(t->header != NULL, "%s:1: %s", path, je.text);
    ck_assert_str_eq(json_string_value(json_object_get(t->header, "format")), "pmarena-trace");
    ck_assert_int_eq(json_integer_value(json_object_get(t->header, "version")), 1);
    t->threads = (uint32_t)json_integer_value(json_object_get(t->header, "threads"));
    ck_assert_uint_ge(t->threads, 1);
    size_t cap = 1024;
    t->size = calloc(cap, sizeof *t->size);
    t->writes_on = calloc(cap, sizeof *t->writes_on);
    t->thread = calloc(cap, sizeof *t->thread);
    t->state = calloc(cap, 1);
    uint64_t lineno = 1;
    while (gzgets(f, line, sizeof line)) {
        lineno++;
        json_t *e = json_loads(line, 0, &je);
        TEST_REQUIRE(e != NULL, "%s:%llu: %s", path, (unsigned long long)lineno, je.text);
        const char *op = json_string_value(json_object_get(e, "op"));
        uint64_t id = (uint64_t)json_integer_value(json_object_get(e, "id"));
        json_t *th = json_object_get(e, "thread");
        uint32_t thread = th ? (uint32_t)json_integer_value(th) : 0;
        TEST_REQUIRE(op != NULL, "%s:%llu: no op", path, (unsigned long long)lineno);
        TEST_REQUIRE(thread < t->threads, "%s:%llu: thread %u of %u", path, (unsigned long long)lineno,
                     thread, t->threads);
        t->events++;
        if (strcmp(op, "alloc") == 0) {
            TEST_REQUIRE(id == t->nids + 1, "%s:%llu: alloc of id %llu after %llu", path,
                         (unsigned long long)lineno, (unsigned long long)id, (unsigned long long)t->nids);
            if (id >= cap) {
                size_t old = cap;
                cap *= 2;
                t->size = realloc(t->size, cap * sizeof *t->size);
                t->writes_on = realloc(t->writes_on, cap * sizeof *t->writes_on);
                t->thread = realloc(t->thread, cap * sizeof *t->thread);
                t->state = realloc(t->state, cap);
                memset(t->writes_on + old, 0, (cap - old) * sizeof *t->writes_on);
                memset(t->state + old, 0, cap - old);
            }
            t->nids = id;
            t->size[id] = (uint64_t)json_integer_value(json_object_get(e, "size"));
            TEST_REQUIRE(t->size[id] >= 1, "%s:%llu: size 0", path, (unsigned long long)lineno);
            t->thread[id] = thread;
            t->state[id] = 1;
            t->allocs++;
            t->left_live++;
            if (thread > t->max_alloc_thread)
                t->max_alloc_thread = thread;
        } else if (strcmp(op, "free") == 0) {
            TEST_REQUIRE(id >= 1 && id <= t->nids && t->state[id] == 1, "%s:%llu: free of id %llu, not live",
                         path, (unsigned long long)lineno, (unsigned long long)id);
            t->state[id] = 2;
            t->frees++;
            t->left_live--;
            if (thread == t->thread[id])
                t->same_thread_frees++;
            else
                t->cross_frees++;
            if (thread < t->min_free_thread)
                t->min_free_thread = thread;
        } else if (strcmp(op, "write") == 0) {
            uint64_t off = (uint64_t)json_integer_value(json_object_get(e, "offset"));
            uint64_t len = (uint64_t)json_integer_value(json_object_get(e, "len"));
            TEST_REQUIRE(id >= 1 && id <= t->nids && t->state[id] == 1, "%s:%llu: write to id %llu, not live",
                         path, (unsigned long long)lineno, (unsigned long long)id);
            TEST_REQUIRE(len >= 1 && off + len <= t->size[id], "%s:%llu: write [%llu, +%llu) of a %llu-byte object",
                         path, (unsigned long long)lineno, (unsigned long long)off,
                         (unsigned long long)len, (unsigned long long)t->size[id]);
            t->writes++;
            t->writes_on[id]++;
        } else {
            TEST_REQUIRE(0, "%s:%llu: unexpected op %s", path, (unsigned long long)lineno, op);
        }
        json_decref(e);
    }
    gzclose(f);
}

/* ---- every pattern yields a valid trace ------------------------------------------- */

static const struct {
    const char *spec;
    const char *file;
} valid_cases[] = {
    {"{\"pattern\":\"churn\",\"seed\":3,\"events\":30000,\"threads\":3,\"writes_per_object\":2,"
     "\"size\":{\"dist\":\"lognormal\",\"mu\":5,\"sigma\":1.5,\"min\":8,\"max\":4096},\"live\":500}", "churn.jsonl"},
    {"{\"pattern\":\"churn\",\"events\":20000,\"lifetime\":{\"dist\":\"fixed\",\"window\":300},"
     "\"size\":{\"dist\":\"fixed\",\"value\":1},\"writes_per_object\":1}", "churn-fixed.jsonl.gz"},
    {"{\"pattern\":\"phases\",\"seed\":4,\"events\":30000,\"threads\":2,\"phases\":3,\"writes_per_object\":1}",
     "phases.jsonl"},
    {"{\"pattern\":\"producer-consumer\",\"seed\":5,\"events\":30000,\"threads\":5,\"producers\":2,"
     "\"live\":200,\"writes_per_object\":1}", "pc.jsonl.gz"},
    {"{\"pattern\":\"larson\",\"seed\":6,\"events\":30000,\"threads\":4,\"slots\":100,\"cross_free\":0.25,"
     "\"writes_per_object\":1,\"size\":{\"dist\":\"exponential\",\"mean\":100}}", "larson.jsonl"},
    {"{\"pattern\":\"hot-writes\",\"seed\":7,\"events\":30000,\"threads\":2,\"live\":300,\"zipf_s\":1.1,"
     "\"write_len\":4096,\"size\":{\"dist\":\"empirical\",\"sizes\":[1,7,4096],\"weights\":[1,1,1]}}",
     "hot.jsonl"},
    {"{\"pattern\":\"churn\",\"events\":5000,\"free_at_end\":false}", "churn-open.jsonl"},
    {"{\"pattern\":\"hot-object\",\"seed\":8,\"events\":30000,\"threads\":3,\"objects\":4,\"churn_rate\":0.5,"
     "\"live\":100,\"writes_per_object\":1,\"write_len\":32}", "hotobj.jsonl.gz"},
    {"{\"pattern\":\"ping-pong\",\"seed\":9,\"events\":30000,\"threads\":2,\"objects\":3,\"writes_per_object\":2,"
     "\"size\":{\"dist\":\"uniform\",\"min\":8,\"max\":4096}}", "pingpong.jsonl"},
    {"{\"pattern\":\"hammer-line\",\"seed\":10,\"events\":30000,\"threads\":2,\"line\":1,\"decoy_fraction\":0.3,"
     "\"decoy_objects\":5,\"size\":{\"dist\":\"uniform\",\"min\":65,\"max\":300}}", "hammer.jsonl"},
    {"{\"pattern\":\"skewed\",\"seed\":11,\"events\":30000,\"threads\":4,\"lines\":1000,\"objects\":7,"
     "\"writes_per_object\":1}", "skewed.jsonl.gz"},
    {"{\"pattern\":\"skewed\",\"events\":3000,\"lines\":100,\"objects\":3,\"free_at_end\":false}",
     "skewed-open.jsonl"},
};

START_TEST(each_pattern_valid)
{
    char path[512];
    json_t *spec = spec_of(valid_cases[_i].spec);
    tr_error err = {0};
    tr_gen_stats st;
    tmp_path(path, sizeof path, valid_cases[_i].file);
    int rc = tr_gen_write_stats(spec, "trace.gen", path, &st, &err);
    ck_assert_msg(rc == 0, "%s: %s", valid_cases[_i].spec, err.msg);
    trace_info t;
    trace_check(path, &t);
    /* the stats agree with the file */
    ck_assert_uint_eq(t.events, st.events);
    ck_assert_uint_eq(t.allocs, st.allocs);
    ck_assert_uint_eq(t.frees, st.frees);
    ck_assert_uint_eq(t.writes, st.writes);
    ck_assert_uint_eq(t.cross_frees, st.cross_thread_frees);
    ck_assert_uint_eq(t.left_live, st.end_live_objects);
    ck_assert_uint_eq(t.threads, st.threads);
    /* the header carries the resolved spec */
    json_t *src = json_loads(json_string_value(json_object_get(t.header, "source")), 0, NULL);
    json_t *resolved = NULL;
    ck_assert_int_eq(tr_gen_resolve(spec, "trace.gen", &resolved, &err), 0);
    ck_assert_msg(json_equal(src, resolved), "source %s",
                  json_string_value(json_object_get(t.header, "source")));
    const char *pattern = json_string_value(json_object_get(spec, "pattern"));
    json_t *fae = json_object_get(spec, "free_at_end");
    uint64_t wpo = (uint64_t)json_integer_value(json_object_get(resolved, "writes_per_object"));
    if (!fae || json_is_true(fae))
        ck_assert_uint_eq(t.left_live, 0);
    else
        ck_assert_uint_gt(t.left_live, 0);
    uint64_t want = (uint64_t)json_integer_value(json_object_get(spec, "events"));
    if (json_object_get(resolved, "events")) {
        /* run on an event budget */
        ck_assert_uint_ge(t.events, want);
        ck_assert_uint_lt(t.events, want + 2 + wpo);
    } else if (strcmp(pattern, "hammer-line") == 0 || strcmp(pattern, "skewed") == 0) {
        /* writes = events - setup, so the length is events exactly */
        ck_assert_uint_eq(t.events, want);
    }
    if (strcmp(pattern, "producer-consumer") == 0) {
        /* producers 0..1 allocate, consumers 2..4 free: always another thread */
        ck_assert_uint_eq(t.same_thread_frees, 0);
        ck_assert_uint_eq(t.cross_frees, t.frees);
        ck_assert_uint_le(t.max_alloc_thread, 1);
        ck_assert_uint_ge(t.min_free_thread, 2);
        ck_assert_uint_le(st.peak_live_objects, 201);
    } else if (strcmp(pattern, "larson") == 0) {
        /* about a quarter of the replacements' frees are on another thread */
        uint64_t replaced = t.frees - 400;
        ck_assert_uint_gt(t.cross_frees, replaced / 5);
        ck_assert_uint_lt(t.cross_frees, replaced * 3 / 10);
        ck_assert_uint_eq(st.peak_live_objects, 400);
    } else {
        ck_assert_uint_eq(t.cross_frees, 0);
    }
    if (strcmp(pattern, "phases") == 0) {
        json_t *r = resolved;
        uint64_t ph = (uint64_t)json_integer_value(json_object_get(r, "phases"));
        uint64_t peak = (uint64_t)json_integer_value(json_object_get(r, "peak_live"));
        ck_assert_uint_eq(ph, 3);
        ck_assert_uint_eq(peak, 30000 / (3 * 3));
        ck_assert_uint_eq(t.events, ph * peak * 3);
        ck_assert_uint_eq(st.peak_live_objects, peak);
    }
    if (wpo && !json_object_get(resolved, "writes")) {
        /* each object freed got exactly its writes */
        for (uint64_t id = 1; id <= t.nids; id++)
            TEST_REQUIRE(t.state[id] != 2 || t.writes_on[id] == wpo, "id %llu: %llu writes",
                         (unsigned long long)id, (unsigned long long)t.writes_on[id]);
    }
    json_decref(src);
    json_decref(resolved);
    json_decref(spec);
    info_free(&t);
}
END_TEST

/* ---- determinism ------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*len + 1);
    ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    bool same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static const char *const det_specs[] = {
    "{\"pattern\":\"churn\",\"events\":20000,\"threads\":2,\"writes_per_object\":1,"
    "\"size\":{\"dist\":\"lognormal\",\"mu\":4,\"sigma\":1}}",
    "{\"pattern\":\"phases\",\"events\":20000,\"writes_per_object\":1}",
    "{\"pattern\":\"producer-consumer\",\"events\":20000,\"threads\":3}",
    "{\"pattern\":\"larson\",\"events\":20000,\"threads\":3,\"slots\":50}",
    "{\"pattern\":\"hot-writes\",\"events\":20000,\"live\":100,\"hot_fraction\":0.5,"
    "\"size\":{\"dist\":\"empirical\",\"sizes\":[64,128]}}",
    "{\"pattern\":\"hot-object\",\"events\":20000,\"threads\":2,\"objects\":3,\"churn_rate\":0.3,\"live\":40}",
    "{\"pattern\":\"ping-pong\",\"events\":20000,\"objects\":2,\"writes_per_object\":1,"
    "\"size\":{\"dist\":\"lognormal\",\"mu\":5,\"sigma\":1}}",
    "{\"pattern\":\"hammer-line\",\"events\":20000,\"decoy_fraction\":0.2}",
    "{\"pattern\":\"skewed\",\"events\":20000,\"lines\":500,\"objects\":5}",
};

START_TEST(same_seed_same_bytes)
{
    char a[512], b[512], c[512], d[512];
    json_t *spec = spec_of(det_specs[_i]);
    tr_error err;
    for (int gz = 0; gz < 2; gz++) {
        tmp_path(a, sizeof a, gz ? "a.jsonl.gz" : "a.jsonl");
        tmp_path(b, sizeof b, gz ? "b.jsonl.gz" : "b.jsonl");
        tmp_path(c, sizeof c, gz ? "c.jsonl.gz" : "c.jsonl");
        json_object_set_new(spec, "seed", json_integer(42));
        ck_assert_int_eq(tr_gen_write(spec, "trace.gen", a, &err), 0);
        ck_assert_int_eq(tr_gen_write(spec, "trace.gen", b, &err), 0);
        ck_assert_msg(same_file(a, b), "%s: seed 42 twice gave different files", det_specs[_i]);
        json_object_set_new(spec, "seed", json_integer(43));
        ck_assert_int_eq(tr_gen_write(spec, "trace.gen", c, &err), 0);
        ck_assert_msg(!same_file(a, c), "%s: seeds 42 and 43 gave the same file", det_specs[_i]);
    }
    /* The header's source regenerates the same trace. */
    trace_info t;
    tmp_path(a, sizeof a, "a.jsonl");
    tmp_path(d, sizeof d, "d.jsonl");
    trace_check(a, &t);
    json_t *src = spec_of(json_string_value(json_object_get(t.header, "source")));
    ck_assert_int_eq(tr_gen_write(src, "", d, &err), 0);
    ck_assert_msg(same_file(a, d), "%s: the resolved spec gave another trace", det_specs[_i]);
    json_decref(src);
    info_free(&t);
    json_decref(spec);
}
END_TEST

START_TEST(seeds_zero_and_4357_differ)
{
    /* GSL's mt19937 turns seed 0 into 4357: the generator must not collide. */
    char a[512], b[512];
    tr_error err;
    json_t *s0 = spec_of("{\"pattern\":\"churn\",\"events\":1000,\"seed\":0}");
    json_t *s1 = spec_of("{\"pattern\":\"churn\",\"events\":1000,\"seed\":4356}");
    json_t *s2 = spec_of("{\"pattern\":\"churn\",\"events\":1000,\"seed\":4357}");
    ck_assert_int_eq(tr_gen_write(s0, "", tmp_path(a, sizeof a, "0.jsonl"), &err), 0);
    ck_assert_int_eq(tr_gen_write(s1, "", tmp_path(b, sizeof b, "1.jsonl"), &err), 0);
    ck_assert(!same_file(a, b));
    ck_assert_int_eq(tr_gen_write(s2, "", tmp_path(b, sizeof b, "2.jsonl"), &err), 0);
    ck_assert(!same_file(a, b));
    json_decref(s0);
    json_decref(s1);
    json_decref(s2);
}
END_TEST

/* ---- distributions, from events in memory (tr_gen_run) ------------------------------ */

typedef struct collect {
    uint64_t n, cap;
    uint64_t *sizes;           /* of each alloc, in order */
    uint64_t *birth;           /* alloc number of each id */
    uint64_t *life;            /* allocations between alloc and free, by id (0: not freed) */
    uint64_t *writes_on;       /* by id */
    uint64_t allocs;
} collect;

static int collect_sink(void *ctx, const tr_event *e)
{
    collect *c = ctx;
    if (e->id >= c->cap) {
        uint64_t old = c->cap;
        c->cap = c->cap ? c->cap * 2 : 4096;
        while (c->cap <= e->id)
            c->cap *= 2;
        c->sizes = realloc(c->sizes, c->cap * sizeof *c->sizes);
        c->birth = realloc(c->birth, c->cap * sizeof *c->birth);
        c->life = realloc(c->life, c->cap * sizeof *c->life);
        c->writes_on = realloc(c->writes_on, c->cap * sizeof *c->writes_on);
        memset(c->life + old, 0, (c->cap - old) * sizeof *c->life);
        memset(c->writes_on + old, 0, (c->cap - old) * sizeof *c->writes_on);
    }
    if (e->op == TR_ALLOC) {
        c->sizes[c->n++] = e->size;
        c->birth[e->id] = c->allocs++;
    } else if (e->op == TR_FREE) {
        c->life[e->id] = c->allocs - c->birth[e->id];
    } else if (e->op == TR_WRITE) {
        c->writes_on[e->id]++;
    }
    return 0;
}

static void collect_run(const char *text, collect *c, tr_gen_stats *st)
{
    memset(c, 0, sizeof *c);
    json_t *spec = spec_of(text);
    tr_error err = {0};
    int rc = tr_gen_run(spec, "trace.gen", collect_sink, c, st, &err);
    ck_assert_msg(rc == 0, "%s: %s", text, err.msg);
    json_decref(spec);
}

static void collect_free(collect *c)
{
    free(c->sizes);
    free(c->birth);
    free(c->life);
    free(c->writes_on);
}

static double mean_size(const collect *c, uint64_t *lo, uint64_t *hi)
{
    double sum = 0;
    *lo = UINT64_MAX;
    *hi = 0;
    for (uint64_t i = 0; i < c->n; i++) {
        sum += (double)c->sizes[i];
        *lo = c->sizes[i] < *lo ? c->sizes[i] : *lo;
        *hi = c->sizes[i] > *hi ? c->sizes[i] : *hi;
    }
    return sum / (double)c->n;
}

START_TEST(size_distributions)
{
    collect c;
    tr_gen_stats st;
    uint64_t lo, hi;
    double m;

    collect_run("{\"pattern\":\"churn\",\"events\":20000,\"size\":{\"dist\":\"fixed\",\"value\":64}}", &c, &st);
    m = mean_size(&c, &lo, &hi);
    ck_assert_uint_eq(lo, 64);
    ck_assert_uint_eq(hi, 64);
    collect_free(&c);

    collect_run("{\"pattern\":\"churn\",\"events\":200000,\"size\":{\"dist\":\"uniform\",\"min\":16,\"max\":512}}",
                &c, &st);
    m = mean_size(&c, &lo, &hi);
    ck_assert_uint_eq(lo, 16);      /* both ends are reached, nothing beyond */
    ck_assert_uint_eq(hi, 512);
    ck_assert_msg(fabs(m - 264) < 264 * 0.01, "uniform mean %f", m);
    collect_free(&c);

    /* lognormal: mean exp(mu + sigma^2/2); the clamp is far out in the tail */
    collect_run("{\"pattern\":\"churn\",\"events\":400000,\"size\":{\"dist\":\"lognormal\",\"mu\":4,"
                "\"sigma\":1,\"min\":1,\"max\":100000000}}", &c, &st);
    m = mean_size(&c, &lo, &hi);
    ck_assert_msg(fabs(m - exp(4.5)) < exp(4.5) * 0.03, "lognormal mean %f, want %f", m, exp(4.5));
    collect_free(&c);

    collect_run("{\"pattern\":\"churn\",\"events\":400000,\"size\":{\"dist\":\"lognormal\",\"mu\":6,"
                "\"sigma\":0.5,\"min\":200,\"max\":1000}}", &c, &st);
    m = mean_size(&c, &lo, &hi);
    ck_assert_uint_eq(lo, 200);     /* clamped both ways */
    ck_assert_uint_eq(hi, 1000);
    collect_free(&c);

    collect_run("{\"pattern\":\"churn\",\"events\":400000,\"size\":{\"dist\":\"exponential\",\"mean\":128}}",
                &c, &st);
    m = mean_size(&c, &lo, &hi);
    ck_assert_uint_ge(lo, 1);
    ck_assert_msg(fabs(m - 128) < 128 * 0.03, "exponential mean %f", m);
    collect_free(&c);

    collect_run("{\"pattern\":\"churn\",\"events\":200000,\"size\":{\"dist\":\"empirical\","
                "\"sizes\":[16,32,64],\"weights\":[5,3,2]}}", &c, &st);
    uint64_t count[3] = {0};
    for (uint64_t i = 0; i < c.n; i++) {
        int k = c.sizes[i] == 16 ? 0 : c.sizes[i] == 32 ? 1 : c.sizes[i] == 64 ? 2 : -1;
        TEST_REQUIRE(k >= 0, "empirical size %llu", (unsigned long long)c.sizes[i]);
        count[k]++;
    }
    const double want[3] = {0.5, 0.3, 0.2};
    for (int k = 0; k < 3; k++)
        ck_assert_msg(fabs((double)count[k] / (double)c.n - want[k]) < 0.01, "empirical %d: %f", k,
                      (double)count[k] / (double)c.n);
    collect_free(&c);
}
END_TEST

START_TEST(lifetimes_and_live_set)
{
    collect c;
    tr_gen_stats st;
    /* fixed window: every object freed before the end lived exactly 500 allocations */
    collect_run("{\"pattern\":\"churn\",\"events\":40000,\"lifetime\":{\"dist\":\"fixed\",\"window\":500}}",
                &c, &st);
    uint64_t early = 0;
    for (uint64_t id = 1; id <= c.allocs; id++) {
        if (c.birth[id] + 500 <= c.allocs) {
            TEST_REQUIRE(c.life[id] == 500, "id %llu lived %llu", (unsigned long long)id,
                         (unsigned long long)c.life[id]);
            early++;
        }
    }
    ck_assert_uint_gt(early, 19000);
    ck_assert_uint_eq(st.peak_live_objects, 500);
    collect_free(&c);

    /* exponential: mean lifetime near 1000 over objects born early enough that
     * the end does not cut them short; live set about the mean */
    collect_run("{\"pattern\":\"churn\",\"events\":400000,\"lifetime\":{\"dist\":\"exponential\",\"mean\":1000}}",
                &c, &st);
    double sum = 0;
    uint64_t n = 0;
    for (uint64_t id = 1; id <= c.allocs; id++) {
        if (c.birth[id] + 20000 <= c.allocs) {
            sum += (double)c.life[id];
            n++;
        }
    }
    ck_assert_msg(fabs(sum / (double)n - 1000) < 30, "mean lifetime %f", sum / (double)n);
    ck_assert_uint_gt(st.peak_live_objects, 1000);
    ck_assert_uint_lt(st.peak_live_objects, 1200);
    collect_free(&c);
}
END_TEST

START_TEST(hot_writes_zipf)
{
    collect c;
    tr_gen_stats st;
    collect_run("{\"pattern\":\"hot-writes\",\"live\":1000,\"writes\":100000,\"zipf_s\":1}", &c, &st);
    uint64_t *w = malloc(1000 * sizeof *w);
    for (uint64_t i = 0; i < 1000; i++)
        w[i] = c.writes_on[i + 1];
    /* sort descending (insertion sort is fine for 1000) */
    for (int i = 1; i < 1000; i++)
        for (int j = i; j > 0 && w[j] > w[j - 1]; j--) {
            uint64_t x = w[j];
            w[j] = w[j - 1];
            w[j - 1] = x;
        }
    /* rank 1 gets 1/H(1000) = 13.4% of the writes; rank 500 gets 1/500 of that */
    ck_assert_msg(w[0] > 11000 && w[0] < 16000, "hottest object: %llu writes", (unsigned long long)w[0]);
    ck_assert_msg(w[0] > 100 * w[500], "hottest %llu, median %llu", (unsigned long long)w[0],
                  (unsigned long long)w[500]);
    ck_assert_uint_eq(st.writes, 100000);
    collect_free(&c);

    /* hot_fraction 0.1: the other 900 objects get no writes */
    collect_run("{\"pattern\":\"hot-writes\",\"live\":1000,\"writes\":20000,\"hot_fraction\":0.1}", &c, &st);
    uint64_t written = 0;
    for (uint64_t i = 1; i <= 1000; i++)
        written += c.writes_on[i] > 0;
    ck_assert_uint_le(written, 100);
    ck_assert_uint_ge(written, 50);
    collect_free(&c);
    free(w);
}
END_TEST

/* ---- the adversarial patterns' defining properties, in memory ---------------------- */

/* Every event of a run, in order. */
typedef struct evlog {
    tr_event *e;
    uint64_t n, cap;
} evlog;

static int evlog_sink(void *ctx, const tr_event *e)
{
    evlog *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
    }
    l->e[l->n++] = *e;
    return 0;
}

/* Runs text into l; *resolved (if not NULL) gets the resolved spec. */
static void evlog_run(const char *text, evlog *l, json_t **resolved)
{
    memset(l, 0, sizeof *l);
    json_t *spec = spec_of(text);
    tr_error err = {0};
    int rc = tr_gen_run(spec, "trace.gen", evlog_sink, l, NULL, &err);
    ck_assert_msg(rc == 0, "%s: %s", text, err.msg);
    if (resolved)
        ck_assert_int_eq(tr_gen_resolve(spec, "trace.gen", resolved, &err), 0);
    json_decref(spec);
}

static uint64_t resolved_uint(const json_t *r, const char *key)
{
    const json_t *v = json_object_get(r, key);
    ck_assert_msg(json_is_integer(v), "resolved spec has no integer %s", key);
    return (uint64_t)json_integer_value(v);
}

START_TEST(hot_object_takes_the_writes)
{
    evlog l;
    json_t *r;
    /* 3 hot objects (ids 1..3), half a background allocation per hot write,
     * 40 background objects live; background objects written once each */
    evlog_run("{\"pattern\":\"hot-object\",\"seed\":5,\"events\":50000,\"objects\":3,\"churn_rate\":0.5,"
              "\"live\":40,\"writes_per_object\":1}", &l, &r);
    uint64_t writes = resolved_uint(r, "writes"), hot_w[4] = {0}, bg_w = 0, bg_allocs = 0, live = 0, peak = 0;
    uint64_t last_hot_free = 0, first_hot_free = UINT64_MAX;
    for (uint64_t i = 0; i < l.n; i++) {
        const tr_event *e = &l.e[i];
        if (e->op == TR_ALLOC) {
            bg_allocs += e->id > 3;
            peak = ++live > peak ? live : peak;
        } else if (e->op == TR_FREE) {
            live--;
            if (e->id <= 3) {
                first_hot_free = i < first_hot_free ? i : first_hot_free;
                last_hot_free = i;
            }
        } else if (e->id <= 3) {
            hot_w[e->id]++;
        } else {
            bg_w++;
        }
    }
    /* each hot object: its one write at allocation plus about a third of the hot writes */
    ck_assert_uint_eq(hot_w[1] + hot_w[2] + hot_w[3], writes + 3);
    for (int i = 1; i <= 3; i++)
        ck_assert_msg(fabs((double)hot_w[i] - (double)writes / 3) < (double)writes * 0.02,
                      "hot object %d: %llu of %llu writes", i, (unsigned long long)hot_w[i],
                      (unsigned long long)writes);
    ck_assert_uint_eq(bg_allocs, writes / 2);
    ck_assert_uint_eq(bg_w, bg_allocs);                 /* background: writes_per_object only */
    ck_assert_uint_eq(peak, 3 + 40 + 1);                /* one over live before the oldest goes */
    ck_assert_uint_ge(first_hot_free, l.n - 3);         /* the hot objects outlive everything */
    ck_assert_uint_eq(last_hot_free, l.n - 1);
    ck_assert_uint_eq(live, 0);
    json_decref(r);
    free(l.e);
}
END_TEST

START_TEST(ping_pong_reuses_one_size)
{
    evlog l;
    /* one object: alloc, free of that id, alloc, free, ... every alloc the one drawn size */
    evlog_run("{\"pattern\":\"ping-pong\",\"seed\":3,\"events\":10000,"
              "\"size\":{\"dist\":\"uniform\",\"min\":1,\"max\":100000}}", &l, NULL);
    ck_assert_uint_eq(l.n, 10000);
    for (uint64_t i = 0; i < l.n; i++) {
        ck_assert_int_eq(l.e[i].op, i % 2 ? TR_FREE : TR_ALLOC);
        ck_assert_uint_eq(l.e[i].id, i / 2 + 1);
        if (i % 2 == 0)
            ck_assert_uint_eq(l.e[i].size, l.e[0].size);
    }
    free(l.e);
    /* 4 objects on 2 threads, 2 writes each: after the fill, each free is of
     * the oldest live object and is followed by the allocation of its
     * replacement (same size, same thread) and its writes */
    evlog_run("{\"pattern\":\"ping-pong\",\"seed\":4,\"events\":20000,\"objects\":4,\"threads\":2,"
              "\"writes_per_object\":2,\"size\":{\"dist\":\"lognormal\",\"mu\":6,\"sigma\":2}}", &l, NULL);
    uint64_t allocs = 0, oldest = 1, live = 0, steps = 0;
    for (uint64_t i = 0; i < l.n; i++) {
        const tr_event *e = &l.e[i];
        if (e->op == TR_ALLOC) {
            allocs++;
            live++;
            ck_assert_uint_eq(e->size, l.e[0].size);
            ck_assert_uint_le(live, 4);
        } else if (e->op == TR_FREE) {
            ck_assert_uint_eq(e->id, oldest++);
            live--;
            if (i + 3 < l.n && l.e[i + 1].op == TR_ALLOC) {
                steps++;
                ck_assert_uint_eq(l.e[i + 1].thread, e->thread);
                ck_assert_int_eq(l.e[i + 2].op, TR_WRITE);
                ck_assert_int_eq(l.e[i + 3].op, TR_WRITE);
            }
        }
    }
    ck_assert_uint_eq(steps, allocs - 4);
    ck_assert_uint_eq(live, 0);
    free(l.e);
}
END_TEST

START_TEST(hammer_line_hits_one_line)
{
    evlog l;
    json_t *r;
    /* line 2 of a 256-byte object: every non-decoy write is [128, 192) of id 1;
     * exactly a quarter of the writes are decoys, on the decoy objects */
    evlog_run("{\"pattern\":\"hammer-line\",\"seed\":6,\"writes\":10000,\"line\":2,\"decoy_fraction\":0.25,"
              "\"decoy_objects\":8,\"threads\":2}", &l, &r);
    uint64_t on_line = 0, decoy = 0, run = 0, longest_run = 0;
    for (uint64_t i = 0; i < l.n; i++) {
        const tr_event *e = &l.e[i];
        if (e->op == TR_ALLOC)
            ck_assert_uint_eq(e->size, 256);
        if (e->op != TR_WRITE)
            continue;
        if (e->id == 1) {
            ck_assert_uint_eq(e->offset, 128);
            ck_assert_uint_eq(e->len, 64);
            on_line++;
            run++;
        } else {
            ck_assert_uint_le(e->id, 9);
            decoy++;
            longest_run = run > longest_run ? run : longest_run;
            run = 0;
        }
    }
    ck_assert_uint_eq(resolved_uint(r, "writes"), 10000);
    ck_assert_uint_eq(on_line, 7500);       /* >= (1 - decoy_fraction) of the writes, exactly */
    ck_assert_uint_eq(decoy, 2500);
    ck_assert_uint_le(longest_run, 3);      /* decoys interleaved evenly: 3 hammer writes per decoy */
    json_decref(r);
    free(l.e);
    /* the last line of a 100-byte object is 36 bytes: the writes stop at its end */
    evlog_run("{\"pattern\":\"hammer-line\",\"writes\":100,\"line\":1,\"size\":100}", &l, NULL);
    for (uint64_t i = 0; i < l.n; i++)
        if (l.e[i].op == TR_WRITE) {
            ck_assert_uint_eq(l.e[i].offset, 64);
            ck_assert_uint_eq(l.e[i].len, 36);
        }
    free(l.e);
}
END_TEST

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

START_TEST(skewed_hot_lines_take_the_writes)
{
    evlog l;
    json_t *r;
    /* 10000 lines over 7 objects; 1% of the lines (100) hot, 90% of the writes on them */
    evlog_run("{\"pattern\":\"skewed\",\"seed\":12,\"writes\":200000,\"lines\":10000,\"objects\":7}", &l, &r);
    uint64_t first[8] = {0}, total = 0, *count = calloc(10000, sizeof *count), writes = 0;
    for (uint64_t i = 0; i < l.n; i++) {
        const tr_event *e = &l.e[i];
        if (e->op == TR_ALLOC) {
            ck_assert_uint_eq(e->size % 64, 0);
            first[e->id] = total;
            total += e->size / 64;
        } else if (e->op == TR_WRITE) {
            ck_assert_uint_eq(e->offset % 64, 0);       /* one whole line */
            ck_assert_uint_eq(e->len, 64);
            count[first[e->id] + e->offset / 64]++;
            writes++;
        }
    }
    ck_assert_uint_eq(total, 10000);
    ck_assert_uint_eq(writes, 200000);
    qsort(count, 10000, sizeof *count, cmp_desc);
    uint64_t top = 0;
    for (int i = 0; i < 100; i++)
        top += count[i];
    /* the hot lines are the 100 busiest: each takes ~1800 writes, a cold one ~2 */
    ck_assert_msg(count[99] > 10 * count[100], "100th line %llu writes, 101st %llu",
                  (unsigned long long)count[99], (unsigned long long)count[100]);
    /* their share is 0.9 +- 0.005 (the binomial's sd is 0.0007 here) */
    double share = (double)top / (double)writes;
    ck_assert_msg(fabs(share - 0.9) < 0.005, "hot lines take %.4f of the writes", share);
    ck_assert_msg(fabs(json_real_value(json_object_get(r, "hot_fraction")) - 0.9) < 1e-12, "default hot_fraction");
    free(count);
    json_decref(r);
    free(l.e);
}
END_TEST

/* ---- bad specs -------------------------------------------------------------------------- */

static const struct {
    const char *spec, *msg;
} bad_cases[] = {
    {"[1]", "trace.gen: [1] is not allowed (an object: a generator spec with a \"pattern\")"},
    {"{}", "trace.gen.pattern: missing (one of: churn, phases, producer-consumer, larson, hot-writes, hot-object, ping-pong, hammer-line, skewed)"},
    {"{\"pattern\":\"zigzag\"}",
     "trace.gen.pattern: \"zigzag\" is not allowed (one of: churn, phases, producer-consumer, larson, hot-writes, hot-object, ping-pong, hammer-line, skewed)"},
    {"{\"pattern\":\"churn\",\"sead\":1}",
     "trace.gen.sead: unknown key (allowed for churn: pattern, seed, events, threads, size, lifetime, live, "
     "writes_per_object, write_len, free_at_end)"},
    {"{\"pattern\":\"churn\",\"slots\":10}", "trace.gen.slots: not used by pattern churn (only by larson)"},
    {"{\"pattern\":\"larson\",\"live\":10}",
     "trace.gen.live: not used by pattern larson (only by churn, producer-consumer, hot-writes, hot-object)"},
    {"{\"pattern\":\"churn\",\"seed\":-1}", "trace.gen.seed: -1 is not allowed (an integer from 0 to 4294967294)"},
    {"{\"pattern\":\"churn\",\"events\":0}",
     "trace.gen.events: 0 is not allowed (an integer from 1 to 1000000000000)"},
    {"{\"pattern\":\"churn\",\"events\":\"many\"}",
     "trace.gen.events: \"many\" is not allowed (an integer from 1 to 1000000000000)"},
    {"{\"pattern\":\"churn\",\"threads\":2000}", "trace.gen.threads: 2000 is not allowed (an integer from 1 to 1024)"},
    {"{\"pattern\":\"producer-consumer\",\"threads\":1}",
     "trace.gen.threads: 1 is not allowed (producer-consumer needs at least 2)"},
    {"{\"pattern\":\"producer-consumer\",\"threads\":4,\"producers\":4}",
     "trace.gen.producers: 4 is not allowed (an integer from 1 to 3: threads - 1, the other threads consume)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"normal\"}}",
     "trace.gen.size.dist: \"normal\" is not allowed (one of: fixed, uniform, lognormal, exponential, empirical)"},
    {"{\"pattern\":\"churn\",\"size\":{\"min\":1}}",
     "trace.gen.size.dist: missing (one of: fixed, uniform, lognormal, exponential, empirical)"},
    {"{\"pattern\":\"churn\",\"size\":\"big\"}",
     "trace.gen.size: \"big\" is not allowed (a size in bytes, or an object such as "
     "{\"dist\": \"uniform\", \"min\": 16, \"max\": 512})"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"fixed\",\"value\":0}}",
     "trace.gen.size.value: 0 is not allowed (an integer from 1 to 1099511627776)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"uniform\",\"min\":16}}",
     "trace.gen.size.max: missing (an integer from 1 to 1099511627776)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"uniform\",\"min\":600,\"max\":512}}",
     "trace.gen.size.max: 512 is not allowed (at least min, 600)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"uniform\",\"min\":1,\"max\":2,\"value\":3}}",
     "trace.gen.size.value: unknown key (allowed for dist uniform: dist, min, max)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"lognormal\",\"mu\":4,\"sigma\":0}}",
     "trace.gen.size.sigma: 0 is not allowed (a number > 0 and at most 20)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"lognormal\",\"sigma\":1}}",
     "trace.gen.size.mu: missing (a number from -50 to 50)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"exponential\",\"mean\":-3.5}}",
     "trace.gen.size.mean: -3.5 is not allowed (a number > 0 and at most 1099511627776)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"empirical\",\"sizes\":[]}}",
     "trace.gen.size.sizes: [] is not allowed (an array of 1 to 1000000 sizes, each an integer from 1 to "
     "1099511627776)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"empirical\",\"sizes\":[16,0]}}",
     "trace.gen.size.sizes[1]: 0 is not allowed (an integer from 1 to 1099511627776)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"empirical\",\"sizes\":[16,32],\"weights\":[1]}}",
     "trace.gen.size.weights: [1] is not allowed (an array of 2 numbers >= 0, one per size)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"empirical\",\"sizes\":[16,32],\"weights\":[1,-1]}}",
     "trace.gen.size.weights[1]: -1 is not allowed (a number >= 0)"},
    {"{\"pattern\":\"churn\",\"size\":{\"dist\":\"empirical\",\"sizes\":[16,32],\"weights\":[0,0]}}",
     "trace.gen.size.weights: [0,0] is not allowed (numbers >= 0 with a positive, finite sum)"},
    {"{\"pattern\":\"churn\",\"lifetime\":{\"dist\":\"weibull\"}}",
     "trace.gen.lifetime.dist: \"weibull\" is not allowed (one of: exponential, fixed)"},
    {"{\"pattern\":\"churn\",\"lifetime\":{\"dist\":\"fixed\",\"mean\":5}}",
     "trace.gen.lifetime.mean: unknown key (allowed for dist fixed: dist, window)"},
    {"{\"pattern\":\"churn\",\"lifetime\":{\"dist\":\"exponential\",\"mean\":0}}",
     "trace.gen.lifetime.mean: 0 is not allowed (a number of allocations > 0 and at most 10000000)"},
    {"{\"pattern\":\"churn\",\"live\":100,\"lifetime\":{\"dist\":\"fixed\",\"window\":100}}",
     "trace.gen.live: not allowed with trace.gen.lifetime (in churn the live set is the mean lifetime in "
     "allocations: give one of the two)"},
    {"{\"pattern\":\"churn\",\"free_at_end\":1}", "trace.gen.free_at_end: 1 is not allowed (true or false)"},
    {"{\"pattern\":\"churn\",\"write_len\":0}",
     "trace.gen.write_len: 0 is not allowed (an integer from 1 to 1099511627776)"},
    {"{\"pattern\":\"phases\",\"phases\":2,\"peak_live\":10,\"events\":100}",
     "trace.gen.events: not allowed with both phases and peak_live (they set the length: phases x peak_live "
     "x (2 + writes_per_object) events)"},
    {"{\"pattern\":\"phases\",\"events\":7}",
     "trace.gen.events: 7 is not allowed (at least phases x (2 + writes_per_object) = 8 events: one object "
     "per phase)"},
    {"{\"pattern\":\"larson\",\"cross_free\":0.5}",
     "trace.gen.cross_free: 0.5 is not allowed (0 with one thread: freeing on another thread needs threads >= 2)"},
    {"{\"pattern\":\"larson\",\"threads\":2,\"cross_free\":1.5}",
     "trace.gen.cross_free: 1.5 is not allowed (a fraction from 0 to 1)"},
    {"{\"pattern\":\"larson\",\"threads\":64}",
     "trace.gen.events: 100000 is not allowed (more than the 128000 events that filling and emptying "
     "threads x slots = 64000 slots take)"},
    {"{\"pattern\":\"hot-writes\",\"writes\":10,\"events\":100}",
     "trace.gen.events: not allowed with writes (live and writes set the length of a hot-writes trace)"},
    {"{\"pattern\":\"hot-writes\",\"events\":2000}",
     "trace.gen.events: 2000 is not allowed (more than the 2000 events that allocating and freeing the live "
     "set take; or give writes)"},
    {"{\"pattern\":\"hot-writes\",\"hot_fraction\":0}",
     "trace.gen.hot_fraction: 0 is not allowed (a fraction > 0 and at most 1)"},
    {"{\"pattern\":\"hot-writes\",\"zipf_s\":-1}", "trace.gen.zipf_s: -1 is not allowed (a number from 0 to 100)"},
    /* the adversarial patterns */
    {"{\"pattern\":\"skewed\",\"hot_line\":0.1}",
     "trace.gen.hot_line: unknown key (allowed for skewed: pattern, seed, events, threads, objects, lines, "
     "hot_lines, hot_fraction, writes, writes_per_object, free_at_end)"},
    {"{\"pattern\":\"skewed\",\"size\":64}",
     "trace.gen.size: not used by pattern skewed (only by churn, phases, producer-consumer, larson, hot-writes, "
     "hot-object, ping-pong, hammer-line)"},
    {"{\"pattern\":\"skewed\",\"write_len\":8}",
     "trace.gen.write_len: not used by pattern skewed (only by churn, phases, producer-consumer, larson, "
     "hot-writes, hot-object, ping-pong, hammer-line)"},
    {"{\"pattern\":\"ping-pong\",\"writes\":10}",
     "trace.gen.writes: not used by pattern ping-pong (only by hot-writes, hot-object, hammer-line, skewed)"},
    {"{\"pattern\":\"hot-object\",\"line\":1}", "trace.gen.line: not used by pattern hot-object (only by hammer-line)"},
    {"{\"pattern\":\"hot-object\",\"churn_rate\":-1}",
     "trace.gen.churn_rate: -1 is not allowed (a number from 0 to 1000: background allocations per hot write)"},
    {"{\"pattern\":\"hot-object\",\"objects\":0}",
     "trace.gen.objects: 0 is not allowed (an integer from 1 to 10000000)"},
    {"{\"pattern\":\"hot-object\",\"writes\":10,\"events\":100}",
     "trace.gen.events: not allowed with writes (writes sets the length of a hot-object trace)"},
    {"{\"pattern\":\"hot-object\",\"objects\":50,\"events\":100}",
     "trace.gen.events: 100 is not allowed (more than the 100 events that allocating and freeing the objects "
     "take; or give writes)"},
    {"{\"pattern\":\"ping-pong\",\"objects\":5,\"events\":10}",
     "trace.gen.events: 10 is not allowed (more than the 10 events that allocating and freeing the 5 objects "
     "take)"},
    {"{\"pattern\":\"hammer-line\",\"line\":4}",
     "trace.gen.line: 4 is not allowed (an integer from 0 to 3: a line of the object, whose smallest size is "
     "256 bytes)"},
    {"{\"pattern\":\"hammer-line\",\"line\":2,\"size\":{\"dist\":\"uniform\",\"min\":100,\"max\":900}}",
     "trace.gen.line: 2 is not allowed (an integer from 0 to 1: a line of the object, whose smallest size is "
     "100 bytes)"},
    {"{\"pattern\":\"hammer-line\",\"decoy_fraction\":1}",
     "trace.gen.decoy_fraction: 1 is not allowed (a fraction from 0, below 1)"},
    {"{\"pattern\":\"hammer-line\",\"decoy_objects\":0}",
     "trace.gen.decoy_objects: 0 is not allowed (an integer from 1 to 10000000)"},
    {"{\"pattern\":\"skewed\",\"hot_lines\":0}", "trace.gen.hot_lines: 0 is not allowed (a fraction > 0, below 1)"},
    {"{\"pattern\":\"skewed\",\"hot_lines\":1}", "trace.gen.hot_lines: 1 is not allowed (a fraction > 0, below 1)"},
    {"{\"pattern\":\"skewed\",\"hot_fraction\":1.1}",
     "trace.gen.hot_fraction: 1.1 is not allowed (a fraction from 0 to 1)"},
    {"{\"pattern\":\"skewed\",\"lines\":1}", "trace.gen.lines: 1 is not allowed (an integer from 2 to 10000000)"},
    {"{\"pattern\":\"skewed\",\"lines\":10,\"objects\":11}",
     "trace.gen.objects: 11 is not allowed (at most lines, 10: each object has a line at least)"},
};

START_TEST(bad_specs_refused)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        json_t *spec = json_loads(bad_cases[i].spec, JSON_DECODE_ANY, NULL);
        ck_assert_msg(spec != NULL, "bad test JSON %s", bad_cases[i].spec);
        tr_error err = {0};
        ck_assert_int_eq(tr_gen_check(spec, "trace.gen", &err), TR_ESEMANTIC);
        ck_assert_str_eq(err.msg, bad_cases[i].msg);
        ck_assert_uint_eq(err.line, 0);
        json_decref(spec);
    }
    /* bare paths with an empty key */
    json_t *spec = spec_of("{\"pattern\":\"churn\",\"size\":{\"dist\":\"normal\"}}");
    tr_error err = {0};
    ck_assert_int_eq(tr_gen_check(spec, "", &err), TR_ESEMANTIC);
    ck_assert_str_eq(err.msg,
                     "size.dist: \"normal\" is not allowed (one of: fixed, uniform, lognormal, exponential, empirical)");
    /* tr_gen_write refuses the same way and leaves nothing behind */
    char path[512];
    ck_assert_int_eq(tr_gen_write(spec, "trace.gen", tmp_path(path, sizeof path, "bad.jsonl"), &err),
                     TR_ESEMANTIC);
    ck_assert_int_eq(files_in_tmpdir(), 0);
    json_decref(spec);
    /* a directory that does not exist: an I/O error naming the file, nothing left */
    spec = spec_of("{\"pattern\":\"churn\",\"events\":100}");
    tmp_path(path, sizeof path, "no/such/dir/x.jsonl");
    ck_assert_int_eq(tr_gen_write(spec, "trace.gen", path, &err), TR_EIO);
    ck_assert_str_eq(err.file, path);
    ck_assert_int_eq(files_in_tmpdir(), 0);
    json_decref(spec);
}
END_TEST

static int stop_after_10(void *ctx, const tr_event *e)
{
    (void)e;
    return ++*(int *)ctx == 10 ? -99 : 0;
}

START_TEST(sink_can_stop)
{
    json_t *spec = spec_of("{\"pattern\":\"larson\",\"events\":10000,\"threads\":2}");
    tr_error err;
    tr_gen_stats st;
    int calls = 0;
    ck_assert_int_eq(tr_gen_run(spec, "", stop_after_10, &calls, &st, &err), -99);
    ck_assert_int_eq(calls, 10);
    ck_assert_uint_eq(st.events, 10);
    json_decref(spec);
}
END_TEST

/* ---- the command, end to end ---------------------------------------------------------- */

/* Runs `$PMARENA_BIN gen ARGS` with stderr into tmpdir/err.txt; returns the exit status. */
static int run_gen(const char *args, char *errtext, size_t errlen)
{
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_msg(bin != NULL, "PMARENA_BIN is not set (make test sets it)");
    char cmd[2048], errpath[512];
    tmp_path(errpath, sizeof errpath, "err.txt");
    snprintf(cmd, sizeof cmd, "'%s' gen %s >/dev/null 2>'%s'", bin, args, errpath);
    int st = system(cmd);
    ck_assert(WIFEXITED(st));
    FILE *f = fopen(errpath, "r");
    size_t n = f ? fread(errtext, 1, errlen - 1, f) : 0;
    errtext[n] = '\0';
    if (f)
        fclose(f);
    unlink(errpath);
    return WEXITSTATUS(st);
}

START_TEST(command_end_to_end)
{
    char args[1500], out[512], spec_path[512], errtext[2048];
    tmp_path(out, sizeof out, "cli.jsonl.gz");
    snprintf(args, sizeof args, "-o '%s' --pattern larson --seed 9 --events 20000 --threads 3 "
             "--size-dist lognormal:4:1:8:4096 --set slots=200 --set cross_free=0.3", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 0);
    ck_assert_msg(strstr(errtext, " events (") != NULL, "summary: %s", errtext);
    ck_assert_msg(strstr(errtext, "3 threads") && strstr(errtext, "peak live"), "summary: %s", errtext);
    trace_info t;
    trace_check(out, &t);
    ck_assert_uint_eq(t.threads, 3);
    ck_assert_uint_gt(t.cross_frees, 0);
    ck_assert_uint_eq(t.left_live, 0);
    info_free(&t);

    /* the same through --spec, and flags override the file */
    tmp_path(spec_path, sizeof spec_path, "spec.json");
    FILE *f = fopen(spec_path, "w");
    fprintf(f, "{\"pattern\":\"larson\",\"seed\":1,\"events\":20000,\"threads\":3,\"slots\":200,"
               "\"cross_free\":0.3,\"size\":{\"dist\":\"fixed\",\"value\":8}}\n");
    fclose(f);
    char out2[512];
    tmp_path(out2, sizeof out2, "cli2.jsonl.gz");
    snprintf(args, sizeof args, "-o '%s' --spec '%s' --seed 9 --size-dist lognormal:4:1:8:4096", out2, spec_path);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 0);
    ck_assert(same_file(out, out2));

    /* bad flag, bad value, missing -o: exit 2, nothing written */
    tmp_path(out, sizeof out, "never.jsonl");
    snprintf(args, sizeof args, "-o '%s' --pattern churn --bogus 3", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 2);
    ck_assert_msg(strstr(errtext, "--bogus"), "stderr: %s", errtext);
    snprintf(args, sizeof args, "-o '%s' --pattern churn --size-dist normal:3:1", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 2);
    ck_assert_str_eq(errtext, "pmarena gen: size.dist: \"normal\" is not allowed (one of: fixed, uniform, "
                              "lognormal, exponential, empirical)\n");
    snprintf(args, sizeof args, "-o '%s' --pattern churn --events 12x", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 2);
    ck_assert_msg(strstr(errtext, "--events: \"12x\""), "stderr: %s", errtext);
    snprintf(args, sizeof args, "-o '%s' --pattern hot-writes --set zipf_s=-2", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 2);
    ck_assert_str_eq(errtext, "pmarena gen: zipf_s: -2 is not allowed (a number from 0 to 100)\n");
    ck_assert_int_eq(run_gen("--pattern churn", errtext, sizeof errtext), 2);
    ck_assert_int_eq(access(out, F_OK), -1);
    /* only the files written above remain: no temp files */
    ck_assert_int_eq(files_in_tmpdir(), 3);

    ck_assert_int_eq(run_gen("--help", errtext, sizeof errtext), 0);
}
END_TEST

START_TEST(command_adversarial)
{
    char args[1500], out[512], errtext[2048];
    static const char *const flags[] = {
        "--pattern hot-object --events 5000 --set objects=2 --set churn_rate=0.5 --live 30",
        "--pattern ping-pong --events 5000 --size-dist fixed:128 --set objects=2",
        "--pattern hammer-line --events 5000 --size-dist fixed:512 --set line=3 --set decoy_fraction=0.1",
        "--pattern skewed --events 5000 --set lines=2000 --set objects=4 --set hot_fraction=0.95",
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        tmp_path(out, sizeof out, "adv.jsonl.gz");
        snprintf(args, sizeof args, "-o '%s' --seed 3 %s", out, flags[i]);
        ck_assert_msg(run_gen(args, errtext, sizeof errtext) == 0, "%s: %s", flags[i], errtext);
        trace_info t;
        trace_check(out, &t);
        ck_assert_uint_ge(t.events, 5000);
        ck_assert_uint_eq(t.left_live, 0);
        json_t *src = spec_of(json_string_value(json_object_get(t.header, "source")));
        ck_assert_msg(strstr(flags[i], json_string_value(json_object_get(src, "pattern"))), "%s", flags[i]);
        json_decref(src);
        info_free(&t);
        unlink(out);
    }
    /* a key of another pattern or a bad value: exit 2, the key named, nothing written */
    tmp_path(out, sizeof out, "never.jsonl");
    snprintf(args, sizeof args, "-o '%s' --pattern skewed --size-dist fixed:64", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 2);
    ck_assert_msg(strstr(errtext, "pmarena gen: size: not used by pattern skewed"), "stderr: %s", errtext);
    snprintf(args, sizeof args, "-o '%s' --pattern hammer-line --set line=9", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 2);
    ck_assert_msg(strstr(errtext, "pmarena gen: line: 9 is not allowed"), "stderr: %s", errtext);
    snprintf(args, sizeof args, "-o '%s' --pattern ping-pong --set decoys=3", out);
    ck_assert_int_eq(run_gen(args, errtext, sizeof errtext), 2);
    ck_assert_msg(strstr(errtext, "pmarena gen: decoys: unknown key (allowed for ping-pong:"), "stderr: %s",
                  errtext);
    ck_assert_int_eq(access(out, F_OK), -1);
    ck_assert_int_eq(files_in_tmpdir(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, each_pattern_valid, 0, sizeof valid_cases / sizeof valid_cases[0]);
    tcase_add_loop_test(tc, same_seed_same_bytes, 0, sizeof det_specs / sizeof det_specs[0]);
    tcase_add_test(tc, seeds_zero_and_4357_differ);
    tcase_add_test(tc, size_distributions);
    tcase_add_test(tc, lifetimes_and_live_set);
    tcase_add_test(tc, hot_writes_zipf);
    tcase_add_test(tc, hot_object_takes_the_writes);
    tcase_add_test(tc, ping_pong_reuses_one_size);
    tcase_add_test(tc, hammer_line_hits_one_line);
    tcase_add_test(tc, skewed_hot_lines_take_the_writes);
    tcase_add_test(tc, bad_specs_refused);
    tcase_add_test(tc, sink_can_stop);
    tcase_add_test(tc, command_end_to_end);
    tcase_add_test(tc, command_adversarial);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
