/* test_limits_e2e.c - resource limits, end to end with the real binary: a sim
 * device with more cells than a run can scan is refused by validate and run
 * alike (exit 2, at once); a results disk that fills (RLIMIT_FSIZE, set in
 * the child before the shell starts pmarena) is exit 1 with the file named,
 * no temporary and no partial file left, the earlier results kept; a trace
 * line over TR_MAX_LINE, and a gzip bomb of one endless line under a small
 * RLIMIT_AS, are exit 2 naming the file and the line; host memory cut short
 * (RLIMIT_AS at many sizes) is exit 0 or exit 1 with a message, never a
 * crash, a hang or a partial results folder; a file device larger than the
 * host's memory runs on a sparse file; a new one larger than the free disk
 * or the file-size limit is refused by validate and run alike (exit 2)
 * naming the file; PMARENA_LIVE_OBJECTS (10^6 here, 10^7 in
 * `make test-limits`) objects live at once replay and are all counted. */
#include "testutil.h"
#include "pmarena/config.h"
#include "pmarena/trace.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static char dir[] = "/tmp/pmarena-limits-XXXXXX";
#include "e2eutil.h"

/* `pmarena ARGS` (stdout to dir/stdout, stderr to dir/stderr) with one
 * resource limited to `bytes` in the child; the exit status, or 128 + the
 * signal that killed it. */
static int pmarena_limited(int resource, rlim_t bytes, const char *args)
{
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "exec %s %s >%s 2>%s", bin, args, path_in("stdout"), path_in("stderr"));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit rl = {bytes, bytes};
        if (setrlimit(resource, &rl) != 0)
            _exit(99);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(98);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool stderr_has(const char *s)
{
    const char *e = slurp(path_in("stderr"));
    return e && strstr(e, s);
}

/* Names under dir (recursively) containing ".tmp": how many. */
static int temporaries(const char *d)
{
    DIR *dd = opendir(d);
    if (!dd)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (strstr(e->d_name, ".tmp"))
            n++;
        char sub[1200];
        snprintf(sub, sizeof sub, "%s/%s", d, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += temporaries(sub);
    }
    closedir(dd);
    return n;
}

/* ---- a device with more cells than a run can scan -------------------------- */

static void put_sim_config(const char *name, const char *size_json)
{
    char text[600];
    snprintf(text, sizeof text,
             "{\"name\": \"big\", \"device\": {\"kind\": \"sim\", \"size\": %s, \"cell_size\": 64},\n"
             " \"trace\": {\"events\": [{\"op\": \"alloc\", \"id\": 1, \"size\": 64}, {\"op\": \"free\", \"id\": 1}]}}\n",
             size_json);
    put(name, text);
}

START_TEST(sim_device_past_the_cell_limit_is_refused_by_validate_and_run)
{
    char size[64], args[1400], limit[32];
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)CFG_SIM_MAX_CELLS);
    /* At the limit it validates; one cell more does not. */
    snprintf(size, sizeof size, "%llu", (unsigned long long)(CFG_SIM_MAX_CELLS * 64));
    put_sim_config("at.json", size);
    snprintf(args, sizeof args, "validate %s", path_in("at.json"));
    ck_assert_int_eq(pmarena(args), 0);
    snprintf(size, sizeof size, "%llu", (unsigned long long)(CFG_SIM_MAX_CELLS * 64 + 1));
    put_sim_config("over.json", size);
    snprintf(args, sizeof args, "validate %s", path_in("over.json"));
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert_msg(stderr_has("device.size") && stderr_has(limit), "%s", slurp(path_in("stderr")));

    /* The acceptance case: 1 TiB, a two-event trace. Both refuse, at once. */
    put_sim_config("tib.json", "\"1TiB\"");
    snprintf(args, sizeof args, "validate %s", path_in("tib.json"));
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert_msg(stderr_has("device.size") && stderr_has(limit), "%s", slurp(path_in("stderr")));
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("tib.json"), path_in("out"));
    double t0 = now_s();
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert_msg(now_s() - t0 < 5, "refused only after %.1f s", now_s() - t0);
    ck_assert_msg(stderr_has("device.size") && stderr_has(limit), "%s", slurp(path_in("stderr")));
    ck_assert_int_ne(access(path_in("out"), F_OK), 0);
    /* --set reaches the same check. */
    snprintf(args, sizeof args, "validate %s --set device.size=2TiB", path_in("at.json"));
    ck_assert_int_eq(pmarena(args), 2);
}
END_TEST

