/*
 * gen_internal.h - what the generator's files share (traces/gen_*.c): the
 * resolved spec as a plain struct, the size and lifetime distributions, and the
 * emitter the patterns write events through. Not part of the public API
 * (include/pmarena/gen.h is).
 *
 *   gen_spec.c      JSON spec -> tr_gen_spec (validation, defaults, derived
 *                   lengths) and back (the resolved spec)
 *   gen_dist.c      size and lifetime distributions: reading, drawing; Zipf
 *                   tables; write ranges
 *   gen_patterns.c  the five workload patterns
 *   gen_adv_spec.c  the adversarial patterns' keys (read, checked, derived)
 *   gen_adv.c       the four adversarial patterns, made to defeat wear
 *                   leveling: hot-object, ping-pong, hammer-line, skewed
 *   gen_run.c       the emitter, the timeline of due frees and writes,
 *                   tr_gen_run and tr_gen_write
 *
 * One generator run is single-threaded and owns everything it touches.
 */
#ifndef PMARENA_TRACES_GEN_INTERNAL_H
#define PMARENA_TRACES_GEN_INTERNAL_H

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pmarena/gen.h"
#include "pmarena/trace.h"

/* Limits, so that a spec cannot ask for absurd memory: the generator keeps
 * every live object (and its pending writes) in DRAM. */
#define TR_GEN_MAX_EVENTS 1000000000000ull  /* 10^12 */
#define TR_GEN_MAX_LIVE 10000000ull         /* live objects, slots in all, queue depth */
#define TR_GEN_MAX_WRITES_PER_OBJECT 10000ull
#define TR_GEN_MAX_EMPIRICAL 1000000ull     /* sizes in an empirical histogram */
#define TR_GEN_MAX_SEED 4294967294ull       /* mt19937 takes 32 bits; we seed with seed + 1 */
#define TR_GEN_DEFAULT_MAX_SIZE ((uint64_t)1 << 30)  /* clamp of lognormal, exponential */

typedef enum tr_gen_pattern {
    TR_GEN_CHURN = 0, TR_GEN_PHASES, TR_GEN_PRODCONS, TR_GEN_LARSON, TR_GEN_HOTWRITES,
    TR_GEN_HOTOBJECT, TR_GEN_PINGPONG, TR_GEN_HAMMER, TR_GEN_SKEWED,
    TR_GEN_PATTERNS
} tr_gen_pattern;

typedef enum tr_gen_dist {
    TR_GEN_FIXED = 0, TR_GEN_UNIFORM, TR_GEN_LOGNORMAL, TR_GEN_EXPONENTIAL, TR_GEN_EMPIRICAL,
    TR_GEN_DISTS
} tr_gen_dist;

/* Object sizes in bytes. Continuous draws are rounded to the nearest integer,
 * then clamped to [min, max] (min >= 1). */
typedef struct tr_gen_size {
    tr_gen_dist dist;       /* any but none */
    uint64_t value;         /* fixed */
    uint64_t min, max;      /* uniform: the bounds; lognormal, exponential: the clamp */
    double mu, sigma;       /* lognormal: of the underlying normal */
    double mean;            /* exponential */
    size_t n;               /* empirical: sizes[n], weights[n] (owned) */
    uint64_t *sizes;
    double *weights;
    gsl_ran_discrete_t *table;  /* empirical: built by tr_gen_size_prepare */
} tr_gen_size;

/* Object lifetimes in allocation events (churn): exponential or fixed. */
typedef struct tr_gen_life {
    tr_gen_dist dist;       /* TR_GEN_EXPONENTIAL or TR_GEN_FIXED */
    double mean;            /* exponential */
    uint64_t window;        /* fixed */
} tr_gen_life;

/* A spec with every default and derived value filled in. Keys a pattern does
 * not use keep their zero value. */
