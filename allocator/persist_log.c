/*
 * persist_log.c - the `log` persistence protocol. The DRAM state is
 * authoritative; the device holds a checkpoint of each small arena's live
 * set and a log of what changed since.
 *
 *   log region  [4096, 4096 + log_kib KiB), two halves of 4 KiB chunks of
 *               16-byte records (layout.h). A thread claims chunks of the
 *               running epoch's half, four at a time (one atomic add per
 *               1,024 records), and appends to them: one record, one line
 *               flush, one fence per get or return (inline, persist_log.h,
 *               and the fast lane, lane.h). Epochs use the halves in
 *               turn and each starts where its half was left, so every record
 *               slot is written about equally: the log's wear is spread.
 *   checkpoint  the arena's bitmap area holds (alloc, start) bit pairs, 32
 *               units per 8-byte word, so a word is failure-atomic and holds
 *               both bits of each unit: a torn checkpoint is still, unit by
 *               unit, the old or the new state.
 *   epochs      heap header line 4 holds the last epoch the checkpoint
 *               covers (C); records of C+1 and C+2 count, none other.
 *
 * When the running epoch e's half is used up, the thread that finds it so
 * advances (another that finds it so meanwhile waits for the new epoch, not
 * for the checkpoint): e+1 starts in the other half (whose records, of e-1, are
 * retired), then it waits for the operations still inside e (quiesce:
 * membarrier() and each cache's in_op, so the fast path has no locked
 * instruction) and checkpoints e: every slot a record of e names is brought
 * up to date in the image and the changed words are written and flushed;
 * a fence; then C = e (an 8-byte store, flushed, fenced) retires e's
 * records at once. Which slots: each operation marks its record's slot in
 * per-arena bitmaps (by epoch parity), so that work is spread over the
 * writers; the checkpoint scans only the chunks their writer did not flag
 * when it left them full (leave_chunk), and reads only the marked arenas (a
 * list the first mark of an epoch pushes to) and, in each, the mark words a
 * summary bit names: its cost follows the records, not the heap's size.
 * Gets and returns of e+1 go on meanwhile; a slot one of them changes is
 * written as it is now, and its own record decides it at recovery either
 * way.
 *
 * Recovery (pma_open): the checkpoint gives a live set; every valid record
 * overrides the state of its start slot, the record with the latest slot
 * generation winning (a slot's gets and returns alternate and each bumps the
 * generation, so records written by different threads order themselves);
 * then the space bitmaps are rebuilt from the final live set and a fresh
 * checkpoint retires the log. A slot no valid record names has not changed
 * since the image last wrote it, and its range in the image is exact: a
 * live range written into the image clears stale starts inside it, and an
 * old range is cleared up to the next start.
 */
#include "persist_log.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pma_heap_header *hdr(pma_heap *h) { return nv_base(h->dev); }

/* Log size for a device: 1/64 of it, between 8 KiB and 4 MiB (a bigger log
 * spreads its wear wider and retires more records per checkpoint). */
static uint32_t log_kib_for(uint64_t device)
{
    uint64_t kib = device / 64 / 1024;
    kib = kib < 8 ? 8 : kib > 4096 ? 4096 : kib;
    return (uint32_t)(kib / 8 * 8);           /* two halves of whole 4 KiB chunks */
}

static int log_format(pma_heap *h)
{
    uint32_t kib = h->cfg.log_kib ? h->cfg.log_kib : log_kib_for(nv_size(h->dev));
    if ((uint64_t)kib * 1024 + PMA_HEAP_HEADER_SIZE + PMA_ARENA_ALIGN > nv_size(h->dev))
        return PMA_ENOMEM;
    /* Stale records of an older heap must not carry epoch 1's marks: zero the
     * region's non-zero lines (once, at format). */
    const unsigned char *p = nv_base(h->dev);
    static const unsigned char zero[PMA_LINE];
    for (uint64_t o = PMA_HEAP_HEADER_SIZE; o < PMA_HEAP_HEADER_SIZE + (uint64_t)kib * 1024; o += PMA_LINE) {
        if (memcmp(p + o, zero, PMA_LINE) != 0) {
            if (nv_set(h->dev, o, 0, PMA_LINE, NV_META_LOG) != 0)
                return PMA_EDEVICE;
            nv_flush(h->dev, o, PMA_LINE);
        }
    }
    h->log_bytes = (uint64_t)kib * 1024;     /* pma_init stores it in the header */
    return 0;
}

