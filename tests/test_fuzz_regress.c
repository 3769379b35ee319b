/* test_fuzz_regress.c - every fuzz finding, replayed: each file under
 * tests/fuzz/regress/HARNESS/ (the input that crashed or broke an invariant)
 * and each seed of tests/fuzz/corpus/HARNESS/ goes through the same body the
 * libFuzzer harness runs (tests/fuzz/fz_targets.c); a crash or an abort fails
 * the test. The generated heap-image seeds of every protocol and placement
 * must open (so the image harness starts from heaps, not from refusals).
 * PMARENA_FUZZ_DIR overrides where tests/fuzz is (the repository root's). */
#include "testutil.h"
#include "fuzz/fz_targets.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef int (*fz_fn)(const uint8_t *, size_t);

static const struct { const char *name; fz_fn fn; } harnesses[] = {
    {"config", fz_config_one},         {"trace_jsonl", fz_trace_jsonl_one},
    {"trace_pmt", fz_trace_pmt_one},   {"heap_image", fz_heap_image_one},
    {"api", fz_api_one},
};
#define NHARNESS (int)(sizeof harnesses / sizeof harnesses[0])

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Runs every file of tests/fuzz/KIND/NAME through fn; the count. A missing
 * folder is an error unless `optional` (a generated corpus: git keeps no
 * empty folder, and a clean clone has none). */
static int replay_dir(const char *kind, int i, bool optional)
{
    const char *root = getenv("PMARENA_FUZZ_DIR") ? getenv("PMARENA_FUZZ_DIR") : "tests/fuzz";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s/%s", root, kind, harnesses[i].name);
    DIR *d = opendir(dir);
    if (!d && optional)
        return 0;
    ck_assert_msg(d != NULL, "no folder %s (run from the repository root)", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *data = slurp(path, &len);
        fprintf(stderr, "replay %s\n", path);
        harnesses[i].fn(data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

START_TEST(regress_findings)
{
    replay_dir("regress", _i, true);     /* a harness without findings has no folder */
}
END_TEST

START_TEST(seed_corpus)
{
    /* heap_image's seeds are generated (below); every other harness has some. */
    bool generated = strcmp(harnesses[_i].name, "heap_image") == 0;
    int n = replay_dir("corpus", _i, generated);
    if (!generated)
        ck_assert_msg(n > 0, "no seeds for %s", harnesses[_i].name);
}
END_TEST

/* Every protocol x placement x clean/crash seed opens and passes pma_check;
 * the same image with its heap header's magic broken does not open. */
START_TEST(heap_seeds_open)
{
    int p = _i / 4, m = _i / 2 % 2, clean = _i % 2;
    size_t len = 0;
    uint8_t *img = fz_heap_seed(p, m, clean, &len);
    ck_assert_ptr_nonnull(img);
    ck_assert_int_eq(fz_heap_image_rc(img, len), 0);
    img[1] ^= 0xff;
    ck_assert_int_eq(fz_heap_image_rc(img, len), PMA_ENOHEAP);
    free(img);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fuzz_regress");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, regress_findings, 0, NHARNESS);
    tcase_add_loop_test(tc, seed_corpus, 0, NHARNESS);
    tcase_add_loop_test(tc, heap_seeds_open, 0, 12);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
