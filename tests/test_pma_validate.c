/* test_pma_validate.c - pma_open refuses a corrupt image: one test per kind
 * of corruption, each asserting PMA_ECORRUPT, a detail naming the structure
 * and its device offset, and the device left byte for byte as it was; and
 * valid heaps of every protocol and placement (and layout 3's FNV sums)
 * still open and pass pma_check. */
#include "testutil.h"
#include "../allocator/layout.h"

#include <stdio.h>
#include <string.h>

#define DEV_SIZE (8u << 20)

static pma_heap_header *hdr(nv_device *d) { return nv_base(d); }
static pma_arena_header *ahdr(nv_device *d, uint64_t off) { return (void *)((unsigned char *)nv_base(d) + off); }
static uint64_t hwm_of(nv_device *d) { return pma_header_hwm(hdr(d), hdr(d)->version, NULL); }

/* A heap of small and large objects, a root, closed cleanly. */
static nv_device *make(pma_persistence p, pma_metadata m, pma_bitmap_layout l)
{
    nv_device *d = test_sim_open(DEV_SIZE, 64, NV_MODEL_LINE, 0, false);
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = p;
    c.metadata = m;
    c.bitmap_layout = l;
    pma_heap *h = NULL;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    static const size_t sizes[] = {24, 100, 1000, 5000, 20000, 64, 3000, 40};
    void *keep[8];
    for (int i = 0; i < 8; i++)
        ck_assert_ptr_nonnull(keep[i] = pma_get_mem(h, sizes[i]));
    pma_return_mem(h, keep[5]);
    ck_assert_int_eq(pma_set_root(h, keep[1]), 0);
    test_heap_ok(h);
    pma_destroy(h);
    return d;
}

static uint64_t arena_size_of(const pma_arena_header *a)
{
    return a->resize ? pma_resize_size(a->resize) : a->size;
}

/* The k-th arena (0 first) that is large (or small), walking from the first. */
static uint64_t arena_nth(nv_device *d, bool large, int k)
{
    uint64_t off = PMA_HEAP_HEADER_SIZE;
    while (ahdr(d, off)->magic != PMA_ARENA_MAGIC)
        off += PMA_ARENA_ALIGN;
    for (; off < hwm_of(d); off += arena_size_of(ahdr(d, off)))
        if ((ahdr(d, off)->class_word == PMA_CLASS_LARGE) == large && k-- == 0)
            return off;
    ck_abort_msg("no %s arena number %d", large ? "large" : "small", k);
    return 0;
}

static void fix_arena_sum(nv_device *d, uint64_t off)
{
    pma_arena_header *a = ahdr(d, off);
    a->checksum = pma_checksum(hdr(d)->version, a, offsetof(pma_arena_header, checksum));
}

/* Every header's sum, for the heap's version (the arena walk must be sound). */
static void fix_sums(nv_device *d)
{
    pma_heap_header *h = hdr(d);
    h->checksum = pma_checksum(h->version, h, offsetof(pma_heap_header, checksum));
    uint64_t off = PMA_HEAP_HEADER_SIZE;
    while (ahdr(d, off)->magic != PMA_ARENA_MAGIC)
        off += PMA_ARENA_ALIGN;
    for (; off < hwm_of(d); off += arena_size_of(ahdr(d, off))) {
        pma_arena_header *a = ahdr(d, off);
        a->checksum = pma_checksum(h->version, a, offsetof(pma_arena_header, checksum));
    }
}

/* pma_open refuses d with PMA_ECORRUPT, a detail "WHAT at device offset
 * 0xOFF: ...", and leaves the device unchanged. */
static void expect_corrupt(nv_device *d, const char *what, uint64_t off)
{
    unsigned char *before = malloc(nv_size(d));
    ck_assert_ptr_nonnull(before);
    memcpy(before, nv_base(d), nv_size(d));
    pma_heap *h = NULL;
    int rc = pma_open(&h, d);
    if (h)
        pma_destroy(h);
    ck_assert_msg(rc == PMA_ECORRUPT, "pma_open: %d (%s), expected PMA_ECORRUPT", rc, pma_strerror(rc));
    char want[128];
    snprintf(want, sizeof want, "%s at device offset 0x%llx:", what, (unsigned long long)off);
    ck_assert_msg(strstr(pma_last_error_detail(), want) != NULL, "detail \"%s\" does not name \"%s\"",
                  pma_last_error_detail(), want);
    ck_assert_msg(memcmp(before, nv_base(d), nv_size(d)) == 0, "the device changed");
    free(before);
    nv_close(d);
}

/* Finding: an arena size near 2^64 wrapped `off + size > hwm`. */
START_TEST(arena_size_near_2_64)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, false, 0);
    ahdr(d, a)->size = 0xfffffffffffff000ull;
    fix_arena_sum(d, a);
    expect_corrupt(d, "arena header", a);
}
END_TEST

