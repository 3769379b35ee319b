/*
 * cmd_record.c - `pmarena record -o OUT.jsonl[.gz] [--keep-raw] -- CMD [ARGS...]`:
 * runs a real program under the recorder library (libpmarena-record.so,
 * traces/record/) and turns what it logged into allocation traces.
 *
 * Steps: make a temp dir; fork and execvp CMD with LD_PRELOAD = the library and
 * PMARENA_RECORD_RAW_DIR = the temp dir (the environment is built before fork,
 * so the child only execs); wait for it, with SIGINT/SIGQUIT ignored here so
 * that ^C stops the program but still leaves a trace of what it did; convert
 * every raw.<pid> file in the dir (the format is in traces/record/record.h);
 * remove the dir unless --keep-raw.
 *
 * One trace per process: the process we started (the same pid across its
 * execs) goes to OUT; every other process (a fork of it, or anything started
 * below it) to OUT with ".<pid>" inserted before ".jsonl" (out.jsonl.gz ->
 * out.<pid>.jsonl.gz; a name without ".jsonl" gets it before a final ".gz",
 * else at the end).
 *
 * Conversion of one raw file takes two passes. The first checks the records
 * and numbers the OS thread ids 0,1,2,... in order of first appearance (the
 * header, written first, needs their count). The second keeps a map from live
 * addresses to object ids, assigned in allocation order from 1 and never
 * reused in the file, and writes one event per record:
 *   malloc, calloc (size = the product), memalign family (with "align"),
 *   realloc(NULL, n)                   -> alloc
 *   free(p), realloc(p, 0) that freed p -> free (free(NULL) is never logged)
 *   realloc(p, n)                       -> realloc (old id, new id, size)
 *   epoch (an exec: a new image)        -> nothing; the address map is
 *                                          dropped, the old image's objects are gone
 * A free or realloc of an address not in the map (allocated before the
 * library started, e.g. by ld.so, or inherited across fork) is skipped and
 * counted; such a realloc still yields an alloc of the new block. An alloc at
 * an address that is still live (the C library freed the old block behind our
 * back) first frees the stale id, so the replayed live set stays right. The
 * output never contains an address: traces are the same whatever the ASLR.
 *
 * Exit status: 0 when the traces are written (whatever CMD's own status, which
 * is reported), 1 when recording or conversion failed, 2 for bad usage, an
 * unwritable OUT directory (checked before the run) or a CMD that cannot be
 * run. No global state; the helpers below own nothing.
 */
#include "cmd.h"
#include "pmarena/trace.h"
#include "../traces/record/map.h"
#include "../traces/record/record.h"

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

#define LIB_NAME "libpmarena-record.so"

extern char **environ;

/* snprintf for messages, where cutting a long path short is fine. */
__attribute__((format(printf, 3, 4))) static void msgf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena record -o OUT.jsonl[.gz] [--keep-raw] -- CMD [ARGS...]\n"
            "\n"
            "Runs CMD with every malloc, calloc, realloc, free and aligned allocation\n"
            "recorded (LD_PRELOAD of " LIB_NAME "), and writes the allocation\n"
            "trace of the process it started to OUT (gzip if OUT ends in .gz). Every\n"
            "other process (forks, children) gets its own trace, named OUT with\n"
            "\".PID\" before \".jsonl\". Addresses become object ids; OS threads become\n"
            "logical threads 0,1,...; frees of blocks allocated before recording\n"
            "started are skipped and counted. See traces/RECORDING.md.\n"
            "\n"
            "options:\n"
            "  -o, --output OUT   the trace of the process started (required)\n"
            "  --keep-raw         keep the raw per-process files (the dir is printed)\n"
            "  -h, --help         this help\n"
            "\n"
            "The library is PMARENA_RECORD_LIB if set, else " LIB_NAME " next to\n"
            "the pmarena binary, in ../lib from it, or in $PREFIX/lib.\n"
            "Exit status: 0 traces written (also when CMD failed: its status is\n"
            "reported), 1 failure, 2 bad usage, OUT's directory not writable, or CMD\n"
            "cannot be run.\n");
}

