/*
 * record_run.c - `pmarena record`'s work (tr_record_run): runs a real program
 * under the recorder library (libpmarena-record.so, traces/record/) and turns
 * what it logged into allocation traces (record_convert.c).
 *
 * Steps: make a temp dir; fork and execvp CMD with LD_PRELOAD = the library and
 * PMARENA_RECORD_RAW_DIR = the temp dir (the environment is built before fork,
 * so the child only execs); wait for it, with SIGINT/SIGQUIT ignored here so
 * that ^C stops the program but still leaves a trace of what it did; convert
 * every raw.<pid> file in the dir; remove the dir unless keep_raw.
 *
 * One trace per process: the process we started (the same pid across its
 * execs) goes to OUT; every other process (a fork of it, or anything started
 * below it) to OUT with ".<pid>" inserted before ".jsonl" (out.jsonl.gz ->
 * out.<pid>.jsonl.gz; a name without ".jsonl" gets it before a final ".gz",
 * else at the end).
 *
 * Errors and notes go to stderr, prefixed "pmarena record: ", as they happen
 * (like experiment/'s); the summary is left to the caller to print. No
 * global state; the helpers below own nothing.
 */
#include "pmarena/record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PMARENA_PREFIX
#define PMARENA_PREFIX "/usr/local"
#endif

extern char **environ;

/* snprintf for messages, where cutting a long path short is fine. */
__attribute__((format(printf, 3, 4))) static void msgf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* OUT with "." TAG before ".jsonl" (see the file comment); TAG is a pid. */
void tr_record_child_path(char *buf, size_t len, const char *out, const char *tag)
{
    size_t n = strlen(out), cut = n;
    const char *j = NULL;
    for (const char *p = strstr(out, ".jsonl"); p; p = strstr(p + 1, ".jsonl"))
        j = p;
    if (j && (strcmp(j, ".jsonl") == 0 || strcmp(j, ".jsonl.gz") == 0))
        cut = (size_t)(j - out);
    else if (n >= 3 && strcmp(out + n - 3, ".gz") == 0)
        cut = n - 3;
    snprintf(buf, len, "%.*s.%s%s", (int)cut, out, tag, out + cut);
}

/* CMD as a shell would show it, quoted where needed, cut to fit `len` with
 * room for the suffix; valid UTF-8 (a JSON string) whatever the arguments. */
static void command_line(char *buf, size_t len, char **cmd, const char *suffix)
{
    size_t room = len - strlen(suffix) - 1, n = 0;
    for (int i = 0; cmd[i] && n + 4 < room; i++) {
        bool plain = cmd[i][0] != '\0' && strspn(cmd[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                          "0123456789-_./=:,+%@") == strlen(cmd[i]);
        n += (size_t)snprintf(buf + n, room - n, plain ? "%s%s" : "%s'%s'", i ? " " : "", cmd[i]);
        if (n >= room) {              /* cut: end on a character boundary, mark it */
            n = room - 4;
            while (n && (buf[n] & 0xC0) == 0x80)
                n--;
            strcpy(buf + n, "...");
            n += 3;
        }
    }
    json_t *probe = json_stringn(buf, n);
    if (!probe)                       /* not UTF-8: keep ASCII only */
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] >= 0x80)
                buf[i] = '?';
    json_decref(probe);
    snprintf(buf + n, len - n, "%s", suffix);
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The library's absolute path (LD_PRELOAD is read again at every exec, maybe
 * in another directory), or an error message. */
static int find_lib(char *out, size_t len, char *err, size_t errlen)
{
    const char *env = getenv("PMARENA_RECORD_LIB");
    if (env && *env) {
        if (is_file(env) && realpath(env, out))
            return 0;
        msgf(err, errlen, "PMARENA_RECORD_LIB=%s: no such file", env);
        return -1;
    }
    char cand[3][PATH_MAX + 64];
    int nc = 0;
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(cand[nc++], sizeof cand[0], "%s/%s", exe, TR_RECORD_LIB_NAME);
        snprintf(cand[nc++], sizeof cand[0], "%s/../lib/%s", exe, TR_RECORD_LIB_NAME);
    }
    const char *prefix = getenv("PREFIX");
    snprintf(cand[nc++], sizeof cand[0], "%s/lib/%s", prefix && *prefix ? prefix : PMARENA_PREFIX, TR_RECORD_LIB_NAME);
    for (int i = 0; i < nc; i++)
        if (is_file(cand[i]) && realpath(cand[i], out) && strlen(out) < len)
            return 0;
    msgf(err, errlen, "cannot find %s (looked next to the pmarena binary, in ../lib and in %s); "
         "set PMARENA_RECORD_LIB", TR_RECORD_LIB_NAME, cand[nc - 1]);
    return -1;
}

