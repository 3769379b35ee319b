/*
 * dram_device.c - plain memory behind the device interface: stores are
 * memcpy, flush and fence do nothing, nothing is counted. The speed baseline
 * against which the cost of simulation and persistence is measured.
 */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct nv_dram {
    nv_device dev;
    size_t map_bytes;
} nv_dram;

static int dram_write(nv_device *d, uint64_t off, const void *src, size_t len, nv_tag tag)
{
    (void)tag;
    if (off > d->size || len > d->size - off)
        return NV_ERANGE;
    memcpy(d->base + off, src, len);
    return 0;
}

static int dram_set(nv_device *d, uint64_t off, int byte, size_t len, nv_tag tag)
{
    (void)tag;
    if (off > d->size || len > d->size - off)
        return NV_ERANGE;
    memset(d->base + off, byte, len);
    return 0;
}

static int dram_read(nv_device *d, uint64_t off, void *dst, size_t len)
{
    if (off > d->size || len > d->size - off)
        return NV_ERANGE;
    memcpy(dst, d->base + off, len);
    return 0;
}


static int dram_crash(nv_device *d, const nv_crash_opts *opts)
{
    (void)d;
    (void)opts;
    return NV_ENOTSUP;
}

static void dram_close(nv_device *d)
{
    nv_dram *m = (nv_dram *)d;
    munmap(d->base, m->map_bytes);
    free(m);
}

static const nv_ops dram_ops = {
    .write = dram_write,
    .set = dram_set,
    .read = dram_read,
    .flush = NULL,       /* plain memory: nothing to flush or order */
    .fence = NULL,
    .crash = dram_crash,
    .close = dram_close,
};

int nv_dram_open(nv_device **dev, const nv_config *cfg)
{
    nv_dram *m = calloc(1, sizeof *m);
    if (!m)
        return NV_ENOMEM;
    m->map_bytes = (size_t)((cfg->size + 4095) & ~(uint64_t)4095);
    /* Shared, as a pmem file's mapping is: a private anonymous page read
     * before it is written maps the zero page, and the write then copies it
     * and flushes the other threads' TLBs, an interrupt to every CPU the
     * process runs on (the heap reads before it writes: the format's checks,
     * the checkpoint's words). A shared one gets its own page at the first
     * touch. In the 2-thread replay those copies were 3% of the time (perf,
     * issue 11). A forked child shares the device with its parent. */
    void *base = mmap(NULL, m->map_bytes, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(m);
        return NV_ENOMEM;
    }
    m->dev = (nv_device){.ops = &dram_ops, .base = base, .size = cfg->size, .kind = NV_KIND_DRAM,
                        .direct = true};
    *dev = &m->dev;
    return 0;
}
