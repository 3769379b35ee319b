/* test_pma_log.c - the log persistence protocol and the thread caches:
 * per-operation device traffic, log wraps and checkpoints, recovery of the
 * exact live set (cross-thread frees included), corrupt logs refused,
 * device failures reported as PMA_EDEVICE with the heap unchanged, caches
 * handed back at thread exit. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static pma_config log_config(uint32_t log_kib)
{
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = PMA_PERSIST_LOG;
    c.log_kib = log_kib;
    return c;
}

/* Steady state: one 16-byte record, one flushed line, one fence per small
 * get and per small return; cache hits for repeated sizes. */
START_TEST(one_record_per_operation)
{
    pma_config c = log_config(0);
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 16 << 20, 64, &c);
    for (int i = 0; i < 100; i++)              /* warm: arenas made, cache filled */
        pma_return_mem(h, pma_get_mem(h, 64));
    pma_heap_stats a, b;
    pma_stats(h, &a);
    nv_counters ca, cb;
    nv_counters_get(d, &ca);
    for (int i = 0; i < 1000; i++) {
        void *p = pma_get_mem(h, 64);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(pma_return_mem(h, p), 0);
    }
    pma_stats(h, &b);
    nv_counters_get(d, &cb);
    ck_assert_uint_eq(b.flushes - a.flushes, 2000);
    ck_assert_uint_eq(b.fences - a.fences, 2000);
    ck_assert_uint_eq(b.meta_bytes - a.meta_bytes, 2000 * 16);
    ck_assert_uint_eq(cb.meta_writes - ca.meta_writes, 2000);        /* one cell per record */
    ck_assert_uint_eq(cb.kind[NV_META_LOG].writes - ca.kind[NV_META_LOG].writes, 2000);
    ck_assert_uint_eq(cb.kind[NV_META_BITMAP].writes, ca.kind[NV_META_BITMAP].writes);
    ck_assert_uint_eq(b.cache_hits - a.cache_hits, 1000);
    ck_assert_uint_eq(b.cache_misses, a.cache_misses);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* The log wraps many times; the records spread over the region, and a
 * reopen at any moment gives back exactly the live objects. */
START_TEST(wraps_spread_and_recover)
{
    pma_config c = log_config(8);            /* 512 records */
    nv_device *d = test_sim_open(8 << 20, 64, NV_MODEL_LINE, 0, true);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    enum { N = 300 };
    static unsigned char *live[N];
    static size_t sizes[N];
    uint64_t seed = 3, wraps = 0, checkpoints = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 4 * N; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int k = i % N;
            if (live[k] && (seed >> 40) % 2) {
                ck_assert_int_eq(pma_return_mem(h, live[k]), 0);
                live[k] = NULL;
            } else if (!live[k]) {
                sizes[k] = 1 + (seed >> 33) % 3000;
                live[k] = pma_get_mem(h, sizes[k]);
                ck_assert_ptr_nonnull(live[k]);
            }
        }
        /* A crash now (everything returned, so everything is durable). */
        pma_heap_stats st;
        pma_stats(h, &st);
        wraps += st.log_wraps;
        checkpoints += st.checkpoints;
        pma_destroy(h);
        ck_assert_int_eq(nv_crash(d, NULL), 0);
        ck_assert_int_eq(pma_open(&h, d), 0);
        test_heap_ok(h);
        for (int i = 0; i < N; i++)
            ck_assert_uint_eq(pma_usable_size(h, live[i]) >= sizes[i], live[i] != NULL);
    }
    /* Each record slot is written about equally: no cell of the region
     * (128 cells) holds more than twice its share. The epoch's cell is
     * written once per checkpoint. */
    ck_assert_uint_gt(wraps, 5);
    uint64_t region = 0, hottest = 0;
    for (uint64_t cell = 4096 / 64; cell < (4096 + 8192) / 64; cell++) {
        uint64_t n = nv_cell_count(d, cell, NV_META_LOG);
        region += n;
        hottest = n > hottest ? n : hottest;
    }
    ck_assert_uint_gt(region, 4000);
    ck_assert_uint_le(hottest, 2 * region / 128);
    ck_assert_uint_eq(nv_cell_count(d, 256 / 64, NV_META_LOG), checkpoints + 1);   /* + the last open's */
    pma_destroy(h);
    nv_close(d);
}
END_TEST

typedef struct xfree { pma_heap *h; void **objs; int from, to; } xfree;

static void *free_range(void *p)
{
    xfree *x = p;
    for (int i = x->from; i < x->to; i++)
        ck_assert_int_eq(pma_return_mem(x->h, x->objs[i]), 0);
    return NULL;
}

/* Objects made by one thread and freed by another stay freed after a crash,
 * even where the freeing thread's records sit in the log before the
 * allocating thread's (the slot generation orders them). */
