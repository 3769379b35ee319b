/* test_pma_crash.c - crash consistency, for every persistence protocol. A
 * seeded workload (allocations of mixed sizes, large ones too, frees, root
 * updates) runs on a sim device with crash simulation; a crash is injected
 * after the k-th store, flush or fence for every k (or MAX_POINTS evenly
 * spaced k when there are more), half of them with random survivors among the
 * unpersisted lines. The log protocol runs with its smallest log (8 KiB, 512
 * records), so the workload wraps it and crashes land inside checkpoints.
 * After each crash pma_open must succeed and pma_check pass (for log, that
 * includes: what recovery would make of the device equals the live set);
 * every allocation whose pma_get_mem returned before the crash is still
 * allocated, and every object whose pma_return_mem returned is free; live
 * objects are disjoint; the root is the last one set (or the one in flight);
 * the heap keeps working. A two-thread workload with cross-thread frees is
 * crashed the same way. Crashes inside pma_init are covered too.
 * PMARENA_CRASH_POINTS raises the points per configuration, PMARENA_CRASH_SEEDS
 * the workloads per configuration (make crashtest). */
#include "testutil.h"
#include "crash_classes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { W_ALLOC, W_FREE, W_ROOT };
enum { NOPS = 700, MAX_POINTS = 1000 };

static uint64_t max_points(void)
{
    const char *e = getenv("PMARENA_CRASH_POINTS");
    return e && atoll(e) > 0 ? (uint64_t)atoll(e) : MAX_POINTS;
}

typedef struct wop { int kind; size_t size; int target; } wop;
typedef struct wres { unsigned char *p; bool started, done; bool freed_durably, free_in_flight; } wres;

/* Objects whose free returned are free after recovery, unless an
 * allocation begun before the crash (it may have survived) reuses the address. */
static void require_freed_free(pma_heap *h, const wres *res, int nops, uint64_t point)
{
    for (int i = 0; i < nops; i++) {
        if (!res[i].p || !res[i].freed_durably)
            continue;
        bool reused = false;
        for (int j = 0; j < nops && !reused; j++)
            reused = j != i && res[j].p == res[i].p && res[j].started && !res[j].freed_durably;
        TEST_REQUIRE(reused || pma_usable_size(h, res[i].p) == 0,
                     "crash point %llu: object %d was freed, yet is live after recovery",
                     (unsigned long long)point, i);
    }
}

static void make_workload(wop *ops, uint64_t seed)
{
    int live[NOPS], nlive = 0;
    for (int i = 0; i < NOPS; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = seed >> 33;
        if (nlive > 0 && r % 10 < 4) {
            int k = (int)((r / 10) % (uint64_t)nlive);
            ops[i] = (wop){W_FREE, 0, live[k]};
            live[k] = live[--nlive];
        } else if (nlive > 0 && r % 10 == 4) {
            ops[i] = (wop){W_ROOT, 0, live[(r / 10) % (uint64_t)nlive]};
        } else {
            size_t size = r % 17 == 0 ? 5000 + r % 9000 : 1 + (r / 7) % 700;
            ops[i] = (wop){W_ALLOC, size, -1};
            live[nlive++] = i;
        }
    }
}

/* Runs the workload; an op is `done` when it returned before the crash point. */
static void run_workload(pma_heap *h, nv_device *d, const wop *ops, wres *res, int *root_done, int *root_flying)
{
    memset(res, 0, NOPS * sizeof *res);
    *root_done = *root_flying = -1;
    for (int i = 0; i < NOPS; i++) {
        bool before = !nv_crash_triggered(d);
        switch (ops[i].kind) {
        case W_ALLOC:
            res[i].p = pma_get_mem(h, ops[i].size);
            TEST_REQUIRE(res[i].p != NULL, "op %d: get_mem failed", i);
            break;
        case W_FREE:
            TEST_REQUIRE(pma_return_mem(h, res[ops[i].target].p) == 0, "op %d: return_mem failed", i);
            break;
        case W_ROOT:
            pma_set_root(h, res[ops[i].target].p);
            break;
        }
        res[i].done = !nv_crash_triggered(d);
        res[i].started = before;
        if (ops[i].kind == W_FREE && res[i].done)
            res[ops[i].target].freed_durably = true;
        else if (ops[i].kind == W_FREE && before)
            res[ops[i].target].free_in_flight = true;    /* cut by the crash: either way */
        if (ops[i].kind == W_ROOT) {
            if (res[i].done)
                *root_done = ops[i].target;
            else if (before)
                *root_flying = ops[i].target;
        }
    }
}

