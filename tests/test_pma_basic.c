/* test_pma_basic.c - the allocator piece by piece: alignment and padding at
 * every G and A, class choice, list moves when an arena fills and empties,
 * next-class fallback, the large class, bad use, out of memory, root and
 * reopen, metadata placements, wear attribution by kind, bitmap layouts, and
 * what each placement policy does under churn. */
#include "testutil.h"

#include <string.h>

static pma_config cfg_with(uint32_t g, uint32_t a, pma_policy p, pma_bitmap_layout l, pma_metadata m)
{
    pma_config c;
    pma_config_defaults(&c);
    c.granularity = g;
    c.alignment = a;
    c.policy = p;
    c.bitmap_layout = l;
    c.metadata = m;
    c.persistence = PMA_PERSIST_INTENT;   /* exact counts and offsets below are intent's */
    return c;
}

static uint64_t round_up(uint64_t x, uint64_t q) { return (x + q - 1) / q * q; }

/* Every G x A: objects start at multiples of max(G, A) and hold the request
 * padded to it; the start's alignment holds in absolute addresses too. */
START_TEST(alignment_and_padding_every_g_and_a)
{
    static const uint32_t as[] = {1, 16, 64, 4096};
    uint32_t g = 1u << _i;
    for (size_t ai = 0; ai < sizeof as / sizeof as[0]; ai++) {
        pma_config c = cfg_with(g, as[ai], PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID);
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
        uint64_t q = g > as[ai] ? g : as[ai];
        static const size_t sizes[] = {1, 3, 17, 64, 100, 1000, 4096, 5000};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            unsigned char *p = pma_get_mem(h, sizes[i]);
            ck_assert_ptr_nonnull(p);
            ck_assert_uint_eq((uintptr_t)p % q, 0);
            size_t us = pma_usable_size(h, p);
            if (round_up(sizes[i], q) <= 4096)
                ck_assert_uint_eq(us, round_up(sizes[i], q));
            else
                ck_assert_uint_ge(us, sizes[i]);
            memset(p, 0xEE, sizes[i]);
        }
        pma_heap_stats s;
        pma_stats(h, &s);
        ck_assert_uint_eq(s.live_objects, 8);
        ck_assert_uint_eq(s.requested_bytes, 1 + 3 + 17 + 64 + 100 + 1000 + 4096 + 5000);
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

START_TEST(class_choice)
{
    static const struct { size_t size; int cls; } cases[] = {
        {1, 0}, {64, 0}, {65, 1}, {128, 1}, {129, 2}, {500, 3}, {1024, 4}, {2000, 5}, {4096, 6}, {4097, 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 16 << 20, 64, NULL);    /* G 1, A 16 */
        ck_assert_ptr_nonnull(pma_get_mem(h, cases[i].size));
        pma_heap_stats s;
        pma_stats(h, &s);
        for (int c = 0; c < PMA_CLASSES; c++)   /* one arena, of exactly that class */
            ck_assert_uint_eq(s.arenas[c], c == cases[i].cls);
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_uint_eq(pma_class_size(0), 64);
    ck_assert_uint_eq(pma_class_size(6), 4096);
    ck_assert_uint_eq(pma_class_size(PMA_CLASS_LARGE), 0);
}
END_TEST

/* An arena that fills leaves the list (the next request creates an arena);
 * one that regains room rejoins it (the next request creates none). */
START_TEST(list_moves_when_arenas_fill_and_empty)
{
    /* next-fit: no thread cache, so every get and return reaches the lists */
    pma_config c = cfg_with(16, 16, PMA_NEXT_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID);
    c.arena_size = 16384;
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 4 << 20, 64, &c);
    void *objs[64];
    int n = 0;
    pma_heap_stats s;
    do {
        objs[n++] = pma_get_mem(h, 4096);
        ck_assert_ptr_nonnull(objs[n - 1]);
        pma_stats(h, &s);
    } while (s.arena_creations == 1);
    int per_arena = n - 1;                   /* the n-th started a second arena */
    ck_assert_int_ge(per_arena, 2);
    ck_assert_int_eq(pma_return_mem(h, objs[0]), 0);       /* first arena regains room */
    for (int i = 1; i < per_arena; i++)                    /* fill the second arena */
        objs[n++] = pma_get_mem(h, 4096);
    void *again = pma_get_mem(h, 4096);                    /* the first, back on the list */
    ck_assert_ptr_eq(again, objs[0]);
    objs[0] = again;
    pma_stats(h, &s);
    ck_assert_uint_eq(s.arena_creations, 2);
    test_heap_ok(h);
    /* Empty the second arena while the first has room: it goes to the pool,
     * and a request of another class reuses it instead of growing the heap. */
    ck_assert_int_eq(pma_return_mem(h, objs[1]), 0);
    for (int i = per_arena; i < n; i++)
        ck_assert_int_eq(pma_return_mem(h, objs[i]), 0);
    test_heap_ok(h);
    pma_stats(h, &s);
    uint64_t footprint = s.footprint_bytes;
    void *small = pma_get_mem(h, 64);
    ck_assert_ptr_nonnull(small);
    pma_stats(h, &s);
    ck_assert_uint_eq(s.footprint_bytes, footprint);
    ck_assert_uint_eq(s.arenas[0], 1);
    ck_assert_uint_eq(s.arenas[6], 1);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

START_TEST(next_class_fallback)
{
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 16 << 20, 64, NULL);
    ck_assert_ptr_nonnull(pma_get_mem(h, 100));      /* class 128 arena */
    void *p = pma_get_mem(h, 40);                     /* class 64: none, so 128's */
    ck_assert_ptr_nonnull(p);
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_eq(s.next_class_hits, 1);
    ck_assert_uint_eq(s.arenas[0], 0);
    ck_assert_uint_eq(s.arenas[1], 1);
    ck_assert_uint_eq(s.arena_creations, 1);
    for (int i = 0; i < 99; i++)                      /* the next ones by the fast path: still counted */
        ck_assert_uint_eq((pma_offset(h, pma_get_mem(h, 40)) - 4096) >> 20, 0);
    pma_stats(h, &s);
    ck_assert_uint_eq(s.next_class_hits, 100);
    ck_assert_uint_eq(s.arenas[0], 0);
    ck_assert_ptr_nonnull(pma_get_mem(h, 1000));     /* 1024: the 2048 list is empty: create */
    pma_stats(h, &s);
    ck_assert_uint_eq(s.arena_creations, 2);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

START_TEST(large_class_own_arena_and_reuse)
{
    nv_device *d;
    pma_config c = cfg_with(1, 16, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID);
    pma_heap *h = test_heap_open(&d, 16 << 20, 64, &c);
    pma_heap_stats s;
    pma_stats(h, &s);
    const uint64_t base = s.footprint_bytes;         /* header and bad-block map */
    unsigned char *p = pma_get_mem(h, 5000);         /* 704-byte header + 5008: 8 KiB arena */
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(pma_usable_size(h, p), 5008);
    pma_stats(h, &s);
    ck_assert_uint_eq(s.arenas[PMA_CLASS_LARGE], 1);
    ck_assert_uint_eq(s.footprint_bytes, base + 8192);
    ck_assert_uint_eq(s.allocated_bytes, 5008);
    ck_assert_int_eq(pma_return_mem(h, p + 16), PMA_EINVAL);
    ck_assert_int_eq(pma_return_mem(h, p), 0);
    ck_assert_int_eq(pma_return_mem(h, p), PMA_EDOUBLE);
    ck_assert_ptr_eq(pma_get_mem(h, 6000), p);       /* same arena size: reused */
    unsigned char *big = pma_get_mem(h, 3 << 20);
    ck_assert_ptr_nonnull(big);
    pma_stats(h, &s);
    ck_assert_uint_eq(s.arena_creations, 2);
    /* 3 MiB + header: above 64 KiB rounded to an eighth of 4 MiB, 3.5 MiB */
    ck_assert_uint_eq(s.footprint_bytes, base + 8192 + (3 << 20) + (512 << 10));
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Bad use: refused with the right code, and the heap is left as it was. */
START_TEST(bad_use_leaves_heap_unchanged)
{
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 4 << 20, 64, NULL);
    unsigned char *a = pma_get_mem(h, 100), *b = pma_get_mem(h, 100);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    nv_counters c0, c1;
    nv_counters_get(d, &c0);
    pma_heap_stats s0, s1;
    pma_stats(h, &s0);
    int local;
    ck_assert_ptr_null(pma_get_mem(h, 0));
    ck_assert_int_eq(pma_last_error(), PMA_EINVAL);
    ck_assert_ptr_null(pma_get_mem(h, SIZE_MAX));
    ck_assert_int_eq(pma_last_error(), PMA_ENOMEM);
    ck_assert_ptr_null(pma_get_mem(h, (8 << 20)));   /* larger than the device */
    ck_assert_int_eq(pma_last_error(), PMA_ENOMEM);
    ck_assert_int_eq(pma_return_mem(h, &local), PMA_EINVAL);           /* foreign */
    ck_assert_int_eq(pma_return_mem(h, a + 16), PMA_EINVAL);           /* interior, aligned */
    ck_assert_int_eq(pma_return_mem(h, a + 1), PMA_EINVAL);            /* misaligned */
    ck_assert_int_eq(pma_return_mem(h, nv_base(d)), PMA_EINVAL);       /* the heap header */
    ck_assert_int_eq(pma_return_mem(h, (unsigned char *)nv_base(d) + (3 << 20)), PMA_EINVAL);  /* past hwm */
    ck_assert_int_eq(pma_return_mem(h, NULL), PMA_EINVAL);
    ck_assert_int_eq(pma_return_mem(h, b + 112), PMA_EINVAL);          /* never allocated */
    nv_counters_get(d, &c1);
    ck_assert_uint_eq(c1.total_writes, c0.total_writes);                /* nothing stored */
    pma_stats(h, &s1);
    ck_assert_uint_eq(s1.live_objects, s0.live_objects);
    ck_assert_uint_eq(s1.allocated_bytes, s0.allocated_bytes);
    ck_assert_uint_eq(s1.bad_frees, 7);
    ck_assert_int_eq(pma_return_mem(h, a), 0);
    ck_assert_int_eq(pma_return_mem(h, a), PMA_EDOUBLE);
    ck_assert_uint_eq(pma_usable_size(h, a), 0);
    ck_assert_uint_eq(pma_usable_size(h, b), 112);
    test_heap_ok(h);
    ck_assert_str_eq(pma_strerror(PMA_EDOUBLE), "double free: the object at that address is already free");
    pma_destroy(h);
    nv_close(d);
}
END_TEST

START_TEST(out_of_memory_then_usable)
{
    pma_config c = cfg_with(16, 16, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID);
    c.arena_size = 65536;
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 1 << 20, 64, &c);
    void *objs[4096];
    int n = 0;
    while (n < 4096 && (objs[n] = pma_get_mem(h, 2048)) != NULL)
        n++;
    ck_assert_int_lt(n, 4096);
    ck_assert_int_gt(n, 400);                /* about 15 arenas of 30 objects */
    ck_assert_int_eq(pma_last_error(), PMA_ENOMEM);
    ck_assert_ptr_null(pma_get_mem(h, 100000));
    pma_heap_stats s;
    pma_stats(h, &s);
    ck_assert_uint_eq(s.failed_allocs, 2);
    test_heap_ok(h);
    ck_assert_int_eq(pma_return_mem(h, objs[7]), 0);
    void *p = pma_get_mem(h, 2048);
    ck_assert_ptr_eq(p, objs[7]);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pma_return_mem(h, objs[i]), 0);
    pma_stats(h, &s);
    ck_assert_uint_eq(s.live_objects, 0);
    ck_assert_uint_eq(s.allocated_bytes, 0);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Root and reopen: the heap is found again with its objects, contents, root,
 * configuration and counters; dram-metadata heaps are refused. */
START_TEST(root_and_reopen)
{
    pma_config c = cfg_with(8, 16, PMA_NEXT_FIT, PMA_LAYOUT_INTERLEAVED, PMA_META_NVRAM);
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
    unsigned char *keep[50];
    for (int i = 0; i < 100; i++) {
        unsigned char *p = pma_get_mem(h, (size_t)(10 + i * 37));
        ck_assert_ptr_nonnull(p);
        if (i % 2 == 0) {
            nv_set(d, pma_offset(h, p), i, 10, NV_DATA);
            keep[i / 2] = p;
        } else {
            ck_assert_int_eq(pma_return_mem(h, p), 0);
        }
    }
    unsigned char *big = pma_get_mem(h, 100000);
    ck_assert_int_eq(pma_set_root(h, keep[3]), 0);
    ck_assert_ptr_eq(pma_root(h), keep[3]);
    pma_heap_stats before, after;
    pma_stats(h, &before);
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    ck_assert_ptr_eq(pma_root(h), keep[3]);
    ck_assert_uint_eq(pma_heap_config(h)->granularity, 8);
    ck_assert_int_eq(pma_heap_config(h)->bitmap_layout, PMA_LAYOUT_INTERLEAVED);
    ck_assert_int_eq(pma_heap_config(h)->policy, PMA_NEXT_FIT);
    pma_stats(h, &after);
    ck_assert_uint_eq(after.live_objects, before.live_objects);
    ck_assert_uint_eq(after.allocated_bytes, before.allocated_bytes);
    ck_assert_uint_eq(after.footprint_bytes, before.footprint_bytes);
    ck_assert_uint_eq(after.leaked_bytes, 0);
    for (int i = 0; i < 50; i++) {
        ck_assert_uint_eq(pma_usable_size(h, keep[i]), round_up((size_t)(10 + 2 * i * 37), 16));
        ck_assert_uint_eq(keep[i][9], (unsigned char)(2 * i));
    }
    ck_assert_uint_ge(pma_usable_size(h, big), 100000);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(pma_return_mem(h, keep[i]), 0);
    ck_assert_int_eq(pma_return_mem(h, big), 0);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
    /* dram metadata: nothing on the device, so nothing to open. */
    c.metadata = PMA_META_DRAM;
    h = test_heap_open(&d, 4 << 20, 64, &c);
    ck_assert_ptr_nonnull(pma_get_mem(h, 100));
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), PMA_ENOHEAP);
    ck_assert_ptr_null(h);
    nv_close(d);
}
END_TEST

