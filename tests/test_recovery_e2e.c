/* test_recovery_e2e.c - a run's recovery measurement end to end with the
 * real binary: after a hybrid run under log (and intent) summary.json's
 * "recovery" block says how the heap was found again and that every live
 * object came back, with the device traffic the sim counted and a passing
 * check; the measurement leaves the run's own wear figures and cell files
 * as they are (a run with analysis.recovery false has the same); metadata
 * dram and analysis.recovery false give recovery null and why; a
 * non-boolean analysis.recovery exits 2 naming it; a sweep's table carries the recovery
 * columns and plots recovery.wall_s. */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-recov-XXXXXX";
#include "e2eutil.h"

/* A churn trace that keeps about 400 objects live at its end. */
static const char *cfg =
    "{\"name\": \"rec\",\n"
    " \"device\": {\"kind\": \"sim\", \"size\": \"32MiB\", \"cell_size\": 64},\n"
    " \"allocator\": {\"metadata\": \"hybrid\", \"persistence\": \"log\", \"log_kib\": 8},\n"
    " \"replay\": {\"mode\": \"deterministic\", \"on_alloc\": \"full\"},\n"
    " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 5, \"events\": 6000,\n"
    "             \"lifetime\": {\"dist\": \"fixed\", \"window\": 400}, \"free_at_end\": false}}}\n";

static json_t *get(json_t *root, const char *path)
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save, *p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    return v;
}

static long long integer(json_t *root, const char *path)
{
    json_t *v = get(root, path);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", path);
    return (long long)json_integer_value(v);
}

static json_t *run_ok(const char *out, const char *sets)
{
    char args[1600];
    snprintf(args, sizeof args, "run %s -o %s %s", path_in("rec.json"), path_in(out), sets);
    int rc = pmarena(args);
    ck_assert_msg(rc == 0, "run %s exited %d", sets, rc);
    char p[100];
    snprintf(p, sizeof p, "%.80s/summary.json", out);
    json_t *s = json_load_file(path_in(p), 0, NULL);
    ck_assert_ptr_nonnull(s);
    return s;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void setup(void)
{
    put("rec.json", cfg);
}

static void check_block(json_t *s, const char *how)
{
    json_t *r = json_object_get(s, "recovery");
    ck_assert_msg(json_is_object(r), "no recovery block");
    ck_assert_str_eq(json_string_value(json_object_get(r, "how")), how);
    ck_assert_str_eq(json_string_value(json_object_get(r, "check")), "ok");
    long long before = integer(s, "recovery.live_objects_before");
    ck_assert_int_eq(before, integer(s, "heap.live_objects_at_end"));
    ck_assert_int_gt(before, 300);
    ck_assert_int_eq(integer(s, "recovery.live_objects_after"), before);
    /* pma_open reads the heap back from the sim device, which counts it */
    ck_assert_int_gt(integer(s, "recovery.bytes_read"), 0);
    ck_assert_int_ge(integer(s, "recovery.bytes_written"), 0);
    ck_assert_int_ge(integer(s, "recovery.flushes"), 0);
    ck_assert_msg(json_number_value(get(s, "recovery.sim_ns")) > 0, "sim_ns");
    ck_assert_msg(json_number_value(get(s, "recovery.wall_s")) > 0, "wall_s");
    ck_assert_int_eq(integer(s, "recovery.traced_objects"), 0);   /* only gc traces */
}

START_TEST(log_recovers_every_object_and_leaves_the_run_alone)
{
    json_t *s = run_ok("log", "");
    check_block(s, "log");
    char *out = slurp(path_in("stdout"));
    ck_assert_ptr_nonnull(strstr(out, "recovery after a crash"));
    free(out);
    /* The same run without the measurement: the same wear and cell files,
     * so recovery's reads and writes are not counted as the run's. */
    json_t *o = run_ok("off", "--set analysis.recovery=false");
    ck_assert(json_is_null(json_object_get(o, "recovery")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "recovery_why")), "analysis.recovery"));
    ck_assert(json_equal(json_object_get(s, "wear"), json_object_get(o, "wear")));
    ck_assert(json_equal(json_object_get(s, "wear_meta"), json_object_get(o, "wear_meta")));
    ck_assert(json_equal(get(s, "time.simulated_ns"), get(o, "time.simulated_ns")));
    static const char *const files[] = {"heat.csv", "heat_kinds.csv", "kinds.csv", "wear_hist.csv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char a[100], b[100];
        snprintf(a, sizeof a, "log/%s", files[i]);
        snprintf(b, sizeof b, "off/%s", files[i]);
        char *x = slurp(path_in(a)), *y = slurp(path_in(b));
        ck_assert_msg(strcmp(x, y) == 0, "%s differs with the recovery measured", files[i]);
        free(x);
        free(y);
    }
    json_decref(s);
    json_decref(o);
}
END_TEST

