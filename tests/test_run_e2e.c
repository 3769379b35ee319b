/* test_run_e2e.c - `pmarena run` end to end with the real binary: the tiny
 * inline trace gives exactly the known per-cell numbers in summary.json;
 * invariants hold on a generated run (data + meta = total, mean * cells =
 * total, fractions within [0, 1], undefined values null); every policy,
 * layout, metadata placement and persistence protocol by name through --set,
 * a misspelled one refused with exit 2; the "persistence" block names the
 * protocol run, has every counter, and its ratios agree with the counters
 * (null, never NaN, when undefined); bad configs exit 2 and write nothing;
 * the PNGs are PNGs. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-run-XXXXXX";
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

static bool is_null(json_t *root, const char *a, const char *b)
{
    return json_is_null(json_object_get(json_object_get(root, a), b));
}

static const char *tiny =
    "{\"name\": \"tiny\",\n"
    " \"device\": {\"kind\": \"sim\", \"size\": \"16MiB\", \"cell_size\": 1},\n"
    " \"allocator\": {\"granularity\": 1, \"metadata\": \"dram\", \"policy\": \"first-fit\"},\n"
    " \"replay\": {\"mode\": \"deterministic\", \"on_alloc\": \"none\"},\n"
    " \"trace\": {\"events\": [\n"
    "   {\"op\": \"alloc\", \"id\": 1, \"size\": 64},\n"
    "   {\"op\": \"write\", \"id\": 1, \"offset\": 0, \"len\": 64},\n"
    "   {\"op\": \"write\", \"id\": 1, \"offset\": 0, \"len\": 64},\n"
    "   {\"op\": \"free\", \"id\": 1}]}}\n";

START_TEST(tiny_exact_numbers)
{
    put("tiny.json", tiny);
    char args[1400];
    snprintf(args, sizeof args, "run %s -o %s", path_in("tiny.json"), path_in("tiny"));
    ck_assert_int_eq(pmarena(args), 0);
    json_t *s = json_load_file(path_in("tiny/summary.json"), 0, NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_double_eq(num(s, "wear.total_writes"), 128);
    ck_assert_double_eq(num(s, "wear.data_writes"), 128);
    ck_assert_double_eq(num(s, "wear.meta_writes"), 0);
    ck_assert_double_eq(num(s, "wear.max"), 2);
    ck_assert_double_eq(num(s, "wear.cells_touched"), 64);
    ck_assert_double_eq(num(s, "device.cells"), 16 << 20);
    ck_assert_double_eq(num(s, "events.alloc"), 1);
    ck_assert_double_eq(num(s, "events.write"), 2);
    ck_assert_double_eq_tol(num(s, "wear.mean"), 128.0 / (16 << 20), 1e-12);
    ck_assert_double_eq_tol(num(s, "wear.hotspot"), 2.0 / (128.0 / (16 << 20)), 1e-3);
    ck_assert_double_eq(num(s, "wear_data.max"), 2);
    ck_assert(is_null(s, "wear_meta", "hotspot"));      /* no metadata writes: 0/0 */
    ck_assert(is_null(s, "wear_meta", "gini"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "config"), "name")), "tiny");
    /* Not given: the default protocol, in the echo and in the block. */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(s, "config"), "allocator"),
                                                       "persistence")), "log");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s, "persistence"), "protocol")), "log");
    ck_assert_double_eq(num(s, "persistence.meta_writes_per_op"), 0);   /* metadata dram: 0 writes / 2 ops */
    json_decref(s);
}
END_TEST

