/* test_outputs_e2e.c - the outputs of `pmarena run` and `pmarena report`
 * end to end with the real binary, on generated traces: summary.json starts
 * with "schema_version": 2 and each wear block carries "touched" statistics
 * (p50 > 0 where the device-wide p50 is 0); the touched statistics are the
 * same on two device sizes for one trace while the device-wide ones scale;
 * wear_time.csv has one row per fragmentation sample (through the adaptive
 * thinning), events increasing, counts non-decreasing, ending at the
 * summary's totals (and is absent on the dram device); every gnuplot script
 * is noenhanced; report --csv prints full-precision numbers, the touched
 * statistics in rows named *_touched. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-out-XXXXXX";
#include "e2eutil.h"

/* Runs a churn trace of `events` on a sim device of `size` into dir/name. The
 * log size is fixed so that the allocator lays out the same on every size. */
static json_t *run_gen(const char *name, const char *size, int events, const char *kind)
{
    char cfg[600], file[128], args[1400];
    snprintf(cfg, sizeof cfg,
             "{\"device\": {\"kind\": \"%s\", \"size\": \"%s\", \"cell_size\": 64},\n"
             " \"allocator\": {\"log_kib\": 1024},\n"
             " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 3, \"events\": %d, \"live\": 500}}}\n",
             kind, size, events);
    snprintf(file, sizeof file, "%s.json", name);
    put(file, cfg);
    snprintf(args, sizeof args, "run %s -o %s --quiet", path_in(file), path_in(name));
    ck_assert_int_eq(pmarena_to(args, "stdout"), 0);
    char sum[128];
    snprintf(sum, sizeof sum, "%s/summary.json", name);
    json_error_t je;
    json_t *s = json_load_file(path_in(sum), JSON_PRESERVE_ORDER, &je);
    ck_assert_msg(s != NULL, "%s: %s", sum, je.text);
    return s;
}

static json_t *get(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    return b ? json_object_get(v, b) : v;
}

static double num(json_t *v, const char *what)
{
    ck_assert_msg(json_is_number(v), "%s is not a number", what);
    return json_number_value(v);
}

START_TEST(summary_has_schema_version_and_touched_stats)
{
    json_t *s = run_gen("a", "32MiB", 20000, "sim");
    /* the first key */
    void *it = json_object_iter(s);
    ck_assert_ptr_nonnull(it);
    ck_assert_str_eq(json_object_iter_key(it), "schema_version");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "schema_version")), 2);
    static const char *const blocks[] = {"wear", "wear_data", "wear_meta"};
    static const char *const keys[] = {"cells", "mean", "stddev", "cov", "p50", "p90", "p99", "p999",
                                       "gini", "hotspot", "lifetime_fraction"};
    static const char *const old[] = {"total_writes", "cells_touched", "max", "mean", "stddev", "cov", "p50",
                                      "p90", "p99", "p999", "gini", "hotspot", "lifetime_fraction"};
    double cells = num(get(s, "device", "cells"), "device.cells");
    for (size_t b = 0; b < 3; b++) {
        json_t *w = json_object_get(s, blocks[b]);
        for (size_t k = 0; k < sizeof old / sizeof old[0]; k++)
            ck_assert_msg(json_object_get(w, old[k]) != NULL, "%s.%s is gone", blocks[b], old[k]);
        /* the plain names stay device-wide: mean * device cells = total */
        ck_assert_double_eq_tol(num(json_object_get(w, "mean"), "mean") * cells,
                                num(json_object_get(w, "total_writes"), "total"), 1e-6 * cells);
        json_t *t = json_object_get(w, "touched");
        ck_assert_msg(json_is_object(t), "%s.touched is not an object", blocks[b]);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            ck_assert_msg(json_object_get(t, keys[k]) != NULL, "%s.touched.%s missing", blocks[b], keys[k]);
        double tc = num(json_object_get(t, "cells"), "touched.cells");
        ck_assert_double_eq(tc, num(json_object_get(w, "cells_touched"), "cells_touched"));
        ck_assert_double_eq_tol(num(json_object_get(t, "mean"), "touched.mean") * tc,
                                num(json_object_get(w, "total_writes"), "total"), 1e-6 * tc);
        ck_assert(num(json_object_get(t, "p50"), "touched.p50") > 0);
        ck_assert_double_eq_tol(num(json_object_get(t, "hotspot"), "touched.hotspot"),
                                num(json_object_get(w, "max"), "max") / num(json_object_get(t, "mean"), "m"),
                                1e-9 * num(json_object_get(w, "max"), "max"));
    }
    /* mostly unwritten device: the device-wide median is 0, the touched one not */
    ck_assert_double_eq(num(get(s, "wear", "p50"), "wear.p50"), 0);
    json_decref(s);
}
END_TEST

