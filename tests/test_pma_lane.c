/* test_pma_lane.c - the fast lane (allocator/lane.h): the common get and
 * return of a log heap on a direct device, which every other allocator suite
 * misses (they run on the sim device, where the lane is closed).
 *   - The lane does what the general path does: one seeded workload, with
 *     bad frees and large objects among the small ones, on a dram device
 *     (lane) and on a sim device (general path) gives the same pointers,
 *     the same return codes, the same counters and byte for byte the same
 *     device image, across log wraps and checkpoints.
 *   - Threads with cross-thread frees on dram: stamps intact, counters add
 *     up, pma_check holds.
 *   - On the file device, where the lane flushes and fences: reopened
 *     after pma_abandon (nothing more written, no clean close), the heap
 *     holds every get and return that had returned, recovered from the
 *     lane's records. The file's page cache outlives the process, so this
 *     checks recovery, not flush order: the sim crash suite checks that for
 *     the general path, which stores the same bytes (the first test). */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { DEV_BYTES = 16 << 20 };

static nv_device *dram_open(uint64_t size)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.kind = NV_KIND_DRAM;
    cfg.size = size;
    nv_device *d = NULL;
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    return d;
}

/* A size: mostly small and repeated (so caches hit), some large. */
static size_t pick_size(uint64_t *seed)
{
    uint64_t r = test_xs(seed);
    if (r % 100 == 0)
        return 4097 + (size_t)(r >> 20) % 70000;
    static const size_t common[] = {8, 24, 64, 100, 250, 512, 1000, 4096};
    if (r % 4)
        return common[(r >> 8) % 8];
    return 1 + (size_t)(r >> 12) % 4096;
}

enum { SLOTS = 512, OPS = 150000 };

/* One heap's run of the workload: what each operation gave back. */
typedef struct trace_out {
    uint64_t got[OPS];   /* offset of each get (0: failed), return code of each return */
} trace_out;

static void run_workload(pma_heap *h, trace_out *out)
{
    void *live[SLOTS] = {0};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < OPS; i++) {
        int k = (int)(test_xs(&seed) % SLOTS);
        uint64_t r = test_xs(&seed);
        if (live[k] && r % 50 == 0) {
            /* bad frees: an interior pointer, a foreign one, NULL (nothing
             * changes; the code says why) */
            void *bad = r % 3 == 0 ? (char *)live[k] + 16 : r % 3 == 1 ? (void *)&seed : NULL;
            out->got[i] = (uint64_t)(pma_return_mem(h, bad) + 1000);
        } else if (live[k]) {
            out->got[i] = (uint64_t)pma_return_mem(h, live[k]);
            if (r % 97 == 0)     /* a double free */
                out->got[i] += 10 * (uint64_t)(pma_return_mem(h, live[k]) + 1000);
            live[k] = NULL;
        } else {
            size_t size = pick_size(&seed);
            live[k] = pma_get_mem(h, size);
            out->got[i] = live[k] ? pma_offset(h, live[k]) : 0;
            if (live[k])
                memset(live[k], k & 0xff, size < 64 ? size : 64);
        }
    }
}

START_TEST(lane_does_what_the_general_path_does)
{
    static trace_out a, b;
    nv_device *dd = dram_open(DEV_BYTES), *sd = test_sim_open(DEV_BYTES, 64, NV_MODEL_LINE, 0, false);
    pma_config cfg;
    pma_config_defaults(&cfg);
    pma_heap *hd, *hs;
    ck_assert_int_eq(pma_init(&hd, dd, &cfg), 0);
    ck_assert_int_eq(pma_init(&hs, sd, &cfg), 0);
    run_workload(hd, &a);
    run_workload(hs, &b);
    for (int i = 0; i < OPS; i++)
        TEST_REQUIRE(a.got[i] == b.got[i], "op %d: lane %llu, general path %llu", i,
                     (unsigned long long)a.got[i], (unsigned long long)b.got[i]);
    pma_heap_stats x, y;
    ck_assert_int_eq(pma_stats(hd, &x), 0);
    ck_assert_int_eq(pma_stats(hs, &y), 0);
    ck_assert_uint_gt(x.lane_ops, (x.allocs + x.frees) / 2);   /* the lane did serve */
    ck_assert_uint_eq(y.lane_ops, 0);                           /* and is closed on sim */
    ck_assert_uint_gt(x.log_wraps, 2);
#define SAME(f) ck_assert_msg(x.f == y.f, #f ": lane %llu, general path %llu", \
                              (unsigned long long)x.f, (unsigned long long)y.f)
    SAME(requested_bytes); SAME(allocated_bytes); SAME(live_objects); SAME(footprint_bytes);
    SAME(allocs); SAME(frees); SAME(failed_allocs); SAME(bad_frees); SAME(next_class_hits);
    SAME(cache_hits); SAME(cache_misses); SAME(cached_bytes);
    SAME(flushes); SAME(fences); SAME(meta_bytes); SAME(checkpoints); SAME(log_wraps);
    SAME(free_bytes); SAME(free_runs); SAME(empty_arenas);
