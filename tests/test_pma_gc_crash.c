/* test_pma_gc_crash.c - crash consistency of the gc persistence protocol.
 *
 * Under gc an allocation is durable only once the program links it from
 * the root, so the workload behaves as a real program must: the root is a
 * table of device offsets; an allocation fills its whole object with a
 * pattern, persists it, then stores its offset into a table entry and
 * persists that; a free clears the entry, persists, then returns the
 * object. Some objects are nodes whose first word is the offset of a child
 * object that no table entry names (reachable only through the node).
 * Large objects are among them. Data words have their top bit set, so no
 * data word looks like an offset and the conservative trace must find
 * exactly what the table reaches.
 *
 * A crash is injected after the k-th store, flush or fence (every k, or
 * evenly spaced ones up to the cap), half with random survivors among the
 * unpersisted lines; half the points recover conservatively, half with a
 * precise tracer. After recovery, read from the device as it came back:
 * every object the table reaches (entries, then nodes' children) is
 * allocated and intact; the live object count equals what the table
 * reaches (nothing unreachable stays allocated, nothing reachable was
 * freed); pma_check passes; the heap keeps working. The same runs with two
 * threads and cross-thread frees, and with the crash inside the clean
 * close. PMARENA_CRASH_POINTS raises the points per configuration. */
#include "testutil.h"
#include "crash_classes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ENTRIES = 512, NOPS = 360, MAX_POINTS = 1100 };

#define DATA_BIT (1ull << 63)

static uint64_t max_points(void)
{
    const char *e = getenv("PMARENA_CRASH_POINTS");
    return e && atoll(e) > 0 ? (uint64_t)atoll(e) : MAX_POINTS;
}

static uint64_t pattern(uint64_t id, size_t k) { return DATA_BIT | id << 24 | (k & 0xffffff); }

static void persist_store(nv_device *d, uint64_t off, const void *src, size_t len)
{
    nv_write(d, off, src, len, NV_DATA);
    nv_persist(d, off, len);
}

/* Fills the whole object (its slot: no stale word stays) with id's pattern;
 * word 1 holds the number of words written (a large object recovered by a
 * trace is taken to span its whole arena, more than was written); a node's
 * first word is its child's offset. Objects have 8 words at least. */
static void fill(pma_heap *h, void *p, uint64_t id, uint64_t child)
{
    size_t bytes = pma_usable_size(h, p), words = bytes / 8;
    uint64_t *buf = malloc(bytes);
    for (size_t k = 0; k < words; k++)
        buf[k] = pattern(id, k);
    buf[1] = DATA_BIT | words;
    if (child)
        buf[0] = child;
    persist_store(pma_device(h), pma_offset(h, p), buf, words * 8);
    free(buf);
}

typedef struct prog {
    pma_heap *h;
    uint64_t table;          /* device offset of the root table */
} prog;

static uint64_t *table_of(prog *g) { return pma_pointer(g->h, g->table); }

static void set_entry(prog *g, int e, uint64_t off)
{
    persist_store(pma_device(g->h), g->table + (uint64_t)e * 8, &off, 8);
}

static size_t size_for(uint64_t r)
{
    return r % 23 == 0 ? 5000 + r % 9000 : 8 + (r / 7) % 700;
}

static void prog_alloc(prog *g, int e, uint64_t r, uint64_t id)
{
    uint64_t child = 0;
    if (r % 4 == 0) {
        void *c = pma_get_mem(g->h, size_for(r / 5));
        TEST_REQUIRE(c != NULL, "get_mem (child) failed");
        fill(g->h, c, id * 2 + 1, 0);
        child = pma_offset(g->h, c);
    }
    void *p = pma_get_mem(g->h, 16 + size_for(r / 3));
    TEST_REQUIRE(p != NULL, "get_mem failed");
    fill(g->h, p, id * 2, child);
    set_entry(g, e, pma_offset(g->h, p));
}

static void prog_free(prog *g, int e)
{
    uint64_t off = table_of(g)[e];
    uint64_t w0 = *(uint64_t *)pma_pointer(g->h, off);
    set_entry(g, e, 0);
    if (!(w0 & DATA_BIT))
        TEST_REQUIRE(pma_return_mem(g->h, pma_pointer(g->h, w0)) == 0, "free of a child failed");
    TEST_REQUIRE(pma_return_mem(g->h, pma_pointer(g->h, off)) == 0, "free failed");
}

