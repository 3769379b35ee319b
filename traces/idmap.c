/*
 * idmap.c - id -> live object record (see idmap.h).
 */
#include "idmap.h"

#include <stdlib.h>

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

int tr_idmap_init(tr_idmap *m)
{
    m->cap = 1024;
    m->count = 0;
    m->slot = calloc(m->cap, sizeof *m->slot);
    return m->slot ? 0 : TR_ENOMEM;
}

void tr_idmap_free(tr_idmap *m)
{
    free(m->slot);
    m->slot = NULL;
}

tr_obj *tr_idmap_get(const tr_idmap *m, uint64_t id)
{
    for (uint64_t i = mix(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        tr_obj *o = m->slot[i];
        if (!o || o->id == id)
            return o;
    }
}

static int grow(tr_idmap *m)
{
    uint64_t ncap = m->cap * 2;
    tr_obj **ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return TR_ENOMEM;
    for (uint64_t i = 0; i < m->cap; i++) {
        tr_obj *o = m->slot[i];
        if (!o)
            continue;
        uint64_t j = mix(o->id) & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = o;
    }
    free(m->slot);
    m->slot = ns;
    m->cap = ncap;
    return 0;
}

int tr_idmap_put(tr_idmap *m, tr_obj *o)
{
    if ((m->count + 1) * 10 > m->cap * 7 && grow(m) != 0)
        return TR_ENOMEM;
    uint64_t i = mix(o->id) & (m->cap - 1);
    while (m->slot[i])
        i = (i + 1) & (m->cap - 1);
    m->slot[i] = o;
    m->count++;
    return 0;
}

tr_obj *tr_idmap_remove(tr_idmap *m, uint64_t id)
{
    uint64_t mask = m->cap - 1, i = mix(id) & mask;
    while (m->slot[i] && m->slot[i]->id != id)
        i = (i + 1) & mask;
    tr_obj *found = m->slot[i];
    if (!found)
        return NULL;
    /* Backward shift: pull later members of the probe run into the hole. */
    for (uint64_t j = (i + 1) & mask; m->slot[j]; j = (j + 1) & mask) {
        uint64_t home = mix(m->slot[j]->id) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slot[i] = m->slot[j];
            i = j;
        }
    }
    m->slot[i] = NULL;
    m->count--;
    return found;
}