static int log_attach(pma_heap *h)
{
    const pma_heap_header *hd = hdr(h);
    h->log_off = PMA_HEAP_HEADER_SIZE;
    h->log_bytes = (uint64_t)hd->log_kib * 1024;
    uint32_t chunks = (uint32_t)(h->log_bytes / PMA_LOG_CHUNK);
    /* 2^19 records at most: a slot's generations in the two live epochs
     * stay comparable mod 2^20 */
    if (chunks < 2 || chunks % 2 || h->log_bytes % PMA_LOG_CHUNK || h->log_bytes / PMA_LOG_REC > (1u << 19) ||
        h->log_bytes > nv_size(h->dev) - PMA_HEAP_HEADER_SIZE)
        return PMA_ECORRUPT;
    h->half_chunks = chunks / 2;
    h->arena_base = h->log_off + h->log_bytes;
    h->ckpt_epoch = hd->log_epoch;
    h->half_start[0] = (uint32_t)(hd->log_start % h->half_chunks);
    h->half_start[1] = (uint32_t)((hd->log_start >> 32) % h->half_chunks);
    atomic_store(&h->half_used[0], 0);
    atomic_store(&h->half_used[1], 0);
    atomic_store(&h->running, h->ckpt_epoch + 1);
    free((void *)h->chunk_marked);
    h->chunk_marked = calloc(chunks, 1);
    if (!h->chunk_marked)
        return PMA_ENOMEM;
    /* The checkpoint makes every thread pass a full barrier with one system
     * call, so the fast path needs none (asymmetric fences, as in RCU). */
    h->lane.persist_nop = !h->dev->ops->flush && !h->dev->ops->fence;
    h->lane.asym = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    return 0;
}

/* A record counts if its epoch is one the checkpoint does not cover: the
 * running epoch, or the one before while its checkpoint was being made. */
static bool rec_live(const pma_heap *h, const uint64_t w[2])
{
    return pma_rec_valid(w, h->ckpt_epoch + 1) || pma_rec_valid(w, h->ckpt_epoch + 2);
}

/* A well-formed record of an epoch after the last one that can have run
 * (C + 2): no heap writes one, and the next checkpoints would bring it to
 * life (a fuzzed image did exactly that: open accepted it, and pma_check
 * found a free block that would come back live after a crash). */
static bool rec_future(const pma_heap *h, const uint64_t w[2])
{
    uint64_t e = w[1] >> 32;
    if (!pma_rec_valid(w, e))
        return false;
    uint32_t ahead = (uint32_t)(e - (h->ckpt_epoch + 2));
    return ahead != 0 && ahead < (1u << 31);
}

/* ---- checkpoint ------------------------------------------------------------ */

static int scratch(pma_heap *h, size_t words)
{
    if (h->ck_scratch_words >= words)
        return 0;
    free(h->ck_scratch);
    h->ck_scratch = malloc(words * 8);
    h->ck_scratch_words = h->ck_scratch ? words : 0;
    return h->ck_scratch ? 0 : PMA_ENOMEM;
}

/* Writes the words of [w0, w1] that differ from the device, one store per
 * touched line. */
static int image_flush(pma_heap *h, pma_arena *a, size_t w0, size_t w1)
{
    const uint64_t *dev = (const uint64_t *)((const unsigned char *)nv_base(h->dev) + a->alloc_dev);
    int rc = 0;
    for (size_t line = w0 & ~(size_t)7; line <= w1; line += 8) {
        size_t lo = SIZE_MAX, hi = 0;
        for (size_t w = line > w0 ? line : w0; w <= w1 && w < line + 8; w++)
            if (a->dimg[w] != dev[w]) {
                lo = lo < w ? lo : w;
                hi = w;
            }
        if (lo == SIZE_MAX)
            continue;
        uint64_t off = a->alloc_dev + lo * 8;
        rc |= pma_meta_write(h, NULL, off, &a->dimg[lo], (hi - lo + 1) * 8, NV_META_BITMAP);
        pma_meta_flush(h, NULL, off, (hi - lo + 1) * 8);
    }
    return rc;
}

/* Writes one arena's changed checkpoint words, one store per touched line
 * (arena lock held). */
static int checkpoint_arena(pma_heap *h, pma_arena *a)
{
    size_t words = a->bitmap_bytes / 4;       /* both halves: the pairs */
    if (scratch(h, words) != 0)
        return PMA_ENOMEM;
    pma_live_image(h, a, true, h->ck_scratch);
    memcpy(a->dimg, h->ck_scratch, words * 8);
    return image_flush(h, a, 0, words - 1) ? PMA_EDEVICE : 0;
}

/* The header's epoch line: records of `covered` and older are retired. */
static int retire(pma_heap *h, uint64_t covered)
{
    uint64_t line[2] = {covered, (uint64_t)h->half_start[0] | (uint64_t)h->half_start[1] << 32};
    uint64_t off = offsetof(pma_heap_header, log_epoch);
    if (pma_meta_write(h, NULL, off, line, sizeof line, NV_META_LOG) != 0)
        return PMA_EDEVICE;
    pma_meta_flush(h, NULL, off, sizeof line);
    pma_meta_fence(h, NULL);
    h->ckpt_epoch = covered;
    atomic_fetch_add(&h->checkpoints, 1);
    return 0;
}

