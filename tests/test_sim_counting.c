/* test_sim_counting.c - the sim device's wear counting: exact per-cell counts
 * for writes inside a cell and across cell boundaries at every cell size, per
 * source and per metadata kind, links as a third source apart from data and
 * metadata, the dcw model and its bit flips, media-line
 * amplification, compact wrap-free counters, bad ranges, and injected store
 * faults (nv_fault_arm). */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

static const uint32_t cell_sizes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
#define NCELLSIZES (int)(sizeof cell_sizes / sizeof cell_sizes[0])

/* Inside one cell: one increment of that cell only, whatever the length. */
START_TEST(write_inside_one_cell)
{
    uint32_t cs = cell_sizes[_i];
    nv_device *d = test_sim_open(1 << 20, cs, NV_MODEL_LINE, 0, false);
    unsigned char buf[4096];
    memset(buf, 0xAB, sizeof buf);
    uint64_t cell = 5;
    ck_assert_int_eq(nv_write(d, cell * cs, buf, cs, NV_DATA), 0);
    ck_assert_int_eq(nv_write(d, cell * cs + cs / 2, buf, (cs + 1) / 2, NV_DATA), 0);
    ck_assert_uint_eq(nv_cell_count(d, cell, NV_DATA), 2);
    ck_assert_uint_eq(nv_cell_count(d, cell - 1, -1), 0);
    ck_assert_uint_eq(nv_cell_count(d, cell + 1, -1), 0);
    nv_counters c;
    ck_assert_int_eq(nv_counters_get(d, &c), 0);
    ck_assert_uint_eq(c.total_writes, 2);
    ck_assert_uint_eq(c.data_writes, 2);
    ck_assert_uint_eq(c.meta_writes, 0);
    ck_assert_uint_eq(c.cells_touched, 1);
    ck_assert_uint_eq(c.cells, (1u << 20) / cs);
    ck_assert_uint_eq(c.stores, 2);
    nv_close(d);
}
END_TEST

/* Across boundaries: a write of len bytes at off adds one to every touched cell. */
START_TEST(write_across_cells)
{
    uint32_t cs = cell_sizes[_i];
    nv_device *d = test_sim_open(1 << 20, cs, NV_MODEL_LINE, 0, false);
    static unsigned char buf[3 * 4096 + 2];
    uint64_t off = 3 * (uint64_t)cs - 1;          /* last byte of cell 2 */
    size_t len = 2 * cs + 2;                      /* ... to the first byte of cell 5 */
    ck_assert_int_eq(nv_write(d, off, buf, len, NV_DATA), 0);
    for (uint64_t c = 0; c < 8; c++)
        ck_assert_uint_eq(nv_cell_count(d, c, NV_DATA), (c >= 2 && c <= 5) ? 1 : 0);
    nv_counters k;
    nv_counters_get(d, &k);
    ck_assert_uint_eq(k.total_writes, 4);
    ck_assert_uint_eq(k.cells_touched, 4);
    ck_assert_uint_eq(k.bytes_stored, len);
    nv_close(d);
}
END_TEST

