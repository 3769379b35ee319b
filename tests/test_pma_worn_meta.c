/* test_pma_worn_meta.c - operations that meet a worn-out cell in a store
 * the allocator makes itself go on elsewhere instead of failing: a log
 * record whose line has worn out is written further on (and recovery after
 * a crash still finds every record, gap or not); a realloc whose copy meets
 * a cell that wears out during the copy takes another block and keeps the
 * contents; a large object's word skips its worn header slots, and open
 * reads past them. Each test fails on the allocator from before the change (the
 * operation returned PMA_EDEVICE, or recovery lost records past a gap). */
#include "testutil.h"
#include "../allocator/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENDURANCE 2000
#define LIVE 64
#define OPS 6000           /* about 12 turns of an 8 KiB log (512 records) */

static nv_device *wear_dev(void)
{
    nv_config c;
    nv_config_defaults(&c);
    c.size = 4 << 20;
    c.endurance.kind = NV_ENDURANCE_FIXED;
    c.endurance.mean = ENDURANCE;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &c), 0);
    return d;
}

/* Brings line `off` to `writes` writes of its current bytes (tagged as the
 * structure it belongs to). */
static void wear_line(nv_device *d, uint64_t off, int writes, nv_tag tag)
{
    unsigned char line[64];
    memcpy(line, (const unsigned char *)nv_base(d) + off, sizeof line);
    for (int i = 0; i < writes; i++)
        nv_write(d, off, line, sizeof line, tag);
}

