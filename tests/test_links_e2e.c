/* test_links_e2e.c - links, the third source of wear, end to end with the
 * real binary: a gc run keeps its link table (replay.links auto) and every
 * output carries it (summary.json's wear.links_writes, wear_links with its
 * touched block, persistence.links and links_writes_per_op, kinds.csv's
 * links row, wear_time.csv's links columns, cells.csv's links column, the
 * printed table, `pmarena report`, sweep.csv); a log run (auto: off) writes
 * no links and the same data as with links turned off by hand; links on
 * leave the data writes as they were (1-byte cells); a bad replay.links is
 * refused with exit 2. */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-links-XXXXXX";
#include "e2eutil.h"

static double num(json_t *root, const char *path)
{
    char buf[200];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save, *p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save))
        v = json_object_get(v, p);
    ck_assert_msg(json_is_number(v), "%s is not a number", path);
    return json_number_value(v);
}

/* A churn trace with objects left live at the end, run with `extra` --set
 * options; returns summary.json. */
static json_t *run(const char *name, int cell, const char *extra)
{
    char cfg[700], file[128], args[1600];
    snprintf(cfg, sizeof cfg,
             "{\"device\": {\"kind\": \"sim\", \"size\": \"32MiB\", \"cell_size\": %d},\n"
             " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 5, \"events\": 30000, \"live\": 700,"
             " \"free_at_end\": false}}}\n", cell);
    snprintf(file, sizeof file, "%s.json", name);
    put(file, cfg);
    snprintf(args, sizeof args, "run %s -o %s --cells %s", path_in(file), path_in(name), extra);
    ck_assert_int_eq(pmarena_to(args, "stdout"), 0);
    char sum[128];
    snprintf(sum, sizeof sum, "%s/summary.json", name);
    json_error_t je;
    json_t *s = json_load_file(path_in(sum), 0, &je);
    ck_assert_msg(s != NULL, "%s: %s", sum, je.text);
    return s;
}

static char *slurp(const char *name)
{
    FILE *f = fopen(path_in(name), "r");
    ck_assert_msg(f != NULL, "no %s", name);
    char *buf = calloc(1, 1 << 22);
    size_t n = fread(buf, 1, (1 << 22) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The last line of a text file, in a static buffer. */
static const char *last_line(const char *name)
{
    static char last[1024];
    char line[1024];
    FILE *f = fopen(path_in(name), "r");
    ck_assert_msg(f != NULL, "no %s", name);
    last[0] = '\0';
    while (fgets(line, sizeof line, f))
        snprintf(last, sizeof last, "%s", line);
    fclose(f);
    return last;
}

START_TEST(gc_run_reports_links_everywhere)
{
    json_t *s = run("gc", 64, "--set allocator.persistence=gc");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "persistence"), "protocol")), "gc");
    ck_assert(json_is_true(json_object_get(json_object_get(s, "persistence"), "links")));
    double links = num(s, "wear.links_writes");
    ck_assert_double_gt(links, 0);
    ck_assert_double_eq(num(s, "wear.data_writes") + num(s, "wear.meta_writes") + links, num(s, "wear.total_writes"));
    ck_assert_double_eq(num(s, "wear_links.total_writes"), links);
    ck_assert_double_gt(num(s, "wear_links.max"), 0);
    ck_assert_double_gt(num(s, "wear_links.touched.cells"), 0);
    ck_assert_double_le(num(s, "wear_links.max"), num(s, "wear.max"));
    ck_assert_double_gt(num(s, "heap.links_bytes_written"), 0);
    double ops = num(s, "events.alloc") + num(s, "events.free") + num(s, "events.realloc");
    ck_assert_double_eq_tol(num(s, "persistence.links_writes_per_op"), links / ops, 1e-9);
    ck_assert_double_gt(num(s, "persistence.links_writes_per_op"), 0);
    ck_assert_ptr_null(json_object_get(json_object_get(json_object_get(s, "wear"), "meta_by_kind"), "links"));

    /* kinds.csv: a links row with the summary's figures */
    char *k = slurp("gc/kinds.csv");
    char want[200];
    snprintf(want, sizeof want, "\nlinks,%.0f,%.0f\n", links, num(s, "wear_links.max"));
    ck_assert_msg(strstr(k, want) != NULL, "kinds.csv lacks %s:\n%s", want, k);
    free(k);
    /* wear_time.csv: the last sample's links columns are the end's */
    unsigned long long v[9];
    ck_assert_int_eq(sscanf(last_line("gc/wear_time.csv"), "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu", &v[0],
                            &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]), 9);
    ck_assert_uint_eq(v[7], (unsigned long long)links);
    ck_assert_uint_eq(v[8], (unsigned long long)num(s, "wear_links.max"));
    /* cells.csv: the links column sums to the links writes */
    FILE *f = fopen(path_in("gc/cells.csv"), "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "cell,data,meta,links\n");
    unsigned long long cell, d, m, l, sum = 0;
    while (fscanf(f, "%llu,%llu,%llu,%llu\n", &cell, &d, &m, &l) == 4)
        sum += l;
    fclose(f);
    ck_assert_uint_eq(sum, (unsigned long long)links);
    /* the printed table, and report */
    char *out = slurp("stdout");
    ck_assert_msg(strstr(out, ", links ") != NULL, "no links in the table:\n%s", out);
    free(out);
    char args[1400];
    snprintf(args, sizeof args, "report %s", path_in("gc"));
    ck_assert_int_eq(pmarena_to(args, "report.txt"), 0);
    char *r = slurp("report.txt");
    ck_assert_msg(strstr(r, "links writes per op") != NULL && strstr(r, "hottest links cell") != NULL, "%s", r);
    free(r);
    json_decref(s);
}
END_TEST

