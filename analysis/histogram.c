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
 * heat_kinds.csv. The same regions labelled by the source (data, bitmap,
 * header, ...) with the most writes in each, merged into runs in address
 * order, so a plot can name the regions of the folded map.
 *
 * Every file is written atomically (files.c) through the CSV writer (csv.c).
 */
#include "pmarena/analysis.h"
#include "internal.h"

#include <gsl/gsl_histogram.h>
#include <math.h>
#include <stdlib.h>

static void put_hist(an_csv *c, const char *scale, const gsl_histogram *h)
{
    for (size_t i = 0; i < gsl_histogram_bins(h); i++) {
        double lo, hi;
        gsl_histogram_get_range(h, i, &lo, &hi);
        an_csv_str(c, scale);
        an_csv_double(c, lo);
        an_csv_double(c, hi);
        an_csv_u64(c, (uint64_t)gsl_histogram_get(h, i));   /* a whole number of cells */
        an_csv_end(c);
    }
}

/* One past the last cell of region r of R over n cells: floor((r + 1) n / R). */
static size_t region_end(uint64_t r, size_t n, uint64_t regions)
{
    return (size_t)((unsigned __int128)(r + 1) * n / regions);
}

/* The kind with the most writes in region r (the first on a tie), k when the
 * region has none. */
static size_t dominant(const uint64_t *const *folded, size_t k, uint64_t r)
{
    size_t best = k;
    uint64_t most = 0;
    for (size_t j = 0; j < k; j++)
        if (folded[j][r] > most) {
            most = folded[j][r];
            best = j;
        }
    return best;
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
        an_csv c;
        an_csv_begin(&c, af.f);
        an_csv_row(&c, (const char *[]){"scale", "bin_lo", "bin_hi", "cells"}, 4);
        put_hist(&c, "linear", lin);
        put_hist(&c, "log2", lg);
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
    uint64_t *sum = malloc(regions * sizeof *sum);
    if (!sum)
        return AN_ENOMEM;
    an_heat_fold(counts, n, regions, sum);
    an_file af;
    int rc = an_file_open(&af, path);
    if (rc == 0) {
        an_csv c;
        an_csv_begin(&c, af.f);
        an_csv_row(&c, (const char *[]){"row", "col", "writes"}, 3);
        for (uint64_t r = 0; r < regions; r++) {
            an_csv_u64(&c, r / cols);
            an_csv_u64(&c, r % cols);
            an_csv_u64(&c, sum[r]);
            an_csv_end(&c);
        }
        rc = an_file_commit(&af);
    }
    free(sum);
    return rc;
}

int an_heat_fold(const uint64_t *counts, size_t n, uint64_t regions, uint64_t *out)
{
    if ((!counts && n) || regions == 0 || !out)
        return AN_EINVAL;
    size_t begin = 0;
    for (uint64_t r = 0; r < regions; r++) {
        size_t end = region_end(r, n, regions);
        uint64_t sum = 0;
        for (size_t i = begin; i < end; i++)
            sum += counts[i];
        out[r] = sum;
        begin = end;
    }
    return 0;
}

int an_heat_kinds_csv(const char *const *names, const uint64_t *const *folded, size_t k, size_t n,
                      unsigned rows, unsigned cols, const char *path)
{
    if (!names || !folded || k == 0 || rows == 0 || cols == 0 || !path)
        return AN_EINVAL;
    for (size_t j = 0; j < k; j++)
        if (!names[j] || !folded[j])
            return AN_EINVAL;
    uint64_t regions = (uint64_t)rows * cols;
    an_file af;
    int rc = an_file_open(&af, path);
    if (rc)
        return rc;
    an_csv c;
    an_csv_begin(&c, af.f);
    an_csv_row(&c, (const char *[]){"kind", "first_row", "first_col", "regions", "first_cell", "end_cell",
                                    "writes"}, 7);
    /* Runs of regions with the same dominant kind, in address order; a
     * region without writes ends a run and starts none. */
    uint64_t r = 0;
    while (r < regions) {
        size_t best = dominant(folded, k, r);
        if (best == k) {
            r++;
            continue;
        }
        uint64_t start = r, writes = 0;
        while (r < regions && dominant(folded, k, r) == best) {
            for (size_t j = 0; j < k; j++)
                writes += folded[j][r];
            r++;
        }
        an_csv_str(&c, names[best]);
        an_csv_u64(&c, start / cols);
        an_csv_u64(&c, start % cols);
        an_csv_u64(&c, r - start);
        an_csv_u64(&c, start ? region_end(start - 1, n, regions) : 0);
        an_csv_u64(&c, region_end(r - 1, n, regions));
        an_csv_u64(&c, writes);
        an_csv_end(&c);
    }
    return an_file_commit(&af);
}
