/*
 * file_map.h - what the file device (file_device.c) needs from a persistent
 * mapping: map a file, make a range durable, unmap. file_pmem.c implements it
 * with libpmem: the one file of sim/ that needs a library beyond libc.
 */
#ifndef PMARENA_SIM_FILE_MAP_H
#define PMARENA_SIM_FILE_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct nv_map {
    void *base;
    size_t len;
    int is_pmem;    /* real (or forced, PMEM_IS_PMEM_FORCE=1) persistent memory */
} nv_map;

/* Maps an existing file as it is (its size wins), or creates one of size
 * bytes (allocated on disk: posix_fallocate, so a full disk fails here and not
 * as a SIGBUS mid-run). 0, or -1 with errno set and err[0..errlen) saying
 * what failed in words. */
int nv_map_file(nv_map *m, const char *path, uint64_t size, char *err, size_t errlen);
/* Writes addr[0..len) back: a cache flush on persistent memory, msync else. */
void nv_map_flush(const nv_map *m, void *addr, size_t len);
/* Waits for the flushes (a fence; nothing to wait for after msync). */
void nv_map_drain(const nv_map *m);
void nv_map_unmap(nv_map *m);

#endif