/* Every arena's whole image (at open, after replay). */
static int checkpoint(pma_heap *h, uint64_t covered)
{
    int rc = 0;
    pthread_mutex_lock(&h->grow);          /* the registry (as pma_stats: grow, then arenas) */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        pma_spin_lock(&a->lock);
        rc |= checkpoint_arena(h, a);
        pma_spin_unlock(&a->lock);
    }
    pthread_mutex_unlock(&h->grow);
    pma_meta_fence(h, NULL);
    return rc ? rc : retire(h, covered);  /* on failure the old epoch's records still decide */
}

/* ---- incremental checkpoint: only the slots the retiring epoch touched ---- */

static inline bool pair_start(const uint64_t *img, uint32_t u) { return (img[u >> 5] >> (2 * (u & 31) + 1)) & 1; }
static inline void pair_put(uint64_t *img, uint32_t u, bool alloc, bool start)
{
    uint64_t m = 3ull << (2 * (u & 31));
    img[u >> 5] = (img[u >> 5] & ~m) | (((uint64_t)alloc | (uint64_t)start << 1) << (2 * (u & 31)));
}

/* Pauses a thread that found the running half used up spends waiting for
 * another's advance before it blocks on the checkpoint lock (a few tens of
 * microseconds: a checkpoint it must wait for runs longer). */
#define PMA_LOG_ADVANCE_SPINS 4096u
/* Chunks a thread claims from its half at a time (a half of the default
 * log holds hundreds; a small one fewer, and the claim takes what is left). */
#define PMA_LOG_CLAIM 4u
#define PAIR_ALLOC 0x5555555555555555ull     /* the alloc bit of each unit in a word */

/* Units [lo, hi) of word w's 32, as a mask of both their bits. */
static inline uint64_t unit_mask(uint32_t lo, uint32_t hi)
{
    uint64_t m = hi - lo >= 32 ? ~0ull : ((1ull << (2 * (hi - lo))) - 1);
    return m << (2 * lo);
}

/* Brings slot s of the image to its current state: the old object there is
 * cleared first (all slots of the arena, before any is set), then a live
 * object is set over [s, s+n), which also clears stale starts inside it.
 * Word at a time: 32 units per word. Return the last unit touched. */
static uint32_t image_clear(const pma_arena *a, uint64_t *img, uint32_t s)
{
    if (!pair_start(img, s))
        return s;
    pair_put(img, s, false, false);
    uint32_t u = s + 1;
    while (u < a->units) {
        uint32_t w = u >> 5, lo = u & 31;
        uint64_t x = img[w];
        /* units that end the object: a start, or not allocated */
        uint64_t stop = (((x >> 1) | ~x) & PAIR_ALLOC) & unit_mask(lo, 32);
        uint32_t hi = stop ? (uint32_t)__builtin_ctzll(stop) / 2 : 32;
        img[w] = x & ~unit_mask(lo, hi);
        u = w * 32 + hi;
        if (stop)
            break;
    }
    return u - 1 < a->units ? u - 1 : a->units - 1;
}

static uint32_t image_set(const pma_arena *a, uint64_t *img, uint32_t s)
{
    const pma_slot *sl = &a->slot[s >> a->stride_shift];
    if (!pma_slot_live(sl))
        return s;
    uint32_t end = s + pma_slot_n(sl);
    end = end < a->units ? end : a->units;
    for (uint32_t u = s; u < end;) {
        uint32_t w = u >> 5, lo = u & 31, hi = end - w * 32 < 32 ? end - w * 32 : 32;
        uint64_t m = unit_mask(lo, hi);
        img[w] = (img[w] & ~m) | (m & PAIR_ALLOC);     /* allocated, no start */
        u = w * 32 + hi;
    }
    pair_put(img, s, true, true);
    return end - 1;
}


/* Marks the slots named by the records of epoch e in [p, end) (one chunk)
 * in their arenas' ck_mark[e & 1]. The writer of a chunk does it when it
 * leaves the chunk, while the records are in its cache and in parallel with
 * the other threads; the checkpoint does it for chunks nobody marked. A bit
 * already set costs a load, not a locked instruction. */
static void mark_records(pma_heap *h, uint64_t e, const unsigned char *p, const unsigned char *end)
{
    unsigned par = (unsigned)(e & 1);
    pma_arena *a = NULL;
    uint64_t a_lo = 1, a_hi = 0, prev = UINT64_MAX;
    for (; p < end; p += PMA_LOG_REC) {
        uint64_t w[2];
        memcpy(w, p, sizeof w);
        if (!pma_rec_valid(w, e))
            continue;                      /* the unfilled tail, or a line skipped as worn */
        uint64_t at = pma_rec_off(w);
        if (at == prev)
            continue;                      /* the same slot again (a get and its return) */
        prev = at;
        if (at < a_lo || at >= a_hi) {
            a = pma_heap_arena_at(h, at);
            a_lo = a->data;
            a_hi = a->off + a->size;
        }
        pma_log_mark_par(h, a, par, (uint32_t)((at - a_lo) >> h->g_shift));
    }
}

