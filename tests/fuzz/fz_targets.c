/* fz_targets.c - the fuzz harness bodies (see fz_targets.h): what each feeds
 * the library and which answers count as wrong. Refusals (error returns with
 * a message) are the expected outcome for most inputs; what is checked is
 * that a refusal says something, that an accepted heap passes pma_check, and
 * that the API's answers match a model of the live objects. */
#include "fz_targets.h"

#include "pmarena/config.h"
#include "pmarena/device.h"
#include "pmarena/pma.h"
#include "pmarena/trace.h"
#include "../../allocator/layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* ---- files: inputs that the library reads by path -------------------------- */

static char fz_dir[256];

static void fz_dir_remove(void)
{
    if (fz_dir[0])
        rmdir(fz_dir);
}

/* One private folder per process, in RAM when /dev/shm is there. */
static const char *fz_path(const char *name)
{
    static char path[512];
    if (!fz_dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fz_dir, sizeof fz_dir, "%s/pmarena-fuzz-XXXXXX", base);
        if (!mkdtemp(fz_dir))
            fz_fail("mkdtemp %s failed", fz_dir);
        atexit(fz_dir_remove);
    }
    snprintf(path, sizeof path, "%s/%s", fz_dir, name);
    return path;
}

static void fz_put(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        fz_fail("cannot write %s", path);
}

/* ---- config loading and --set ---------------------------------------------- */

int fz_config_one(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t clen = nul ? (size_t)(nul - data) : size;
    char path[512];
    snprintf(path, sizeof path, "%s", fz_path("config.json"));
    fz_put(path, data, clen);
    /* The overrides: NUL-separated strings after the config (at most 8). */
    char *sets[8];
    int nsets = 0;
    char *rest = NULL;
    if (nul) {
        size_t rlen = size - clen - 1;
        rest = malloc(rlen + 1);
        if (!rest)
            return 0;
        memcpy(rest, nul + 1, rlen);
        rest[rlen] = 0;
        for (char *p = rest; p < rest + rlen && nsets < 8; p += strlen(p) + 1)
            sets[nsets++] = p;
    }
    cfg_experiment x;
    memset(&x, 0, sizeof x);
    char err[1024] = "";
    int rc = cfg_experiment_load(&x, path, sets, nsets, err, sizeof err);
    if (rc == 0)
        cfg_experiment_free(&x);
    else if (!err[0])
        fz_fail("config refused (%d) with no message", rc);
    free(rest);
    unlink(path);
    return 0;
}

/* ---- trace readers ---------------------------------------------------------- */

static void fz_read_trace(const char *path)
{
    tr_reader *r = NULL;
    tr_error err;
    memset(&err, 0, sizeof err);
    int rc = tr_reader_open(&r, path, &err);
    if (rc == 0) {
        tr_event e;
        tr_obj *o, *old;
        while ((rc = tr_reader_next(r, &e, &o, &old, &err)) == 1) {
            if (!o)
                fz_fail("event without its object");
            if (e.op == TR_FREE)
                tr_reader_release(r, o);
            if (old)
                tr_reader_release(r, old);
        }
        tr_reader_close(r);
    }
    if (rc < 0) {
        char msg[1200];
        tr_error_format(&err, msg, sizeof msg);
        /* Every error names the file (the standard for bad input). */
        if (!err.msg[0] || strcmp(err.file, path) != 0)
            fz_fail("trace error (%d) without the file or a message: \"%s\"", rc, msg);
    }
}

int fz_trace_jsonl_one(const uint8_t *data, size_t size)
{
    const char *path = fz_path("trace.jsonl");
    fz_put(path, data, size);
    fz_read_trace(path);
    unlink(path);
    return 0;
}

int fz_trace_pmt_one(const uint8_t *data, size_t size)
{
    const char *path = fz_path("trace.pmt");
    fz_put(path, data, size);
    fz_read_trace(path);
    unlink(path);
    return 0;
}

/* ---- the heap image ------------------------------------------------------------ */

static nv_device *fz_sim(uint64_t size)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.size = size;
    nv_device *d = NULL;
    if (nv_open(&d, &cfg) != 0)
        fz_fail("nv_open of a %llu-byte sim device failed", (unsigned long long)size);
    return d;
}

static void fz_check(pma_heap *h, const char *when)
{
    char msg[512] = "";
    if (pma_check(h, msg, sizeof msg) != 0)
        fz_fail("pma_check after %s: %s", when, msg);
}

/* Mutations land on checksummed headers; recomputing the sums lets them reach
 * the code behind the checks (what a torn or hostile image that happens to
 * sum right would reach). */
