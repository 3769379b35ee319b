/*
 * bench_device.c - cost of a 64-byte store through the device interface:
 * sim (line and dcw models; one and two writers) against the dram device and
 * a plain memcpy, measured in the same run and printed as ratios. Asserts
 * nothing. Target (issue 2): single-writer sim line <= 3x a dram write.
 *
 * Each writer stores 64-byte blocks at consecutive offsets of its own 4 MiB
 * window (wrapping), alternating two source patterns so dcw sees change.
 * Reported: ns per write per writer, best of REPEATS runs.
 */
#include "pmarena/device.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WINDOW = 4 << 20, WRITES = 4 << 20, REPEATS = 5 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct job {
    nv_device *dev;         /* NULL: plain memcpy into mem */
    unsigned char *mem;
    uint64_t base;
    double secs;
} job;

static void *writer(void *arg)
{
    job *j = arg;
    unsigned char pat[2][64];
    memset(pat[0], 0x55, 64);
    memset(pat[1], 0xAA, 64);
    double t0 = now_s();
    uint64_t off = 0;
    for (uint64_t i = 0; i < WRITES; i++) {
        if (j->dev)
            nv_write(j->dev, j->base + off, pat[(i / (WINDOW / 64)) & 1], 64, NV_DATA);
        else
            memcpy(j->mem + j->base + off, pat[(i / (WINDOW / 64)) & 1], 64);
        off += 64;
        if (off == WINDOW)
            off = 0;
    }
    j->secs = now_s() - t0;
    return NULL;
}

/* ns per write per writer, best of REPEATS. */
static double measure(nv_device *dev, unsigned char *mem, int nthreads)
{
    double best = 1e30;
    for (int r = 0; r < REPEATS; r++) {
        job jobs[2];
        pthread_t t[2];
        for (int i = 0; i < nthreads; i++) {
            jobs[i] = (job){.dev = dev, .mem = mem, .base = (uint64_t)i * WINDOW};
            pthread_create(&t[i], NULL, writer, &jobs[i]);
        }
        double worst = 0;
        for (int i = 0; i < nthreads; i++) {
            pthread_join(t[i], NULL);
            if (jobs[i].secs > worst)
                worst = jobs[i].secs;
        }
        double ns = worst * 1e9 / WRITES;
        if (ns < best)
            best = ns;
    }
    return best;
}

static nv_device *open_dev(nv_kind kind, nv_write_model model)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.kind = kind;
    cfg.size = 2 * WINDOW;
    cfg.write_model = model;
    nv_device *d;
    if (nv_open(&d, &cfg) != 0) {
        fprintf(stderr, "bench_device: cannot open device\n");
        exit(1);
    }
    return d;
}

int main(void)
{
    unsigned char *mem = calloc(1, 2 * WINDOW);
    nv_device *dram = open_dev(NV_KIND_DRAM, NV_MODEL_LINE);
    nv_device *line = open_dev(NV_KIND_SIM, NV_MODEL_LINE);
    nv_device *dcw = open_dev(NV_KIND_SIM, NV_MODEL_DCW);
    struct { const char *name; nv_device *dev; } rows[] = {
        {"memcpy", NULL}, {"dram device", dram}, {"sim line", line}, {"sim dcw", dcw},
    };
    double ns[4][2];
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 4; i++)
            ns[i][w] = measure(rows[i].dev, mem, w + 1);
    printf("\n== device: ns per 64-byte write (best of %d x %d writes per writer)\n", REPEATS, WRITES);
    printf("%-12s %10s %10s %12s %12s\n", "backend", "1 writer", "2 writers", "x dram (1w)", "x memcpy (1w)");
    for (int i = 0; i < 4; i++)
        printf("%-12s %10.2f %10.2f %12.2f %12.2f\n", rows[i].name, ns[i][0], ns[i][1],
               ns[i][0] / ns[1][0], ns[i][0] / ns[0][0]);
    printf("target: sim line single writer <= 3.00x dram: %.2fx (%s)\n", ns[2][0] / ns[1][0],
           ns[2][0] / ns[1][0] <= 3.0 ? "met" : "MISSED");
    nv_close(dram);
    nv_close(line);
    nv_close(dcw);
    free(mem);
    return 0;
}
