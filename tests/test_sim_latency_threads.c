/* test_sim_latency_threads.c - the latency model (sums match the figures,
 * presets, per-thread slots) and concurrent writers losing no counts. */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

START_TEST(latency_sums_match_model)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.size = 1 << 16;
    cfg.latency = (nv_latency){.read_ns = 300, .write_ns = 100, .flush_ns = 10, .fence_ns = 7};
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    nv_thread_slot_bind(3);
    unsigned char b[256] = {0};
    nv_write(d, 0, b, 64, NV_DATA);        /* 1 line: 100 */
    nv_write(d, 60, b, 8, NV_DATA);        /* 2 lines: 200 */
    nv_write(d, 0, b, 256, NV_DATA);       /* 4 lines: 400 */
    nv_read(d, 0, b, 128);                 /* 2 lines: 600 */
    nv_flush(d, 0, 256);                   /* 4 lines: 40 */
    nv_fence(d);                           /* 7 */
    nv_persist(d, 32, 64);                 /* 2 lines + fence: 27 */
    double want = 100 + 200 + 400 + 600 + 40 + 7 + 27;
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_double_eq_tol(c.time_ns, want, 1e-9);
    ck_assert_double_eq_tol(nv_time_thread_ns(d, 3), want, 1e-9);
    ck_assert_double_eq_tol(nv_time_thread_ns(d, 4), 0, 1e-9);
    ck_assert_uint_eq(c.flushes, 2);
    ck_assert_uint_eq(c.fences, 2);
    ck_assert_uint_eq(c.reads, 1);
    ck_assert_uint_eq(c.stores, 3);
    nv_close(d);
}
END_TEST

START_TEST(presets_have_published_figures)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    ck_assert_int_eq(cfg.preset, NV_PRESET_OPTANE);
    ck_assert_double_eq_tol(cfg.latency.read_ns, 305, 1e-9);
    for (int p = 0; p < NV_PRESETS; p++) {
        ck_assert_int_eq(nv_config_set_preset(&cfg, (nv_preset)p), 0);
        ck_assert_int_eq(nv_preset_from_name(nv_preset_name((nv_preset)p)), p);
        ck_assert(cfg.latency.read_ns > 0 && cfg.latency.write_ns > 0);
    }
    ck_assert_int_eq(nv_preset_from_name("dram"), NV_EINVAL);
    ck_assert_int_eq(nv_config_set_preset(&cfg, NV_PRESETS), NV_EINVAL);
}
END_TEST

enum { HAMMER_THREADS = 4, HAMMER_ITERS = 200000 };
static nv_device *hammer_dev;

/* Each thread writes its own byte of cell 0 and of cell 1 in turn: the bytes
 * are disjoint (overlapping stores to the same bytes would be a data race in
 * the program, as on real hardware), the counters are shared and collide all
 * the time, and both cells pass 65535, so the carry path runs concurrently. */
static void *hammer(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned char b = (unsigned char)id;
    for (int i = 0; i < HAMMER_ITERS; i++)
        nv_write(hammer_dev, (uint64_t)(i % 2) * 16 + (uint64_t)id, &b, 1,
                 i % 4 < 2 ? NV_DATA : NV_META_BITMAP);
    return NULL;
}

START_TEST(concurrent_writers_lose_no_counts)
{
    hammer_dev = test_sim_open(4096, 16, NV_MODEL_LINE, 0, false);
    pthread_t t[HAMMER_THREADS];
    for (int i = 0; i < HAMMER_THREADS; i++)
        pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i);
    for (int i = 0; i < HAMMER_THREADS; i++)
        pthread_join(t[i], NULL);
    nv_counters c;
    nv_counters_get(hammer_dev, &c);
    uint64_t all = (uint64_t)HAMMER_THREADS * HAMMER_ITERS;
    ck_assert_uint_eq(c.total_writes, all);
    ck_assert_uint_eq(c.data_writes, all / 2);
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].writes, all / 2);
    ck_assert_uint_eq(c.stores, all);
    ck_assert_uint_eq(nv_cell_count(hammer_dev, 0, -1), all / 2);
    ck_assert_uint_eq(nv_cell_count(hammer_dev, 1, -1), all / 2);
    ck_assert_uint_eq(nv_cell_count(hammer_dev, 0, NV_DATA), all / 4);
    ck_assert_double_eq_tol(c.time_ns, (double)all * 94.0, 1e-3);
    for (int i = 0; i < HAMMER_THREADS; i++)
        ck_assert_uint_eq(((unsigned char *)nv_base(hammer_dev))[16 + i], i);
    nv_close(hammer_dev);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_latency_threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, latency_sums_match_model);
    tcase_add_test(tc, presets_have_published_figures);
    tcase_add_test(tc, concurrent_writers_lose_no_counts);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
