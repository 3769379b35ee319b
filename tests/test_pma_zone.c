/* test_pma_zone.c - wear-aware's device layout (zone.c), under every
 * protocol: a large object of 64 KiB or more lies at the bottom of the
 * device, small arenas are carved from its top, and the free gap between
 * counts as unused; a zone arena freed next to the gap is merged back into
 * it, and one freed below another live one is merged once that one goes;
 * a realloc of the object at the zone's top grows it in place, into the gap
 * (same address, bytes kept), where it used to move; the heap so laid out
 * checks out, reopens with its objects and goes on; growth for heat leaves
 * empty the arenas a class took for need; a crash at every store
 * of a zone carve, a give-back and an in-place growth leaves a heap that
 * opens, checks out, holds the root's object and goes on. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define DEV (8u << 20)
#define BIG_N 200000          /* a zone arena (above 64 KiB) */
#define OTHER_N 100000
#define GROWN_N 400000

static pma_config cfg_of(pma_persistence per)
{
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = per;
    c.policy = PMA_WEAR_AWARE;
    c.arena_size = 65536;
    return c;
}

static pma_heap *zone_heap(nv_device **d, pma_persistence per, bool crash_sim)
{
    pma_config c = cfg_of(per);
    *d = test_sim_open(DEV, 64, NV_MODEL_LINE, 0, crash_sim);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, *d, &c), 0);
    return h;
}

static void fill(nv_device *d, pma_heap *h, unsigned char *p, size_t n, int byte)
{
    memset(p, byte, n);
    nv_persist(d, pma_offset(h, p), n);
}

static int all_are(const unsigned char *p, size_t n, int byte)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte)
            return 0;
    return 1;
}

START_TEST(large_objects_at_the_bottom_small_at_the_top)
{
    pma_persistence per = (pma_persistence)_i;
    nv_device *d;
    pma_heap *h = zone_heap(&d, per, false);
    unsigned char *small = pma_get_mem(h, 100), *big = pma_get_mem(h, BIG_N);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(big);
    ck_assert_uint_gt(pma_offset(h, small), DEV - 2 * 65536);
    ck_assert_uint_lt(pma_offset(h, big), DEV / 8);
    fill(d, h, big, BIG_N, 0x5a);
    ck_assert_int_eq(pma_set_root(h, big), 0);
    pma_heap_stats s;
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_lt(s.footprint_bytes, DEV / 8);       /* the gap is not footprint */

    /* Above it, another zone arena; freed, it goes back into the gap. */
    unsigned char *other = pma_get_mem(h, OTHER_N);
    ck_assert_ptr_nonnull(other);
    ck_assert_uint_gt(pma_offset(h, other), pma_offset(h, big));
    uint64_t merges = s.arena_merges;
    ck_assert_int_eq(pma_return_mem(h, other), 0);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.arena_merges, merges + 1);

    /* Two more; the lower freed first stays (a live one above it), then
     * both go back at once with the upper. */
    unsigned char *lower = pma_get_mem(h, OTHER_N), *upper = pma_get_mem(h, OTHER_N);
    ck_assert_ptr_nonnull(lower);
    ck_assert_ptr_nonnull(upper);
    ck_assert_uint_gt(pma_offset(h, upper), pma_offset(h, lower));
    ck_assert_int_eq(pma_return_mem(h, lower), 0);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.arena_merges, merges + 1);
    ck_assert_int_eq(pma_return_mem(h, upper), 0);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.arena_merges, merges + 3);
    ck_assert_uint_lt(s.footprint_bytes, DEV / 8);

    /* At the zone's top again: a realloc grows it where it is. */
    unsigned char *grown = pma_realloc(h, big, GROWN_N);
    ck_assert_ptr_eq(grown, big);
    ck_assert_uint_ge(pma_usable_size(h, grown), GROWN_N);
    ck_assert(all_are(grown, BIG_N, 0x5a));
    fill(d, h, grown, GROWN_N, 0x5b);
    test_heap_ok(h);
    uint64_t at = pma_offset(h, grown);
    pma_destroy(h);

    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    unsigned char *q = (unsigned char *)nv_base(d) + at;
    ck_assert_uint_ge(pma_usable_size(h, q), GROWN_N);
    ck_assert(all_are(q, GROWN_N, 0x5b));
    /* After the open the gap is found again: the heap goes on, both ways. */
    unsigned char *more = pma_get_mem(h, BIG_N), *tiny = pma_get_mem(h, 100);
    ck_assert_ptr_nonnull(more);
    ck_assert_ptr_nonnull(tiny);
    ck_assert_uint_lt(pma_offset(h, more), DEV / 8);
    ck_assert_uint_gt(pma_offset(h, tiny), DEV / 2);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

