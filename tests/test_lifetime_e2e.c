/* test_lifetime_e2e.c - lifetime to failure end to end with the real binary
 * (replay.h "Worn cells" and "Passes"): replay.repeat "until-failure" on a
 * small device with a small endurance runs pass after pass until the
 * device's end of life, moves objects off worn cells and verifies them, and
 * reports the lifetime block, failures.csv and its plot, all agreeing with
 * each other and with the failures block; replay.repeat N runs N passes
 * (N times the events, what a pass leaves live freed before the next); bad
 * values exit 2 naming their keys. */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-lifetime-XXXXXX";
#include "e2eutil.h"

/* Objects of up to 512 bytes, each written twice: a first-fit heap wears its
 * hot cells out within a few passes at endurance 200. */
static const char cfg[] =
    "{\"device\": {\"kind\": \"sim\", \"size\": \"8MiB\", \"endurance\": {\"mean\": 200, \"stddev\": 0, \"seed\": 1}},\n"
    " \"allocator\": {\"policy\": \"first-fit\"},\n"
    " \"replay\": {\"extra_writes\": 1},\n"
    " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 1, \"events\": 5000, \"live\": 50,\n"
    "                     \"size\": {\"dist\": \"uniform\", \"min\": 16, \"max\": 512}, \"free_at_end\": false}}}\n";

/* cfg without device.endurance: cells that never fail */
static void put_no_endurance(const char *name)
{
    char text[sizeof cfg];
    const char *e = strstr(cfg, ", \"endurance\"");
    const char *after = strstr(e, "}}") + 1;
    snprintf(text, sizeof text, "%.*s%s", (int)(e - cfg), cfg, after);
    put(name, text);
}

static json_t *run_cfg(const char *config, const char *name, const char *extra)
{
    char args[1600], sum[128];
    snprintf(args, sizeof args, "run %s -o %s %s", path_in(config), path_in(name), extra);
    ck_assert_int_eq(pmarena_to(args, "stdout"), 0);
    snprintf(sum, sizeof sum, "%s/summary.json", name);
    json_error_t je;
    json_t *s = json_load_file(path_in(sum), 0, &je);
    ck_assert_ptr_nonnull(s);
    return s;
}

static json_t *run(const char *name, const char *extra)
{
    put("c.json", cfg);
    return run_cfg("c.json", name, extra);
}

static json_t *get(json_t *o, const char *a, const char *b) { return json_object_get(json_object_get(o, a), b); }

static uint64_t u(json_t *o, const char *a, const char *b)
{
    json_t *v = get(o, a, b);
    ck_assert_msg(json_is_integer(v), "%s.%s is not an integer", a, b);
    return (uint64_t)json_integer_value(v);
}

static uint64_t events_of(json_t *s)
{
    uint64_t n = 0;
    static const char *const ops[] = {"alloc", "free", "realloc", "write", "read"};
    for (int i = 0; i < 5; i++)
        n += u(s, "events", ops[i]);
    return n;
}