/* The slots marked for epoch parity par: taken (zeroed) into a list, then
 * cleared in the image, set, written (ckpt held). Marks that arrive later
 * stay for the next checkpoint of this parity: processing a slot again only
 * writes its state then. */
static int checkpoint_arena_marks(pma_heap *h, pma_arena *a, unsigned par)
{
    uint32_t words = a->bitmap_bytes / 8;
    if (scratch(h, 2 * (size_t)words) != 0)
        return PMA_ENOMEM;
    uint64_t *idx = h->ck_scratch, *bits = h->ck_scratch + words;
    uint32_t n = 0;
    for (uint32_t s = 0; s < (words + 63) / 64; s++) {
        /* read before the exchange: most summary words are zero, and a
         * locked exchange of each was most of the checkpoint in perf */
        if (!atomic_load_explicit(&a->ck_sum[par][s], memory_order_relaxed))
            continue;
        for (uint64_t sb = atomic_exchange_explicit(&a->ck_sum[par][s], 0, memory_order_acquire); sb;
             sb &= sb - 1) {
            uint32_t w = s * 64 + (uint32_t)__builtin_ctzll(sb);
            uint64_t b = atomic_exchange_explicit(&a->ck_mark[par][w], 0, memory_order_acquire);
            if (b) {
                idx[n] = w;
                bits[n++] = b;
            }
        }
    }
    if (n == 0)
        return 0;
    uint32_t first = (uint32_t)idx[0] * 64, last = 0;
    pma_spin_lock(&a->lock);
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < n; k++)
            for (uint64_t b = bits[k]; b; b &= b - 1) {
                uint32_t u = (uint32_t)idx[k] * 64 + (uint32_t)__builtin_ctzll(b);
                uint32_t end = pass ? image_set(a, a->dimg, u) : image_clear(a, a->dimg, u);
                last = end > last ? end : last;
            }
    int rc = image_flush(h, a, first >> 5, last >> 5);
    pma_spin_unlock(&a->lock);
    return rc ? PMA_EDEVICE : 0;
}

/* The records of epoch e (its half of the log) name every slot whose state
 * may differ from the image: each is brought up to date, then e retires.
 * Slots changed meanwhile by the next epoch's operations are written as
 * they are now: their own records decide them at recovery either way. */
static int checkpoint_epoch(pma_heap *h, uint64_t e)
{
    unsigned half = (unsigned)(e & 1);
    uint32_t used = atomic_load(&h->half_used[half]);
    used = used < h->half_chunks ? used : h->half_chunks;
    const unsigned char *base = nv_base(h->dev);
    for (uint32_t k = 0; k < used; k++) {
        uint64_t chunk = (uint64_t)half * h->half_chunks + (h->half_start[half] + k) % h->half_chunks;
        if (atomic_load_explicit(&h->chunk_marked[chunk], memory_order_acquire))
            continue;                      /* its writer marked it */
        const unsigned char *p = base + h->log_off + chunk * PMA_LOG_CHUNK;
        mark_records(h, e, p, p + PMA_LOG_CHUNK);
    }
    /* No grow lock (it once guarded a walk of the registry): the list holds
     * small arenas, which stay while the heap is open (space.c merges and
     * carves free large ones only), each taken under its own lock. Held
     * here, it stalled other threads' large gets and returns for the
     * whole checkpoint. */
    int rc = 0;
    pma_arena *next;
    for (pma_arena *a = atomic_exchange_explicit(&h->ck_list[half], NULL, memory_order_acquire); a; a = next) {
        /* next read before ck_any clears: a mark from then on pushes a anew */
        next = a->ck_next[half];
        atomic_store_explicit(&a->ck_any[half], false, memory_order_relaxed);
        if (rc != 0)
            pma_log_ck_push(h, a, half);   /* left for the next checkpoint of this parity */
        else
            rc = checkpoint_arena_marks(h, a, half);   /* only small arenas have marks */
    }
    pma_meta_fence(h, NULL);
    return rc ? rc : retire(h, e);
}

/* Waits until every get or return that may carry the old epoch has
 * finished (registry locked). */
static void quiesce(pma_heap *h)
{
    if (h->lane.asym)
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (pma_tcache *tc = h->caches; tc; tc = tc->hnext) {
        if (!atomic_load_explicit(&tc->in_op, memory_order_acquire))
            continue;
        uint64_t seen = atomic_load_explicit(&tc->ops_done, memory_order_acquire);
        for (unsigned spins = 0; atomic_load_explicit(&tc->in_op, memory_order_acquire) &&
                                 atomic_load_explicit(&tc->ops_done, memory_order_acquire) == seen;
             spins++)
            if (spins > 64)
                sched_yield();
    }
}

/* The running epoch's half is used up (ckpt held, called by a thread that
 * is not inside an operation): new records go to the other half under the
 * next epoch, whose records are long retired; once the operations of the
 * old epoch are done, a checkpoint retires its records too. Operations go on
 * meanwhile: one that a checkpoint sees half done has a record of the new
 * epoch, which decides its slot at recovery whatever the checkpoint says. */
