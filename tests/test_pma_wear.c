/*
 * test_pma_wear.c - the wear-aware policy's ceiling: no block is allocated
 * again while the heap may still place a request on a block allocated fewer
 * times; growth for wear stops at wear_spread_percent of the device (not
 * widening: wear_spread_full_at 0); the
 * setting is checked and survives reopen. Wear is read from the sim device's
 * data counters, which the allocator itself never sees.
 */
#include "testutil.h"

#include <string.h>

static pma_config wear_cfg(uint32_t spread)
{
    pma_config c;
    pma_config_defaults(&c);
    c.granularity = 16;
    c.policy = PMA_WEAR_AWARE;
    c.arena_size = 65536;
    c.wear_spread_percent = spread;
    c.wear_spread_full_at = 0;              /* the share stays where it is set */
    return c;
}

/* n alloc/write/free rounds of one 64-byte object. */
static void churn(pma_heap *h, nv_device *d, int n)
{
    for (int i = 0; i < n; i++) {
        void *x = pma_get_mem(h, 64);
        TEST_REQUIRE(x != NULL, "allocation %d failed", i);
        nv_set(d, pma_offset(h, x), 0x5a, 64, NV_DATA);
        TEST_REQUIRE(pma_return_mem(h, x) == 0, "free %d failed", i);
    }
}

typedef struct data_wear { uint64_t touched, min, max, total; } data_wear;

