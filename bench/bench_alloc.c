/*
 * bench_alloc.c - allocator throughput: alloc/free pairs of 64 .. 4096 bytes,
 * 1 and 2 threads, pmarena (hybrid metadata, first-fit) on the dram device
 * and on the sim device, against glibc malloc on the same loop in the same
 * run. Prints pairs/s, the ratio to glibc, and each one's 2-thread scaling.
 * Asserts nothing. Targets (issue 3): pmarena dram 64-byte pairs >= 0.5x
 * glibc, single thread; 2 threads >= 1.7x one.
 *
 * Each thread runs its own loop on the shared heap: get PAIRS_BATCH objects,
 * return them, repeat (a batch of 1 is the plain pair). Best of REPEATS.
 */
#include "pmarena/device.h"
#include "pmarena/pma.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PAIRS = 2000000, REPEATS = 3 };

typedef struct subject {
    const char *name;
    nv_kind kind;          /* for pmarena; ignored for glibc */
    int is_glibc;
    pma_heap *heap;
    nv_device *dev;
} subject;

typedef struct job { subject *s; size_t size; double secs; } job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *loop(void *arg)
{
    job *j = arg;
    double t0 = now_s();
    if (j->s->is_glibc) {
        for (int i = 0; i < PAIRS; i++) {
            void *volatile p = malloc(j->size);
            free(p);
        }
    } else {
        pma_heap *h = j->s->heap;
        for (int i = 0; i < PAIRS; i++) {
            void *p = pma_get_mem(h, j->size);
            if (!p || pma_return_mem(h, p) != 0) {
                fprintf(stderr, "bench_alloc: %s failed: %s\n", j->s->name, pma_strerror(pma_last_error()));
                exit(1);
            }
        }
    }
    j->secs = now_s() - t0;
    return NULL;
}

/* Pairs per second over all threads, best of REPEATS. */
static double measure(subject *s, size_t size, int threads)
{
    double best = 0;
    for (int r = 0; r < REPEATS; r++) {
        job jobs[2];
        pthread_t t[2];
        double t0 = now_s();
        for (int i = 0; i < threads; i++) {
            jobs[i] = (job){s, size, 0};
            pthread_create(&t[i], NULL, loop, &jobs[i]);
        }
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        double rate = (double)PAIRS * threads / (now_s() - t0);
        if (rate > best)
            best = rate;
    }
    return best;
}

static void open_subject(subject *s)
{
    if (s->is_glibc)
        return;
    nv_config dc;
    nv_config_defaults(&dc);
    dc.kind = s->kind;
    dc.size = 256 << 20;
    pma_config pc;
    pma_config_defaults(&pc);
    if (nv_open(&s->dev, &dc) != 0 || pma_init(&s->heap, s->dev, &pc) != 0) {
        fprintf(stderr, "bench_alloc: cannot open %s\n", s->name);
        exit(1);
    }
}

int main(void)
{
    subject subjects[] = {
        {"glibc malloc", 0, 1, NULL, NULL},
        {"pmarena dram", NV_KIND_DRAM, 0, NULL, NULL},
        {"pmarena sim", NV_KIND_SIM, 0, NULL, NULL},
    };
    enum { NS = sizeof subjects / sizeof subjects[0] };
    static const size_t sizes[] = {64, 256, 1024, 4096};
    for (int i = 0; i < NS; i++)
        open_subject(&subjects[i]);
    printf("\n== allocator: alloc/free pairs per second (M), best of %d x %d pairs per thread\n", REPEATS, PAIRS);
    printf("%-14s %6s %10s %10s %9s %12s\n", "allocator", "size", "1 thread", "2 threads", "scaling", "x glibc (1t)");
    double glibc1[4] = {0}, target_ratio = 0, target_scaling = 0;
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
        for (int i = 0; i < NS; i++) {
            double r1 = measure(&subjects[i], sizes[z], 1);
            double r2 = measure(&subjects[i], sizes[z], 2);
            if (subjects[i].is_glibc)
                glibc1[z] = r1;
            printf("%-14s %6zu %10.2f %10.2f %8.2fx %11.2fx\n", subjects[i].name, sizes[z], r1 / 1e6,
                   r2 / 1e6, r2 / r1, r1 / glibc1[z]);
            if (z == 0 && i == 1) {
                target_ratio = r1 / glibc1[z];
                target_scaling = r2 / r1;
            }
        }
    }
    printf("target: pmarena dram 64 B single thread >= 0.50x glibc: %.2fx (%s)\n", target_ratio,
           target_ratio >= 0.5 ? "met" : "MISSED");
    printf("target: pmarena dram 64 B 2 threads >= 1.70x one: %.2fx (%s)\n", target_scaling,
           target_scaling >= 1.7 ? "met" : "MISSED");
    for (int i = 0; i < NS; i++) {
        if (subjects[i].heap)
            pma_destroy(subjects[i].heap);
        if (subjects[i].dev)
            nv_close(subjects[i].dev);
    }
    return 0;
}
