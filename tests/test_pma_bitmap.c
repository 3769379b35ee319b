/* test_pma_bitmap.c - the allocator's bitmap primitives (allocator/bitmap.c):
 * ranges across word boundaries, next zero/one, aligned run search against a
 * brute-force model, and the interleaved layout's mapping being a bijection
 * that spreads consecutive bits over different lines. */
#include "testutil.h"
#include "../allocator/bitmap.h"
#include "../allocator/runindex.h"

#include <string.h>

START_TEST(set_clear_count_across_words)
{
    uint64_t w[8] = {0};
    pma_bm_set_range(w, 60, 70);          /* bits 60..129 */
    ck_assert_uint_eq(pma_bm_count_ones(w, 0, 512), 70);
    ck_assert(!pma_bm_get(w, 59));
    ck_assert(pma_bm_get(w, 60));
    ck_assert(pma_bm_get(w, 129));
    ck_assert(!pma_bm_get(w, 130));
    ck_assert_uint_eq(pma_bm_next_one(w, 0, 512), 60);
    ck_assert_uint_eq(pma_bm_next_zero(w, 60, 512), 130);
    ck_assert_uint_eq(pma_bm_next_one(w, 130, 512), 512);
    ck_assert_uint_eq(pma_bm_next_zero(w, 70, 100), 100);     /* none: returns `to` */
    pma_bm_clear_range(w, 64, 64);        /* all of word 1 */
    ck_assert_uint_eq(w[1], 0);
    ck_assert_uint_eq(pma_bm_count_ones(w, 0, 512), 6);
    pma_bm_set_range(w, 0, 512);
    ck_assert_uint_eq(pma_bm_count_ones(w, 3, 509), 506);
}
END_TEST

/* find_run agrees with brute force on random bitmaps, strides and lengths. */
START_TEST(find_run_matches_brute_force)
{
    uint64_t seed = 12345;
    for (int trial = 0; trial < 3000; trial++) {
        uint64_t w[4];
        for (int i = 0; i < 4; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            w[i] = seed & (seed >> 17) & (seed >> 29);       /* sparse ones */
        }
        uint32_t stride = 1u << (trial % 5), n = 1 + (uint32_t)(trial % 37);
        uint32_t from = (uint32_t)(trial * 7) % 200, to = 256 - (uint32_t)(trial % 11);
        uint32_t want = PMA_BM_NONE;
        for (uint32_t s = (from + stride - 1) / stride * stride; s + n <= to; s += stride) {
            uint32_t k = 0;
            while (k < n && !pma_bm_get(w, s + k))
                k++;
            if (k == n) {
                want = s;
                break;
            }
        }
        ck_assert_uint_eq(pma_bm_find_run(w, n, stride, from, to), want);
    }
}
END_TEST

/* The chunk-indexed search gives find_run's answer while the bitmap churns
 * (allocations unmarked, frees marked, as the arena does), over a bitmap
 * whose length is not a whole number of chunks. */