/* ---- reading a raw file ------------------------------------------------------- */

typedef struct raw_reader {
    FILE *f;
    const char *path;
    size_t n, i;          /* buf[i..n) not yet returned */
    uint64_t index;       /* records returned so far */
    bool partial;         /* the file ends in part of a record */
    tr_raw_rec buf[1024];
} raw_reader;

static int raw_open(raw_reader *r, const char *path, char *err, size_t errlen)
{
    *r = (raw_reader){.path = path};
    r->f = fopen(path, "rb");
    if (!r->f) {
        msgf(err, errlen, "%s: %s", path, strerror(errno));
        return TR_EIO;
    }
    return 0;
}

/* 1 and the next record, 0 at the end, or a negative code. */
static int raw_next(raw_reader *r, tr_raw_rec *out, char *err, size_t errlen)
{
    if (r->i == r->n) {
        size_t bytes = fread(r->buf, 1, sizeof r->buf, r->f);
        if (ferror(r->f)) {
            msgf(err, errlen, "%s: read error", r->path);
            return TR_EIO;
        }
        r->n = bytes / sizeof r->buf[0];
        r->i = 0;
        if (bytes % sizeof r->buf[0])
            r->partial = true;    /* only the last read can be short */
        if (!r->n)
            return 0;
    }
    *out = r->buf[r->i++];
    uint64_t at = r->index++;
    if (out->op == TR_RAW_EPOCH ? out->addr != TR_RAW_MAGIC || out->size != sizeof *out
                                : at == 0 || out->op >= TR_RAW_OPS || out->op < TR_RAW_EPOCH) {
        msgf(err, errlen, "%s: record %llu: %s", r->path, (unsigned long long)at,
             at == 0 ? "not a pmarena raw file (no epoch record first)" : "corrupt record");
        return TR_ESYNTAX;
    }
    return 1;
}

static void raw_close(raw_reader *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
}

/* ---- converting one raw file ---------------------------------------------------- */

typedef struct conv_stats {
    uint64_t events, allocs, frees, reallocs;
    uint64_t skipped;     /* frees/reallocs of blocks never seen allocated */
    uint64_t stale;       /* live ids freed because their address came back */
    uint64_t images;      /* epoch records: 1 + the number of execs */
    uint64_t dropped;     /* allocations above TR_MAX_SIZE, left out */
    uint32_t threads;
    bool partial;
} conv_stats;

typedef struct conv {
    tr_writer *w;
    tr_map live;         /* address -> object id */
    tr_map threads;      /* OS tid -> logical thread + 1 */
    uint64_t next_id;
    conv_stats *st;
} conv;

static int emit(conv *c, tr_event *e)
{
    int rc = tr_writer_event(c->w, e);
    if (rc != 0)
        return rc;
    c->st->events++;
    if (e->op == TR_ALLOC)
        c->st->allocs++;
    else if (e->op == TR_FREE)
        c->st->frees++;
    else
        c->st->reallocs++;
    return 0;
}

/* The id now living at addr is gone (the allocator handed addr out again). */
static int drop_stale(conv *c, uint64_t addr, uint32_t thread)
{
    uint64_t id = tr_map_get(&c->live, addr);
    if (!id)
        return 0;
    tr_map_del(&c->live, addr);
    c->st->stale++;
    tr_event e = {.op = TR_FREE, .thread = thread, .id = id};
    return emit(c, &e);
}

static int conv_alloc(conv *c, uint64_t addr, uint64_t size, uint64_t align, uint32_t thread)
{
    if (size > TR_MAX_SIZE) {
        c->st->dropped++;
        return 0;
    }
    int rc = drop_stale(c, addr, thread);
    if (rc == 0)
        rc = tr_map_put(&c->live, addr, ++c->next_id);
    tr_event e = {.op = TR_ALLOC, .thread = thread, .id = c->next_id, .size = size, .align = align};
    return rc ? rc : emit(c, &e);
}

