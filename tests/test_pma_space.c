/* test_pma_space.c - freed large arenas' space serves other sizes (space.c):
 * a heap filled with large objects of one size, freed, then takes objects
 * of twice the size and small objects as far as the device allows (before,
 * the first get of a new size failed: every free arena had the old size);
 * the heap checks out and reopens with the resized arenas; a crash at every
 * store of a get that merges (and one that carves) leaves a heap that opens,
 * checks out and still holds the object linked from the root, under each
 * protocol;
 * a freed large arena with a worn line retires that line's page, not the
 * arena (it retired all 64 KiB before), and keeps doing so after reopen;
 * a freed large arena is kept by the thread that freed it (tcache.h): its
 * next get of the size has it back, another thread's does not, and a
 * thread's kept arenas go back to the pool when it exits; one whose line
 * wears out while kept is retired, never handed out again. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define DEV (4u << 20)
#define SMALL_N 9000          /* padded with the header: a 16 KiB arena */
#define BIG_N 30000           /* a 32 KiB arena */
#define MAXOBJ 512
#define ENDURANCE 2000        /* writes a cell of the worn tests takes */

static pma_config cfg_of(pma_persistence per)
{
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = per;
    c.arena_size = 65536;
    return c;
}

/* Large objects of n bytes until the device is full; their count. */
static int fill_large(pma_heap *h, size_t n, void **got)
{
    int k = 0;
    while (k < MAXOBJ && (got[k] = pma_get_mem(h, n)) != NULL)
        k++;
    ck_assert_int_eq(pma_last_error(), PMA_ENOMEM);
    return k;
}

static void free_all(pma_heap *h, void **got, int k)
{
    for (int i = 0; i < k; i++)
        ck_assert_int_eq(pma_return_mem(h, got[i]), 0);
}

START_TEST(freed_large_space_serves_other_sizes)
{
    pma_persistence per = (pma_persistence)_i;
    pma_config c = cfg_of(per);
    nv_device *d;
    pma_heap *h = test_heap_open(&d, DEV, 64, &c);
    static void *got[MAXOBJ];
    int small = fill_large(h, SMALL_N, got);
    ck_assert_int_gt(small, 100);
    free_all(h, got, small);
    test_heap_ok(h);
    /* Twice the size: the freed 16 KiB arenas merge. */
    int big = fill_large(h, BIG_N, got);
    ck_assert_msg(big >= small / 2 - 2, "%s: %d objects of %d bytes after %d of %d", pma_persistence_name(per), big,
                  BIG_N, small, SMALL_N);
    pma_heap_stats s;
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_gt(s.arena_merges, 0);       /* pairs of 16 KiB arenas: exact fits */
    test_heap_ok(h);
    for (int i = 0; i < big; i++)
        memset(got[i], i & 0xff, BIG_N);
    free_all(h, got, big / 2);                 /* half of them freed */
    /* Small objects: arenas for them carved out of freed large ones. */
    uint64_t carves = s.arena_carves, bytes = 0;
    void *p;
    while ((p = pma_get_mem(h, 200)) != NULL)
        bytes += 200;
    ck_assert_uint_ge(bytes, (uint64_t)(big / 2) * BIG_N / 2);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_gt(s.arena_carves, carves);
    test_heap_ok(h);
    /* Reopened: the resized arenas are found as they are. */
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    for (int i = big / 2; i < big; i++) {
        const unsigned char *q = got[i];
        ck_assert_uint_ge(pma_usable_size(h, got[i]), BIG_N);
        ck_assert(q[0] == (i & 0xff) && q[BIG_N - 1] == (i & 0xff));
    }
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* One device ready for the crash: 16 KiB-arena objects filling it, all
 * freed but one, which the root names and which holds a pattern. */
static pma_heap *crash_setup(nv_device **dp, pma_persistence per, void **keep)
{
    pma_config c = cfg_of(per);
    nv_config dc;
    nv_config_defaults(&dc);
    dc.size = DEV;
    dc.crash_sim = true;
    ck_assert_int_eq(nv_open(dp, &dc), 0);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, *dp, &c), 0);
    static void *got[MAXOBJ];
    int k = fill_large(h, SMALL_N, got);
    *keep = got[k / 2];
    memset(*keep, 0x5a, SMALL_N);
    nv_persist(*dp, pma_offset(h, *keep), SMALL_N);
    ck_assert_int_eq(pma_set_root(h, *keep), 0);
    for (int i = 0; i < k; i++)
        if (i != k / 2)
            ck_assert_int_eq(pma_return_mem(h, got[i]), 0);
    /* Nothing free past hwm: the next big get merges and carves. */
    return h;
}

