/* test_pma_badmap.c - the allocator retires worn-out blocks: on a sim
 * device whose cells fail after a fixed number of writes, a churn that
 * rewrites its objects wears data lines out; no block handed out after a
 * failure covers a failed line, the retired counters match the failures,
 * the map's stores are metadata kind "badmap", and the map holds after a
 * clean reopen, after an abandon (crash recovery) and after a crash placed
 * at every store of the return that retires a block, under each protocol. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define ENDURANCE 2000         /* writes a cell takes */
#define REWRITES ENDURANCE          /* data writes per object: every block used once fails: data lines fail first */
#define RING 8
#define MAXF 4096

static nv_device *wear_dev(bool crash_sim)
{
    nv_config c;
    nv_config_defaults(&c);
    c.size = 4 << 20;
    c.crash_sim = crash_sim;
    c.endurance.kind = NV_ENDURANCE_FIXED;
    c.endurance.mean = ENDURANCE;
    c.endurance.stddev = 0;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &c), 0);
    return d;
}

static pma_config heap_cfg(pma_persistence p)
{
    pma_config c;
    pma_config_defaults(&c);
    c.granularity = 16;
    c.arena_size = 65536;
    c.persistence = p;
    return c;
}

/* The device's failed lines so far. */
static uint64_t failures(nv_device *d, uint64_t *off)
{
    static nv_failure f[MAXF];
    uint64_t n = 0;
    ck_assert_int_eq(nv_failures_get(d, 0, f, MAXF, &n), 0);
    for (uint64_t i = 0; i < n; i++)
        off[i] = f[i].line_off;
    return n;
}

static bool overlaps(uint64_t at, uint64_t len, const uint64_t *off, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (off[i] < at + len && at < off[i] + 64)
            return true;
    return false;
}

/* Gets a 64-byte object, checks it covers no failed line the device
 * reported before the get, and rewrites it REWRITES times. NULL when the
 * get failed because a metadata store hit a worn cell (PMA_EDEVICE). */
static void *get_checked(pma_heap *h, nv_device *d)
{
    static uint64_t off[MAXF];
    uint64_t n = failures(d, off);
    void *p = pma_get_mem(h, 64);
    if (!p) {
        ck_assert_int_eq(pma_last_error(), PMA_EDEVICE);
        return NULL;
    }
    uint64_t at = pma_offset(h, p);
    TEST_REQUIRE(!overlaps(at, 64, off, n), "block @%llu covers a failed line",
                 (unsigned long long)at);
    unsigned char buf[64];
    for (int w = 0; w < REWRITES; w++) {
        memset(buf, w, sizeof buf);
        nv_write(d, at, buf, 64, NV_DATA);       /* NV_EWORN once its line fails */
    }
    return p;
}

/* A ring of live objects, each freed and replaced in turn, until `want`
 * lines failed or a get failed (worn metadata). Frees everything at the
 * end. Returns the gets made. */
static int churn(pma_heap *h, nv_device *d, uint64_t want, int max_iters)
{
    void *live[RING] = {0};
    int i;
    nv_wearout w;
    for (i = 0; i < max_iters; i++) {
        ck_assert_int_eq(nv_wearout_get(d, &w), 0);
        if (w.failed_cells >= want)
            break;
        if (live[i % RING]) {
            int rc = pma_return_mem(h, live[i % RING]);
            if (rc == PMA_EDEVICE)
                break;              /* a metadata cell wore out first: the free did not happen */
            ck_assert_int_eq(rc, 0);
        }
        live[i % RING] = get_checked(h, d);
        if (!live[i % RING])
            break;
    }
    for (int k = 0; k < RING; k++)
        if (live[k] && pma_usable_size(h, live[k]))
            ck_assert_int_eq(pma_return_mem(h, live[k]), 0);
    return i;
}

/* Retired counters agree with the device's failures: one 64-byte block per
 * failed data line. */
static void check_counts(pma_heap *h, nv_device *d, pma_heap_stats *s)
{
    ck_assert_int_eq(pma_stats(h, s), 0);
    nv_wearout w;
    nv_wearout_get(d, &w);
    ck_assert_uint_eq(s->failed_lines, w.failed_cells);
    ck_assert_uint_gt(s->retired_blocks, 0);
    ck_assert_uint_eq(s->retired_blocks, s->failed_lines - s->meta_failed_lines);
    ck_assert_uint_eq(s->retired_bytes, 64 * s->retired_blocks);
    test_heap_ok(h);
}

/* After a reopen: many gets, none over a failed line; then all freed
 * (lines that failed under them are retired by the frees). */
static void fill_checked(pma_heap *h, nv_device *d, int n)
{
    static void *got[1000];
    for (int i = 0; i < n; i++)
        ck_assert_ptr_nonnull(got[i] = get_checked(h, d));
    test_heap_ok(h);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pma_return_mem(h, got[i]), 0);
    test_heap_ok(h);
}

static const pma_persistence protos[] = {PMA_PERSIST_INTENT, PMA_PERSIST_LOG, PMA_PERSIST_GC};