static int conv_free(conv *c, uint64_t addr, uint32_t thread)
{
    uint64_t id = tr_map_get(&c->live, addr);
    if (!id) {
        c->st->skipped++;
        return 0;
    }
    tr_map_del(&c->live, addr);
    tr_event e = {.op = TR_FREE, .thread = thread, .id = id};
    return emit(c, &e);
}

static int conv_realloc(conv *c, const tr_raw_rec *r, uint32_t thread)
{
    if (!r->old)                                  /* realloc(NULL, n) */
        return r->addr ? conv_alloc(c, r->addr, r->size, 0, thread) : 0;
    if (!r->addr)                                 /* realloc(p, 0) freed p */
        return conv_free(c, r->old, thread);
    uint64_t old_id = tr_map_get(&c->live, r->old);
    if (!old_id) {
        c->st->skipped++;
        return conv_alloc(c, r->addr, r->size, 0, thread);
    }
    tr_map_del(&c->live, r->old);
    if (r->size > TR_MAX_SIZE) {
        c->st->dropped++;
        tr_event f = {.op = TR_FREE, .thread = thread, .id = old_id};
        return emit(c, &f);
    }
    int rc = drop_stale(c, r->addr, thread);
    if (rc == 0)
        rc = tr_map_put(&c->live, r->addr, ++c->next_id);
    tr_event e = {.op = TR_REALLOC, .thread = thread, .id = old_id, .new_id = c->next_id,
                  .size = r->size};
    return rc ? rc : emit(c, &e);
}

static uint32_t thread_of(conv *c, uint32_t tid)
{
    uint64_t v = tr_map_get(&c->threads, tid);
    return v ? (uint32_t)((v - 1) % TR_MAX_THREADS) : 0;
}

/* Pass 1: checks every record and numbers the threads. */
static int scan_threads(conv *c, const char *raw, char *err, size_t errlen)
{
    raw_reader *r = malloc(sizeof *r);
    if (!r)
        return TR_ENOMEM;
    int rc = raw_open(r, raw, err, errlen);
    tr_raw_rec rec;
    while (rc == 0 && (rc = raw_next(r, &rec, err, errlen)) == 1) {
        rc = 0;
        if (rec.op != TR_RAW_EPOCH && !tr_map_get(&c->threads, rec.tid))
            rc = tr_map_put(&c->threads, rec.tid, c->threads.n + 1);
    }
    c->st->partial = r->partial;
    raw_close(r);
    free(r);
    return rc;
}

/* Pass 2: writes the events. */
static int write_events(conv *c, const char *raw, char *err, size_t errlen)
{
    raw_reader *r = malloc(sizeof *r);
    if (!r)
        return TR_ENOMEM;
    int rc = raw_open(r, raw, err, errlen);
    tr_raw_rec rec;
    while (rc == 0 && (rc = raw_next(r, &rec, err, errlen)) == 1) {
        uint32_t t = thread_of(c, rec.tid);
        switch (rec.op) {
        case TR_RAW_EPOCH:
            tr_map_clear(&c->live);
            c->st->images++;
            rc = 0;
            break;
        case TR_RAW_MALLOC:
        case TR_RAW_CALLOC:
            rc = conv_alloc(c, rec.addr, rec.size, 0, t);
            break;
        case TR_RAW_MEMALIGN:
        case TR_RAW_VALLOC:
        case TR_RAW_PVALLOC:
            rc = conv_alloc(c, rec.addr, rec.size, rec.align, t);
            break;
        case TR_RAW_FREE:
            rc = conv_free(c, rec.addr, t);
            break;
        default:
            rc = conv_realloc(c, &rec, t);
            break;
        }
        if (rc < 0 && !err[0])
            msgf(err, errlen, "%s: cannot write the trace (%s)", raw,
                 rc == TR_ENOMEM ? "out of memory" : "disk full?");
    }
    raw_close(r);
    free(r);
    return rc;
}

