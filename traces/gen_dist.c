/*
 * gen_dist.c - the generator's random quantities: object sizes, lifetimes,
 * Zipf ranks and write ranges, all drawn with GSL from the run's one mt19937.
 *
 * Sizes ("size" in a spec):
 *   fixed        {"value": V}
 *   uniform      {"min": A, "max": B}        integers A..B, each equally likely
 *   lognormal    {"mu", "sigma", "min" 1, "max" 1GiB}
 *   exponential  {"mean", "min" 1, "max" 1GiB}
 *   empirical    {"sizes": [...], "weights": [...]}  (weights default equal)
 * Continuous draws are rounded to the nearest integer, then clamped to
 * [min, max]; min >= 1, so no size is ever 0. Rounding to nearest keeps the
 * mean (floor would lose half a byte, ceil add one): the tests compare sample
 * means with the distribution's.
 *
 * Lifetimes ("lifetime", churn), in allocation events:
 *   exponential  {"mean": M}    rounded to nearest, at least 1
 *   fixed        {"window": W}  every object lives exactly W allocations
 *
 * GSL has no Zipf sampler: ranks 1..n get weights 1/k^s in a gsl_ran_discrete
 * table (Walker's alias method: O(1) per draw after O(n) setup). Empirical
 * histograms use the same table.
 *
 * GSL's error handler aborts on bad arguments, so everything passed to GSL is
 * validated here first (n >= 1, weights >= 0 with a positive sum, ranges
 * within what gsl_rng_uniform_int takes).
 */
#include "gen_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dist_names[TR_GEN_DISTS] = {"fixed", "uniform", "lognormal", "exponential",
                                                     "empirical"};
#define SIZE_DIST_LIST "fixed, uniform, lognormal, exponential, empirical"

/* ---- reading ------------------------------------------------------------------ */

/* obj.field must be present. */
static const json_t *need(const json_t *obj, const char *path, const char *field, const char *allowed,
                          char *fpath, size_t fpath_len, tr_error *err)
{
    tr_gen_path(fpath, fpath_len, path, field);
    const json_t *v = json_object_get(obj, field);
    if (!v)
        tr_gen_fail(err, "%s: missing (%s)", fpath, allowed);
    return v;
}

static int read_dist_name(const json_t *obj, const char *path, const char *const *names,
                          const int *kinds, int n, const char *list, tr_gen_dist *out, tr_error *err)
{
    char p[256], shown[96];
    tr_gen_path(p, sizeof p, path, "dist");
    const json_t *v = json_object_get(obj, "dist");
    if (!v)
        return tr_gen_fail(err, "%s: missing (one of: %s)", p, list);
    for (int i = 0; i < n; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), names[kinds[i]]) == 0) {
            *out = (tr_gen_dist)kinds[i];
            return 0;
        }
    }
    tr_gen_value_text(v, shown, sizeof shown);
    return tr_gen_fail(err, "%s: %s is not allowed (one of: %s)", p, shown, list);
}

#define SIZE_ALLOWED "an integer from 1 to 1099511627776"

/* min and max of a clamp (optional, with defaults) or of uniform (required). */
static int read_bounds(tr_gen_size *s, const json_t *obj, const char *path, bool required, tr_error *err)
{
    char p[256];
    const char *names[2] = {"min", "max"};
    uint64_t *out[2] = {&s->min, &s->max};
    for (int i = 0; i < 2; i++) {
        const json_t *v = required ? need(obj, path, names[i], SIZE_ALLOWED, p, sizeof p, err)
                                   : json_object_get(obj, names[i]);
        if (!v) {
            if (required)
                return TR_ESEMANTIC;
            continue;
        }
        tr_gen_path(p, sizeof p, path, names[i]);
        int rc = tr_gen_read_uint(v, p, 1, TR_MAX_SIZE, out[i], err);
        if (rc)
            return rc;
    }
    if (s->min > s->max) {
        tr_gen_path(p, sizeof p, path, "max");
        return tr_gen_fail(err, "%s: %llu is not allowed (at least min, %llu)", p,
                           (unsigned long long)s->max, (unsigned long long)s->min);
    }
    return 0;
}

