/*
 * file_pmem.c - the file device's persistent mapping through libpmem
 * (file_map.h): pmem_map_file, pmem_flush / pmem_msync, pmem_drain. The one
 * file of sim/ that needs a library beyond libc; everything else of the file
 * device is file_device.c's.
 */
#include "file_map.h"

#include <errno.h>
#include <stdbool.h>
#include <libpmem.h>
#include <stdio.h>
#include <unistd.h>

int nv_map_file(nv_map *m, const char *path, uint64_t size, char *err, size_t errlen)
{
    bool exists = access(path, F_OK) == 0;
    if (exists)
        m->base = pmem_map_file(path, 0, 0, 0, &m->len, &m->is_pmem);
    else
        m->base = pmem_map_file(path, (size_t)size, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0644, &m->len,
                                &m->is_pmem);
    if (m->base)
        return 0;
    int e = errno;
    if (!exists && e != EEXIST)
        unlink(path);       /* ours (PMEM_FILE_EXCL succeeded): libpmem leaves it behind on some failures */
    /* pmem_errormsg names the step (open, posix_fallocate, mmap); ENOSPC
     * gets a hint, since a device bigger than the free space is a common ask. */
    if (exists)
        snprintf(err, errlen, "cannot map %s: %s", path, pmem_errormsg());
    else
        snprintf(err, errlen, "cannot create %s of %llu bytes: %s%s", path, (unsigned long long)size,
                 pmem_errormsg(),
                 e == ENOSPC || e == EFBIG ? " (a sparse file made beforehand, e.g. `truncate -s SIZE FILE`, "
                                             "is mapped as it is, without reserving the space)" : "");
    errno = e;
    return -1;
}

void nv_map_flush(const nv_map *m, void *addr, size_t len)
{
    if (m->is_pmem)
        pmem_flush(addr, len);
    else
        pmem_msync(addr, len);
}

void nv_map_drain(const nv_map *m)
{
    if (m->is_pmem)
        pmem_drain();
}

void nv_map_unmap(nv_map *m)
{
    pmem_unmap(m->base, m->len);
    m->base = NULL;
}