#undef SAME
    test_heap_ok(hd);
    test_heap_ok(hs);
    /* the same records, checkpoints, bitmaps and data on both devices */
    const unsigned char *p = nv_base(dd), *q = nv_base(sd);
    uint64_t first_diff = UINT64_MAX;
    for (uint64_t o = 0; o < DEV_BYTES && first_diff == UINT64_MAX; o++)
        if (p[o] != q[o])
            first_diff = o;
    ck_assert_msg(first_diff == UINT64_MAX, "the device images differ first at byte %llu",
                  (unsigned long long)first_diff);
    pma_destroy(hd);
    pma_destroy(hs);
    nv_close(dd);
    nv_close(sd);
}
END_TEST

/* A thread whose cache serves a lane still refuses a NULL heap, and a heap
 * made after another was destroyed (perhaps at the same address) gets a
 * lane of its own, not the dead one's cache. */
START_TEST(lane_refuses_null_and_dead_heaps)
{
    pma_config cfg;
    pma_config_defaults(&cfg);
    for (int round = 0; round < 3; round++) {
        nv_device *d = dram_open(4 << 20);
        pma_heap *h;
        ck_assert_int_eq(pma_init(&h, d, &cfg), 0);
        for (int i = 0; i < 100; i++) {
            void *p = pma_get_mem(h, 64);
            ck_assert_ptr_nonnull(p);
            ck_assert_int_eq(pma_return_mem(h, p), 0);
        }
        ck_assert_ptr_null(pma_get_mem(NULL, 64));
        ck_assert_int_eq(pma_last_error(), PMA_EINVAL);
        void *p = pma_get_mem(h, 64);
        ck_assert_int_eq(pma_return_mem(NULL, p), PMA_EINVAL);
        ck_assert_int_eq(pma_return_mem(h, p), 0);
        ck_assert_int_eq(pma_return_mem(h, p), PMA_EDOUBLE);   /* the general path says why */
        pma_heap_stats st;
        ck_assert_int_eq(pma_stats(h, &st), 0);
        ck_assert_uint_ge(st.lane_ops, 200);
        ck_assert_uint_eq(st.allocs, 101);
        ck_assert_uint_eq(st.frees, 101);
        ck_assert_uint_eq(st.bad_frees, 1);
        test_heap_ok(h);
        pma_destroy(h);
        ck_assert_ptr_null(pma_get_mem(NULL, 64));
        nv_close(d);
    }
}
END_TEST

/* ---- threads --------------------------------------------------------------- */

enum { THREADS = 4, TOPS = 40000, MAILBOX = 64, TSLOTS = 128 };

typedef struct shared {
    pma_heap *h;
    pthread_mutex_t lock;
    unsigned char *mail[MAILBOX];
    size_t mail_size[MAILBOX];
    int nmail;
    _Atomic long gets, returns, bad_stamps, failures;
} shared;

typedef struct worker { shared *sh; int id; } worker;

static void put_back(shared *sh, unsigned char *p, size_t size)
{
    if (!test_stamp_ok(p, size))
        atomic_fetch_add(&sh->bad_stamps, 1);
    if (pma_return_mem(sh->h, p) != 0)
        atomic_fetch_add(&sh->failures, 1);
    atomic_fetch_add(&sh->returns, 1);
}

static void *work(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    unsigned char *mine[TSLOTS] = {0};
    size_t size_of[TSLOTS] = {0};
    uint64_t seed = 0x2545f4914f6cdd1dull * (uint64_t)(w->id + 1);
    for (int i = 0; i < TOPS; i++) {
        int k = (int)(test_xs(&seed) % TSLOTS);
        if (mine[k] && test_xs(&seed) % 8 == 0) {        /* someone else frees it */
            pthread_mutex_lock(&sh->lock);
            if (sh->nmail < MAILBOX) {
                sh->mail[sh->nmail] = mine[k];
                sh->mail_size[sh->nmail++] = size_of[k];
                mine[k] = NULL;
            }
            pthread_mutex_unlock(&sh->lock);
        }
        if (mine[k]) {
            put_back(sh, mine[k], size_of[k]);
            mine[k] = NULL;
        } else {
            size_of[k] = pick_size(&seed);
            mine[k] = pma_get_mem(sh->h, size_of[k]);
            atomic_fetch_add(&sh->gets, 1);
            if (!mine[k]) {
                atomic_fetch_add(&sh->failures, 1);
                continue;
            }
            memset(mine[k], (w->id * 61 + k) & 0xff, size_of[k]);
        }
        if (test_xs(&seed) % 4 == 0) {                   /* free one from the mailbox */
            unsigned char *p = NULL;
            size_t size = 0;
            pthread_mutex_lock(&sh->lock);
            if (sh->nmail > 0) {
                p = sh->mail[--sh->nmail];
                size = sh->mail_size[sh->nmail];
            }
            pthread_mutex_unlock(&sh->lock);
            if (p)
                put_back(sh, p, size);
        }
    }
    for (int k = 0; k < TSLOTS; k++)
        if (mine[k])
            put_back(sh, mine[k], size_of[k]);
    return NULL;
}