static int advance(pma_heap *h)
{
    uint64_t e = atomic_load(&h->running), n = e + 1;
    unsigned half = (unsigned)(n & 1);
    uint32_t used = atomic_load(&h->half_used[half]);
    h->half_start[half] = (h->half_start[half] + (used < h->half_chunks ? used : h->half_chunks)) % h->half_chunks;
    atomic_store(&h->half_used[half], 0);

    atomic_exchange(&h->running, n);    /* a full barrier: running before in_op (Dekker's other half) */
    atomic_fetch_add(&h->log_wraps, 1);
    pthread_mutex_lock(&h->tc_lock);
    quiesce(h);
    pthread_mutex_unlock(&h->tc_lock);
    /* The reused half's marks of chunks, cleared only now: a thread that was
     * inside an operation of an old epoch may have set one until quiesce.
     * A flag of the new epoch cleared here only makes the checkpoint scan
     * that chunk itself. */
    for (uint32_t k = 0; k < h->half_chunks; k++)
        atomic_store_explicit(&h->chunk_marked[(uint64_t)half * h->half_chunks + k], 0, memory_order_relaxed);
    return checkpoint_epoch(h, e);
}

/* ---- the fast path (inline in persist_log.h) ------------------------------ */

/* The chunk tc leaves: when it is full and of the running epoch e (read
 * inside this operation), it is flagged as marked (each append marked its
 * slot: pma_log_mark), so e's checkpoint need not scan it. Its half cannot
 * be handed out again meanwhile: that takes the advance after next, which
 * waits for e's checkpoint, which waits for this operation. A chunk of an
 * epoch that has ended is left unflagged: another thread may already be
 * writing over it, and e's checkpoint scans the chunks nobody flagged
 * (marking again what is marked already). */
static void leave_chunk(pma_heap *h, pma_tcache *tc, uint64_t e)
{
    if (tc->log_end != 0 && tc->log_epoch == e)
        atomic_store_explicit(&h->chunk_marked[tc->log_chunk], 1, memory_order_release);
    tc->log_pos = tc->log_end = 0;
}

int pma_log_begin_slow(pma_heap *h, pma_tcache *tc, uint64_t e)
{
    leave_chunk(h, tc, e);
    for (;;) {
        /* Chunks are claimed PMA_LOG_CLAIM at a time: the shared counter's
         * line moved between threads at every chunk, and perf put half of
         * this function on that one add under 2 threads. A claimed chunk
         * left unused when the epoch ends holds older epochs' records only,
         * which count for nothing, as a chunk left half full does. */
        uint32_t k;
        if (tc->claim_epoch == e && tc->claim_next < tc->claim_end) {
            k = tc->claim_next++;
        } else {
            k = atomic_fetch_add_explicit(&h->half_used[e & 1], PMA_LOG_CLAIM, memory_order_relaxed);
            tc->claim_epoch = e;
            tc->claim_next = k + 1;
            tc->claim_end = (uint64_t)k + PMA_LOG_CLAIM < h->half_chunks ? k + PMA_LOG_CLAIM : h->half_chunks;
        }
        if (k < h->half_chunks) {
            uint64_t chunk = (e & 1) * h->half_chunks + (h->half_start[e & 1] + k) % h->half_chunks;
            tc->log_pos = h->log_off + chunk * PMA_LOG_CHUNK;
            tc->log_end = tc->log_pos + PMA_LOG_CHUNK;
            tc->log_epoch = e;
            tc->rec_e0 = pma_rec_epoch0(e);
            tc->rec_w0[PMA_OP_ALLOC] = pma_rec_word0_e(PMA_OP_ALLOC, tc->rec_e0, 0);
            tc->rec_w0[PMA_OP_FREE] = pma_rec_word0_e(PMA_OP_FREE, tc->rec_e0, 0);
            tc->rec_e1 = pma_rec_epoch1(e);
            tc->log_chunk = chunk;
            return 0;
        }
        pma_log_end(h, tc);                 /* a checkpoint may be waiting for us */
        int rc = 0;
        if (atomic_load(&h->running) == e) {
            /* Another thread advancing puts its new epoch in `running`
             * before its checkpoint: wait for that, not for the lock it
             * holds through the checkpoint. The threads of a replay use up
             * a half at about the same time, and a blocking lock here put
             * all but one to sleep for each checkpoint (perf: futex waits,
             * 2 threads scaling 1.6x). After a while (a checkpoint of the
             * epoch before, which this half waits for) the lock. */
            for (unsigned spins = 0; atomic_load(&h->running) == e; spins++) {
                if (spins < PMA_LOG_ADVANCE_SPINS && pthread_mutex_trylock(&h->ckpt) != 0) {
                    __builtin_ia32_pause();
                    continue;
                }
                if (spins >= PMA_LOG_ADVANCE_SPINS)
                    pthread_mutex_lock(&h->ckpt);
                rc = atomic_load(&h->running) == e ? advance(h) : 0;
                pthread_mutex_unlock(&h->ckpt);
                break;
            }
        }
        if (rc)
            return rc;
        e = pma_log_enter(h, tc);
        if (tc->log_epoch == e && tc->log_pos != tc->log_end)
            return 0;
    }
}

