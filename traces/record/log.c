/*
 * log.c - the recorder's state: one buffer of raw records per process, the
 * raw file it is appended to, and the life-cycle hooks (start-up, fork, exit)
 * that keep one raw file per process complete and in order.
 *
 * Algorithm. Recording is decided once per program image, on the first
 * allocation call after the C library has its environment (or in our
 * constructor, whichever comes first): PMARENA_RECORD_RAW_DIR unset means off
 * for good (every call is only forwarded). When on, the file is DIR/raw.<pid>;
 * an epoch record is written to it at once, then records collect in a static
 * buffer of TR_REC_BUF entries that is appended to the file whenever it fills,
 * at exit (atexit handler and destructor, whichever runs last wins), before
 * fork in the parent, and before exec and _exit (exec.c). The file is opened
 * for each flush (O_WRONLY|O_APPEND|O_CREAT) and closed again: a flush is rare
 * (every ~160 KiB), and holding no descriptor means a program that closes all
 * its descriptors, or reuses their numbers, cannot make us write into its own
 * files; exec finds no descriptor of ours; the same pid after exec appends.
 *
 * Fork: prepare flushes the parent's buffer (under the lock, released again:
 * holding it across fork would put our lock before glibc's stdio and arena
 * fork locks, and a thread holding one of those while it allocates would
 * deadlock the fork). The child, the only thread left, re-creates the lock (a
 * thread that does not exist in the child may have held it), drops whatever
 * the buffer holds (records of the parent's other threads since the flush;
 * the parent keeps and writes them), forgets its cached thread id, and starts
 * raw.<childpid> with a fork epoch. One trace per process follows from that.
 *
 * Invariants: buf[0..n) are records of this process not yet in the file, in
 * the order the calls took effect; every raw file starts with an epoch record;
 * the recorder itself never allocates (static buffer, stack strings, raw
 * syscalls), and a thread inside it has tl_guard set so that anything it calls
 * which does allocate (dlsym, atexit) is forwarded unrecorded instead of
 * recursing into the lock.
 *
 * Locking: one mutex (st.lock) over the buffer, the path and the flags; the
 * state word is also read without it (atomic) on the fast path. realloc holds
 * the lock across the real call (see record.h), so the order is st.lock, then
 * glibc's arena locks; nothing takes them the other way round (allocations
 * and frees take st.lock only outside the real call, fork only before it).
 */
#define TR_RECORD_INTERNAL
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Static TLS: global-dynamic TLS may call malloc on first touch in a thread. */
#define TR_REC_TLS __thread __attribute__((tls_model("initial-exec")))

enum { TR_REC_BUF = 4096 };               /* records per flush: 160 KiB */
enum { ST_UNDECIDED = 0, ST_OFF, ST_ON };

extern char **environ;

static struct {
    pthread_mutex_t lock;
    _Atomic int state;            /* ST_*: written under the lock */
    bool hooks;                   /* atexit and pthread_atfork registered */
    bool exiting;                 /* exit handlers ran: write each record through */
    char dir[2048];
    char path[2200];              /* dir/raw.<pid> */
    size_t n;
    tr_raw_rec buf[TR_REC_BUF];
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

static TR_REC_TLS bool tl_guard;
static TR_REC_TLS uint32_t tl_tid;

bool tr_rec_guard_enter(void)
{
    bool prev = tl_guard;
    tl_guard = true;
    return prev;
}

void tr_rec_guard_leave(bool prev) { tl_guard = prev; }

static uint32_t rec_tid(void)
{
    if (!tl_tid)
        tl_tid = (uint32_t)gettid();
    return tl_tid;
}

/* ---- strings without malloc or stdio ------------------------------------------ */

static void str_add(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s && *len + 1 < cap)
        buf[(*len)++] = *s++;
    buf[*len] = '\0';
}