/* ---- the results disk fills ------------------------------------------------ */

/* Inline events: a generated trace would be written to $TMPDIR first, under
 * the same limit. */
static const char *small =
    "{\"name\": \"small\", \"device\": {\"kind\": \"sim\", \"size\": \"4MiB\", \"cell_size\": 64},\n"
    " \"trace\": {\"events\": [{\"op\": \"alloc\", \"id\": 1, \"size\": 64}, {\"op\": \"alloc\", \"id\": 2, \"size\": 300},\n"
    "   {\"op\": \"write\", \"id\": 2, \"offset\": 0, \"len\": 300}, {\"op\": \"free\", \"id\": 1},\n"
    "   {\"op\": \"alloc\", \"id\": 3, \"size\": 4000}, {\"op\": \"free\", \"id\": 2}, {\"op\": \"free\", \"id\": 3}]}}\n";

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

START_TEST(results_disk_full_is_exit_1_with_nothing_partial)
{
    put("small.json", small);
    char args[1400];
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("small.json"), path_in("res"));
    /* 8 KiB: smaller than heat.csv. The folder never appears. */
    ck_assert_int_eq(pmarena_limited(RLIMIT_FSIZE, 8192, args), 1);
    ck_assert_msg(stderr_has("File too large") && stderr_has("/res/"), "%s", slurp(path_in("stderr")));
    ck_assert_int_eq(temporaries(dir), 0);
    ck_assert_int_ne(access(path_in("res"), F_OK), 0);

    /* An earlier run's results survive a later run that cannot write. */
    ck_assert_int_eq(pmarena(args), 0);
    const char *s = slurp(path_in("res/summary.json"));
    ck_assert_ptr_nonnull(s);
    char *before = strdup(s);
    ck_assert_int_eq(pmarena_limited(RLIMIT_FSIZE, 8192, args), 1);
    ck_assert_int_eq(temporaries(dir), 0);
    ck_assert_str_eq(slurp(path_in("res/summary.json")), before);
    free(before);
}
END_TEST

/* Room for every data file but not for the biggest PNG: gnuplot is cut off.
 * The run fails (1), its summary and data are kept, and no PNG is partial. */
START_TEST(plot_cut_off_by_the_limit_leaves_no_partial_png)
{
    put("small.json", small);
    char args[1400];
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("small.json"), path_in("full"));
    ck_assert_int_eq(pmarena(args), 0);
    off_t data = 0, png = 0;
    DIR *d = opendir(path_in("full"));
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char p[300];
        snprintf(p, sizeof p, "full/%.250s", e->d_name);
        off_t n = file_size(path_in(p));
        if (strstr(e->d_name, ".png"))
            png = n > png ? n : png;
        else if (e->d_name[0] != '.')
            data = n > data ? n : data;
    }
    closedir(d);
    ck_assert_msg(data < png, "data files up to %lld bytes, PNGs up to %lld", (long long)data, (long long)png);

    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("small.json"), path_in("cut"));
    ck_assert_int_eq(pmarena_limited(RLIMIT_FSIZE, (rlim_t)data, args), 1);
    ck_assert_msg(stderr_has("plot") && stderr_has("File too large"), "%s", slurp(path_in("stderr")));
    ck_assert_int_eq(temporaries(dir), 0);
    json_error_t je;
    json_t *sum = json_load_file(path_in("cut/summary.json"), 0, &je);
    ck_assert_msg(sum != NULL, "summary.json: %s", je.text);
    json_decref(sum);
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    int pngs = 0;
    d = opendir(path_in("cut"));
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".png"))
            continue;
        char p[300];
        snprintf(p, sizeof p, "cut/%.250s", e->d_name);
        FILE *f = fopen(path_in(p), "rb");
        unsigned char tail[12];
        ck_assert(f && fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12);
        fclose(f);
        ck_assert_msg(!memcmp(tail, iend, 12), "%s is cut off", e->d_name);
        pngs++;
    }
    closedir(d);
    /* Some PNG is missing: the limit did bite a plot. */
    ck_assert_int_lt(pngs, 6);
}
END_TEST

