/* test_replay.c - the replay engine: exact, hand-checkable counts on small
 * traces (the tiny experiment of issue 5, the on_alloc model, extra writes,
 * realloc copies, zero data under dcw), deterministic replay twice giving
 * identical per-cell counters, concurrent replay of a producer-consumer trace
 * keeping the heap's invariants, and failures located. */
#include "testutil.h"
#include "pmarena/replay.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int replay_json(const char *events_json, nv_device *d, pma_heap *h, const tr_replay_config *rc,
                       tr_replay_stats *st, tr_error *err)
{
    json_t *arr = json_loads(events_json, 0, NULL);
    ck_assert_ptr_nonnull(arr);
    tr_reader *r;
    ck_assert_int_eq(tr_reader_open_json(&r, arr, "inline", err), 0);
    int rc_ = tr_replay(r, h, rc, st, err);
    tr_reader_close(r);
    json_decref(arr);
    (void)d;
    return rc_;
}

static pma_heap *heap_on(nv_device **d, uint64_t size, uint32_t cell, nv_write_model m, pma_metadata meta)
{
    *d = test_sim_open(size, cell, m, 0, false);
    pma_config c;
    pma_config_defaults(&c);
    c.metadata = meta;
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, *d, &c), 0);
    return h;
}

/* Issue 5's tiny config: 2 writes of 64 bytes at 1-byte cells. */
START_TEST(tiny_trace_exact_counts)
{
    nv_device *d;
    pma_heap *h = heap_on(&d, 16 << 20, 1, NV_MODEL_LINE, PMA_META_DRAM);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    rc.on_alloc = TR_ON_ALLOC_NONE;
    tr_replay_stats st;
    tr_error err;
    ck_assert_int_eq(replay_json("[{\"op\":\"alloc\",\"id\":1,\"size\":64},"
                                 "{\"op\":\"write\",\"id\":1,\"offset\":0,\"len\":64},"
                                 "{\"op\":\"write\",\"id\":1,\"offset\":0,\"len\":64},"
                                 "{\"op\":\"free\",\"id\":1}]", d, h, &rc, &st, &err), 0);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 128);
    ck_assert_uint_eq(c.data_writes, 128);
    ck_assert_uint_eq(c.meta_writes, 0);
    ck_assert_uint_eq(c.kind[NV_DATA].hottest_count, 2);
    ck_assert_uint_eq(c.cells_touched, 64);
    ck_assert_uint_eq(st.events[TR_ALLOC], 1);
    ck_assert_uint_eq(st.events[TR_WRITE], 2);
    ck_assert_uint_eq(st.events[TR_FREE], 1);
    ck_assert_uint_eq(st.data_bytes_written, 128);
    ck_assert_uint_eq(st.peak_live_bytes, 64);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* on_alloc full + extra writes + realloc: count the data bytes by hand. */