static void str_add_u64(char *buf, size_t cap, size_t *len, uint64_t v)
{
    char digits[24];
    int i = (int)sizeof digits - 1;
    digits[i] = '\0';
    do
        digits[--i] = (char)('0' + v % 10);
    while ((v /= 10) && i > 0);
    str_add(buf, cap, len, digits + i);
}

/* One line to stderr; the recorder's only way to complain. */
static void rec_warn(const char *what, const char *path, int err)
{
    char msg[2600];
    size_t len = 0;
    str_add(msg, sizeof msg, &len, "pmarena-record: ");
    str_add(msg, sizeof msg, &len, what);
    str_add(msg, sizeof msg, &len, " ");
    str_add(msg, sizeof msg, &len, path);
    str_add(msg, sizeof msg, &len, " (errno ");
    str_add_u64(msg, sizeof msg, &len, (uint64_t)err);
    str_add(msg, sizeof msg, &len, "); recording stops in this process\n");
    ssize_t rc = write(STDERR_FILENO, msg, len);
    (void)rc;
}

/* ---- the buffer and the file ------------------------------------------------ */

static bool write_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len) {
        ssize_t k = write(fd, c, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        c += k;
        len -= (size_t)k;
    }
    return true;
}

/* Appends buf[0..n) to the file and empties it; on failure recording stops
 * (a raw file with a hole would make a wrong trace). errno is preserved: a
 * malloc that succeeds must not change it. Caller holds st.lock. */
static void flush_locked(void)
{
    if (st.n == 0)
        return;
    if (atomic_load_explicit(&st.state, memory_order_relaxed) != ST_ON) {
        st.n = 0;
        return;
    }
    int saved = errno;
    int fd = open(st.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write_all(fd, st.buf, st.n * sizeof st.buf[0]);
    int err = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        rec_warn("cannot append to", st.path, err);
        atomic_store_explicit(&st.state, ST_OFF, memory_order_release);
    }
    st.n = 0;
    errno = saved;
}

static void append_locked(const tr_raw_rec *r)
{
    if (atomic_load_explicit(&st.state, memory_order_relaxed) != ST_ON)
        return;
    st.buf[st.n++] = *r;
    if (st.n == TR_REC_BUF || st.exiting)
        flush_locked();
}

/* Points st.path at raw.<pid> of the calling process and writes its epoch
 * record there at once, so the file exists from the image's start. */
static void start_file_locked(uint64_t kind)
{
    size_t len = 0;
    st.path[0] = '\0';
    str_add(st.path, sizeof st.path, &len, st.dir);
    str_add(st.path, sizeof st.path, &len, "/raw.");
    str_add_u64(st.path, sizeof st.path, &len, (uint64_t)getpid());
    st.n = 0;
    tr_raw_rec e = {.op = TR_RAW_EPOCH, .tid = rec_tid(), .addr = TR_RAW_MAGIC,
                    .size = sizeof(tr_raw_rec), .old = (uint64_t)getpid(), .align = kind};
    append_locked(&e);
    flush_locked();
}

/* Decides whether this image records. Too early (no environment yet): leaves
 * it undecided, and the call that asked is forwarded unrecorded. */
static void decide_locked(void)
{
    if (atomic_load_explicit(&st.state, memory_order_relaxed) != ST_UNDECIDED || !environ)
        return;
    const char *dir = getenv("PMARENA_RECORD_RAW_DIR");
    if (!dir || !*dir) {
        atomic_store_explicit(&st.state, ST_OFF, memory_order_release);
        return;
    }
    size_t len = 0;
    st.dir[0] = '\0';
    if (dir[0] != '/') {          /* the program may chdir: anchor it now */
        if (!getcwd(st.dir, sizeof st.dir - 1)) {
            rec_warn("cannot resolve the relative directory", dir, errno);
            atomic_store_explicit(&st.state, ST_OFF, memory_order_release);
            return;
        }
        len = strlen(st.dir);
        str_add(st.dir, sizeof st.dir, &len, "/");
    }
    str_add(st.dir, sizeof st.dir, &len, dir);
    if (len + 32 >= sizeof st.dir) {
        rec_warn("directory name too long:", dir, ENAMETOOLONG);
        atomic_store_explicit(&st.state, ST_OFF, memory_order_release);
        return;
    }
    atomic_store_explicit(&st.state, ST_ON, memory_order_release);
    start_file_locked(TR_RAW_EPOCH_START);
}

