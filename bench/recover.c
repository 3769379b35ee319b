/*
 * recover.c - the worker side of the bench's recovery rows (`pmarena
 * bench-worker recover PEER N HEAP_BYTES`): a heap on the file device under
 * the peer's protocol gets N live objects (16 to 256 bytes), each reachable
 * from the root through one table object holding their device offsets (what
 * gc needs to keep them; the other protocols ignore it), then is dropped as
 * a crash would (pma_abandon) and opened again, timed. The recovered heap
 * must pass pma_check and hold every object: a row that loses objects is a
 * failure, not a fast recovery.
 */
#include "worker.h"

#include <string.h>
#include <time.h>

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int bp_recover_run(bp_peer *p, uint64_t n, bp_recover *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    if (p->kind != BP_PMA || nv_device_kind(p->dev) != NV_KIND_FILE) {
        snprintf(msg, msglen, "%s: recovery is measured on pmarena's file device only", p->name);
        return -1;
    }
    uint64_t *table = pma_get_mem(p->heap, (size_t)(n ? n : 1) * sizeof *table);
    if (!table || pma_set_root(p->heap, table) != 0) {
        snprintf(msg, msglen, "%s: no room for a table of %llu offsets: %s", p->name, (unsigned long long)n,
                 pma_strerror(pma_last_error()));
        return -1;
    }
    uint64_t x = 88172645463325252ull;            /* xorshift64: sizes 16..256, the same every run */
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        table[i] = pma_offset(p->heap, bp_must_alloc(p, 16 + (size_t)(x % 241)));
    }
    /* The table's words reach the device like any application store. */
    nv_persist(p->dev, pma_offset(p->heap, table), (size_t)n * sizeof *table);
    pma_heap_stats hs;
    pma_stats(p->heap, &hs);
    out->live_before = hs.live_objects;
    pma_abandon(p->heap);
    p->heap = NULL;
    double t0 = mono_s();
    int rc = pma_open(&p->heap, p->dev);
    out->wall_s = mono_s() - t0;
    if (rc != 0) {
        p->heap = NULL;
        snprintf(msg, msglen, "%s: pma_open after the crash: %s (%s)", p->name, pma_strerror(rc), pma_last_error_detail());
        return -1;
    }
    pma_open_info info;
    pma_open_info_get(p->heap, &info);
    snprintf(out->how, sizeof out->how, "%s", info.how ? info.how : "?");
    out->traced = info.traced_objects;
    char cmsg[300];
    if (pma_check(p->heap, cmsg, sizeof cmsg) != 0) {
        snprintf(msg, msglen, "%s: the recovered heap fails pma_check: %s", p->name, cmsg);
        return -1;
    }
    pma_stats(p->heap, &hs);
    out->live_after = hs.live_objects;
    if (out->live_after < out->live_before) {
        snprintf(msg, msglen, "%s: recovery lost objects: %llu live before the crash, %llu after", p->name,
                 (unsigned long long)out->live_before, (unsigned long long)out->live_after);
        return -1;
    }
    return 0;
}
