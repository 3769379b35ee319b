/*
 * cell_counters.c - the compact, wrap-free per-cell counter array (see
 * cell_counters.h for the scheme). The low parts live in an anonymous mapping
 * so that an untouched region of a large device costs no memory.
 */
#include "cell_counters.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int nv_cell_counters_init(nv_cell_counters *c, uint64_t cells)
{
    memset(c, 0, sizeof *c);
    c->cells = cells;
    c->map_bytes = (size_t)cells * sizeof(uint16_t);
    void *p = mmap(NULL, c->map_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    c->low = p;
    c->chunks = (cells + NV_CARRY_CHUNK - 1) / NV_CARRY_CHUNK;
    c->carry = calloc(c->chunks, sizeof *c->carry);
    c->dirty = calloc(c->chunks, sizeof *c->dirty);
    if (!c->carry || !c->dirty) {
        free(c->carry);
        free((void *)c->dirty);
        munmap(p, c->map_bytes);
        return -1;
    }
    pthread_mutex_init(&c->carry_lock, NULL);
    return 0;
}

void nv_cell_counters_free(nv_cell_counters *c)
{
    if (!c->low)
        return;
    for (uint64_t i = 0; i < c->chunks; i++)
        free(atomic_load(&c->carry[i]));
    free(c->carry);
    free((void *)c->dirty);
    munmap((void *)c->low, c->map_bytes);
    pthread_mutex_destroy(&c->carry_lock);
    c->low = NULL;
}

void nv_cell_counters_reset(nv_cell_counters *c)
{
    if (!atomic_load(&c->used))
        return;
    /* Dropping and remapping returns the pages instead of touching them all. */
    munmap((void *)c->low, c->map_bytes);
    void *p = mmap(NULL, c->map_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        abort();   /* we just released this much address space */
    c->low = p;
    for (uint64_t i = 0; i < c->chunks; i++) {
        free(atomic_load(&c->carry[i]));
        atomic_store(&c->carry[i], NULL);
        atomic_store(&c->dirty[i], 0);
    }
    atomic_store(&c->used, 0);
}

/* Called by the one thread whose increment wrapped the cell's low part. */
void nv_cell_counters_carry(nv_cell_counters *c, uint64_t cell)
{
    uint64_t ci = cell / NV_CARRY_CHUNK;
    pthread_mutex_lock(&c->carry_lock);
    uint64_t *chunk = atomic_load_explicit(&c->carry[ci], memory_order_relaxed);
    if (!chunk) {
        chunk = calloc(NV_CARRY_CHUNK, sizeof *chunk);
        if (!chunk)
            abort();   /* losing a count silently is not an option */
        atomic_store_explicit(&c->carry[ci], chunk, memory_order_release);
    }
    chunk[cell % NV_CARRY_CHUNK] += (uint64_t)UINT16_MAX + 1;
    pthread_mutex_unlock(&c->carry_lock);
}

/* Deliberately not atomic (and not checked by ThreadSanitizer): a scan after
 * the writers are done, where per-counter atomic loads would cost minutes on a
 * large device under the sanitizer and nothing in a normal build. */
__attribute__((no_sanitize("thread")))
static bool low_zero(const uint16_t *p, uint64_t n)
{
    uint16_t any = 0;
    for (uint64_t i = 0; i < n; i++)
        any |= p[i];
    return any == 0;
}

bool nv_cell_counters_chunk_zero(nv_cell_counters *c, uint64_t chunk)
{
    if (atomic_load_explicit(&c->carry[chunk], memory_order_acquire))
        return false;
    uint64_t first = chunk * NV_CARRY_CHUNK;
    uint64_t n = c->cells - first < NV_CARRY_CHUNK ? c->cells - first : NV_CARRY_CHUNK;
    return low_zero((const uint16_t *)(const void *)c->low + first, n);
}

uint64_t nv_cell_counters_get(nv_cell_counters *c, uint64_t cell)
{
    uint64_t v = atomic_load_explicit(&c->low[cell], memory_order_relaxed);
    uint64_t *chunk = atomic_load_explicit(&c->carry[cell / NV_CARRY_CHUNK], memory_order_acquire);
    if (chunk) {
        pthread_mutex_lock(&c->carry_lock);
        v += chunk[cell % NV_CARRY_CHUNK];
        pthread_mutex_unlock(&c->carry_lock);
    }
    return v;
}
