/*
 * file_device.c - the persistent backend: a memory-mapped file. Stores are
 * memcpy into the mapping; flush and fence go to the mapping (file_map.h,
 * libpmem's in file_pmem.c: a cache flush on persistent memory, msync
 * otherwise). Nothing is counted. Plain libc here.
 *
 * An existing file is opened as it is (its size wins over cfg->size), so a
 * heap on it survives process exit; a missing one is created with cfg->size.
 */
#include "sim_internal.h"
#include "file_map.h"

#include <stdlib.h>
#include <string.h>

typedef struct nv_file {
    nv_device dev;
    nv_map map;
} nv_file;

static int file_write(nv_device *d, uint64_t off, const void *src, size_t len, nv_tag tag)
{
    (void)tag;
    if (off > d->size || len > d->size - off)
        return NV_ERANGE;
    memcpy(d->base + off, src, len);
    return 0;
}

static int file_set(nv_device *d, uint64_t off, int byte, size_t len, nv_tag tag)
{
    (void)tag;
    if (off > d->size || len > d->size - off)
        return NV_ERANGE;
    memset(d->base + off, byte, len);
    return 0;
}

static int file_read(nv_device *d, uint64_t off, void *dst, size_t len)
{
    if (off > d->size || len > d->size - off)
        return NV_ERANGE;
    memcpy(dst, d->base + off, len);
    return 0;
}

static void file_flush(nv_device *d, uint64_t off, size_t len)
{
    nv_file *f = (nv_file *)d;
    if (off >= d->size || len == 0)
        return;
    if (len > d->size - off)
        len = (size_t)(d->size - off);
    nv_map_flush(&f->map, d->base + off, len);
}

static void file_fence(nv_device *d)
{
    nv_map_drain(&((nv_file *)d)->map);
}

static int file_crash(nv_device *d, const nv_crash_opts *opts)
{
    (void)d;
    (void)opts;
    return NV_ENOTSUP;
}

static void file_close(nv_device *d)
{
    nv_file *f = (nv_file *)d;
    nv_map_unmap(&f->map);
    free(f);
}

static const nv_ops file_ops = {
    .write = file_write,
    .set = file_set,
    .read = file_read,
    .flush = file_flush,
    .fence = file_fence,
    .crash = file_crash,
    .close = file_close,
};

int nv_file_open(nv_device **dev, const nv_config *cfg)
{
    nv_file *f = calloc(1, sizeof *f);
    if (!f)
        return NV_ENOMEM;
    if (nv_map_file(&f->map, cfg->path, cfg->size, nv_open_detail, sizeof nv_open_detail) != 0) {
        free(f);
        return NV_EIO;
    }
    f->dev = (nv_device){.ops = &file_ops, .base = f->map.base, .size = f->map.len, .kind = NV_KIND_FILE,
                        .direct = true};
    *dev = &f->dev;
    return 0;
}