/* A record that met a worn cell did not land (the cell keeps its old bytes,
 * an older epoch's record or zeros, which count for nothing): the rest of
 * its line is skipped and the record is written further on, in a new chunk
 * when this one is used up, perhaps of a new epoch. Recovery and the marking
 * scan read every record slot, so a gap hides nothing after it. The
 * operation has taken its space already; a checkpoint that runs meanwhile
 * finds no record of its slot in the old epoch, and the new record decides
 * it. */
int pma_log_append_worn(pma_heap *h, pma_tcache *tc, pma_arena *a, unsigned op, uint32_t u, uint32_t n,
                        int rc)
{
    for (unsigned tries = 0; rc == NV_EWORN && tries < PMA_LOG_CHUNK / PMA_LINE * 4; tries++) {
        atomic_fetch_add_explicit(&h->log_worn_skips, 1, memory_order_relaxed);
        tc->log_pos = (tc->log_pos / PMA_LINE + 1) * PMA_LINE;
        if (tc->log_pos >= tc->log_end &&
            (rc = pma_log_begin_slow(h, tc, atomic_load_explicit(&h->running, memory_order_acquire))) != 0)
            return rc;
        uint64_t w[2];
        uint32_t gen = atomic_load_explicit(&a->slot[u >> a->stride_shift].gen, memory_order_relaxed);
        pma_rec_pack(w, op, tc->log_epoch, a->data + ((uint64_t)u << h->g_shift), gen, n);
        rc = nv_write(h->dev, tc->log_pos, w, sizeof w, NV_META_LOG);
    }
    if (rc)
        return PMA_EDEVICE;
    /* marked for the epoch the record landed in too (a new chunk may be of
     * the next epoch): the first mark already has the old epoch's
     * checkpoint write the slot after this operation, but so each record's
     * slot is marked for its own epoch everywhere */
    pma_log_mark(h, tc, a, u);
    nv_flush(h->dev, tc->log_pos, PMA_LOG_REC);
    nv_fence(h->dev);
    pma_count(&tc->ct.records, 1);
    tc->log_pos += PMA_LOG_REC;
    return 0;
}

static int log_begin(pma_heap *h, pma_tcache *tc) { return pma_log_begin(h, tc); }
static void log_end(pma_heap *h, pma_tcache *tc) { pma_log_end(h, tc); }

static int log_alloc(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n)
{
    return pma_log_append(h, tc, a, PMA_OP_ALLOC, u, n,
                          atomic_load_explicit(&a->slot[u >> a->stride_shift].gen, memory_order_relaxed));
}

static int log_free(pma_heap *h, pma_tcache *tc, pma_arena *a, uint32_t u, uint32_t n)
{
    return pma_log_append(h, tc, a, PMA_OP_FREE, u, n,
                          atomic_load_explicit(&a->slot[u >> a->stride_shift].gen, memory_order_relaxed));
}

/* ---- loading and recovery --------------------------------------------------- */

/* Bit pairs (dimg) into the space bitmaps. */
static int pairs_to_space(const pma_arena *a, const uint64_t *pairs, uint64_t *alloc, uint64_t *start)
{
    size_t words = a->bitmap_bytes / 4;
    memset(alloc, 0, a->bitmap_bytes);
    memset(start, 0, a->bitmap_bytes);
    for (size_t w = 0; w < words; w++) {
        uint64_t x = pairs[w];
        while (x) {
            unsigned b = (unsigned)__builtin_ctzll(x);
            x &= x - 1;
            uint32_t u = (uint32_t)(w * 32 + b / 2);
            if (u >= a->units)
                return PMA_ECORRUPT;
            if (b & 1)
                start[u >> 6] |= 1ull << (u & 63);
            else
                alloc[u >> 6] |= 1ull << (u & 63);
        }
    }
    return 0;
}

static int log_arena_load(pma_heap *h, pma_arena *a)
{
    (void)h;
    return pairs_to_space(a, a->dimg, a->alloc, a->start);
}

/* The final live set of every small arena, from its checkpoint (already in
 * the space bitmaps) and the log: rebuilds the space bitmaps. `seen` marks
 * slots a record decided. Modifies only DRAM. */
static int replay_records(pma_heap *h, const unsigned char *buf, uint64_t **seen_out);