/* Finding: a size that does not advance the walk looped for ever. */
START_TEST(arena_size_zero_or_wrapping_walk)
{
    nv_device *d = make(PMA_PERSIST_INTENT, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, true, 0);
    ahdr(d, a)->size = 0;
    fix_arena_sum(d, a);
    expect_corrupt(d, "arena header", a);
}
END_TEST

/* Finding: bits past an arena's last unit were copied unchecked. */
START_TEST(bitmap_bit_past_units)
{
    /* _i: 0 intent, 1 gc (physical bitmaps), 2 log (bit pairs) */
    pma_persistence p = _i == 0 ? PMA_PERSIST_INTENT : _i == 1 ? PMA_PERSIST_GC : PMA_PERSIST_LOG;
    nv_device *d = make(p, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, false, 0);
    pma_arena_header *ah = ahdr(d, a);
    uint32_t u = ah->units;
    ck_assert_uint_lt(u, ah->bitmap_bytes * 8u);
    uint64_t *bm = (uint64_t *)((unsigned char *)ah + ah->alloc_off);
    uint64_t word = p == PMA_PERSIST_LOG ? u / 32 : u / 64;
    bm[word] |= p == PMA_PERSIST_LOG ? 1ull << (2 * (u % 32)) : 1ull << (u % 64);
    expect_corrupt(d, p == PMA_PERSIST_LOG ? "log checkpoint" : "alloc bitmap", a + ah->alloc_off + word * 8);
}
END_TEST

/* Finding: a root into the heap header was accepted; into an arena header too. */
START_TEST(root_into_a_header)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_NVRAM, PMA_LAYOUT_LINEAR);
    hdr(d)->root = 64;
    expect_corrupt(d, "heap header", offsetof(pma_heap_header, root));
    d = make(PMA_PERSIST_GC, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    hdr(d)->root = arena_nth(d, false, 0) + 8;
    expect_corrupt(d, "heap header", offsetof(pma_heap_header, root));
}
END_TEST

START_TEST(root_past_hwm)
{
    nv_device *d = make(PMA_PERSIST_INTENT, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    hdr(d)->root = hwm_of(d) + 64;
    expect_corrupt(d, "heap header", offsetof(pma_heap_header, root));
}
END_TEST

START_TEST(bad_arena_magic)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, true, 0);
    ahdr(d, a)->magic ^= 1;
    expect_corrupt(d, "arena header", a);
}
END_TEST

START_TEST(bad_version)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    hdr(d)->version = 9;
    fix_sums(d);
    expect_corrupt(d, "heap header", 0);
}
END_TEST

START_TEST(header_checksum_mismatch)
{
    nv_device *d = make(PMA_PERSIST_INTENT, PMA_META_NVRAM, PMA_LAYOUT_LINEAR);
    hdr(d)->granularity = 2;
    expect_corrupt(d, "heap header", offsetof(pma_heap_header, checksum));
}
END_TEST

START_TEST(hwm_past_the_device)
{
    nv_device *d = make(PMA_PERSIST_GC, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    hdr(d)->hwm = DEV_SIZE + PMA_ARENA_ALIGN;
    expect_corrupt(d, "heap header", offsetof(pma_heap_header, hwm));
}
END_TEST

/* Layout 5: the largest hwm of line 1 and the ring is the heap's, wherever
 * it sits; one past the device is refused at its own slot. */
START_TEST(hwm_ring_slot_past_the_device)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    ck_assert_uint_eq(hdr(d)->version, 5);
    uint64_t at;
    pma_header_hwm(hdr(d), 5, &at);
    ck_assert_uint_ge(at, PMA_HWM_RING_OFF);        /* the heap grew: the ring holds it */
    uint64_t slot = PMA_HWM_RING_OFF + 7 * 64, bad = DEV_SIZE + PMA_ARENA_ALIGN;
    memcpy((unsigned char *)nv_base(d) + slot, &bad, 8);
    expect_corrupt(d, "heap header", slot);
}
END_TEST

/* A slot holding a smaller, stale hwm (a line that wore out keeps its old
 * bytes) does not count: the heap opens and checks clean. */