START_TEST(cross_thread_frees_recover)
{
    pma_config c = log_config(64);
    nv_device *d = test_sim_open(8 << 20, 64, NV_MODEL_LINE, 0, true);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    static void *objs[400];
    for (int i = 0; i < 400; i++)
        objs[i] = pma_get_mem(h, 48);
    pma_heap_stats s0, s;
    pma_stats(h, &s0);
    pthread_t t;
    xfree x = {h, objs, 0, 300};
    pthread_create(&t, NULL, free_range, &x);
    pthread_join(t, NULL);
    /* The freeing thread exited: its cache went back to the arenas. */
    pma_stats(h, &s);
    ck_assert_uint_eq(s.cached_bytes, s0.cached_bytes);
    ck_assert_uint_eq(s.live_objects, 100);
    void *again = pma_get_mem(h, 48);         /* may reuse a freed block */
    pma_destroy(h);
    ck_assert_int_eq(nv_crash(d, NULL), 0);
    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    for (int i = 0; i < 400; i++)
        ck_assert_uint_eq(pma_usable_size(h, objs[i]) > 0, i >= 300 || objs[i] == again);
    pma_stats(h, &s);
    ck_assert_uint_eq(s.live_objects, 101);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A record of the current epoch that names no block is a corrupt log:
 * refused, not applied. */
START_TEST(corrupt_record_refused)
{
    pma_config c = log_config(8);
    nv_device *d = test_sim_open(4 << 20, 64, NV_MODEL_LINE, 0, false);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    void *p = pma_get_mem(h, 100);
    ck_assert_ptr_nonnull(p);
    pma_destroy(h);
    /* The first record (the get above) now points into the heap header. */
    unsigned char *rec = (unsigned char *)nv_base(d) + 4096;
    uint64_t w0;
    memcpy(&w0, rec, 8);
    ck_assert_uint_ne(w0 >> 62, 0);
    w0 = (w0 & ~0xffffffffffffull) | 64;
    nv_write(d, 4096, &w0, 8, NV_DATA);
    ck_assert_int_eq(pma_open(&h, d), PMA_ECORRUPT);
    ck_assert_ptr_null(h);
    nv_close(d);
}
END_TEST

/* pma_check finds a live object whose record is gone. */
START_TEST(check_sees_a_lost_record)
{
    pma_config c = log_config(8);
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 4 << 20, 64, &c);
    ck_assert_ptr_nonnull(pma_get_mem(h, 100));
    test_heap_ok(h);
    nv_set(d, 4096, 0, 16, NV_DATA);
    char msg[256] = "";
    ck_assert_int_eq(pma_check(h, msg, sizeof msg), PMA_ECORRUPT);
    ck_assert_msg(strstr(msg, "would not survive") != NULL, "%s", msg);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A device that refuses a store: the get or return reports PMA_EDEVICE and
 * the heap is as before (the object not handed out, or still live). gc
 * stores nothing per operation: its gets and returns do not notice (and the
 * armed fault is still there for the root). */
START_TEST(device_failure_surfaces)
{
    for (int p = 0; p < PMA_PERSISTENCES; p++) {
        if (p == PMA_PERSIST_GC) {
            pma_config c = log_config(0);
            c.persistence = PMA_PERSIST_GC;
            nv_device *d;
            pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
            void *keep = pma_get_mem(h, 64), *big = pma_get_mem(h, 10000);
            ck_assert_ptr_nonnull(keep);
            ck_assert_ptr_nonnull(big);
            ck_assert_int_eq(pma_return_mem(h, big), 0);
            ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, 1), 0);
            void *more = pma_get_mem(h, 64);
            ck_assert_ptr_nonnull(more);
            ck_assert_int_eq(pma_return_mem(h, more), 0);
            ck_assert_ptr_nonnull(pma_get_mem(h, 10000));     /* the pooled large arena: no store */
            ck_assert_int_eq(pma_set_root(h, keep), PMA_EDEVICE);
            ck_assert_int_eq(nv_fault_disarm(d), 0);
            test_heap_ok(h);
            pma_destroy(h);
            nv_close(d);
            continue;
        }
        pma_config c = log_config(0);
        c.persistence = (pma_persistence)p;
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
        void *keep = pma_get_mem(h, 64);
        ck_assert_ptr_nonnull(keep);
        pma_heap_stats before, after;
        pma_stats(h, &before);
        ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, 1), 0);
        ck_assert_ptr_null(pma_get_mem(h, 64));
        ck_assert_int_eq(pma_last_error(), PMA_EDEVICE);
        ck_assert_int_eq(pma_return_mem(h, keep), PMA_EDEVICE);
        ck_assert_ptr_null(pma_get_mem(h, 10000));             /* a large one too */
        ck_assert_int_eq(pma_last_error(), PMA_EDEVICE);
        ck_assert_int_eq(pma_set_root(h, keep), PMA_EDEVICE);
        ck_assert_ptr_null(pma_root(h));
        ck_assert_int_eq(nv_fault_disarm(d), 0);
        pma_stats(h, &after);
        ck_assert_uint_eq(after.live_objects, before.live_objects);
        ck_assert_uint_eq(pma_usable_size(h, keep), 64);
        test_heap_ok(h);
        ck_assert_int_eq(pma_return_mem(h, keep), 0);
        ck_assert_ptr_nonnull(pma_get_mem(h, 64));
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

