/*
 * wear_stats.c - the wear statistics of a per-cell write-count vector (the
 * an_wear summary, quantiles, the Gini coefficient), all computed from one
 * count-of-counts table instead of a sorted copy of the cells.
 *
 * Why a table: a device has up to 2^28 cells (10^5..10^7 usually) and their
 * counts are integers with few distinct values; sorting 2^28 doubles takes
 * tens of seconds and 2 GiB, while the table takes one pass and, for the usual
 * counts (most cells low, a few hot metadata cells), a few KB.
 *
 * The table (an_table, internal.h): ascending distinct values val[i] with
 * their multiplicities w[i] (cells holding that count), as doubles, the form
 * GSL's weighted statistics take. Built in two passes over the counts:
 *   pass 1  total, max, cells touched, and the cells per bit length of their
 *           count (cls[L]: cells with 2^(L-1) <= c < 2^L, cls[0]: zeros);
 *   choice  a split 2^b: counts below d = min(2^b, max+1) go to a dense part
 *           (entry v is value v, weight = cells with count v, zeros kept),
 *           the `big` cells at or above it to a sorted part. b minimizes
 *           d + 4 big (a big cell costs a sort and a copy, a dense entry a
 *           zeroed slot), with d <= max(n/4, 4096);
 *   pass 2  w[c] += 1 for a dense count (w[0] comes from pass 1), else the
 *           count is copied behind the dense part; that part is sorted
 *           (gsl_sort, an in-place heapsort: no extra memory) and
 *           run-length compressed in place.
 * Measured at 2^24 cells: 15 ms all unwritten, 26 ms uniform 0..99, 35 ms
 * 90% unwritten with 1/4096 of the cells hot (10^6..10^8); the sort only
 * matters when very many cells hold distinct large counts (2^24 random
 * 32-bit counts: 7 s), which needs ~2^47 writes and no simulation makes.
 * Memory: 16 (d + big) bytes. It is at most max(n/2, 4096) entries (8 bytes
 * per cell, or 64 KB for small vectors) unless more than n/16 cells hold at
 * least n/8 writes each (a total of at least n^2/128 writes: 2^49 at 2^28
 * cells), since the split at 2^b ~ n/4 costs at most n/4 + 4 n/16. Time:
 * O(n + d + big log big).
 * Counts are exact in the table while below 2^53 (doubles).
 *
 * The statistics (over all n cells, i.e. the population):
 *   total, max, cells_touched  exact integers from pass 1 (gsl_stats_max on
 *           doubles could only round max);
 *   mean    gsl_stats_wmean(w, val);
 *   stddev  gsl_stats_wsd_with_fixed_mean(w, val, mean)
 *           = sqrt(sum_i w_i (x_i - mean)^2 / sum_i w_i): divided by n, the
 *           population form we want (gsl_stats_wsd would apply a bias
 *           correction for a sample);
 *   cov = stddev / mean, hotspot = max / mean, lifetime_fraction = mean / max;
 *   quantiles  GSL's definition, that of gsl_stats_quantile_from_sorted_data:
 *           with the values sorted x_0 <= ... <= x_{n-1}, index = f (n - 1),
 *           lhs = floor(index), delta = index - lhs, and
 *           Q(f) = x_lhs when lhs = n - 1, else (1 - delta) x_lhs + delta x_{lhs+1}.
 *           x_r is found by walking the cumulative weights, and the expression
 *           is GSL's own, so results are bit-identical (test_analysis checks
 *           it on random vectors). GSL truncates index with (int), we with
 *           size_t: the same below 2^31 cells;
 *   Gini    the mean-difference definition (Gini 1912)
 *               G = sum_i sum_j |x_i - x_j| / (2 n^2 mean),
 *           which on sorted values x_(1) <= ... <= x_(n) (1-based ranks) is
 *               G = sum_i (2i - n - 1) x_(i) / (n sum_i x_i)
 *                 = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n
 *           (Dixon, Weiner, Mitchell-Olds & Woodley, "Bootstrapping the Gini
 *           coefficient of inequality", Ecology 68(5):1548-1551, 1987;
 *           Damgaard & Weiner, Ecology 81(4):1139-1142, 2000). It is the
 *           population form, without the n/(n-1) sample correction: 0 when
 *           all cells are equal, (n-1)/n when one cell has every write. A run
 *           of m cells of value v at ranks r+1 .. r+m adds v m (2r + m - n),
 *           so the table gives it in O(entries), and equal cells add exactly
 *           0 (no cancellation between the two terms of the second form).
 *
 * Touched cells (an_wear_stats_touched): the same table with the weight of
 * value 0 set to 0 and n = cells touched, so every statistic above is taken
 * over the written cells only and does not move when a larger device adds
 * unwritten cells.
 *
 * Invariants: sum(w) == n; val strictly ascending over entries with w > 0;
 * the dense part has val[v] == v. Not thread-shared: each call builds its own.
 */