START_TEST(intent_and_nvram_recover_too)
{
    json_t *s = run_ok("intent", "--set allocator.persistence=intent --set allocator.metadata=nvram");
    check_block(s, "intent");
    json_decref(s);
}
END_TEST

START_TEST(metadata_dram_has_no_recovery)
{
    json_t *s = run_ok("dram", "--set allocator.metadata=dram");
    ck_assert(json_is_null(json_object_get(s, "recovery")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(s, "recovery_why")), "metadata dram"));
    json_decref(s);
}
END_TEST

/* analysis.recovery takes booleans: true measures, anything else is
 * refused with exit 2, naming the key, and writes nothing. */
START_TEST(recovery_key_takes_booleans_only)
{
    json_t *s = run_ok("on", "--set analysis.recovery=true");
    check_block(s, "log");
    json_decref(s);
    char args[1600];
    snprintf(args, sizeof args, "run %s -o %s --set analysis.recovery=\\\"yes\\\"", path_in("rec.json"),
             path_in("bad"));
    ck_assert_int_eq(pmarena(args), 2);
    char *e = slurp(path_in("stderr"));
    ck_assert_msg(strstr(e, "analysis.recovery") != NULL, "%s", e);
    free(e);
    ck_assert_int_ne(access(path_in("bad"), F_OK), 0);
}
END_TEST

START_TEST(sweep_table_has_recovery_columns_and_plot)
{
    char args[1600];
    snprintf(args, sizeof args, "sweep %s -o %s -j1", path_in("rec.json"), path_in("sw"));
    /* a sweep block of its own, appended */
    json_t *c = json_load_file(path_in("rec.json"), 0, NULL);
    json_object_set_new(c, "sweep", json_pack("{s:[s,s]}", "allocator.persistence", "intent", "log"));
    ck_assert_int_eq(json_dump_file(c, path_in("rec.json"), 0), 0);
    json_decref(c);
    ck_assert_int_eq(pmarena(args), 0);
    char *t = slurp(path_in("sw/sweep.csv"));
    char *nl = strchr(t, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    static const char *const cols[] = {"recovery.sim_ns", "recovery.bytes_read", "recovery.bytes_written",
                                       "recovery.live_objects_before", "recovery.live_objects_after"};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        ck_assert_msg(strstr(t, cols[i]) != NULL, "sweep.csv lacks %s: %s", cols[i], t);
    ck_assert_msg(strstr(t, "wall_s") == NULL, "wall time in the deterministic table: %s", t);
    free(t);
    ck_assert_int_eq(access(path_in("sw/sweep_recovery_wall_s_vs_allocator_persistence.png"), R_OK), 0);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("recovery_e2e");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, log_recovers_every_object_and_leaves_the_run_alone);
    tcase_add_test(tc, intent_and_nvram_recover_too);
    tcase_add_test(tc, metadata_dram_has_no_recovery);
    tcase_add_test(tc, recovery_key_takes_booleans_only);
    tcase_add_test(tc, sweep_table_has_recovery_columns_and_plot);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? rc : 1;
}