static data_wear data_cells(nv_device *d)
{
    nv_counters c;
    nv_counters_get(d, &c);
    uint64_t *v = malloc(c.cells * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(nv_cells_export(d, 0, 0, c.cells, v), 0);
    data_wear w = {0, UINT64_MAX, 0, 0};
    for (uint64_t i = 0; i < c.cells; i++)
        if (v[i]) {
            w.touched++;
            w.total += v[i];
            w.min = v[i] < w.min ? v[i] : w.min;
            w.max = v[i] > w.max ? v[i] : w.max;
        }
    free(v);
    return w;
}

/* n churn rounds on a new heap of `size` bytes; its data wear, and its stats. */
static data_wear churned(const pma_config *c, uint64_t size, int n, pma_heap_stats *s)
{
    nv_device *d;
    pma_heap *h = test_heap_open(&d, size, 64, c);
    churn(h, d, n);
    data_wear w = data_cells(d);
    ck_assert_uint_eq(w.total, (uint64_t)n);
    pma_stats(h, s);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
    return w;
}

/* With room to spare, every round lands on cells never written before. */
START_TEST(fresh_cells_before_any_reuse)
{
    pma_config c = wear_cfg(100);
    pma_heap_stats s;
    data_wear w = churned(&c, 4 << 20, 20000, &s);
    ck_assert_uint_eq(w.touched, 20000);
    ck_assert_uint_eq(w.max, 1);
    c.policy = PMA_NEXT_FIT;                 /* the contrast: one arena, round and round */
    w = churned(&c, 4 << 20, 20000, &s);
    ck_assert_uint_gt(w.max, 10);
}
END_TEST

/* Once the device is full the ceiling rises a step at a time: every data
 * cell used ends within one write of every other. */
START_TEST(full_device_levels_within_one)
{
    pma_config c = wear_cfg(100);
    pma_heap_stats s;
    data_wear w = churned(&c, 1 << 20, 60000, &s);
    ck_assert_uint_ge(w.max, 3);            /* the device really was reused */
    ck_assert_uint_le(w.max - w.min, 1);
    ck_assert_uint_eq(s.failed_allocs, 0);
}
END_TEST

/* Growth for wear stops at the spread; the rest stays for what needs it. */
START_TEST(spread_limit_leaves_room)
{
    for (uint32_t spread = 0; spread <= 50; spread += 50) {
        pma_config c = wear_cfg(spread);
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 4 << 20, 64, &c);
        churn(h, d, 40000);
        pma_heap_stats s;
        pma_stats(h, &s);
        if (spread == 0)
            ck_assert_uint_eq(s.arenas[0], 1);
        else
            ck_assert_uint_le(s.footprint_bytes, (4u << 20) / 2);
        ck_assert_uint_gt(s.footprint_bytes, spread ? (4u << 20) / 2 - 2 * 65536 : 0);
        void *big = pma_get_mem(h, 1 << 20);  /* a large object still fits */
        ck_assert_ptr_nonnull(big);
        ck_assert_int_eq(pma_return_mem(h, big), 0);
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

/* Large objects rotate over arenas: one 7,160-byte object allocated, written
 * and freed 10^4 times on a 64 MiB device (defaults but the policy): the
 * hottest data cell under wear-aware is at most 1/100 of first-fit's, under
 * every protocol, and the heap stays inside the spread. */
static uint64_t large_loop_max(pma_policy pol, pma_persistence per, pma_heap_stats *s)
{
    pma_config c;
    pma_config_defaults(&c);
    c.policy = pol;
    c.persistence = per;
    c.wear_spread_full_at = 0;              /* the footprint check: the spread stays at 50% */
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 64 << 20, 64, &c);
    for (int i = 0; i < 10000; i++) {
        void *x = pma_get_mem(h, 7160);
        TEST_REQUIRE(x != NULL, "allocation %d failed", i);
        nv_set(d, pma_offset(h, x), i & 0xff, 7160, NV_DATA);
        TEST_REQUIRE(pma_return_mem(h, x) == 0, "free %d failed", i);
    }
    data_wear w = data_cells(d);
    pma_stats(h, s);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
    return w.max;
}

START_TEST(large_objects_rotate_over_arenas)
{
    pma_heap_stats s;
    uint64_t ff = large_loop_max(PMA_FIRST_FIT, PMA_PERSIST_LOG, &s);
    ck_assert_uint_ge(ff, 10000);
    for (int per = 0; per < PMA_PERSISTENCES; per++) {
        uint64_t wa = large_loop_max(PMA_WEAR_AWARE, (pma_persistence)per, &s);
        ck_assert_msg(wa * 100 <= ff, "%s: wear-aware %llu vs first-fit %llu", pma_persistence_name(per),
                      (unsigned long long)wa, (unsigned long long)ff);
        ck_assert_uint_le(s.footprint_bytes, (64u << 20) / 2);
        ck_assert_uint_eq(s.failed_allocs, 0);
    }
}
END_TEST

/* Past the spread a large object of a size seen before reuses a pooled
 * arena (raising the ceiling) rather than grow; one of a new size still
 * grows the heap as far as the device allows. */
START_TEST(large_reuse_past_the_spread)
{
    pma_config c = wear_cfg(10);
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 4 << 20, 64, &c);
    for (int i = 0; i < 2000; i++) {
        void *x = pma_get_mem(h, 7160);
        TEST_REQUIRE(x != NULL, "allocation %d failed", i);
        nv_set(d, pma_offset(h, x), 0x11, 7160, NV_DATA);
        TEST_REQUIRE(pma_return_mem(h, x) == 0, "free %d failed", i);
    }
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_le(s.footprint_bytes, (4u << 20) / 10);
    uint64_t arenas = s.arenas[PMA_CLASS_LARGE] - 1;     /* less the free gap (zone.c) */
    ck_assert_uint_gt(arenas, 10);
    data_wear w = data_cells(d);
    /* even: every arena within one round of every other */
    ck_assert_uint_le(w.max, (2000 + arenas - 1) / arenas);
    void *big = pma_get_mem(h, 1 << 20);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(pma_return_mem(h, big), 0);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

START_TEST(spread_checked_and_kept)
{
    pma_config c = wear_cfg(101);
    char msg[200] = "";
    ck_assert_int_eq(pma_config_check(&c, msg, sizeof msg), PMA_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "wear_spread_percent"));
    c = wear_cfg(37);
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 1 << 20, 64, &c);
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    ck_assert_uint_eq(pma_heap_config(h)->wear_spread_percent, 37);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_wear");
    TCase *tc = tcase_create("ceiling");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fresh_cells_before_any_reuse);
    tcase_add_test(tc, full_device_levels_within_one);
    tcase_add_test(tc, spread_limit_leaves_room);
    tcase_add_test(tc, spread_checked_and_kept);
    tcase_add_test(tc, large_objects_rotate_over_arenas);
    tcase_add_test(tc, large_reuse_past_the_spread);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
