/* test_pma_wear_e2e.c - wear-aware for every size, and the replay's realloc
 * as pma_realloc, through the real binary: one 7,160-byte object allocated
 * and freed 10^4 times on a 64 MiB sim device wears its hottest data cell
 * under wear-aware at most 1/100 as often as under first-fit (summary.json
 * wear_data.max); a trace of reallocs that fit their block copies nothing
 * under first-fit (in place) and copies the old bytes under wear-aware
 * (a worn block moves): heap.data_bytes_written says which. */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/pmarena-lwear-XXXXXX";
#include "e2eutil.h"

static double num(json_t *root, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(root, a), b);
    ck_assert_msg(json_is_number(v), "%s.%s is not a number", a, b);
    return json_number_value(v);
}

/* Runs cfg (a file in dir) with one --set; returns summary.json's a.b. */
static double run_value(const char *cfg, const char *set, const char *out, const char *a, const char *b)
{
    char args[1600];
    snprintf(args, sizeof args, "run %s -o %s --set %s --quiet", path_in(cfg), path_in(out), set);
    ck_assert_int_eq(pmarena(args), 0);
    char sum[700];
    snprintf(sum, sizeof sum, "%s/%s/summary.json", dir, out);
    json_t *s = json_load_file(sum, 0, NULL);
    ck_assert_ptr_nonnull(s);
    double v = num(s, a, b);
    json_decref(s);
    return v;
}

static void config_for(const char *name, const char *trace)
{
    char text[1200];
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"device\": {\"kind\": \"sim\", \"size\": \"64MiB\"},\n"
             " \"trace\": {\"file\": \"%s\"}}\n", name, path_in(trace));
    char file[200];
    snprintf(file, sizeof file, "%s.json", name);
    put(file, text);
}

enum { ROUNDS = 10000, BIG = 7160 };

START_TEST(large_loop_wear_aware_vs_first_fit)
{
    FILE *f = fopen(path_in("big.jsonl"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\n");
    for (int i = 0; i < ROUNDS; i++)
        fprintf(f, "{\"op\":\"alloc\",\"id\":1,\"size\":%d}\n{\"op\":\"free\",\"id\":1}\n", BIG);
    fclose(f);
    config_for("big", "big.jsonl");
    double ff = run_value("big.json", "allocator.policy=first-fit", "ff", "wear_data", "max");
    double wa = run_value("big.json", "allocator.policy=wear-aware", "wa", "wear_data", "max");
    ck_assert_double_ge(ff, ROUNDS);                 /* the same cells every round */
    ck_assert_msg(wa * 100 <= ff, "wear-aware %.0f vs first-fit %.0f", wa, ff);
}
END_TEST

enum { REALLOCS = 500, OLD = 100, NEW = 104 };   /* 104 fits the 112 bytes 100 took */

START_TEST(replay_realloc_in_place_copies_nothing)
{
    FILE *f = fopen(path_in("re.jsonl"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\n");
    for (int i = 0; i < REALLOCS; i++)
        fprintf(f, "{\"op\":\"alloc\",\"id\":1,\"size\":%d}\n"
                   "{\"op\":\"realloc\",\"id\":1,\"new_id\":2,\"size\":%d}\n{\"op\":\"free\",\"id\":2}\n", OLD, NEW);
    fclose(f);
    config_for("re", "re.jsonl");
    /* on_alloc full: the object once, then the realloc's new tail */
    double written = (double)REALLOCS * NEW;
    double ff = run_value("re.json", "allocator.policy=first-fit", "re_ff", "heap", "data_bytes_written");
    ck_assert_double_eq(ff, written);
    /* wear-aware: the block had its allocation at the ceiling: it moves,
     * copying the old object's bytes */
    double wa = run_value("re.json", "allocator.policy=wear-aware", "re_wa", "heap", "data_bytes_written");
    ck_assert_double_eq(wa, written + (double)REALLOCS * OLD);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("pma_wear_e2e");
    TCase *tc = tcase_create("lwear");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, large_loop_wear_aware_vs_first_fit);
    tcase_add_test(tc, replay_realloc_in_place_copies_nothing);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? rc : 1;
}