/* Entries [lo, hi) of the table: a seeded mix of allocations and frees;
 * object ids from id_base (threads use different ones). */
static void prog_run(prog *g, int lo, int hi, int nops, uint64_t seed, uint64_t id_base)
{
    for (int i = 0; i < nops; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = seed >> 33;
        int e = lo + (int)(r % (uint64_t)(hi - lo));
        if (table_of(g)[e])
            prog_free(g, e);
        else
            prog_alloc(g, e, r / 64, id_base + (uint64_t)i);
    }
}

static void prog_setup(prog *g, pma_heap *h)
{
    g->h = h;
    void *t = pma_get_mem(h, ENTRIES * 8);
    ck_assert_ptr_nonnull(t);
    g->table = pma_offset(h, t);
    nv_set(pma_device(h), g->table, 0, ENTRIES * 8, NV_DATA);
    nv_persist(pma_device(h), g->table, ENTRIES * 8);
    ck_assert_int_eq(pma_set_root(h, t), 0);
}

/* ---- verification ----------------------------------------------------------- */

/* The object at off is allocated and holds one id's whole pattern (a node:
 * after its child's offset). Returns the child's offset, or 0. */
static uint64_t require_intact(pma_heap *h, uint64_t off, uint64_t point)
{
    const uint64_t *w = pma_pointer(h, off);
    size_t bytes = pma_usable_size(h, w);
    TEST_REQUIRE(bytes > 0, "crash point %llu: a reachable object at %llu was freed",
                 (unsigned long long)point, (unsigned long long)off);
    size_t words = (size_t)(w[1] & ~DATA_BIT);
    TEST_REQUIRE(words >= 8 && words <= bytes / 8, "crash point %llu: object at %llu: %zu words written, %zu usable",
                 (unsigned long long)point, (unsigned long long)off, words, bytes / 8);
    uint64_t id = (w[2] & ~DATA_BIT) >> 24;
    bool node = !(w[0] & DATA_BIT);
    for (size_t k = node ? 2 : 0; k < words; k += k == 0 ? 2 : 1)
        TEST_REQUIRE(w[k] == pattern(id, k), "crash point %llu: object at %llu torn at word %zu",
                     (unsigned long long)point, (unsigned long long)off, k);
    return node ? w[0] : 0;
}

static uint64_t verify(pma_heap *h, uint64_t table, uint64_t point)
{
    char msg[256] = "";
    TEST_REQUIRE(pma_check(h, msg, sizeof msg) == 0, "crash point %llu: pma_check: %s",
                 (unsigned long long)point, msg);
    TEST_REQUIRE(pma_root(h) == pma_pointer(h, table), "crash point %llu: root lost",
                 (unsigned long long)point);
    TEST_REQUIRE(pma_usable_size(h, pma_pointer(h, table)) > 0, "crash point %llu: root table freed",
                 (unsigned long long)point);
    const uint64_t *t = pma_pointer(h, table);
    uint64_t reach = 1;
    for (int e = 0; e < ENTRIES; e++) {
        if (!t[e])
            continue;
        uint64_t child = require_intact(h, t[e], point);
        reach++;
        if (child) {
            TEST_REQUIRE(require_intact(h, child, point) == 0, "crash point %llu: a child is a node",
                         (unsigned long long)point);
            reach++;
        }
    }
    pma_heap_stats s;
    pma_stats(h, &s);
    TEST_REQUIRE(s.live_objects == reach, "crash point %llu: %llu live objects, %llu reachable (a leak)",
                 (unsigned long long)point, (unsigned long long)s.live_objects, (unsigned long long)reach);
    return reach;
}

/* The heap keeps working after recovery: free and allocate through the
 * program, then check. */
static void keep_working(pma_heap *h, uint64_t table, uint64_t point)
{
    prog g = {.h = h, .table = table};
    prog_run(&g, 0, ENTRIES, 200, point, 1u << 20);
    char msg[256] = "";
    TEST_REQUIRE(pma_check(h, msg, sizeof msg) == 0, "crash point %llu: after reuse: %s",
                 (unsigned long long)point, msg);
    verify(h, table, point);
}

