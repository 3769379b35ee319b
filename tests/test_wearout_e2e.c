/* test_wearout_e2e.c - device wear-out and Start-Gap end to end with the real
 * binary: configs/default.json runs with device.leveling start-gap and none;
 * start-gap's gap moves show as the `leveling` source (wear.leveling_writes,
 * wear_leveling, kinds.csv's leveling row, the printed table) over physical
 * cells, none leaves every wear figure as a run without the key; a small
 * fixed endurance fails cells (summary.json's failures block, first failure
 * stamped) and the lifetime projection follows device.endurance; both
 * endurances given and different, or a bad leveling, exit 2 naming the keys. */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-wearout-XXXXXX";
#include "e2eutil.h"

static const char cfg[] =
    "{\"device\": {\"kind\": \"sim\", \"size\": \"8MiB\", \"cell_size\": 64},\n"
    " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 5, \"events\": 20000, \"live\": 500}}}\n";

static json_t *run(const char *name, const char *extra)
{
    char args[1600], sum[128];
    put("c.json", cfg);
    snprintf(args, sizeof args, "run %s -o %s %s", path_in("c.json"), path_in(name), extra);
    ck_assert_int_eq(pmarena_to(args, "stdout"), 0);
    snprintf(sum, sizeof sum, "%s/summary.json", name);
    json_error_t je;
    json_t *s = json_load_file(path_in(sum), 0, &je);
    ck_assert_ptr_nonnull(s);
    return s;
}

static uint64_t u(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(o, a), b);
    ck_assert_msg(json_is_integer(v), "%s.%s is not an integer", a, b);
    return (uint64_t)json_integer_value(v);
}

START_TEST(start_gap_counts_leveling_source)
{
    json_t *none = run("none", "--set device.leveling=none");
    json_t *plain = run("plain", "");
    json_t *sg = run("sg", "--set 'device.leveling={\"kind\":\"start-gap\",\"psi\":10}'");
    /* none: every wear block as without the key */
    static const char *const blocks[] = {"wear", "wear_data", "wear_meta", "wear_links"};
    for (int i = 0; i < 4; i++)
        ck_assert(json_equal(json_object_get(none, blocks[i]), json_object_get(plain, blocks[i])));
    ck_assert_uint_eq(u(none, "wear", "leveling_writes"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(none, "device"), "cells_are")), "logical");
    /* start-gap: one gap move (a line of 1 cell) per psi line writes */
    uint64_t lev = u(sg, "wear", "leveling_writes"), moves = u(sg, "failures", "gap_moves");
    ck_assert_uint_gt(lev, 0);
    ck_assert_uint_ge(moves, lev);
    ck_assert_uint_eq(u(sg, "wear", "total_writes"), u(none, "wear", "total_writes") + lev);
    ck_assert_uint_eq(u(sg, "wear_leveling", "total_writes"), lev);
    ck_assert_uint_eq(u(sg, "device", "cells"), u(none, "device", "cells") + 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(sg, "device"), "cells_are")), "physical");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(sg, "device"), "leveling"),
                                                       "kind")), "start-gap");
    FILE *f = fopen(path_in("sg/kinds.csv"), "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    bool row = false;
    while (fgets(line, sizeof line, f))
        row |= strncmp(line, "leveling,", 9) == 0 && strtoull(line + 9, NULL, 10) == lev;
    fclose(f);
    ck_assert(row);
    json_decref(none);
    json_decref(plain);
    json_decref(sg);
}
END_TEST

START_TEST(default_config_runs_both_ways)
{
    char args[600];
    snprintf(args, sizeof args, "run configs/default.json -o %s --set device.leveling=start-gap", path_in("d"));
    ck_assert_int_eq(pmarena_to(args, "out_sg"), 0);
    json_error_t je;
    json_t *s = json_load_file(path_in("d/summary.json"), 0, &je);
    ck_assert_ptr_nonnull(s);
    char *txt = json_dumps(s, 0);
    ck_assert_ptr_nonnull(strstr(txt, "\"leveling\""));
    free(txt);
    ck_assert_uint_gt(u(s, "wear", "leveling_writes"), 0);
    json_decref(s);
    FILE *o = fopen(path_in("out_sg"), "r");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, o);
    fclose(o);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, "leveling writes"));
    snprintf(args, sizeof args, "run configs/default.json -o %s --set device.leveling=none", path_in("d"));
    ck_assert_int_eq(pmarena(args), 0);
}
END_TEST

START_TEST(small_endurance_fails_cells)
{
    json_t *s = run("e", "--set device.endurance.mean=30");
    json_t *f = json_object_get(s, "failures");
    ck_assert(json_is_true(json_object_get(f, "endurance")));
    ck_assert_uint_gt(u(s, "failures", "failed_cells"), 0);
    json_t *first = json_object_get(f, "first");
    ck_assert(json_is_object(first));
    ck_assert(json_number_value(json_object_get(first, "sim_ns")) > 0);
    /* the projection used the device's endurance */
    json_t *cfgj = json_object_get(json_object_get(json_object_get(s, "config"), "analysis"), "endurance");
    ck_assert_double_eq(json_number_value(json_object_get(cfgj, "mean")), 30);
    json_t *ok = run("ok", "--set device.endurance.mean=1e9");
    ck_assert_uint_eq(u(ok, "failures", "failed_cells"), 0);
    ck_assert(json_is_null(json_object_get(json_object_get(ok, "failures"), "first")));
    json_decref(s);
    json_decref(ok);
}
END_TEST

START_TEST(conflicts_and_bad_values_exit_2)
{
    put("c.json", cfg);
    char args[1200];
    snprintf(args, sizeof args, "run %s -o %s --set device.endurance.mean=100 --set analysis.endurance.mean=200",
             path_in("c.json"), path_in("x"));
    ck_assert_int_eq(pmarena(args), 2);
    FILE *f = fopen(path_in("stderr"), "r");
    char buf[2000];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, "analysis.endurance"));
    ck_assert_ptr_nonnull(strstr(buf, "device.endurance"));
    snprintf(args, sizeof args, "run %s -o %s --set device.leveling=start-stop", path_in("c.json"), path_in("x"));
    ck_assert_int_eq(pmarena(args), 2);
    snprintf(args, sizeof args, "run %s -o %s --set device.endurance.stddev=5 --set device.endurance.cov=0.1",
             path_in("c.json"), path_in("x"));
    ck_assert_int_eq(pmarena(args), 2);
    /* the same endurance in both places is fine */
    snprintf(args, sizeof args, "run %s -o %s --set device.endurance.mean=1e9 --set analysis.endurance.mean=1e9",
             path_in("c.json"), path_in("x"));
    ck_assert_int_eq(pmarena(args), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wearout_e2e");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, start_gap_counts_leveling_source);
    tcase_add_test(tc, default_config_runs_both_ways);
    tcase_add_test(tc, small_endurance_fails_cells);
    tcase_add_test(tc, conflicts_and_bad_values_exit_2);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
