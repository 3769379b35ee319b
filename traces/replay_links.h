/*
 * replay_links.h - the replay's persistent link table (replay.h, "links"):
 * what keeps the replayed program's live objects reachable from the heap's
 * root, as a real program on a gc allocator must keep them. Internal to
 * traces/ (replay.c is its one user).
 */
#ifndef PMARENA_TRACES_REPLAY_LINKS_H
#define PMARENA_TRACES_REPLAY_LINKS_H

#include "pmarena/pma.h"
#include "pmarena/trace.h"

typedef struct tr_links tr_links;

/* Makes an empty table on h (a directory object, set as the root). 0, or a
 * PMA_E* code. */
int tr_links_open(tr_links **out, pma_heap *h);
/* Links o (allocated, its data written): takes a free entry, stores o's
 * device offset there and persists it; o->link names the entry. */
int tr_links_put(tr_links *l, tr_obj *o);
/* Unlinks o before it is freed: clears and persists its entry, which goes to
 * the back of the free queue. */
int tr_links_clear(tr_links *l, tr_obj *o);
/* A realloc: `to` (allocated, the contents copied) takes over `from`'s entry,
 * which now holds to's offset, persisted before `from` is freed. */
int tr_links_move(tr_links *l, tr_obj *from, tr_obj *to);
/* Entries dropped because a cell of theirs wore out (a store to it did not
 * take: the object is linked elsewhere), and of them those left naming an
 * object that was then freed (after a crash gc keeps that block: a leak). */
uint64_t tr_links_worn(const tr_links *l);
uint64_t tr_links_stale(const tr_links *l);
/* Bytes stored to the table so far (entries, zeroed chunks, directories). */
uint64_t tr_links_bytes(const tr_links *l);
/* Frees the DRAM state; the table stays on the device, linked from the root. */
void tr_links_close(tr_links *l);

#endif