static int convert(const char *raw, const char *out, const char *source, conv_stats *st, char *err,
                   size_t errlen)
{
    conv c = {.st = st};
    *st = (conv_stats){0};
    err[0] = '\0';
    int rc = scan_threads(&c, raw, err, errlen);
    if (rc == 0) {
        st->threads = (uint32_t)(c.threads.n < TR_MAX_THREADS ? c.threads.n : TR_MAX_THREADS);
        st->threads += !st->threads;  /* the header's count: a trace has at least one */
        if (c.threads.n > TR_MAX_THREADS)
            fprintf(stderr, "pmarena record: %s: %zu threads, more than %d: thread numbers folded modulo %d\n",
                    raw, c.threads.n, TR_MAX_THREADS, TR_MAX_THREADS);
        tr_header h = {.version = TR_FORMAT_VERSION, .threads = st->threads};
        snprintf(h.source, sizeof h.source, "%s", source);
        tr_error te = {0};
        rc = tr_writer_open(&c.w, out, &h, &te);
        if (rc != 0)
            tr_error_format(&te, err, errlen);
    }
    if (rc == 0)
        rc = write_events(&c, raw, err, errlen);
    if (c.w) {
        tr_error te = {0};
        int crc = tr_writer_close(c.w, rc != 0, &te);
        if (rc == 0 && crc != 0) {
            rc = crc;
            tr_error_format(&te, err, errlen);
        }
    }
    tr_map_free(&c.live);
    tr_map_free(&c.threads);
    return rc;
}

/* ---- names, paths, the command line -------------------------------------------- */

/* OUT with "." TAG before ".jsonl" (see the file comment); TAG is a pid. */
static void child_path(char *buf, size_t len, const char *out, const char *tag)
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
        snprintf(cand[nc++], sizeof cand[0], "%s/%s", exe, LIB_NAME);
        snprintf(cand[nc++], sizeof cand[0], "%s/../lib/%s", exe, LIB_NAME);
    }
    const char *prefix = getenv("PREFIX");
    snprintf(cand[nc++], sizeof cand[0], "%s/lib/%s", prefix && *prefix ? prefix : PMARENA_PREFIX, LIB_NAME);
    for (int i = 0; i < nc; i++)
        if (is_file(cand[i]) && realpath(cand[i], out) && strlen(out) < len)
            return 0;
    msgf(err, errlen, "cannot find %s (looked next to the pmarena binary, in ../lib and in %s); "
         "set PMARENA_RECORD_LIB", LIB_NAME, cand[nc - 1]);
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

/* ---- the command ------------------------------------------------------------------ */

typedef struct rec_opts {
    const char *out;
    bool keep_raw;
    char **cmd;
} rec_opts;

/* 0, or EXIT_BADINPUT after saying why; -1 for --help (already printed). */
static int parse_args(int argc, char **argv, rec_opts *o)
{
    *o = (rec_opts){0};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(a, "--keep-raw") == 0) {
            o->keep_raw = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (++i == argc) {
                fprintf(stderr, "pmarena record: %s needs a file name\n", a);
                return EXIT_BADINPUT;
            }
            o->out = argv[i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            o->out = a + 9;
        } else if (strncmp(a, "-o", 2) == 0) {
            o->out = a + 2;
        } else if (a[0] == '-') {
            fprintf(stderr, "pmarena record: unknown option '%s' (see 'pmarena record --help')\n", a);
            return EXIT_BADINPUT;
        } else {
            break;                    /* CMD without "--" */
        }
    }
    o->cmd = argv + i;
    const char *why = !o->out ? "-o OUT is required" : !o->out[0] ? "-o needs a file name"
                    : i >= argc ? "no command to record" : NULL;
    if (why) {
        fprintf(stderr, "pmarena record: %s (see 'pmarena record --help')\n", why);
        return EXIT_BADINPUT;
    }
    return 0;
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

