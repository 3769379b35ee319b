/*
 * cleanup.c - what SIGINT and SIGTERM leave behind: nothing. A run or a sweep
 * registers each temporary it makes (a file to unlink, a folder to remove
 * whole, a folder to purge of this process's `*.tmp.PID*` names) and drops it
 * once it is committed; the handler removes what is still registered, then
 * dies of the same signal with the default action (exit status 128 + signo
 * for the shell).
 *
 * Async-signal-safety: the handler does the cleanup itself, but only with
 * system calls (unlink, unlinkat, open, getdents64, rmdir, kill, waitpid,
 * sigaction, tgkill) over paths formatted before the signal could come; it
 * never allocates, locks or uses stdio. A slot is filled first and published
 * last (an atomic store of its kind), so the handler sees a whole path or
 * none. The handler runs on the main thread only (a replay worker that gets
 * the signal forwards it there with tgkill): while it runs, the code that
 * creates files (the main thread) is stopped, so nothing reappears behind it.
 * It waits for its child processes first (gnuplot writing into the folder
 * being removed; a sweep's points, which it signals and which clean up their
 * own temporaries the same way).
 *
 * Sweep points are forked children that call run_experiment: they find
 * themselves with exp_cleanup_child, which records their pid in a table
 * shared with the parent (MAP_SHARED, made before the fork), so the parent's
 * handler knows whom to signal. A pid is signalled only while waitpid says it
 * is still this process's running child, so a stale entry is harmless.
 */
#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CL_SLOTS 32
#define CL_KIDS 1024
#define CL_DEPTH 8

static struct {
    atomic_int kind;   /* 0: free */
    pid_t owner;       /* a forked child inherits the table: only the owner acts */
    char path[4096];
} slots[CL_SLOTS];

static pid_t installer, main_pid, main_tid;   /* main_tid is a thread of main_pid */
static _Atomic pid_t *kids;   /* shared with forked children */

/* ---- removal with system calls only (safe in the handler) ------------------------- */

static size_t put_dec(char *p, unsigned long v)
{
    char d[24];
    size_t n = 0, k = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        p[k++] = d[--n];
    p[k] = '\0';
    return k;
}

/* Does name hold tag (".tmp.PID") followed by its end or a '.'? */
static int has_tag(const char *name, const char *tag, size_t tlen)
{
    for (const char *s = name; *s; s++)
        if (strncmp(s, tag, tlen) == 0 && (s[tlen] == '\0' || s[tlen] == '.'))
            return 1;
    return 0;
}

/* Removes the entries of the open folder fd: all (tag NULL, recursively) or
 * those whose names hold tag. */
static void clear_dir(int fd, const char *tag, int depth)
{
    char buf[4096] __attribute__((aligned(8)));
    size_t tlen = tag ? strlen(tag) : 0;
    for (int pass = 0; pass < 4; pass++) {
        lseek(fd, 0, SEEK_SET);
        long n;
        int removed = 0;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
            for (long off = 0; off < n;) {
                struct dirent64 *d = (struct dirent64 *)(buf + off);
                off += d->d_reclen;
                const char *nm = d->d_name;
                if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
                    continue;
                if (tag && !has_tag(nm, tag, tlen))
                    continue;
                if (unlinkat(fd, nm, 0) == 0) {
                    removed++;
                } else if (errno == EISDIR || errno == EPERM) {
                    int sub = depth < CL_DEPTH ? openat(fd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
                    if (sub >= 0) {
                        clear_dir(sub, NULL, depth + 1);
                        close(sub);
                    }
                    if (unlinkat(fd, nm, AT_REMOVEDIR) == 0)
                        removed++;
                }
            }
        if (!removed)
            break;   /* a second pass catches what appeared during the first */
    }
}

int cl_rm_tree(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    clear_dir(fd, NULL, 0);
    close(fd);
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
}

static void purge(const char *dir, pid_t owner)
{
    char tag[40] = ".tmp.";
    put_dec(tag + 5, (unsigned long)owner);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        clear_dir(fd, tag, 0);
        close(fd);
    }
}

/* ---- the handler ------------------------------------------------------------------ */

static void on_signal(int sig)
{
    int saved = errno;
    pid_t me = getpid();
    /* A forked child before exp_cleanup_child has one thread: this one. */
    if (me == main_pid && (pid_t)syscall(SYS_gettid) != main_tid) {
        syscall(SYS_tgkill, me, main_tid, sig);
        errno = saved;
        return;
    }
    if (kids && me == installer)
        for (int i = 0; i < CL_KIDS; i++) {
            pid_t p = atomic_load(&kids[i]);
            if (p > 0 && waitpid(p, NULL, WNOHANG) == 0)
                kill(p, sig);
        }
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    for (int i = 0; i < CL_SLOTS; i++) {
        int k = atomic_load(&slots[i].kind);
        if (!k || slots[i].owner != me)
            continue;
        if (k == CL_UNLINK)
            unlink(slots[i].path);
        else if (k == CL_TREE)
            cl_rm_tree(slots[i].path);
        else if (k == CL_PURGE)
            purge(slots[i].path, me);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    errno = saved;
}

void exp_cleanup_install(void)
{
    if (installer)
        return;
    installer = main_pid = getpid();
    main_tid = (pid_t)syscall(SYS_gettid);
    void *m = mmap(NULL, CL_KIDS * sizeof *kids, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    kids = m == MAP_FAILED ? NULL : m;   /* without it, children are still waited for */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool exp_cleanup_child(void)
{
    pid_t me = getpid();
    if (!installer || me == installer)
        return false;
    if (me == main_pid)
        return true;   /* already set up */
    main_tid = (pid_t)syscall(SYS_gettid);
    main_pid = me;
    if (!kids)
        return true;
    /* A free entry, or one whose process is gone (kill(pid, 0): ESRCH). */
    for (int i = 0; i < CL_KIDS; i++) {
        pid_t p = atomic_load(&kids[i]);
        if ((p == 0 || (kill(p, 0) != 0 && errno == ESRCH)) && atomic_compare_exchange_strong(&kids[i], &p, me))
            return true;
    }
    return true;
}

int cl_add(int kind, const char *path)
{
    if (!installer || strlen(path) >= sizeof slots[0].path)
        return -1;
    for (int i = 0; i < CL_SLOTS; i++) {
        int zero = 0;
        /* Claimed with a placeholder kind that the handler ignores (-1), filled, then published. */
        if (atomic_load(&slots[i].kind) == 0 && atomic_compare_exchange_strong(&slots[i].kind, &zero, -1)) {
            slots[i].owner = getpid();
            memcpy(slots[i].path, path, strlen(path) + 1);
            atomic_store(&slots[i].kind, kind);
            return i;
        }
    }
    return -1;
}

void cl_drop(int slot)
{
    if (slot >= 0 && slot < CL_SLOTS)
        atomic_store(&slots[slot].kind, 0);
}
