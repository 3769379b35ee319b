/*
 * analysis.h - what the toolkit computes from a run: wear statistics over
 * per-cell write counts (GSL), histograms, lifetime projection from cell
 * endurance, fragmentation series, and gnuplot plots.
 *
 * Statistics are over all cells given (the whole device, by convention).
 * A statistic that is undefined (0/0: the hotspot of no writes, the CoV of a
 * zero mean) is NAN here; writers turn NAN into JSON null, never a number.
 */
#ifndef PMARENA_ANALYSIS_H
#define PMARENA_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { AN_OK = 0, AN_EINVAL = -301, AN_ENOMEM = -302, AN_EIO = -303, AN_ETOOL = -304 };

typedef struct an_wear {
    uint64_t cells;            /* cells counted */
    uint64_t total;            /* sum of counts */
    uint64_t max;
    uint64_t cells_touched;    /* cells with a count > 0 */
    double mean, stddev, cov;  /* population stddev; cov = stddev / mean */
    double p50, p90, p99, p999;/* quantiles (gsl_stats_quantile_from_sorted_data) */
    double gini;               /* 0 even .. (n-1)/n all on one cell; NAN when total = 0 */
    double hotspot;            /* max / mean; NAN when total = 0 */
    double lifetime_fraction;  /* mean / max; NAN when total = 0 */
} an_wear;

/* Statistics of counts[0..n) (n >= 1). */
int an_wear_stats(const uint64_t *counts, size_t n, an_wear *out);

/* Cell endurance: writes a cell takes before it fails. stddev 0: every cell
 * has `mean`; else each cell's endurance is drawn from a normal distribution
 * (gsl_ran_gaussian, seeded; values below 1 become 1). */
typedef struct an_endurance {
    double mean, stddev;
    uint64_t seed;
} an_endurance;

/* Projected time until the first cell fails, if the run's write pattern
 * (counts over `seconds` of simulated time) repeats: min over written cells of
 * endurance_i / (count_i / seconds). NAN when nothing was written or seconds
 * is 0; also reports which cell fails first. */
int an_lifetime(const uint64_t *counts, size_t n, double seconds, const an_endurance *e,
                double *lifetime_s, uint64_t *first_cell);

/* Histogram of per-cell counts into a CSV with columns
 * `scale,bin_lo,bin_hi,cells`: `linear` rows (nbins equal bins over
 * [0, max+1), gsl_histogram) then `log2` rows (bin 0 holds count 0, bin k
 * holds [2^(k-1), 2^k)). Written atomically (temp file + rename). */
int an_histogram_csv(const uint64_t *counts, size_t n, size_t nbins, const char *path);

/* Gini coefficient of a vector (exposed for tests); NAN when the sum is 0. */
double an_gini(const uint64_t *counts, size_t n);

/* ---- plots ------------------------------------------------------------------- */

/* Writes `<dir>/<name>.gp` (a gnuplot script reading data files in dir) and
 * runs gnuplot on it to make `<dir>/<name>.png`. AN_ETOOL when gnuplot is
 * missing or fails (the script is kept so the user can run it). */
int an_plot(const char *dir, const char *name, const char *script);

#ifdef __cplusplus
}
#endif
#endif
