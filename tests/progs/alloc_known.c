/*
 * alloc_known.c - a subject for tests/test_record.c: allocations with sizes
 * and an order known in advance, so that the recorded trace can be checked
 * event by event. Between the calls of each numbered step it calls nothing
 * else that allocates, so each step's events are consecutive in the trace
 * (the C library's own start-up allocations come before them).
 *
 *   1. main thread: a = malloc(100); b = calloc(3, 50); a = realloc(a, 400);
 *      posix_memalign(&c, 64, 256); d = aligned_alloc(32, 96);
 *      free(a); free(b); free(c); free(d)
 *   2. a second thread: malloc 1111, 2222, 3333, then frees them in that order
 *   3. main thread: e = memalign(128, 640); f = valloc(5000);
 *      g = reallocarray(NULL, 7, 11) (an alloc of 77); realloc(g, 0) (a free);
 *      free(NULL) (not recorded); free(e); free(f)
 *   4. fork: the child mallocs 777 and ends with exit(0); a second child
 *      mallocs 778 and ends with _exit(0) (which skips the exit handlers)
 *
 * Prints "child1 PID" and "child2 PID" on stdout at the end so that the test
 * can find the children's traces. Exit status 0, or 1 if a call failed.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Volatile sinks keep the compiler from pairing up or removing calls. */
static void *volatile sink;

static void *second_thread(void *arg)
{
    (void)arg;
    char *x = malloc(1111), *y = malloc(2222), *z = malloc(3333);
    if (!x || !y || !z)
        return (void *)1;
    x[0] = y[0] = z[0] = 1;
    free(x);
    free(y);
    free(z);
    return NULL;
}

static pid_t child(size_t size, int use_underscore_exit)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *p = malloc(size);
        sink = p;
        int ok = p != NULL;
        if (use_underscore_exit)
            _exit(ok ? 0 : 1);
        exit(ok ? 0 : 1);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return pid;
}

int main(void)
{
    /* step 1 */
    char *a = malloc(100);
    char *b = calloc(3, 50);
    char *a2 = realloc(a, 400);
    void *c = NULL;
    int rc = posix_memalign(&c, 64, 256);
    void *d = aligned_alloc(32, 96);
    if (!a || !b || !a2 || rc != 0 || !d)
        return 1;
    sink = a2;
    free(a2);
    free(b);
    free(c);
    free(d);

    /* step 2 */
    pthread_t t;
    void *tres = NULL;
    if (pthread_create(&t, NULL, second_thread, NULL) != 0 || pthread_join(t, &tres) != 0 || tres)
        return 1;

    /* step 3 */
    void *e = memalign(128, 640);
    void *f = valloc(5000);
    void *g = reallocarray(NULL, 7, 11);
    if (!e || !f || !g || malloc_usable_size(g) < 77)
        return 1;
    sink = realloc(g, 0);
    free(NULL);
    free(e);
    free(f);

    /* step 4 */
    pid_t c1 = child(777, 0), c2 = child(778, 1);
    if (c1 < 0 || c2 < 0)
        return 1;
    printf("child1 %ld\nchild2 %ld\n", (long)c1, (long)c2);
    return 0;
}