START_TEST(touched_stats_do_not_depend_on_device_size)
{
    json_t *a = run_gen("small", "32MiB", 20000, "sim");
    json_t *b = run_gen("large", "128MiB", 20000, "sim");
    ck_assert_double_eq(num(get(a, "wear", "total_writes"), "a"), num(get(b, "wear", "total_writes"), "b"));
    json_t *ta = get(a, "wear", "touched"), *tb = get(b, "wear", "touched");
    const char *keys[] = {"cells", "mean", "p50", "p99", "gini", "hotspot", "lifetime_fraction"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        ck_assert_msg(num(json_object_get(ta, keys[k]), keys[k]) == num(json_object_get(tb, keys[k]), keys[k]),
                      "touched.%s differs between 32 MiB and 128 MiB", keys[k]);
    /* the device-wide factor scales with the cells: 4x the device, 4x hotspot */
    ck_assert_double_eq_tol(num(get(b, "wear", "hotspot"), "b") / num(get(a, "wear", "hotspot"), "a"), 4.0, 1e-9);
    json_decref(a);
    json_decref(b);
}
END_TEST

/* The fields of one all-integer CSV record (at most max), or -1. */
static int fields(char *line, unsigned long long *v, int max)
{
    int n = 0;
    for (char *p = line; *p && *p != '\n';) {
        if (n == max)
            return -1;
        char *end;
        errno = 0;
        v[n++] = strtoull(p, &end, 10);
        if (end == p || errno)
            return -1;
        p = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\n' && *end != '\0')
            return -1;
    }
    return n;
}

START_TEST(wear_time_csv_follows_the_samples)
{
    /* enough events for the adaptive sampling to thin (400 samples of 1024) */
    json_t *s = run_gen("long", "32MiB", 450000, "sim");
    FILE *f = fopen(path_in("long/wear_time.csv"), "r");
    ck_assert_msg(f != NULL, "no wear_time.csv");
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "events,total_writes,data_writes,meta_writes,hottest,hottest_data,hottest_meta,"
                           "links_writes,hottest_links\n");
    unsigned long long prev[9] = {0}, v[9];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_int_eq(fields(line, v, 9), 9);
        if (rows) {
            ck_assert_msg(v[0] > prev[0], "events not increasing at row %d", rows);
            for (int j = 1; j < 9; j++)
                ck_assert_msg(v[j] >= prev[j], "column %d decreases at row %d", j, rows);
        }
        ck_assert_uint_eq(v[1], v[2] + v[3] + v[7]);
        ck_assert(v[4] >= v[5] && v[4] >= v[6] && v[4] >= v[8] && v[4] <= v[5] + v[6] + v[8]);
        memcpy(prev, v, sizeof v);
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, (int)num(get(s, "fragmentation", "samples"), "samples"));
    ck_assert(rows > 100 && rows < 400);   /* thinned, not one per 1024 events */
    /* the last sample is the end of the run */
    json_int_t events = 0;
    const char *k;
    json_t *e;
    json_object_foreach(json_object_get(s, "events"), k, e)
        events += json_integer_value(e);
    ck_assert_uint_eq(prev[0], (unsigned long long)events);
    ck_assert_uint_eq(prev[1], (unsigned long long)num(get(s, "wear", "total_writes"), "total"));
    ck_assert_uint_eq(prev[2], (unsigned long long)num(get(s, "wear", "data_writes"), "data"));
    ck_assert_uint_eq(prev[3], (unsigned long long)num(get(s, "wear", "meta_writes"), "meta"));
    ck_assert_uint_eq(prev[4], (unsigned long long)num(get(s, "wear", "max"), "max"));
    ck_assert_uint_eq(prev[5], (unsigned long long)num(get(s, "wear_data", "max"), "data max"));
    ck_assert_uint_eq(prev[6], (unsigned long long)num(get(s, "wear_meta", "max"), "meta max"));
    ck_assert_uint_eq(prev[7], (unsigned long long)num(get(s, "wear", "links_writes"), "links"));
    ck_assert_uint_eq(prev[8], (unsigned long long)num(get(s, "wear_links", "max"), "links max"));
    ck_assert_int_eq(access(path_in("long/wear_time.png"), R_OK), 0);
    json_decref(s);

    /* dram counts nothing: no wear series */
    s = run_gen("dram", "32MiB", 2000, "dram");
    ck_assert_int_ne(access(path_in("dram/wear_time.csv"), F_OK), 0);
    json_decref(s);
}
END_TEST