/* ---- trace lines ----------------------------------------------------------- */

static const char header[] = "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\n";

/* A trace whose second line is an event padded with blanks to `len` bytes. */
static void put_padded_trace(const char *name, size_t len)
{
    static const char ev[] = "{\"op\":\"alloc\",\"id\":1,\"size\":8}";
    FILE *f = fopen(path_in(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(header, f);
    fputs(ev, f);
    for (size_t i = sizeof ev - 1; i < len; i++)
        fputc(' ', f);
    fputs("\n{\"op\":\"free\",\"id\":1}\n", f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(a_line_over_the_limit_is_exit_2_naming_file_and_line)
{
    char args[1400], where[700], limit[32];
    snprintf(limit, sizeof limit, "%zu", TR_MAX_LINE);
    put_padded_trace("at.jsonl", TR_MAX_LINE);
    snprintf(args, sizeof args, "validate %s", path_in("at.jsonl"));
    ck_assert_int_eq(pmarena(args), 0);
    put_padded_trace("over.jsonl", TR_MAX_LINE + 1);
    snprintf(args, sizeof args, "validate %s", path_in("over.jsonl"));
    ck_assert_int_eq(pmarena(args), 2);
    snprintf(where, sizeof where, "%s:2:", path_in("over.jsonl"));
    ck_assert_msg(stderr_has(where) && stderr_has(limit), "%s", slurp(path_in("stderr")));
}
END_TEST

/* 256 MiB of one character, gzip'd (about 1 MiB), read under a 128 MiB
 * address-space limit: refused after the first MiB, not by running out. */
START_TEST(a_gzip_bomb_is_exit_2_in_bounded_memory)
{
    gzFile gz = gzopen(path_in("bomb.jsonl.gz"), "wb1");
    ck_assert_ptr_nonnull(gz);
    static char chunk[1 << 20];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 256; i++)
        ck_assert_int_eq(gzwrite(gz, chunk, sizeof chunk), (int)sizeof chunk);
    ck_assert_int_eq(gzclose(gz), Z_OK);
    char args[1400], where[700];
    snprintf(args, sizeof args, "validate %s", path_in("bomb.jsonl.gz"));
    /* A sanitizer build reserves terabytes of shadow and cannot start under
     * the limit at all: it is then checked without it (ASan reports leaks
     * and overflows instead). */
    rlim_t as = pmarena_limited(RLIMIT_AS, (rlim_t)128 << 20, "--version") == 0 ? (rlim_t)128 << 20 : RLIM_INFINITY;
    double t0 = now_s();
    ck_assert_int_eq(pmarena_limited(RLIMIT_AS, as, args), 2);
    ck_assert_msg(now_s() - t0 < 5, "took %.1f s", now_s() - t0);
    snprintf(where, sizeof where, "%s:1:", path_in("bomb.jsonl.gz"));
    ck_assert_msg(stderr_has(where) && stderr_has("longer than"), "%s", slurp(path_in("stderr")));
}
END_TEST

/* ---- host memory and disk ---------------------------------------------------- */

/* The default experiment under address-space limits from well below what it
 * needs to well above: each run ends by itself (exit 0), or exit 1 saying
 * memory ran out with nothing left behind. Before, some limits made the
 * reader thread crawl (a 1 s run still going after 120 s), and a failed
 * parse allocation was reported as bad JSON, exit 2. */
START_TEST(host_memory_cut_short_is_exit_1_and_clear)
{
    if (pmarena_limited(RLIMIT_AS, (rlim_t)128 << 20, "--version") != 0) {
        /* A sanitizer build reserves terabytes of shadow: it cannot start
         * under any such limit, so there is nothing to sweep. */
        printf("limits_e2e: sanitizer build, RLIMIT_AS sweep not applicable\n");
        return;
    }
    int ok = 0, failed = 0;
    for (int mb = 240; mb <= 1024; mb += mb < 480 ? 20 : 544) {
        char out[700], args[1600];
        snprintf(out, sizeof out, "%s/as%d", path_in(""), mb);
        snprintf(args, sizeof args, "run configs/default.json --quiet -o %s", out);
        double t0 = now_s();
        int rc = pmarena_limited(RLIMIT_AS, (rlim_t)mb << 20, args);
        double took = now_s() - t0;
        ck_assert_msg(rc == 0 || rc == 1, "%d MB: exit %d: %s", mb, rc, slurp(path_in("stderr")));
        ck_assert_msg(took < 45, "%d MB: took %.1f s", mb, took);
        ck_assert_int_eq(temporaries(path_in("")), 0);
        if (rc == 1) {
            failed++;
            ck_assert_msg(stderr_has("memory"), "%d MB: %s", mb, slurp(path_in("stderr")));
            ck_assert_int_ne(access(out, F_OK), 0);           /* no partial folder */
        } else {
            ok++;
            char sum[800];
            snprintf(sum, sizeof sum, "%s/summary.json", out);
            json_error_t je;
            json_t *j = json_load_file(sum, 0, &je);
            ck_assert_msg(j != NULL, "%d MB: summary.json: %s", mb, je.text);
            json_decref(j);
        }
    }
    ck_assert_int_ge(failed, 1);     /* the sweep reached below what a run needs */
    ck_assert_int_ge(ok, 1);         /* ... and above */
}
END_TEST

static void put_file_config(const char *name, const char *dev, const char *size)
{
    char text[1400];
    snprintf(text, sizeof text,
             "{\"name\": \"file\", \"device\": {\"kind\": \"file\", \"size\": \"%s\", \"path\": \"%s\"},\n"
             " \"trace\": {\"events\": [{\"op\": \"alloc\", \"id\": 1, \"size\": 64},\n"
             "   {\"op\": \"write\", \"id\": 1, \"offset\": 0, \"len\": 64}, {\"op\": \"free\", \"id\": 1}]}}\n",
             size, dev);
    put(name, text);
}

/* 64 GiB, more than the test machines' memory: a sparse file made beforehand
 * is mapped as it is and stays sparse. */
START_TEST(file_device_larger_than_memory_on_a_sparse_file)
{
    char dev[700];      /* path_in's buffers rotate: keep a copy */
    snprintf(dev, sizeof dev, "%s", path_in("sparse.img"));
    int fd = open(dev, O_CREAT | O_WRONLY, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)64 << 30), 0);
    close(fd);
    put_file_config("sparse.json", dev, "64GiB");
    char args[1400];
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("sparse.json"), path_in("out"));
    ck_assert_msg(pmarena(args) == 0, "%s", slurp(path_in("stderr")));
    struct stat st;
    ck_assert_int_eq(stat(dev, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)64 << 30);
    ck_assert_msg((uint64_t)st.st_blocks * 512 < (256ull << 20), "%llu bytes allocated",
                  (unsigned long long)st.st_blocks * 512);
    snprintf(args, sizeof args, "%s/summary.json", path_in("out"));
    ck_assert_int_eq(access(args, F_OK), 0);
}
END_TEST