static int read_empirical(tr_gen_size *s, const json_t *obj, const char *path, tr_error *err)
{
    char p[256], shown[96];
    const json_t *sizes = need(obj, path, "sizes", "an array of sizes in bytes", p, sizeof p, err);
    if (!sizes)
        return TR_ESEMANTIC;
    size_t n = json_is_array(sizes) ? json_array_size(sizes) : 0;
    if (n == 0 || n > TR_GEN_MAX_EMPIRICAL) {
        tr_gen_value_text(sizes, shown, sizeof shown);
        return tr_gen_fail(err, "%s: %s is not allowed (an array of 1 to %llu sizes, each %s)", p, shown,
                           (unsigned long long)TR_GEN_MAX_EMPIRICAL, SIZE_ALLOWED);
    }
    s->sizes = malloc(n * sizeof *s->sizes);
    s->weights = malloc(n * sizeof *s->weights);
    if (!s->sizes || !s->weights) {
        tr_error_set(err, "", 0, 0, "out of memory");
        return TR_ENOMEM;
    }
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        char ip[280];
        snprintf(ip, sizeof ip, "%s[%zu]", p, i);
        int rc = tr_gen_read_uint(json_array_get(sizes, i), ip, 1, TR_MAX_SIZE, &s->sizes[i], err);
        if (rc)
            return rc;
        s->weights[i] = 1.0;
    }
    tr_gen_path(p, sizeof p, path, "weights");
    const json_t *w = json_object_get(obj, "weights");
    if (!w)
        return 0;
    if (!json_is_array(w) || json_array_size(w) != n) {
        tr_gen_value_text(w, shown, sizeof shown);
        return tr_gen_fail(err, "%s: %s is not allowed (an array of %zu numbers >= 0, one per size)", p,
                           shown, n);
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        char ip[280];
        snprintf(ip, sizeof ip, "%s[%zu]", p, i);
        int rc = tr_gen_read_num(json_array_get(w, i), ip, 0, false, 1e300, "a number >= 0",
                                 &s->weights[i], err);
        if (rc)
            return rc;
        sum += s->weights[i];
    }
    if (!(sum > 0) || !isfinite(sum)) {
        tr_gen_value_text(w, shown, sizeof shown);
        return tr_gen_fail(err, "%s: %s is not allowed (numbers >= 0 with a positive, finite sum)", p, shown);
    }
    return 0;
}

int tr_gen_size_read(tr_gen_size *s, const json_t *v, const char *path, tr_error *err)
{
    static const int kinds[] = {TR_GEN_FIXED, TR_GEN_UNIFORM, TR_GEN_LOGNORMAL, TR_GEN_EXPONENTIAL,
                                TR_GEN_EMPIRICAL};
    static const char *const keys[TR_GEN_DISTS][5] = {
        {"dist", "value"},
        {"dist", "min", "max"},
        {"dist", "mu", "sigma", "min", "max"},
        {"dist", "mean", "min", "max"},
        {"dist", "sizes", "weights"},
    };
    static const size_t nkeys[TR_GEN_DISTS] = {2, 3, 5, 4, 3};
    char p[256], shown[96], what[40];
    int rc;
    memset(s, 0, sizeof *s);
    /* "size": 64 is short for {"dist": "fixed", "value": 64}. */
    if (json_is_integer(v)) {
        s->dist = TR_GEN_FIXED;
        return tr_gen_read_uint(v, path, 1, TR_MAX_SIZE, &s->value, err);
    }
    if (!json_is_object(v)) {
        tr_gen_value_text(v, shown, sizeof shown);
        return tr_gen_fail(err, "%s: %s is not allowed (a size in bytes, or an object such as "
                           "{\"dist\": \"uniform\", \"min\": 16, \"max\": 512})", path, shown);
    }
    if ((rc = read_dist_name(v, path, dist_names, kinds, 5, SIZE_DIST_LIST, &s->dist, err)))
        return rc;
    snprintf(what, sizeof what, "for dist %s", dist_names[s->dist]);
    if ((rc = tr_gen_only_keys(v, path, what, keys[s->dist], nkeys[s->dist], err)))
        return rc;
    const json_t *x;
    s->min = 1;
    s->max = TR_GEN_DEFAULT_MAX_SIZE;
    switch (s->dist) {
    case TR_GEN_FIXED:
        if (!(x = need(v, path, "value", SIZE_ALLOWED, p, sizeof p, err)))
            return TR_ESEMANTIC;
        return tr_gen_read_uint(x, p, 1, TR_MAX_SIZE, &s->value, err);
    case TR_GEN_UNIFORM:
        return read_bounds(s, v, path, true, err);
    case TR_GEN_LOGNORMAL:
        if (!(x = need(v, path, "mu", "a number from -50 to 50", p, sizeof p, err)) ||
            (rc = tr_gen_read_num(x, p, -50, false, 50, "a number from -50 to 50", &s->mu, err)))
            return x ? rc : TR_ESEMANTIC;
        if (!(x = need(v, path, "sigma", "a number > 0 and at most 20", p, sizeof p, err)) ||
            (rc = tr_gen_read_num(x, p, 0, true, 20, "a number > 0 and at most 20", &s->sigma, err)))
            return x ? rc : TR_ESEMANTIC;
        return read_bounds(s, v, path, false, err);
    case TR_GEN_EXPONENTIAL:
        if (!(x = need(v, path, "mean", "a number > 0 and at most 1099511627776", p, sizeof p, err)) ||
            (rc = tr_gen_read_num(x, p, 0, true, (double)TR_MAX_SIZE,
                                  "a number > 0 and at most 1099511627776", &s->mean, err)))
            return x ? rc : TR_ESEMANTIC;
        return read_bounds(s, v, path, false, err);
    default:
        return read_empirical(s, v, path, err);
    }
}

