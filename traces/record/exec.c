/*
 * exec.c - the ways out of a program image that skip the exit handlers: the
 * exec family (execve, execv, execvp, execvpe, execl, execlp, execle, fexecve,
 * execveat) and _exit/_Exit. Each flushes the recorder's buffer, then does
 * what glibc's function does.
 *
 * Why: the buffer lives in the image. exec replaces the image (same pid; the
 * library initializes again and appends a new epoch to the same raw file) and
 * _exit ends the process, neither running atexit handlers nor destructors, so
 * without this the records since the last flush would be lost: a shell that
 * execs the real program, or a forked child that ends with _exit, would leave
 * a trace missing its last events.
 *
 * The real exec functions are looked up with dlsym(RTLD_NEXT, ...) in a
 * constructor (dlsym allocates: done with the recorder's guard set, and not
 * inside a vfork child, where allocating would corrupt the parent's heap);
 * the variadic execl* build their argv on the stack and call the interposed
 * execv* so that the flush happens in one place. _exit ends with the
 * exit_group system call, exactly as glibc's does; glibc's exit() reaches
 * its own _exit internally and does not come here (it runs the handlers).
 *
 * Calls from inside glibc (posix_spawn, system, popen) do not come here: their
 * children are new images that record for themselves, and the parent's buffer
 * is untouched. No state of its own beyond the function pointers (set once).
 */
#define TR_RECORD_INTERNAL
#include "record.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>


typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);

static struct {
    execve_fn execve, execvpe;
    execv_fn execv, execvp;
    fexecve_fn fexecve;
    execveat_fn execveat;
} real;

static void *lookup(const char *name)
{
    bool g = tr_rec_guard_enter();
    void *f = dlsym(RTLD_NEXT, name);
    tr_rec_guard_leave(g);
    return f;
}

__attribute__((constructor)) static void exec_init(void)
{
    real.execve = (execve_fn)lookup("execve");
    real.execvpe = (execve_fn)lookup("execvpe");
    real.execv = (execv_fn)lookup("execv");
    real.execvp = (execv_fn)lookup("execvp");
    real.fexecve = (fexecve_fn)lookup("fexecve");
    real.execveat = (execveat_fn)lookup("execveat");
}

/* An exec before our constructor ran (from another library's constructor):
 * look the function up now. */
#define REAL(name) (real.name ? real.name : (real.name = lookup(#name)))

static int no_real(void)
{
    errno = ENOSYS;
    return -1;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    tr_rec_flush();
    execve_fn f = REAL(execve);
    return f ? f(path, argv, envp) : no_real();
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
    tr_rec_flush();
    execve_fn f = REAL(execvpe);
    return f ? f(file, argv, envp) : no_real();
}

int execv(const char *path, char *const argv[])
{
    tr_rec_flush();
    execv_fn f = REAL(execv);
    return f ? f(path, argv) : no_real();
}

int execvp(const char *file, char *const argv[])
{
    tr_rec_flush();
    execv_fn f = REAL(execvp);
    return f ? f(file, argv) : no_real();
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
    tr_rec_flush();
    fexecve_fn f = REAL(fexecve);
    return f ? f(fd, argv, envp) : no_real();
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    tr_rec_flush();
    execveat_fn f = REAL(execveat);
    return f ? f(dirfd, path, argv, envp, flags) : no_real();
}

/* The number of arguments, arg0 included (glibc declares arg0 nonnull):
 * arg0 plus those before the terminating NULL. */
static size_t count_args(va_list ap)
{
    size_t n = 1;
    while (va_arg(ap, char *))
        n++;
    return n;
}

/* Fills argv[0..n) from arg0 and the list, argv[n] = NULL. */
static void collect_args(char **argv, size_t n, const char *arg0, va_list ap)
{
    argv[0] = (char *)arg0;
    for (size_t i = 1; i < n; i++)
        argv[i] = va_arg(ap, char *);
    argv[n] = NULL;
}

int execl(const char *path, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    size_t n = count_args(ap);
    va_end(ap);
    char *argv[n + 1];
    va_start(ap, arg0);
    collect_args(argv, n, arg0, ap);
    va_end(ap);
    return execv(path, argv);
}

int execlp(const char *file, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    size_t n = count_args(ap);
    va_end(ap);
    char *argv[n + 1];
    va_start(ap, arg0);
    collect_args(argv, n, arg0, ap);
    va_end(ap);
    return execvp(file, argv);
}

/* execle: the environment pointer follows the NULL that ends the arguments. */
int execle(const char *path, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    size_t n = count_args(ap);
    va_end(ap);
    char *argv[n + 1];
    va_start(ap, arg0);
    collect_args(argv, n, arg0, ap);
    (void)va_arg(ap, char *);         /* the NULL after the arguments */
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

void _exit(int status)
{
    tr_rec_flush();
    for (;;)
        syscall(SYS_exit_group, status);
}

void _Exit(int status)
{
    _exit(status);
}