static nv_device *crash_device(void)
{
    return test_sim_open(8 << 20, 64, NV_MODEL_LINE, 0, true);
}

typedef struct span { uintptr_t lo, hi; } span;
static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

static void verify_after_crash(pma_heap *h, const wop *ops, const wres *res, int root_done,
                               int root_flying, uint64_t point)
{
    char msg[256] = "";
    TEST_REQUIRE(pma_check(h, msg, sizeof msg) == 0, "crash point %llu: pma_check: %s",
                 (unsigned long long)point, msg);
    span spans[NOPS];
    int ns = 0;
    for (int i = 0; i < NOPS; i++) {
        if (ops[i].kind != W_ALLOC || !res[i].done || res[i].freed_durably || res[i].free_in_flight)
            continue;
        size_t us = pma_usable_size(h, res[i].p);
        TEST_REQUIRE(us >= ops[i].size, "crash point %llu: allocation %d (%zu bytes) lost",
                     (unsigned long long)point, i, ops[i].size);
        spans[ns++] = (span){(uintptr_t)res[i].p, (uintptr_t)res[i].p + us};
    }
    require_freed_free(h, res, NOPS, point);
    qsort(spans, (size_t)ns, sizeof spans[0], span_cmp);
    for (int i = 1; i < ns; i++)
        TEST_REQUIRE(spans[i].lo >= spans[i - 1].hi, "crash point %llu: objects overlap",
                     (unsigned long long)point);
    void *root = pma_root(h);
    void *want = root_done >= 0 ? res[root_done].p : NULL;
    void *alt = root_flying >= 0 ? res[root_flying].p : want;
    TEST_REQUIRE(root == want || root == alt, "crash point %llu: root %p, want %p",
                 (unsigned long long)point, root, want);
    pma_heap_stats s;
    pma_stats(h, &s);
    TEST_REQUIRE(s.leaked_bytes == 0, "crash point %llu: %llu bytes leaked",
                 (unsigned long long)point, (unsigned long long)s.leaked_bytes);
    /* The heap keeps working: free every surviving object, allocate anew. */
    for (int i = 0; i < NOPS; i++)
        if (ops[i].kind == W_ALLOC && res[i].done && !res[i].freed_durably &&
            (!res[i].free_in_flight || pma_usable_size(h, res[i].p) > 0))
            TEST_REQUIRE(pma_return_mem(h, res[i].p) == 0, "crash point %llu: free of survivor %d",
                         (unsigned long long)point, i);
    for (int i = 0; i < 20; i++)
        TEST_REQUIRE(pma_get_mem(h, 100 + (size_t)i * 300) != NULL, "crash point %llu: heap unusable",
                     (unsigned long long)point);
    TEST_REQUIRE(pma_check(h, msg, sizeof msg) == 0, "crash point %llu: after reuse: %s",
                 (unsigned long long)point, msg);
}

