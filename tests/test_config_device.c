/* test_config_device.c - the "device" block of a JSON config -> nv_config:
 * defaults kept, every key read, sizes with units, and bad values refused with
 * a message naming the key, the value and what is allowed. Also the
 * allocator block's persistence key: read, defaulted, refused when unknown,
 * and echoed in the resolved experiment config. */
#include "testutil.h"
#include "../experiment/config_json.h"

#include <string.h>

static int parse(const char *text, nv_config *cfg, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    ck_assert_msg(o != NULL, "test JSON is bad: %s", je.text);
    nv_config_defaults(cfg);
    int rc = cfg_device_from_json(cfg, o, "device", err, errlen);
    json_decref(o);
    return rc;
}

START_TEST(reads_every_key)
{
    nv_config c;
    char err[300];
    ck_assert_int_eq(parse("{\"kind\":\"sim\",\"size\":\"16MiB\",\"cell_size\":1,"
                           "\"write_model\":\"dcw\",\"media_line\":256,\"preset\":\"pcm\","
                           "\"latency\":{\"write_ns\":500},\"crash_sim\":true}", &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.size, 16u << 20);
    ck_assert_uint_eq(c.cell_size, 1);
    ck_assert_int_eq(c.write_model, NV_MODEL_DCW);
    ck_assert_uint_eq(c.media_line, 256);
    ck_assert_int_eq(c.preset, NV_PRESET_PCM);
    ck_assert_double_eq_tol(c.latency.write_ns, 500, 1e-9);              /* override wins */
    ck_assert_double_eq_tol(c.latency.read_ns, nv_preset_latency(NV_PRESET_PCM).read_ns, 1e-9);
    ck_assert(c.crash_sim);
    ck_assert_int_eq(parse("{}", &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.size, 256u << 20);
    ck_assert_uint_eq(c.cell_size, 64);
    json_t *j = cfg_device_to_json(&c);
    ck_assert_str_eq(json_string_value(json_object_get(j, "preset")), "optane");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "size")), 256 << 20);
    json_decref(j);
}
END_TEST

START_TEST(sizes_with_units)
{
    static const struct { const char *text; uint64_t want; } ok[] = {
        {"4096", 4096}, {"\"64\"", 64}, {"\"4KiB\"", 4096}, {"\"4 KiB\"", 4096},
        {"\"1.5GiB\"", 1536ull << 20}, {"\"2M\"", 2u << 20}, {"\"16MB\"", 16000000},
        {"\"1TiB\"", 1ull << 40},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        json_t *v = json_loads(ok[i].text, JSON_DECODE_ANY, NULL);
        uint64_t got = 0;
        char err[200];
        ck_assert_int_eq(cfg_size_parse(v, &got, "x", err, sizeof err), 0);
        ck_assert_uint_eq(got, ok[i].want);
        json_decref(v);
    }
    static const char *const bad[] = {"-1", "\"12 parsecs\"", "\"MiB\"", "true", "\"0.3B\"", "\"-4KiB\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        uint64_t got;
        char err[200];
        ck_assert_int_eq(cfg_size_parse(v, &got, "device.size", err, sizeof err), CFG_EINVAL);
        ck_assert_msg(strncmp(err, "device.size: ", 13) == 0, "message: %s", err);
        json_decref(v);
    }
}
END_TEST