/* The fast lane serves the dram device's gets and returns and none of the
 * sim device's, and does the same work: the same churn on both reports the
 * same persistence counters. */
START_TEST(lane_ops_in_the_summary)
{
    json_t *sim = run_gen("lanesim", "32MiB", 5000, "sim"), *dram = run_gen("lanedram", "32MiB", 5000, "dram");
    json_t *ps = json_object_get(sim, "persistence"), *pd = json_object_get(dram, "persistence");
    double ops = num(get(dram, "events", "alloc"), "alloc") + num(get(dram, "events", "free"), "free");
    ck_assert_double_eq(num(json_object_get(ps, "lane_ops"), "sim lane_ops"), 0);
    ck_assert_double_gt(num(json_object_get(pd, "lane_ops"), "dram lane_ops"), ops / 2);
    ck_assert_double_le(num(json_object_get(pd, "lane_ops"), "dram lane_ops"), ops);
    const char *same[] = {"cache_hits", "cache_misses", "cached_bytes", "flushes", "fences", "meta_bytes",
                          "checkpoints", "log_wraps"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        ck_assert_msg(num(json_object_get(ps, same[i]), same[i]) == num(json_object_get(pd, same[i]), same[i]),
                      "persistence.%s: sim %g, dram %g", same[i], num(json_object_get(ps, same[i]), same[i]),
                      num(json_object_get(pd, same[i]), same[i]));
    json_decref(sim);
    json_decref(dram);
}
END_TEST

START_TEST(every_script_is_noenhanced)
{
    json_decref(run_gen("plots", "32MiB", 5000, "sim"));
    DIR *d = opendir(path_in("plots"));
    ck_assert_ptr_nonnull(d);
    int scripts = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".gp"))
            continue;
        char name[300], text[1 << 16];
        snprintf(name, sizeof name, "plots/%s", e->d_name);
        FILE *f = fopen(path_in(name), "r");
        ck_assert_ptr_nonnull(f);
        size_t len = fread(text, 1, sizeof text - 1, f);
        text[len] = '\0';
        fclose(f);
        ck_assert_msg(strstr(text, "set termoption noenhanced") != NULL, "%s is enhanced", e->d_name);
        scripts++;
    }
    closedir(d);
    ck_assert_int_ge(scripts, 6);   /* frag, wear_hist, wear_cdf, heatmap, meta_kinds, wear_time */
}
END_TEST

/* The csv field of row `metric`, column 1 (the first run). */
static bool csv_value(const char *text, const char *metric, char *out, size_t len)
{
    size_t m = strlen(metric);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, metric, m) && p[m] == ',') {
            size_t n = strcspn(p + m + 1, ",\n");
            snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p + m + 1);
            return true;
        }
    return false;
}

START_TEST(report_csv_has_full_precision)
{
    json_t *s = run_gen("rep", "32MiB", 20000, "sim");
    char args[700];
    snprintf(args, sizeof args, "report --format csv %s", path_in("rep"));
    ck_assert_int_eq(pmarena_to(args, "report.csv"), 0);
    FILE *f = fopen(path_in("report.csv"), "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    const struct { const char *metric; json_t *v; } want[] = {
        {"hot-spot factor", get(s, "wear", "hotspot")},
        {"hotspot_touched", get(get(s, "wear", "touched"), "hotspot", NULL)},
        {"mean per cell", get(s, "wear", "mean")},
        {"gini_touched", get(get(s, "wear", "touched"), "gini", NULL)},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char field[64];
        ck_assert_msg(csv_value(text, want[i].metric, field, sizeof field), "no row %s", want[i].metric);
        double x = num(want[i].v, want[i].metric);
        ck_assert_msg(strtod(field, NULL) == x, "%s: %s is not %.17g", want[i].metric, field, x);
    }
    /* the hot-spot factor here is not a round number: more than 4 digits */
    char field[64];
    csv_value(text, "hot-spot factor", field, sizeof field);
    ck_assert_msg(strspn(field, "0123456789.") > 6, "hotspot printed as %s", field);
    json_decref(s);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("outputs_e2e");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, summary_has_schema_version_and_touched_stats);
    tcase_add_test(tc, touched_stats_do_not_depend_on_device_size);
    tcase_add_test(tc, wear_time_csv_follows_the_samples);
    tcase_add_test(tc, lane_ops_in_the_summary);
    tcase_add_test(tc, every_script_is_noenhanced);
    tcase_add_test(tc, report_csv_has_full_precision);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? rc : 1;
}
