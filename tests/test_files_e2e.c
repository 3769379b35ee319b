/* test_files_e2e.c - what `pmarena run` does with its results folder, end to
 * end with the real binary: -o naming a file, or a place that cannot be
 * written even by root (under a file, under /proc), is exit 2 at once with
 * nothing touched; a user's non-empty folder is never replaced; a second run
 * into the folder of a first replaces it whole (cells.csv of a --cells run
 * is gone after a run without); SIGINT/SIGTERM during a run leave no
 * temporary, no generated trace in $TMPDIR and no results folder, and the
 * process dies of the signal. */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-files-XXXXXX";
#include "e2eutil.h"

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* A small run (well under a second) on a generated trace. */
static const char *small =
    "{\"name\": \"small\", \"device\": {\"kind\": \"sim\", \"size\": \"16MiB\", \"cell_size\": 64},\n"
    " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 1, \"events\": 20000, \"live\": 200,\n"
    "   \"size\": {\"dist\": \"uniform\", \"min\": 8, \"max\": 512}}}}\n";

/* A run of some seconds (the trace is generated first, then replayed). */
static const char *big =
    "{\"name\": \"big\", \"device\": {\"kind\": \"sim\", \"size\": \"64MiB\", \"cell_size\": 64},\n"
    " \"replay\": {\"mode\": \"deterministic\", \"on_alloc\": \"full\", \"extra_writes\": 2},\n"
    " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 1, \"events\": 3000000, \"live\": 2000,\n"
    "   \"size\": {\"dist\": \"lognormal\", \"mu\": 4.5, \"sigma\": 1.0, \"min\": 8, \"max\": 4096}}}}\n";

START_TEST(o_naming_a_file_is_refused_at_once)
{
    put("small.json", small);
    put("afile", "keep me\n");
    struct stat before, after;
    ck_assert_int_eq(stat(path_in("afile"), &before), 0);
    char args[1400];
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("small.json"), path_in("afile"));
    double t0 = now_s();
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert_msg(now_s() - t0 < 0.3, "refused only after %.2f s: the run went ahead first", now_s() - t0);
    ck_assert_int_eq(stat(path_in("afile"), &after), 0);
    ck_assert(S_ISREG(after.st_mode));
    ck_assert_int_eq(after.st_size, before.st_size);
    ck_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    /* The default config too (the acceptance check). */
    snprintf(args, sizeof args, "run configs/default.json --quiet -o %s", path_in("afile"));
    t0 = now_s();
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert_msg(now_s() - t0 < 1.0, "refused only after %.2f s", now_s() - t0);
    ck_assert_int_eq(stat(path_in("afile"), &after), 0);
    ck_assert_int_eq(after.st_size, before.st_size);
    /* The other commands that write a folder: refused before they measure or read. */
    const char *others[] = {"bench --quick -o %s", "merge -o %s %s"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        snprintf(args, sizeof args, others[i], path_in("afile"), path_in("nosuchsweep"));
        t0 = now_s();
        ck_assert_msg(pmarena(args) == 2, "pmarena %s: not exit 2", args);
        ck_assert_msg(now_s() - t0 < 1.0, "%s refused only after %.2f s", args, now_s() - t0);
        ck_assert_int_eq(stat(path_in("afile"), &after), 0);
        ck_assert_int_eq(after.st_size, before.st_size);
    }
}
END_TEST

/* Places no one can write, root included: under a regular file, under /proc. */
START_TEST(o_unwritable_is_refused_at_once)
{
    put("small.json", small);
    put("plain", "x");
    const char *bad[] = {"plain/sub", "plain/a/b", "/proc/pmarena-no/such"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[700], args[1400];
        snprintf(out, sizeof out, "%s", bad[i][0] == '/' ? bad[i] : path_in(bad[i]));
        snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("small.json"), out);
        double t0 = now_s();
        ck_assert_msg(pmarena(args) == 2, "-o %s: not refused", out);
        ck_assert_msg(now_s() - t0 < 0.3, "-o %s refused only after %.2f s", out, now_s() - t0);
    }
    /* The sweep checks its -o the same way. */
    put("sw.json", "{\"name\": \"sw\", \"device\": {\"kind\": \"sim\", \"size\": \"16MiB\"},\n"
                   " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 1, \"events\": 2000, \"live\": 50,\n"
                   "   \"size\": {\"dist\": \"uniform\", \"min\": 8, \"max\": 64}}},\n"
                   " \"sweep\": {\"allocator.granularity\": [8, 16]}}\n");
    char args[1400];
    snprintf(args, sizeof args, "sweep %s --quiet -o %s", path_in("sw.json"), path_in("plain"));
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert(!exists(path_in("plain.tmp")));
}
END_TEST

START_TEST(users_folder_never_replaced)
{
    put("small.json", small);
    mkdir(path_in("mine"), 0755);
    put("mine/notes.txt", "precious\n");
    char args[1400];
    snprintf(args, sizeof args, "run %s --quiet -o %s", path_in("small.json"), path_in("mine"));
    ck_assert_int_eq(pmarena(args), 2);
    ck_assert(exists(path_in("mine/notes.txt")));
    ck_assert(!exists(path_in("mine/summary.json")));
}
END_TEST

/* How many names under folder d (recursively) look like temporaries; the
 * first one found goes to first. */