/* A new file device the disk cannot hold: validate and run both refuse it
 * (exit 2) naming the file and the room there, before anything is made
 * (before: validate said ok and run failed with "device I/O failed" after
 * posix_fallocate had filled the disk). The same for one over the file-size
 * limit (ulimit -f). */
START_TEST(file_device_larger_than_the_disk_is_refused_naming_it)
{
    char dev[700], args[1400], size[64];
    snprintf(dev, sizeof dev, "%s", path_in("huge.img"));
    struct statvfs v;
    ck_assert_int_eq(statvfs(path_in(""), &v), 0);
    unsigned long long gib = ((unsigned long long)v.f_bavail * v.f_frsize >> 30) + 1;
    if (gib <= 1024) {                  /* a device is at most 1 TiB */
        snprintf(size, sizeof size, "%lluGiB", gib);
        put_file_config("huge.json", dev, size);
        snprintf(args, sizeof args, "validate %s", path_in("huge.json"));
        ck_assert_int_eq(pmarena(args), 2);
        ck_assert_msg(stderr_has(dev) && stderr_has("does not fit") && stderr_has("sparse"), "%s",
                      slurp(path_in("stderr")));
        snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("huge.json"), path_in("out"));
        double t0 = now_s();
        ck_assert_int_eq(pmarena(args), 2);
        ck_assert_msg(now_s() - t0 < 5, "refused only after %.1f s", now_s() - t0);
        ck_assert_msg(stderr_has(dev) && stderr_has("does not fit"), "%s", slurp(path_in("stderr")));
        ck_assert_int_ne(access(dev, F_OK), 0);
        ck_assert_int_ne(access(path_in("out"), F_OK), 0);
    }
    put_file_config("big.json", dev, "2GiB");
    snprintf(args, sizeof args, "validate %s", path_in("big.json"));
    ck_assert_int_eq(pmarena_limited(RLIMIT_FSIZE, (rlim_t)1 << 30, args), 2);
    ck_assert_msg(stderr_has(dev) && stderr_has("file size limit"), "%s", slurp(path_in("stderr")));
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("big.json"), path_in("out"));
    ck_assert_int_eq(pmarena_limited(RLIMIT_FSIZE, (rlim_t)1 << 30, args), 2);
    ck_assert_msg(stderr_has(dev) && stderr_has("file size limit"), "%s", slurp(path_in("stderr")));
    ck_assert_int_ne(access(dev, F_OK), 0);
    ck_assert_int_ne(access(path_in("out"), F_OK), 0);
}
END_TEST