json_t *tr_gen_size_to_json(const tr_gen_size *s)
{
    json_t *o = json_pack("{s:s}", "dist", dist_names[s->dist]);
    if (!o)
        return NULL;
    switch (s->dist) {
    case TR_GEN_FIXED:
        json_object_set_new(o, "value", json_integer((json_int_t)s->value));
        return o;
    case TR_GEN_LOGNORMAL:
        json_object_set_new(o, "mu", json_real(s->mu));
        json_object_set_new(o, "sigma", json_real(s->sigma));
        break;
    case TR_GEN_EXPONENTIAL:
        json_object_set_new(o, "mean", json_real(s->mean));
        break;
    case TR_GEN_EMPIRICAL: {
        json_t *sz = json_array(), *w = json_array();
        for (size_t i = 0; i < s->n; i++) {
            json_array_append_new(sz, json_integer((json_int_t)s->sizes[i]));
            json_array_append_new(w, json_real(s->weights[i]));
        }
        json_object_set_new(o, "sizes", sz);
        json_object_set_new(o, "weights", w);
        return o;
    }
    default:
        break;
    }
    json_object_set_new(o, "min", json_integer((json_int_t)s->min));
    json_object_set_new(o, "max", json_integer((json_int_t)s->max));
    return o;
}

int tr_gen_life_read(tr_gen_life *l, const json_t *v, const char *path, tr_error *err)
{
    static const int kinds[] = {TR_GEN_EXPONENTIAL, TR_GEN_FIXED};
    static const char *const exp_keys[] = {"dist", "mean"}, *const fixed_keys[] = {"dist", "window"};
    char p[256], shown[96];
    int rc;
    memset(l, 0, sizeof *l);
    if (!json_is_object(v)) {
        tr_gen_value_text(v, shown, sizeof shown);
        return tr_gen_fail(err, "%s: %s is not allowed (an object such as {\"dist\": \"exponential\", "
                           "\"mean\": 1000})", path, shown);
    }
    if ((rc = read_dist_name(v, path, dist_names, kinds, 2, "exponential, fixed", &l->dist, err)))
        return rc;
    const json_t *x;
    if (l->dist == TR_GEN_EXPONENTIAL) {
        if ((rc = tr_gen_only_keys(v, path, "for dist exponential", exp_keys, 2, err)))
            return rc;
        if (!(x = need(v, path, "mean", "a number of allocations > 0 and at most 10000000", p, sizeof p, err)))
            return TR_ESEMANTIC;
        return tr_gen_read_num(x, p, 0, true, (double)TR_GEN_MAX_LIVE,
                               "a number of allocations > 0 and at most 10000000", &l->mean, err);
    }
    if ((rc = tr_gen_only_keys(v, path, "for dist fixed", fixed_keys, 2, err)))
        return rc;
    if (!(x = need(v, path, "window", "an integer from 1 to 10000000", p, sizeof p, err)))
        return TR_ESEMANTIC;
    return tr_gen_read_uint(x, p, 1, TR_GEN_MAX_LIVE, &l->window, err);
}