START_TEST(log_records_skip_worn_lines)
{
    nv_device *d = wear_dev();
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = PMA_PERSIST_LOG;
    c.log_kib = 8;
    c.arena_size = 65536;
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    /* Worn: lines in both halves of the log, one of them a chunk's first,
     * so records land before and after each gap. */
    static const uint64_t worn[] = {4096, 4096 + 5 * 64, 4096 + 40 * 64, 8192 + 64, 8192 + 63 * 64};
    for (size_t i = 0; i < sizeof worn / sizeof *worn; i++)
        wear_line(d, worn[i], ENDURANCE + 1, NV_META_LOG);
    /* A churn over LIVE slots; the model is which slot holds an object. */
    void *live[LIVE] = {0};
    uint64_t at[LIVE] = {0};
    srand(7);
    for (int i = 0; i < OPS; i++) {
        int k = rand() % LIVE;
        if (live[k]) {
            ck_assert_int_eq(pma_return_mem(h, live[k]), 0);
            live[k] = NULL;
        } else {
            live[k] = pma_get_mem(h, 16 + (size_t)(rand() % 200));
            ck_assert_msg(live[k] != NULL, "get %d failed: %s", i, pma_strerror(pma_last_error()));
            at[k] = pma_offset(h, live[k]);
        }
    }
    pma_heap_stats s;
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_gt(s.log_wraps, 4);
    ck_assert_uint_gt(s.log_worn_skips, 0);
    printf("log: %llu records skipped past %zu worn lines over %llu log turns\n",
           (unsigned long long)s.log_worn_skips, sizeof worn / sizeof *worn, (unsigned long long)s.log_wraps);
    /* A process death: what the device holds is checkpoint + log. */
    pma_abandon(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    size_t want = 0;
    for (int k = 0; k < LIVE; k++) {
        if (!live[k])
            continue;
        want++;
        void *p = (unsigned char *)nv_base(d) + at[k];
        TEST_REQUIRE(pma_usable_size(h, p) > 0, "object @%llu lost", (unsigned long long)at[k]);
    }
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.live_objects, want);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

START_TEST(realloc_copy_past_a_cell_that_wears_out)
{
    nv_device *d = wear_dev();
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = PMA_PERSIST_GC;       /* no metadata store in the way */
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    unsigned char *a = pma_get_mem(h, 100);
    ck_assert_ptr_nonnull(a);
    unsigned char buf[100];
    for (int i = 0; i < 100; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    ck_assert_int_eq(nv_write(d, pma_offset(h, a), buf, sizeof buf, NV_DATA), 0);
    /* The block a 1000-byte get hands out next: one write short of wearing out. */
    unsigned char *b = pma_get_mem(h, 1000);
    ck_assert_ptr_nonnull(b);
    uint64_t boff = pma_offset(h, b);
    ck_assert_int_eq(pma_return_mem(h, b), 0);
    wear_line(d, boff, ENDURANCE, NV_DATA);
    nv_wearout w;
    ck_assert_int_eq(nv_wearout_get(d, &w), 0);
    ck_assert_uint_eq(w.failed_cells, 0);
    unsigned char *r = pma_realloc(h, a, 1000);
    ck_assert_msg(r != NULL, "realloc failed: %s", pma_strerror(pma_last_error()));
    ck_assert_int_eq(nv_wearout_get(d, &w), 0);
    ck_assert_uint_eq(w.failed_cells, 1);                 /* the copy wore the line out */
    ck_assert_uint_ne(pma_offset(h, r), boff);
    ck_assert_mem_eq(r, buf, sizeof buf);
    ck_assert_uint_eq(pma_usable_size(h, a), 0);          /* the old object was freed */
    /* The worn block is never handed out again. */
    for (int i = 0; i < 200; i++) {
        unsigned char *p = pma_get_mem(h, 1000);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_ne(pma_offset(h, p), boff);
    }
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A large arena's object word rotates over 8 header lines; with two of them
 * worn out (stuck with old words) the word goes to the others, and open
 * reads past the worn ones: the object's state and size come back after a
 * crash, live or freed. */
START_TEST(large_object_words_skip_worn_slots)
{
    pma_persistence per = _i ? PMA_PERSIST_LOG : PMA_PERSIST_INTENT;
    for (int end_live = 0; end_live < 2; end_live++) {
        nv_device *d = wear_dev();
        pma_config c;
        pma_config_defaults(&c);
        c.persistence = per;
        pma_heap *h;
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        void *p = pma_get_mem(h, 7160);
        ck_assert_ptr_nonnull(p);
        uint64_t at = pma_offset(h, p);
        ck_assert_int_eq(pma_return_mem(h, p), 0);
        for (int i = 0; i < 13; i++) {                    /* every slot holds a word */
            ck_assert_ptr_nonnull(p = pma_get_mem(h, 7160));
            ck_assert_int_eq(pma_return_mem(h, p), 0);
        }
        /* The arena starts at the 4 KiB page the data area begins in. */
        uint64_t arena = at / 4096 * 4096;
        wear_line(d, arena + 192 + 2 * 64, ENDURANCE + 1, NV_META_HEADER);
        wear_line(d, arena + 192 + 5 * 64, ENDURANCE + 1, NV_META_HEADER);
        size_t last = 0;
        for (int i = 0; i < 100; i++) {
            last = 5000 + (size_t)i * 10;
            p = pma_get_mem(h, last);
            ck_assert_msg(p != NULL, "%s: get %d failed: %s", pma_persistence_name(per), i,
                          pma_strerror(pma_last_error()));
            ck_assert_uint_eq(pma_offset(h, p), at);       /* the same arena every time */
            if (i < 99 || !end_live)
                ck_assert_int_eq(pma_return_mem(h, p), 0);
        }
        pma_abandon(h);
        ck_assert_int_eq(pma_open(&h, d), 0);
        test_heap_ok(h);
        pma_heap_stats s;
        ck_assert_int_eq(pma_stats(h, &s), 0);
        ck_assert_uint_eq(s.live_objects, (uint64_t)end_live);
        if (end_live)
            ck_assert_uint_eq(s.requested_bytes, last);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

/* The heap's end moves round a ring of 32 header lines (layout 5): 200
 * arena creations write no header cell more than 7 times (one line took
 * all 200 before), a ring line worn out is passed over, and the heap
 * reopens at the right end, under each protocol. */
START_TEST(hwm_moves_round_its_ring)
{
    static const pma_persistence pers[] = {PMA_PERSIST_INTENT, PMA_PERSIST_LOG, PMA_PERSIST_GC};
    nv_device *d = wear_dev();
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = pers[_i];
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    wear_line(d, PMA_HWM_RING_OFF + 3 * 64, ENDURANCE + 1, NV_META_HEADER);
    wear_line(d, PMA_HWM_RING_OFF + 4 * 64, ENDURANCE + 1, NV_META_HEADER);
    nv_counters_reset(d);
    pma_heap_stats before, after;
    ck_assert_int_eq(pma_stats(h, &before), 0);
    for (int i = 0; i < 200; i++)                     /* each a large arena of its own */
        ck_assert_msg(pma_get_mem(h, 9000) != NULL, "%s: get %d: %s", pma_persistence_name(c.persistence), i,
                      pma_strerror(pma_last_error()));
    ck_assert_int_eq(pma_stats(h, &after), 0);
    ck_assert_uint_ge(after.footprint_bytes - before.footprint_bytes, 200 * 9000);
    uint64_t most = 0;
    for (uint64_t cell = 0; cell < 4096 / 64; cell++) {
        uint64_t n = nv_cell_count(d, cell, NV_META_HEADER);
        most = n > most ? n : most;
    }
    ck_assert_uint_le(most, 200 / (PMA_HWM_RING_SLOTS - 2) + 1);
    uint64_t end = after.footprint_bytes;
    pma_abandon(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    test_heap_ok(h);
    ck_assert_int_eq(pma_stats(h, &after), 0);
    ck_assert_uint_eq(after.footprint_bytes, end);
    ck_assert_uint_eq(after.live_objects, c.persistence == PMA_PERSIST_GC ? 0 : 200);   /* gc: none reachable */
    pma_destroy(h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_worn_meta");
    TCase *tc = tcase_create("worn");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, log_records_skip_worn_lines);
    tcase_add_test(tc, realloc_copy_past_a_cell_that_wears_out);
    tcase_add_loop_test(tc, large_object_words_skip_worn_slots, 0, 2);
    tcase_add_loop_test(tc, hwm_moves_round_its_ring, 0, 3);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
