/* test_sim_crash.c - crash simulation: a crash loses exactly the lines not
 * flushed and fenced; the survivor mode is seeded and reproducible; injection
 * at the n-th store, flush or fence stops persistence right there. */
#include "testutil.h"

#include <string.h>

static unsigned char byte_at(nv_device *d, uint64_t off)
{
    return ((unsigned char *)nv_base(d))[off];
}

START_TEST(crash_loses_exactly_unpersisted_lines)
{
    /* 1-byte cells: crash granularity is the 64-byte line whatever the cell size. */
    nv_device *d = test_sim_open(1 << 16, 1, NV_MODEL_LINE, 0, true);
    unsigned char b[64];
    memset(b, 0x11, sizeof b);
    nv_write(d, 0, b, 64, NV_DATA);         /* line 0: persisted */
    nv_persist(d, 0, 64);
    memset(b, 0x22, sizeof b);
    nv_write(d, 200, b, 4, NV_DATA);        /* line 3: part, flushed and fenced */
    nv_persist(d, 200, 1);
    nv_write(d, 64, b, 64, NV_DATA);        /* line 1: flushed, not fenced */
    nv_flush(d, 64, 64);
    nv_write(d, 128, b, 64, NV_DATA);       /* line 2: never flushed */
    nv_write(d, 0, b, 8, NV_DATA);          /* line 0 changed again after persist */
    ck_assert_int_eq(nv_crash(d, NULL), 0);
    ck_assert_uint_eq(byte_at(d, 0), 0x11);
    ck_assert_uint_eq(byte_at(d, 63), 0x11);
    ck_assert_uint_eq(byte_at(d, 64), 0x00);   /* flushed but not fenced: lost */
    ck_assert_uint_eq(byte_at(d, 128), 0x00);
    ck_assert_uint_eq(byte_at(d, 200), 0x22);
    ck_assert_uint_eq(byte_at(d, 203), 0x22);
    /* Lines persisted after a re-dirty are kept. */
    nv_write(d, 64, b, 64, NV_DATA);
    nv_flush(d, 64, 64);
    nv_write(d, 64, b, 1, NV_DATA);           /* dirty again after the flush */
    nv_fence(d);                               /* ... so this fence does not persist it */
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 64), 0x00);
    /* Crash counts no wear and does not disturb the counters. */
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 64 * 3 + 4 + 8 + 64 + 1);
    nv_close(d);
}
END_TEST

static void dirty_lines(nv_device *d, int n)
{
    unsigned char b[64];
    memset(b, 0x5A, sizeof b);
    for (int i = 0; i < n; i++)
        nv_write(d, (uint64_t)i * 64, b, 64, NV_DATA);
}

START_TEST(survivors_are_seeded_and_reproducible)
{
    enum { N = 512 };
    unsigned char first[N], second[N], other[N];
    unsigned char *runs[3] = {first, second, other};
    uint64_t seeds[3] = {42, 42, 43};
    for (int r = 0; r < 3; r++) {
        nv_device *d = test_sim_open(N * 64, 64, NV_MODEL_LINE, 0, true);
        dirty_lines(d, N);
        nv_crash_opts o = {.survive_p = 0.5, .seed = seeds[r]};
        ck_assert_int_eq(nv_crash(d, &o), 0);
        for (int i = 0; i < N; i++)
            runs[r][i] = byte_at(d, (uint64_t)i * 64);
        nv_close(d);
    }
    ck_assert_mem_eq(first, second, N);
    ck_assert(memcmp(first, other, N) != 0);
    int survived = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(first[i] == 0 || first[i] == 0x5A);
        survived += first[i] == 0x5A;
    }
    ck_assert_int_gt(survived, N / 4);        /* p = 0.5 of 512 lines */
    ck_assert_int_lt(survived, 3 * N / 4);
    /* p = 1: everything survives; p = 0 (or NULL): nothing. */
    nv_device *d = test_sim_open(N * 64, 64, NV_MODEL_LINE, 0, true);
    dirty_lines(d, N);
    nv_crash_opts all = {.survive_p = 1.0, .seed = 1};
    nv_crash(d, &all);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(byte_at(d, (uint64_t)i * 64), 0x5A);
    nv_crash_opts bad = {.survive_p = 1.5, .seed = 1};
    ck_assert_int_eq(nv_crash(d, &bad), NV_EINVAL);
    nv_close(d);
}
END_TEST