START_TEST(run_index_matches_plain_search)
{
    enum { WORDS = 64 * 9 + 23, BITS = WORDS * 64 };
    static uint64_t w[WORDS];
    memset(w, 0, sizeof w);
    pma_run_index ri;
    ck_assert_int_eq(pma_ri_init(&ri, WORDS), 0);
    uint64_t seed = 4242;
    uint32_t queries = 0, found = 0, beyond = 0;
    for (int op = 0; op < 40000; op++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t r = (uint32_t)(seed >> 33);
        uint32_t at = r % BITS, len = 1 + (r >> 7) % 1500;
        if (at + len > BITS)
            len = BITS - at;
        if (op % 3 != 2) {
            pma_bm_set_range(w, at, len);           /* an allocation: not marked */
        } else {
            pma_bm_clear_range(w, at, len);
            pma_ri_mark(&ri, at, len);
        }
        uint32_t stride = 1u << (r % 5), n = 1 + (uint32_t)((seed >> 12) % 4096);
        uint32_t from = (uint32_t)((seed >> 20) % BITS), to = BITS - (uint32_t)((seed >> 40) % 5000);
        uint32_t want = pma_bm_find_run(w, n, stride, from, to);
        uint32_t got = pma_ri_find_run(&ri, w, n, stride, from, to);
        TEST_REQUIRE(got == want, "op %d: n %u stride %u [%u, %u): %u, want %u", op, n, stride, from, to, got, want);
        queries++;
        found += want != PMA_BM_NONE;
        beyond += want != PMA_BM_NONE && want / PMA_RI_CHUNK_BITS > from / PMA_RI_CHUNK_BITS;
    }
    /* One hole of exactly n in a full bitmap: inside a chunk, across a chunk
     * boundary, and at the very end. */
    static const uint32_t holes[][2] = {{1, 5000}, {4096, 8192}, {4000, 3 * 4096 - 2000}, {77, WORDS * 64 - 77},
                                        {4096, 4096 * 5 + 1}, {1, 4096 * 9 - 1}, {2, 4096 * 9 - 1}};
    for (size_t i = 0; i < sizeof holes / sizeof holes[0]; i++) {
        uint32_t n = holes[i][0], p = holes[i][1];
        memset(w, 0xff, sizeof w);
        pma_ri_mark_all(&ri);
        ck_assert_uint_eq(pma_ri_find_run(&ri, w, 1, 1, 0, BITS), PMA_BM_NONE);
        pma_bm_clear_range(w, p, n);
        pma_ri_mark(&ri, p, n);
        ck_assert_uint_eq(pma_ri_find_run(&ri, w, n, 1, 0, BITS), p);
        ck_assert_uint_eq(pma_ri_find_run(&ri, w, n + 1, 1, 0, BITS), PMA_BM_NONE);
    }
    pma_ri_free(&ri);
    ck_assert_uint_gt(found, queries / 10);         /* both outcomes were exercised... */
    ck_assert_uint_lt(found, queries);
    ck_assert_uint_gt(beyond, 100);                 /* ... and the chunk counts were used */
}
END_TEST

/* next_boundary = min(next start bit, next free unit), against brute force. */
START_TEST(next_boundary_matches_brute_force)
{
    uint64_t seed = 777;
    for (int trial = 0; trial < 3000; trial++) {
        uint64_t st[4], al[4];
        for (int i = 0; i < 4; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            al[i] = ~(seed & (seed >> 13) & (seed >> 27));           /* mostly allocated */
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            st[i] = seed & (seed >> 7) & (seed >> 19) & (seed >> 31); /* sparse starts */
        }
        uint32_t from = (uint32_t)(trial * 13) % 250, to = 256 - (uint32_t)(trial % 7);
        uint32_t want = to;
        for (uint32_t i = from; i < to; i++)
            if (pma_bm_get(st, i) || !pma_bm_get(al, i)) {
                want = i;
                break;
            }
        TEST_REQUIRE(pma_bm_next_boundary(st, al, from, to) == want, "trial %d: got %u want %u", trial,
                     pma_bm_next_boundary(st, al, from, to), want);
    }
}
END_TEST

START_TEST(interleave_is_a_spreading_bijection)
{
    enum { S = 8, BITS = 512 * S * 3 };
    static unsigned char seen[BITS];
    memset(seen, 0, sizeof seen);
    for (uint32_t i = 0; i < BITS; i++) {
        uint32_t p = pma_bm_interleave(i, S);
        ck_assert_uint_lt(p, BITS);
        ck_assert_uint_eq(seen[p], 0);
        seen[p] = 1;
        if (i % (512 * S) != 0)               /* neighbours sit in different lines */
            ck_assert_uint_ne(p / 512, pma_bm_interleave(i - 1, S) / 512);
    }
    for (uint32_t i = 0; i < 1000; i++)       /* stripe 1 is the identity */
        ck_assert_uint_eq(pma_bm_interleave(i, 1), i);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pma_bitmap");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, set_clear_count_across_words);
    tcase_add_test(tc, find_run_matches_brute_force);
    tcase_add_test(tc, run_index_matches_plain_search);
    tcase_add_test(tc, interleave_is_a_spreading_bijection);
    tcase_add_test(tc, next_boundary_matches_brute_force);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
