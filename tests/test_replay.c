/* test_replay.c - the replay engine: exact, hand-checkable counts on small
 * traces (the tiny experiment of issue 5, the on_alloc model, extra writes,
 * realloc copies, zero data under dcw), deterministic replay twice giving
 * identical per-cell counters, concurrent replay of a producer-consumer trace
 * keeping the heap's invariants, failures located, and the link table:
 * exactly the live objects linked from the root, all of them still there
 * after a gc heap's crash recovery, FIFO reuse of entries, its writes counted
 * as links and nowhere else. */
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

/* ---- links -------------------------------------------------------------------- */

static pma_heap *gc_heap_on(nv_device **d, uint64_t size, uint32_t cell)
{
    *d = test_sim_open(size, cell, NV_MODEL_LINE, 0, false);
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = PMA_PERSIST_GC;
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, *d, &c), 0);
    return h;
}

/* Walks root -> directory -> chunks: the non-zero entries into out (cap
 * words), in table order; returns how many, and the chunks seen. */
static uint64_t walk_links(pma_heap *h, uint64_t *out, uint64_t cap, uint64_t *chunks)
{
    const uint64_t *dir = pma_root(h);
    ck_assert_ptr_nonnull(dir);
    size_t dwords = pma_usable_size(h, dir) / 8;
    ck_assert_uint_gt(dwords, 0);
    uint64_t n = 0;
    *chunks = 0;
    for (size_t i = 0; i < dwords && dir[i]; i++) {
        const uint64_t *c = pma_pointer(h, dir[i]);
        ck_assert_uint_ge(pma_usable_size(h, c), 4096);
        (*chunks)++;
        for (size_t j = 0; j < 512; j++)
            if (c[j]) {
                ck_assert_uint_lt(n, cap);
                out[n++] = c[j];
            }
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* n allocs of mixed sizes (some large), every third freed, every fifth of
 * the rest reallocated (to a new id), nothing freed at the end. *live gets
 * the number of objects live at the end. */
static char *keep_trace(int n, int threads, uint64_t *live)
{
    size_t cap = (size_t)n * 200 + 64, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "[");
    uint64_t x = 99;
    *live = 0;
    for (int i = 1; i <= n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t size = i % 97 == 0 ? 9000 + x % 5000 : x % 700 + 1;
        int t = (int)(x % (uint64_t)threads);
        len += (size_t)snprintf(s + len, cap - len, "%s{\"op\":\"alloc\",\"id\":%d,\"size\":%llu,\"thread\":%d}",
                                i > 1 ? "," : "", i, (unsigned long long)size, t);
        (*live)++;
        if (i % 3 == 0) {
            int victim = (i - 1) % 5 == 0 ? n + i - 1 : i - 1;   /* reallocated ones under their new id */
            len += (size_t)snprintf(s + len, cap - len, ",{\"op\":\"free\",\"id\":%d,\"thread\":%d}", victim, t);
            (*live)--;
        } else if (i % 5 == 0) {
            len += (size_t)snprintf(s + len, cap - len,
                                    ",{\"op\":\"realloc\",\"id\":%d,\"new_id\":%d,\"size\":%llu,\"thread\":%d}",
                                    i, n + i, (unsigned long long)(size * 2 + 1), t);
        }
    }
    snprintf(s + len, cap - len, "]");
    return s;
}

/* A precise tracer for the replay's heap (pma_open_ex), as a program that
 * knows its layout writes one: the root is the directory, whose words name
 * chunks; a chunk's words name trace objects; trace objects hold no links. */
typedef struct links_tracer { uint64_t chunk[64]; int n; bool root_done; } links_tracer;

static void trace_links(pma_tracer *t, uint64_t off, const void *obj, size_t bytes, void *arg)
{
    links_tracer *lt = arg;
    const uint64_t *w = obj;
    bool dir = !lt->root_done, chunk = false;
    lt->root_done = true;
    for (int i = 0; i < lt->n && !chunk; i++)
        chunk = lt->chunk[i] == off;
    if (!dir && !chunk)
        return;
    for (size_t i = 0; i < bytes / 8; i++)
        if (w[i]) {
            if (dir && lt->n < 64)
                lt->chunk[lt->n++] = w[i];
            pma_trace_ref(t, w[i]);
        }
}

/* Links on, nothing freed at the end: the table holds exactly the live
 * objects' offsets (more than 8 chunks' worth, so the directory doubled);
 * after pma_abandon and a recovering open (tracing from the root) every one
 * is still allocated. With the precise tracer the live count is exactly the
 * replay's plus the table's own objects; the conservative trace may keep a
 * few more (a stale word that happens to name a freed object), never fewer.
 * With links off the same recovery keeps nothing: the table is what keeps
 * the objects. _i: 0 links + conservative, 1 links + precise, 2 no links. */
START_TEST(links_keep_live_objects_through_recovery)
{
    bool on = _i < 2, precise = _i == 1;
    uint64_t expect;
    char *trace = keep_trace(9000, 1, &expect);
    ck_assert_uint_gt(expect, 8 * 512);
    nv_device *d;
    pma_heap *h = gc_heap_on(&d, 128 << 20, 64);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    rc.links = on ? TR_LINKS_AUTO : TR_LINKS_OFF;   /* auto: on for gc */
    tr_replay_stats st;
    tr_error err;
    ck_assert_int_eq(replay_json(trace, d, h, &rc, &st, &err), 0);
    ck_assert_uint_eq(st.live_objects, expect);
    ck_assert(st.links == on);
    uint64_t *offs = calloc(expect + 1, sizeof *offs), n = 0, chunks = 0;
    if (on) {
        ck_assert_uint_gt(st.links_bytes_written, 0);
        n = walk_links(h, offs, expect + 1, &chunks);
        ck_assert_uint_eq(n, expect);
        ck_assert_uint_gt(chunks, 8);
        qsort(offs, n, sizeof *offs, cmp_u64);
        for (uint64_t i = 0; i < n; i++) {
            ck_assert(i == 0 || offs[i] != offs[i - 1]);     /* each linked once */
            ck_assert_uint_gt(pma_usable_size(h, pma_pointer(h, offs[i])), 0);
        }
        pma_heap_stats hs;
        pma_stats(h, &hs);
        ck_assert_uint_eq(hs.live_objects, expect + 1 + chunks);   /* + directory + chunks */
    } else {
        ck_assert_uint_eq(st.links_bytes_written, 0);
        ck_assert_ptr_null(pma_root(h));
    }
    pma_abandon(h);
    links_tracer lt = {.n = 0};
    pma_open_opts oo = {.trace = trace_links, .trace_arg = &lt};
    ck_assert_int_eq(pma_open_ex(&h, d, precise ? &oo : NULL), 0);
    pma_open_info info;
    pma_open_info_get(h, &info);
    ck_assert_str_eq(info.how, "trace");
    pma_heap_stats hs;
    pma_stats(h, &hs);
    if (on) {
        for (uint64_t i = 0; i < n; i++)
            ck_assert_uint_gt(pma_usable_size(h, pma_pointer(h, offs[i])), 0);
        if (precise) {
            ck_assert_uint_eq(hs.live_objects, expect + 1 + chunks);
            ck_assert_uint_eq(info.bad_refs, 0);
        } else {
            ck_assert_uint_ge(hs.live_objects, expect + 1 + chunks);
        }
        uint64_t again = walk_links(h, offs, expect + 1, &chunks);
        ck_assert_uint_eq(again, expect);
    } else {
        ck_assert_uint_eq(hs.live_objects, 0);
    }
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
    free(offs);
    free(trace);
}
END_TEST

/* A freed entry goes to the back of the queue: after a, b, c, free a, the
 * new d takes the fourth entry, not a's (LIFO would). The freed entry is 0. */
START_TEST(links_reuse_entries_fifo)
{
    nv_device *d;
    pma_heap *h = gc_heap_on(&d, 16 << 20, 64);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    tr_replay_stats st;
    tr_error err;
    ck_assert_int_eq(replay_json("[{\"op\":\"alloc\",\"id\":1,\"size\":64},{\"op\":\"alloc\",\"id\":2,\"size\":64},"
                                 "{\"op\":\"alloc\",\"id\":3,\"size\":64},{\"op\":\"free\",\"id\":1},"
                                 "{\"op\":\"alloc\",\"id\":4,\"size\":64}]", d, h, &rc, &st, &err), 0);
    ck_assert_uint_eq(st.live_objects, 3);
    const uint64_t *dir = pma_root(h);
    const uint64_t *c = pma_pointer(h, dir[0]);
    ck_assert_uint_eq(dir[1], 0);
    ck_assert_uint_eq(c[0], 0);
    for (int i = 1; i < 4; i++)
        ck_assert_uint_gt(pma_usable_size(h, pma_pointer(h, c[i])), 0);
    ck_assert_uint_eq(c[4], 0);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Links are their own source: at 1-byte cells every byte stored to the table
 * is one links write, and the data writes are those of the same replay
 * without links. On a log heap "auto" is off and nothing is linked. */
START_TEST(links_counted_as_links_only)
{
    uint64_t live;
    char *trace = keep_trace(600, 1, &live);
    nv_counters c[2];
    tr_replay_stats st[2];
    for (int k = 0; k < 2; k++) {
        nv_device *d;
        pma_heap *h = gc_heap_on(&d, 32 << 20, 1);
        tr_replay_config rc;
        tr_replay_config_defaults(&rc);
        rc.links = k ? TR_LINKS_ON : TR_LINKS_OFF;
        tr_error err;
        ck_assert_int_eq(replay_json(trace, d, h, &rc, &st[k], &err), 0);
        nv_counters_get(d, &c[k]);
        pma_destroy(h);
        nv_close(d);
    }
    ck_assert_uint_eq(c[0].links_writes, 0);
    ck_assert_uint_gt(c[1].links_writes, 0);
    ck_assert_uint_eq(c[1].links_writes, st[1].links_bytes_written);
    ck_assert_uint_eq(c[1].data_writes, c[0].data_writes);
    ck_assert_uint_eq(st[1].data_bytes_written, st[0].data_bytes_written);
    ck_assert_uint_eq(c[1].total_writes, c[1].data_writes + c[1].meta_writes + c[1].links_writes);
    /* log persistence: auto means off */
    nv_device *d;
    pma_heap *h = heap_on(&d, 32 << 20, 64, NV_MODEL_LINE, PMA_META_HYBRID);
    ck_assert_int_eq(pma_heap_config(h)->persistence, PMA_PERSIST_LOG);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    tr_replay_stats s;
    tr_error err;
    ck_assert_int_eq(replay_json(trace, d, h, &rc, &s, &err), 0);
    ck_assert(!s.links);
    nv_counters_get(d, &c[0]);
    ck_assert_uint_eq(c[0].links_writes, 0);
    ck_assert_ptr_null(pma_root(h));
    pma_destroy(h);
    nv_close(d);
    free(trace);
}
END_TEST

/* Concurrent replay with links: four workers linking and unlinking at once
 * leave exactly the live objects in the table, the heap intact. */
START_TEST(links_concurrent)
{
    uint64_t expect;
    char *trace = keep_trace(6000, 4, &expect);
    nv_device *d;
    pma_heap *h = gc_heap_on(&d, 64 << 20, 64);
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    rc.mode = TR_CONCURRENT;
    tr_replay_stats st;
    tr_error err;
    ck_assert_int_eq(replay_json(trace, d, h, &rc, &st, &err), 0);
    ck_assert_uint_eq(st.live_objects, expect);
    uint64_t *offs = calloc(expect + 1, sizeof *offs), chunks;
    ck_assert_uint_eq(walk_links(h, offs, expect + 1, &chunks), expect);
    qsort(offs, expect, sizeof *offs, cmp_u64);
    for (uint64_t i = 0; i < expect; i++) {
        ck_assert(i == 0 || offs[i] != offs[i - 1]);
        ck_assert_uint_gt(pma_usable_size(h, pma_pointer(h, offs[i])), 0);
    }
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
    free(offs);
    free(trace);
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
    tcase_add_loop_test(tc, links_keep_live_objects_through_recovery, 0, 3);
    tcase_add_test(tc, links_reuse_entries_fifo);
    tcase_add_test(tc, links_counted_as_links_only);
    tcase_add_test(tc, links_concurrent);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