/* environ with LD_PRELOAD (ours first) and PMARENA_RECORD_RAW_DIR set, in
 * one block (the two new strings after the array): free() it. NULL when out
 * of memory. */
static char **child_env(const char *lib, const char *dir)
{
    size_t n = 0;
    while (environ[n])
        n++;
    const char *old = getenv("LD_PRELOAD");
    size_t plen = strlen(lib) + (old ? strlen(old) : 0) + 32, dlen = strlen(dir) + 32;
    char **env = malloc((n + 3) * sizeof *env + plen + dlen);
    if (!env)
        return NULL;
    char *pre = (char *)(env + n + 3), *raw = pre + plen;
    snprintf(pre, plen, "LD_PRELOAD=%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    snprintf(raw, dlen, "PMARENA_RECORD_RAW_DIR=%s", dir);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 && strncmp(environ[i], "PMARENA_RECORD_RAW_DIR=", 23) != 0)
            env[m++] = environ[i];
    env[m++] = pre;
    env[m++] = raw;
    env[m] = NULL;
    return env;
}

/* ---- running the command ---------------------------------------------------------- */

/* Starts cmd; 0 and its pid, or -errno when it could not be executed (the
 * child reports execvp's errno through a close-on-exec pipe). */
static int spawn(char **cmd, char **env, pid_t *pid)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    fflush(NULL);
    *pid = fork();
    if (*pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (*pid == 0) {
        close(p[0]);
        execvpe(cmd[0], cmd, env);
        int e = errno;
        ssize_t rc = write(p[1], &e, sizeof e);
        (void)rc;
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    ssize_t k;
    while ((k = read(p[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(p[0]);
    if (k == (ssize_t)sizeof e) {
        waitpid(*pid, NULL, 0);
        return -e;
    }
    return 0;
}

/* Waits for pid with ^C and ^\ going to the program only; its status in words. */
static void wait_child(pid_t pid, char *what, size_t len)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    int status = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    if (r < 0)
        snprintf(what, len, "could not be waited for (%s)", strerror(errno));
    else if (WIFEXITED(status))
        snprintf(what, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(what, len, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(what, len, "ended with wait status %d", status);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The pids with a raw.<pid> file in dir, ascending; their count, or -1. */
static long list_raw(const char *dir, long **pids)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long n = 0, cap = 16;
    *pids = malloc((size_t)cap * sizeof **pids);
    struct dirent *de;
    while (*pids && (de = readdir(d))) {
        char *end;
        if (strncmp(de->d_name, "raw.", 4) != 0)
            continue;
        long pid = strtol(de->d_name + 4, &end, 10);
        if (*end || pid <= 0)
            continue;
        if (n == cap) {
            long *g = realloc(*pids, (size_t)(cap *= 2) * sizeof **pids);
            if (!g) {
                free(*pids);
                *pids = NULL;
                break;
            }
            *pids = g;
        }
        (*pids)[n++] = pid;
    }
    closedir(d);
    if (!*pids)
        return -1;
    qsort(*pids, (size_t)n, sizeof **pids, cmp_long);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char path[PATH_MAX + 300];
        while ((de = readdir(d)))
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                unlink(path);
            }
        closedir(d);
    }
    rmdir(dir);
}

/* Whether OUT's directory exists and takes new files; says why not. */
static bool out_dir_writable(const char *out)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == out ? 1 : (int)(slash - out), out);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "pmarena record: cannot write %s: %s is not a writable directory\n", out, dir);
        return false;
    }
    return true;
}

/* Converts every raw file; fills the summary. TR_RECORD_OK or TR_RECORD_FAIL. */
static int convert_all(const tr_record_opts *o, const char *dir, pid_t main_pid, char *summary, size_t slen)
{
    long *pids = NULL;
    long n = list_raw(dir, &pids);
    if (n < 0) {
        fprintf(stderr, "pmarena record: cannot read %s: %s\n", dir, strerror(errno));
        return TR_RECORD_FAIL;
    }
    bool have_main = false;
    for (long i = 0; i < n; i++)
        have_main |= pids[i] == (long)main_pid;
    if (!have_main) {
        fprintf(stderr, "pmarena record: '%s' left no record: statically linked, setuid, or it "
                        "drops LD_PRELOAD? (nothing written)\n", o->cmd[0]);
        free(pids);
        return TR_RECORD_FAIL;
    }
    char source[sizeof ((tr_header *)0)->source], path[PATH_MAX + 64], raw[PATH_MAX + 64], err[1024];
    tr_record_stats main_st = {0}, st;
    uint64_t events = 0, skipped = 0, stale = 0, dropped = 0;
    int rc = TR_RECORD_OK;
    for (int pass = 0; pass < 2 && rc == TR_RECORD_OK; pass++)     /* the main process first */
        for (long i = 0; i < n && rc == TR_RECORD_OK; i++) {
            bool is_main = pids[i] == (long)main_pid;
            if (is_main != (pass == 0))
                continue;
            char suffix[128];
            snprintf(suffix, sizeof suffix, is_main ? " (recorded by pmarena record)"
                     : " (recorded by pmarena record: process %ld, started under it)", pids[i]);
            command_line(source, sizeof source, o->cmd, suffix);
            snprintf(raw, sizeof raw, "%s/raw.%ld", dir, pids[i]);
            if (is_main)
                snprintf(path, sizeof path, "%s", o->out);
            else {
                char tag[32];
                snprintf(tag, sizeof tag, "%ld", pids[i]);
                tr_record_child_path(path, sizeof path, o->out, tag);
            }
            if (tr_record_convert(raw, path, source, &st, err, sizeof err) != 0) {
                fprintf(stderr, "pmarena record: %s\n", err);
                rc = TR_RECORD_FAIL;
                break;
            }
            if (st.os_threads > TR_MAX_THREADS)
                fprintf(stderr, "pmarena record: %s: %zu threads, more than %d: thread numbers folded modulo %d\n",
                        raw, st.os_threads, TR_MAX_THREADS, TR_MAX_THREADS);
            if (st.partial)
                fprintf(stderr, "pmarena record: %s: ignored a partial record at the end "
                                "(the process was still writing?)\n", raw);
            if (is_main)
                main_st = st;
            events += st.events;
            skipped += st.skipped;
            stale += st.stale;
            dropped += st.dropped;
        }
    if (rc == TR_RECORD_OK) {
        char more[PATH_MAX + 128] = "";
        if (n > 1) {
            tr_record_child_path(path, sizeof path, o->out, "PID");
            snprintf(more, sizeof more, " (%ld more trace%s: %s)", n - 1, n > 2 ? "s" : "", path);
        }
        snprintf(summary, slen,
                 "%s: %llu events (%llu alloc, %llu free, %llu realloc), %u thread%s, %llu image%s, "
                 "%llu skipped; %ld process%s%s, %llu events and %llu skipped in all (skipped: "
                 "frees/reallocs of blocks allocated before recording)",
                 o->out, (unsigned long long)main_st.events, (unsigned long long)main_st.allocs,
                 (unsigned long long)main_st.frees, (unsigned long long)main_st.reallocs, main_st.threads,
                 main_st.threads == 1 ? "" : "s", (unsigned long long)main_st.images,
                 main_st.images == 1 ? "" : "s", (unsigned long long)main_st.skipped, n, n == 1 ? "" : "es",
                 more, (unsigned long long)events, (unsigned long long)skipped);
        size_t l = strlen(summary);
        if (stale)
            l += (size_t)snprintf(summary + l, slen - l, ", %llu stale ids freed", (unsigned long long)stale);
        if (dropped && l < slen)
            snprintf(summary + l, slen - l, ", %llu allocations above 1 TiB left out", (unsigned long long)dropped);
    }
    free(pids);
    return rc;
}


int tr_record_run(const tr_record_opts *o, tr_record_result *res)
{
    res->status[0] = res->raw_dir[0] = res->summary[0] = '\0';
    if (!out_dir_writable(o->out))     /* before the run, not after it */
        return TR_RECORD_BADINPUT;

    char lib[PATH_MAX], err[PATH_MAX + 256];
    if (find_lib(lib, sizeof lib, err, sizeof err) != 0) {
        fprintf(stderr, "pmarena record: %s\n", err);
        return TR_RECORD_FAIL;
    }
    if (strpbrk(lib, " :")) {
        fprintf(stderr, "pmarena record: %s: LD_PRELOAD cannot take a path with spaces or colons\n", lib);
        return TR_RECORD_FAIL;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/pmarena-record-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir) || !realpath(dir, res->raw_dir)) {
        fprintf(stderr, "pmarena record: cannot make a temp dir %s: %s\n", dir, strerror(errno));
        return TR_RECORD_FAIL;
    }
    char **env = child_env(lib, res->raw_dir);
    pid_t pid = 0;
    int e = env ? spawn(o->cmd, env, &pid) : -ENOMEM;
    free(env);
    if (e != 0) {
        fprintf(stderr, "pmarena record: cannot run '%s': %s\n", o->cmd[0], strerror(-e));
        remove_dir(res->raw_dir);
        res->raw_dir[0] = '\0';
        return e == -ENOENT || e == -EACCES || e == -ENOEXEC ? TR_RECORD_BADINPUT : TR_RECORD_FAIL;
    }
    wait_child(pid, res->status, sizeof res->status);
    int rc = convert_all(o, res->raw_dir, pid, res->summary, sizeof res->summary);
    if (!o->keep_raw)
        remove_dir(res->raw_dir);
    return rc;
}
