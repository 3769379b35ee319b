/* test_sweep_provenance.c - sweeps never reuse a stale point, with the real
 * binary: a changed value list, base config or trace file reruns what it
 * changed (and the table holds only current points); merge refuses folders of
 * different sweeps naming what differs; a one-point shard succeeds with its
 * plots; object values give valid CSV; a held DIR/.lock stops a second sweep. */
#include "testutil.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-sweepprov-XXXXXX";
static char bin[4096];   /* PMARENA_BIN made absolute: the commands run in dir */

static const char *in(const char *name)
{
    static char buf[8][700];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 700, "%s/%s", dir, name);
    return p;
}

/* Runs `pmarena ARGS` (ARGS formatted) with stderr into dir/err; exit status. */
static int pm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int pm(const char *fmt, ...)
{
    char args[3000], cmd[8000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s >/dev/null 2>%s/err", dir, bin, args, dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

static void put(const char *name, const char *text)
{
    FILE *f = fopen(in(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A sweep config over allocator.granularity with the given list. */
static void put_sweep(const char *name, const char *size, const char *trace, const char *list)
{
    char text[1000];
    snprintf(text, sizeof text,
             "{\"name\": \"p\", \"device\": {\"kind\": \"sim\", \"size\": \"%s\"},\n"
             " \"trace\": %s,\n \"sweep\": {\"allocator.granularity\": %s}}\n", size, trace, list);
    put(name, text);
}

static const char *gen_trace = "{\"gen\": {\"pattern\": \"churn\", \"events\": 1500, \"seed\": 1}}";

/* The granularity column of sweep.csv, as "g1 g2 ..." in row order. */
static void granularities(const char *csv, char *out, size_t len)
{
    char cmd[1500];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import csv,sys; print(\" \".join(r[\"allocator.granularity\"] for r in "
             "csv.DictReader(open(sys.argv[1], newline=\"\"))))' %s", csv);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    if (!fgets(out, (int)len, p))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

static json_t *load(const char *path)
{
    json_t *j = json_load_file(in(path), 0, NULL);
    ck_assert_msg(j != NULL, "cannot read %s", path);
    return j;
}

START_TEST(changed_list_reruns_and_table_is_current)
{
    put_sweep("l.json", "16MiB", gen_trace, "[1, 16, 64]");
    ck_assert_int_eq(pm("sweep l.json -o l"), 0);
    char g[200];
    granularities(in("l/sweep.csv"), g, sizeof g);
    ck_assert_str_eq(g, "1 16 64");
    put_sweep("l.json", "16MiB", gen_trace, "[2, 16]");
    ck_assert_int_eq(pm("sweep l.json -o l"), 0);
    char *err = slurp(in("err"));
    ck_assert_msg(strstr(err, "2 points: 1 reused, 1 rerun (config changed: 1), 0 new"), "%s", err);
    ck_assert_msg(strstr(err, "removed 1 point(s) no longer in the sweep"), "%s", err);
    free(err);
    granularities(in("l/sweep.csv"), g, sizeof g);
    ck_assert_str_eq(g, "2 16");
    ck_assert_int_ne(access(in("l/points/00002"), F_OK), 0);
    json_t *s = load("l/points/00000/summary.json");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(s, "config"), "allocator"),
                                                        "granularity")), 2);
    json_t *p = json_object_get(s, "provenance");
    ck_assert_int_eq(strlen(json_string_value(json_object_get(p, "config_hash"))), 32);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(p, "trace_checksum"))), 32);
    ck_assert_int_gt(json_integer_value(json_object_get(p, "trace_bytes")), 0);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "version")));
    ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "git_revision")));
    json_decref(s);
    /* Nothing changed: everything is reused. */
    ck_assert_int_eq(pm("sweep l.json -o l"), 0);
    err = slurp(in("err"));
    ck_assert_msg(strstr(err, "2 points: 2 reused, 0 rerun, 0 new"), "%s", err);
    free(err);
}
END_TEST