/* Converts every raw file; fills the summary. EXIT_OK or EXIT_FAIL. */
static int convert_all(const rec_opts *o, const char *dir, pid_t main_pid, char *summary, size_t slen)
{
    long *pids = NULL;
    long n = list_raw(dir, &pids);
    if (n < 0) {
        fprintf(stderr, "pmarena record: cannot read %s: %s\n", dir, strerror(errno));
        return EXIT_FAIL;
    }
    bool have_main = false;
    for (long i = 0; i < n; i++)
        have_main |= pids[i] == (long)main_pid;
    if (!have_main) {
        fprintf(stderr, "pmarena record: '%s' left no record: statically linked, setuid, or it "
                        "drops LD_PRELOAD? (nothing written)\n", o->cmd[0]);
        free(pids);
        return EXIT_FAIL;
    }
    char source[sizeof ((tr_header *)0)->source], path[PATH_MAX + 64], raw[PATH_MAX + 64], err[1024];
    conv_stats main_st = {0}, st;
    uint64_t events = 0, skipped = 0, stale = 0, dropped = 0;
    int rc = EXIT_OK;
    for (int pass = 0; pass < 2 && rc == EXIT_OK; pass++)     /* the main process first */
        for (long i = 0; i < n && rc == EXIT_OK; i++) {
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
                child_path(path, sizeof path, o->out, tag);
            }
            if (convert(raw, path, source, &st, err, sizeof err) != 0) {
                fprintf(stderr, "pmarena record: %s\n", err);
                rc = EXIT_FAIL;
                break;
            }
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
    if (rc == EXIT_OK) {
        char more[PATH_MAX + 128] = "";
        if (n > 1) {
            child_path(path, sizeof path, o->out, "PID");
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

int cmd_record(int argc, char **argv)
{
    rec_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    if (!out_dir_writable(o.out))     /* before the run, not after it */
        return EXIT_BADINPUT;

    char lib[PATH_MAX], err[PATH_MAX + 256];
    if (find_lib(lib, sizeof lib, err, sizeof err) != 0) {
        fprintf(stderr, "pmarena record: %s\n", err);
        return EXIT_FAIL;
    }
    if (strpbrk(lib, " :")) {
        fprintf(stderr, "pmarena record: %s: LD_PRELOAD cannot take a path with spaces or colons\n", lib);
        return EXIT_FAIL;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/pmarena-record-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char absdir[PATH_MAX];
    if (!mkdtemp(dir) || !realpath(dir, absdir)) {
        fprintf(stderr, "pmarena record: cannot make a temp dir %s: %s\n", dir, strerror(errno));
        return EXIT_FAIL;
    }
    char **env = child_env(lib, absdir);
    pid_t pid = 0;
    int e = env ? spawn(o.cmd, env, &pid) : -ENOMEM;
    free(env);
    if (e != 0) {
        fprintf(stderr, "pmarena record: cannot run '%s': %s\n", o.cmd[0], strerror(-e));
        remove_dir(absdir);
        return e == -ENOENT || e == -EACCES || e == -ENOEXEC ? EXIT_BADINPUT : EXIT_FAIL;
    }
    char what[128];
    wait_child(pid, what, sizeof what);

    char summary[PATH_MAX * 2 + 512] = "";
    rc = convert_all(&o, absdir, pid, summary, sizeof summary);
    if (rc == EXIT_OK)
        fprintf(stderr, "pmarena record: %s; '%s' %s%s%s\n", summary, o.cmd[0], what,
                o.keep_raw ? "; raw files kept in " : "", o.keep_raw ? absdir : "");
    else
        fprintf(stderr, "pmarena record: '%s' %s%s%s\n", o.cmd[0], what,
                o.keep_raw ? "; raw files kept in " : "", o.keep_raw ? absdir : "");
    if (!o.keep_raw)
        remove_dir(absdir);
    return rc;
}
