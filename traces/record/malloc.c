/*
 * malloc.c - the interposed allocation functions of libpmarena-record.so:
 * malloc, calloc, realloc, reallocarray, free, posix_memalign, aligned_alloc,
 * memalign, valloc, pvalloc and malloc_usable_size.
 *
 * Each one calls glibc's allocator through its exported __libc_* entry points
 * rather than through dlsym(RTLD_NEXT, ...): dlsym itself calls calloc, which
 * would land here before the real function is known (the classic start-up
 * recursion). Then, if tr_rec_active(), it logs one raw record (log.c). Only
 * calls that succeeded are recorded; errno is left as glibc set it.
 *
 * Ordering across threads, which the trace must get right because addresses
 * are reused: an allocation is logged after the real call returns (no other
 * thread can know the block before that); a free is logged before the real
 * free (no other thread can be handed the block before that); a realloc
 * releases one block and acquires another inside one call, so it holds the
 * recorder's lock across the real call and its record (log.c). So a block is
 * always logged as freed before it is logged as allocated again.
 *
 * malloc_usable_size has no __libc_ twin: it is found with dlsym on first use,
 * with the recorder's guard set so that dlsym's own allocations pass through
 * unrecorded. reallocarray is interposed too, so that it is recorded whether
 * or not glibc's own reallocarray goes through the interposed realloc.
 */
#define TR_RECORD_INTERNAL
#include "record.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* glibc's allocator, exported for exactly this purpose (GLIBC_2.2.5). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t nmemb, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t align, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static uint64_t page_size(void)
{
    static _Atomic uint64_t ps;
    uint64_t v = atomic_load_explicit(&ps, memory_order_relaxed);
    if (!v) {
        long s = sysconf(_SC_PAGESIZE);
        v = s > 0 ? (uint64_t)s : 4096;
        atomic_store_explicit(&ps, v, memory_order_relaxed);
    }
    return v;
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    if (p && tr_rec_active())
        tr_rec_log(TR_RAW_MALLOC, p, size, NULL, 0);
    return p;
}

void *calloc(size_t nmemb, size_t size)
{
    void *p = __libc_calloc(nmemb, size);
    if (p && tr_rec_active())     /* success means the product did not overflow */
        tr_rec_log(TR_RAW_CALLOC, p, (uint64_t)nmemb * size, NULL, 0);
    return p;
}

void free(void *ptr)
{
    if (ptr && tr_rec_active())
        tr_rec_log(TR_RAW_FREE, ptr, 0, NULL, 0);
    __libc_free(ptr);
}

void *realloc(void *ptr, size_t size)
{
    if (!tr_rec_active())
        return __libc_realloc(ptr, size);
    tr_rec_lock();
    void *p = __libc_realloc(ptr, size);
    /* NULL back is a failure (ptr untouched, nothing to record) unless
     * realloc(ptr, 0) freed ptr, as glibc does. */
    if (p || (ptr && size == 0))
        tr_rec_log_locked(TR_RAW_REALLOC, p, size, ptr, 0);
    tr_rec_unlock();
    return p;
}

void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(nmemb, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, bytes);
}

void *memalign(size_t align, size_t size)
{
    void *p = __libc_memalign(align, size);
    if (p && tr_rec_active())
        tr_rec_log(TR_RAW_MEMALIGN, p, size, NULL, align);
    return p;
}

/* In glibc 2.36 aligned_alloc is an alias of memalign; so is this one. */
void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    /* glibc's checks, in glibc's order: a power of two multiple of sizeof(void *). */
    if (align % sizeof(void *) != 0 || align == 0 || ((align / sizeof(void *)) & (align / sizeof(void *) - 1)))
        return EINVAL;
    int saved = errno;            /* posix_memalign reports through its result, not errno */
    void *p = __libc_memalign(align, size);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    if (tr_rec_active())
        tr_rec_log(TR_RAW_MEMALIGN, p, size, NULL, align);
    return 0;
}

void *valloc(size_t size)
{
    void *p = __libc_valloc(size);
    if (p && tr_rec_active())
        tr_rec_log(TR_RAW_VALLOC, p, size, NULL, page_size());
    return p;
}

void *pvalloc(size_t size)
{
    void *p = __libc_pvalloc(size);
    if (p && tr_rec_active()) {
        uint64_t ps = page_size();  /* the program may use every byte up to the page's end */
        tr_rec_log(TR_RAW_PVALLOC, p, ((uint64_t)size + ps - 1) & ~(ps - 1), NULL, ps);
    }
    return p;
}

size_t malloc_usable_size(void *ptr)
{
    typedef size_t (*usable_fn)(void *);
    static _Atomic(usable_fn) real;
    usable_fn f = atomic_load_explicit(&real, memory_order_acquire);
    if (!f) {
        bool g = tr_rec_guard_enter();
        f = (usable_fn)dlsym(RTLD_NEXT, "malloc_usable_size");
        tr_rec_guard_leave(g);
        if (!f)
            return 0;
        atomic_store_explicit(&real, f, memory_order_release);
    }
    return f(ptr);
}