START_TEST(changed_base_config_reruns)
{
    put_sweep("b.json", "16MiB", gen_trace, "[1, 64]");
    ck_assert_int_eq(pm("sweep b.json -o b"), 0);
    put_sweep("b.json", "32MiB", gen_trace, "[1, 64]");
    ck_assert_int_eq(pm("sweep b.json -o b"), 0);
    char *err = slurp(in("err"));
    ck_assert_msg(strstr(err, "2 points: 0 reused, 2 rerun (config changed: 2), 0 new"), "%s", err);
    free(err);
    for (int i = 0; i < 2; i++) {
        char p[100];
        snprintf(p, sizeof p, "b/points/%05d/summary.json", i);
        json_t *s = load(p);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s, "device"), "size")), 32 << 20);
        json_decref(s);
    }
}
END_TEST

START_TEST(changed_trace_file_reruns)
{
    ck_assert_int_eq(pm("gen -o t.jsonl --pattern churn --events 1000 --seed 1"), 0);
    put_sweep("t.json", "16MiB", "{\"file\": \"t.jsonl\"}", "[1, 64]");
    ck_assert_int_eq(pm("sweep t.json -o t"), 0);
    json_t *s = load("t/points/00001/summary.json");
    char before[64];
    snprintf(before, sizeof before, "%s",
             json_string_value(json_object_get(json_object_get(s, "provenance"), "trace_checksum")));
    json_int_t allocs = json_integer_value(json_object_get(json_object_get(s, "events"), "alloc"));
    json_decref(s);
    ck_assert_int_eq(strlen(before), 32);
    /* The same path, other contents. */
    ck_assert_int_eq(pm("gen -o t.jsonl --pattern churn --events 3000 --seed 2"), 0);
    ck_assert_int_eq(pm("sweep t.json -o t"), 0);
    char *err = slurp(in("err"));
    ck_assert_msg(strstr(err, "2 points: 0 reused, 2 rerun (trace changed: 2), 0 new"), "%s", err);
    free(err);
    s = load("t/points/00001/summary.json");
    ck_assert_str_ne(json_string_value(json_object_get(json_object_get(s, "provenance"), "trace_checksum")), before);
    ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(s, "events"), "alloc")), allocs);
    json_decref(s);
}
END_TEST

START_TEST(merge_refuses_different_sweeps)
{
    put_sweep("m1.json", "16MiB", gen_trace, "[1, 64]");
    put_sweep("m2.json", "32MiB", gen_trace, "[1, 64]");
    put_sweep("m3.json", "16MiB", gen_trace, "[1, 16]");
    ck_assert_int_eq(pm("sweep m1.json --shard 1/2 -o m1a"), 0);
    ck_assert_int_eq(pm("sweep m1.json --shard 2/2 -o m1b"), 0);
    ck_assert_int_eq(pm("sweep m2.json --shard 2/2 -o m2b"), 0);
    ck_assert_int_eq(pm("sweep m3.json --shard 2/2 -o m3b"), 0);
    ck_assert_int_eq(pm("merge m1a m2b -o mixed"), 2);
    char *err = slurp(in("err"));
    ck_assert_msg(strstr(err, "device.size") && strstr(err, "m1a") && strstr(err, "m2b"), "%s", err);
    ck_assert_msg(!strstr(err, "allocator.granularity"), "%s", err);
    free(err);
    ck_assert_int_ne(access(in("mixed/sweep.csv"), F_OK), 0);
    ck_assert_int_eq(pm("merge m1a m3b -o mixed"), 2);
    err = slurp(in("err"));
    ck_assert_msg(strstr(err, "values swept for allocator.granularity"), "%s", err);
    free(err);
    /* Shards of one sweep still merge, a point found twice counted once. */
    ck_assert_int_eq(pm("merge m1a m1b m1a -o ok"), 0);
    char g[200];
    granularities(in("ok/sweep.csv"), g, sizeof g);
    ck_assert_str_eq(g, "1 64");
}
END_TEST