START_TEST(lane_threads_with_cross_thread_frees)
{
    nv_device *d = dram_open(64 << 20);
    pma_config pc;
    pma_config_defaults(&pc);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &pc), 0);
    shared sh = {.h = h};
    pthread_mutex_init(&sh.lock, NULL);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){&sh, i};
        ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    while (sh.nmail > 0) {
        sh.nmail--;
        put_back(&sh, sh.mail[sh.nmail], sh.mail_size[sh.nmail]);
    }
    ck_assert_int_eq(sh.failures, 0);
    ck_assert_int_eq(sh.bad_stamps, 0);
    pma_heap_stats st;
    ck_assert_int_eq(pma_stats(h, &st), 0);
    ck_assert_uint_eq(st.allocs, (uint64_t)sh.gets);
    ck_assert_uint_eq(st.frees, (uint64_t)sh.returns);
    ck_assert_uint_eq(st.live_objects, 0);
    ck_assert_uint_eq(st.allocated_bytes, 0);
    ck_assert_uint_eq(st.requested_bytes, 0);
    ck_assert_uint_gt(st.lane_ops, (st.allocs + st.frees) / 2);
    ck_assert_uint_le(st.cache_hits + st.cache_misses, st.allocs);   /* small gets of all gets */
    ck_assert_uint_gt(st.cache_hits, st.allocs / 2);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
    pthread_mutex_destroy(&sh.lock);
}
END_TEST

/* ---- a crash on the file device --------------------------------------------- */

START_TEST(lane_gets_and_returns_survive_a_crash_on_file)
{
    char path[] = "/tmp/pmarena-lane-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.kind = NV_KIND_FILE;
    cfg.path = path;
    cfg.size = DEV_BYTES;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    pma_config pc;
    pma_config_defaults(&pc);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &pc), 0);
    enum { N = 400 };
    static uint64_t off[N];
    static size_t size[N];
    memset(off, 0, sizeof off);
    uint64_t seed = 77;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 6000; i++) {
            int k = (int)(test_xs(&seed) % N);
            if (off[k]) {
                ck_assert_int_eq(pma_return_mem(h, pma_pointer(h, off[k])), 0);
                off[k] = 0;
            } else {
                size[k] = pick_size(&seed);
                unsigned char *p = pma_get_mem(h, size[k]);
                ck_assert_ptr_nonnull(p);
                memset(p, k & 0xff, size[k]);
                off[k] = pma_offset(h, p);
            }
        }
        pma_heap_stats st;
        ck_assert_int_eq(pma_stats(h, &st), 0);
        ck_assert_uint_gt(st.lane_ops, 0);
        pma_abandon(h);                  /* the crash: nothing more is written */
        nv_close(d);
        cfg.size = 0;
        ck_assert_int_eq(nv_open(&d, &cfg), 0);
        ck_assert_int_eq(pma_open(&h, d), 0);
        test_heap_ok(h);
        uint64_t live = 0;
        for (int k = 0; k < N; k++) {
            if (!off[k])
                continue;
            live++;
            const unsigned char *p = pma_pointer(h, off[k]);
            ck_assert_uint_ge(pma_usable_size(h, p), size[k]);
            TEST_REQUIRE(test_stamp_ok(p, size[k]) && p[0] == (k & 0xff), "object %d lost its bytes", k);
        }
        ck_assert_int_eq(pma_stats(h, &st), 0);
        ck_assert_uint_eq(st.live_objects, live);    /* and every return stayed done */
    }
    pma_destroy(h);
    nv_close(d);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_lane");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, lane_does_what_the_general_path_does);
    tcase_add_test(tc, lane_refuses_null_and_dead_heaps);
    tcase_add_test(tc, lane_threads_with_cross_thread_frees);
    tcase_add_test(tc, lane_gets_and_returns_survive_a_crash_on_file);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
