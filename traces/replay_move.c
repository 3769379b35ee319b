/*
 * replay_move.c - the replay's data writes, and what it does when one wears
 * a cell out (replay.h, "Worn cells"): the object moves to a new block with
 * the contents the program meant it to have, verified, so no live object's
 * data is lost.
 *
 * The intended contents are the object's bytes read back from the device
 * with the failed write's own bytes laid over them: a store to a worn cell
 * changes every other cell it covers, and the worn cell kept its old bytes,
 * which the overlay replaces. Every earlier failure on the object already
 * moved it, so nothing else in it is stale.
 *
 * A new block may itself hold a worn cell (one that wears on this very
 * copy): it is returned at once, and the next one is tried (at most
 * MOVE_TRIES). The device reported the failure during the copy, and the
 * return takes that report first, so the allocator retires the failed line
 * with the block and never hands it back; the rest of a large block is
 * free again (a block kept aside until the move ended held a 2 MB object's
 * worth of device per try, and the move ran out of space).
 */
#include "replay_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOVE_TRIES 64

/* keep bytes of buf into a new block of size bytes, read back and compared.
 * The block, or NULL (the replay stopped). */
static unsigned char *place_verified(replay *rp, const unsigned char *buf, uint64_t keep, uint64_t size,
                                     uint64_t line)
{
    unsigned char *got = NULL;
    int nrej = 0;
    unsigned char *back = keep ? malloc(keep) : NULL;
    if (keep && !back) {
        replay_fail(rp, line, "moving an object off a worn cell", PMA_ENOMEM);
        return NULL;
    }
    while (!got && nrej < MOVE_TRIES) {
        unsigned char *p = pma_get_mem(rp->h, size);
        if (!p) {
            replay_heap_failed(rp, line, "allocating a block to move an object off a worn cell", pma_last_error());
            break;
        }
        uint64_t off = pma_offset(rp->h, p);
        int rc = keep ? nv_write(rp->dev, off, buf, keep, NV_DATA) : 0;
        atomic_fetch_add(&rp->moved_bytes, keep);
        if (rc == NV_EWORN) {
            nrej++;
            atomic_fetch_add(&rp->rejected, 1);
            if (pma_return_mem(rp->h, p) != 0) {
                replay_heap_failed(rp, line, "returning a block that wore on a move", pma_last_error());
                break;
            }
            continue;
        }
        if (rc == 0 && keep)
            rc = nv_read(rp->dev, off, back, keep);
        if (rc != 0 || (keep && memcmp(back, buf, keep) != 0)) {
            char what[160];
            snprintf(what, sizeof what, "a moved object (%llu bytes) did not read back as written",
                     (unsigned long long)keep);
            replay_fail(rp, line, what, rc ? PMA_EDEVICE : PMA_ECORRUPT);
            pma_return_mem(rp->h, p);
            break;
        }
        atomic_fetch_add(&rp->verified, 1);
        atomic_fetch_add(&rp->verified_bytes, keep);
        got = p;
    }
    if (!got && !replay_stopped(rp))
        replay_end(rp, TR_END_ALLOC_FAILED, "no block without a worn cell to move an object to", PMA_ENOMEM);
    free(back);
    return got;
}

/* o takes the block p (holding its contents): its link entry names p, and
 * its old block is returned. 0, or -1 (stopped). */
static int rehome(replay *rp, tr_obj *o, unsigned char *p, uint64_t line)
{
    void *oldp = o->user;
    o->user = p;
    int rc;
    if (rp->links && o->link) {
        tr_obj from = {.link = o->link};
        if ((rc = tr_links_move(rp->links, &from, o)) != 0) {
            replay_links_failed(rp, line, "relinking a moved object failed", rc);
            return -1;
        }
    }
    if ((rc = pma_return_mem(rp->h, oldp)) != 0) {
        replay_heap_failed(rp, line, "returning a worn object's old block failed", rc);
        return -1;
    }
    atomic_fetch_add(&rp->moves, 1);
    return 0;
}

/* The write of len bytes src (NULL: zeros) at pos in o wore a cell: moves o. */
static int move_object(replay *rp, tr_obj *o, uint64_t pos, const unsigned char *src, uint64_t len,
                       uint64_t line)
{
    uint64_t size = o->size ? o->size : 1;   /* malloc(0) got one byte */
    unsigned char *buf = malloc(size);
    if (!buf) {
        replay_fail(rp, line, "moving an object off a worn cell", PMA_ENOMEM);
        return -1;
    }
    nv_read(rp->dev, pma_offset(rp->h, o->user), buf, size);
    if (src)
        memcpy(buf + pos, src, len);
    else
        memset(buf + pos, 0, len);
    unsigned char *p = place_verified(rp, buf, size, size, line);
    free(buf);
    return p ? rehome(rp, o, p, line) : -1;
}

int replay_data_write(replay *rp, tr_obj *o, uint64_t pos, uint64_t len, uint64_t line)
{
    atomic_fetch_add_explicit(&rp->data_bytes, len, memory_order_relaxed);
    while (len) {
        uint64_t chunk = len < POOL_BYTES ? len : POOL_BYTES;
        uint64_t off = pma_offset(rp->h, o->user) + pos;
        const unsigned char *src = NULL;
        int rc;
        if (rp->cfg->data == TR_DATA_ZERO) {
            rc = nv_set(rp->dev, off, 0, chunk, NV_DATA);
        } else {
            /* A different slice each time, so rewrites change the bytes. */
            uint64_t at = atomic_fetch_add_explicit(&rp->pool_pos, 4099, memory_order_relaxed) % POOL_BYTES;
            src = rp->pool + at;
            rc = nv_write(rp->dev, off, src, chunk, NV_DATA);
        }
        if (rc == NV_EWORN && move_object(rp, o, pos, src, chunk, line) != 0)
            return -1;
        pos += chunk;
        len -= chunk;
    }
    return 0;
}

int replay_realloc_move(replay *rp, tr_obj *old, tr_obj *o, uint64_t line)
{
    uint64_t ob = old->size ? old->size : 1, nb = o->size ? o->size : 1;
    uint64_t keep = ob < nb ? ob : nb;
    unsigned char *buf = malloc(keep);
    if (!buf) {
        replay_fail(rp, line, "moving a reallocated object", PMA_ENOMEM);
        return -1;
    }
    nv_read(rp->dev, pma_offset(rp->h, old->user), buf, keep);
    unsigned char *p = place_verified(rp, buf, keep, nb, line);
    free(buf);
    if (!p)
        return -1;
    /* The new record takes the old one's link entry and block, then moves. */
    o->user = old->user;
    o->link = old->link;
    old->link = 0;
    old->user = NULL;
    return rehome(rp, o, p, line);
}
