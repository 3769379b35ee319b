/* test_sweep_e2e.c - `pmarena sweep` and `pmarena merge` with the real
 * binary: -j2 gives the same table as -j1; shards run under GNU parallel and
 * merged give the same table as the unsharded sweep; a sweep killed midway and
 * rerun finishes without redoing finished points; bad sweeps exit 2 and run
 * nothing; report prints runs side by side; a sweep over the persistence
 * protocols runs each one (and validate checks every swept value). */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/pmarena-sweep-XXXXXX";

static const char *in(const char *name)
{
    static char buf[8][700];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 700, "%s/%s", dir, name);
    return p;
}

static int sh(const char *fmt, const char *a, const char *b, const char *c)
{
    char cmd[4000];
    snprintf(cmd, sizeof cmd, fmt, a, b, c);
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

static void put_config(void)
{
    FILE *f = fopen(in("sw.json"), "w");
    fputs("{\"name\": \"sw\",\n"
          " \"device\": {\"size\": \"16MiB\", \"cell_size\": 64},\n"
          " \"allocator\": {\"arena_size\": \"256KiB\"},\n"
          " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 5, \"events\": 4000, \"live\": 200}},\n"
          " \"sweep\": {\"allocator.granularity\": [1, 16, 256], \"allocator.policy\": [\"first-fit\", \"next-fit\"]}}\n", f);
    fclose(f);
}

START_TEST(parallel_and_sharded_tables_match)
{
    put_config();
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_int_eq(sh("%s sweep %s -j1 -o %s --quiet", bin, in("sw.json"), in("j1")), 0);
    ck_assert_int_eq(sh("%s sweep %s -j2 -o %s --quiet", bin, in("sw.json"), in("j2")), 0);
    char *t1 = slurp(in("j1/sweep.csv")), *t2 = slurp(in("j2/sweep.csv"));
    ck_assert_ptr_nonnull(t1);
    ck_assert_ptr_nonnull(t2);
    ck_assert_str_eq(t1, t2);
    int lines = 0;
    for (char *p = t1; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 7);                          /* header + 3 x 2 points */
    ck_assert_ptr_nonnull(strstr(t1, "point,allocator.granularity,allocator.policy,wear.total_writes"));
    /* Three shards under GNU parallel, then merged. */
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "parallel --will-cite -j2 %s sweep %s --shard {}/3 -o %s/shard{} --quiet ::: 1 2 3",
             bin, in("sw.json"), dir);
    int st = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    snprintf(cmd, sizeof cmd, "%s merge -o %s %s/shard1 %s/shard2 %s/shard3 >/dev/null", bin, in("merged"),
             dir, dir, dir);
    st = system(cmd);
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    char *tm = slurp(in("merged/sweep.csv"));
    ck_assert_ptr_nonnull(tm);
    ck_assert_str_eq(tm, t1);
    /* Plots of each key metric against each parameter. */
    struct stat sb;
    ck_assert_int_eq(stat(in("j1/sweep_wear_max_vs_allocator_granularity.png"), &sb), 0);
    ck_assert_int_gt(sb.st_size, 2000);
    ck_assert_int_eq(stat(in("j1/sweep_fragmentation_internal_vs_allocator_policy.png"), &sb), 0);
    free(t1);
    free(t2);
    free(tm);
}
END_TEST

START_TEST(resume_after_kill)
{
    put_config();
    const char *bin = getenv("PMARENA_BIN");
    /* Part of the work done (as by a killed run): shard 1 of 2. */
    ck_assert_int_eq(sh("%s sweep %s --shard 1/2 -o %s --quiet", bin, in("sw.json"), in("res")), 0);
    struct stat before;
    ck_assert_int_eq(stat(in("res/points/00000/.done"), &before), 0);
    ck_assert_int_ne(access(in("res/points/00001/.done"), F_OK), 0);
    sleep(1);
    /* A real kill: start the whole sweep, kill it once a point has finished. */
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        execl(bin, bin, "sweep", in("sw.json"), "-o", in("res"), "--quiet", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400 && access(in("res/points/00001/.done"), F_OK) != 0; i++)
        usleep(10000);
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(sh("%s sweep %s -o %s --quiet", bin, in("sw.json"), in("res")), 0);
    struct stat after;
    ck_assert_int_eq(stat(in("res/points/00000/.done"), &after), 0);
    ck_assert_int_eq(after.st_mtime, before.st_mtime);             /* not redone */
    ck_assert_int_eq(after.st_ino, before.st_ino);
    for (int i = 0; i < 6; i++) {
        char p[100];
        snprintf(p, sizeof p, "res/points/%05d/.done", i);
        ck_assert_int_eq(access(in(p), F_OK), 0);
    }
    char *t = slurp(in("res/sweep.csv"));
    int lines = 0;
    for (char *p = t; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 7);
    free(t);
}
END_TEST