static int replay(pma_heap *h, uint64_t **seen_out)
{
    /* Base lengths first: records overwrite the slots they decide. */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        for (uint32_t s = pma_bm_next_one(a->start, 0, a->units); s < a->units;
             s = pma_bm_next_one(a->start, s + 1, a->units)) {
            if (!pma_bm_get(a->alloc, s) || s % a->stride)
                return PMA_ECORRUPT;
            pma_slot *sl = &a->slot[s >> a->stride_shift];
            pma_slot_set_n(sl, pma_arena_object_units(a, s));
            sl->slack = 1;
        }
    }
    /* The region through the device, so recovery's reads are counted and charged. */
    unsigned char *logbuf = malloc(h->log_bytes ? h->log_bytes : 1);
    if (!logbuf)
        return PMA_ENOMEM;
    if (nv_read(h->dev, h->log_off, logbuf, h->log_bytes) != 0) {
        free(logbuf);
        return PMA_EDEVICE;
    }
    int rc = replay_records(h, logbuf, seen_out);
    free(logbuf);
    return rc;
}

/* replay's second half: the records of the log region (a copy in buf). */
static int replay_records(pma_heap *h, const unsigned char *buf, uint64_t **seen_out)
{
    for (uint64_t off = h->log_off; off < h->log_off + h->log_bytes; off += PMA_LOG_REC) {
        uint64_t w[2];
        memcpy(w, buf + (off - h->log_off), sizeof w);
        if (rec_future(h, w))
            return PMA_ECORRUPT;
        if (!rec_live(h, w))
            continue;
        unsigned op = pma_rec_op(w);
        uint64_t at = pma_rec_off(w);
        uint32_t n = pma_rec_units(w);
        if (op != PMA_OP_ALLOC && op != PMA_OP_FREE)
            return PMA_ECORRUPT;
        if (at < h->arena_base || at >= h->hwm)
            return PMA_ECORRUPT;
        pma_arena *a = pma_heap_arena_at(h, at);
        if (!a || a->large || at < a->data)
            return PMA_ECORRUPT;
        uint64_t rel = at - a->data;
        uint64_t u = rel >> h->g_shift;
        if ((rel & (h->q - 1)) || u >= a->units || n > a->units - u)
            return PMA_ECORRUPT;
        uint64_t *seen = seen_out[a->all_index];
        pma_slot *sl = &a->slot[u >> a->stride_shift];
        uint32_t gen = pma_rec_gen(w);
        if (pma_bm_get(seen, (uint32_t)u) &&
            !pma_gen_after(gen, atomic_load_explicit(&sl->gen, memory_order_relaxed)))
            continue;
        seen[u >> 6] |= 1ull << (u & 63);
        atomic_store_explicit(&sl->gen, gen, memory_order_relaxed);
        pma_slot_set_n(sl, n);
        sl->slack = op == PMA_OP_ALLOC;
    }
    /* Rebuild: the final set is the checkpoint's starts a record did not
     * decide, and the records that say live. Overlaps mean a corrupt image. */
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        uint64_t *seen = seen_out[a->all_index];
        size_t words = a->bitmap_bytes / 8;
        for (size_t i = 0; i < words; i++)
            seen[i] |= a->start[i];           /* every candidate start */
        memset(a->alloc, 0, a->bitmap_bytes);
        memset(a->start, 0, a->bitmap_bytes);
        for (uint32_t s = pma_bm_next_one(seen, 0, a->units); s < a->units;
             s = pma_bm_next_one(seen, s + 1, a->units)) {
            pma_slot *sl = &a->slot[s >> a->stride_shift];
            if (!sl->slack)
                continue;
            if (s % a->stride || pma_slot_n(sl) == 0 || pma_slot_n(sl) > a->units - s ||
                pma_bm_next_one(a->alloc, s, s + pma_slot_n(sl)) < s + pma_slot_n(sl))
                return PMA_ECORRUPT;
            pma_bm_set_range(a->start, s, 1);
            pma_bm_set_range(a->alloc, s, pma_slot_n(sl));
        }
        for (uint32_t s = pma_bm_next_one(seen, 0, a->units); s < a->units;
             s = pma_bm_next_one(seen, s + 1, a->units))
            a->slot[s >> a->stride_shift] = (pma_slot){0};
    }
    return 0;
}

static uint64_t **seen_alloc(pma_heap *h)
{
    size_t n = 0;
    for (pma_arena *a = h->first; a; a = a->all_next)
        a->all_index = n++;
    uint64_t **seen = calloc(n ? n : 1, sizeof *seen);
    if (!seen)
        return NULL;
    for (pma_arena *a = h->first; a; a = a->all_next)
        if (!a->large && !(seen[a->all_index] = calloc(a->bitmap_bytes / 8, 8)))
            return seen;           /* the caller finds the NULL */
    return seen;
}

static void seen_free(pma_heap *h, uint64_t **seen)
{
    if (!seen)
        return;
    for (pma_arena *a = h->first; a; a = a->all_next)
        free(seen[a->all_index]);
    free(seen);
}

static bool seen_ok(pma_heap *h, uint64_t **seen)
{
    if (!seen)
        return false;
    for (pma_arena *a = h->first; a; a = a->all_next)
        if (!a->large && !seen[a->all_index])
            return false;
    return true;
}

