/*
 * floor.c - `pmarena bench-worker floor`: what one durable log record costs
 * on this machine, with no allocator around it: a 16-byte store, a line
 * flush and a fence on pmarena's file device (a pool file in /dev/shm, as
 * the pmarena-file rows use), at consecutive offsets of a 1 MiB window.
 *
 * The log protocol pays this once per get and once per return, so twice
 * this figure is the least a pairs op can cost on the file device however
 * fast the allocator itself is; the targets (targets.c) turn it into the
 * highest ratio to PMDK that the machine allows.
 */
#include "worker.h"

#include "pmarena/device.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { FLOOR_WINDOW = 1 << 20, FLOOR_REC = 16, FLOOR_BATCH = 4096 };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bp_floor_run(double seconds, bp_floor *out, char *msg, size_t msglen)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/pmarena-bench-floor-%ld.pool", (long)getpid());
    unlink(path);
    nv_config dc;
    nv_config_defaults(&dc);
    dc.kind = NV_KIND_FILE;
    dc.size = 2 * FLOOR_WINDOW;
    dc.path = path;
    nv_device *d = NULL;
    int rc = nv_open(&d, &dc);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot open a file device at %s: %s", path, nv_open_error());
        unlink(path);
        return -1;
    }
    uint64_t w[2] = {0, 0}, n = 0, off = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < FLOOR_BATCH; i++) {
            w[0] = n++;
            rc |= nv_write(d, off, w, sizeof w, NV_META_LOG);
            nv_flush(d, off, sizeof w);
            nv_fence(d);
            off = (off + FLOOR_REC) % FLOOR_WINDOW;
        }
        t = now_s();
    } while (t - t0 < seconds);
    nv_close(d);
    unlink(path);
    if (rc != 0) {
        snprintf(msg, msglen, "a store to the file device failed");
        return -1;
    }
    out->records = n;
    out->secs = t - t0;
    return 0;
}