START_TEST(bad_sweeps_and_report)
{
    const char *bin = getenv("PMARENA_BIN");
    FILE *f = fopen(in("bad.json"), "w");
    fputs("{\"trace\": {\"events\": []}, \"sweep\": {\"allocator.policy\": [\"first-fit\", \"worst-fit\"]}}\n", f);
    fclose(f);
    ck_assert_int_eq(sh("%s sweep %s -o %s --quiet 2>/dev/null", bin, in("bad.json"), in("bad")), 2);
    ck_assert_int_ne(access(in("bad"), F_OK), 0);             /* nothing ran, nothing written */
    f = fopen(in("nosweep.json"), "w");
    fputs("{\"trace\": {\"events\": []}}\n", f);
    fclose(f);
    ck_assert_int_eq(sh("%s sweep %s -o %s --quiet 2>/dev/null", bin, in("nosweep.json"), in("x")), 2);
    ck_assert_int_eq(sh("%s sweep %s --shard 3/2 2>/dev/null%s", bin, in("nosweep.json"), ""), 2);
    put_config();
    ck_assert_int_eq(sh("%s sweep %s -o %s --quiet", bin, in("sw.json"), in("r")), 0);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "%s report %s/r/points/00000 %s/r/points/00001 --format csv > %s", bin, dir, dir,
             in("rep.csv"));
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
    char *rep = slurp(in("rep.csv"));
    ck_assert_ptr_nonnull(strstr(rep, "cell writes,"));
    ck_assert_ptr_nonnull(strstr(rep, "hottest cell,"));
    free(rep);
    ck_assert_int_eq(sh("%s plot %s/r/points/00002 %s", bin, dir, ""), 0);
}
END_TEST

START_TEST(persistence_sweep)
{
    const char *bin = getenv("PMARENA_BIN");
    FILE *f = fopen(in("pers.json"), "w");
    fputs("{\"name\": \"pers\",\n"
          " \"device\": {\"size\": \"16MiB\", \"cell_size\": 64},\n"
          " \"allocator\": {\"arena_size\": \"256KiB\"},\n"
          " \"trace\": {\"gen\": {\"pattern\": \"churn\", \"seed\": 5, \"events\": 3000, \"live\": 100}},\n"
          " \"sweep\": {\"allocator.persistence\": [\"intent\", \"log\"], \"allocator.metadata\": [\"nvram\", \"hybrid\"]}}\n", f);
    fclose(f);
    ck_assert_int_eq(sh("%s validate %s >/dev/null%s", bin, in("pers.json"), ""), 0);
    ck_assert_int_eq(sh("%s sweep %s -j2 -o %s --quiet", bin, in("pers.json"), in("pers")), 0);
    char *t = slurp(in("pers/sweep.csv"));
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(strstr(t, "point,allocator.persistence,allocator.metadata,"));
    ck_assert_ptr_nonnull(strstr(t, "\n0,intent,nvram,"));
    ck_assert_ptr_nonnull(strstr(t, "\n3,log,hybrid,"));
    free(t);
    /* Each point ran the protocol it was given. */
    static const char *const want[] = {"intent", "intent", "log", "log"};
    for (int i = 0; i < 4; i++) {
        char p[100];
        snprintf(p, sizeof p, "pers/points/%05d/summary.json", i);
        char *sum = slurp(in(p));
        ck_assert_ptr_nonnull(sum);
        char needle[64];
        snprintf(needle, sizeof needle, "\"protocol\": \"%s\"", want[i]);
        ck_assert_msg(strstr(sum, needle) != NULL, "point %d lacks %s", i, needle);
        snprintf(needle, sizeof needle, "\"persistence\": \"%s\"", want[i]);
        ck_assert_msg(strstr(sum, needle) != NULL, "point %d's config echo lacks %s", i, needle);
        free(sum);
    }
    /* A bad swept protocol: validate names the point, sweep runs nothing. */
    f = fopen(in("badpers.json"), "w");
    fputs("{\"trace\": {\"events\": []}, \"sweep\": {\"allocator.persistence\": [\"log\", \"undo\"]}}\n", f);
    fclose(f);
    ck_assert_int_eq(sh("%s validate %s >/dev/null 2>%s", bin, in("badpers.json"), in("badpers.err")), 2);
    char *e = slurp(in("badpers.err"));
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(strstr(e, "point 1") && strstr(e, "allocator.persistence: \"undo\""), "%s", e);
    free(e);
    ck_assert_int_eq(sh("%s sweep %s -o %s --quiet 2>/dev/null", bin, in("badpers.json"), in("badpers")), 2);
    ck_assert_int_ne(access(in("badpers"), F_OK), 0);
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("sweep_e2e");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, parallel_and_sharded_tables_match);
    tcase_add_test(tc, resume_after_kill);
    tcase_add_test(tc, bad_sweeps_and_report);
    tcase_add_test(tc, persistence_sweep);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? rc : 1;
}
