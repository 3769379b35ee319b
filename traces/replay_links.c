/*
 * replay_links.c - the replay's persistent link table (replay_links.h).
 *
 * Layout on the device, all of it heap objects:
 *   root -> directory: `cap` 8-byte words, each the device offset of a chunk
 *           (0: none yet);
 *   chunk: TR_LINKS_CHUNK bytes, TR_LINKS_PER_CHUNK words, each the device
 *           offset of a live trace object (0: an empty entry).
 * Every word is a device offset (pma_offset), so a gc heap's recovery, which
 * traces from the root through such words, finds every linked object.
 *
 * Every store to the table is tagged NV_LINKS and persisted (flush + fence)
 * before the step that relies on it, as a program must:
 *   alloc   the object and its data first, then its entry := offset, persist;
 *   free    entry := 0, persist, then the object is returned;
 *   realloc new object, copy, entry := new offset, persist, free the old one;
 *   chunk   zeroed (nv_set) and persisted before the directory names it;
 *   growth  the directory doubles: a new one with the old words copied and
 *           the rest zeroed, persisted, then pma_set_root(new), then the old
 *           one freed.
 * A crash between any two steps leaves every object that was linked before
 * the step reachable, and an object not yet (or no longer) linked is one the
 * program had not yet published (or had already dropped): gc may free it.
 *
 * Free entries are reused first in, first out: a freed entry goes to the
 * back of the queue, so a program that allocates and frees all the time
 * cycles through the whole table instead of rewriting the same few words
 * (LIFO would put the table's every write on the entry freed last, the
 * hottest cell on the device). New chunks' entries join the queue in address
 * order when it runs dry.
 *
 * Concurrency: one mutex guards the free queue, chunk creation and directory
 * growth (short critical sections: a queue pop or push). An entry belongs to
 * one object at a time, so its own stores need no lock.
 */
#include "replay_links.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TR_LINKS_CHUNK 4096u
#define TR_LINKS_PER_CHUNK (TR_LINKS_CHUNK / 8u)
#define TR_LINKS_DIR0 8u          /* the first directory's words */

struct tr_links {
    pma_heap *h;
    nv_device *dev;
    pthread_mutex_t lock;
    void *dir;                    /* the directory object */
    uint64_t dir_cap, chunks;     /* its words, chunks named in it */
    uint64_t *queue;              /* free entries' device offsets, a ring */
    uint64_t qcap, qhead, qlen;
    _Atomic uint64_t bytes;
};

/* One durable store to the table. */
static int links_store(tr_links *l, uint64_t off, const void *src, size_t len)
{
    if (nv_write(l->dev, off, src, len, NV_LINKS) != 0)
        return PMA_EDEVICE;
    nv_persist(l->dev, off, len);
    atomic_fetch_add_explicit(&l->bytes, len, memory_order_relaxed);
    return 0;
}

static int links_zero(tr_links *l, uint64_t off, size_t len)
{
    if (len == 0)
        return 0;
    if (nv_set(l->dev, off, 0, len, NV_LINKS) != 0)
        return PMA_EDEVICE;
    nv_persist(l->dev, off, len);
    atomic_fetch_add_explicit(&l->bytes, len, memory_order_relaxed);
    return 0;
}

/* A directory of cap words, the first `keep` copied from old (may be NULL). */
static int dir_make(tr_links *l, uint64_t cap, const void *old, uint64_t keep, void **out)
{
    void *d = pma_get_mem(l->h, cap * 8);
    if (!d)
        return pma_last_error();
    uint64_t off = pma_offset(l->h, d);
    int rc = keep ? links_store(l, off, old, keep * 8) : 0;
    if (rc == 0)
        rc = links_zero(l, off + keep * 8, (cap - keep) * 8);
    if (rc == 0)
        rc = pma_set_root(l->h, d);
    if (rc) {
        pma_return_mem(l->h, d);
        return rc;
    }
    *out = d;
    return 0;
}

/* A new zeroed chunk named in the directory (doubled first when full), its
 * entries appended to the free queue. Lock held. */
