/*
 * test_pma_realloc.c - pma_realloc: in place when the block holds the new
 * size (grow within the padding, shrink), else a move that keeps the
 * contents; NULL and size 0; failures leave the old object as it was; a
 * resized large object's size survives reopen under every protocol that
 * stores it; under wear-aware a worn block moves even when the size fits.
 */
#include "testutil.h"

#include <string.h>

static pma_config cfg_of(pma_policy pol, pma_persistence per)
{
    pma_config c;
    pma_config_defaults(&c);
    c.policy = pol;
    c.persistence = per;
    return c;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 131 + i * 7);
}

static int same(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed * 131 + i * 7))
            return 0;
    return 1;
}

/* Grows within the padding and shrinks in place, for a small and a large
 * object, under first-fit and every protocol. */
START_TEST(in_place_when_it_fits)
{
    static const size_t sizes[] = {100, 7160};
    for (int per = 0; per < PMA_PERSISTENCES; per++)
        for (int k = 0; k < 2; k++) {
            pma_config c = cfg_of(PMA_FIRST_FIT, (pma_persistence)per);
            nv_device *d;
            pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
            size_t n = sizes[k];
            unsigned char *p = pma_get_mem(h, n);
            ck_assert_ptr_nonnull(p);
            fill(p, n, 3);
            size_t usable = pma_usable_size(h, p);
            ck_assert_uint_ge(usable, n);
            pma_heap_stats s0, s1;
            pma_stats(h, &s0);
            /* the whole usable size: in place */
            ck_assert_ptr_eq(pma_realloc(h, p, usable), p);
            ck_assert(same(p, n, 3));
            pma_stats(h, &s1);
            ck_assert_uint_eq(s1.requested_bytes, s0.requested_bytes - n + usable);
            ck_assert_uint_eq(s1.allocs, s0.allocs);
            test_heap_ok(h);
            /* shrinking: in place, the first bytes kept */
            ck_assert_ptr_eq(pma_realloc(h, p, n / 2), p);
            ck_assert(same(p, n / 2, 3));
            pma_stats(h, &s1);
            ck_assert_uint_eq(s1.requested_bytes, s0.requested_bytes - n + n / 2);
            ck_assert_uint_eq(s1.live_objects, s0.live_objects);
            test_heap_ok(h);
            ck_assert_int_eq(pma_return_mem(h, p), 0);
            test_heap_ok(h);
            pma_destroy(h);
            nv_close(d);
        }
}
END_TEST

/* Past the usable size it moves: contents kept, the old object freed. */
START_TEST(moves_when_it_does_not_fit)
{
    static const size_t from[] = {100, 5000, 7160, 3000}, to[] = {3000, 7160, 100000, 9000};
    for (int per = 0; per < PMA_PERSISTENCES; per++)
        for (int k = 0; k < 4; k++) {
            pma_config c = cfg_of(PMA_FIRST_FIT, (pma_persistence)per);
            nv_device *d;
            pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
            unsigned char *p = pma_get_mem(h, from[k]);
            ck_assert_ptr_nonnull(p);
            fill(p, from[k], (unsigned)k);
            TEST_REQUIRE(pma_usable_size(h, p) < to[k], "case %d fits in place", k);
            nv_counters c0, c1;
            nv_counters_get(d, &c0);
            unsigned char *q = pma_realloc(h, p, to[k]);
            ck_assert_ptr_nonnull(q);
            ck_assert_ptr_ne(q, p);
            ck_assert(same(q, from[k], (unsigned)k));
            nv_counters_get(d, &c1);
            /* the copy is a data write of the old object's bytes: one
             * write of each 64-byte cell they cover at the new place */
            uint64_t at = pma_offset(h, q);
            ck_assert_uint_eq(c1.data_writes - c0.data_writes, (at + from[k] - 1) / 64 - at / 64 + 1);
            ck_assert_uint_ge(pma_usable_size(h, q), to[k]);
            ck_assert_uint_eq(pma_usable_size(h, p), 0);
            pma_heap_stats s;
            pma_stats(h, &s);
            ck_assert_uint_eq(s.live_objects, 1);
            ck_assert_uint_eq(s.requested_bytes, to[k]);
            test_heap_ok(h);
            ck_assert_int_eq(pma_return_mem(h, p), PMA_EDOUBLE);
            ck_assert_int_eq(pma_return_mem(h, q), 0);
            test_heap_ok(h);
            pma_destroy(h);
            nv_close(d);
        }
}
END_TEST

