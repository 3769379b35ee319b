/*
 * alloc_threads.c - a subject for tests/test_record.c: THREADS threads
 * allocating, reallocating and freeing at once, a share of the blocks freed
 * by another thread than the one that allocated them (through a shared
 * mailbox). glibc hands freed addresses out again at once, often to another
 * thread, so a trace recorded from this is well-formed (every free names a
 * live object) only if the recorder logs each free before the block can be
 * reused and each allocation after, realloc included.
 *
 * With FORKS > 0 the main thread forks that many times while the workers
 * run; each child allocates 999 bytes, frees them and exits: the recorder's
 * fork handlers must neither deadlock nor mix the parent's records into the
 * child's trace.
 *
 * Usage: alloc_threads [THREADS [OPS [FORKS]]]   (defaults 4, 20000, 0).
 * Exit status 0, or 1 if an allocation, a fork or a child failed.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SLOTS = 64, MAILBOX = 32 };

static pthread_mutex_t mail_lock = PTHREAD_MUTEX_INITIALIZER;
static void *mailbox[MAILBOX];
static int nmail;
static int ops_per_thread = 20000;

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *work(void *arg)
{
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)((intptr_t)arg + 1);
    void *mine[SLOTS] = {0};
    for (int op = 0; op < ops_per_thread; op++) {
        int k = (int)(xs(&seed) % SLOTS);
        size_t size = 1 + (size_t)(xs(&seed) % 512);
        switch (xs(&seed) % 8) {
        case 0:                                   /* pass it on */
            if (mine[k]) {
                pthread_mutex_lock(&mail_lock);
                if (nmail < MAILBOX) {
                    mailbox[nmail++] = mine[k];
                    mine[k] = NULL;
                }
                pthread_mutex_unlock(&mail_lock);
            }
            break;
        case 1: {                                 /* free someone else's */
            void *p = NULL;
            pthread_mutex_lock(&mail_lock);
            if (nmail)
                p = mailbox[--nmail];
            pthread_mutex_unlock(&mail_lock);
            free(p);
            break;
        }
        case 2:
        case 3:
            if (mine[k]) {
                void *q = realloc(mine[k], size);
                if (!q)
                    return (void *)1;
                mine[k] = q;
                break;
            }
            /* fall through */
        default:
            free(mine[k]);
            mine[k] = xs(&seed) & 1 ? malloc(size) : calloc(1, size);
            if (!mine[k])
                return (void *)1;
            memset(mine[k], 0x5A, size < 16 ? size : 16);
            break;
        }
    }
    for (int k = 0; k < SLOTS; k++)
        free(mine[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        ops_per_thread = atoi(argv[2]);
    int forks = argc > 3 ? atoi(argv[3]) : 0;
    if (nthreads < 1 || nthreads > 64 || ops_per_thread < 1 || forks < 0)
        return 1;
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&t[i], NULL, work, (void *)(intptr_t)i) != 0)
            return 1;
    int failed = 0;
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            void *p = malloc(999);
            free(p);
            exit(p ? 0 : 1);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
            failed = 1;
    }
    for (int i = 0; i < nthreads; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        failed |= r != NULL;
    }
    while (nmail)
        free(mailbox[--nmail]);
    return failed;
}
