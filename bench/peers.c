/*
 * peers.c - the allocators the peer benchmark compares, behind one API
 * (bp_alloc / bp_free / bp_write), so that every peer runs the same loops.
 *
 *   glibc, jemalloc, mimalloc  malloc/free. jemalloc and mimalloc are not
 *        linked: `pmarena bench` starts the worker with LD_PRELOAD set to
 *        their shared library (as mimalloc-bench does), and bp_open checks
 *        that the preload took (their own symbols, mallctl / mi_malloc, are
 *        visible), so a row is never glibc under another name.
 *   pmarena-dram, -file-PROTOCOL, -sim, -sim-PROTOCOL  pma_get_mem /
 *        pma_return_mem on a heap with the default configuration (hybrid
 *        metadata) on that device, but for the placement policy and
 *        persistence protocol asked for (a name ending in a protocol runs
 *        that one: the file device's throughput rows, the sim device's
 *        per-protocol wear rows); pmarena-sim takes a device-level
 *        leveling choice for the wear half (wear_level.c). The file
 *        device's pool is in /dev/shm; with PMEM_IS_PMEM_FORCE=1 (set by
 *        `pmarena bench`) libpmem flushes with cache-line instructions.
 *   pmemobj  PMDK's pmemobj_alloc / pmemobj_free on a pool in /dev/shm, under
 *        the same PMEM_IS_PMEM_FORCE=1. libpmemobj is loaded with dlopen, so
 *        the pmarena binary does not depend on it (it is a bench-only
 *        package): from the path `pmarena bench` found for it
 *        (LD_LIBRARY_PATH, the ldconfig cache or the usual directories),
 *        passed in the environment as PMARENA_BENCH_PMEMOBJ, else by its
 *        soname through the loader's own search; without it
 *        the pmemobj peer fails to open and says why. Free goes from the
 *        pointer back to the PMEMoid with pmemobj_oid.
 */
#include "worker.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { uint64_t pool_uuid_lo, off; } bp_oid;     /* PMDK's PMEMoid */

static struct {
    void *(*create)(const char *, const char *, size_t, unsigned);
    void (*close)(void *);
    int (*alloc)(void *, bp_oid *, size_t, uint64_t, void *, void *);
    void (*free)(bp_oid *);
    void *(*direct)(bp_oid);
    bp_oid (*oid)(const void *);
    const char *(*errormsg)(void);
} obj;

static int load_pmemobj(char *msg, size_t msglen)
{
    if (obj.create)
        return 0;
    const char *lib = getenv("PMARENA_BENCH_PMEMOBJ");
    if (!lib || !*lib)
        lib = "libpmemobj.so.1";
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        snprintf(msg, msglen, "libpmemobj not available (%s): install libpmemobj-dev (make deps-bench)", dlerror());
        return -1;
    }
    *(void **)&obj.create = dlsym(h, "pmemobj_create");
    *(void **)&obj.close = dlsym(h, "pmemobj_close");
    *(void **)&obj.alloc = dlsym(h, "pmemobj_alloc");
    *(void **)&obj.free = dlsym(h, "pmemobj_free");
    *(void **)&obj.direct = dlsym(h, "pmemobj_direct");
    *(void **)&obj.oid = dlsym(h, "pmemobj_oid");
    *(void **)&obj.errormsg = dlsym(h, "pmemobj_errormsg");
    if (!obj.create || !obj.close || !obj.alloc || !obj.free || !obj.direct || !obj.oid || !obj.errormsg) {
        snprintf(msg, msglen, "libpmemobj.so.1 lacks a pmemobj_* symbol");
        obj.create = NULL;
        return -1;
    }
    return 0;
}

