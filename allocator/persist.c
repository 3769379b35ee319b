/*
 * persist.c - what every persistence protocol shares: metadata stores that
 * are checked and counted (per thread cache, so counting takes no shared
 * line), and the protocol's table chosen by the heap's configuration.
 */
#include "tcache.h"

static pma_tcounters *counters(pma_heap *h, pma_tcache *tc)
{
    return tc ? &tc->ct : &h->retired;
}

int pma_meta_write(pma_heap *h, pma_tcache *tc, uint64_t off, const void *src, size_t len, nv_tag tag)
{
    if (nv_write(h->dev, off, src, len, tag) != 0)
        return PMA_EDEVICE;
    pma_count(&counters(h, tc)->meta_bytes, len);
    return 0;
}

void pma_meta_flush(pma_heap *h, pma_tcache *tc, uint64_t off, size_t len)
{
    nv_flush(h->dev, off, len);
    uint64_t lines = (off + len + NV_CACHE_LINE - 1) / NV_CACHE_LINE - off / NV_CACHE_LINE;
    pma_count(&counters(h, tc)->flushes, lines);
}

void pma_meta_fence(pma_heap *h, pma_tcache *tc)
{
    nv_fence(h->dev);
    pma_count(&counters(h, tc)->fences, 1);
}
