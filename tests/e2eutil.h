/*
 * e2eutil.h - what the end-to-end suites share: files in the suite's scratch
 * folder and running the real `pmarena` binary (PMARENA_BIN). The including
 * file defines `static char dir[]` (its mkdtemp template, made in its setup)
 * before including this.
 */
#ifndef PMARENA_E2EUTIL_H
#define PMARENA_E2EUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

/* dir/name, in one of 8 rotating buffers (so a few can be held at once). */
static inline const char *path_in(const char *name)
{
    static char buf[8][600];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 600, "%s/%s", dir, name);
    return p;
}

static inline void put(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Runs `pmarena ARGS` with stdout in dir/out and stderr in dir/stderr;
 * returns the exit status (-1 when it did not exit). */
static inline int pmarena_to(const char *args, const char *out)
{
    const char *bin = getenv("PMARENA_BIN");
    ck_assert_ptr_nonnull(bin);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", bin, args, path_in(out), path_in("stderr"));
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int pmarena(const char *args)
{
    return pmarena_to(args, "stdout");
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A fresh scratch folder per test (a checked fixture), removed after it. */
static inline void e2e_setup(void) { ck_assert_ptr_nonnull(mkdtemp(dir)); }

static inline void e2e_teardown(void)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    strcpy(dir + strlen(dir) - 6, "XXXXXX");
}

#endif
