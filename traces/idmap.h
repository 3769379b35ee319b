/*
 * idmap.h - the trace's live objects: a hash map from object id to its
 * record (open addressing, linear probing, backward-shift deletion, so there
 * are no tombstones and lookups stay short however long the trace). Grows by
 * doubling at 70% load; memory is bounded by the live set, not the trace.
 * Not thread-safe: the reader (one thread) owns it.
 */
#ifndef PMARENA_TRACES_IDMAP_H
#define PMARENA_TRACES_IDMAP_H

#include "pmarena/trace.h"

typedef struct tr_idmap {
    tr_obj **slot;
    uint64_t cap, count;     /* cap is a power of two */
} tr_idmap;

int tr_idmap_init(tr_idmap *m);
void tr_idmap_free(tr_idmap *m);
tr_obj *tr_idmap_get(const tr_idmap *m, uint64_t id);
int tr_idmap_put(tr_idmap *m, tr_obj *o);          /* id must not be present */
tr_obj *tr_idmap_remove(tr_idmap *m, uint64_t id); /* the record, or NULL */

#endif