/* A log run: auto means no links; its data figures are those of the same run
 * with links turned off by hand, and its total is data + metadata as before. */
START_TEST(log_run_has_no_links)
{
    json_t *a = run("log", 64, "");
    json_t *b = run("off", 64, "--set replay.links=false");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "persistence"), "protocol")), "log");
    ck_assert(json_is_false(json_object_get(json_object_get(a, "persistence"), "links")));
    ck_assert_double_eq(num(a, "wear.links_writes"), 0);
    ck_assert_double_eq(num(a, "wear_links.max"), 0);
    ck_assert_double_eq(num(a, "persistence.links_writes_per_op"), 0);
    ck_assert_double_eq(num(a, "heap.links_bytes_written"), 0);
    ck_assert_double_eq(num(a, "wear.data_writes") + num(a, "wear.meta_writes"), num(a, "wear.total_writes"));
    static const char *const same[] = {"wear.total_writes", "wear.data_writes", "wear.meta_writes", "wear.max",
                                       "wear_data.max", "wear_data.total_writes", "wear_meta.max"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        ck_assert_msg(num(a, same[i]) == num(b, same[i]), "%s differs", same[i]);
    json_decref(a);
    json_decref(b);
    /* links forced on over log: the table is written and counted as links */
    json_t *c = run("on", 64, "--set replay.links=true");
    ck_assert_double_gt(num(c, "wear.links_writes"), 0);
    json_decref(c);
}
END_TEST

/* Links move no data: at 1-byte cells a gc run's data writes are the bytes
 * the replay wrote, with links on or off; the links writes are the table's
 * bytes. */
START_TEST(links_leave_data_alone)
{
    json_t *on = run("gc1", 1, "--set allocator.persistence=gc");
    json_t *off = run("gc0", 1, "--set allocator.persistence=gc --set replay.links=false");
    ck_assert_double_eq(num(on, "wear.data_writes"), num(off, "wear.data_writes"));
    ck_assert_double_eq(num(on, "wear.data_writes"), num(on, "heap.data_bytes_written"));
    ck_assert_double_eq(num(on, "wear.links_writes"), num(on, "heap.links_bytes_written"));
    ck_assert_double_eq(num(off, "wear.links_writes"), 0);
    /* Without links nothing is reachable: recovery keeps nothing, and says
     * that this is what gc promises, not a failure (the run exited 0). */
    ck_assert_double_eq(num(off, "recovery.live_objects_after"), 0);
    const char *chk = json_string_value(json_object_get(json_object_get(off, "recovery"), "check"));
    ck_assert_msg(chk && strstr(chk, "replay.links false"), "%s", chk ? chk : "(none)");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(on, "recovery"), "check")), "ok");
    ck_assert_double_ge(num(on, "recovery.live_objects_after"), num(on, "recovery.live_objects_before"));
    json_decref(on);
    json_decref(off);
}
END_TEST

START_TEST(bad_links_value_exit_2)
{
    put("bad.json", "{\"replay\": {\"links\": \"sometimes\"}, \"trace\": {\"events\": []}}\n");
    char args[1400];
    snprintf(args, sizeof args, "run %s -o %s", path_in("bad.json"), path_in("bad"));
    ck_assert_int_eq(pmarena(args), 2);
    char *e = slurp("stderr");
    ck_assert_msg(strstr(e, "replay.links") && strstr(e, "sometimes"), "%s", e);
    free(e);
    ck_assert_int_ne(access(path_in("bad"), F_OK), 0);
}
END_TEST

/* A sweep over the protocols: sweep.csv has the links columns, 0 for log and
 * positive for gc. */
START_TEST(sweep_table_has_links)
{
    put("sw.json", "{\"device\": {\"kind\": \"sim\", \"size\": \"16MiB\"},\n"
                   " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 2, \"events\": 4000, \"live\": 100}},\n"
                   " \"sweep\": {\"allocator.persistence\": [\"log\", \"gc\"]}}\n");
    char args[1400];
    snprintf(args, sizeof args, "sweep %s -o %s --quiet", path_in("sw.json"), path_in("sw"));
    ck_assert_int_eq(pmarena(args), 0);
    FILE *f = fopen(path_in("sw/sweep.csv"), "r");
    ck_assert_ptr_nonnull(f);
    char head[2000], row[2][2000];
    ck_assert_ptr_nonnull(fgets(head, sizeof head, f));
    ck_assert_ptr_nonnull(fgets(row[0], sizeof row[0], f));
    ck_assert_ptr_nonnull(fgets(row[1], sizeof row[1], f));
    fclose(f);
    /* the column of wear.links_writes */
    int col = -1, i = 0;
    for (char *save, *p = strtok_r(head, ",\n", &save); p; p = strtok_r(NULL, ",\n", &save), i++)
        if (strcmp(p, "wear.links_writes") == 0)
            col = i;
    ck_assert_msg(col >= 0, "no wear.links_writes column");
    double v[2];
    for (int r = 0; r < 2; r++) {
        char *p = row[r];
        for (int c = 0; c < col; c++)
            p = strchr(p, ',') + 1;
        v[r] = strtod(p, NULL);
    }
    ck_assert(strstr(row[0], "log") && strstr(row[1], "gc"));
    ck_assert_double_eq(v[0], 0);
    ck_assert_double_gt(v[1], 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("links_e2e");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, gc_run_reports_links_everywhere);
    tcase_add_test(tc, log_run_has_no_links);
    tcase_add_test(tc, links_leave_data_alone);
    tcase_add_test(tc, bad_links_value_exit_2);
    tcase_add_test(tc, sweep_table_has_links);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