/* Crash at every store of a get that merges and carves: a large one (two
 * freed 16 KiB arenas merged to its exact size) and a small one (no small
 * arena yet: five merged, a 64 KiB small arena carved from their end). */
START_TEST(crash_during_merge_and_carve)
{
    pma_persistence per = (pma_persistence)(_i % PMA_PERSISTENCES);
    size_t size = _i < PMA_PERSISTENCES ? BIG_N : 200;
    nv_device *d;
    void *keep;
    pma_heap *h = crash_setup(&d, per, &keep);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, 1u << 30), 0);
    ck_assert_ptr_nonnull(pma_get_mem(h, size));
    uint64_t stores = nv_crash_ops_count(d, NV_OP_STORE);
    nv_crash_disarm(d);
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_gt(s.arena_merges, 0);
    ck_assert_uint_eq(s.arena_carves, size == BIG_N ? 0 : 1);
    pma_destroy(h);
    nv_close(d);
    printf("space %s: the merging%s get of %zu bytes makes %llu stores\n", pma_persistence_name(per),
           size == BIG_N ? "" : ", carving", size, (unsigned long long)stores);
    for (uint64_t k = 1; k <= stores; k++) {
        h = crash_setup(&d, per, &keep);
        uint64_t koff = pma_offset(h, keep);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, k), 0);
        pma_get_mem(h, size);
        pma_abandon(h);
        ck_assert_int_eq(nv_crash(d, NULL), 0);
        int rc = pma_open(&h, d);
        TEST_REQUIRE(rc == 0, "%s, crash at store %llu: open failed: %s", pma_persistence_name(per),
                     (unsigned long long)k, pma_strerror(rc));
        test_heap_ok(h);
        const unsigned char *q = (const unsigned char *)nv_base(d) + koff;
        TEST_REQUIRE(pma_usable_size(h, (void *)q) >= SMALL_N && q[0] == 0x5a && q[SMALL_N - 1] == 0x5a,
                     "%s, crash at store %llu: the root's object was lost", pma_persistence_name(per),
                     (unsigned long long)k);
        /* The heap goes on: the object still fits. */
        void *b = pma_get_mem(h, size);
        TEST_REQUIRE(b != NULL, "%s, crash at store %llu: no room after recovery", pma_persistence_name(per),
                     (unsigned long long)k);
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

/* A heap under per on a device whose cells fail after 2,000 writes. */
static pma_heap *worn_heap(pma_persistence per, nv_device **d)
{
    pma_config c = cfg_of(per);
    nv_config dc;
    nv_config_defaults(&dc);
    dc.size = DEV;
    dc.endurance.kind = NV_ENDURANCE_FIXED;
    dc.endurance.mean = ENDURANCE;
    ck_assert_int_eq(nv_open(d, &dc), 0);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, *d, &c), 0);
    return h;
}

/* Writes the line at off until it fails. */
static void wear_out(nv_device *d, uint64_t off)
{
    unsigned char line[64] = {0};
    for (int i = 0; i <= ENDURANCE; i++)
        nv_write(d, off, line, sizeof line, NV_DATA);
}