static int log_recover(pma_heap *h)
{
    uint64_t **seen = seen_alloc(h);
    int rc = seen_ok(h, seen) ? replay(h, seen) : PMA_ENOMEM;
    seen_free(h, seen);
    if (rc)
        return rc;
    for (pma_arena *a = h->first; a; a = a->all_next) {
        if (a->large)
            continue;
        pma_ri_mark_all(&a->ri);
        pma_live_from_space(h, a);
        pma_arena_derive_counters(h, a);
    }
    /* A fresh checkpoint: the replayed records (two epochs at most) retire,
     * generations restart. */
    uint64_t covered = h->ckpt_epoch + 2;
    int rc2 = checkpoint(h, covered);
    atomic_store(&h->running, covered + 1);
    return rc2;
}

static int check_fail(char *msg, size_t len, const pma_arena *a, const char *what, uint32_t u)
{
    if (msg && len)
        snprintf(msg, len, "arena @%llu: %s (unit %u)", (unsigned long long)a->off, what, u);
    return PMA_ECORRUPT;
}

/* The checkpoint on the device equals dimg, and what recovery would make of
 * the device decides every slot as the live set has it: the latest record
 * where there is one, the checkpoint elsewhere. Reads only. */
static int log_check(pma_heap *h, pma_arena *a, char *msg, size_t len)
{
    size_t words = a->bitmap_bytes / 8;
    const unsigned char *base = nv_base(h->dev);
    if (memcmp(base + a->alloc_dev, a->dimg, 2 * words * 8) != 0)
        return check_fail(msg, len, a, "checkpoint on the device differs from its DRAM copy", 0);
    uint64_t *alloc = calloc(words, 8), *start = calloc(words, 8), *seen = calloc(words, 8);
    uint32_t *gen = calloc(a->units / a->stride + 1, sizeof *gen);
    uint8_t *live = calloc(a->units / a->stride + 1, 1);
    uint16_t *units = calloc(a->units / a->stride + 1, sizeof *units);
    int rc = 0;
    if (!alloc || !start || !seen || !gen || !live || !units) {
        rc = PMA_ENOMEM;
        goto out;
    }
    if (pairs_to_space(a, a->dimg, alloc, start) != 0) {
        rc = check_fail(msg, len, a, "checkpoint has bits past the last unit", 0);
        goto out;
    }
    for (uint64_t off = h->log_off; off < h->log_off + h->log_bytes; off += PMA_LOG_REC) {
        uint64_t w[2];
        memcpy(w, base + off, sizeof w);
        uint64_t at = pma_rec_off(w);
        if (!rec_live(h, w) || at < a->data || at >= a->off + a->size)
            continue;
        uint64_t u = (at - a->data) >> h->g_shift;
        if (u >= a->units || u % a->stride) {
            rc = check_fail(msg, len, a, "a log record names no start slot", (uint32_t)u);
            goto out;
        }
        size_t sl = u >> a->stride_shift;
        if (pma_bm_get(seen, (uint32_t)u) && !pma_gen_after(pma_rec_gen(w), gen[sl]))
            continue;
        seen[u >> 6] |= 1ull << (u & 63);
        gen[sl] = pma_rec_gen(w);
        live[sl] = pma_rec_op(w) == PMA_OP_ALLOC;
        units[sl] = (uint16_t)pma_rec_units(w);
    }
    for (uint32_t u = 0; u < a->units; u += a->stride) {
        size_t sl = u >> a->stride_shift;
        bool is_live = pma_slot_live(&a->slot[sl]);
        bool durable = pma_bm_get(seen, u) ? live[sl] : pma_bm_get(start, u);
        uint32_t n = pma_bm_get(seen, u) ? units[sl] :
                     pma_bm_get(start, u) ? pma_bm_next_boundary(start, alloc, u + 1, a->units) - u : 0;
        if (is_live != durable) {
            rc = check_fail(msg, len, a, is_live ? "a live object would not survive a crash"
                                                 : "a free block would come back live after a crash", u);
            goto out;
        }
        if (is_live && n != pma_slot_n(&a->slot[sl])) {
            rc = check_fail(msg, len, a, "a live object would come back with another length", u);
            goto out;
        }
    }
out:
    free(alloc); free(start); free(seen); free(gen); free(live); free(units);
    return rc;
}

static void log_detach(pma_heap *h)
{
    free((void *)h->chunk_marked);
    h->chunk_marked = NULL;
    free(h->ck_scratch);
    h->ck_scratch = NULL;
    h->ck_scratch_words = 0;
}

const pma_persist_ops pma_persist_log = {
    .name = "log",
    .format = log_format,
    .attach = log_attach,
    .arena_load = log_arena_load,
    .recover = log_recover,
    .begin = log_begin,
    .end = log_end,
    .alloc = log_alloc,
    .free = log_free,
    .check = log_check,
    .close = NULL,
    .detach = log_detach,
    .large_words = true,
    .fixed_slots = false,
};