#include "pmarena/analysis.h"
#include "internal.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The dense part may always be this large (so small vectors are all dense). */
#define AN_DENSE_MIN 4096u
/* Relative cost of a big cell against a dense entry, in the split choice. */
#define AN_BIG_COST 4u

static unsigned bit_length(uint64_t c) { return c ? 64u - (unsigned)__builtin_clzll(c) : 0u; }

/* The dense size d for the cheapest split (see the file comment). */
static uint64_t choose_dense(const uint64_t cls[65], uint64_t n, uint64_t max, uint64_t *big_out)
{
    uint64_t cap = n / 4 > AN_DENSE_MIN ? n / 4 : AN_DENSE_MIN;
    uint64_t best_d = 1, best_big = n - cls[0], best_cost = UINT64_MAX;
    /* above[b] = cells with a count >= 2^b = cells of bit length > b. */
    uint64_t above = n - cls[0];
    for (unsigned b = 0; b < 64; b++) {
        uint64_t p = (uint64_t)1 << b;
        uint64_t d = max < p ? max + 1 : p;
        uint64_t big = max < p ? 0 : above;
        if (d > cap)
            break;
        uint64_t cost = d + AN_BIG_COST * big;
        if (cost < best_cost) {
            best_cost = cost;
            best_d = d;
            best_big = big;
        }
        if (max < p)
            break;
        above -= cls[b + 1];
    }
    *big_out = best_big;
    return best_d;
}

int an_table_build(an_table *t, const uint64_t *counts, size_t n)
{
    memset(t, 0, sizeof *t);
    /* Zeros, the most common count (unwritten cells), are counted in a
     * register: incrementing one memory slot cell after cell would chain
     * every iteration on a store-to-load forward. */
    uint64_t cls[65] = {0};
    uint64_t total = 0, max = 0, zeros = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = counts[i];
        total += c;
        max = c > max ? c : max;
        if (c)
            cls[bit_length(c)]++;
        else
            zeros++;
    }
    cls[0] = zeros;
    uint64_t big = 0;
    uint64_t d = choose_dense(cls, n, max, &big);
    uint64_t cap = d + big;
    if (cap > SIZE_MAX / sizeof(double))
        return AN_ENOMEM;
    t->val = malloc((size_t)cap * sizeof(double));
    t->w = calloc((size_t)cap, sizeof(double));
    if (!t->val || !t->w) {
        an_table_free(t);
        return AN_ENOMEM;
    }
    for (uint64_t v = 0; v < d; v++)
        t->val[v] = (double)v;
    double *w = t->w, *tail = t->val + d;
    w[0] = (double)zeros;       /* d >= 1: 0 is always in the dense part */
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = counts[i];
        if (c == 0)
            continue;
        if (c < d)
            w[c] += 1.0;
        else
            tail[j++] = (double)c;
    }
    /* j == big: pass 1 counted the same cells (c >= d iff c >= 2^b here). */
    size_t len = (size_t)d;
    if (j) {
        gsl_sort(tail, 1, j);
        for (size_t i = 0; i < j;) {
            double v = tail[i];
            size_t m = 0;
            while (i < j && tail[i] == v) {
                i++;
                m++;
            }
            t->val[len] = v;
            t->w[len] = (double)m;
            len++;
        }
    }
    t->len = len;
    t->n = n;
    t->total = total;
    t->max = max;
    t->touched = n - cls[0];
    return 0;
}

void an_table_free(an_table *t)
{
    free(t->val);
    free(t->w);
    t->val = t->w = NULL;
    t->len = 0;
}

/* The entry holding rank r (0-based, r < n) in sorted order; *end is the rank
 * one past that entry's run. */
static size_t entry_of_rank(const an_table *t, uint64_t r, uint64_t *end)
{
    uint64_t cum = 0;
    for (size_t i = 0; i < t->len; i++) {
        cum += (uint64_t)t->w[i];
        if (r < cum) {
            *end = cum;
            return i;
        }
    }
    *end = cum;           /* unreachable while sum(w) == n and r < n */
    return t->len - 1;
}