static int chunk_add(tr_links *l)
{
    int rc;
    if (l->chunks == l->dir_cap) {
        void *nd;
        if ((rc = dir_make(l, l->dir_cap * 2, l->dir, l->dir_cap, &nd)) != 0)
            return rc;
        /* The old directory is unreachable now (the root names the new one). */
        pma_return_mem(l->h, l->dir);
        l->dir = nd;
        l->dir_cap *= 2;
    }
    /* Room for every entry of every chunk: all may be free at once. */
    uint64_t need = (l->chunks + 1) * TR_LINKS_PER_CHUNK;
    if (need > l->qcap) {
        uint64_t ncap = l->qcap ? l->qcap * 2 : TR_LINKS_PER_CHUNK;
        while (ncap < need)
            ncap *= 2;
        uint64_t *nq = malloc(ncap * sizeof *nq);
        if (!nq)
            return PMA_ENOMEM;
        for (uint64_t i = 0; i < l->qlen; i++)
            nq[i] = l->queue[(l->qhead + i) % l->qcap];
        free(l->queue);
        l->queue = nq;
        l->qcap = ncap;
        l->qhead = 0;
    }
    void *c = pma_get_mem(l->h, TR_LINKS_CHUNK);
    if (!c)
        return pma_last_error();
    uint64_t coff = pma_offset(l->h, c);
    if ((rc = links_zero(l, coff, TR_LINKS_CHUNK)) != 0 ||
        (rc = links_store(l, pma_offset(l->h, l->dir) + l->chunks * 8, &coff, 8)) != 0) {
        pma_return_mem(l->h, c);
        return rc;
    }
    l->chunks++;
    for (uint64_t i = 0; i < TR_LINKS_PER_CHUNK; i++)
        l->queue[(l->qhead + l->qlen++) % l->qcap] = coff + i * 8;
    return 0;
}

int tr_links_open(tr_links **out, pma_heap *h)
{
    tr_links *l = calloc(1, sizeof *l);
    if (!l)
        return PMA_ENOMEM;
    l->h = h;
    l->dev = pma_device(h);
    pthread_mutex_init(&l->lock, NULL);
    int rc = dir_make(l, TR_LINKS_DIR0, NULL, 0, &l->dir);
    if (rc) {
        pthread_mutex_destroy(&l->lock);
        free(l);
        return rc;
    }
    l->dir_cap = TR_LINKS_DIR0;
    *out = l;
    return 0;
}

int tr_links_put(tr_links *l, tr_obj *o)
{
    int rc = 0;
    pthread_mutex_lock(&l->lock);
    if (l->qlen == 0)
        rc = chunk_add(l);
    uint64_t entry = 0;
    if (rc == 0) {
        entry = l->queue[l->qhead];
        l->qhead = (l->qhead + 1) % l->qcap;
        l->qlen--;
    }
    pthread_mutex_unlock(&l->lock);
    if (rc)
        return rc;
    o->link = entry;
    uint64_t off = pma_offset(l->h, o->user);
    return links_store(l, entry, &off, 8);
}

int tr_links_clear(tr_links *l, tr_obj *o)
{
    if (!o->link)
        return 0;
    uint64_t zero = 0, entry = o->link;
    int rc = links_store(l, entry, &zero, 8);
    o->link = 0;
    /* Even when the store failed the entry is free for the table's purposes:
     * the replay stops at the failure. Room for it was made when its chunk
     * joined, so the push never overflows. */
    pthread_mutex_lock(&l->lock);
    l->queue[(l->qhead + l->qlen++) % l->qcap] = entry;
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int tr_links_move(tr_links *l, tr_obj *from, tr_obj *to)
{
    if (!from->link)
        return tr_links_put(l, to);
    to->link = from->link;
    from->link = 0;
    uint64_t off = pma_offset(l->h, to->user);
    return links_store(l, to->link, &off, 8);
}

uint64_t tr_links_bytes(const tr_links *l)
{
    return atomic_load_explicit(&((tr_links *)l)->bytes, memory_order_relaxed);
}

void tr_links_close(tr_links *l)
{
    if (!l)
        return;
    free(l->queue);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