static void fz_fix_checksums(uint8_t *img, size_t n)
{
    pma_heap_header *hh = (pma_heap_header *)img;
    if (hh->magic == PMA_HEAP_MAGIC)
        hh->checksum = pma_checksum(hh->version, hh, offsetof(pma_heap_header, checksum));
    for (size_t off = PMA_ARENA_ALIGN; off + sizeof(pma_arena_header) <= n; off += PMA_ARENA_ALIGN) {
        pma_arena_header *ah = (pma_arena_header *)(img + off);
        if (ah->magic == PMA_ARENA_MAGIC)
            ah->checksum = pma_checksum(hh->version, ah, offsetof(pma_arena_header, checksum));
    }
}

int fz_heap_image_rc(const uint8_t *data, size_t size)
{
    if (size < 1)
        return PMA_ENOHEAP;
    nv_device *d = fz_sim(FZ_HEAP_DEVICE);
    uint8_t *img = nv_base(d);
    size_t n = size - 1 < FZ_HEAP_DEVICE ? size - 1 : FZ_HEAP_DEVICE;
    memcpy(img, data + 1, n);
    memset(img + n, 0, FZ_HEAP_DEVICE - n);
    if (data[0] & 1)
        fz_fix_checksums(img, FZ_HEAP_DEVICE);
    pma_heap *h = NULL;
    int rc = pma_open(&h, d);
    if (rc == 0) {
        fz_check(h, "pma_open");
        /* An opened heap must also work: one get and its return. */
        void *p = pma_get_mem(h, 100);
        if (p) {
            if (pma_return_mem(h, p) != 0)
                fz_fail("return of a fresh object refused");
            fz_check(h, "a get and a return");
        }
        pma_destroy(h);
    } else if (h) {
        fz_fail("pma_open failed (%d) but gave a heap", rc);
    }
    nv_close(d);
    return rc;
}

int fz_heap_image_one(const uint8_t *data, size_t size)
{
    fz_heap_image_rc(data, size);
    return 0;
}

uint8_t *fz_heap_seed(int persistence, int metadata, int clean, size_t *len)
{
    nv_device *d = fz_sim(FZ_HEAP_DEVICE);
    pma_config cfg;
    pma_config_defaults(&cfg);
    cfg.persistence = (pma_persistence)persistence;
    cfg.metadata = (pma_metadata)metadata;
    cfg.arena_size = FZ_HEAP_ARENA;
    cfg.granularity = 16;
    cfg.log_kib = 8;
    pma_heap *h = NULL;
    if (pma_init(&h, d, &cfg) != 0) {
        nv_close(d);
        return NULL;
    }
    /* Objects of several classes, a large one, some freed, a root that
     * reaches a few of them (gc keeps what the root reaches). */
    void *keep[24] = {0};
    static const size_t sizes[] = {24, 100, 200, 500, 1000, 3000, 6000};
    for (int i = 0; i < 24; i++)
        keep[i] = pma_get_mem(h, sizes[i % 7]);
    for (int i = 0; i < 24; i += 3)
        if (keep[i])
            pma_return_mem(h, keep[i]);
    uint64_t *root = pma_get_mem(h, 64);
    if (root) {
        for (int i = 0; i < 8; i++)
            root[i] = keep[3 * i + 1] ? pma_offset(h, keep[3 * i + 1]) : 0;
        pma_set_root(h, root);
    }
    if (clean)
        pma_destroy(h);
    else
        pma_abandon(h);
    const uint8_t *img = nv_base(d);
    size_t n = FZ_HEAP_DEVICE;
    while (n && img[n - 1] == 0)
        n--;
    uint8_t *out = malloc(n + 1);
    if (out) {
        out[0] = 1;
        memcpy(out + 1, img, n);
        *len = n + 1;
    }
    nv_close(d);
    return out;
}

/* ---- the API ------------------------------------------------------------------ */

#define FZ_API_DEVICE (1u << 20)
#define FZ_LIVE 64

typedef struct fz_obj {
    uint8_t *p;
    size_t usable;
} fz_obj;

typedef struct fz_api {
    const uint8_t *in;
    size_t n, at;
    pma_heap *h;
    nv_device *d;
    fz_obj live[FZ_LIVE];
    int nlive;
    uint8_t *stale[FZ_LIVE];     /* pointers returned or moved by realloc */
    int nstale;
    int persistence, metadata;
    bool gc_traced;              /* gc reopened after a crash: a conservative trace ran */
} fz_api;

static unsigned fz_byte(fz_api *s) { return s->at < s->n ? s->in[s->at++] : 0; }
static unsigned fz_u16(fz_api *s) { unsigned a = fz_byte(s); return a | fz_byte(s) << 8; }

static int fz_live_index(const fz_api *s, const void *p)
{
    for (int i = 0; i < s->nlive; i++)
        if (s->live[i].p == p)
            return i;
    return -1;
}