/* Injection: after the n-th counted operation nothing more persists. */
START_TEST(injection_at_nth_operation)
{
    /* Workload: 4 x (store, flush, fence) to lines 0..3. Ops: 12 in all. */
    for (uint64_t n = 1; n <= 12; n++) {
        nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, true);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, n), 0);
        unsigned char b = 0x77;
        for (int i = 0; i < 4; i++) {
            nv_write(d, (uint64_t)i * 64, &b, 1, NV_DATA);
            nv_flush(d, (uint64_t)i * 64, 1);
            nv_fence(d);
        }
        ck_assert(nv_crash_triggered(d));
        ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_ALL), 12);
        nv_crash(d, NULL);
        ck_assert(!nv_crash_triggered(d));
        /* Line i is persisted iff its fence (op 3i+3) is within the first n ops. */
        for (uint64_t i = 0; i < 4; i++)
            ck_assert_uint_eq(byte_at(d, i * 64), (3 * i + 3 <= n) ? 0x77 : 0);
        nv_close(d);
    }
}
END_TEST

START_TEST(injection_by_kind_and_counting)
{
    nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, true);
    unsigned char b = 1;
    nv_crash_disarm(d);
    nv_write(d, 0, &b, 1, NV_DATA);
    nv_write(d, 64, &b, 1, NV_DATA);
    nv_persist(d, 0, 128);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_STORE), 2);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_FLUSH), 1);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_FENCE), 1);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_ALL), 4);
    /* Crash at the 1st fence: that fence persists, later stores do not. */
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_FENCE, 1), 0);
    b = 2;
    nv_write(d, 0, &b, 1, NV_DATA);
    nv_persist(d, 0, 1);                      /* fence #1: persists, then triggers */
    ck_assert(nv_crash_triggered(d));
    b = 3;
    nv_write(d, 0, &b, 1, NV_DATA);
    nv_persist(d, 0, 1);                      /* too late */
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 0), 2);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, 0), NV_EINVAL);
    ck_assert_int_eq(nv_crash_arm(d, 8, 1), NV_EINVAL);
    nv_close(d);
    d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, false);
    ck_assert_int_eq(nv_crash(d, NULL), NV_ENOTSUP);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, 1), NV_ENOTSUP);
    nv_close(d);
}
END_TEST

/* After the injected crash point nothing persists, not even by surviving:
 * survivors are the lines in flight at that point, with their contents then. */
START_TEST(nothing_after_the_crash_point_survives)
{
    nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, true);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, 1), 0);
    unsigned char a = 0xA1, b = 0xB2;
    nv_write(d, 0, &a, 1, NV_DATA);           /* the crash point: in flight */
    nv_write(d, 0, &b, 1, NV_DATA);           /* after it: line 0 changes again */
    nv_write(d, 64, &b, 1, NV_DATA);          /* after it: a new line */
    nv_persist(d, 0, 128);                    /* too late */
    nv_crash_opts all = {.survive_p = 1.0, .seed = 3};
    ck_assert_int_eq(nv_crash(d, &all), 0);
    ck_assert_uint_eq(byte_at(d, 0), 0xA1);   /* survived as it was at the point */
    ck_assert_uint_eq(byte_at(d, 64), 0);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_crash");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, crash_loses_exactly_unpersisted_lines);
    tcase_add_test(tc, survivors_are_seeded_and_reproducible);
    tcase_add_test(tc, injection_at_nth_operation);
    tcase_add_test(tc, injection_by_kind_and_counting);
    tcase_add_test(tc, nothing_after_the_crash_point_survives);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