json_t *tr_gen_life_to_json(const tr_gen_life *l)
{
    if (l->dist == TR_GEN_FIXED)
        return json_pack("{s:s, s:I}", "dist", "fixed", "window", (json_int_t)l->window);
    return json_pack("{s:s, s:f}", "dist", "exponential", "mean", l->mean);
}

double tr_gen_life_mean(const tr_gen_life *l)
{
    return l->dist == TR_GEN_FIXED ? (double)l->window : l->mean;
}

/* ---- drawing ------------------------------------------------------------------ */

int tr_gen_size_prepare(tr_gen_size *s)
{
    if (s->dist != TR_GEN_EMPIRICAL || s->table)
        return 0;
    s->table = gsl_ran_discrete_preproc(s->n, s->weights);
    return s->table ? 0 : TR_ENOMEM;
}

/* x rounded to the nearest integer, clamped to [min, max]. */
static uint64_t round_clamp(double x, uint64_t min, uint64_t max)
{
    if (!(x < (double)max))     /* also NaN, and anything too big for uint64 */
        return max;
    double r = floor(x + 0.5);
    uint64_t v = r > 0 ? (uint64_t)r : 0;
    return v < min ? min : v > max ? max : v;
}

uint64_t tr_gen_size_draw(const tr_gen_size *s, gsl_rng *r)
{
    switch (s->dist) {
    case TR_GEN_FIXED:
        return s->value;
    case TR_GEN_UNIFORM:
        /* Integers, so an integer draw (gsl_rng_uniform_int, via
         * tr_gen_uniform) rather than the floor of gsl_ran_flat: that one has
         * 32 bits of resolution and would skip sizes on ranges above 4 GiB. */
        return s->min + tr_gen_uniform(r, s->max - s->min + 1);
    case TR_GEN_LOGNORMAL:
        return round_clamp(gsl_ran_lognormal(r, s->mu, s->sigma), s->min, s->max);
    case TR_GEN_EXPONENTIAL:
        return round_clamp(gsl_ran_exponential(r, s->mean), s->min, s->max);
    default:
        return s->sizes[gsl_ran_discrete(r, s->table)];
    }
}

void tr_gen_size_free(tr_gen_size *s)
{
    free(s->sizes);
    free(s->weights);
    if (s->table)
        gsl_ran_discrete_free(s->table);
    s->sizes = NULL;
    s->weights = NULL;
    s->table = NULL;
    s->n = 0;
}

uint64_t tr_gen_size_min(const tr_gen_size *s)
{
    switch (s->dist) {
    case TR_GEN_FIXED:
        return s->value;
    case TR_GEN_EMPIRICAL: {
        uint64_t m = UINT64_MAX;
        for (size_t i = 0; i < s->n; i++)
            if (s->weights[i] > 0 && s->sizes[i] < m)
                m = s->sizes[i];
        return m;
    }
    default:
        return s->min;
    }
}

uint64_t tr_gen_life_draw(const tr_gen_life *l, gsl_rng *r)
{
    if (l->dist == TR_GEN_FIXED)
        return l->window;
    double x = floor(gsl_ran_exponential(r, l->mean) + 0.5);
    return x >= 1 ? (uint64_t)x : 1;
}

uint64_t tr_gen_uniform(gsl_rng *r, uint64_t n)
{
    /* mt19937 gives 32 bits: gsl_rng_uniform_int takes n up to 2^32 - 1. */
    if (n <= 0xffffffffull)
        return n <= 1 ? 0 : gsl_rng_uniform_int(r, (unsigned long)n);
    /* Two draws make 64 bits; reject the top partial block so every value
     * in [0, n) is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t x = ((uint64_t)gsl_rng_get(r) << 32) | (uint64_t)gsl_rng_get(r);
        if (x < limit)
            return x % n;
    }
}

void tr_gen_write_range(gsl_rng *r, uint64_t size, uint64_t write_len, uint64_t *off, uint64_t *len)
{
    uint64_t most = size < write_len ? size : write_len;
    *len = 1 + tr_gen_uniform(r, most);
    *off = tr_gen_uniform(r, size - *len + 1);
}

gsl_ran_discrete_t *tr_gen_zipf_table(size_t n, double s)
{
    double *w = malloc(n * sizeof *w);
    if (!w)
        return NULL;
    for (size_t k = 0; k < n; k++)
        w[k] = pow((double)(k + 1), -s);
    gsl_ran_discrete_t *t = gsl_ran_discrete_preproc(n, w);
    free(w);
    return t;
}
