/* test_pma_random.c - a seeded randomized test against a shadow model: 10^5+
 * operations per configuration (mixed sizes, large ones too), checking that
 * objects never overlap (a byte map of the device), lie inside the heap, are
 * aligned, have the right usable size, keep their contents, and that the
 * heap's statistics equal the model's; pma_check along the way, and a reopen
 * at the end finds the same objects. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct obj { unsigned char *p; size_t size; } obj;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t random_size(uint64_t *s)
{
    uint64_t r = rng_next(s) % 100;
    if (r < 60)
        return 1 + rng_next(s) % 128;
    if (r < 90)
        return 1 + rng_next(s) % 1024;
    if (r < 99)
        return 1 + rng_next(s) % 4096;
    return 4097 + rng_next(s) % 60000;
}

static const struct {
    uint32_t g, a; pma_policy p; pma_bitmap_layout l; pma_metadata m; nv_kind k; pma_persistence ps;
} configs[] = {
    {1, 16, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID, NV_KIND_SIM, PMA_PERSIST_LOG},
    {1, 1, PMA_NEXT_FIT, PMA_LAYOUT_INTERLEAVED, PMA_META_NVRAM, NV_KIND_SIM, PMA_PERSIST_LOG},
    {8, 16, PMA_WEAR_AWARE, PMA_LAYOUT_LINEAR, PMA_META_HYBRID, NV_KIND_DRAM, PMA_PERSIST_LOG},
    {64, 16, PMA_LAFO, PMA_LAYOUT_INTERLEAVED, PMA_META_HYBRID, NV_KIND_SIM, PMA_PERSIST_LOG},
    {4096, 16, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_DRAM, NV_KIND_DRAM, PMA_PERSIST_LOG},
    {16, 64, PMA_NEXT_FIT, PMA_LAYOUT_LINEAR, PMA_META_NVRAM, NV_KIND_DRAM, PMA_PERSIST_LOG},
    {1, 16, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID, NV_KIND_SIM, PMA_PERSIST_GC},
    {16, 1, PMA_WEAR_AWARE, PMA_LAYOUT_INTERLEAVED, PMA_META_NVRAM, NV_KIND_DRAM, PMA_PERSIST_GC},
};

/* The bytes a request takes: padded to max(G, A); under gc a small one
 * takes its class's whole slot (a power of two from 64). */
static uint64_t padded_size(size_t size, uint64_t q, bool gc)
{
    uint64_t p = (size + q - 1) / q * q;
    if (!gc || p > 4096)
        return p;
    uint64_t slot = 64;
    while (slot < p)
        slot *= 2;
    return slot;
}

START_TEST(shadow_model)
{
    enum { OPS = 100000, MAXLIVE = 3000 };
    const uint64_t dev_size = 64 << 20;
    nv_config dc;
    nv_config_defaults(&dc);
    dc.kind = configs[_i].k;
    dc.size = dev_size;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &dc), 0);
    pma_config c;
    pma_config_defaults(&c);
    c.granularity = configs[_i].g;
    c.alignment = configs[_i].a;
    c.policy = configs[_i].p;
    c.bitmap_layout = configs[_i].l;
    c.metadata = configs[_i].m;
    c.persistence = configs[_i].ps;
    bool gc = c.persistence == PMA_PERSIST_GC;
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    uint64_t q = c.granularity > c.alignment ? c.granularity : c.alignment;
    unsigned char *owned = calloc(dev_size / 8, 1);         /* one bit per device byte */
    static obj live[MAXLIVE];
    size_t nlive = 0;
    uint64_t seed = 0x9E3779B97F4A7C15ull + (uint64_t)_i, requested = 0, allocated = 0;
    unsigned char *base = nv_base(d);
    for (int op = 0; op < OPS; op++) {
        bool do_alloc = nlive == 0 || (nlive < MAXLIVE && rng_next(&seed) % 100 < 52);
        if (do_alloc) {
            size_t size = random_size(&seed);
            unsigned char *p = pma_get_mem(h, size);
            TEST_REQUIRE(p != NULL, "op %d: get_mem(%zu) failed: %s", op, size, pma_strerror(pma_last_error()));
            uint64_t off = (uint64_t)(p - base);
            TEST_REQUIRE(off >= 4096, "op %d: object inside the heap header", op);
            TEST_REQUIRE(off + size <= dev_size, "op %d: object past the device", op);
            TEST_REQUIRE((uintptr_t)p % q == 0, "op %d: misaligned", op);
            size_t us = pma_usable_size(h, p);
            uint64_t padded = padded_size(size, q, gc);
            TEST_REQUIRE(padded > 4096 || us == padded, "op %d: usable %zu, want %llu", op, us,
                         (unsigned long long)padded);
            TEST_REQUIRE(us >= size, "op %d: usable %zu < %zu", op, us, size);
            for (uint64_t b = off; b < off + size; b++) {
                TEST_REQUIRE(!(owned[b / 8] & (1u << (b % 8))), "op %d: byte %llu allocated twice", op,
                              (unsigned long long)b);
                owned[b / 8] |= (unsigned char)(1u << (b % 8));
            }
            memset(p, (int)(op & 0xFF), size);
            live[nlive++] = (obj){p, size};
            requested += size;
            allocated += padded;
        } else {
            size_t k = (size_t)(rng_next(&seed) % nlive);
            obj o = live[k];
            unsigned char tag = o.p[0];
            TEST_REQUIRE(o.p[o.size - 1] == tag && o.p[o.size / 2] == tag,
                         "op %d: object overwritten", op);   /* nobody wrote over it */
            uint64_t off = (uint64_t)(o.p - base);
            for (uint64_t b = off; b < off + o.size; b++)
                owned[b / 8] &= (unsigned char)~(1u << (b % 8));
            TEST_REQUIRE(pma_return_mem(h, o.p) == 0, "op %d: return_mem failed", op);
            live[k] = live[--nlive];
            requested -= o.size;
            allocated -= padded_size(o.size, q, gc);
        }
        if (op % 20000 == 19999) {
            test_heap_ok(h);
            pma_heap_stats s;
            pma_stats(h, &s);
            ck_assert_uint_eq(s.live_objects, nlive);
            ck_assert_uint_eq(s.requested_bytes, requested);
            ck_assert_uint_eq(s.allocated_bytes, allocated);
            ck_assert_uint_le(s.footprint_bytes, dev_size);
        }
    }
    if (c.metadata != PMA_META_DRAM) {
        pma_destroy(h);
        ck_assert_int_eq(pma_open(&h, d), 0);
        test_heap_ok(h);
        pma_heap_stats s;
        pma_stats(h, &s);
        ck_assert_uint_eq(s.live_objects, nlive);
        ck_assert_uint_eq(s.allocated_bytes, allocated);
        for (size_t k = 0; k < nlive; k++)
            ck_assert_uint_ge(pma_usable_size(h, live[k].p), live[k].size);
    }
    for (size_t k = 0; k < nlive; k++)
        ck_assert_int_eq(pma_return_mem(h, live[k].p), 0);
    test_heap_ok(h);
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_eq(s.live_objects, 0);
    ck_assert_uint_eq(s.allocated_bytes, 0);
    free(owned);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_random");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, shadow_model, 0, (int)(sizeof configs / sizeof configs[0]));
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