START_TEST(bad_values_name_key_value_and_allowed)
{
    static const struct { const char *text, *msg; } cases[] = {
        {"{\"cell_size\":3}", "device.cell_size: 3 is not allowed (a power of two from 1 to 4096)"},
        {"{\"cell_size\":8192}", "device.cell_size: 8192 is not allowed (a power of two from 1 to 4096)"},
        {"{\"cell_size\":\"64\"}", "device.cell_size: \"64\" is not allowed (a non-negative integer)"},
        {"{\"kind\":\"nvdimm\"}", "device.kind: \"nvdimm\" is not allowed (one of: sim, dram, file)"},
        {"{\"write_model\":\"flip\"}", "device.write_model: \"flip\" is not allowed (one of: line, dcw)"},
        {"{\"preset\":\"optain\"}", "device.preset: \"optain\" is not allowed (one of: optane, pcm, sttram, reram)"},
        {"{\"cellsize\":64}", "device.cellsize: unknown key (allowed: kind, size, path, cell_size, "
                              "write_model, media_line, preset, latency, crash_sim, endurance, spare_lines, leveling)"},
        {"{\"media_line\":100}", "device.media_line: 100 is not allowed (0, or a power of two >= cell_size 64)"},
        {"{\"latency\":{\"read_ns\":-5}}", "device.latency.read_ns: -5 is not allowed (a number of ns from 0 to 1e9)"},
        {"{\"latency\":{\"rd\":5}}", "device.latency.rd: unknown key (allowed: read_ns, write_ns, flush_ns, fence_ns)"},
        {"{\"crash_sim\":1}", "device.crash_sim: expected true or false"},
        {"{\"kind\":\"file\"}", "device.path: the file device needs a path"},
        {"{\"size\":0}", "device.size: 0 is not allowed (at least one byte)"},
        {"{\"size\":\"lots\"}", "device.size: \"lots\" is not a size (like \"256MiB\", \"4KiB\", \"64\")"},
        {"[1]", "device: expected an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nv_config c;
        char err[300] = "";
        ck_assert_int_eq(parse(cases[i].text, &c, err, sizeof err), CFG_EINVAL);
        ck_assert_str_eq(err, cases[i].msg);
    }
}
END_TEST

static int parse_alloc(const char *text, pma_config *cfg, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    ck_assert_msg(o != NULL, "test JSON is bad: %s", je.text);
    pma_config_defaults(cfg);
    int rc = cfg_allocator_from_json(cfg, o, "allocator", err, errlen);
    json_decref(o);
    return rc;
}

START_TEST(allocator_persistence)
{
    pma_config c;
    char err[300] = "";
    ck_assert_int_eq(parse_alloc("{}", &c, err, sizeof err), 0);
    ck_assert_int_eq(c.persistence, PMA_PERSIST_LOG);                    /* the default */
    ck_assert_int_eq(parse_alloc("{\"persistence\":\"intent\"}", &c, err, sizeof err), 0);
    ck_assert_int_eq(c.persistence, PMA_PERSIST_INTENT);
    ck_assert_int_eq(parse_alloc("{\"persistence\":\"log\",\"metadata\":\"nvram\"}", &c, err, sizeof err), 0);
    ck_assert_int_eq(c.persistence, PMA_PERSIST_LOG);
    ck_assert_int_eq(c.metadata, PMA_META_NVRAM);
    /* Refused, naming the key path, the value and (at least) the protocols
     * known today; a protocol added later may lengthen the list. */
    static const struct { const char *text, *msg; } bad[] = {
        {"{\"persistence\":\"bogus\"}", "allocator.persistence: \"bogus\" is not allowed (one of: intent, log"},
        {"{\"persistence\":\"Log\"}", "allocator.persistence: \"Log\" is not allowed (one of: intent, log"},
        {"{\"persistence\":1}", "allocator.persistence: 1 is not allowed (one of: intent, log"},
        {"{\"persistence\":null}", "allocator.persistence: null is not allowed (one of: intent, log"},
        {"{\"persitence\":\"log\"}", "allocator.persitence: unknown key (allowed: "},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse_alloc(bad[i].text, &c, err, sizeof err), CFG_EINVAL);
        ck_assert_msg(strncmp(err, bad[i].msg, strlen(bad[i].msg)) == 0, "case %zu: %s", i, err);
    }
    ck_assert_ptr_nonnull(strstr(err, "persistence"));     /* the unknown-key message lists it */
}
END_TEST

/* allocator.log_kib: 0 (automatic) or a multiple of 8 from 8 to 8192. */
START_TEST(allocator_log_kib)
{
    pma_config c;
    char err[300] = "";
    ck_assert_int_eq(parse_alloc("{}", &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.log_kib, 0);
    ck_assert_int_eq(parse_alloc("{\"log_kib\":64}", &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.log_kib, 64);
    static const char *const bad[] = {"{\"log_kib\":4}", "{\"log_kib\":12}", "{\"log_kib\":8200}",
                                      "{\"log_kib\":-8}", "{\"log_kib\":\"8\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        ck_assert_int_ne(parse_alloc(bad[i], &c, err, sizeof err), 0);
        ck_assert_msg(strstr(err, "log_kib") != NULL, "%s: %s", bad[i], err);
    }
}
END_TEST

START_TEST(experiment_echoes_persistence)
{
    static const char *const protocols[] = {"intent", "log", "gc"};
    for (size_t i = 0; i < 3; i++) {
        char text[300], err[300] = "";
        snprintf(text, sizeof text, "{\"allocator\": {\"persistence\": \"%s\"}, \"trace\": {\"events\": []}}",
                 protocols[i]);
        json_t *root = json_loads(text, 0, NULL);
        ck_assert_ptr_nonnull(root);
        cfg_experiment x;
        ck_assert_int_eq(cfg_experiment_from_json(&x, root, "p.json", err, sizeof err), 0);
        ck_assert_str_eq(pma_persistence_name(x.allocator.persistence), protocols[i]);
        json_t *r = cfg_experiment_resolved(&x);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "allocator"), "persistence")),
                         protocols[i]);
        json_decref(r);
        cfg_experiment_free(&x);
    }
    /* Not given: the default is echoed. */
    json_t *root = json_loads("{\"trace\": {\"events\": []}}", 0, NULL);
    cfg_experiment x;
    char err[300];
    ck_assert_int_eq(cfg_experiment_from_json(&x, root, "p.json", err, sizeof err), 0);
    json_t *r = cfg_experiment_resolved(&x);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "allocator"), "persistence")), "log");
    json_decref(r);
    cfg_experiment_free(&x);
    /* --set with a bad value: loading fails, naming the key. */
    root = json_loads("{\"trace\": {\"events\": []}}", 0, NULL);
    ck_assert_int_eq(cfg_apply_set(root, "allocator.persistence=undo", err, sizeof err), 0);
    ck_assert_int_eq(cfg_experiment_from_json(&x, root, "p.json", err, sizeof err), CFG_EINVAL);
    ck_assert_msg(strstr(err, "allocator.persistence: \"undo\"") != NULL, "%s", err);
    cfg_experiment_free(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_device");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, reads_every_key);
    tcase_add_test(tc, sizes_with_units);
    tcase_add_test(tc, bad_values_name_key_value_and_allowed);
    tcase_add_test(tc, allocator_persistence);
    tcase_add_test(tc, allocator_log_kib);
    tcase_add_test(tc, experiment_echoes_persistence);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