START_TEST(worn_large_arena_retires_a_page)
{
    pma_persistence per = (pma_persistence)_i;
    nv_device *d;
    pma_heap *h = worn_heap(per, &d);
    unsigned char *p = pma_get_mem(h, 40000);           /* a 64 KiB arena */
    ck_assert_ptr_nonnull(p);
    uint64_t at = pma_offset(h, p), worn = at + 20000 / 64 * 64;
    wear_out(d, worn);
    ck_assert_int_eq(pma_return_mem(h, p), 0);
    pma_heap_stats s;
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.failed_lines, 1);
    ck_assert_uint_ge(s.retired_bytes, 64);
    ck_assert_uint_le(s.retired_bytes, 2 * 4096);
    test_heap_ok(h);
    /* The space on both sides serves new objects; none covers the line. */
    uint64_t got = 0;
    unsigned char *q;
    while ((q = pma_get_mem(h, 5000)) != NULL) {
        uint64_t o = pma_offset(h, q);
        ck_assert(worn + 64 <= o || o + 5000 <= worn);
        got++;
    }
    ck_assert_uint_ge(got * 8192, DEV / 2);
    test_heap_ok(h);
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_le(s.retired_bytes, 2 * 4096);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Another thread's get and return of a 7,000-byte object (an 8 KiB arena). */
static void *other_thread(void *arg)
{
    pma_heap *h = arg;
    void *r = pma_get_mem(h, 7000);
    if (r && pma_return_mem(h, r) != 0)
        r = NULL;
    return r;                  /* kept by this thread until it exits */
}

START_TEST(freed_large_arena_kept_by_its_thread)
{
    pma_persistence per = (pma_persistence)_i;
    pma_config c = cfg_of(per);
    nv_device *d;
    pma_heap *h = test_heap_open(&d, DEV, 64, &c);
    void *p = pma_get_mem(h, 7000);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pma_return_mem(h, p), 0);
    ck_assert_ptr_eq(pma_get_mem(h, 7000), p);
    ck_assert_int_eq(pma_return_mem(h, p), 0);    /* kept by this thread again */
    pthread_t t;
    void *r = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, h), 0);
    ck_assert_int_eq(pthread_join(t, &r), 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_ne(r, p);                      /* p was not the other thread's to take */
    pma_heap_stats s0, s1;
    ck_assert_int_eq(pma_stats(h, &s0), 0);
    test_heap_ok(h);
    /* Ours first, then the one the exited thread handed back to the pool:
     * the heap does not grow. */
    ck_assert_ptr_eq(pma_get_mem(h, 7000), p);
    ck_assert_ptr_eq(pma_get_mem(h, 7000), r);
    ck_assert_int_eq(pma_stats(h, &s1), 0);
    ck_assert_uint_eq(s1.footprint_bytes, s0.footprint_bytes);
    ck_assert_uint_eq(s1.arena_creations, s0.arena_creations);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

START_TEST(worn_kept_large_arena_never_reused)
{
    pma_persistence per = (pma_persistence)_i;
    nv_device *d;
    pma_heap *h = worn_heap(per, &d);
    unsigned char *p = pma_get_mem(h, 40000);           /* a 64 KiB arena: kept once freed */
    ck_assert_ptr_nonnull(p);
    uint64_t at = pma_offset(h, p), worn = at + 20000 / 64 * 64;
    ck_assert_int_eq(pma_return_mem(h, p), 0);
    wear_out(d, worn);
    /* The next gets learn of the failure; none is handed the worn line. */
    for (int k = 0; k < 8; k++) {
        unsigned char *q = pma_get_mem(h, 40000);
        ck_assert_ptr_nonnull(q);
        uint64_t o = pma_offset(h, q);
        ck_assert_msg(worn + 64 <= o || o + 40000 <= worn, "%s: object %d at %llu covers the worn line %llu",
                      pma_persistence_name(per), k, (unsigned long long)o, (unsigned long long)worn);
    }
    pma_heap_stats s;
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.failed_lines, 1);
    ck_assert_uint_ge(s.retired_bytes, 64);
    ck_assert_uint_le(s.retired_bytes, 2 * 4096);
    test_heap_ok(h);
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_space");
    TCase *tc = tcase_create("space");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, freed_large_space_serves_other_sizes, 0, PMA_PERSISTENCES);
    tcase_add_loop_test(tc, crash_during_merge_and_carve, 0, 2 * PMA_PERSISTENCES);
    tcase_add_loop_test(tc, worn_large_arena_retires_a_page, 0, PMA_PERSISTENCES);
    tcase_add_loop_test(tc, freed_large_arena_kept_by_its_thread, 0, PMA_PERSISTENCES);
    tcase_add_loop_test(tc, worn_kept_large_arena_never_reused, 0, PMA_PERSISTENCES);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