START_TEST(invariants_on_a_generated_run)
{
    put("gen.json", "{\"device\": {\"size\": \"32MiB\", \"cell_size\": 64},\n"
                    " \"allocator\": {\"granularity\": 8, \"metadata\": \"nvram\"},\n"
                    " \"replay\": {\"extra_writes\": 1},\n"
                    " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 3, \"events\": 20000, \"live\": 500}}}\n");
    char args[1400];
    snprintf(args, sizeof args, "run %s -o %s --quiet", path_in("gen.json"), path_in("gen"));
    ck_assert_int_eq(pmarena(args), 0);
    json_t *s = json_load_file(path_in("gen/summary.json"), 0, NULL);
    ck_assert_ptr_nonnull(s);
    double total = num(s, "wear.total_writes"), cells = num(s, "device.cells");
    ck_assert_double_gt(total, 0);
    ck_assert_double_eq(num(s, "wear.data_writes") + num(s, "wear.meta_writes"), total);
    ck_assert_double_eq(num(s, "wear_data.total_writes"), num(s, "wear.data_writes"));
    ck_assert_double_eq_tol(num(s, "wear.mean") * cells, total, total * 1e-9);
    ck_assert_double_gt(num(s, "wear.meta_writes"), 0);
    ck_assert_double_ge(num(s, "wear.max"), num(s, "wear.p99"));
    ck_assert_double_ge(num(s, "wear.p99"), num(s, "wear.p50"));
    const char *fractions[] = {"wear.gini", "wear.lifetime_fraction", "fragmentation.internal",
                               "fragmentation.external", "fragmentation.utilization"};
    for (size_t i = 0; i < sizeof fractions / sizeof fractions[0]; i++) {
        double v = num(s, fractions[i]);
        ck_assert_msg(v >= 0 && v <= 1, "%s = %g", fractions[i], v);
    }
    ck_assert_double_gt(num(s, "wear.projected_lifetime_s"), 0);
    ck_assert_double_gt(num(s, "time.simulated_ns"), 0);
    ck_assert_double_ge(num(s, "fragmentation.samples"), 2);
    json_decref(s);
    /* The plots are PNGs of sensible size, each beside its script. */
    const char *plots[] = {"wear_hist", "wear_cdf", "heatmap", "meta_kinds", "frag"};
    for (size_t i = 0; i < sizeof plots / sizeof plots[0]; i++) {
        char png[300], gp[300];
        snprintf(png, sizeof png, "gen/%s.png", plots[i]);
        snprintf(gp, sizeof gp, "gen/%s.gp", plots[i]);
        FILE *f = fopen(path_in(png), "rb");
        ck_assert_msg(f != NULL, "%s missing", png);
        unsigned char m[8];
        ck_assert_uint_eq(fread(m, 1, 8, f), 8);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        ck_assert_mem_eq(m, "\x89PNG\r\n\x1a\n", 8);
        ck_assert_int_gt(size, 2000);
        ck_assert_int_eq(access(path_in(gp), R_OK), 0);
    }
}
END_TEST

static const char *const sets[] = {
    "allocator.policy=first-fit", "allocator.policy=next-fit", "allocator.policy=wear-aware",
    "allocator.policy=lafo", "allocator.bitmap_layout=linear", "allocator.bitmap_layout=interleaved",
    "allocator.metadata=nvram", "allocator.metadata=hybrid", "allocator.metadata=dram",
    "allocator.persistence=intent", "allocator.persistence=log",
};

START_TEST(every_name_through_set)
{
    put("tiny.json", tiny);
    char args[1400];
    snprintf(args, sizeof args, "run %s -o %s/set%d --quiet --set %s", path_in("tiny.json"), dir, _i, sets[_i]);
    ck_assert_int_eq(pmarena(args), 0);
    char sum[700];
    snprintf(sum, sizeof sum, "%s/set%d/summary.json", dir, _i);
    json_t *s = json_load_file(sum, 0, NULL);
    ck_assert_ptr_nonnull(s);
    const char *eq = strchr(sets[_i], '='), *dot = strchr(sets[_i], '.');
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    json_t *alloc = json_object_get(json_object_get(s, "config"), "allocator");
    ck_assert_str_eq(json_string_value(json_object_get(alloc, key)), eq + 1);
    ck_assert_double_eq(num(s, "wear.data_writes"), 128);
    json_decref(s);
}
END_TEST

/* A number, or null where its denominator is 0; never anything else. */
static bool num_or_null(json_t *o, const char *key, double *v)
{
    json_t *x = json_object_get(o, key);
    ck_assert_msg(json_is_number(x) || json_is_null(x), "persistence.%s is neither a number nor null", key);
    *v = json_is_number(x) ? json_number_value(x) : NAN;
    return json_is_number(x);
}

static uint64_t counter(json_t *o, const char *key)
{
    json_t *x = json_object_get(o, key);
    ck_assert_msg(json_is_integer(x) && json_integer_value(x) >= 0, "persistence.%s is not a count", key);
    return (uint64_t)json_integer_value(x);
}

static const char *const protocols[] = {"intent", "log", "gc"};

/* Every protocol runs on NVRAM metadata, where the protocol matters. The
 * allocator may not count cache or flush traffic yet, so the checks are on
 * the block's shape and on the ratios agreeing with its own counters. */
