/* test_pma_threads.c - concurrent stress: 2 to 8 threads allocating and
 * freeing in the same and in different classes, with a share of objects
 * freed by another thread than the one that allocated them. Every object is
 * stamped with its owner and checked before it is freed (overlap would show
 * as a foreign stamp); at the end pma_check holds and the counters add up.
 * Run under `make test-tsan` for data races. */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { OPS_PER_THREAD = 20000, SLOTS = 256, MAILBOX = 64 };

typedef struct shared {
    pma_heap *h;
    int nthreads;
    pthread_mutex_t lock;
    void *mailbox[MAILBOX];     /* objects handed to whoever frees them next */
    size_t mail_size[MAILBOX];
    int nmail;
    _Atomic long frees, allocs, failures;
} shared;

typedef struct worker { shared *sh; int id; } worker;

static void *work(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    void *mine[SLOTS] = {0};
    size_t size_of[SLOTS] = {0};
    uint64_t seed = 0x1234567ull * (uint64_t)(w->id + 1);
    for (int op = 0; op < OPS_PER_THREAD; op++) {
        int k = (int)(test_xs(&seed) % SLOTS);
        if (mine[k]) {
            if (!test_stamp_ok(mine[k], size_of[k]))
                atomic_fetch_add(&sh->failures, 1);
            if (test_xs(&seed) % 8 == 0) {       /* hand it to another thread */
                pthread_mutex_lock(&sh->lock);
                if (sh->nmail < MAILBOX) {
                    sh->mailbox[sh->nmail] = mine[k];
                    sh->mail_size[sh->nmail++] = size_of[k];
                    mine[k] = NULL;
                }
                pthread_mutex_unlock(&sh->lock);
            }
            if (mine[k]) {
                if (pma_return_mem(sh->h, mine[k]) != 0)
                    atomic_fetch_add(&sh->failures, 1);
                atomic_fetch_add(&sh->frees, 1);
                mine[k] = NULL;
            }
        } else {
            /* threads share some classes and own others */
            size_t size = (w->id % 2 == 0) ? 1 + test_xs(&seed) % 200 : 300 + test_xs(&seed) % 3000;
            if (test_xs(&seed) % 200 == 0)
                size = 5000 + test_xs(&seed) % 20000;
            unsigned char *p = pma_get_mem(sh->h, size);
            if (!p) {
                atomic_fetch_add(&sh->failures, 1);
                continue;
            }
            memset(p, w->id + 1, size);
            mine[k] = p;
            size_of[k] = size;
            atomic_fetch_add(&sh->allocs, 1);
        }
        if (op % 64 == 0) {                  /* free what others handed over */
            pthread_mutex_lock(&sh->lock);
            while (sh->nmail > 0) {
                void *p = sh->mailbox[--sh->nmail];
                if (!test_stamp_ok(p, sh->mail_size[sh->nmail]) || pma_return_mem(sh->h, p) != 0)
                    atomic_fetch_add(&sh->failures, 1);
                atomic_fetch_add(&sh->frees, 1);
            }
            pthread_mutex_unlock(&sh->lock);
        }
    }
    for (int k = 0; k < SLOTS; k++)
        if (mine[k]) {
            if (pma_return_mem(sh->h, mine[k]) != 0)
                atomic_fetch_add(&sh->failures, 1);
            atomic_fetch_add(&sh->frees, 1);
        }
    return NULL;
}

static const struct {
    int threads; pma_policy p; pma_metadata m; pma_bitmap_layout l; pma_persistence ps;
} runs[] = {
    {2, PMA_FIRST_FIT, PMA_META_HYBRID, PMA_LAYOUT_LINEAR, PMA_PERSIST_LOG},
    {4, PMA_NEXT_FIT, PMA_META_NVRAM, PMA_LAYOUT_INTERLEAVED, PMA_PERSIST_LOG},
    {8, PMA_WEAR_AWARE, PMA_META_HYBRID, PMA_LAYOUT_LINEAR, PMA_PERSIST_LOG},
    {3, PMA_LAFO, PMA_META_DRAM, PMA_LAYOUT_LINEAR, PMA_PERSIST_LOG},
    {4, PMA_FIRST_FIT, PMA_META_HYBRID, PMA_LAYOUT_LINEAR, PMA_PERSIST_GC},
    {3, PMA_WEAR_AWARE, PMA_META_NVRAM, PMA_LAYOUT_INTERLEAVED, PMA_PERSIST_GC},
};

START_TEST(concurrent_stress)
{
    pma_config c;
    pma_config_defaults(&c);
    c.granularity = 8;
    c.policy = runs[_i].p;
    c.metadata = runs[_i].m;
    c.bitmap_layout = runs[_i].l;
    c.persistence = runs[_i].ps;
    c.arena_size = 256 << 10;
    nv_device *d;
    shared sh = {.nthreads = runs[_i].threads};
    pthread_mutex_init(&sh.lock, NULL);
    sh.h = test_heap_open(&d, 256 << 20, 64, &c);
    pthread_t t[8];
    worker w[8];
    for (int i = 0; i < sh.nthreads; i++) {
        w[i] = (worker){&sh, i};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < sh.nthreads; i++)
        pthread_join(t[i], NULL);
    while (sh.nmail > 0) {
        ck_assert_int_eq(pma_return_mem(sh.h, sh.mailbox[--sh.nmail]), 0);
        sh.frees++;
    }
    ck_assert_int_eq(sh.failures, 0);
    ck_assert_int_eq(sh.allocs, sh.frees);
    test_heap_ok(sh.h);
    pma_heap_stats s;
    pma_stats(sh.h, &s);
    ck_assert_uint_eq(s.live_objects, 0);
    ck_assert_uint_eq(s.allocated_bytes, 0);
    ck_assert_uint_eq(s.allocs, (uint64_t)sh.allocs);
    ck_assert_uint_eq(s.frees, (uint64_t)sh.frees);
    pma_destroy(sh.h);
    nv_close(d);
    pthread_mutex_destroy(&sh.lock);
}
END_TEST