START_TEST(per_source_and_kind)
{
    nv_device *d = test_sim_open(1 << 16, 64, NV_MODEL_LINE, 0, false);
    unsigned char b[256] = {1};
    nv_write(d, 0, b, 64, NV_DATA);
    nv_write(d, 0, b, 8, NV_META_BITMAP);
    nv_write(d, 64, b, 128, NV_META_BITMAP);       /* cells 1, 2 */
    nv_write(d, 64, b, 8, NV_META_BITMAP);         /* cell 1 again: hottest */
    nv_write(d, 1024, b, 16, NV_META_HEADER);
    nv_set(d, 2048, 0, 64, NV_META_LIST);
    nv_write(d, 4096, b, 8, NV_META_ROOT);
    nv_write(d, 8192, b, 65, NV_META_LOG);         /* cells 128, 129 */
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.data_writes, 1);
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].writes, 4);
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].hottest_cell, 1);
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].hottest_count, 2);
    ck_assert_uint_eq(c.kind[NV_META_HEADER].writes, 1);
    ck_assert_uint_eq(c.kind[NV_META_HEADER].hottest_cell, 16);
    ck_assert_uint_eq(c.kind[NV_META_LIST].writes, 1);
    ck_assert_uint_eq(c.kind[NV_META_LIST].hottest_cell, 32);
    ck_assert_uint_eq(c.kind[NV_META_ROOT].writes, 1);
    ck_assert_uint_eq(c.kind[NV_META_LOG].writes, 2);
    ck_assert_uint_eq(c.meta_writes, 9);
    ck_assert_uint_eq(c.total_writes, 10);
    ck_assert_uint_eq(nv_cell_count(d, 0, -1), 2);
    ck_assert_uint_eq(nv_cell_count(d, 0, NV_DATA), 1);
    uint64_t cells[4];
    ck_assert_int_eq(nv_cells_export(d, 1, 0, 4, cells), 0);   /* metadata */
    ck_assert_uint_eq(cells[0], 1);
    ck_assert_uint_eq(cells[1], 2);
    ck_assert_uint_eq(cells[2], 1);
    ck_assert_uint_eq(cells[3], 0);
    ck_assert_int_eq(nv_cells_export(d, 2, 0, 4, cells), 0);   /* both */
    ck_assert_uint_eq(cells[0], 2);
    ck_assert_int_eq(nv_cells_export(d, 0, 0, 4, cells), 0);   /* data */
    ck_assert_uint_eq(cells[0], 1);
    ck_assert_uint_eq(cells[1], 0);
    ck_assert_str_eq(nv_tag_name(NV_META_LOG), "log");
    ck_assert_int_eq(nv_tag_from_name("bitmap"), NV_META_BITMAP);
    ck_assert_int_eq(nv_tag_from_name("nope"), NV_EINVAL);
    nv_close(d);
}
END_TEST

/* Links are a third source: counted apart, never in data or metadata, and
 * the same data/metadata writes give the same figures with or without them. */
START_TEST(links_counted_apart)
{
    nv_device *d[2];
    nv_counters c[2];
    nv_wear_now w[2];
    unsigned char b[256];
    memset(b, 7, sizeof b);
    for (int k = 0; k < 2; k++) {
        d[k] = test_sim_open(1 << 16, 64, NV_MODEL_LINE, 0, false);
        nv_write(d[k], 0, b, 64, NV_DATA);
        nv_write(d[k], 64, b, 8, NV_META_BITMAP);
        nv_write(d[k], 4096, b, 128, NV_DATA);              /* cells 64, 65 */
        ck_assert_int_eq(nv_wear_now_get(d[k], &w[k]), 0);  /* a sample before the links */
        if (k == 1) {
            nv_write(d[k], 0, b, 8, NV_LINKS);              /* cell 0: shared with data */
            nv_write(d[k], 8192, b, 64, NV_LINKS);          /* cell 128 */
            nv_set(d[k], 8192, 0, 130, NV_LINKS);           /* cells 128..130 */
        }
        ck_assert_int_eq(nv_wear_now_get(d[k], &w[k]), 0);
        ck_assert_int_eq(nv_counters_get(d[k], &c[k]), 0);
    }
    ck_assert(!nv_tag_is_meta(NV_LINKS));
    ck_assert(nv_tag_is_meta(NV_META_LOG));
    ck_assert_str_eq(nv_tag_name(NV_LINKS), "links");
    ck_assert_int_eq(nv_tag_from_name("links"), NV_LINKS);
    /* Without links nothing moved; with them data and metadata are the same. */
    ck_assert_uint_eq(c[0].links_writes, 0);
    ck_assert_uint_eq(c[0].data_writes, 3);
    ck_assert_uint_eq(c[0].meta_writes, 1);
    ck_assert_uint_eq(c[0].total_writes, 4);
    ck_assert_uint_eq(c[1].data_writes, c[0].data_writes);
    ck_assert_uint_eq(c[1].meta_writes, c[0].meta_writes);
    ck_assert_uint_eq(c[1].kind[NV_DATA].hottest_count, c[0].kind[NV_DATA].hottest_count);
    ck_assert_uint_eq(c[1].links_writes, 5);
    ck_assert_uint_eq(c[1].kind[NV_LINKS].writes, 5);
    ck_assert_uint_eq(c[1].kind[NV_LINKS].hottest_cell, 128);
    ck_assert_uint_eq(c[1].kind[NV_LINKS].hottest_count, 2);
    ck_assert_uint_eq(c[1].total_writes, 9);
    ck_assert_uint_eq(c[1].cells_touched, c[0].cells_touched + 3);   /* 128..130 */
    /* The exports: 3 is links, 0 and 1 leave them out, 2 sums all three. */
    uint64_t cells[4];
    ck_assert_int_eq(nv_cells_export(d[1], 3, 0, 1, cells), 0);
    ck_assert_uint_eq(cells[0], 1);
    ck_assert_int_eq(nv_cells_export(d[1], 3, 128, 4, cells), 0);
    ck_assert_uint_eq(cells[0], 2);
    ck_assert_uint_eq(cells[2], 1);
    ck_assert_uint_eq(cells[3], 0);
    ck_assert_int_eq(nv_cells_export(d[1], 0, 128, 1, cells), 0);
    ck_assert_uint_eq(cells[0], 0);
    ck_assert_int_eq(nv_cells_export(d[1], 1, 128, 1, cells), 0);
    ck_assert_uint_eq(cells[0], 0);
    ck_assert_int_eq(nv_cells_export(d[1], 2, 0, 1, cells), 0);
    ck_assert_uint_eq(cells[0], 2);                          /* data + links */
    ck_assert_int_eq(nv_cells_export(d[1], 4, 0, 1, cells), 0);   /* leveling: none here */
    ck_assert_uint_eq(cells[0], 0);
    ck_assert_int_eq(nv_cells_export(d[1], 5, 0, 1, cells), NV_EINVAL);
    /* The wear now: links apart, the rest as without them. */
    ck_assert_uint_eq(w[0].links_writes, 0);
    ck_assert_uint_eq(w[0].hottest_links, 0);
    ck_assert_uint_eq(w[1].data_writes, w[0].data_writes);
    ck_assert_uint_eq(w[1].meta_writes, w[0].meta_writes);
    ck_assert_uint_eq(w[1].hottest_data, w[0].hottest_data);
    ck_assert_uint_eq(w[1].hottest_meta, w[0].hottest_meta);
    ck_assert_uint_eq(w[1].links_writes, c[1].links_writes);
    ck_assert_uint_eq(w[1].hottest_links, 2);
    ck_assert_uint_eq(w[1].total_writes, c[1].total_writes);
    ck_assert_uint_eq(w[1].hottest, 2);
    for (int k = 0; k < 2; k++)
        nv_close(d[k]);
}
END_TEST