START_TEST(persistence_block_names_the_protocol)
{
    put("pers.json", "{\"device\": {\"size\": \"16MiB\", \"cell_size\": 64},\n"
                     " \"allocator\": {\"granularity\": 16, \"metadata\": \"nvram\", \"arena_size\": \"256KiB\"},\n"
                     " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 7, \"events\": 4000, \"live\": 200}}}\n");
    const char *proto = protocols[_i];
    char args[1400], out[700], sum[800];
    snprintf(out, sizeof out, "%s/pers-%s", dir, proto);
    snprintf(args, sizeof args, "run %s -o %s --set allocator.persistence=%s", path_in("pers.json"), out, proto);
    ck_assert_int_eq(pmarena(args), 0);
    snprintf(sum, sizeof sum, "%s/summary.json", out);
    json_t *s = json_load_file(sum, 0, NULL);
    ck_assert_ptr_nonnull(s);
    json_t *p = json_object_get(s, "persistence");
    ck_assert(json_is_object(p));
    ck_assert_str_eq(json_string_value(json_object_get(p, "protocol")), proto);
    json_t *alloc = json_object_get(json_object_get(s, "config"), "allocator");
    ck_assert_str_eq(json_string_value(json_object_get(alloc, "persistence")), proto);
    ck_assert(json_is_object(json_object_get(s, "heap")));          /* kept beside it */
    uint64_t hits = counter(p, "cache_hits"), misses = counter(p, "cache_misses");
    uint64_t flushes = counter(p, "flushes"), fences = counter(p, "fences"), meta = counter(p, "meta_bytes");
    counter(p, "cached_bytes");
    counter(p, "checkpoints");
    counter(p, "log_wraps");
    double v;
    if (num_or_null(p, "cache_hit_ratio", &v))
        ck_assert_double_eq_tol(v, (double)hits / (double)(hits + misses), 1e-9);
    else
        ck_assert_uint_eq(hits + misses, 0);
    /* Ops are the heap's gets and returns: at least the trace's allocs. */
    double ops = num(s, "events.alloc") + num(s, "events.free");
    ck_assert_double_gt(ops, 0);
    double fl, fe, ff, mb;
    ck_assert(num_or_null(p, "flushes_per_op", &fl));
    ck_assert(num_or_null(p, "fences_per_op", &fe));
    ck_assert(num_or_null(p, "flushes_fences_per_op", &ff));
    ck_assert(num_or_null(p, "meta_bytes_per_op", &mb));
    ck_assert_double_ge(fl, 0);
    ck_assert_double_eq_tol(ff, fl + fe, 1e-9 * (ff + 1));
    /* The per-op figures share one denominator (the heap's gets and returns). */
    if (flushes) {
        double heap_ops = (double)flushes / fl;
        ck_assert_double_eq_tol(fe * heap_ops, (double)fences, 1e-6 * heap_ops);
        ck_assert_double_eq_tol(mb * heap_ops, (double)meta, 1e-6 * heap_ops);
    } else {
        ck_assert_double_eq(fl, 0);
    }
    ck_assert_msg((meta == 0) == (mb == 0), "meta_bytes %llu but meta_bytes_per_op %g", (unsigned long long)meta, mb);
    if (!strcmp(proto, "gc"))            /* gc stores nothing per get or return */
        ck_assert_uint_eq(flushes + fences + meta, 0);
    else
        ck_assert_uint_gt(flushes, 0);
    ck_assert_msg((fences == 0) == (fe == 0), "fences %llu but fences_per_op %g", (unsigned long long)fences, fe);
    /* meta_writes_per_op: the device's metadata writes over alloc+free+realloc. */
    double trace_ops = num(s, "events.alloc") + num(s, "events.free") + num(s, "events.realloc");
    ck_assert_double_eq_tol(num(s, "persistence.meta_writes_per_op"), num(s, "wear.meta_writes") / trace_ops, 1e-9);
    json_decref(s);
    /* The printed summary has the line too. */
    FILE *f = fopen(path_in("stdout"), "r");
    ck_assert_ptr_nonnull(f);
    char line[400], want[64];
    bool found = false;
    snprintf(want, sizeof want, "persistence %s: ", proto);
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, want) && strstr(line, "flushes +") && strstr(line, "cache hit");
    fclose(f);
    ck_assert_msg(found, "no \"%s...\" line in the printed summary", want);
}
END_TEST

