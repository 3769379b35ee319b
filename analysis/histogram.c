/*
 * histogram.c - where the writes went, as files: the distribution of
 * per-cell counts (wear_hist.csv) and their spread over the address space
 * (heat.csv). Formats in analysis.h.
 *
 * wear_hist.csv. Two gsl_histograms of the cells by count, filled from the
 * count-of-counts table (wear_stats.c) with gsl_histogram_accumulate(value,
 * cells of that value), so binning is GSL's and costs O(distinct values), not
 * O(cells), after the table's one pass:
 *   linear  nb = min(nbins, max + 1) equal bins over [0, max + 1)
 *           (gsl_histogram_set_ranges_uniform). Clamping nb makes every bin at
 *           least one count wide, so no bin is empty merely for being narrower
 *           than the integers it spans; edges may be fractional
 *           (max + 1 = 10 over 4 bins: 0, 2.5, 5, 7.5, 10).
 *   log2    ranges {0, 1, 2, 4, ..., 2^K} (gsl_histogram_set_ranges), K the
 *           bit length of max: bin 0 = [0, 1) holds the unwritten cells, bin
 *           k >= 1 = [2^(k-1), 2^k) the cells written 2^(k-1) .. 2^k - 1
 *           times. Readable over the many orders of magnitude between data
 *           cells and hot metadata cells.
 * Edges and cells are exact while counts are below 2^53.
 *
 * heat.csv. The n cells, in address order, folded into R = rows * cols
 * regions: region r covers cells [floor(r n / R), floor((r + 1) n / R)), so
 * sizes differ by at most one cell and every cell is in exactly one region
 * (the writes column sums to the total). Sums are exact uint64; r n is
 * computed in 128 bits.
 *
 * Both files are written atomically (files.c).
 */
#include "pmarena/analysis.h"
#include "internal.h"

#include <gsl/gsl_histogram.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

static void put_row(FILE *f, const char *scale, double lo, double hi, double cells)
{
    char a[32], b[32];
    an_fmt_double(a, sizeof a, lo);
    an_fmt_double(b, sizeof b, hi);
    fprintf(f, "%s,%s,%s,%.0f\n", scale, a, b, cells);
}

static void put_hist(FILE *f, const char *scale, const gsl_histogram *h)
{
    for (size_t i = 0; i < gsl_histogram_bins(h); i++) {
        double lo, hi;
        gsl_histogram_get_range(h, i, &lo, &hi);
        put_row(f, scale, lo, hi, gsl_histogram_get(h, i));
    }
}

static void fill(gsl_histogram *h, const an_table *t)
{
    for (size_t i = 0; i < t->len; i++)
        if (t->w[i] > 0)
            gsl_histogram_accumulate(h, t->val[i], t->w[i]);
}

/* The two histograms of t; *lin and *lg are NULL on AN_ENOMEM. */
static int make_hists(const an_table *t, size_t nbins, gsl_histogram **lin, gsl_histogram **lg)
{
    double top = (double)t->max + 1.0;
    size_t nb = nbins;
    if ((double)nb > top)
        nb = (size_t)top;
    unsigned k = 0;
    while (k < 64 && (t->max >> k) != 0)
        k++;
    /* gsl_histogram_alloc and _set_ranges call GSL's error handler (abort by
     * default) on bad sizes or ranges: nb >= 1 and ranges ascend here. */
    *lin = gsl_histogram_alloc(nb);
    *lg = gsl_histogram_alloc(k + 1);
    if (!*lin || !*lg) {
        if (*lin)
            gsl_histogram_free(*lin);
        if (*lg)
            gsl_histogram_free(*lg);
        *lin = *lg = NULL;
        return AN_ENOMEM;
    }
    gsl_histogram_set_ranges_uniform(*lin, 0.0, top);
    double range[66];
    range[0] = 0.0;
    for (unsigned i = 1; i <= k + 1; i++)
        range[i] = ldexp(1.0, (int)i - 1);
    gsl_histogram_set_ranges(*lg, range, k + 2);
    fill(*lin, t);
    fill(*lg, t);
    return 0;
}

int an_histogram_csv(const uint64_t *counts, size_t n, size_t nbins, const char *path)
{
    if (!counts || n == 0 || nbins == 0 || !path)
        return AN_EINVAL;
    an_table t;
    int rc = an_table_build(&t, counts, n);
    if (rc)
        return rc;
    gsl_histogram *lin, *lg;
    rc = make_hists(&t, nbins, &lin, &lg);
    an_table_free(&t);
    if (rc)
        return rc;
    an_file af;
    rc = an_file_open(&af, path);
    if (rc == 0) {
        fputs("scale,bin_lo,bin_hi,cells\n", af.f);
        put_hist(af.f, "linear", lin);
        put_hist(af.f, "log2", lg);
        rc = an_file_commit(&af);
    }
    gsl_histogram_free(lin);
    gsl_histogram_free(lg);
    return rc;
}

int an_heatmap_csv(const uint64_t *counts, size_t n, unsigned rows, unsigned cols, const char *path)
{
    if ((!counts && n) || rows == 0 || cols == 0 || !path)
        return AN_EINVAL;
    uint64_t regions = (uint64_t)rows * cols;
    an_file af;
    int rc = an_file_open(&af, path);
    if (rc)
        return rc;
    fputs("row,col,writes\n", af.f);
    size_t begin = 0;
    for (uint64_t r = 0; r < regions; r++) {
        size_t end = (size_t)((unsigned __int128)(r + 1) * n / regions);
        uint64_t sum = 0;
        for (size_t i = begin; i < end; i++)
            sum += counts[i];
        fprintf(af.f, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", r / cols, r % cols, sum);
        begin = end;
    }
    return an_file_commit(&af);
}