enum { STEP_CARVE, STEP_GIVE_BACK, STEP_GROW, STEPS };
static const char *const step_name[STEPS] = {"a zone carve", "a give-back", "an in-place growth"};

/* The heap before the step: the root names a zone object holding 0x5a;
 * for the give-back another zone object lies above it. */
static pma_heap *before(nv_device **d, pma_persistence per, int step, void **big, void **other)
{
    pma_heap *h = zone_heap(d, per, true);
    ck_assert_ptr_nonnull(pma_get_mem(h, 100));
    *big = pma_get_mem(h, BIG_N);
    ck_assert_ptr_nonnull(*big);
    fill(*d, h, *big, BIG_N, 0x5a);
    ck_assert_int_eq(pma_set_root(h, *big), 0);
    *other = step == STEP_GIVE_BACK ? pma_get_mem(h, OTHER_N) : NULL;
    if (step == STEP_GIVE_BACK)
        ck_assert_ptr_nonnull(*other);
    return h;
}

/* The step's pointer: the new object, the freed one, the resized one. */
static void *do_step(pma_heap *h, int step, void *big, void *other)
{
    if (step == STEP_CARVE)
        return pma_get_mem(h, OTHER_N);
    if (step == STEP_GIVE_BACK)
        return pma_return_mem(h, other) == 0 ? other : NULL;
    return pma_realloc(h, big, GROWN_N);
}

START_TEST(crash_in_zone_steps)
{
    pma_persistence per = (pma_persistence)(_i % PMA_PERSISTENCES);
    int step = _i / PMA_PERSISTENCES;
    nv_device *d;
    void *big, *other;
    pma_heap *h = before(&d, per, step, &big, &other);
    pma_heap_stats s0, s;
    ck_assert_int_eq(pma_stats(h, &s0), 0);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, 1u << 30), 0);
    void *p = do_step(h, step, big, other);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    /* a carve (the gap's front), a merge (into the gap), or both (growth) */
    ck_assert_uint_eq(s.arena_carves, s0.arena_carves + (step != STEP_GIVE_BACK));
    ck_assert_uint_eq(s.arena_merges, s0.arena_merges + (step != STEP_CARVE));
    if (step == STEP_GROW)
        ck_assert_ptr_eq(p, big);          /* grew in place, not moved */
    uint64_t stores = nv_crash_ops_count(d, NV_OP_STORE);
    nv_crash_disarm(d);
    pma_destroy(h);
    nv_close(d);
    ck_assert_uint_gt(stores, 0);
    printf("zone %s: %s makes %llu stores\n", pma_persistence_name(per), step_name[step],
           (unsigned long long)stores);
    for (uint64_t k = 1; k <= stores; k++) {
        h = before(&d, per, step, &big, &other);
        uint64_t at = pma_offset(h, big);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, k), 0);
        do_step(h, step, big, other);
        pma_abandon(h);
        ck_assert_int_eq(nv_crash(d, NULL), 0);
        int rc = pma_open(&h, d);
        TEST_REQUIRE(rc == 0, "%s, %s, crash at store %llu: open failed: %s", pma_persistence_name(per),
                     step_name[step], (unsigned long long)k, pma_strerror(rc));
        test_heap_ok(h);
        unsigned char *q = (unsigned char *)nv_base(d) + at;
        TEST_REQUIRE(pma_usable_size(h, q) >= BIG_N && all_are(q, BIG_N, 0x5a),
                     "%s, %s, crash at store %llu: the root's object was lost", pma_persistence_name(per),
                     step_name[step], (unsigned long long)k);
        void *more = pma_get_mem(h, OTHER_N), *tiny = pma_get_mem(h, 100);
        TEST_REQUIRE(more && tiny, "%s, %s, crash at store %llu: no room after recovery",
                     pma_persistence_name(per), step_name[step], (unsigned long long)k);
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