typedef struct tr_gen_spec {
    tr_gen_pattern pattern;
    uint64_t seed;
    uint64_t events;        /* the budget (churn, producer-consumer, larson) */
    uint32_t threads;
    tr_gen_size size;
    tr_gen_life life;       /* churn */
    uint64_t live;          /* churn (= the mean lifetime), producer-consumer, hot-writes */
    uint64_t writes_per_object, write_len;
    bool free_at_end;
    uint64_t phases, peak_live;     /* phases */
    uint32_t producers;             /* producer-consumer */
    uint64_t slots;                 /* larson: per thread */
    double cross_free;              /* larson */
    double hot_fraction, zipf_s;    /* hot-writes */
    uint64_t writes;                /* hot-writes and the adversarial patterns but ping-pong */
    uint64_t objects;               /* hot-object (hot ones), ping-pong, skewed */
    double churn_rate;              /* hot-object: background allocations per hot write */
    uint64_t line;                  /* hammer-line: the line (64-byte index) of the object */
    double decoy_fraction;          /* hammer-line */
    uint64_t decoy_objects;         /* hammer-line */
    uint64_t lines;                 /* skewed: lines in all */
    double hot_lines;               /* skewed: share of the lines that is hot */
} tr_gen_spec;

/* The line the adversarial patterns aim at: 64 bytes, a cache line and the
 * device's wear unit. */
#define TR_GEN_LINE 64u

/* ---- gen_spec.c ----------------------------------------------------------- */

const char *tr_gen_pattern_name(tr_gen_pattern p);
/* Reads and validates; on success the caller frees with tr_gen_spec_free. */
int tr_gen_spec_read(tr_gen_spec *s, const json_t *spec, const char *key, tr_error *err);
void tr_gen_spec_free(tr_gen_spec *s);
json_t *tr_gen_spec_to_json(const tr_gen_spec *s);
/* Compact JSON text (malloc'd) with reals printed as short as round-trips. */
char *tr_gen_json_dumps(const json_t *v);