START_TEST(hwm_ring_stale_slot_ignored)
{
    nv_device *d = make(PMA_PERSIST_GC, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t at, hwm = pma_header_hwm(hdr(d), 5, &at), stale = hdr(d)->hwm;
    uint64_t slot = at == PMA_HWM_RING_OFF ? PMA_HWM_RING_OFF + 64 : PMA_HWM_RING_OFF;
    memcpy((unsigned char *)nv_base(d) + slot, &stale, 8);
    pma_heap *h = NULL;
    ck_assert_int_eq(pma_open(&h, d), 0);
    ck_assert_uint_eq(pma_header_hwm(hdr(d), 5, NULL), hwm);
    test_heap_ok(h);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A large arena's resize word grown over its neighbour: the walk lands
 * inside the neighbour, where no header is. */
START_TEST(overlapping_arenas)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, true, 0), next = a + arena_size_of(ahdr(d, a));
    ck_assert_uint_lt(next, hwm_of(d));
    uint64_t grown = arena_size_of(ahdr(d, a)) + PMA_ARENA_ALIGN;
    ck_assert_uint_gt(arena_size_of(ahdr(d, next)), PMA_ARENA_ALIGN);    /* lands inside it */
    ahdr(d, a)->resize = pma_resize_pack(grown);
    expect_corrupt(d, "arena header", a + grown);
}
END_TEST

START_TEST(bad_class)
{
    nv_device *d = make(PMA_PERSIST_INTENT, PMA_META_HYBRID, PMA_LAYOUT_INTERLEAVED);
    uint64_t a = arena_nth(d, false, 1);
    ahdr(d, a)->class_word = 9;
    expect_corrupt(d, "arena header", a);
}
END_TEST

START_TEST(small_geometry_inconsistent)
{
    nv_device *d = make(PMA_PERSIST_GC, PMA_META_NVRAM, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, false, 0);
    ahdr(d, a)->units += 64;
    fix_arena_sum(d, a);
    expect_corrupt(d, "arena header", a);
}
END_TEST

/* log: a live epoch's record naming the heap header; one of a future
 * epoch; a checkpoint start on a free unit; a log_start past a half. */
START_TEST(log_record_out_of_range)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t w[2], at = PMA_HEAP_HEADER_SIZE + 5 * PMA_LOG_REC;
    pma_rec_pack(w, PMA_OP_ALLOC, hdr(d)->log_epoch + 1, 64, 1, 1);
    memcpy((unsigned char *)nv_base(d) + at, w, sizeof w);
    expect_corrupt(d, "log record", at);

    d = make(PMA_PERSIST_LOG, PMA_META_NVRAM, PMA_LAYOUT_LINEAR);
    pma_rec_pack(w, PMA_OP_FREE, hdr(d)->log_epoch + 7, arena_nth(d, false, 0) + 4096, 1, 1);
    memcpy((unsigned char *)nv_base(d) + at, w, sizeof w);
    expect_corrupt(d, "log record", at);
}
END_TEST

START_TEST(log_checkpoint_out_of_range)
{
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, false, 0);
    pma_arena_header *ah = ahdr(d, a);
    uint32_t u = ah->units - 1;             /* the last unit: free */
    uint64_t *pairs = (uint64_t *)((unsigned char *)ah + ah->alloc_off);
    ck_assert_uint_eq((pairs[u / 32] >> (2 * (u % 32))) & 3, 0);
    pairs[u / 32] |= 2ull << (2 * (u % 32));
    expect_corrupt(d, "log checkpoint", a + ah->alloc_off + u / 32 * 8);

    d = make(PMA_PERSIST_LOG, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    hdr(d)->log_start = 1ull << 40;
    expect_corrupt(d, "log checkpoint line", offsetof(pma_heap_header, log_start));
}
END_TEST

/* intent: a slot naming units past the arena, in the second small arena,
 * while the first needs a repair that open would write: nothing is. */
