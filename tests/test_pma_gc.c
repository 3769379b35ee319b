/* test_pma_gc.c - the gc persistence protocol's behaviour (its crash
 * consistency is test_pma_gc_crash.c): nothing stored per get or return,
 * fixed slots, the clean close and clean reopen, the conservative trace
 * (what is reachable stays, what is not is freed, interior words do not
 * count, the root may point inside), the precise tracer, and a clean image
 * that lies. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static pma_config gc_config(void)
{
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = PMA_PERSIST_GC;
    c.arena_size = 64 << 10;
    return c;
}

static uint64_t off_of(pma_heap *h, const void *p) { return pma_offset(h, p); }

/* Stores word w at index i of object p, as a program would (persisted). */
static void put(pma_heap *h, void *p, size_t i, uint64_t w)
{
    uint64_t at = off_of(h, p) + i * 8;
    nv_write(pma_device(h), at, &w, 8, NV_DATA);
    nv_persist(pma_device(h), at, 8);
}

static pma_heap *reopen(nv_device *d, const pma_open_opts *o, const char *how)
{
    pma_heap *h;
    ck_assert_int_eq(pma_open_ex(&h, d, o), 0);
    pma_open_info info;
    pma_open_info_get(h, &info);
    ck_assert_str_eq(info.how, how);
    test_heap_ok(h);
    return h;
}

START_TEST(steady_state_stores_nothing)
{
    pma_config c = gc_config();
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 32 << 20, 64, &c);
    void *p[256];
    /* Warm up: arenas for every class and a large arena in the pool. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 256; i++)
            ck_assert_ptr_nonnull(p[i] = pma_get_mem(h, i == 255 ? 20000 : 1 + (size_t)i * 16));
        for (int i = 0; i < 256; i++)
            ck_assert_int_eq(pma_return_mem(h, p[i]), 0);
    }
    nv_counters before, after;
    ck_assert_int_eq(nv_counters_get(d, &before), 0);
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 256; i++)
            TEST_REQUIRE((p[i] = pma_get_mem(h, i == 255 ? 20000 : 1 + (size_t)i * 16)) != NULL, "get");
        for (int i = 0; i < 256; i++)
            TEST_REQUIRE(pma_return_mem(h, p[i]) == 0, "return");
    }
    ck_assert_int_eq(nv_counters_get(d, &after), 0);
    ck_assert_uint_eq(after.stores, before.stores);
    ck_assert_uint_eq(after.meta_writes, before.meta_writes);
    ck_assert_uint_eq(after.flushes, before.flushes);
    ck_assert_uint_eq(after.fences, before.fences);
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_eq(s.flushes, 0);
    ck_assert_uint_eq(s.fences, 0);
    ck_assert_uint_eq(s.meta_bytes, 0);
    ck_assert_uint_ge(s.allocs, 40 * 256);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Every small request takes its class's whole slot, at a multiple of it:
 * the internal fragmentation that buys boundaries without a record. */
START_TEST(fixed_slots_cost_measured)
{
    uint64_t requested = 0, allocated[2] = {0, 0};
    for (int gc = 0; gc < 2; gc++) {
        pma_config c = gc_config();
        if (!gc)
            c.persistence = PMA_PERSIST_LOG;
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 64 << 20, 64, &c);
        uint64_t seed = 5;
        for (int i = 0; i < 4000; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t size = 1 + (size_t)((seed >> 33) % 4096);
            void *p = pma_get_mem(h, size);
            ck_assert_ptr_nonnull(p);
            size_t us = pma_usable_size(h, p);
            if (gc) {
                requested += size;
                size_t slot = 64;
                while (slot < size)
                    slot *= 2;
                TEST_REQUIRE(us == slot, "%zu bytes: usable %zu, slot %zu", size, us, slot);
            }
            allocated[gc] += us;
        }
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
    printf("sizes uniform 1..4096: allocated / requested = %.3f under gc, %.3f under log\n",
           (double)allocated[1] / (double)requested, (double)allocated[0] / (double)requested);
    ck_assert_uint_gt(allocated[1], allocated[0]);
}
END_TEST

/* A clean close stores the live set: the reopen needs no trace and keeps
 * even what nothing links. After an abandon the trace frees it. */
START_TEST(clean_reopen_needs_no_trace)
{
    pma_config c = gc_config();
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 16 << 20, 64, &c);
    void *p[100];
    for (int i = 0; i < 100; i++)
        ck_assert_ptr_nonnull(p[i] = pma_get_mem(h, i % 10 == 0 ? 9000 : 24 + (size_t)i * 30));
    for (int i = 0; i < 100; i += 3)
        ck_assert_int_eq(pma_return_mem(h, p[i]), 0);
    pma_heap_stats before;
    pma_stats(h, &before);
    pma_destroy(h);
    h = reopen(d, NULL, "clean");
    pma_open_info info;
    pma_open_info_get(h, &info);
    ck_assert_uint_eq(info.traced_objects, 0);
    ck_assert_uint_eq(info.live_objects, before.live_objects);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(pma_usable_size(h, p[i]) > 0, i % 3 != 0);
    /* The clean state is spent: a crash now traces, and no root reaches anything. */
    pma_abandon(h);
    h = reopen(d, NULL, "trace");
    pma_heap_stats after;
    pma_stats(h, &after);
    ck_assert_uint_eq(after.live_objects, 0);
    pma_destroy(h);
    h = reopen(d, NULL, "clean");
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* root -> a (at an interior word) -> b -> large l; c -> e is unreachable;
 * a word of a naming the inside of f does not keep f. */