/* Message helpers shared with gen_dist.c. All return TR_ESEMANTIC. */
int tr_gen_fail(tr_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tr_gen_path(char *buf, size_t len, const char *key, const char *field);
void tr_gen_value_text(const json_t *v, char *buf, size_t len);
/* An integer in [lo, hi]; otherwise "PATH: V is not allowed (an integer from lo to hi)". */
int tr_gen_read_uint(const json_t *v, const char *path, uint64_t lo, uint64_t hi, uint64_t *out,
                     tr_error *err);
/* A number in [lo, hi] (lo excluded when lo_open); `allowed` is the text shown. */
int tr_gen_read_num(const json_t *v, const char *path, double lo, bool lo_open, double hi,
                    const char *allowed, double *out, tr_error *err);
/* Key `field` of spec as an integer / a number, if present (*given says;
 * given may be NULL); path built from key. */
int tr_gen_opt_uint(const json_t *spec, const char *key, const char *field, uint64_t lo, uint64_t hi,
                    uint64_t *out, bool *given, tr_error *err);
int tr_gen_opt_num(const json_t *spec, const char *key, const char *field, double lo, bool lo_open,
                   double hi, const char *allowed, double *out, bool *given, tr_error *err);
/* Refuses keys of obj not in names[0..n): "PATH.K: unknown key (allowed...)". */
int tr_gen_only_keys(const json_t *obj, const char *path, const char *what,
                     const char *const *names, size_t n, tr_error *err);

/* ---- gen_adv_spec.c ------------------------------------------------------- */

/* Reads the keys of an adversarial pattern (s->pattern) after the common
 * ones: 0 or TR_ESEMANTIC. */
int tr_gen_adv_read(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                    bool size_given, tr_error *err);
/* Adds the pattern's own keys to the resolved spec o (canonical order). */
void tr_gen_adv_to_json(const tr_gen_spec *s, json_t *o);

/* ---- gen_dist.c ----------------------------------------------------------- */

int tr_gen_size_read(tr_gen_size *s, const json_t *v, const char *path, tr_error *err);
json_t *tr_gen_size_to_json(const tr_gen_size *s);
int tr_gen_size_prepare(tr_gen_size *s);        /* 0 or TR_ENOMEM */
uint64_t tr_gen_size_draw(const tr_gen_size *s, gsl_rng *r);
void tr_gen_size_free(tr_gen_size *s);
/* The smallest size s can draw. */
uint64_t tr_gen_size_min(const tr_gen_size *s);

int tr_gen_life_read(tr_gen_life *l, const json_t *v, const char *path, tr_error *err);
json_t *tr_gen_life_to_json(const tr_gen_life *l);
double tr_gen_life_mean(const tr_gen_life *l);
uint64_t tr_gen_life_draw(const tr_gen_life *l, gsl_rng *r);   /* >= 1 */

/* Uniform in [0, n), n >= 1, for any n (gsl_rng_uniform_int stops at 2^32). */
uint64_t tr_gen_uniform(gsl_rng *r, uint64_t n);
/* A write inside an object of `size` bytes: len uniform in [1, min(size,
 * write_len)], offset uniform among the places where it fits. */
void tr_gen_write_range(gsl_rng *r, uint64_t size, uint64_t write_len, uint64_t *off, uint64_t *len);
/* gsl_ran_discrete over ranks 1..n with weights 1/k^s; NULL when out of memory. */
gsl_ran_discrete_t *tr_gen_zipf_table(size_t n, double s);

/* ---- gen_run.c: the emitter ------------------------------------------------ */

typedef struct tr_gen_ctx {
    const tr_gen_spec *spec;
    gsl_rng *rng;
    tr_gen_sink sink;
    void *sink_ctx;
    tr_gen_stats st;
    uint64_t next_id;               /* ids are 1, 2, 3, ... in allocation order */
    uint64_t live_objects, live_bytes;
} tr_gen_ctx;

/* Each returns the sink's code (0 to go on). */
int tr_gen_emit_alloc(tr_gen_ctx *c, uint32_t thread, uint64_t size, uint64_t *id);
int tr_gen_emit_free(tr_gen_ctx *c, uint32_t thread, uint64_t id, uint64_t size, uint32_t owner);
/* A write of a random range (tr_gen_write_range) of the object. */
int tr_gen_emit_write(tr_gen_ctx *c, uint32_t thread, uint64_t id, uint64_t size);
/* A write of exactly [off, off + len) (the caller keeps it inside the object). */
int tr_gen_emit_write_at(tr_gen_ctx *c, uint32_t thread, uint64_t id, uint64_t off, uint64_t len);

/* A timeline of frees and writes that fall due later (churn, phases): a
 * binary min-heap ordered by (time, insertion number). Zero-initialize. */
typedef struct tr_gen_tl_item {
    double t;
    uint64_t seq;
    uint64_t id, size;
    uint32_t thread;
    bool is_free;
} tr_gen_tl_item;

typedef struct tr_gen_timeline {
    tr_gen_tl_item *a;
    size_t n, cap;
    uint64_t seq;
} tr_gen_timeline;

/* Schedules the object's writes_per_object writes inside (now, death), then
 * its free at death (by `thread`): 0 or TR_ENOMEM. */
int tr_gen_tl_schedule(tr_gen_ctx *c, tr_gen_timeline *tl, double now, double death, uint64_t id,
                       uint64_t size, uint32_t thread);
/* Emits everything due at or before `until`, in order: 0 or the sink's code. */
int tr_gen_tl_drain(tr_gen_ctx *c, tr_gen_timeline *tl, double until);
void tr_gen_tl_free(tr_gen_timeline *tl);

/* ---- gen_patterns.c --------------------------------------------------------- */

/* A live object as the patterns keep it. */
typedef struct tr_gen_obj {
    uint64_t id, size;
    uint32_t thread;
} tr_gen_obj;

/* One of n threads, from `first` on; no draw when there is no choice. */
uint32_t tr_gen_pick_thread(tr_gen_ctx *c, uint32_t first, uint32_t n);
/* Allocates one object of a random size and, with_writes (when its life is
 * not known in advance), writes it writes_per_object times at once. */
int tr_gen_alloc_now(tr_gen_ctx *c, uint32_t thread, bool with_writes, uint64_t *id, uint64_t *size);

/* Runs c->spec's pattern through the emitter: 0, the sink's code, or TR_ENOMEM. */
int tr_gen_patterns_run(tr_gen_ctx *c);

/* ---- gen_adv.c ---------------------------------------------------------------- */

/* Runs an adversarial pattern (hot-object, ping-pong, hammer-line, skewed). */
int tr_gen_adv_run(tr_gen_ctx *c);

#endif