/* dcw: only cells whose bytes change wear, and the flipped bits are counted. */
START_TEST(dcw_counts_changed_cells_and_bits)
{
    nv_device *d = test_sim_open(1 << 16, 8, NV_MODEL_DCW, 0, false);
    unsigned char buf[32] = {0};
    ck_assert_int_eq(nv_write(d, 0, buf, 32, NV_DATA), 0);     /* zeros over zeros */
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 0);
    ck_assert_uint_eq(c.stores, 1);
    buf[9] = 0x0F;                                             /* cell 1: 4 bits */
    buf[25] = 0x01;                                            /* cell 3: 1 bit  */
    buf[26] = 0x80;                                            /* cell 3: 1 bit  */
    nv_write(d, 0, buf, 32, NV_DATA);
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 2);
    ck_assert_uint_eq(nv_cell_count(d, 0, NV_DATA), 0);
    ck_assert_uint_eq(nv_cell_count(d, 1, NV_DATA), 1);
    ck_assert_uint_eq(nv_cell_count(d, 2, NV_DATA), 0);
    ck_assert_uint_eq(nv_cell_count(d, 3, NV_DATA), 1);
    ck_assert_uint_eq(c.bits_flipped[NV_DATA], 6);
    buf[9] = 0xFF;                                             /* 4 more bits in cell 1 */
    nv_write(d, 0, buf, 32, NV_META_BITMAP);
    nv_counters_get(d, &c);
    ck_assert_uint_eq(nv_cell_count(d, 1, NV_META_BITMAP), 1);
    ck_assert_uint_eq(c.bits_flipped[NV_META_BITMAP], 4);
    ck_assert_uint_eq(c.total_writes, 3);
    nv_set(d, 0, 0, 32, NV_DATA);                              /* clears 8 + 2 bits, 2 cells */
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.bits_flipped[NV_DATA], 6 + 10);
    ck_assert_uint_eq(c.data_writes, 4);
    nv_close(d);
}
END_TEST