START_TEST(until_failure_runs_to_the_end_of_life)
{
    json_t *s = run("uf", "--set replay.repeat=until-failure");
    const char *end = json_string_value(get(s, "lifetime", "ended_by"));
    ck_assert_ptr_nonnull(end);
    ck_assert_msg(strcmp(end, "capacity_loss") == 0 || strcmp(end, "allocation_failed") == 0 ||
                      strcmp(end, "metadata_worn") == 0, "ended by %s", end);
    uint64_t passes = u(s, "lifetime", "passes"), events = u(s, "lifetime", "events");
    ck_assert_uint_gt(passes, 1);
    ck_assert_uint_eq(events, events_of(s));
    /* cells failed, objects moved off them and each one verified */
    uint64_t failed = u(s, "lifetime", "failed_cells");
    ck_assert_uint_gt(failed, 0);
    ck_assert_uint_eq(failed, u(s, "failures", "failed_cells"));
    uint64_t moves = u(s, "lifetime", "moves");
    ck_assert_uint_gt(moves, 0);
    ck_assert_uint_eq(u(s, "lifetime", "verified_objects"), moves);
    ck_assert_uint_gt(u(s, "lifetime", "verified_bytes"), 0);
    /* the first failure: the failures block's, before the end */
    uint64_t first = u(s, "lifetime", "events_to_first_failure");
    ck_assert_uint_eq(first, (uint64_t)json_integer_value(json_object_get(get(s, "failures", "first"), "event")));
    ck_assert_uint_ge(first, 1);
    ck_assert_uint_le(first, events);
    double ns_first = json_number_value(get(s, "lifetime", "sim_ns_to_first_failure"));
    double ns_end = json_number_value(get(s, "lifetime", "sim_ns_to_end"));
    ck_assert(ns_first > 0 && ns_first <= ns_end);
    if (strcmp(end, "metadata_worn") != 0)
        ck_assert(json_is_null(get(s, "lifetime", "worn_metadata")));
    json_t *cap = get(s, "lifetime", "events_to_capacity_loss");
    if (strcmp(end, "capacity_loss") == 0) {
        ck_assert(json_is_integer(cap));
        ck_assert_uint_le((uint64_t)json_integer_value(cap), events);
        ck_assert(json_number_value(get(s, "lifetime", "retired_fraction")) >=
                  json_number_value(get(s, "lifetime", "capacity_loss")));
    } else {
        ck_assert(json_is_null(cap));
    }
    /* lifetime as a fraction of ideal: the device's writes over its endurance */
    double absorbed = (double)u(s, "lifetime", "writes_absorbed");
    double total = json_number_value(get(s, "lifetime", "endurance_total"));
    ck_assert_double_eq_tol(total, 200.0 * (double)u(s, "device", "cells"), 1e-6);
    ck_assert_uint_eq((uint64_t)absorbed, u(s, "wear", "total_writes"));
    double frac = json_number_value(get(s, "lifetime", "lifetime_fraction_of_ideal"));
    ck_assert_double_eq_tol(frac, absorbed / total, 1e-12);
    ck_assert(frac > 0 && frac <= 1);
    /* failures.csv: one row per failed cell, in order, the first one's event */
    FILE *f = fopen(path_in("uf/failures.csv"), "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "event,sim_ns,cell,line_offset,failed_cells,retired_bytes\n");
    uint64_t rows = 0, prev = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long ev, cell, off, so_far, ret;
        double ns;
        ck_assert_int_eq(sscanf(line, "%llu,%lf,%llu,%llu,%llu,%llu", &ev, &ns, &cell, &off, &so_far, &ret), 6);
        if (rows == 0)
            ck_assert_uint_eq(ev, first);
        ck_assert_uint_ge(ev, prev);
        ck_assert_uint_le(ev, events);
        prev = ev;
        ck_assert_uint_eq(so_far, ++rows);
    }
    fclose(f);
    ck_assert_uint_eq(rows, failed);
    ck_assert_int_eq(access(path_in("uf/failures.png"), R_OK), 0);
    ck_assert_int_eq(access(path_in("uf/failures.gp"), R_OK), 0);
    /* the table says it */
    f = fopen(path_in("stdout"), "r");
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    ck_assert_ptr_nonnull(strstr(buf, "objects moved"));
    /* report puts the lifetime figures beside the wear ones */
    char rargs[1200];
    snprintf(rargs, sizeof rargs, "report --format csv %s", path_in("uf"));
    ck_assert_int_eq(pmarena_to(rargs, "report.csv"), 0);
    f = fopen(path_in("report.csv"), "r");
    ck_assert_ptr_nonnull(f);
    double of_ideal = NAN;
    unsigned long long rep_failed = 0;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "lifetime of ideal,%lf", &of_ideal);
        sscanf(line, "failed cells,%llu", &rep_failed);
    }
    fclose(f);
    ck_assert_double_eq_tol(of_ideal, frac, 1e-12);
    ck_assert_uint_eq(rep_failed, failed);
    json_decref(s);
}
END_TEST

/* Under gc with the link table, the table's own entries wear out long
 * before the end: each worn entry is dropped and its object linked in
 * another (a worn directory word moves the directory), so the run goes on
 * to the device's end of life instead of stopping at the first worn entry
 * (after 3 passes before). */