static int count_tmp(const char *d, char *first, size_t len)
{
    DIR *dd = opendir(d);
    if (!dd)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        if (strstr(e->d_name, ".tmp") || strstr(e->d_name, ".log") || strstr(e->d_name, "pmarena-gen")) {
            if (!n++ && !first[0])
                snprintf(first, len, "%s", p);
        }
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_tmp(p, first, len);
    }
    closedir(dd);
    return n;
}

START_TEST(stale_files_do_not_survive)
{
    put("small.json", small);
    char args[1400];
    snprintf(args, sizeof args, "run %s --quiet --cells -o %s", path_in("small.json"), path_in("res"));
    ck_assert_int_eq(pmarena(args), 0);
    ck_assert(exists(path_in("res/cells.csv")));
    ck_assert(exists(path_in("res/wear_hist.csv")));
    snprintf(args, sizeof args, "run %s -o %s", path_in("small.json"), path_in("res"));
    ck_assert_int_eq(pmarena(args), 0);
    ck_assert_msg(!exists(path_in("res/cells.csv")), "cells.csv of the earlier --cells run survived");
    ck_assert(exists(path_in("res/summary.json")));
    /* It says so, and where it wrote. */
    char line[2000] = "", all[8000] = "";
    FILE *f = fopen(path_in("stderr"), "r");
    while (fgets(line, sizeof line, f))
        strncat(all, line, sizeof all - strlen(all) - 1);
    fclose(f);
    ck_assert_msg(strstr(all, "replacing the earlier run in"), "stderr: %s", all);
    all[0] = '\0';
    f = fopen(path_in("stdout"), "r");
    while (fgets(line, sizeof line, f))
        strncat(all, line, sizeof all - strlen(all) - 1);
    fclose(f);
    ck_assert_msg(strstr(all, path_in("res")), "stdout does not name the folder: %s", all);
    /* A dram run after a sim run: no wear files of the sim run left. */
    snprintf(args, sizeof args, "run %s --quiet --set device.kind=dram -o %s", path_in("small.json"), path_in("res"));
    ck_assert_int_eq(pmarena(args), 0);
    ck_assert_msg(!exists(path_in("res/wear_hist.csv")), "wear_hist.csv of the earlier sim run survived");
    ck_assert(exists(path_in("res/frag.csv")));
    char first[1200] = "";
    ck_assert_msg(count_tmp(dir, first, sizeof first) == 0, "left behind: %s", first);
}
END_TEST

/* SIGINT (then SIGTERM) some way into a run of several seconds. */
START_TEST(signal_leaves_nothing)
{
    static const int sigs[] = {SIGINT, SIGTERM};
    int sig = sigs[_i];
    put("big.json", big);
    char tmpdir[700], out[700], first[1200] = "";
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp%d", dir, _i);
    snprintf(out, sizeof out, "%s/sig%d/res", dir, _i);
    ck_assert_int_eq(mkdir(tmpdir, 0755), 0);
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    /* Two moments: during the trace's generation, and during the replay. */
    static const double delays[] = {0.5, 3.0};
    for (int k = 0; k < 2; k++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            setenv("TMPDIR", tmpdir, 1);
            freopen("/dev/null", "w", stdout);
            execl(bin, bin, "run", path_in("big.json"), "--quiet", "-o", out, (char *)NULL);
            _exit(127);
        }
        struct timespec ts = {(time_t)delays[k], (long)((delays[k] - (int)delays[k]) * 1e9)};
        nanosleep(&ts, NULL);
        ck_assert_int_eq(kill(pid, sig), 0);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        bool died = (WIFSIGNALED(st) && WTERMSIG(st) == sig) || (WIFEXITED(st) && WEXITSTATUS(st) == 128 + sig);
        ck_assert_msg(died, "signal %d after %.1f s: status %#x (finished before the signal? make the trace longer)",
                      sig, delays[k], st);
        ck_assert_msg(count_tmp(tmpdir, first, sizeof first) == 0, "in $TMPDIR: %s", first);
        char parent[800];
        snprintf(parent, sizeof parent, "%s/sig%d", dir, _i);
        ck_assert_msg(count_tmp(parent, first, sizeof first) == 0, "left behind: %s", first);
        ck_assert_msg(!exists(out), "a partial results folder %s", out);
        /* Not in /tmp either, whatever $TMPDIR said. */
        char gen[200];
        snprintf(gen, sizeof gen, "/tmp/pmarena-gen-%ld.jsonl", (long)pid);
        bool in_tmp = exists(gen);
        unlink(gen);
        strncat(gen, ".tmp.", sizeof gen - strlen(gen) - 1);
        snprintf(gen + strlen(gen), sizeof gen - strlen(gen), "%ld", (long)pid);
        in_tmp |= exists(gen);
        unlink(gen);
        ck_assert_msg(!in_tmp, "the generated trace was left in /tmp (TMPDIR was %s)", tmpdir);
    }
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("files_e2e");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, o_naming_a_file_is_refused_at_once);
    tcase_add_test(tc, o_unwritable_is_refused_at_once);
    tcase_add_test(tc, users_folder_never_replaced);
    tcase_add_test(tc, stale_files_do_not_survive);
    tcase_add_loop_test(tc, signal_leaves_nothing, 0, 2);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return rc;
}