/* Media line: a write wears every cell of each media line it falls in. */
START_TEST(media_line_amplification)
{
    nv_device *d = test_sim_open(1 << 16, 64, NV_MODEL_LINE, 256, false);
    unsigned char b[64] = {0};
    nv_write(d, 300, b, 8, NV_DATA);            /* media line 1: cells 4..7 */
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 4);
    for (uint64_t i = 0; i < 12; i++)
        ck_assert_uint_eq(nv_cell_count(d, i, NV_DATA), (i >= 4 && i < 8) ? 1 : 0);
    nv_write(d, 250, b, 12, NV_DATA);           /* straddles media lines 0 and 1 */
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 12);
    ck_assert_uint_eq(nv_cell_count(d, 0, NV_DATA), 1);
    ck_assert_uint_eq(nv_cell_count(d, 5, NV_DATA), 2);
    nv_close(d);
    /* dcw + media line: unchanged media lines do not wear, changed ones wholly. */
    d = test_sim_open(1 << 16, 64, NV_MODEL_DCW, 256, false);
    nv_write(d, 0, b, 64, NV_DATA);
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 0);
    b[3] = 1;
    nv_write(d, 256 + 64, b, 64, NV_DATA);
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 4);
    ck_assert_uint_eq(nv_cell_count(d, 4, NV_DATA), 1);
    nv_close(d);
}
END_TEST

/* A cell written past 65535 times keeps counting exactly (the carry path). */
START_TEST(counters_do_not_wrap)
{
    nv_device *d = test_sim_open(4096, 1, NV_MODEL_LINE, 0, false);
    unsigned char b = 7;
    for (int i = 0; i < 200000; i++)
        nv_write(d, 100, &b, 1, NV_META_BITMAP);
    ck_assert_uint_eq(nv_cell_count(d, 100, NV_META_BITMAP), 200000);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.kind[NV_META_BITMAP].hottest_count, 200000);
    ck_assert_uint_eq(c.total_writes, 200000);
    ck_assert_int_eq(nv_counters_reset(d), 0);
    ck_assert_uint_eq(nv_cell_count(d, 100, NV_META_BITMAP), 0);
    unsigned char v;
    nv_read(d, 100, &v, 1);
    ck_assert_uint_eq(v, 7);                  /* reset keeps contents */
    nv_close(d);
}
END_TEST

/* 256 MiB at 1-byte cells: the counters fit (lazily mapped), and work at the end. */
START_TEST(large_device_one_byte_cells)
{
    uint64_t size = (uint64_t)256 << 20;
    nv_device *d = test_sim_open(size, 1, NV_MODEL_LINE, 0, false);
    unsigned char b[16] = {0};
    ck_assert_int_eq(nv_write(d, size - 16, b, 16, NV_DATA), 0);
    ck_assert_int_eq(nv_write(d, 0, b, 16, NV_DATA), 0);
    ck_assert_uint_eq(nv_cell_count(d, size - 1, NV_DATA), 1);
    ck_assert_uint_eq(nv_cell_count(d, 0, NV_DATA), 1);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.cells, size);
    ck_assert_uint_eq(c.total_writes, 32);
    nv_close(d);
}
END_TEST

START_TEST(bad_ranges_refused)
{
    nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, false);
    unsigned char b[64] = {0};
    ck_assert_int_eq(nv_write(d, 4090, b, 7, NV_DATA), NV_ERANGE);
    ck_assert_int_eq(nv_write(d, UINT64_MAX - 2, b, 7, NV_DATA), NV_ERANGE);
    ck_assert_int_eq(nv_read(d, 4096, b, 1), NV_ERANGE);
    ck_assert_int_eq(nv_write(d, 0, b, 8, (nv_tag)17), NV_EINVAL);
    ck_assert_int_eq(nv_write(d, 4096, b, 0, NV_DATA), 0);     /* empty write at end */
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 0);
    ck_assert_int_eq(nv_write(d, 4032, b, 64, NV_DATA), 0);
    ck_assert_ptr_eq((unsigned char *)nv_base(d) + 4032, (unsigned char *)nv_base(d) + nv_offset_of(d, (unsigned char *)nv_base(d) + 4032));
    nv_close(d);
}
END_TEST