double an_table_quantile(const an_table *t, double f)
{
    /* Names and arithmetic as in GSL's statistics/quantiles_source.c. */
    const size_t n = (size_t)t->n;
    const double index = f * (n - 1);
    const size_t lhs = (size_t)index;
    const double delta = index - lhs;
    uint64_t end;
    size_t i = entry_of_rank(t, lhs, &end);
    const double a = t->val[i];
    if (lhs >= n - 1)
        return a;
    double b = a;
    if (lhs + 1 >= end) {
        size_t k = i + 1;
        while (k < t->len && t->w[k] == 0)
            k++;
        b = t->val[k < t->len ? k : i];
    }
    return (1 - delta) * a + delta * b;
}

double an_table_gini(const an_table *t)
{
    if (t->total == 0)
        return NAN;
    /* sum over runs of v m (2r + m - n); long double keeps the terms of a
     * large device (up to ~2^120) with 64 bits of mantissa. */
    long double s = 0;
    uint64_t r = 0;
    const long double n = (long double)t->n;
    for (size_t i = 0; i < t->len; i++) {
        if (t->w[i] == 0)
            continue;
        uint64_t m = (uint64_t)t->w[i];
        s += (long double)t->val[i] * (long double)m * ((long double)(2 * r + m) - n);
        r += m;
    }
    return (double)(s / (n * (long double)t->total));
}

int an_wear_stats(const uint64_t *counts, size_t n, an_wear *out)
{
    if (!counts || n == 0 || !out)
        return AN_EINVAL;
    an_table t;
    int rc = an_table_build(&t, counts, n);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->cells = n;
    out->total = t.total;
    out->max = t.max;
    out->cells_touched = t.touched;
    out->mean = gsl_stats_wmean(t.w, 1, t.val, 1, t.len);
    out->stddev = gsl_stats_wsd_with_fixed_mean(t.w, 1, t.val, 1, t.len, out->mean);
    out->cov = out->mean > 0 ? out->stddev / out->mean : NAN;
    out->p50 = an_table_quantile(&t, 0.5);
    out->p90 = an_table_quantile(&t, 0.9);
    out->p99 = an_table_quantile(&t, 0.99);
    out->p999 = an_table_quantile(&t, 0.999);
    out->gini = an_table_gini(&t);
    if (t.total > 0) {
        out->hotspot = (double)t.max / out->mean;
        out->lifetime_fraction = out->mean / (double)t.max;
    } else {
        out->hotspot = NAN;
        out->lifetime_fraction = NAN;
    }
    an_table_free(&t);
    return 0;
}

/* The same statistics over the touched cells only: the table with its zero
 * entry emptied (weight 0, which every walk above skips) and n = touched. */
int an_wear_stats_touched(const uint64_t *counts, size_t n, an_wear *out)
{
    if (!counts || n == 0 || !out)
        return AN_EINVAL;
    an_table t;
    int rc = an_table_build(&t, counts, n);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->cells = t.touched;
    out->total = t.total;
    out->max = t.max;
    out->cells_touched = t.touched;
    if (t.touched == 0) {
        out->mean = out->stddev = out->cov = NAN;
        out->p50 = out->p90 = out->p99 = out->p999 = NAN;
        out->gini = out->hotspot = out->lifetime_fraction = NAN;
        an_table_free(&t);
        return 0;
    }
    t.w[0] = 0;           /* val[0] == 0 always (the dense part starts at 0) */
    t.n = t.touched;
    out->mean = gsl_stats_wmean(t.w, 1, t.val, 1, t.len);
    out->stddev = gsl_stats_wsd_with_fixed_mean(t.w, 1, t.val, 1, t.len, out->mean);
    out->cov = out->stddev / out->mean;
    out->p50 = an_table_quantile(&t, 0.5);
    out->p90 = an_table_quantile(&t, 0.9);
    out->p99 = an_table_quantile(&t, 0.99);
    out->p999 = an_table_quantile(&t, 0.999);
    out->gini = an_table_gini(&t);
    out->hotspot = (double)t.max / out->mean;
    out->lifetime_fraction = out->mean / (double)t.max;
    an_table_free(&t);
    return 0;
}

int an_quantiles(const uint64_t *counts, size_t n, const double *f, size_t nf, double *out)
{
    if (!counts || n == 0 || (nf && (!f || !out)))
        return AN_EINVAL;
    for (size_t i = 0; i < nf; i++)
        if (!(f[i] >= 0 && f[i] <= 1))
            return AN_EINVAL;
    an_table t;
    int rc = an_table_build(&t, counts, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < nf; i++)
        out[i] = an_table_quantile(&t, f[i]);
    an_table_free(&t);
    return 0;
}

double an_gini(const uint64_t *counts, size_t n)
{
    if (!counts || n == 0)
        return NAN;
    an_table t;
    if (an_table_build(&t, counts, n) != 0)
        return NAN;
    double g = an_table_gini(&t);
    an_table_free(&t);
    return g;
}
