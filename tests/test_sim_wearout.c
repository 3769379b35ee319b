/* test_sim_wearout.c - cells that wear out and Start-Gap leveling in the sim
 * device: a cell fails exactly past its endurance and keeps its bytes, the
 * callback names the line and cell, normal endurance is seeded, Start-Gap
 * moves the gap every psi line writes and spreads one hot logical line over
 * physical lines, the Feistel map is a permutation, and (printed) the
 * lifetime to first failure of a skewed stream against the ideal. */
#include "testutil.h"

#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

static nv_device *open_dev(uint64_t size, nv_endurance_kind ek, double mean, double sd,
                           nv_leveling_kind lk, uint32_t psi, bool randomize)
{
    nv_config c;
    nv_config_defaults(&c);
    c.size = size;
    c.endurance.kind = ek;
    c.endurance.mean = mean;
    c.endurance.stddev = sd;
    c.leveling.kind = lk;
    c.leveling.psi = psi;
    c.leveling.randomize = randomize;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &c), 0);
    return d;
}

typedef struct seen { uint64_t n, off, cell; } seen;
static void on_fail(void *ctx, uint64_t off, uint64_t cell)
{
    seen *s = ctx;
    s->n++;
    s->off = off;
    s->cell = cell;
}

START_TEST(cell_fails_past_endurance_and_keeps_bytes)
{
    const uint64_t E = 7;
    nv_device *d = open_dev(1 << 16, NV_ENDURANCE_FIXED, (double)E, 0, NV_LEVELING_NONE, 100, false);
    seen s = {0};
    ck_assert_int_eq(nv_on_failure(d, on_fail, &s), 0);
    unsigned char b[128], got[128];
    uint64_t off = 64 * 10;
    for (uint64_t i = 1; i <= E; i++) {
        memset(b, (int)i, sizeof b);
        ck_assert_int_eq(nv_write(d, off, b, 64, NV_DATA), 0);
    }
    ck_assert_uint_eq(s.n, 0);
    nv_event_stamp(d, 42);
    memset(b, 0xEE, sizeof b);
    /* cell 10 fails on its 8th write; cell 11 (first write) takes its bytes */
    ck_assert_int_eq(nv_write(d, off, b, 128, NV_DATA), NV_EWORN);
    memcpy(got, (unsigned char *)nv_base(d) + off, 128);
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(got[i], E);
    for (int i = 64; i < 128; i++)
        ck_assert_uint_eq(got[i], 0xEE);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_uint_eq(s.off, off);
    ck_assert_uint_eq(s.cell, 10);
    nv_wearout w;
    ck_assert_int_eq(nv_wearout_get(d, &w), 0);
    ck_assert(w.any);
    ck_assert_uint_eq(w.failed_cells, 1);
    ck_assert_uint_eq(w.first.event, 42);
    ck_assert_uint_eq(w.first.cell, 10);
    ck_assert(w.first.sim_ns > 0);
    /* a failed cell fails again: reported, counted, bytes unchanged */
    ck_assert_int_eq(nv_set(d, off + 3, 0x11, 1, NV_META_BITMAP), NV_EWORN);
    ck_assert_uint_eq(((unsigned char *)nv_base(d))[off + 3], E);
    ck_assert_uint_eq(s.n, 2);
    nv_wearout_get(d, &w);
    ck_assert_uint_eq(w.failed_cells, 1);
    ck_assert_uint_eq(w.failed_writes, 2);
    nv_failure f[4];
    uint64_t n;
    ck_assert_int_eq(nv_failures_get(d, 0, f, 4, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(f[0].line_off, off);
    nv_close(d);
}
END_TEST

START_TEST(normal_endurance_is_seeded)
{
    nv_device *a = open_dev(1 << 16, NV_ENDURANCE_NORMAL, 1000, 100, NV_LEVELING_NONE, 100, false);
    nv_device *b = open_dev(1 << 16, NV_ENDURANCE_NORMAL, 1000, 100, NV_LEVELING_NONE, 100, false);
    nv_config c;
    nv_config_defaults(&c);
    c.size = 1 << 16;
    c.endurance = (nv_endurance){.kind = NV_ENDURANCE_NORMAL, .mean = 1000, .cov = 0.1, .seed = 2};
    nv_device *other;
    ck_assert_int_eq(nv_open(&other, &c), 0);
    int differ = 0, spread = 0;
    for (uint64_t i = 0; i < 1024; i++) {
        ck_assert_uint_eq(nv_cell_endurance(a, i), nv_cell_endurance(b, i));
        differ += nv_cell_endurance(a, i) != nv_cell_endurance(other, i);
        spread += nv_cell_endurance(a, i) != nv_cell_endurance(a, 0);
    }
    ck_assert_int_gt(differ, 900);
    ck_assert_int_gt(spread, 900);
    /* the weakest cell fails exactly past its own endurance */
    uint64_t e = nv_cell_endurance(a, 3);
    unsigned char x = 1;
    for (uint64_t i = 0; i < e; i++)
        ck_assert_int_eq(nv_write(a, 3 * 64, &x, 1, NV_DATA), 0);
    ck_assert_int_eq(nv_write(a, 3 * 64, &x, 1, NV_DATA), NV_EWORN);
    nv_close(a);
    nv_close(b);
    nv_close(other);
}
END_TEST

START_TEST(start_gap_moves_every_psi)
{
    const uint32_t psi = 5;
    nv_device *d = open_dev(64 * 16, NV_ENDURANCE_NONE, 1, 0, NV_LEVELING_START_GAP, psi, false);
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.cells, 17);      /* N + 1 physical lines */
    unsigned char b[64] = {0};
    for (int k = 1; k <= 40; k++) {
        for (uint32_t i = 0; i < psi; i++)
            ck_assert_int_eq(nv_write(d, 0, b, 64, NV_DATA), 0);
        nv_wearout w;
        nv_wearout_get(d, &w);
        ck_assert_uint_eq(w.gap_moves, (uint64_t)k);
    }
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.leveling_writes, 40);
    ck_assert_uint_eq(c.data_writes, 40 * psi);
    /* one logical line's writes spread over physical lines */
    uint64_t counts[17];
    nv_cells_export(d, 0, 0, 17, counts);
    int used = 0;
    for (int i = 0; i < 17; i++)
        used += counts[i] > 0;
    ck_assert_int_ge(used, 3);
    nv_cells_export(d, 4, 0, 17, counts);
    uint64_t lev = 0;
    for (int i = 0; i < 17; i++)
        lev += counts[i];
    ck_assert_uint_eq(lev, 40);
    nv_close(d);
}
END_TEST