static const struct {
    pma_persistence ps; uint32_t g; pma_policy p; pma_bitmap_layout l; pma_metadata m;
} configs[] = {
    {PMA_PERSIST_LOG, 1, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {PMA_PERSIST_LOG, 16, PMA_NEXT_FIT, PMA_LAYOUT_INTERLEAVED, PMA_META_NVRAM},
    {PMA_PERSIST_LOG, 64, PMA_WEAR_AWARE, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {PMA_PERSIST_LOG, 16, PMA_LAFO, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {PMA_PERSIST_INTENT, 1, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {PMA_PERSIST_INTENT, 16, PMA_NEXT_FIT, PMA_LAYOUT_INTERLEAVED, PMA_META_NVRAM},
    {PMA_PERSIST_INTENT, 64, PMA_WEAR_AWARE, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
    {PMA_PERSIST_INTENT, 16, PMA_LAFO, PMA_LAYOUT_LINEAR, PMA_META_HYBRID},
};

static pma_config config_of(int i)
{
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = configs[i].ps;
    c.granularity = configs[i].g;
    c.policy = configs[i].p;
    c.bitmap_layout = configs[i].l;
    c.metadata = configs[i].m;
    c.arena_size = 64 << 10;
    c.log_kib = 8;
    return c;
}

/* Workloads per configuration: PMARENA_CRASH_SEEDS (make crashtest), 1 by default. */
static unsigned crash_seeds(void)
{
    const char *e = getenv("PMARENA_CRASH_SEEDS");
    return e && atoi(e) > 0 ? (unsigned)atoi(e) : 1;
}

/* Configuration i, its workload drawn from seed: a crash at each point. */
static void crash_config(int _i, uint64_t seed)
{
    pma_config c = config_of(_i);
    wop ops[NOPS];
    wres res[NOPS];
    make_workload(ops, seed);
    int root_done, root_flying;
    /* Count the workload's stores, flushes and fences. */
    nv_device *d = crash_device();
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    nv_crash_disarm(d);
    run_workload(h, d, ops, res, &root_done, &root_flying);
    uint64_t total = nv_crash_ops_count(d, NV_OP_ALL);
    pma_heap_stats st;
    pma_stats(h, &st);
    if (c.persistence == PMA_PERSIST_LOG)
        ck_assert_uint_ge(st.log_wraps, 1);      /* crashes land in checkpoints too */
    pma_destroy(h);
    nv_close(d);
    ck_assert_uint_gt(total, 200);
    uint64_t cap = max_points();
    uint64_t points = total < cap ? total : cap, tested = 0;
    crash_classes cc = {0};
    for (uint64_t j = 0; j < points; j++) {
        uint64_t k = 1 + j * total / points;
        d = crash_device();
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, k), 0);
        run_workload(h, d, ops, res, &root_done, &root_flying);
        TEST_REQUIRE(nv_crash_triggered(d), "point %llu did not trigger", (unsigned long long)k);
        pma_destroy(h);
        nv_crash_opts o = {.survive_p = (j % 2) ? 0.5 : 0.0, .seed = k};
        crash_classes_note(&cc, d, o.survive_p > 0);
        ck_assert_int_eq(nv_crash(d, &o), 0);
        int rc = pma_open(&h, d);
        TEST_REQUIRE(rc == 0, "crash point %llu: pma_open: %s", (unsigned long long)k, pma_strerror(rc));
        verify_after_crash(h, ops, res, root_done, root_flying, k);
        pma_destroy(h);
        nv_close(d);
        tested++;
    }
    ck_assert_uint_ge(tested, points);
    char label[64];
    snprintf(label, sizeof label, "%s:1-thread", pma_persistence_name(c.persistence));
    crash_classes_print(&cc, label);
    printf("crash points, %s #%d, workload %llu: %llu\n", pma_persistence_name(c.persistence), _i,
           (unsigned long long)seed, (unsigned long long)tested);
}

START_TEST(crash_at_every_point)
{
    for (unsigned k = 0; k < crash_seeds(); k++)
        crash_config(_i, 42 + (uint64_t)_i + 1000 * (uint64_t)k);
}
END_TEST

/* ---- two threads, cross-thread frees -------------------------------------- */

enum { MT_THREADS = 2, MT_OBJS = 120 };

typedef struct mt_run {
    pma_heap *h;
    nv_device *d;
    pthread_barrier_t *bar;
    wres res[MT_THREADS][MT_OBJS * 2];
} mt_run;

typedef struct mt_arg { mt_run *r; int t; } mt_arg;

static void mt_free(mt_run *r, wres *w)
{
    bool before = !nv_crash_triggered(r->d);
    TEST_REQUIRE(pma_return_mem(r->h, w->p) == 0, "cross-thread free failed");
    if (!nv_crash_triggered(r->d))
        w->freed_durably = true;
    else if (before)
        w->free_in_flight = true;
}

static void *mt_worker(void *p)
{
    mt_arg *a = p;
    mt_run *r = a->r;
    wres *mine = r->res[a->t], *theirs = r->res[1 - a->t];
    uint64_t seed = 7 + (uint64_t)a->t;
    for (int i = 0; i < MT_OBJS; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        mine[i].started = !nv_crash_triggered(r->d);
        mine[i].p = pma_get_mem(r->h, 1 + (seed >> 33) % 600);
        TEST_REQUIRE(mine[i].p != NULL, "get_mem failed");
        mine[i].done = !nv_crash_triggered(r->d);
    }
    pthread_barrier_wait(r->bar);
    for (int i = 0; i < MT_OBJS; i++) {
        if (i % 2 == 0)
            mt_free(r, &theirs[i]);            /* objects the other thread made */
        else if (i % 3 == 0)
            mt_free(r, &mine[i]);
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        wres *w = &mine[MT_OBJS + i];
        w->started = !nv_crash_triggered(r->d);
        w->p = pma_get_mem(r->h, 1 + (seed >> 33) % 600);
        TEST_REQUIRE(w->p != NULL, "get_mem failed");
        w->done = !nv_crash_triggered(r->d);
    }
    return NULL;
}

static void mt_workload(mt_run *r)
{
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, MT_THREADS);
    r->bar = &bar;
    memset(r->res, 0, sizeof r->res);
    pthread_t th[MT_THREADS];
    mt_arg args[MT_THREADS];
    for (int t = 0; t < MT_THREADS; t++) {
        args[t] = (mt_arg){r, t};
        pthread_create(&th[t], NULL, mt_worker, &args[t]);
    }
    for (int t = 0; t < MT_THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&bar);
}

static void mt_verify(pma_heap *h, mt_run *r, uint64_t point)
{
    char msg[256] = "";
    TEST_REQUIRE(pma_check(h, msg, sizeof msg) == 0, "mt crash point %llu: pma_check: %s",
                 (unsigned long long)point, msg);
    const wres *all = &r->res[0][0];
    int n = MT_THREADS * MT_OBJS * 2;
    span *spans = malloc((size_t)n * sizeof *spans);
    int ns = 0;
    for (int i = 0; i < n; i++) {
        if (!all[i].p || !all[i].done || all[i].freed_durably || all[i].free_in_flight)
            continue;
        size_t us = pma_usable_size(h, all[i].p);
        TEST_REQUIRE(us > 0, "mt crash point %llu: allocation %d lost", (unsigned long long)point, i);
        spans[ns++] = (span){(uintptr_t)all[i].p, (uintptr_t)all[i].p + us};
    }
    require_freed_free(h, all, n, point);
    qsort(spans, (size_t)ns, sizeof spans[0], span_cmp);
    for (int i = 1; i < ns; i++)
        TEST_REQUIRE(spans[i].lo >= spans[i - 1].hi, "mt crash point %llu: objects overlap",
                     (unsigned long long)point);
    free(spans);
}

START_TEST(crash_two_threads)
{
    crash_classes cc = {0};
    pma_config c = config_of(_i);
    static mt_run r;
    nv_device *d = crash_device();
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    nv_crash_disarm(d);
    r.h = h;
    r.d = d;
    mt_workload(&r);
    uint64_t total = nv_crash_ops_count(d, NV_OP_ALL);
    pma_destroy(h);
    nv_close(d);
    uint64_t cap = max_points() / 3, points = total < cap ? total : cap;
    for (uint64_t j = 0; j < points; j++) {
        uint64_t k = 1 + j * total / points;
        d = crash_device();
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, k), 0);
        r.h = h;
        r.d = d;
        mt_workload(&r);
        pma_destroy(h);
        nv_crash_opts o = {.survive_p = (j % 2) ? 0.5 : 0.0, .seed = k};
        crash_classes_note(&cc, d, o.survive_p > 0);
        ck_assert_int_eq(nv_crash(d, &o), 0);
        int rc = pma_open(&h, d);
        TEST_REQUIRE(rc == 0, "mt crash point %llu: pma_open: %s", (unsigned long long)k, pma_strerror(rc));
        mt_verify(h, &r, k);
        pma_destroy(h);
        nv_close(d);
    }
    char label[64];
    snprintf(label, sizeof label, "%s:2-threads", pma_persistence_name(c.persistence));
    crash_classes_print(&cc, label);
    printf("crash points, two threads, %s #%d: %llu\n", pma_persistence_name(c.persistence), _i,
           (unsigned long long)points);
}
END_TEST