/* The text of dir/name (at most 64 KiB). */
static const char *file_text(const char *name)
{
    static char buf[65536];
    FILE *f = fopen(path_in(name), "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* A log of 8 KiB (128 lines, 4 records a line) at endurance 200 wears out
 * long before the data does: the run ends as metadata_worn and says that it
 * was the log, and where. */
START_TEST(worn_log_is_named)
{
    json_t *s = run("wl", "--set replay.repeat=until-failure --set allocator.persistence=log "
                          "--set allocator.log_kib=8");
    ck_assert_str_eq(json_string_value(get(s, "lifetime", "ended_by")), "metadata_worn");
    json_t *w = get(s, "lifetime", "worn_metadata");
    ck_assert_msg(json_is_object(w), "lifetime.worn_metadata is not an object");
    ck_assert_str_eq(json_string_value(json_object_get(w, "kind")), "log");
    uint64_t off = (uint64_t)json_integer_value(json_object_get(w, "line_offset"));
    ck_assert_uint_ge(off, 4096);
    ck_assert_uint_lt(off, 4096 + 8192);
    ck_assert_uint_le((uint64_t)json_integer_value(json_object_get(w, "event")), u(s, "lifetime", "events"));
    ck_assert_ptr_nonnull(strstr(file_text("stdout"), "a log line wore out"));
    json_decref(s);
}
END_TEST

START_TEST(gc_links_outlive_worn_entries)
{
    json_t *s = run("gl", "--set replay.repeat=until-failure --set allocator.persistence=gc "
                          "--set replay.links=true");
    const char *end = json_string_value(get(s, "lifetime", "ended_by"));
    ck_assert_ptr_nonnull(end);
    ck_assert_msg(strcmp(end, "capacity_loss") == 0, "ended by %s: %s", end,
                  json_string_value(get(s, "lifetime", "end_reason")));
    ck_assert_uint_gt(u(s, "lifetime", "passes"), 20);
    /* The same run again ends at the same event: a pass frees what is left
     * live in heap-address order, not in the order of the records' DRAM
     * addresses (which made two runs of one config end apart). */
    json_t *again = run("gl2", "--set replay.repeat=until-failure --set allocator.persistence=gc "
                               "--set replay.links=true");
    ck_assert_uint_eq(u(again, "lifetime", "events"), u(s, "lifetime", "events"));
    ck_assert_uint_eq(u(again, "lifetime", "failed_cells"), u(s, "lifetime", "failed_cells"));
    json_decref(again);
    uint64_t worn = u(s, "heap", "links_worn_entries"), stale = u(s, "heap", "links_stale_entries");
    ck_assert_uint_gt(worn, 0);
    ck_assert_uint_le(stale, worn);
    ck_assert_uint_eq(u(s, "lifetime", "verified_objects"), u(s, "lifetime", "moves"));
    json_decref(s);
}
END_TEST

/* A trace file read pass after pass is parsed once, into a binary form in a
 * folder of the run's own in $TMPDIR (a speed-up, measured, not tested
 * here): the folder is gone when the run ends, and every pass replays the
 * whole trace. */
START_TEST(repeat_file_trace_parsed_once)
{
    FILE *f = fopen(path_in("t.jsonl"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\n");
    for (int i = 1; i <= 300; i++)
        fprintf(f, "{\"op\":\"alloc\",\"id\":%d,\"size\":%d}\n{\"op\":\"free\",\"id\":%d}\n", i, 16 + i, i);
    fclose(f);
    char text[512];
    snprintf(text, sizeof text, "{\"device\": {\"kind\": \"sim\", \"size\": \"16MiB\"}, \"trace\": {\"file\": \"%s\"}}\n",
             path_in("t.jsonl"));
    put("f.json", text);
    ck_assert_int_eq(mkdir(path_in("tmp"), 0700), 0);
    char args[1600];
    snprintf(args, sizeof args, "run %s -o %s --set replay.repeat=3", path_in("f.json"), path_in("fr"));
    char cmd[1800];
    snprintf(cmd, sizeof cmd, "TMPDIR=%s %s %s >%s 2>%s", path_in("tmp"), getenv("PMARENA_BIN"), args,
             path_in("stdout"), path_in("stderr"));
    ck_assert_int_eq(system(cmd), 0);
    json_error_t je;
    json_t *s = json_load_file(path_in("fr/summary.json"), 0, &je);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(u(s, "lifetime", "passes"), 3);
    ck_assert_uint_eq(events_of(s), 3 * 600);
    json_decref(s);
    DIR *dp = opendir(path_in("tmp"));
    ck_assert_ptr_nonnull(dp);
    int left = 0;
    for (struct dirent *e; (e = readdir(dp));)
        left += e->d_name[0] != '.';
    closedir(dp);
    ck_assert_int_eq(left, 0);
}
END_TEST

START_TEST(repeat_n_runs_n_passes)
{
    put_no_endurance("n.json");
    json_t *one = run_cfg("n.json", "one", "");
    json_t *three = run_cfg("n.json", "three", "--set replay.repeat=3");
    ck_assert_uint_eq(u(one, "lifetime", "passes"), 1);
    ck_assert_uint_eq(u(three, "lifetime", "passes"), 3);
    ck_assert_str_eq(json_string_value(get(three, "lifetime", "ended_by")), "passes");
    static const char *const ops[] = {"alloc", "free", "realloc", "write", "read"};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(u(three, "events", ops[i]), 3 * u(one, "events", ops[i]));
    ck_assert_uint_eq(u(three, "lifetime", "events"), 3 * u(one, "lifetime", "events"));
    /* the trace leaves objects live; earlier passes' are freed, the last's stay */
    uint64_t live = u(one, "heap", "live_objects_at_end");
    ck_assert_uint_gt(live, 0);
    ck_assert_uint_eq(u(three, "heap", "live_objects_at_end"), live);
    ck_assert_uint_eq(u(three, "lifetime", "moves"), 0);
    json_decref(one);
    json_decref(three);
}
END_TEST

static const char *err_text(void)
{
    static char buf[4096];
    FILE *f = fopen(path_in("stderr"), "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

START_TEST(bad_values_exit_2)
{
    put("c.json", cfg);
    char args[1600];
    static const char *const bad[][2] = {
        {"replay.repeat=0", "replay.repeat"},
        {"replay.repeat=forever", "replay.repeat"},
        {"replay.repeat=-2", "replay.repeat"},
        {"replay.max_passes=0", "replay.max_passes"},
        {"analysis.capacity_loss=0", "analysis.capacity_loss"},
        {"analysis.capacity_loss=1.5", "analysis.capacity_loss"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "run %s -o %s --set %s", path_in("c.json"), path_in("x"), bad[i][0]);
        ck_assert_int_eq(pmarena(args), 2);
        ck_assert_msg(strstr(err_text(), bad[i][1]), "%s: stderr does not name %s", bad[i][0], bad[i][1]);
    }
    /* until-failure needs cells that fail */
    put_no_endurance("n.json");
    snprintf(args, sizeof args, "run %s -o %s --set replay.repeat=until-failure", path_in("n.json"), path_in("x"));
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert_ptr_nonnull(strstr(err_text(), "replay.repeat"));
    ck_assert_ptr_nonnull(strstr(err_text(), "device.endurance"));
    /* the good values pass validation */
    snprintf(args, sizeof args, "validate %s --set replay.repeat=until-failure --set analysis.capacity_loss=0.5",
             path_in("c.json"));
    ck_assert_int_eq(pmarena(args), 0);
}
END_TEST

/* A sweep over replay.repeat: sweep.csv carries the lifetime columns, a
 * one-pass point ended by its passes and the until-failure one by wear. */
static int column(const char *header, const char *name)
{
    int col = 0;
    for (const char *p = header; *p; col++) {
        size_t len = strcspn(p, ",\n");
        if (len == strlen(name) && strncmp(p, name, len) == 0)
            return col;
        p += len;
        if (*p == ',')
            p++;
        else
            break;
    }
    return -1;
}

static void field(const char *line, int col, char *out, size_t cap)
{
    for (int c = 0; c < col && line; c++) {
        line = strchr(line, ',');
        line = line ? line + 1 : NULL;
    }
    size_t len = line ? strcspn(line, ",\n") : 0;
    snprintf(out, cap, "%.*s", (int)len, line ? line : "");
}

START_TEST(sweep_table_has_lifetime_columns)
{
    char text[sizeof cfg + 200];
    snprintf(text, sizeof text, "%.*s,\n \"sweep\": {\"replay.repeat\": [1, \"until-failure\"]}}\n",
             (int)(strrchr(cfg, '}') - cfg), cfg);
    put("sw.json", text);
    char args[1600];
    snprintf(args, sizeof args, "sweep %s -o %s", path_in("sw.json"), path_in("sw"));
    ck_assert_int_eq(pmarena_to(args, "stdout"), 0);
    FILE *f = fopen(path_in("sw/sweep.csv"), "r");
    ck_assert_ptr_nonnull(f);
    char header[8192], row[2][8192];
    ck_assert_ptr_nonnull(fgets(header, sizeof header, f));
    ck_assert_ptr_nonnull(fgets(row[0], sizeof row[0], f));
    ck_assert_ptr_nonnull(fgets(row[1], sizeof row[1], f));
    fclose(f);
    int rep = column(header, "replay.repeat"), passes = column(header, "lifetime.passes"),
        ended = column(header, "lifetime.ended_by"), first = column(header, "lifetime.events_to_first_failure"),
        failed = column(header, "failures.failed_cells");
    ck_assert_msg(rep >= 0 && passes >= 0 && ended >= 0 && first >= 0 && failed >= 0, "%s", header);
    for (int r = 0; r < 2; r++) {
        char v[64], p[64], e[64], fi[64], fc[64];
        field(row[r], rep, v, sizeof v);
        field(row[r], passes, p, sizeof p);
        field(row[r], ended, e, sizeof e);
        field(row[r], first, fi, sizeof fi);
        field(row[r], failed, fc, sizeof fc);
        if (strcmp(v, "1") == 0) {
            ck_assert_str_eq(p, "1");
            ck_assert_str_eq(e, "passes");
        } else {
            ck_assert_msg(strstr(v, "until-failure") != NULL, "%s", v);
            ck_assert_str_ne(e, "passes");
            ck_assert_msg(atoll(fi) > 0 && atoll(fc) > 0, "first failure %s, failed cells %s", fi, fc);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifetime_e2e");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, until_failure_runs_to_the_end_of_life);
    tcase_add_test(tc, gc_links_outlive_worn_entries);
    tcase_add_test(tc, worn_log_is_named);
    tcase_add_test(tc, repeat_file_trace_parsed_once);
    tcase_add_test(tc, repeat_n_runs_n_passes);
    tcase_add_test(tc, bad_values_exit_2);
    tcase_add_test(tc, sweep_table_has_lifetime_columns);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