START_TEST(mapping_is_a_permutation)
{
    for (int r = 0; r < 2; r++) {
        const uint64_t N = 1000;   /* not a power of two: cycle walking */
        nv_device *d = open_dev(64 * N, NV_ENDURANCE_NONE, 1, 0, NV_LEVELING_START_GAP, 1, r);
        unsigned char hit[1001];
        unsigned char b = 0;
        int moved = 0;
        for (int round = 0; round < 3; round++) {
            memset(hit, 0, sizeof hit);
            for (uint64_t l = 0; l < N; l++) {
                uint64_t p = nv_level_map(d, l);
                ck_assert_uint_le(p, N);
                ck_assert_uint_eq(hit[p], 0);
                hit[p] = 1;
                moved += r && p != l;
            }
            for (int i = 0; i < 700; i++)
                nv_write(d, 0, &b, 1, NV_DATA);
        }
        if (r)
            ck_assert_int_gt(moved, (int)N);
        nv_close(d);
    }
}
END_TEST

/* Writes until the first failure of a stream with 90% of its writes to 1% of
 * the lines; returns the writes that took, to set against the ideal
 * (every line worn evenly: lines * endurance). */
static double skewed_lifetime(nv_leveling_kind lk, bool randomize, uint64_t lines, double E, uint32_t psi)
{
    nv_device *d = open_dev(64 * lines, NV_ENDURANCE_FIXED, E, 0, lk, psi, randomize);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    uint64_t hot = lines / 100, n = 0;
    unsigned char b = 1;
    for (;;) {
        uint64_t l = gsl_rng_uniform(r) < 0.9 ? gsl_rng_uniform_int(r, hot)
                                                : hot + gsl_rng_uniform_int(r, lines - hot);
        n++;
        if (nv_write(d, l * 64, &b, 1, NV_DATA) == NV_EWORN)
            break;
        nv_wearout w;
        if ((n & 1023) == 0 && (nv_wearout_get(d, &w), w.any))
            break;   /* a gap move failed a cell */
    }
    gsl_rng_free(r);
    nv_close(d);
    return (double)n / ((double)lines * E);
}