/* The reserve of empty arenas: class A (64 bytes) churns over the whole
 * device, leaving one object of every SURVIVE_EVERY alive, and class B
 * (1,000 bytes) comes back to a peak of B_PEAK objects between A's churns.
 * Growth for heat does not take over the arena B took for need: after A's
 * churn it is still empty, and B's next peak finds it. (Without the reserve
 * A took it, kept a survivor in it, and B's third peak found no room.) */
#define RES_DEV (2u << 20)
#define SURVIVE_EVERY 331
#define B_PEAK 40

static void churn_a(pma_heap *h, nv_device *d, int n, void **keep, int *kept, int cap)
{
    for (int i = 0; i < n; i++) {
        void *x = pma_get_mem(h, 64);
        TEST_REQUIRE(x != NULL, "class A: allocation %d failed", i);
        nv_set(d, pma_offset(h, x), 0x5a, 64, NV_DATA);
        if (i % SURVIVE_EVERY == 0 && *kept < cap)
            keep[(*kept)++] = x;
        else
            ck_assert_int_eq(pma_return_mem(h, x), 0);
    }
}

static int peak_b(pma_heap *h, void **b)
{
    int got = 0;
    for (; got < B_PEAK; got++)
        if ((b[got] = pma_get_mem(h, 1000)) == NULL)
            break;
    for (int i = 0; i < got; i++)
        ck_assert_int_eq(pma_return_mem(h, b[i]), 0);
    return got;
}

START_TEST(empty_arenas_kept_for_need)
{
    pma_config c = cfg_of(PMA_PERSIST_GC);
    c.granularity = 16;
    c.wear_spread_percent = 100;
    nv_device *d = test_sim_open(RES_DEV, 64, NV_MODEL_LINE, 0, false);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    enum { KEEP = 4096 };
    static void *keep[KEEP], *b[B_PEAK];
    int kept = 0;
    pma_heap_stats s;
    churn_a(h, d, 60000, keep, &kept, 0);  /* no survivors yet: the ceiling rises */
    for (int pass = 0; pass < 4; pass++) {
        int got = peak_b(h, b);
        ck_assert_int_eq(pma_stats(h, &s), 0);
        printf("reserve: pass %d: B's peak %d of %d, then %llu empty arenas\n", pass, got, B_PEAK,
               (unsigned long long)s.empty_arenas);
        TEST_REQUIRE(got == B_PEAK, "pass %d: B's peak found room for %d of %d objects", pass, got, B_PEAK);
        churn_a(h, d, 60000, keep, &kept, KEEP);
    }
    test_heap_ok(h);
    for (int i = 0; i < kept; i++)
        ck_assert_int_eq(pma_return_mem(h, keep[i]), 0);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_zone");
    TCase *tc = tcase_create("zone");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, large_objects_at_the_bottom_small_at_the_top, 0, PMA_PERSISTENCES);
    tcase_add_loop_test(tc, crash_in_zone_steps, 0, STEPS * PMA_PERSISTENCES);
    tcase_add_test(tc, empty_arenas_kept_for_need);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