/* The precise tracer: the table's entries, and a node's first word. */
static void tracer(pma_tracer *t, uint64_t off, const void *obj, size_t bytes, void *arg)
{
    const uint64_t *w = obj;
    if (off == *(const uint64_t *)arg) {
        for (size_t k = 0; k < bytes / 8; k++)
            if (w[k])
                pma_trace_ref(t, w[k]);
    } else if (!(w[0] & DATA_BIT)) {
        pma_trace_ref(t, w[0]);
    }
}

static pma_heap *recover(nv_device *d, uint64_t *table, bool precise, uint64_t point)
{
    pma_open_opts o = {.trace = tracer, .trace_arg = table};
    pma_heap *h;
    int rc = pma_open_ex(&h, d, precise ? &o : NULL);
    TEST_REQUIRE(rc == 0, "crash point %llu: pma_open: %s", (unsigned long long)point, pma_strerror(rc));
    pma_open_info info;
    pma_open_info_get(h, &info);
    TEST_REQUIRE(info.bad_refs == 0, "crash point %llu: the tracer named %llu offsets with no object",
                 (unsigned long long)point, (unsigned long long)info.bad_refs);
    return h;
}

/* ---- configurations --------------------------------------------------------- */

static const struct {
    uint32_t g; pma_policy p; pma_bitmap_layout l; pma_metadata m;
} configs[] = {
    {1, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {16, PMA_NEXT_FIT, PMA_LAYOUT_INTERLEAVED, PMA_META_NVRAM},
    {64, PMA_WEAR_AWARE, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {16, PMA_LAFO, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {1, PMA_FIRST_FIT, PMA_LAYOUT_INTERLEAVED, PMA_META_NVRAM},
};
#define NCONFIGS ((int)(sizeof configs / sizeof configs[0]))

static pma_config config_of(int i)
{
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = PMA_PERSIST_GC;
    c.granularity = configs[i].g;
    c.policy = configs[i].p;
    c.bitmap_layout = configs[i].l;
    c.metadata = configs[i].m;
    c.arena_size = 64 << 10;
    return c;
}

static nv_device *crash_device(void)
{
    return test_sim_open(8 << 20, 64, NV_MODEL_LINE, 0, true);
}

/* ---- one thread ------------------------------------------------------------- */

START_TEST(crash_at_every_point)
{
    crash_classes cc = {0};
    pma_config c = config_of(_i);
    nv_device *d = crash_device();
    pma_heap *h;
    prog g;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    prog_setup(&g, h);
    nv_crash_disarm(d);
    prog_run(&g, 0, ENTRIES, NOPS, 42 + (uint64_t)_i, 1);
    uint64_t total = nv_crash_ops_count(d, NV_OP_ALL);
    pma_abandon(h);
    nv_close(d);
    ck_assert_uint_gt(total, 500);
    uint64_t cap = max_points(), points = total < cap ? total : cap, reach_sum = 0;
    for (uint64_t j = 0; j < points; j++) {
        uint64_t k = 1 + j * total / points;
        d = crash_device();
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        prog_setup(&g, h);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, k), 0);
        prog_run(&g, 0, ENTRIES, NOPS, 42 + (uint64_t)_i, 1);
        TEST_REQUIRE(nv_crash_triggered(d), "point %llu did not trigger", (unsigned long long)k);
        pma_abandon(h);
        nv_crash_opts o = {.survive_p = (j % 2) ? 0.5 : 0.0, .seed = k};
        crash_classes_note(&cc, d, o.survive_p > 0);
        ck_assert_int_eq(nv_crash(d, &o), 0);
        h = recover(d, &g.table, j % 4 >= 2, k);
        reach_sum += verify(h, g.table, k);
        keep_working(h, g.table, k);
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_uint_gt(reach_sum, points);       /* the crashes found objects to keep */
    crash_classes_print(&cc, "gc:1-thread");
    printf("crash points, gc #%d: %llu\n", _i, (unsigned long long)points);
}
END_TEST

/* A crash inside the clean close: the next open traces (or, once the clean
 * word is durable, loads the close's state), and the same holds. */
START_TEST(crash_during_clean_close)
{
    crash_classes cc = {0};
    pma_config c = config_of(_i);
    nv_device *d = crash_device();
    pma_heap *h;
    prog g;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    prog_setup(&g, h);
    prog_run(&g, 0, ENTRIES, NOPS, 7 + (uint64_t)_i, 1);
    nv_crash_disarm(d);
    pma_destroy(h);
    uint64_t total = nv_crash_ops_count(d, NV_OP_ALL);
    nv_close(d);
    ck_assert_uint_gt(total, 3);
    int clean = 0;
    uint64_t cap = max_points() / 2, points = total < cap ? total : cap;
    for (uint64_t j = 1; j <= points; j++) {
        uint64_t k = j == points ? total : 1 + (j - 1) * total / points;
        d = crash_device();
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        prog_setup(&g, h);
        prog_run(&g, 0, ENTRIES, NOPS, 7 + (uint64_t)_i, 1);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, k), 0);
        pma_destroy(h);
        /* Survivors by a hash of k: k % 2 lined up with store/flush pairs. */
        nv_crash_opts o = {.survive_p = ((k * 0x9E3779B97F4A7C15ull) >> 63) ? 0.5 : 0.0, .seed = k};
        crash_classes_note(&cc, d, o.survive_p > 0);
        ck_assert_int_eq(nv_crash(d, &o), 0);
        h = recover(d, &g.table, k % 3 == 0, k);
        pma_open_info info;
        pma_open_info_get(h, &info);
        clean += strcmp(info.how, "clean") == 0;
        verify(h, g.table, k);
        keep_working(h, g.table, k);
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_int_ge(clean, 1);        /* the last point: the close finished */
    crash_classes_print(&cc, "gc:clean-close");
    printf("crash points, gc clean close #%d: %llu of %llu (%d reopened clean)\n", _i, (unsigned long long)points,
           (unsigned long long)total, clean);
}
END_TEST

/* ---- two threads, cross-thread frees ---------------------------------------- */

typedef struct mt_run { prog g; pthread_barrier_t bar; } mt_run;
typedef struct mt_arg { mt_run *r; int t; } mt_arg;

static void *mt_worker(void *p)
{
    mt_arg *a = p;
    prog *g = &a->r->g;
    int half = ENTRIES / 2, mine = a->t * half, theirs = (1 - a->t) * half;
    uint64_t ids = 1 + ((uint64_t)a->t << 30);
    prog_run(g, mine, mine + half, 90, 11 + (uint64_t)a->t, ids);
    pthread_barrier_wait(&a->r->bar);
    /* Each thread frees objects the other one made (every other entry of
     * the other half), then goes on in its own half. */
    for (int e = theirs; e < theirs + half; e += 2)
        if (table_of(g)[e])
            prog_free(g, e);
    pthread_barrier_wait(&a->r->bar);
    prog_run(g, mine, mine + half, 90, 23 + (uint64_t)a->t, ids + (1u << 20));
    return NULL;
}

static void mt_workload(mt_run *r)
{
    pthread_barrier_init(&r->bar, NULL, 2);
    pthread_t th[2];
    mt_arg args[2];
    for (int t = 0; t < 2; t++) {
        args[t] = (mt_arg){r, t};
        pthread_create(&th[t], NULL, mt_worker, &args[t]);
    }
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&r->bar);
}