START_TEST(null_zero_and_bad_pointers)
{
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 4 << 20, 64, NULL);
    unsigned char *p = pma_realloc(h, NULL, 200);       /* NULL: a get */
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(pma_usable_size(h, p), 200);
    fill(p, 200, 9);
    ck_assert_ptr_null(pma_realloc(h, p, 0));            /* 0: refused, not a free */
    ck_assert_int_eq(pma_last_error(), PMA_EINVAL);
    ck_assert(same(p, 200, 9));
    ck_assert_uint_ge(pma_usable_size(h, p), 200);
    ck_assert_ptr_null(pma_realloc(h, p + 16, 300));     /* interior */
    ck_assert_int_eq(pma_last_error(), PMA_EINVAL);
    int local;
    ck_assert_ptr_null(pma_realloc(h, &local, 300));     /* foreign */
    ck_assert_int_eq(pma_last_error(), PMA_EINVAL);
    unsigned char *big = pma_get_mem(h, 9000);
    ck_assert_int_eq(pma_return_mem(h, big), 0);
    ck_assert_ptr_null(pma_realloc(h, big, 100));        /* freed large */
    ck_assert_int_eq(pma_last_error(), PMA_EDOUBLE);
    ck_assert_int_eq(pma_return_mem(h, p), 0);
    ck_assert_ptr_null(pma_realloc(h, p, 100));          /* freed small */
    ck_assert_int_eq(pma_last_error(), PMA_EDOUBLE);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A move that cannot get its new object fails and changes nothing. */