/* Wear attribution: a known sequence gives exactly these writes per kind
 * (64-byte cells, hybrid, G 1, A 16, fresh device). */
START_TEST(wear_attribution_by_kind)
{
    nv_device *d;
    pma_config cfg = cfg_with(1, 16, PMA_FIRST_FIT, PMA_LAYOUT_LINEAR, PMA_META_HYBRID);
    pma_heap *h = test_heap_open(&d, 8 << 20, 64, &cfg);
    nv_counters c;
    nv_counters_get(d, &c);
    /* init: invalidate magic (1 cell), header body 8..319 (5 cells), magic (1). */
    ck_assert_uint_eq(c.kind[NV_META_HEADER].writes, 7);
    ck_assert_uint_eq(c.total_writes, 7);
    void *p = pma_get_mem(h, 64);
    nv_counters_get(d, &c);
    /* new arena: 704-byte header (11 cells) + hwm (1); bitmaps already zero. */
    ck_assert_uint_eq(c.kind[NV_META_HEADER].writes, 7 + 11 + 1);
    ck_assert_uint_eq(c.kind[NV_META_LOG].writes, 1);      /* the intent */
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].writes, 2);   /* start word, alloc word */
    ck_assert_uint_eq(c.kind[NV_META_LIST].writes, 0);     /* hybrid: lists in DRAM */
    ck_assert_uint_eq(c.data_writes, 0);
    pma_return_mem(h, p);
    pma_set_root(h, NULL);
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.kind[NV_META_LOG].writes, 2);
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].writes, 4);
    ck_assert_uint_eq(c.kind[NV_META_ROOT].writes, 1);
    /* The log rotates over 8 lines: 16 operations put 2 writes on each. */
    for (int i = 0; i < 7; i++)
        pma_return_mem(h, pma_get_mem(h, 64));
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.kind[NV_META_LOG].writes, 16);
    ck_assert_uint_eq(c.kind[NV_META_LOG].hottest_count, 2);
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].hottest_count, 16);   /* 8 pairs, 2 stores each */
    pma_destroy(h);
    nv_close(d);
    /* nvram: the list head and links are stored too. */
    cfg.metadata = PMA_META_NVRAM;
    h = test_heap_open(&d, 8 << 20, 64, &cfg);
    pma_get_mem(h, 64);
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.kind[NV_META_LIST].writes, 2);     /* arena links + class head */
    pma_destroy(h);
    nv_close(d);
    /* dram: no device writes at all. */
    cfg.metadata = PMA_META_DRAM;
    h = test_heap_open(&d, 8 << 20, 64, &cfg);
    for (int i = 0; i < 100; i++)
        pma_return_mem(h, pma_get_mem(h, (size_t)(1 + i * 50)));
    pma_set_root(h, pma_get_mem(h, 10));
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 0);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Interleaved bitmaps put successive updates in different lines. */
START_TEST(interleaved_layout_spreads_bitmap_wear)
{
    uint64_t hottest[2];
    for (int l = 0; l < 2; l++) {
        pma_config c = cfg_with(64, 16, PMA_FIRST_FIT, (pma_bitmap_layout)l, PMA_META_HYBRID);
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
        for (int i = 0; i < 8; i++)
            ck_assert_ptr_nonnull(pma_get_mem(h, 64));    /* one unit each, units 0..7 */
        test_heap_ok(h);
        nv_counters k;
        nv_counters_get(d, &k);
        hottest[l] = k.kind[NV_META_BITMAP].hottest_count;
        ck_assert_uint_eq(k.kind[NV_META_BITMAP].writes, 16);
        pma_destroy(h);
        ck_assert_int_eq(pma_open(&h, d), 0);             /* and it reads back */
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_uint_eq(hottest[PMA_LAYOUT_LINEAR], 8);
    ck_assert_uint_eq(hottest[PMA_LAYOUT_INTERLEAVED], 1);
}
END_TEST

/* Churn of one object: where each policy puts it. */
START_TEST(policies_under_churn)
{
    size_t distinct[PMA_POLICIES];
    for (int p = 0; p < PMA_POLICIES; p++) {
        pma_config c = cfg_with(16, 16, (pma_policy)p, PMA_LAYOUT_LINEAR, PMA_META_HYBRID);
        c.arena_size = 65536;
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
        void *keep = pma_get_mem(h, 64);              /* one long-lived neighbour */
        static void *seen[2000];
        size_t n = 0;
        for (int i = 0; i < 2000; i++) {
            void *x = pma_get_mem(h, 64);
            ck_assert_ptr_nonnull(x);
            size_t k = 0;
            while (k < n && seen[k] != x)
                k++;
            if (k == n)
                seen[n++] = x;
            ck_assert_int_eq(pma_return_mem(h, x), 0);
        }
        distinct[p] = n;
        ck_assert_int_eq(pma_return_mem(h, keep), 0);
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_uint_eq(distinct[PMA_FIRST_FIT], 1);           /* the same cells every time */
    ck_assert_uint_gt(distinct[PMA_NEXT_FIT], 500);          /* spread round the arena */
    ck_assert_uint_gt(distinct[PMA_WEAR_AWARE], 500);
    ck_assert_uint_gt(distinct[PMA_LAFO], 500);
}
END_TEST

/* lafo spreads allocations over the arenas of a class. */
START_TEST(lafo_prefers_least_allocated_arena)
{
    pma_config c = cfg_with(16, 16, PMA_LAFO, PMA_LAYOUT_LINEAR, PMA_META_HYBRID);
    c.arena_size = 16384;
    nv_device *d;
    pma_heap *h = test_heap_open(&d, 8 << 20, 64, &c);
    pma_heap_stats s;
    pma_stats(h, &s);
    const uint64_t base = s.footprint_bytes;       /* header and bad-block map */
    static void *objs[600];
    for (int i = 0; i < 600; i++)
        objs[i] = pma_get_mem(h, 64);
    pma_stats(h, &s);
    ck_assert_uint_ge(s.arenas[0], 3);
    uint64_t per = 0;
    while ((pma_offset(h, objs[per]) - base) / 16384 == 0)
        per++;                                 /* objects in the first arena */
    for (int i = 0; i < 600; i++)              /* keep one object per arena */
        if (i % per)
            pma_return_mem(h, objs[i]);
    /* Churn: each allocation goes to the arena allocated least so far, so
     * once the last arena catches up, they take turns. */
    int switches = 0;
    uint64_t prev = UINT64_MAX;
    for (int i = 0; i < 800; i++) {
        void *x = pma_get_mem(h, 64);
        uint64_t arena = (pma_offset(h, x) - base) / 16384;
        switches += prev != UINT64_MAX && arena != prev;
        prev = arena;
        pma_return_mem(h, x);
    }
    ck_assert_int_gt(switches, 100);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

START_TEST(config_names_and_checks)
{
    pma_config c;
    pma_config_defaults(&c);
    char msg[200];
    ck_assert_int_eq(pma_config_check(&c, msg, sizeof msg), 0);
    ck_assert_uint_eq(c.granularity, 1);
    ck_assert_uint_eq(c.alignment, 16);
    ck_assert_uint_eq(c.arena_size, 1 << 20);
    ck_assert_int_eq(c.metadata, PMA_META_HYBRID);
    c.granularity = 3;
    ck_assert_int_eq(pma_config_check(&c, msg, sizeof msg), PMA_EINVAL);
    ck_assert_str_eq(msg, "granularity: 3 is not allowed (a power of two from 1 to 4096)");
    pma_config_defaults(&c);
    c.arena_size = 10000;
    ck_assert_int_eq(pma_config_check(&c, msg, sizeof msg), PMA_EINVAL);
    nv_device *d = test_sim_open(1 << 20, 64, NV_MODEL_LINE, 0, false);
    pma_heap *h = (pma_heap *)1;
    ck_assert_int_eq(pma_init(&h, d, &c), PMA_EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(pma_open(&h, d), PMA_ENOHEAP);
    nv_close(d);
    for (int p = 0; p < PMA_POLICIES; p++)
        ck_assert_int_eq(pma_policy_from_name(pma_policy_name((pma_policy)p)), p);
    ck_assert_int_eq(pma_policy_from_name("best-fit"), PMA_EINVAL);
    ck_assert_int_eq(pma_layout_from_name("interleaved"), PMA_LAYOUT_INTERLEAVED);
    ck_assert_int_eq(pma_metadata_from_name("nvram"), PMA_META_NVRAM);
    ck_assert_int_eq(pma_metadata_from_name("disk"), PMA_EINVAL);
}
END_TEST

/* A full device whose free space is pooled large arenas of a bigger size
 * still serves a smaller large object from one of them. */
START_TEST(full_device_reuses_a_larger_pooled_arena)
{
    for (int pol = 0; pol < PMA_POLICIES; pol++) {
        pma_config c;
        pma_config_defaults(&c);
        c.policy = (pma_policy)pol;
        c.arena_size = 16 << 10;
        nv_device *d;
        pma_heap *h = test_heap_open(&d, 1 << 20, 64, &c);
        void *p[256];
        int n = 0;
        while (n < 256 && (p[n] = pma_get_mem(h, 20000)) != NULL)    /* 32 KiB arenas */
            n++;
        ck_assert_int_gt(n, 4);
        ck_assert_int_lt(n, 256);
        void *small[64];
        int ns = 0;
        while (ns < 64 && (small[ns] = pma_get_mem(h, 5000)) != NULL)   /* the rest: 8 KiB arenas */
            ns++;
        ck_assert_int_lt(ns, 64);
        ck_assert_ptr_null(pma_get_mem(h, 5000));                   /* full, none pooled */
        for (int i = 0; i < n; i++)
            ck_assert_int_eq(pma_return_mem(h, p[i]), 0);
        void *q = pma_get_mem(h, 5000);
        ck_assert_msg(q != NULL, "%s: %s", pma_policy_name((pma_policy)pol), pma_strerror(pma_last_error()));
        ck_assert_uint_ge(pma_usable_size(h, q), 5000);
        test_heap_ok(h);
        pma_destroy(h);
        ck_assert_int_eq(pma_open(&h, d), 0);
        ck_assert_uint_ge(pma_usable_size(h, q), 5000);
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_basic");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, alignment_and_padding_every_g_and_a, 0, 13);
    tcase_add_test(tc, class_choice);
    tcase_add_test(tc, list_moves_when_arenas_fill_and_empty);
    tcase_add_test(tc, next_class_fallback);
    tcase_add_test(tc, large_class_own_arena_and_reuse);
    tcase_add_test(tc, bad_use_leaves_heap_unchanged);
    tcase_add_test(tc, out_of_memory_then_usable);
    tcase_add_test(tc, root_and_reopen);
    tcase_add_test(tc, wear_attribution_by_kind);
    tcase_add_test(tc, interleaved_layout_spreads_bitmap_wear);
    tcase_add_test(tc, policies_under_churn);
    tcase_add_test(tc, lafo_prefers_least_allocated_arena);
    tcase_add_test(tc, config_names_and_checks);
    tcase_add_test(tc, full_device_reuses_a_larger_pooled_arena);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