/* Blocks in a cache when the heap is destroyed are free on the device. */
START_TEST(destroy_with_cached_blocks)
{
    pma_config c = log_config(0);
    nv_device *d = test_sim_open(8 << 20, 64, NV_MODEL_LINE, 0, true);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    void *p[3];
    for (int i = 0; i < 3; i++)                    /* miss (1 block), miss (2), hit */
        p[i] = pma_get_mem(h, 64);
    void *q = pma_get_mem(h, 64);                  /* miss: a batch of 4 */
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_eq(s.cached_bytes, 3 * 64);     /* the rest of the last batch */
    ck_assert_uint_eq(s.cache_misses, 3);
    ck_assert_uint_eq(s.cache_hits, 1);
    ck_assert_int_eq(pma_return_mem(h, q), 0);     /* cached too, and free on the device */
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    pma_stats(h, &s);
    ck_assert_uint_eq(s.live_objects, 3);
    ck_assert_uint_eq(s.allocated_bytes, 3 * 64);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(pma_usable_size(h, p[i]), 64);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Threads churn (frees of each other's objects included) through a small
 * log, so checkpoints run while other threads get and return; then every
 * object each thread still holds is live after a crash, and nothing else. */
enum { CT_THREADS = 4, CT_KEEP = 64, CT_ROUNDS = 3000 };

typedef struct ct_shared {
    pma_heap *h;
    _Atomic(void *) mailbox[CT_THREADS];     /* an object handed to the next thread */
    void *keep[CT_THREADS][CT_KEEP];
} ct_shared;

typedef struct ct_arg { ct_shared *s; int t; } ct_arg;

static void *churn(void *p)
{
    ct_arg *a = p;
    ct_shared *s = a->s;
    uint64_t x = 99 + (uint64_t)a->t;
    for (int i = 0; i < CT_KEEP; i++) {
        s->keep[a->t][i] = pma_get_mem(s->h, 1 + (size_t)(i * 37) % 900);
        TEST_REQUIRE(s->keep[a->t][i] != NULL, "get failed: %s", pma_strerror(pma_last_error()));
    }
    for (int r = 0; r < CT_ROUNDS; r++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((x >> 33) % CT_KEEP);
        void *mine = pma_get_mem(s->h, 1 + (x >> 40) % 900);
        TEST_REQUIRE(mine != NULL, "get failed: %s", pma_strerror(pma_last_error()));
        /* Hand it to the next thread; free what the previous one handed us. */
        void *old = atomic_exchange(&s->mailbox[(a->t + 1) % CT_THREADS], mine);
        if (old)
            TEST_REQUIRE(pma_return_mem(s->h, old) == 0, "cross-thread free failed: %s", pma_strerror(pma_last_error()));
        int frc = pma_return_mem(s->h, s->keep[a->t][k]);
        TEST_REQUIRE(frc == 0, "free failed: %s (round %d)", pma_strerror(frc), r);
        s->keep[a->t][k] = pma_get_mem(s->h, 1 + (x >> 20) % 900);
        TEST_REQUIRE(s->keep[a->t][k] != NULL, "get failed");
    }
    return NULL;
}

START_TEST(concurrent_checkpoints)
{
    pma_config c = log_config(8);
    nv_device *d = test_sim_open(16 << 20, 64, NV_MODEL_LINE, 0, true);
    static ct_shared s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(pma_init(&s.h, d, &c), 0);
    pthread_t th[CT_THREADS];
    ct_arg args[CT_THREADS];
    for (int t = 0; t < CT_THREADS; t++) {
        args[t] = (ct_arg){&s, t};
        pthread_create(&th[t], NULL, churn, &args[t]);
    }
    for (int t = 0; t < CT_THREADS; t++)
        pthread_join(th[t], NULL);
    pma_heap_stats st;
    pma_stats(s.h, &st);
    ck_assert_uint_gt(st.checkpoints, 20);
    ck_assert_uint_eq(st.live_objects, CT_THREADS * CT_KEEP + CT_THREADS);   /* + the mailboxes */
    test_heap_ok(s.h);
    pma_destroy(s.h);
    ck_assert_int_eq(nv_crash(d, NULL), 0);
    ck_assert_int_eq(pma_open(&s.h, d), 0);
    test_heap_ok(s.h);
    pma_stats(s.h, &st);
    ck_assert_uint_eq(st.live_objects, CT_THREADS * CT_KEEP + CT_THREADS);
    for (int t = 0; t < CT_THREADS; t++) {
        ck_assert_uint_gt(pma_usable_size(s.h, atomic_load(&s.mailbox[t])), 0);
        for (int i = 0; i < CT_KEEP; i++)
            ck_assert_uint_gt(pma_usable_size(s.h, s.keep[t][i]), 0);
    }
    pma_destroy(s.h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_log");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, one_record_per_operation);
    tcase_add_test(tc, wraps_spread_and_recover);
    tcase_add_test(tc, cross_thread_frees_recover);
    tcase_add_test(tc, corrupt_record_refused);
    tcase_add_test(tc, check_sees_a_lost_record);
    tcase_add_test(tc, device_failure_surfaces);
    tcase_add_test(tc, destroy_with_cached_blocks);
    tcase_add_test(tc, concurrent_checkpoints);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