START_TEST(skewed_stream_lifetime)
{
    /* Start-Gap needs the endurance to outlast many rotations of the gap
     * (a rotation is lines * psi writes), as on a real device: small sizes
     * keep the run short. */
    const uint64_t lines = 256;
    const double E = getenv("WEAROUT_E") ? atof(getenv("WEAROUT_E")) : 50000;
    const uint32_t psi = getenv("WEAROUT_PSI") ? (uint32_t)atoi(getenv("WEAROUT_PSI")) : 10;
    double none = skewed_lifetime(NV_LEVELING_NONE, false, lines, E, psi);
    double sg = skewed_lifetime(NV_LEVELING_START_GAP, false, lines, E, psi);
    double sgr = skewed_lifetime(NV_LEVELING_START_GAP, true, lines, E, psi);
    printf("skewed stream (90%% of writes to 1%% of %llu lines, endurance %g, psi %u): "
           "lifetime to first failure vs ideal: none %.1f%%, start-gap %.1f%%, start-gap+randomize %.1f%%\n",
           (unsigned long long)lines, E, psi, 100 * none, 100 * sg, 100 * sgr);
    ck_assert(sgr > none);
}
END_TEST

/* Region-based Start-Gap: each region of R lines has its own gap and spare
 * line; only the written region's gap moves, a mapping is still a
 * permutation of the device's physical lines, and a line hammered alone
 * spreads its writes over its region's R + 1 lines, so it outlives a
 * one-region device's hammered line (whose gap must cross N lines). */
static uint64_t hammer_to_failure(uint64_t lines, uint64_t region_lines, uint64_t *regions)
{
    nv_config c;
    nv_config_defaults(&c);
    c.size = 64 * lines;
    c.endurance.kind = NV_ENDURANCE_FIXED;
    c.endurance.mean = 1000;
    c.leveling.kind = NV_LEVELING_START_GAP;
    c.leveling.psi = 4;
    c.leveling.region_lines = region_lines;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &c), 0);
    nv_counters k;
    nv_counters_get(d, &k);
    uint64_t R = region_lines ? region_lines : lines;
    ck_assert_uint_eq(k.cells, lines + lines / R);       /* a spare line per region */
    unsigned char b = 1;
    uint64_t n = 0;
    while (nv_write(d, 5 * 64, &b, 1, NV_DATA) != NV_EWORN && n < 100000000)
        n++;
    nv_wearout w;
    nv_wearout_get(d, &w);
    *regions = w.regions;
    /* every logical line still on its own physical line */
    unsigned char *hit = calloc(lines + lines / R, 1);
    for (uint64_t l = 0; l < lines; l++) {
        uint64_t p = nv_level_map(d, l);
        ck_assert_uint_lt(p, lines + lines / R);
        ck_assert_uint_eq(hit[p], 0);
        hit[p] = 1;
    }
    free(hit);
    nv_close(d);
    return n;
}

START_TEST(start_gap_regions)
{
    uint64_t regions;
    uint64_t one = hammer_to_failure(4096, 0, &regions);
    ck_assert_uint_eq(regions, 1);
    uint64_t many = hammer_to_failure(4096, 16, &regions);
    ck_assert_uint_eq(regions, 256);
    printf("one line hammered, endurance 1000, psi 4, 4096 lines: %llu writes to its failure with one "
           "region, %llu with regions of 16 lines\n", (unsigned long long)one, (unsigned long long)many);
    ck_assert_uint_gt(many, 10 * one);
}
END_TEST

/* A physical line that fails stops its region's gap (sim_wearout.c,
 * freeze_region). Before, every gap move of the region went on carrying
 * logical lines onto the failed one, and each was reported failed in turn:
 * one failed cell cost up to a region of lines. Now the other lines of the
 * region never meet it, only the failed logical line's own stores are
 * NV_EWORN (a store is refused for its own cells only), and the region's gap
 * moves no more while other regions' gaps go on. */