/* Reads return what was written and count no wear. */
START_TEST(reads_return_contents_without_wear)
{
    nv_device *d = test_sim_open(8192, 64, NV_MODEL_LINE, 0, false);
    const char msg[] = "persistent";
    nv_write(d, 100, msg, sizeof msg, NV_DATA);
    char out[sizeof msg];
    ck_assert_int_eq(nv_read(d, 100, out, sizeof out), 0);
    ck_assert_str_eq(out, msg);
    ck_assert_str_eq((const char *)nv_base(d) + 100, msg);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 1);
    ck_assert_uint_eq(c.reads, 1);
    ck_assert_uint_eq(c.bytes_read, sizeof msg);
    nv_close(d);
}
END_TEST

/* Injected faults: the n-th store from arming and every later one fail with
 * NV_EIO, store nothing and count nowhere; disarming restores stores. */
START_TEST(fault_injection_fails_stores_from_the_nth)
{
    bool crash_sim = _i;
    nv_device *d = test_sim_open(1 << 16, 64, NV_MODEL_LINE, 0, crash_sim);
    const unsigned char *m = nv_base(d);
    unsigned char b[64];
    memset(b, 0x11, sizeof b);
    ck_assert_int_eq(nv_fault_disarm(d), 0);                      /* unarmed: no-op */
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, 3), 0);
    ck_assert_int_eq(nv_write(d, 0, b, 64, NV_DATA), 0);          /* store 1 */
    ck_assert_int_eq(nv_write(d, 64, b, 0, NV_DATA), 0);          /* len 0: not a store */
    ck_assert_int_eq(nv_write(d, 1 << 16, b, 1, NV_DATA), NV_ERANGE);   /* not counted */
    ck_assert_int_eq(nv_set(d, 64, 0x22, 64, NV_META_BITMAP), 0); /* store 2 */
    nv_counters before, after;
    nv_counters_get(d, &before);
    uint64_t crash_ops = nv_crash_ops_count(d, NV_OP_ALL);
    memset(b, 0x33, sizeof b);
    ck_assert_int_eq(nv_write(d, 0, b, 8, NV_DATA), NV_EIO);      /* store 3: fails */
    ck_assert_int_eq(nv_set(d, 128, 0x44, 1, NV_META_LOG), NV_EIO);   /* and after */
    ck_assert_int_eq(nv_write(d, 4096, b, 64, NV_META_HEADER), NV_EIO);
    ck_assert_uint_eq(m[0], 0x11);
    ck_assert_uint_eq(m[7], 0x11);
    ck_assert_uint_eq(m[128], 0);
    ck_assert_uint_eq(m[4096], 0);
    nv_counters_get(d, &after);
    ck_assert_uint_eq(after.stores, before.stores);
    ck_assert_uint_eq(after.stores, 2);
    ck_assert_uint_eq(after.total_writes, before.total_writes);
    ck_assert_uint_eq(after.data_writes, before.data_writes);
    ck_assert_uint_eq(after.meta_writes, before.meta_writes);
    ck_assert_uint_eq(after.bytes_stored, before.bytes_stored);
    ck_assert_uint_eq(after.cells_touched, before.cells_touched);
    ck_assert(after.time_ns == before.time_ns);
    ck_assert_uint_eq(nv_cell_count(d, 0, -1), 1);
    ck_assert_uint_eq(nv_cell_count(d, 2, -1), 0);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_ALL), crash_ops);
    /* Reads, flushes and fences still work while armed. */
    unsigned char r[8];
    ck_assert_int_eq(nv_read(d, 0, r, sizeof r), 0);
    ck_assert_uint_eq(r[0], 0x11);
    nv_persist(d, 0, 128);
    if (crash_sim) {
        /* The failed stores dirtied nothing: a crash keeps what was persisted. */
        ck_assert_int_eq(nv_crash(d, NULL), 0);
        ck_assert_uint_eq(m[0], 0x11);
        ck_assert_uint_eq(m[64], 0x22);
        ck_assert_uint_eq(m[128], 0);
    }
    /* Still failing until disarmed; then stores land and count again. */
    ck_assert_int_eq(nv_write(d, 0, b, 8, NV_DATA), NV_EIO);
    ck_assert_int_eq(nv_fault_disarm(d), 0);
    ck_assert_int_eq(nv_write(d, 0, b, 8, NV_DATA), 0);
    ck_assert_uint_eq(m[0], 0x33);
    nv_counters_get(d, &after);
    ck_assert_uint_eq(after.stores, before.stores + 1);
    ck_assert_uint_eq(nv_cell_count(d, 0, -1), 2);
    /* Arming again restarts the count: n = 1 fails the very next store. */
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, 1), 0);
    ck_assert_int_eq(nv_set(d, 0, 0x55, 1, NV_DATA), NV_EIO);
    ck_assert_uint_eq(m[0], 0x33);
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, 2), 0);
    ck_assert_int_eq(nv_set(d, 0, 0x55, 1, NV_DATA), 0);
    ck_assert_int_eq(nv_set(d, 0, 0x66, 1, NV_DATA), NV_EIO);
    ck_assert_uint_eq(m[0], 0x55);
    ck_assert_int_eq(nv_fault_disarm(d), 0);
    /* Bad arguments: n = 0, and masks other than NV_OP_STORE (flush and
     * fence cannot fail). */
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, 0), NV_EINVAL);
    ck_assert_int_eq(nv_fault_arm(d, 0, 1), NV_EINVAL);
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_FLUSH, 1), NV_EINVAL);
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_ALL, 1), NV_EINVAL);
    ck_assert_int_eq(nv_set(d, 0, 0x77, 1, NV_DATA), 0);          /* refused arms arm nothing */
    nv_close(d);
    /* Other backends do not inject. */
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.kind = NV_KIND_DRAM;
    cfg.size = 4096;
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, 1), NV_ENOTSUP);
    ck_assert_int_eq(nv_fault_disarm(d), NV_ENOTSUP);
    ck_assert_int_eq(nv_write(d, 0, b, 8, NV_DATA), 0);
    nv_close(d);
}
END_TEST