int bp_open(bp_peer *p, const char *name, uint64_t bytes, pma_policy policy, int persistence,
            uint32_t cell_size, const nv_leveling *leveling, char *msg, size_t msglen)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    if (strcmp(name, "glibc") == 0 || strcmp(name, "jemalloc") == 0 || strcmp(name, "mimalloc") == 0) {
        p->kind = BP_MALLOC;
        const char *sym = strcmp(name, "jemalloc") == 0 ? "mallctl" : strcmp(name, "mimalloc") == 0 ? "mi_malloc" : NULL;
        if (sym && !dlsym(RTLD_DEFAULT, sym)) {
            snprintf(msg, msglen, "%s is not preloaded (no %s): run through `pmarena bench`", name, sym);
            return -1;
        }
        return 0;
    }
    if (strcmp(name, "pmemobj") == 0) {
        p->kind = BP_PMEMOBJ;
        if (load_pmemobj(msg, msglen) != 0)
            return -1;
        snprintf(p->path, sizeof p->path, "/dev/shm/pmarena-bench-obj-%ld.pool", (long)getpid());
        unlink(p->path);
        if (!(p->pop = obj.create(p->path, "pmarena-bench", bytes, 0600))) {
            snprintf(msg, msglen, "pmemobj_create %s: %s", p->path, obj.errormsg());
            return -1;
        }
        return 0;
    }
    nv_config dc;
    nv_config_defaults(&dc);
    dc.size = bytes;
    if (strcmp(name, "pmarena-dram") == 0) {
        dc.kind = NV_KIND_DRAM;
    } else if (strcmp(name, "pmarena-sim") == 0) {
        dc.kind = NV_KIND_SIM;
        dc.cell_size = cell_size;
        if (leveling)
            dc.leveling = *leveling;
    } else if (strncmp(name, "pmarena-sim-", 12) == 0 && pma_persistence_from_name(name + 12) >= 0) {
        /* the wear half's per-protocol rows: the name's protocol wins */
        persistence = pma_persistence_from_name(name + 12);
        dc.kind = NV_KIND_SIM;
        dc.cell_size = cell_size;
    } else if (strncmp(name, "pmarena-file-", 13) == 0 && pma_persistence_from_name(name + 13) >= 0) {
        /* one row per protocol: the name's wins over the argument */
        persistence = pma_persistence_from_name(name + 13);
        dc.kind = NV_KIND_FILE;
        snprintf(p->path, sizeof p->path, "/dev/shm/pmarena-bench-pma-%ld.pool", (long)getpid());
        unlink(p->path);
        dc.path = p->path;
    } else {
        snprintf(msg, msglen, "unknown allocator '%s'", name);
        return -1;
    }
    p->kind = BP_PMA;
    pma_config pc;
    pma_config_defaults(&pc);
    pc.policy = policy;
    if (persistence >= 0)
        pc.persistence = (pma_persistence)persistence;
    int rc = nv_open(&p->dev, &dc);
    if (rc == 0 && (rc = pma_init(&p->heap, p->dev, &pc)) != 0) {
        nv_close(p->dev);
        p->dev = NULL;
    }
    if (rc != 0) {
        snprintf(msg, msglen, "cannot open %s: %s", name, pma_strerror(rc));
        if (p->path[0])
            unlink(p->path);
        return -1;
    }
    return 0;
}

void bp_close(bp_peer *p)
{
    if (p->heap)
        pma_destroy(p->heap);
    if (p->dev)
        nv_close(p->dev);
    if (p->pop)
        obj.close(p->pop);
    if (p->path[0])
        unlink(p->path);
    memset(p, 0, sizeof *p);
}

void *bp_alloc(bp_peer *p, size_t size)
{
    switch (p->kind) {
    case BP_MALLOC:
        return malloc(size);
    case BP_PMA:
        return pma_get_mem(p->heap, size ? size : 1);
    case BP_PMEMOBJ: {
        bp_oid o;
        if (obj.alloc(p->pop, &o, size ? size : 1, 0, NULL, NULL) != 0)
            return NULL;
        return obj.direct(o);
    }
    }
    return NULL;
}

void bp_free(bp_peer *p, void *ptr)
{
    switch (p->kind) {
    case BP_MALLOC:
        free(ptr);
        break;
    case BP_PMA:
        if (pma_return_mem(p->heap, ptr) != 0) {
            fprintf(stderr, "bench-worker: pma_return_mem failed\n");
            exit(1);
        }
        break;
    case BP_PMEMOBJ: {
        bp_oid o = obj.oid(ptr);
        obj.free(&o);
        break;
    }
    }
}

void bp_write(bp_peer *p, void *ptr, int byte, size_t len)
{
    if (p->kind == BP_PMA)
        nv_set(p->dev, pma_offset(p->heap, ptr), byte, len, NV_DATA);
    else
        memset(ptr, byte, len);
}