/* No operations at all: every per-op figure and the hit ratio are null. */
START_TEST(persistence_ratios_null_without_ops)
{
    put("empty.json", "{\"device\": {\"size\": \"16MiB\"}, \"trace\": {\"events\": []}}\n");
    char args[1400];
    snprintf(args, sizeof args, "run %s -o %s --quiet", path_in("empty.json"), path_in("empty"));
    ck_assert_int_eq(pmarena(args), 0);
    json_t *s = json_load_file(path_in("empty/summary.json"), 0, NULL);
    ck_assert_ptr_nonnull(s);
    static const char *const ratios[] = {"cache_hit_ratio", "flushes_per_op", "fences_per_op",
                                         "flushes_fences_per_op", "meta_bytes_per_op", "meta_writes_per_op"};
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++)
        ck_assert_msg(is_null(s, "persistence", ratios[i]), "persistence.%s is not null", ratios[i]);
    json_decref(s);
}
END_TEST

START_TEST(bad_input_exits_2_and_writes_nothing)
{
    put("tiny.json", tiny);
    static const struct { const char *args_fmt, *needle; } cases[] = {
        {"run %s -o %s --set allocator.policy=fist-fit", "allocator.policy"},
        {"run %s -o %s --set device.cell_size=3", "cell_size"},
        {"run %s -o %s --set allocator.granularity=0", "granularity"},
        {"run %s -o %s --set allocator.wear_spread_percent=101", "wear_spread_percent"},
        {"run %s -o %s --set allocator.persistence=bogus", "allocator.persistence: \"bogus\" is not allowed"},
        {"run %s -o %s --set allocator.persistence=1", "allocator.persistence"},
        {"run %s -o %s --set replay.mode=parallel", "replay.mode"},
        {"run %s -o %s --set device.colour=red", "device.colour"},
        {"run %s -o %s --set 'trace={\"file\":\"/no/such/trace.jsonl\"}'", "cannot be read"},
        {"run %s -o %s --set trace.file=/no/such/trace.jsonl", "exactly one of"},
        {"run %s -o %s --set 'trace.events=[{\"op\":\"free\",\"id\":3}]'", "not live"},
        {"run %s -o %s --bogus", "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[600], args[1600];
        snprintf(out, sizeof out, "%s/bad%zu", dir, i);
        snprintf(args, sizeof args, cases[i].args_fmt, path_in("tiny.json"), out);
        ck_assert_msg(pmarena(args) == 2, "case %zu should exit 2", i);
        ck_assert_msg(access(out, F_OK) != 0, "case %zu wrote %s", i, out);
        FILE *f = fopen(path_in("stderr"), "r");
        char line[1200] = "";
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        fclose(f);
        ck_assert_msg(strstr(line, cases[i].needle) != NULL, "case %zu: %s", i, line);
    }
    put("syntax.json", "{\"name\": \"x\",\n \"trace\": {\"events\": [}\n");
    char args[1400];
    snprintf(args, sizeof args, "run %s -o %s", path_in("syntax.json"), path_in("syntax"));
    ck_assert_int_eq(pmarena(args), 2);
    FILE *f = fopen(path_in("stderr"), "r");
    char line[1200] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    char want[700];
    snprintf(want, sizeof want, "%s:2:", path_in("syntax.json"));
    ck_assert_msg(strstr(line, want) != NULL, "%s", line);
    ck_assert_int_ne(access(path_in("syntax"), F_OK), 0);
    /* A bad protocol in the file itself: run and validate both refuse it. */
    put("badp.json", "{\"allocator\": {\"persistence\": \"redo\"}, \"trace\": {\"events\": []}}\n");
    snprintf(args, sizeof args, "run %s -o %s", path_in("badp.json"), path_in("badp"));
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert_int_ne(access(path_in("badp"), F_OK), 0);
    f = fopen(path_in("stderr"), "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_msg(strstr(line, "badp.json") && strstr(line, "allocator.persistence: \"redo\""), "%s", line);
    snprintf(args, sizeof args, "validate %s", path_in("badp.json"));
    ck_assert_int_eq(pmarena(args), 2);
    f = fopen(path_in("stderr"), "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_msg(strstr(line, "badp.json") && strstr(line, "allocator.persistence"), "%s", line);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("run_e2e");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tiny_exact_numbers);
    tcase_add_test(tc, invariants_on_a_generated_run);
    tcase_add_loop_test(tc, every_name_through_set, 0, (int)(sizeof sets / sizeof sets[0]));
    tcase_add_loop_test(tc, persistence_block_names_the_protocol, 0, (int)(sizeof protocols / sizeof protocols[0]));
    tcase_add_test(tc, persistence_ratios_null_without_ops);
    tcase_add_test(tc, bad_input_exits_2_and_writes_nothing);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? rc : 1;
}
