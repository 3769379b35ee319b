/*
 * gen.h - synthetic allocation traces, generated from a seeded JSON spec.
 *
 * A spec is a JSON object such as
 *   {"pattern": "churn", "seed": 7, "events": 1000000,
 *    "size": {"dist": "lognormal", "mu": 4.0, "sigma": 1.0}, "live": 5000}
 * (every key, default and pattern in traces/GENERATORS.md). The same spec
 * gives the same events, and tr_gen_write the same bytes, on every run: all
 * randomness comes from one GSL mt19937 generator seeded with "seed", drawn in
 * a fixed order.
 *
 * Every generated trace is valid: each id is allocated once, frees and writes
 * name live ids only, writes lie within [0, size) of their object, and thread
 * ids are below "threads".
 *
 * Spec errors: every function refuses an unknown key, a key another pattern
 * uses, a wrong type or an impossible value with TR_ESEMANTIC and a tr_error
 * whose msg names the key path, the value and what is allowed, e.g.
 *   trace.gen.size.dist: "normal" is not allowed (one of: fixed, uniform,
 *   lognormal, exponential, empirical)
 * (its file is empty and line and column 0: the spec is not a file). `key` is
 * the path of the spec in the caller's document ("trace.gen"); "" gives bare
 * paths ("size.dist"). Errors while writing name the output file.
 *
 * Not thread-safe per call, but calls share no state: run as many at once as
 * you like.
 */
#ifndef PMARENA_GEN_H
#define PMARENA_GEN_H

#include <stdint.h>

#include "pmarena/trace.h"

/* Specs are Jansson values; the header names the type without including
 * jansson.h (callers that build specs include it themselves). */
struct json_t;

#ifdef __cplusplus
extern "C" {
#endif

/* What a run produced; filled by tr_gen_run and tr_gen_write_stats. */
typedef struct tr_gen_stats {
    uint64_t events;             /* all events, header excluded */
    uint64_t allocs, frees, writes;
    uint64_t cross_thread_frees; /* frees on another thread than their alloc */
    uint64_t peak_live_objects;
    uint64_t peak_live_bytes;    /* the most requested bytes live at once */
    uint64_t end_live_objects;   /* left live at the end (free_at_end false) */
    uint32_t threads;
} tr_gen_stats;

/* Receives each event in order; a nonzero return stops the run and is
 * returned by tr_gen_run. */
typedef int (*tr_gen_sink)(void *ctx, const tr_event *e);

/* Validates spec without generating anything: 0 or TR_ESEMANTIC. */
int tr_gen_check(const struct json_t *spec, const char *key, tr_error *err);

/* The resolved spec (every default filled in, keys in canonical order) as a
 * new JSON object in *out; feeding it back gives the same trace. */
int tr_gen_resolve(const struct json_t *spec, const char *key, struct json_t **out, tr_error *err);

/* Generates the events into sink (no file): for replaying a generated trace
 * directly, and for tests. stats may be NULL. */
int tr_gen_run(const struct json_t *spec, const char *key, tr_gen_sink sink, void *ctx,
               tr_gen_stats *stats, tr_error *err);

/* Generates the trace into out_path through tr_writer (JSON Lines; gzip when
 * the path ends in .gz; atomic: on any error nothing is left under out_path
 * or its temp name). The header's "threads" is the spec's, its "source" the
 * compact JSON of the resolved spec. */
int tr_gen_write(const struct json_t *spec, const char *key, const char *out_path, tr_error *err);
/* The same, also filling stats (may be NULL). */
int tr_gen_write_stats(const struct json_t *spec, const char *key, const char *out_path,
                       tr_gen_stats *stats, tr_error *err);

/* ---- the command line's short forms of spec values (gen_text.c) ------------ */

/* A number: a JSON integer when the text is one, else a real; NULL if neither. */
struct json_t *tr_gen_number_text(const char *text);
/* A size distribution: fixed:V, uniform:MIN:MAX, lognormal:MU:SIGMA[:MIN:MAX],
 * exponential:MEAN[:MIN:MAX], empirical:SIZE=WEIGHT,... or empirical:SIZE,...
 * as its spec object. NULL when a part is not a number or there are too many;
 * an unknown kind gives {"dist": kind}, for tr_gen_check to refuse with the
 * allowed ones. */
struct json_t *tr_gen_size_text(const char *text);
/* A lifetime: exponential:MEAN or fixed:WINDOW, likewise. */
struct json_t *tr_gen_lifetime_text(const char *text);
/* Sets the dotted key path (e.g. "size.max") of spec to value (a new
 * reference, taken over even on failure), making the objects on the way.
 * 0, or -1 when the path has no key in it. */
int tr_gen_set_path(struct json_t *spec, const char *path, struct json_t *value);

#ifdef __cplusplus
}
#endif
#endif
