/*
 * replay_live.c - the set of live trace objects a pass frees at its end
 * (replay.h, "Passes"). The reader's id map holds them too, but it is keyed
 * by id and private to the reader; this is keyed by the record's address (an
 * object keeps its record from alloc to free), open addressing with linear
 * probing and backward-shift deletion, as traces/idmap.c. Kept only when
 * there is more than one pass. A mutex guards it: in concurrent mode several
 * workers allocate and free at once.
 */
#include "replay_internal.h"

#include <stdint.h>
#include <stdlib.h>

static uint64_t slot_of(const tr_live *l, const tr_obj *o)
{
    uint64_t x = (uint64_t)(uintptr_t)o;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x & (l->cap - 1);
}

int replay_live_init(tr_live *l)
{
    l->cap = 1024;
    l->count = 0;
    l->slot = calloc(l->cap, sizeof *l->slot);
    pthread_mutex_init(&l->lock, NULL);
    return l->slot ? 0 : PMA_ENOMEM;
}

void replay_live_free(tr_live *l)
{
    if (!l->slot)
        return;
    free(l->slot);
    l->slot = NULL;
    pthread_mutex_destroy(&l->lock);
}

static void put(tr_live *l, tr_obj *o)
{
    uint64_t i = slot_of(l, o);
    while (l->slot[i])
        i = (i + 1) & (l->cap - 1);
    l->slot[i] = o;
    l->count++;
}

int replay_live_add(tr_live *l, tr_obj *o)
{
    int rc = 0;
    pthread_mutex_lock(&l->lock);
    if ((l->count + 1) * 10 > l->cap * 7) {
        tr_obj **old = l->slot;
        uint64_t ocap = l->cap;
        tr_obj **ns = calloc(ocap * 2, sizeof *ns);
        if (!ns) {
            rc = PMA_ENOMEM;
            goto out;
        }
        l->slot = ns;
        l->cap = ocap * 2;
        l->count = 0;
        for (uint64_t i = 0; i < ocap; i++)
            if (old[i])
                put(l, old[i]);
        free(old);
    }
    put(l, o);
out:
    pthread_mutex_unlock(&l->lock);
    return rc;
}

void replay_live_remove(tr_live *l, tr_obj *o)
{
    pthread_mutex_lock(&l->lock);
    uint64_t mask = l->cap - 1, i = slot_of(l, o);
    while (l->slot[i] && l->slot[i] != o)
        i = (i + 1) & mask;
    if (l->slot[i]) {
        /* Backward shift: move later entries of the probe run into the hole. */
        uint64_t hole = i;
        for (uint64_t j = (i + 1) & mask; l->slot[j]; j = (j + 1) & mask) {
            uint64_t home = slot_of(l, l->slot[j]);
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                l->slot[hole] = l->slot[j];
                hole = j;
            }
        }
        l->slot[hole] = NULL;
        l->count--;
    }
    pthread_mutex_unlock(&l->lock);
}

/* By heap address: the slots' order follows the records' addresses, which
 * differ from run to run (ASLR, the reader's timing), and the order of the
 * frees decides what the heap reuses next: a pass end in slot order made
 * lifetime runs end differently from one run to the next. */
static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)(*(tr_obj *const *)a)->user, y = (uintptr_t)(*(tr_obj *const *)b)->user;
    return (x > y) - (x < y);
}

void replay_live_release_all(replay *rp)
{
    tr_live *l = &rp->live;
    uint64_t n = 0;
    for (uint64_t i = 0; i < l->cap; i++)
        if (l->slot[i])
            l->slot[n++] = l->slot[i];       /* compacted in place: n <= i */
    for (uint64_t i = n; i < l->cap; i++)
        l->slot[i] = NULL;
    qsort(l->slot, n, sizeof *l->slot, by_address);
    for (uint64_t i = 0; i < n; i++) {
        tr_obj *o = l->slot[i];
        l->slot[i] = NULL;
        if (replay_stopped(rp))
            continue;               /* stopped: the rest stay live, as at any end */
        int rc;
        if (rp->links && (rc = tr_links_clear(rp->links, o)) != 0) {
            replay_links_failed(rp, 0, "unlinking a live object at the end of a pass failed", rc);
            continue;
        }
        if ((rc = pma_return_mem(rp->h, o->user)) != 0) {
            replay_heap_failed(rp, 0, "freeing a live object at the end of a pass failed", rc);
            continue;
        }
        atomic_fetch_sub(&rp->live_bytes, o->size);
        atomic_fetch_sub(&rp->live_objects, 1);
        o->user = NULL;
    }
    l->count = 0;
}