START_TEST(failure_leaves_the_old_object)
{
    for (int per = 0; per < PMA_PERSISTENCES; per++) {
        pma_config c = cfg_of(PMA_FIRST_FIT, (pma_persistence)per);
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 4 << 20, 64, &c);
        unsigned char *p = pma_get_mem(h, 1000);
        fill(p, 1000, 5);
        pma_heap_stats s0, s1;
        pma_stats(h, &s0);
        ck_assert_ptr_null(pma_realloc(h, p, 3 << 20));     /* no room on the device */
        ck_assert_int_eq(pma_last_error(), PMA_ENOMEM);
        ck_assert(same(p, 1000, 5));
        pma_stats(h, &s1);
        ck_assert_uint_eq(s1.live_objects, s0.live_objects);
        ck_assert_uint_eq(s1.requested_bytes, s0.requested_bytes);
        ck_assert_uint_ge(pma_usable_size(h, p), 1000);
        test_heap_ok(h);
        /* and it still moves once there is room */
        unsigned char *q = pma_realloc(h, p, 1 << 20);
        ck_assert_ptr_nonnull(q);
        ck_assert(same(q, 1000, 5));
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

/* A large object resized in place: the size it has now is what open finds
 * (intent and log store it in the object word; after a crash too). */
START_TEST(large_size_survives_reopen)
{
    for (int per = 0; per < PMA_PERSISTENCES; per++)
        for (int crash = 0; crash < 2; crash++) {
            pma_config c = cfg_of(PMA_FIRST_FIT, (pma_persistence)per);
            nv_device *d;
            pma_heap *h = test_heap_open(&d, 4 << 20, 64, &c);
            unsigned char *p = pma_get_mem(h, 20000);
            ck_assert_ptr_nonnull(p);
            ck_assert_int_eq(pma_set_root(h, p), 0);
            ck_assert_ptr_eq(pma_realloc(h, p, 12345), p);
            size_t usable = pma_usable_size(h, p);
            ck_assert_uint_lt(usable, 20000);
            ck_assert_uint_ge(usable, 12345);
            test_heap_ok(h);
            uint64_t off = pma_offset(h, p);
            if (crash)
                pma_abandon(h);
            else
                pma_destroy(h);
            ck_assert_int_eq(pma_open(&h, d), 0);
            test_heap_ok(h);
            p = pma_pointer(h, off);
            pma_heap_stats s;
            pma_stats(h, &s);
            ck_assert_uint_eq(s.live_objects, 1);
            /* gc stores no size: open finds the object and gives it its
             * whole arena */
            if (per != PMA_PERSIST_GC) {
                ck_assert_uint_eq(pma_usable_size(h, p), usable);
                ck_assert_uint_eq(s.requested_bytes, 12345);
            } else {
                ck_assert_uint_ge(pma_usable_size(h, p), usable);
            }
            pma_destroy(h);
            nv_close(d);
        }
}
END_TEST

/* wear-aware: a block at the ceiling moves although the new size fits; the
 * other policies keep it in place. */
START_TEST(worn_block_moves_under_wear_aware)
{
    static const size_t sizes[] = {100, 7160};
    for (int pol = 0; pol < PMA_POLICIES; pol++)
        for (int k = 0; k < 2; k++) {
            pma_config c = cfg_of((pma_policy)pol, PMA_PERSIST_LOG);
            nv_device *d;
            pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
            unsigned char *p = pma_get_mem(h, sizes[k]);
            fill(p, sizes[k], 11);
            /* a fresh heap's ceiling is one allocation per block: this
             * block has had its one */
            unsigned char *q = pma_realloc(h, p, sizes[k] - 8);
            ck_assert_ptr_nonnull(q);
            if (pol == PMA_WEAR_AWARE)
                ck_assert_ptr_ne(q, p);
            else
                ck_assert_ptr_eq(q, p);
            ck_assert(same(q, sizes[k] - 8, 11));
            test_heap_ok(h);
            pma_destroy(h);
            nv_close(d);
        }
}
END_TEST

/* wear-aware: a realloc loop in place spreads as allocations do. */
START_TEST(wear_aware_realloc_loop_spreads)
{
    for (int pol = 0; pol < 2; pol++) {
        pma_config c = cfg_of(pol ? PMA_WEAR_AWARE : PMA_FIRST_FIT, PMA_PERSIST_LOG);
        c.granularity = 16;
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
        unsigned char *p = pma_get_mem(h, 64);
        for (int i = 0; i < 5000; i++) {
            p = pma_realloc(h, p, 48 + (size_t)(i % 2) * 16);
            TEST_REQUIRE(p != NULL, "realloc %d failed", i);
            nv_set(d, pma_offset(h, p), i & 0xff, 48, NV_DATA);
        }
        nv_counters nc;
        nv_counters_get(d, &nc);
        uint64_t *v = malloc(nc.cells * sizeof *v), max = 0;
        ck_assert_int_eq(nv_cells_export_tag(d, NV_DATA, 0, nc.cells, v), 0);
        for (uint64_t i = 0; i < nc.cells; i++)
            max = v[i] > max ? v[i] : max;
        free(v);
        if (pol)
            ck_assert_uint_le(max, 2);        /* a move per round, onto fresh cells */
        else
            ck_assert_uint_ge(max, 5000);     /* in place, round after round */
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_realloc");
    TCase *tc = tcase_create("realloc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, in_place_when_it_fits);
    tcase_add_test(tc, moves_when_it_does_not_fit);
    tcase_add_test(tc, null_zero_and_bad_pointers);
    tcase_add_test(tc, failure_leaves_the_old_object);
    tcase_add_test(tc, large_size_survives_reopen);
    tcase_add_test(tc, worn_block_moves_under_wear_aware);
    tcase_add_test(tc, wear_aware_realloc_loop_spreads);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