/* Threads storing at once: exactly n - 1 stores after arming succeed. */
enum { FAULT_THREADS = 4, FAULT_STORES = 2000 };

typedef struct fault_worker {
    nv_device *d;
    int id, ok, eio;
} fault_worker;

static void *fault_main(void *arg)
{
    fault_worker *w = arg;
    unsigned char v = (unsigned char)(w->id + 1);
    for (int i = 0; i < FAULT_STORES; i++) {
        int rc = nv_write(w->d, (uint64_t)w->id * 64 + (uint64_t)(i % 64), &v, 1, NV_DATA);
        w->ok += rc == 0;
        w->eio += rc == NV_EIO;
    }
    return NULL;
}

START_TEST(fault_injection_counts_across_threads)
{
    nv_device *d = test_sim_open(1 << 16, 64, NV_MODEL_LINE, 0, _i);
    uint64_t n = FAULT_THREADS * FAULT_STORES / 2 + 7;
    ck_assert_int_eq(nv_fault_arm(d, NV_OP_STORE, n), 0);
    pthread_t th[FAULT_THREADS];
    fault_worker w[FAULT_THREADS];
    for (int i = 0; i < FAULT_THREADS; i++) {
        w[i] = (fault_worker){.d = d, .id = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, fault_main, &w[i]), 0);
    }
    int ok = 0, eio = 0;
    for (int i = 0; i < FAULT_THREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        eio += w[i].eio;
    }
    ck_assert_int_eq(ok, (int)n - 1);
    ck_assert_int_eq(ok + eio, FAULT_THREADS * FAULT_STORES);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.stores, n - 1);
    ck_assert_uint_eq(c.total_writes, n - 1);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_counting");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, write_inside_one_cell, 0, NCELLSIZES);
    tcase_add_loop_test(tc, write_across_cells, 0, NCELLSIZES);
    tcase_add_test(tc, per_source_and_kind);
    tcase_add_test(tc, links_counted_apart);
    tcase_add_test(tc, dcw_counts_changed_cells_and_bits);
    tcase_add_test(tc, media_line_amplification);
    tcase_add_test(tc, counters_do_not_wrap);
    tcase_add_test(tc, large_device_one_byte_cells);
    tcase_add_test(tc, bad_ranges_refused);
    tcase_add_test(tc, reads_return_contents_without_wear);
    tcase_add_loop_test(tc, fault_injection_fails_stores_from_the_nth, 0, 2);
    tcase_add_loop_test(tc, fault_injection_counts_across_threads, 0, 2);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
