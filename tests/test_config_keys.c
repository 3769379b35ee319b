/* test_config_keys.c - the config key table is both the validator and the
 * reference: docs/CONFIG.md equals what the table renders (through the
 * library and through `pmarena config-keys --markdown`), every key the table
 * lists is checked by the readers (a wrong value is refused under the key's
 * own path, never as an unknown key), and a key it does not list is refused.
 * And a relative trace file is taken from the config file's folder, not from
 * the working directory (a run from another folder, with a same-named trace
 * in the working directory, replays the config folder's). */
#include "testutil.h"
#include "../experiment/config_json.h"
#include "../experiment/config_keys.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(FILE *f)
{
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    if (!buf)
        buf = calloc(1, 1);
    buf[len] = '\0';
    return buf;
}

static char *docs(void)
{
    FILE *f = fopen("docs/CONFIG.md", "r");
    ck_assert_msg(f != NULL, "docs/CONFIG.md not found (run the tests from the project root)");
    char *s = slurp(f);
    fclose(f);
    return s;
}

START_TEST(docs_equal_the_table)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    ck_assert_int_eq(cfg_keys_markdown(f), 0);
    fclose(f);
    char *d = docs();
    ck_assert_msg(strcmp(mem, d) == 0, "docs/CONFIG.md differs from the key table: run `make docs`");
    ck_assert_ptr_nonnull(strstr(d, "`allocator.granularity`"));
    free(mem);
    free(d);
}
END_TEST

START_TEST(docs_equal_the_command)
{
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' config-keys --markdown 2>/dev/null", bin);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *out = slurp(p);
    int st = pclose(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "config-keys --markdown failed");
    char *d = docs();
    ck_assert_msg(strcmp(out, d) == 0, "pmarena config-keys --markdown differs from docs/CONFIG.md");
    free(out);
    free(d);
}
END_TEST

/* Reads root (taken over) as a run would; the error, or "" when it reads. */
static void read_config(json_t *root, char *err, size_t len)
{
    cfg_experiment x;
    err[0] = '\0';
    if (cfg_experiment_from_json(&x, root, "t.json", err, len) == 0)
        err[0] = '\0';
    cfg_experiment_free(&x);
}

START_TEST(every_listed_key_is_checked)
{
    int checked = 0;
    for (size_t i = 0; i < cfg_nkeys; i++) {
        const cfg_key *k = &cfg_keys[i];
        char path[200], err[1000];
        snprintf(path, sizeof path, "%s%s%s", k->block, *k->block ? "." : "", k->name);
        if (strcmp(path, "trace") == 0)
            continue;   /* required: its absence has its own message */
        /* A value no key takes, but an array key takes arrays. */
        const char *bad = strcmp(cfg_key_type_text(k), "array") == 0 ? "3" : "[[]]";
        json_t *root = json_pack("{s:{}}", "trace");
        if (strcmp(k->block, "trace") != 0)
            json_object_set_new(json_object_get(root, "trace"), "gen", json_object());
        ck_assert_int_eq(cfg_set_value(root, path, json_loads(bad, JSON_DECODE_ANY, NULL), err, sizeof err), 0);
        read_config(root, err, sizeof err);
        ck_assert_msg(*err, "%s = %s was accepted", path, bad);
        ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && !strstr(err, "unknown key"),
                      "%s = %s: the message does not name the key: %s", path, bad, err);
        checked++;
    }
    ck_assert_int_gt(checked, 40);
}
END_TEST

START_TEST(unlisted_keys_are_refused)
{
    const char *blocks[] = {"", "device", "device.latency", "allocator", "replay", "trace", "analysis",
                            "analysis.endurance"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        char path[200], err[1000];
        snprintf(path, sizeof path, "%s%snosuchkey", blocks[i], *blocks[i] ? "." : "");
        ck_assert_ptr_null(cfg_key_find(blocks[i], "nosuchkey"));
        json_t *root = json_pack("{s:{s:{}}}", "trace", "gen");
        if (strcmp(blocks[i], "trace") == 0)
            json_object_del(json_object_get(root, "trace"), "gen");
        ck_assert_int_eq(cfg_set_value(root, path, json_integer(1), err, sizeof err), 0);
        read_config(root, err, sizeof err);
        ck_assert_msg(strstr(err, "unknown key") && strncmp(err, path, strlen(path)) == 0,
                      "%s: %s", path, err[0] ? err : "accepted");
    }
}
END_TEST

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *events_of(const char *summary)
{
    json_t *s = json_load_file(summary, 0, NULL);
    ck_assert_msg(s != NULL, "%s does not load", summary);
    json_t *e = json_incref(json_object_get(s, "events"));
    json_decref(s);
    ck_assert_msg(json_is_object(e), "%s has no events", summary);
    return e;
}

START_TEST(relative_trace_is_the_config_folders)
{
    /* The commands run from other folders: the binary's absolute path. */
    const char *bin_env = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin_env);
    char bin[4096];
    ck_assert_ptr_nonnull(realpath(bin_env, bin));
    char dir[] = "/tmp/pmarena-keys-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    /* Two different traces of the same name: the working directory's and
     * the config folder's. */
    ck_assert_int_eq(sh("mkdir -p %s/cfg && cd %s && '%s' gen -o t.jsonl --pattern churn --events 300 --seed 1 >/dev/null 2>&1"
                        " && '%s' gen -o cfg/t.jsonl --pattern churn --events 900 --seed 2 >/dev/null 2>&1",
                        dir, dir, bin, bin), 0);
    const char *conf = "{\"device\": {\"size\": \"16MiB\"}, \"trace\": {\"file\": \"%s\"}}";
    char path[600];
    snprintf(path, sizeof path, "%s/cfg/rel.json", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, conf, "t.jsonl");
    fclose(f);
    snprintf(path, sizeof path, "%s/cfg/abs.json", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    char abs[600];
    snprintf(abs, sizeof abs, "%s/cfg/t.jsonl", dir);
    fprintf(f, conf, abs);
    fclose(f);
    /* From the folder above the config's, and from /. */
    ck_assert_int_eq(sh("cd %s && '%s' run cfg/rel.json --quiet -o rel >/dev/null 2>&1", dir, bin), 0);
    ck_assert_int_eq(sh("cd / && '%s' validate %s/cfg/rel.json >/dev/null 2>&1", bin, dir), 0);
    ck_assert_int_eq(sh("cd / && '%s' run %s/cfg/abs.json --quiet -o %s/abs >/dev/null 2>&1", bin, dir, dir), 0);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/rel/summary.json", dir);
    snprintf(b, sizeof b, "%s/abs/summary.json", dir);
    json_t *ea = events_of(a), *eb = events_of(b);
    ck_assert_msg(json_equal(ea, eb), "the relative trace was not the config folder's");
    json_decref(ea);
    json_decref(eb);
    sh("rm -rf %s", dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config_keys");
    TCase *tc = tcase_create("keys");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, docs_equal_the_table);
    tcase_add_test(tc, docs_equal_the_command);
    tcase_add_test(tc, every_listed_key_is_checked);
    tcase_add_test(tc, unlisted_keys_are_refused);
    tcase_add_test(tc, relative_trace_is_the_config_folders);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