START_TEST(write_model_counts)
{
    nv_device *d;
    pma_heap *h = heap_on(&d, 16 << 20, 1, NV_MODEL_LINE, PMA_META_DRAM);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    rc.extra_writes = 2;
    tr_replay_stats st;
    tr_error err;
    /* alloc 100: 100 (on_alloc); realloc to 300: copy 100 + tail 200 + 2 x 100
     * extra on the old; write 10; free: 2 x 300 extra. Total 100+300+200+10+600. */
    ck_assert_int_eq(replay_json("[{\"op\":\"alloc\",\"id\":1,\"size\":100},"
                                 "{\"op\":\"realloc\",\"id\":1,\"new_id\":2,\"size\":300},"
                                 "{\"op\":\"write\",\"id\":2,\"offset\":290,\"len\":10},"
                                 "{\"op\":\"read\",\"id\":2,\"offset\":0,\"len\":300},"
                                 "{\"op\":\"free\",\"id\":2}]", d, h, &rc, &st, &err), 0);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(st.data_bytes_written, 1210);
    ck_assert_uint_eq(c.data_writes, 1210);           /* 1-byte cells: one count per byte */
    ck_assert_uint_eq(c.meta_writes, 0);
    ck_assert_uint_eq(c.bytes_read, 300);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Zeros over a fresh device change nothing: dcw counts no wear; random data does. */
START_TEST(data_choice_under_dcw)
{
    uint64_t wear[2];
    for (int k = 0; k < 2; k++) {
        nv_device *d;
        pma_heap *h = heap_on(&d, 16 << 20, 64, NV_MODEL_DCW, PMA_META_DRAM);
        tr_replay_config rc;
        tr_replay_config_defaults(&rc);
        rc.data = k ? TR_DATA_RANDOM : TR_DATA_ZERO;
        tr_replay_stats st;
        tr_error err;
        ck_assert_int_eq(replay_json("[{\"op\":\"alloc\",\"id\":1,\"size\":4096},{\"op\":\"free\",\"id\":1}]",
                                     d, h, &rc, &st, &err), 0);
        nv_counters c;
        nv_counters_get(d, &c);
        wear[k] = c.data_writes;
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_uint_eq(wear[0], 0);
    ck_assert_uint_eq(wear[1], 64);
}
END_TEST

static char *churn_trace(int n, int threads, bool cross)
{
    size_t cap = (size_t)n * 160 + 4096, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "[");
    uint64_t x = 12345;
    for (int i = 1; i <= n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int t = (int)(x % (uint64_t)threads);
        len += (size_t)snprintf(s + len, cap - len, "%s{\"op\":\"alloc\",\"id\":%d,\"size\":%llu,\"thread\":%d}",
                                i > 1 ? "," : "", i, (unsigned long long)(x % 2000 + 1), t);
        len += (size_t)snprintf(s + len, cap - len, ",{\"op\":\"write\",\"id\":%d,\"offset\":0,\"len\":1,\"thread\":%d}",
                                i, t);
        if (i > 50) {
            int ft = cross ? (t + 1) % threads : t;
            len += (size_t)snprintf(s + len, cap - len, ",{\"op\":\"free\",\"id\":%d,\"thread\":%d}", i - 50, ft);
        }
    }
    for (int i = n - 49; i <= n; i++)
        len += (size_t)snprintf(s + len, cap - len, ",{\"op\":\"free\",\"id\":%d}", i);
    snprintf(s + len, cap - len, "]");
    return s;
}

START_TEST(deterministic_twice_identical)
{
    char *trace = churn_trace(3000, 3, true);
    uint64_t *cells[2];
    nv_counters c[2];
    pma_heap_stats hs[2];
    for (int k = 0; k < 2; k++) {
        nv_device *d;
        pma_heap *h = heap_on(&d, 32 << 20, 64, NV_MODEL_DCW, PMA_META_HYBRID);
        tr_replay_config rc;
        tr_replay_config_defaults(&rc);
        rc.seed = 7;
        tr_replay_stats st;
        tr_error err;
        ck_assert_int_eq(replay_json(trace, d, h, &rc, &st, &err), 0);
        nv_counters_get(d, &c[k]);
        cells[k] = malloc(c[k].cells * sizeof(uint64_t));
        ck_assert_int_eq(nv_cells_export(d, 2, 0, c[k].cells, cells[k]), 0);
        pma_stats(h, &hs[k]);
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_uint_gt(c[0].total_writes, 0);
    ck_assert_uint_eq(c[0].total_writes, c[1].total_writes);
    ck_assert_uint_eq(c[0].bits_flipped[NV_DATA], c[1].bits_flipped[NV_DATA]);
    ck_assert_double_eq(c[0].time_ns, c[1].time_ns);
    ck_assert_mem_eq(cells[0], cells[1], c[0].cells * sizeof(uint64_t));
    ck_assert_uint_eq(hs[0].footprint_bytes, hs[1].footprint_bytes);
    ck_assert_uint_eq(hs[0].arena_creations, hs[1].arena_creations);
    free(cells[0]);
    free(cells[1]);
    free(trace);
}
END_TEST

/* Producer-consumer across threads, objects freed by another thread than
 * the one that allocated them: completes, heap intact, nothing left. */
START_TEST(concurrent_producer_consumer)
{
    char *trace = churn_trace(20000, 4, true);
    nv_device *d;
    pma_heap *h = heap_on(&d, 64 << 20, 64, NV_MODEL_LINE, PMA_META_HYBRID);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    rc.mode = TR_CONCURRENT;
    tr_replay_stats st;
    tr_error err;
    ck_assert_int_eq(replay_json(trace, d, h, &rc, &st, &err), 0);
    ck_assert_uint_eq(st.events[TR_ALLOC], 20000);
    ck_assert_uint_eq(st.events[TR_FREE], 20000);
    test_heap_ok(h);
    pma_heap_stats hs;
    pma_stats(h, &hs);
    ck_assert_uint_eq(hs.live_objects, 0);
    ck_assert_uint_eq(hs.allocs, 20000);
    ck_assert_uint_eq(hs.frees, 20000);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_gt(c.data_writes, 0);
    ck_assert_uint_gt(c.meta_writes, 0);
    ck_assert_uint_le(st.data_bytes_written, c.bytes_stored);   /* metadata stores come on top */
    pma_destroy(h);
    nv_close(d);
    free(trace);
}
END_TEST

START_TEST(failure_is_located)
{
    nv_device *d;
    pma_heap *h = heap_on(&d, 4 << 20, 64, NV_MODEL_LINE, PMA_META_HYBRID);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    tr_replay_stats st;
    tr_error err;
    int r = replay_json("[{\"op\":\"alloc\",\"id\":1,\"size\":64},{\"op\":\"alloc\",\"id\":2,\"size\":50000000}]",
                        d, h, &rc, &st, &err);
    ck_assert_int_eq(r, TR_EREPLAY);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_msg(strstr(err.msg, "alloc of id 2 (50000000 bytes) failed") != NULL, "%s", err.msg);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("replay");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tiny_trace_exact_counts);
    tcase_add_test(tc, write_model_counts);
    tcase_add_test(tc, data_choice_under_dcw);
    tcase_add_test(tc, deterministic_twice_identical);
    tcase_add_test(tc, concurrent_producer_consumer);
    tcase_add_test(tc, failure_is_located);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