static void rec_decide(void)
{
    bool g = tr_rec_guard_enter();
    pthread_mutex_lock(&st.lock);
    decide_locked();
    pthread_mutex_unlock(&st.lock);
    tr_rec_guard_leave(g);
}

bool tr_rec_active(void)
{
    if (tl_guard)
        return false;
    int s = atomic_load_explicit(&st.state, memory_order_acquire);
    if (s == ST_UNDECIDED) {
        rec_decide();
        s = atomic_load_explicit(&st.state, memory_order_acquire);
    }
    return s == ST_ON;
}

void tr_rec_lock(void)
{
    tl_guard = true;              /* nothing the real call does may re-enter the lock */
    pthread_mutex_lock(&st.lock);
}

void tr_rec_unlock(void)
{
    pthread_mutex_unlock(&st.lock);
    tl_guard = false;             /* the caller checked tr_rec_active: it was clear */
}

void tr_rec_log_locked(uint32_t op, const void *addr, uint64_t size, const void *old, uint64_t align)
{
    tr_raw_rec r = {.op = op, .tid = rec_tid(), .addr = (uint64_t)(uintptr_t)addr, .size = size,
                    .old = (uint64_t)(uintptr_t)old, .align = align};
    append_locked(&r);
}

void tr_rec_log(uint32_t op, const void *addr, uint64_t size, const void *old, uint64_t align)
{
    tr_rec_lock();
    tr_rec_log_locked(op, addr, size, old, align);
    tr_rec_unlock();
}

void tr_rec_flush(void)
{
    if (atomic_load_explicit(&st.state, memory_order_acquire) != ST_ON)
        return;
    bool g = tr_rec_guard_enter();
    pthread_mutex_lock(&st.lock);
    flush_locked();
    pthread_mutex_unlock(&st.lock);
    tr_rec_guard_leave(g);
}

/* ---- life cycle ---------------------------------------------------------------- */

/* After this, every record is written through: threads still allocating while
 * the process exits lose nothing that reached us before the end. */
static void rec_exit_flush(void)
{
    bool g = tr_rec_guard_enter();
    pthread_mutex_lock(&st.lock);
    flush_locked();
    st.exiting = true;
    pthread_mutex_unlock(&st.lock);
    tr_rec_guard_leave(g);
}

static void rec_fork_prepare(void) { tr_rec_flush(); }

static void rec_fork_child(void)
{
    pthread_mutex_init(&st.lock, NULL);   /* a thread gone in the child may have held it */
    tl_tid = 0;
    st.n = 0;
    if (atomic_load_explicit(&st.state, memory_order_relaxed) == ST_ON)
        start_file_locked(TR_RAW_EPOCH_FORK);
}

__attribute__((constructor)) static void rec_init(void)
{
    rec_decide();
    bool g = tr_rec_guard_enter();
    pthread_mutex_lock(&st.lock);
    bool reg = atomic_load_explicit(&st.state, memory_order_relaxed) == ST_ON && !st.hooks;
    st.hooks = true;
    pthread_mutex_unlock(&st.lock);
    if (reg) {                    /* both may allocate: guarded, and outside our lock */
        pthread_atfork(rec_fork_prepare, NULL, rec_fork_child);
        atexit(rec_exit_flush);
    }
    tr_rec_guard_leave(g);
}

__attribute__((destructor)) static void rec_fini(void) { rec_exit_flush(); }