START_TEST(one_point_shard_succeeds)
{
    /* 1000 events: G=1 leaves internal fragmentation undefined (no value to plot). */
    put_sweep("o.json", "16MiB", "{\"gen\": {\"pattern\": \"churn\", \"events\": 1000, \"seed\": 1}}", "[1, 64]");
    ck_assert_int_eq(pm("sweep o.json --shard 1/2 -o o1"), 0);
    struct stat sb;
    ck_assert_int_eq(stat(in("o1/sweep_wear_max_vs_allocator_granularity.png"), &sb), 0);
    ck_assert_int_gt(sb.st_size, 2000);
    char *gp = slurp(in("o1/sweep_wear_max_vs_allocator_granularity.gp"));
    ck_assert_ptr_nonnull(gp);
    ck_assert_msg(strstr(gp, "with points") && !strstr(gp, "linespoints"), "%s", gp);
    free(gp);
}
END_TEST

START_TEST(object_values_give_valid_csv)
{
    put("obj.json", "{\"name\": \"o\", \"device\": {\"kind\": \"sim\", \"size\": \"16MiB\"},\n"
                    " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"events\": 1000, \"seed\": 1}},\n"
                    " \"sweep\": {\"device.latency\": [{\"write_ns\": 100, \"read_ns\": 300},"
                    " {\"write_ns\": 500, \"read_ns\": 300}]}}\n");
    ck_assert_int_eq(pm("sweep obj.json -o obj"), 0);
    char cmd[1500];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import csv,json,sys\n"
             "rows = list(csv.reader(open(sys.argv[1], newline=\"\")))\n"
             "ok = len(rows) == 3 and all(len(r) == len(rows[0]) for r in rows)\n"
             "ok = ok and json.loads(rows[2][1]) == {\"write_ns\": 500, \"read_ns\": 300}\n"
             "sys.exit(0 if ok else 1)' %s", in("obj/sweep.csv"));
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
    /* A categorical axis: points, never lines. */
    char *gp = slurp(in("obj/sweep_wear_max_vs_device_latency.gp"));
    ck_assert_ptr_nonnull(gp);
    ck_assert_msg(strstr(gp, "with points") && !strstr(gp, "linespoints"), "%s", gp);
    free(gp);
}
END_TEST

START_TEST(held_lock_refuses_second_sweep)
{
    put_sweep("k.json", "16MiB", gen_trace, "[1, 64]");
    ck_assert_int_eq(mkdir(in("k"), 0755), 0);
    int fd = open(in("k/.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(flock(fd, LOCK_EX), 0);
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    ck_assert_int_eq(write(fd, pid, (size_t)n), n);
    ck_assert_int_eq(pm("sweep k.json -o k"), 1);
    char *err = slurp(in("err"));
    pid[n - 1] = '\0';
    ck_assert_msg(strstr(err, in("k")) || strstr(err, " k "), "%s", err);
    ck_assert_msg(strstr(err, pid) && strstr(err, "in use"), "%s", err);
    free(err);
    ck_assert_int_ne(access(in("k/points"), F_OK), 0);        /* nothing ran */
    close(fd);
    ck_assert_int_eq(pm("sweep k.json -o k"), 0);
    ck_assert_int_eq(access(in("k/points/00001/.done"), F_OK), 0);
}
END_TEST

int main(void)
{
    const char *b = getenv("PMARENA_BIN");
    if (!b || !realpath(b, bin) || !mkdtemp(dir)) {
        fprintf(stderr, "test_sweep_provenance: PMARENA_BIN must name the pmarena binary\n");
        return 1;
    }
    Suite *s = suite_create("sweep_provenance");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, changed_list_reruns_and_table_is_current);
    tcase_add_test(tc, changed_base_config_reruns);
    tcase_add_test(tc, changed_trace_file_reruns);
    tcase_add_test(tc, merge_refuses_different_sweeps);
    tcase_add_test(tc, one_point_shard_succeeds);
    tcase_add_test(tc, object_values_give_valid_csv);
    tcase_add_test(tc, held_lock_refuses_second_sweep);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? rc : 1;
}