static void fz_forget(fz_api *s, int i)
{
    s->stale[s->nstale++ % FZ_LIVE] = s->live[i].p;
    s->live[i] = s->live[--s->nlive];
}

/* A new object: inside the device, usable >= size, overlapping no live one. */
static void fz_add(fz_api *s, uint8_t *p, size_t size)
{
    uint8_t *base = nv_base(s->d);
    size_t us = pma_usable_size(s->h, p);
    if (p < base + PMA_HEAP_HEADER_SIZE || p + us > base + nv_size(s->d) || us < size)
        fz_fail("object %p of %zu usable bytes for %zu (device %p + %llu)", (void *)p, us, size,
                (void *)base, (unsigned long long)nv_size(s->d));
    for (int i = 0; i < s->nlive; i++)
        if (p < s->live[i].p + s->live[i].usable && s->live[i].p < p + us)
            fz_fail("object %p+%zu overlaps live %p+%zu", (void *)p, us, (void *)s->live[i].p,
                    s->live[i].usable);
    if (s->nlive == FZ_LIVE) {
        if (pma_return_mem(s->h, p) != 0)
            fz_fail("return of a fresh object refused");
        s->stale[s->nstale++ % FZ_LIVE] = p;
        return;
    }
    s->live[s->nlive++] = (fz_obj){p, us};
}

/* A return whose answer the model knows: 0 exactly for a live object start. */
static void fz_return(fz_api *s, uint8_t *p, const char *what)
{
    int i = fz_live_index(s, p);
    /* gc's conservative trace after a crash keeps any block a word of a
     * reachable object names, a freed one too (a leak, by design): the heap
     * then holds a live object the model does not know, and returning it is
     * right. Found by this harness (a stale offset left in the root). */
    bool resurrected = s->gc_traced && pma_usable_size(s->h, p) != 0;
    int rc = pma_return_mem(s->h, p);
    if (i >= 0 && rc != 0)
        fz_fail("return of live %s %p refused: %d", what, (void *)p, rc);
    if (i < 0 && rc == 0 && !resurrected)
        fz_fail("return of %s %p (no live object starts there) accepted", what, (void *)p);
    if (i >= 0)
        fz_forget(s, i);
}

static uint8_t *fz_foreign(fz_api *s, unsigned k)
{
    static uint8_t outside[256];
    uint8_t *base = nv_base(s->d);
    switch (k % 4) {
    case 0: return outside + k % 256;                              /* not the device */
    case 1: return base + (k * 8) % PMA_HEAP_HEADER_SIZE;            /* the heap header */
    case 2: return base + nv_size(s->d) - 16;                        /* the device's end */
    default: return base + PMA_HEAP_HEADER_SIZE + (uint64_t)k * 64 % (nv_size(s->d) - 4096);
    }
}

/* Reopens (cleanly or as after a crash) and rebuilds the model from what the
 * heap says is live: intent and log keep every object; gc after a crash keeps
 * what the root reaches, so its model keeps the objects still live. */
static void fz_reopen(fz_api *s, int crash)
{
    if (s->metadata == PMA_META_DRAM)
        return;
    if (crash)
        pma_abandon(s->h);
    else
        pma_destroy(s->h);
    s->h = NULL;
    int rc = pma_open(&s->h, s->d);
    if (rc != 0)
        fz_fail("reopen (%s) failed: %d", crash ? "crash" : "clean", rc);
    fz_check(s->h, crash ? "reopen after a crash" : "a clean reopen");
    if (crash && s->persistence == PMA_PERSIST_GC)
        s->gc_traced = true;
    for (int i = 0; i < s->nlive;) {
        size_t us = pma_usable_size(s->h, s->live[i].p);
        bool kept = us != 0;
        if (!kept && !(crash && s->persistence == PMA_PERSIST_GC))
            fz_fail("live object %p lost by a %s reopen", (void *)s->live[i].p, crash ? "crash" : "clean");
        /* gc after a crash: a large object's requested size was never
         * stored, so it comes back as its whole arena (more, never less). */
        bool grows = crash && s->persistence == PMA_PERSIST_GC;
        if (kept && (grows ? us < s->live[i].usable : us != s->live[i].usable))
            fz_fail("usable size of %p %zu after reopen, was %zu", (void *)s->live[i].p, us,
                    s->live[i].usable);
        if (kept)
            s->live[i++].usable = us;
        else
            fz_forget(s, i);
    }
}