/* Single flight: many threads asking a fresh heap for the same class at once
 * create arenas one at a time; whoever waits restarts its search. */
static pma_heap *race_heap;
static _Atomic int race_go;

static void *race(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_go))
        ;
    void *p[64];
    for (int i = 0; i < 64; i++)
        p[i] = pma_get_mem(race_heap, 2048);
    for (int i = 0; i < 64; i++)
        pma_return_mem(race_heap, p[i]);
    return NULL;
}

START_TEST(single_flight_creation)
{
    pma_config c;
    pma_config_defaults(&c);
    c.arena_size = 64 << 10;
    nv_device *d;
    race_heap = test_heap_open(&d, 64 << 20, 64, &c);
    atomic_store(&race_go, 0);
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, race, NULL);
    atomic_store(&race_go, 1);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    test_heap_ok(race_heap);
    pma_heap_stats s;
    pma_stats(race_heap, &s);
    ck_assert_uint_eq(s.live_objects, 0);
    ck_assert_uint_eq(s.failed_allocs, 0);
    /* One thread's 64 objects of 2 KiB alone need 3 arenas (about 23 each). */
    ck_assert_uint_ge(s.arena_creations, 3);
    ck_assert_uint_eq(s.arena_creations, s.arenas[5] + s.arenas[6] + s.arenas[4]);
    pma_destroy(race_heap);
    nv_close(d);
}
END_TEST

/* Two threads starting together on a fresh heap, alloc/free pairs of one
 * size: each ends in an arena of its own (sharing one would serialize them
 * on its lock for good). The first allocation races the other's arena
 * creation; repeated to give the race its chances. */
static void *pair_loop(void *arg)
{
    uint64_t *arena = arg;
    while (!atomic_load(&race_go))
        ;
    for (int i = 0; i < 2000; i++) {
        void *p = pma_get_mem(race_heap, 256);
        *arena = pma_offset(race_heap, p) >> 16;
        pma_return_mem(race_heap, p);
    }
    return NULL;
}

START_TEST(two_threads_two_arenas)
{
    pma_config c;
    pma_config_defaults(&c);
    c.arena_size = 64 << 10;
    for (int trial = 0; trial < 200; trial++) {
        nv_device *d;
        race_heap = test_heap_open(&d, 8 << 20, 64, &c);
        atomic_store(&race_go, 0);
        uint64_t arena[2];
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, pair_loop, &arena[i]);
        atomic_store(&race_go, 1);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        ck_assert_msg(arena[0] != arena[1], "trial %d: both threads ended in arena %llu", trial,
                      (unsigned long long)arena[0]);
        test_heap_ok(race_heap);
        pma_destroy(race_heap);
        nv_close(d);
    }
}
END_TEST

/* Eight threads at once, each with pairs of one size: each ends in an
 * arena of its own, as two do above. Before, a class made at most four
 * arenas for busy ones whatever the number of threads, and threads beyond
 * the fourth shared one (and the lines of its slots, which every get and
 * return writes). Each thread uses the heap once first (another size), and
 * all wait for each other before and after their pairs, so that all eight
 * are using the heap while any of them looks for an arena. */
enum { EIGHT = 8 };
static pthread_barrier_t eight_bar;

static void *eight_loop(void *arg)
{
    (void)arg;
    pma_return_mem(race_heap, pma_get_mem(race_heap, 16));
    pthread_barrier_wait(&eight_bar);
    for (int i = 0; i < 2000; i++)
        pma_return_mem(race_heap, pma_get_mem(race_heap, 256));
    pthread_barrier_wait(&eight_bar);
    return NULL;
}

START_TEST(eight_threads_eight_arenas)
{
    pma_config c;
    pma_config_defaults(&c);
    c.arena_size = 64 << 10;
    for (int trial = 0; trial < 20; trial++) {
        nv_device *d;
        race_heap = test_heap_open(&d, 8 << 20, 64, &c);
        pthread_barrier_init(&eight_bar, NULL, EIGHT);
        pthread_t t[EIGHT];
        for (int i = 0; i < EIGHT; i++)
            pthread_create(&t[i], NULL, eight_loop, NULL);
        for (int i = 0; i < EIGHT; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&eight_bar);
        pma_heap_stats s;
        pma_stats(race_heap, &s);
        /* classes: 64, 128, 256, ... bytes */
        ck_assert_msg(s.arenas[2] >= EIGHT, "trial %d: %llu arenas of 256-byte blocks for eight threads", trial,
                      (unsigned long long)s.arenas[2]);
        test_heap_ok(race_heap);
        pma_destroy(race_heap);
        nv_close(d);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, concurrent_stress, 0, (int)(sizeof runs / sizeof runs[0]));
    tcase_add_test(tc, single_flight_creation);
    tcase_add_test(tc, two_threads_two_arenas);
    tcase_add_test(tc, eight_threads_eight_arenas);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