START_TEST(bad_intent_slot)
{
    nv_device *d = make(PMA_PERSIST_INTENT, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    uint64_t a0 = arena_nth(d, false, 0), a1 = arena_nth(d, false, 1);
    pma_arena_header *h0 = ahdr(d, a0), *h1 = ahdr(d, a1);
    uint64_t *start0 = (uint64_t *)((unsigned char *)h0 + h0->start_off);
    start0[h0->units / 64 - 1] |= 1ull << 63;    /* a start on a free unit: repaired at open */
    h1->log[3].word = pma_log_pack(PMA_OP_ALLOC, 5, h1->units + 5, 1);
    expect_corrupt(d, "intent slot", a1 + offsetof(pma_arena_header, log) + 3 * PMA_LINE);
}
END_TEST

START_TEST(list_link_out_of_range)
{
    nv_device *d = make(PMA_PERSIST_INTENT, PMA_META_NVRAM, PMA_LAYOUT_LINEAR);
    uint64_t a = arena_nth(d, false, 0);
    ahdr(d, a)->next = a + 8;
    expect_corrupt(d, "arena list link", a + offsetof(pma_arena_header, next));

    d = make(PMA_PERSIST_LOG, PMA_META_NVRAM, PMA_LAYOUT_LINEAR);
    a = arena_nth(d, false, 0);
    int c = (int)ahdr(d, a)->class_word;
    hdr(d)->list_head[c] = a;
    ahdr(d, a)->next = a;                       /* a cycle */
    expect_corrupt(d, "class list head", offsetof(pma_heap_header, list_head) + 8u * (unsigned)c);
}
END_TEST

/* Every protocol x persistent placement x bitmap layout still opens. */
START_TEST(valid_heaps_open)
{
    pma_persistence p = (pma_persistence)(_i % 3);
    pma_metadata m = _i / 3 % 2 ? PMA_META_NVRAM : PMA_META_HYBRID;
    pma_bitmap_layout l = _i / 6 ? PMA_LAYOUT_INTERLEAVED : PMA_LAYOUT_LINEAR;
    nv_device *d = make(p, m, l);
    ck_assert_uint_eq(hdr(d)->version, PMA_LAYOUT_VERSION);
    pma_heap *h = NULL;
    int rc = pma_open(&h, d);
    ck_assert_msg(rc == 0, "%s/%s: %s (%s)", pma_persistence_name(p), pma_metadata_name(m), pma_strerror(rc),
                  pma_last_error_detail());
    test_heap_ok(h);
    ck_assert_ptr_nonnull(pma_root(h));
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* A layout 3 heap (FNV sums) and a layout 4 heap (hwm in line 1, no ring)
 * still open; a 3's sums stay FNV, and growing either moves line 1's hwm. */
START_TEST(layout_3_fnv_opens)
{
    uint32_t version = 3 + (uint32_t)_i;
    nv_device *d = make(PMA_PERSIST_LOG, PMA_META_NVRAM, PMA_LAYOUT_LINEAR);
    hdr(d)->hwm = hwm_of(d);                 /* where layouts before 5 keep it */
    memset((unsigned char *)nv_base(d) + PMA_HWM_RING_OFF, 0, PMA_HWM_RING_SLOTS * 64);
    hdr(d)->version = version;
    fix_sums(d);
    if (version == 3)
        ck_assert_uint_eq(hdr(d)->checksum, pma_checksum_fnv(hdr(d), offsetof(pma_heap_header, checksum)));
    pma_heap *h = NULL;
    ck_assert_msg(pma_open(&h, d) == 0, "%s", pma_last_error_detail());
    test_heap_ok(h);
    uint64_t before = hdr(d)->hwm;
    ck_assert_ptr_nonnull(pma_get_mem(h, 100));
    ck_assert_ptr_nonnull(pma_get_mem(h, 300000));     /* a new large arena */
    test_heap_ok(h);
    ck_assert_uint_gt(hdr(d)->hwm, before);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

/* Layout 4's sum is CRC-32 (zlib): the standard check value. */
START_TEST(crc_check_value)
{
    ck_assert_uint_eq(pma_checksum(4, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_ne(pma_checksum(3, "123456789", 9), 0xCBF43926u);
}
END_TEST

/* A root inside an arena header is refused by pma_set_root too. */
START_TEST(set_root_refuses_headers)
{
    nv_device *d = make(PMA_PERSIST_INTENT, PMA_META_HYBRID, PMA_LAYOUT_LINEAR);
    pma_heap *h = NULL;
    ck_assert_int_eq(pma_open(&h, d), 0);
    unsigned char *base = nv_base(d);
    ck_assert_int_eq(pma_set_root(h, base + arena_nth(d, false, 0) + 8), PMA_EINVAL);
    ck_assert_int_eq(pma_set_root(h, base + arena_nth(d, true, 0)), PMA_EINVAL);
    pma_destroy(h);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_validate");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, arena_size_near_2_64);
    tcase_add_test(tc, arena_size_zero_or_wrapping_walk);
    tcase_add_loop_test(tc, bitmap_bit_past_units, 0, 3);
    tcase_add_test(tc, root_into_a_header);
    tcase_add_test(tc, root_past_hwm);
    tcase_add_test(tc, hwm_ring_slot_past_the_device);
    tcase_add_test(tc, hwm_ring_stale_slot_ignored);
    tcase_add_test(tc, bad_arena_magic);
    tcase_add_test(tc, bad_version);
    tcase_add_test(tc, header_checksum_mismatch);
    tcase_add_test(tc, hwm_past_the_device);
    tcase_add_test(tc, overlapping_arenas);
    tcase_add_test(tc, bad_class);
    tcase_add_test(tc, small_geometry_inconsistent);
    tcase_add_test(tc, log_record_out_of_range);
    tcase_add_test(tc, log_checkpoint_out_of_range);
    tcase_add_test(tc, bad_intent_slot);
    tcase_add_test(tc, list_link_out_of_range);
    tcase_add_loop_test(tc, valid_heaps_open, 0, 12);
    tcase_add_loop_test(tc, layout_3_fnv_opens, 0, 2);
    tcase_add_test(tc, crc_check_value);
    tcase_add_test(tc, set_root_refuses_headers);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