START_TEST(failed_blocks_never_handed_out_again)
{
    pma_persistence p = protos[_i];
    nv_device *d = wear_dev(false);
    pma_config c = heap_cfg(p);
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    int gets = churn(h, d, 8, 5000);
    pma_heap_stats s;
    check_counts(h, d, &s);
    nv_counters k;
    ck_assert_int_eq(nv_counters_get(d, &k), 0);
    ck_assert(nv_tag_is_meta(NV_META_BADMAP));
    ck_assert_str_eq(nv_tag_name(NV_META_BADMAP), "badmap");
    ck_assert_uint_gt(k.kind[NV_META_BADMAP].writes, 0);
    printf("badmap %s: %d gets, %llu failed lines (%llu metadata), %llu blocks retired (%llu bytes), "
           "%llu badmap cell writes\n", pma_persistence_name(p), gets,
           (unsigned long long)s.failed_lines, (unsigned long long)s.meta_failed_lines,
           (unsigned long long)s.retired_blocks, (unsigned long long)s.retired_bytes,
           (unsigned long long)k.kind[NV_META_BADMAP].writes);
    /* A clean close and reopen: the map holds. */
    uint64_t retired = s.retired_blocks;
    pma_destroy(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.retired_blocks, retired);
    test_heap_ok(h);
    fill_checked(h, d, 100);
    check_counts(h, d, &s);
    retired = s.retired_blocks;
    /* As after a crash (no close): recovery, then the map again. */
    pma_abandon(h);
    ck_assert_int_eq(pma_open(&h, d), 0);
    ck_assert_int_eq(pma_stats(h, &s), 0);
    ck_assert_uint_eq(s.retired_blocks, retired);
    check_counts(h, d, &s);
    fill_checked(h, d, 100);
    check_counts(h, d, &s);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A block that fails while live is retired when freed, and a crash at any
 * store of that free (the map's stores included) recovers to a consistent
 * heap that never hands the block out. The workload is deterministic, so a
 * dry run counts the stores and each try replays it on a fresh device. */
static void *wear_live(pma_heap *h, nv_device *d, void *keep[RING])
{
    /* Churn until a line fails, then fail the line of a live object. */
    churn(h, d, 1, 5000);
    for (int k = 0; k < RING; k++)
        keep[k] = get_checked(h, d);
    void *v = keep[0];
    unsigned char buf[64] = {1};
    for (int w = 0; w <= ENDURANCE; w++)
        nv_write(d, pma_offset(h, v), buf, 64, NV_DATA);
    return v;
}

START_TEST(crash_during_retirement_recovers)
{
    pma_persistence p = protos[_i];
    pma_config c = heap_cfg(p);
    uint64_t stores = 0;
    for (uint64_t k = 0; k <= stores; k++) {
        nv_device *d = wear_dev(true);
        pma_heap *h;
        ck_assert_int_eq(pma_init(&h, d, &c), 0);
        void *keep[RING];
        void *v = wear_live(h, d, keep);
        uint64_t voff = pma_offset(h, v);
        ck_assert_int_eq(pma_set_root(h, keep[1]), 0);
        nv_persist(d, 0, nv_size(d));         /* the data so far is durable */
        if (k == 0) {
            ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, 1u << 30), 0);
            ck_assert_int_eq(pma_return_mem(h, v), 0);
            stores = nv_crash_ops_count(d, NV_OP_STORE);
            nv_crash_disarm(d);
            ck_assert_uint_ge(stores, 1);       /* the map's retired bit at least */
            pma_heap_stats s;
            pma_stats(h, &s);
            ck_assert_uint_ge(s.retired_blocks, 2);
            printf("badmap %s: the retiring return makes %llu stores\n", pma_persistence_name(p),
                   (unsigned long long)stores);
            pma_destroy(h);
            nv_close(d);
            continue;
        }
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, k), 0);
        pma_return_mem(h, v);
        pma_abandon(h);
        ck_assert_int_eq(nv_crash(d, NULL), 0);
        ck_assert_int_eq(pma_open(&h, d), 0);
        test_heap_ok(h);
        /* Never handed out again, live or not after recovery. */
        void *got[120];
        int n = 0;
        for (; n < 120; n++) {
            got[n] = pma_get_mem(h, 64);
            if (!got[n])
                break;
            TEST_REQUIRE(pma_offset(h, got[n]) != voff, "crash at store %llu: the worn block came back",
                         (unsigned long long)k);
        }
        ck_assert_int_gt(n, 100);
        /* A free may meet a worn metadata cell (PMA_EDEVICE: not done). */
        if (pma_usable_size(h, v)) {             /* recovery kept it live: freeing retires it */
            int rc = pma_return_mem(h, v);
            ck_assert(rc == 0 || rc == PMA_EDEVICE);
        }
        for (int i = 0; i < n; i++) {
            int rc = pma_return_mem(h, got[i]);
            ck_assert(rc == 0 || rc == PMA_EDEVICE);
        }
        test_heap_ok(h);
        pma_destroy(h);
        nv_close(d);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pma_badmap");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 600);
    tcase_add_loop_test(t, failed_blocks_never_handed_out_again, 0, 3);
    tcase_add_loop_test(t, crash_during_retirement_recovers, 0, 3);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return test_run_suite(suite()); }