/* N objects live at once (no frees): the replay keeps them all and counts
 * them. The trace is written here (JSON Lines); a DRAM device keeps the run
 * about the host's tables, not the cell counters. */
START_TEST(many_live_objects_replay)
{
    const char *e = getenv("PMARENA_LIVE_OBJECTS");
    unsigned long long n = e && atoll(e) > 0 ? (unsigned long long)atoll(e) : 1000000;
    FILE *f = fopen(path_in("live.jsonl"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"format\":\"pmarena-trace\",\"version\":1,\"threads\":1}\n");
    for (unsigned long long i = 1; i <= n; i++)
        fprintf(f, "{\"op\":\"alloc\",\"id\":%llu,\"size\":16}\n", i);
    ck_assert_int_eq(fclose(f), 0);
    char text[1400], args[1400];
    unsigned long long mib = n * 32 / (1 << 20) + 64;
    snprintf(text, sizeof text,
             "{\"name\": \"live\", \"device\": {\"kind\": \"dram\", \"size\": \"%lluMiB\"},\n"
             " \"trace\": {\"file\": \"%s\"}}\n", mib, path_in("live.jsonl"));
    put("live.json", text);
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("live.json"), path_in("out"));
    double t0 = now_s();
    ck_assert_msg(pmarena(args) == 0, "%s", slurp(path_in("stderr")));
    printf("limits_e2e: %llu live objects replayed in %.1f s\n", n, now_s() - t0);
    snprintf(args, sizeof args, "%s/summary.json", path_in("out"));
    json_error_t je;
    json_t *j = json_load_file(args, 0, &je);
    ck_assert_msg(j != NULL, "%s", je.text);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "events"), "alloc")), (json_int_t)n);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "heap"), "live_objects_at_end")),
                     (json_int_t)n);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "heap"), "failed_allocs")), 0);
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("limits_e2e");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, sim_device_past_the_cell_limit_is_refused_by_validate_and_run);
    tcase_add_test(tc, results_disk_full_is_exit_1_with_nothing_partial);
    tcase_add_test(tc, plot_cut_off_by_the_limit_leaves_no_partial_png);
    tcase_add_test(tc, a_line_over_the_limit_is_exit_2_naming_file_and_line);
    tcase_add_test(tc, a_gzip_bomb_is_exit_2_in_bounded_memory);
    tcase_add_test(tc, host_memory_cut_short_is_exit_1_and_clear);
    tcase_add_test(tc, file_device_larger_than_memory_on_a_sparse_file);
    tcase_add_test(tc, file_device_larger_than_the_disk_is_refused_naming_it);
    tcase_add_test(tc, many_live_objects_replay);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