int fz_api_one(const uint8_t *data, size_t size)
{
    static int fz_verbose = -1;     /* FZ_VERBOSE=1: each step on stderr */
    if (fz_verbose < 0)
        fz_verbose = getenv("FZ_VERBOSE") != NULL;
    fz_api *s = calloc(1, sizeof *s);
    if (!s)
        return 0;
    s->in = data;
    s->n = size;
    unsigned c0 = fz_byte(s), c1 = fz_byte(s);
    pma_config cfg;
    pma_config_defaults(&cfg);
    s->persistence = (int)(c0 % 3);
    s->metadata = (int)(c0 / 3 % 3);
    cfg.persistence = (pma_persistence)s->persistence;
    cfg.metadata = (pma_metadata)s->metadata;
    cfg.policy = (pma_policy)(c1 % PMA_POLICIES);
    cfg.granularity = (c1 / 4 % 2) ? 64 : 16;
    cfg.arena_size = FZ_HEAP_ARENA * (1u + c1 / 8 % 4);
    cfg.log_kib = 8;
    s->d = fz_sim(FZ_API_DEVICE);
    if (pma_init(&s->h, s->d, &cfg) != 0)
        fz_fail("pma_init refused a valid configuration");
    for (int step = 0; step < 512 && s->at < s->n; step++) {
        unsigned op = fz_byte(s), k = fz_byte(s);
        fz_obj *o = s->nlive ? &s->live[k % s->nlive] : NULL;
        if (fz_verbose)
            fprintf(stderr, "step %d: op %u on %p (%zu usable), %d live\n", step, op % 10,
                    o ? (void *)o->p : NULL, o ? o->usable : 0, s->nlive);
        switch (op % 10) {
        case 0: case 1: {                            /* get */
            size_t sz = op % 10 == 1 ? fz_u16(s) % 9000 + 1 : fz_byte(s) + 1;
            uint8_t *p = pma_get_mem(s->h, sz);
            if (p)
                fz_add(s, p, sz);
            else if (pma_last_error() != PMA_ENOMEM)
                fz_fail("get of %zu failed: %d", sz, pma_last_error());
            break;
        }
        case 2:                                      /* return a live object */
            if (o)
                fz_return(s, o->p, "object");
            break;
        case 3:                                      /* an interior pointer */
            if (o && o->usable > 1)
                fz_return(s, o->p + 1 + fz_byte(s) % (o->usable - 1), "interior pointer");
            break;
        case 4:                                      /* a foreign pointer */
            fz_return(s, fz_foreign(s, fz_u16(s)), "foreign pointer");
            break;
        case 5:                                      /* a stale pointer */
            if (s->nstale)
                fz_return(s, s->stale[k % (s->nstale < FZ_LIVE ? s->nstale : FZ_LIVE)], "stale pointer");
            break;
        case 6:                                      /* realloc */
            if (o) {
                size_t sz = fz_u16(s) % 9000 + 1;
                uint8_t *old = o->p;
                uint8_t *p = pma_realloc(s->h, old, sz);
                if (p) {
                    fz_forget(s, (int)(o - s->live));
                    if (p == old)
                        s->nstale--;        /* in place: not stale */
                    fz_add(s, p, sz);
                } else if (pma_usable_size(s->h, old) != o->usable) {
                    fz_fail("failed realloc (%d) changed the old object", pma_last_error());
                }
            }
            break;
        case 7: {                                    /* usable size of anything */
            uint8_t *p = k % 2 && o ? o->p : fz_foreign(s, fz_u16(s));
            int i = fz_live_index(s, p);
            size_t us = pma_usable_size(s->h, p);
            /* gc after a crash: a freed block a reachable word names is live
             * again, unknown to the model (as in fz_return) */
            bool resurrected = i < 0 && s->gc_traced && us != 0;
            if (i >= 0 ? us != s->live[i].usable : us != 0 && !resurrected)
                fz_fail("usable size of %p is %zu (model: %zu)", (void *)p, us,
                        i >= 0 ? s->live[i].usable : 0);
            break;
        }
        case 8:                                      /* the root */
            if (o) {
                if (pma_set_root(s->h, o->p) != 0 || pma_root(s->h) != o->p)
                    fz_fail("root %p not kept", (void *)o->p);
            } else {
                /* Outside the heap's arenas (the device, the header, past
                 * hwm): refused; pma_open would refuse a heap whose root is
                 * past hwm (the finding in regress/api/). */
                uint8_t *p = fz_foreign(s, k), *base = nv_base(s->d);
                pma_heap_stats st;
                pma_stats(s->h, &st);
                if (pma_set_root(s->h, p) == 0 &&
                    (p < base + PMA_HEAP_HEADER_SIZE || p >= base + st.footprint_bytes))
                    fz_fail("root at %p (device %p, heap end %llu) accepted", (void *)p, (void *)base,
                            (unsigned long long)st.footprint_bytes);
            }
            break;
        default:                                     /* reopen */
            fz_reopen(s, k % 2);
            break;
        }
        fz_check(s->h, "an API step");
    }
    pma_destroy(s->h);
    nv_close(s->d);
    free(s);
    return 0;
}