/* A crash inside pma_init leaves either no heap or a valid empty one. */
START_TEST(crash_during_init)
{
    pma_config c;
    pma_config_defaults(&c);
    nv_device *d = crash_device();
    pma_heap *h;
    nv_crash_disarm(d);
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    uint64_t total = nv_crash_ops_count(d, NV_OP_ALL);
    pma_destroy(h);
    nv_close(d);
    ck_assert_uint_ge(total, 6);
    int found = 0;
    crash_classes cc = {0};
    for (uint64_t k = 1; k <= total; k++) {
        d = crash_device();
        nv_crash_arm(d, NV_OP_ALL, k);
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        pma_destroy(h);
        crash_classes_note(&cc, d, false);
        nv_crash(d, NULL);
        int rc = pma_open(&h, d);
        ck_assert(rc == 0 || rc == PMA_ENOHEAP);
        if (rc == 0) {
            found++;
            test_heap_ok(h);
            ck_assert_ptr_nonnull(pma_get_mem(h, 10));
            pma_destroy(h);
        }
        nv_close(d);
    }
    ck_assert_int_ge(found, 1);                     /* the last point: init finished */
    char label[64];
    snprintf(label, sizeof label, "%s:init", pma_persistence_name(c.persistence));
    crash_classes_print(&cc, label);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_crash");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, crash_at_every_point, 0, (int)(sizeof configs / sizeof configs[0]));
    tcase_add_loop_test(tc, crash_two_threads, 0, (int)(sizeof configs / sizeof configs[0]));
    tcase_add_test(tc, crash_during_init);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