START_TEST(failed_line_freezes_its_region)
{
    nv_config c;
    nv_config_defaults(&c);
    c.size = 64 * 64;
    c.endurance.kind = NV_ENDURANCE_FIXED;
    c.endurance.mean = 50;
    c.leveling.kind = NV_LEVELING_START_GAP;
    c.leveling.psi = 10;
    c.leveling.region_lines = 16;              /* lines 0..15 are region 0 (no randomizing) */
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &c), 0);
    seen sn = {0};
    ck_assert_int_eq(nv_on_failure(d, on_fail, &sn), 0);
    unsigned char b = 1;
    int n = 0;
    while (nv_write(d, 0, &b, 1, NV_DATA) != NV_EWORN && n < 100000)
        n++;
    nv_wearout w;
    nv_wearout_get(d, &w);
    ck_assert_uint_eq(w.failed_cells, 1);
    ck_assert_uint_eq(w.frozen_regions, 1);
    ck_assert_uint_eq(sn.n, 1);
    ck_assert_uint_eq(sn.off, 0);
    uint64_t moves = w.gap_moves, failed_p = nv_level_map(d, 0);
    ck_assert_uint_gt(moves, 0);
    /* 600 writes over lines 1..15: 4 turns of the gap had it kept moving */
    for (int i = 0; i < 600; i++) {
        uint64_t l = 1 + (uint64_t)i % 15;
        ck_assert_msg(nv_write(d, l * 64, &b, 1, NV_DATA) == 0, "write %d to line %llu refused", i,
                      (unsigned long long)l);
        ck_assert_uint_ne(nv_level_map(d, l), failed_p);
    }
    ck_assert_uint_eq(sn.n, 1);                   /* no other line reported */
    ck_assert_int_eq(nv_write(d, 0, &b, 1, NV_DATA), NV_EWORN);    /* still the failed line's own */
    nv_wearout_get(d, &w);
    ck_assert_uint_eq(w.failed_cells, 1);
    ck_assert_uint_eq(w.gap_moves, moves);
    for (int i = 0; i < 100; i++)                 /* region 1 still levels */
        ck_assert_int_eq(nv_write(d, (16 + (uint64_t)i % 16) * 64, &b, 1, NV_DATA), 0);
    nv_wearout_get(d, &w);
    ck_assert_uint_eq(w.gap_moves, moves + 10);
    ck_assert_uint_eq(w.frozen_regions, 1);
    nv_close(d);
}
END_TEST

/* Line sparing: a line whose cell fails moves onto a spare line, silently
 * (the store lands, no callback), until the spares run out; then the
 * failure is reported for the logical line, as without spares. */
START_TEST(spare_lines_take_failed_lines)
{
    nv_config c;
    nv_config_defaults(&c);
    c.size = 64 * 16;
    c.endurance.kind = NV_ENDURANCE_FIXED;
    c.endurance.mean = 10;
    c.spare_lines = 2;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &c), 0);
    nv_counters k;
    nv_counters_get(d, &k);
    ck_assert_uint_eq(k.cells, 18);
    seen sn = {0};
    ck_assert_int_eq(nv_on_failure(d, on_fail, &sn), 0);
    unsigned char b = 1;
    int n = 1;
    while (nv_write(d, 3 * 64, &b, 1, NV_DATA) == 0)
        n++;
    /* 11 writes on the line (the 11th passes its endurance: a spare takes
     * it), 11 on the first spare, the 33rd finds no spare left */
    ck_assert_int_eq(n, 33);
    ck_assert_uint_eq(sn.n, 1);
    ck_assert_uint_eq(sn.off, 3 * 64);
    ck_assert_uint_eq(nv_level_map(d, 3), 17);
    nv_wearout w;
    nv_wearout_get(d, &w);
    ck_assert_uint_eq(w.spares, 2);
    ck_assert_uint_eq(w.spared, 2);
    ck_assert_uint_eq(w.failed_cells, 1);
    uint64_t counts[18];
    nv_cells_export(d, 0, 0, 18, counts);
    ck_assert_uint_eq(counts[3], 11);
    ck_assert_uint_eq(counts[16], 11);
    ck_assert_uint_eq(counts[17], 11);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_wearout");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cell_fails_past_endurance_and_keeps_bytes);
    tcase_add_test(tc, normal_endurance_is_seeded);
    tcase_add_test(tc, start_gap_moves_every_psi);
    tcase_add_test(tc, mapping_is_a_permutation);
    tcase_add_test(tc, skewed_stream_lifetime);
    tcase_add_test(tc, start_gap_regions);
    tcase_add_test(tc, failed_line_freezes_its_region);
    tcase_add_test(tc, spare_lines_take_failed_lines);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
