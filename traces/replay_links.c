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
#define TR_LINKS_TRIES 64         /* chunks tried past worn cells */
#define TR_LINKS_ENTRY_TRIES 65536  /* entries tried: each worn one drops its whole line */

struct tr_links {
    pma_heap *h;
    nv_device *dev;
    pthread_mutex_t lock;
    void *dir;                    /* the directory object */
    uint64_t dir_cap, chunks;     /* its words, chunks named in it */
    uint64_t *queue;              /* free entries' device offsets, a ring */
    uint64_t qcap, qhead, qlen;
    _Atomic uint64_t bytes;
    _Atomic uint64_t worn, stale;  /* entries dropped as worn; of them, left naming a freed object */
};

/* One durable store to the table. */
static int links_store(tr_links *l, uint64_t off, const void *src, size_t len)
{
    int rc = nv_write(l->dev, off, src, len, NV_LINKS);
    if (rc)
        return rc == NV_EWORN ? NV_EWORN : PMA_EDEVICE;
    nv_persist(l->dev, off, len);
    atomic_fetch_add_explicit(&l->bytes, len, memory_order_relaxed);
    return 0;
}

static int links_zero(tr_links *l, uint64_t off, size_t len)
{
    if (len == 0)
        return 0;
    int rc = nv_set(l->dev, off, 0, len, NV_LINKS);
    if (rc)
        return rc == NV_EWORN ? NV_EWORN : PMA_EDEVICE;
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
    if ((rc = links_zero(l, coff, TR_LINKS_CHUNK)) == 0 &&
        (rc = links_store(l, pma_offset(l->h, l->dir) + l->chunks * 8, &coff, 8)) == NV_EWORN) {
        /* The directory's word wore out: a copy of the directory elsewhere
         * takes the chunk (the root names the copy, the old one is freed). */
        void *nd;
        if ((rc = dir_make(l, l->dir_cap, l->dir, l->chunks, &nd)) == 0) {
            pma_return_mem(l->h, l->dir);
            l->dir = nd;
            rc = links_store(l, pma_offset(l->h, l->dir) + l->chunks * 8, &coff, 8);
        }
    }
    if (rc) {
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

/* An entry from the free queue (a new chunk when it is empty). */
static int entry_take(tr_links *l, uint64_t *entry)
{
    int rc = 0;
    pthread_mutex_lock(&l->lock);
    for (int tries = 0; l->qlen == 0 && tries < TR_LINKS_TRIES; tries++)
        if ((rc = chunk_add(l)) != NV_EWORN)
            break;
    if (rc == 0 && l->qlen) {
        *entry = l->queue[l->qhead];
        l->qhead = (l->qhead + 1) % l->qcap;
        l->qlen--;
    } else if (rc == 0 || rc == NV_EWORN) {
        rc = PMA_EDEVICE;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* Drops the free entries that share worn entry's line (their stores would
 * not take either): one pass over the queue per worn line. */
static void drop_line(tr_links *l, uint64_t entry)
{
    uint64_t line = entry / 64, kept = 0;
    pthread_mutex_lock(&l->lock);
    for (uint64_t i = 0; i < l->qlen; i++) {
        uint64_t e = l->queue[(l->qhead + i) % l->qcap];
        if (e / 64 == line)
            atomic_fetch_add_explicit(&l->worn, 1, memory_order_relaxed);
        else
            l->queue[(l->qhead + kept++) % l->qcap] = e;
    }
    l->qlen = kept;
    pthread_mutex_unlock(&l->lock);
}

/* Links o in a free entry. An entry whose cell has worn out (the store did
 * not take) leaves the queue for good, and another is tried. */
static int link_new(tr_links *l, tr_obj *o)
{
    uint64_t off = pma_offset(l->h, o->user);
    for (int tries = 0; tries < TR_LINKS_ENTRY_TRIES; tries++) {
        uint64_t entry;
        int rc = entry_take(l, &entry);
        if (rc)
            return rc;
        if ((rc = links_store(l, entry, &off, 8)) != NV_EWORN) {
            o->link = rc ? 0 : entry;
            return rc;
        }
        atomic_fetch_add_explicit(&l->worn, 1, memory_order_relaxed);
        drop_line(l, entry);
    }
    return PMA_EDEVICE;
}

int tr_links_put(tr_links *l, tr_obj *o)
{
    return link_new(l, o);
}

/* A worn entry that could not be cleared keeps the old offset: it leaves
 * the queue, and after a crash gc's trace keeps whatever block is at that
 * offset then (a leak, never a loss). Counted in stale. */
int tr_links_clear(tr_links *l, tr_obj *o)
{
    if (!o->link)
        return 0;
    uint64_t zero = 0, entry = o->link;
    int rc = links_store(l, entry, &zero, 8);
    o->link = 0;
    if (rc == NV_EWORN) {
        atomic_fetch_add_explicit(&l->worn, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&l->stale, 1, memory_order_relaxed);
        drop_line(l, entry);
        return 0;
    }
    /* Even when the store failed otherwise the entry is free for the table's
     * purposes: the replay stops at the failure. Room for it was made when
     * its chunk joined, so the push never overflows. */
    pthread_mutex_lock(&l->lock);
    l->queue[(l->qhead + l->qlen++) % l->qcap] = entry;
    pthread_mutex_unlock(&l->lock);
    return rc;
}

int tr_links_move(tr_links *l, tr_obj *from, tr_obj *to)
{
    if (!from->link)
        return tr_links_put(l, to);
    uint64_t entry = from->link, off = pma_offset(l->h, to->user);
    from->link = 0;
    int rc = links_store(l, entry, &off, 8);
    if (rc != NV_EWORN) {
        to->link = rc ? 0 : entry;
        return rc;
    }
    /* The entry still names the old object (freed next): stale, as above. */
    atomic_fetch_add_explicit(&l->worn, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->stale, 1, memory_order_relaxed);
    drop_line(l, entry);
    return link_new(l, to);
}

uint64_t tr_links_worn(const tr_links *l)
{
    return atomic_load_explicit(&((tr_links *)l)->worn, memory_order_relaxed);
}

uint64_t tr_links_stale(const tr_links *l)
{
    return atomic_load_explicit(&((tr_links *)l)->stale, memory_order_relaxed);
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