START_TEST(crash_two_threads)
{
    crash_classes cc = {0};
    pma_config c = config_of(_i);
    static mt_run r;
    nv_device *d = crash_device();
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    prog_setup(&r.g, h);
    nv_crash_disarm(d);
    mt_workload(&r);
    uint64_t total = nv_crash_ops_count(d, NV_OP_ALL);
    pma_abandon(h);
    nv_close(d);
    uint64_t cap = max_points() / 4, points = total < cap ? total : cap;
    for (uint64_t j = 0; j < points; j++) {
        uint64_t k = 1 + j * total / points;
        d = crash_device();
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        prog_setup(&r.g, h);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, k), 0);
        mt_workload(&r);
        pma_abandon(h);
        nv_crash_opts o = {.survive_p = (j % 2) ? 0.5 : 0.0, .seed = k};
        crash_classes_note(&cc, d, o.survive_p > 0);
        ck_assert_int_eq(nv_crash(d, &o), 0);
        h = recover(d, &r.g.table, j % 4 >= 2, k);
        verify(h, r.g.table, k);
        keep_working(h, r.g.table, k);
        pma_destroy(h);
        nv_close(d);
    }
    crash_classes_print(&cc, "gc:2-threads");
    printf("crash points, gc two threads #%d: %llu\n", _i, (unsigned long long)points);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_gc_crash");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, crash_at_every_point, 0, NCONFIGS);
    tcase_add_loop_test(tc, crash_during_clean_close, 0, 2);
    tcase_add_loop_test(tc, crash_two_threads, 0, 2);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