START_TEST(conservative_trace)
{
    pma_config c = gc_config();
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 16 << 20, 64, &c);
    void *a = pma_get_mem(h, 200), *b = pma_get_mem(h, 64), *l = pma_get_mem(h, 70000);
    void *cc = pma_get_mem(h, 100), *e = pma_get_mem(h, 3000), *f = pma_get_mem(h, 500);
    ck_assert(a && b && l && cc && e && f);
    put(h, a, 5, off_of(h, b));
    put(h, a, 6, off_of(h, f) + 64);          /* inside f: not a start */
    put(h, b, 0, off_of(h, l));
    put(h, cc, 1, off_of(h, e));
    put(h, l, 4000, 0x1234);                  /* data in the large object */
    ck_assert_int_eq(pma_set_root(h, (char *)a + 16), 0);     /* the root may point inside */
    pma_abandon(h);
    h = reopen(d, NULL, "trace");
    ck_assert_uint_gt(pma_usable_size(h, a), 0);
    ck_assert_uint_gt(pma_usable_size(h, b), 0);
    ck_assert_uint_ge(pma_usable_size(h, l), 70000);
    ck_assert_uint_eq(pma_usable_size(h, cc), 0);
    ck_assert_uint_eq(pma_usable_size(h, e), 0);
    ck_assert_uint_eq(pma_usable_size(h, f), 0);
    ck_assert_uint_eq(((uint64_t *)l)[4000], 0x1234);
    pma_open_info info;
    pma_open_info_get(h, &info);
    ck_assert_uint_eq(info.traced_objects, 3);
    ck_assert_uint_eq(info.live_objects, 3);
    ck_assert_uint_ge(info.scanned_bytes, 70000);
    /* Freed space is reused, and what stayed is intact after more churn. */
    for (int i = 0; i < 50; i++)
        ck_assert_ptr_nonnull(pma_get_mem(h, 100));
    ck_assert_uint_eq(((uint64_t *)b)[0], off_of(h, l));
    test_heap_ok(h);
    /* No root: nothing survives a crash. */
    ck_assert_int_eq(pma_set_root(h, NULL), 0);
    pma_abandon(h);
    h = reopen(d, NULL, "trace");
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_eq(s.live_objects, 0);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* The precise tracer decides: a word it does not report keeps nothing, and
 * an offset it reports where no object starts is counted. */
static void only_word_zero(pma_tracer *t, uint64_t off, const void *obj, size_t bytes, void *arg)
{
    (void)off;
    (void)bytes;
    (*(int *)arg)++;
    const uint64_t *w = obj;
    if (w[0])
        pma_trace_ref(t, w[0]);
}

START_TEST(precise_tracer)
{
    pma_config c = gc_config();
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 16 << 20, 64, &c);
    void *a = pma_get_mem(h, 64), *b = pma_get_mem(h, 64), *x = pma_get_mem(h, 64);
    put(h, a, 0, off_of(h, b));
    put(h, a, 1, off_of(h, x));               /* conservative would keep x */
    put(h, b, 0, off_of(h, x) + 8);           /* a bad reference */
    ck_assert_int_eq(pma_set_root(h, a), 0);
    pma_abandon(h);
    int calls = 0;
    pma_open_opts o = {.trace = only_word_zero, .trace_arg = &calls};
    h = reopen(d, &o, "trace");
    ck_assert_int_eq(calls, 2);
    ck_assert_uint_gt(pma_usable_size(h, b), 0);
    ck_assert_uint_eq(pma_usable_size(h, x), 0);
    pma_open_info info;
    pma_open_info_get(h, &info);
    ck_assert_uint_eq(info.bad_refs, 1);
    /* Conservative keeps x (a[1] names it). */
    pma_abandon(h);
    h = reopen(d, NULL, "trace");
    ck_assert_uint_gt(pma_usable_size(h, x), 0);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A clean image whose bitmaps put an object off its slot is refused. */
START_TEST(clean_image_off_slot_is_corrupt)
{
    pma_config c = gc_config();
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 16 << 20, 64, &c);
    void *p = pma_get_mem(h, 64);
    uint64_t data = off_of(h, p);            /* the first arena's first slot */
    pma_destroy(h);
    /* A second object at unit 96 (G = 1: inside slot 1, which spans units
     * 64..127): start bit 96, alloc bits 64..127, in the durable bitmaps
     * (linear layout) whose offsets the arena header gives. */
    const unsigned char *base = nv_base(d);
    uint64_t arena = 4096 + (data - 4096) / c.arena_size * c.arena_size;   /* gc: arenas from 4 KiB */
    ck_assert_uint_eq(*(const uint64_t *)(base + arena), 0x414e455241414d50ull);   /* "PMAARENA" */
    uint32_t alloc_off = *(const uint32_t *)(base + arena + 24), start_off = *(const uint32_t *)(base + arena + 28);
    uint64_t w = ~0ull;
    nv_write(d, arena + alloc_off + 8, &w, 8, NV_DATA);
    w = 1ull << 32;
    nv_write(d, arena + start_off + 8, &w, 8, NV_DATA);
    ck_assert_int_eq(pma_open(&h, d), PMA_ECORRUPT);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_gc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, steady_state_stores_nothing);
    tcase_add_test(tc, fixed_slots_cost_measured);
    tcase_add_test(tc, clean_reopen_needs_no_trace);
    tcase_add_test(tc, conservative_trace);
    tcase_add_test(tc, precise_tracer);
    tcase_add_test(tc, clean_image_off_slot_is_corrupt);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
