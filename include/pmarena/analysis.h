/*
 * analysis.h - what the toolkit computes from a run: wear statistics over
 * per-cell write counts (GSL), histograms, lifetime projection from cell
 * endurance, fragmentation series, and gnuplot plots.
 *
 * Wear statistics come two ways, named apart wherever they are written:
 *   device-wide (an_wear_stats over all cells of the device): the plain names
 *       (mean, p50, hotspot, ...). Unwritten cells count as zeros, so on a
 *       mostly idle device p50 = p90 = 0 and hotspot = max / mean grows with
 *       the device size for the same trace: they measure the trace against
 *       the device it ran on;
 *   touched (an_wear_stats_touched over the cells written at least once):
 *       "touched": {...} in JSON, a `_touched` suffix in flat tables and CSV
 *       columns (hotspot_touched, p99_touched, ...). They describe how evenly
 *       the trace wore the cells it used and do not change with device.size.
 * A statistic that is undefined (0/0: the hotspot of no writes, the CoV of a
 * zero mean) is NAN here; writers turn NAN into JSON null, never a number.
 *
 * Errors: int functions return 0 or a negative AN_E* code; an_strerror names
 * it. The library never prints: gnuplot's own messages go to a log file beside
 * the script (see an_plot).
 *
 * Thread safety: every function may be called from several threads at once,
 * as long as no two calls write the same file.
 *
 * Files. Every file is written atomically: PATH.tmp.PID first, then rename(2),
 * so a reader sees the old file or the complete new one. CSV files (all
 * written through an_csv, RFC 4180) have a header line, then one record a
 * line, fields separated by ',' and quoted ("...", quotes doubled) when they
 * hold a comma, quote or line break; numbers are decimal integers or the
 * shortest %.17g form that reads back exactly; an undefined value (NAN) is an
 * empty field. The files of a run and who writes them:
 *
 *   wear_hist.csv  `scale,bin_lo,bin_hi,cells` (an_histogram_csv). scale is
 *                  `linear` or `log2`; a bin holds the cells whose count c has
 *                  bin_lo <= c < bin_hi; all `linear` rows come first, in bin
 *                  order, then all `log2` rows. cells is an integer.
 *   heat.csv       `row,col,writes` (an_heatmap_csv): the cells folded, in
 *                  address order, into rows * cols regions laid out row-major
 *                  (region r = row * cols + col covers cells
 *                  [floor(r n / R), floor((r + 1) n / R)), R = rows * cols);
 *                  writes is the sum of the region's counts. Rows are in order
 *                  row 0 col 0, row 0 col 1, ... (cols varies fastest).
 *   kinds.csv      `kind,writes,hottest` (an_kinds_csv): one row per source
 *                  of writes, in the caller's order, normally `data`, `bitmap`,
 *                  `header`, `list`, `root`, `log`, `links`; writes is the per-cell
 *                  increments of that kind, hottest the count of that kind on
 *                  the cell it wore most (0: untouched).
 *   frag.csv       `events,requested,allocated,footprint,internal,external,
 *                  utilization` (an_frag_csv): one row per fragmentation sample
 *                  in event order; the first four are integers (events replayed
 *                  so far, live requested bytes, allocated bytes, heap footprint
 *                  bytes), the last three fractions (empty when undefined):
 *                  internal = 1 - requested/allocated, external = 1 - largest
 *                  free run / total free, utilization = requested/footprint.
 *   wear_time.csv  `events,total_writes,data_writes,meta_writes,hottest,
 *                  hottest_data,hottest_meta,links_writes,hottest_links`
 *                  (an_wear_time_csv): one row per fragmentation sample (the
 *                  same events), sim device only; cell writes so far (all,
 *                  data, metadata), the highest count of any one cell so far
 *                  (all sources summed, data only, metadata (all kinds)
 *                  only), then the same two for links (the application's
 *                  reachability table, replay.h), last so that the older
 *                  columns keep their places. All integers; every column is
 *                  non-decreasing down the file.
 *   heat_kinds.csv `kind,first_row,first_col,regions,first_cell,end_cell,
 *                  writes` (an_heat_kinds_csv): the regions of heat.csv
 *                  labelled with the source that wrote most in each, runs of
 *                  one label merged, in address order: `regions` regions from
 *                  (first_row, first_col) on, cells [first_cell, end_cell),
 *                  writes their sum. Regions without writes belong to no row.
 */
#ifndef PMARENA_ANALYSIS_H
#define PMARENA_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { AN_OK = 0, AN_EINVAL = -301, AN_ENOMEM = -302, AN_EIO = -303, AN_ETOOL = -304 };

/* "bad argument", "out of memory", ... ; "unknown error" for other codes. */
const char *an_strerror(int rc);

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

/* Statistics of counts[0..n) (n >= 1), device-wide: over all n cells. cov is
 * NAN when the mean is 0.
 * Memory: at most 8 bytes per cell while it runs, and a few KB for the usual
 * counts (see wear_stats.c). Time O(n): ~15-35 ms for 2^24 cells; only
 * counts with very many distinct large values (2^24 random 32-bit counts:
 * 7 s) pay for a sort. */
int an_wear_stats(const uint64_t *counts, size_t n, an_wear *out);

/* The same statistics over the touched cells of counts[0..n) (n >= 1): the
 * cells with a count > 0, so adding unwritten cells changes nothing.
 * out->cells = out->cells_touched = cells written; total and max as above;
 * when no cell was written every double is NAN. Same cost as an_wear_stats. */
int an_wear_stats_touched(const uint64_t *counts, size_t n, an_wear *out);

/* Quantiles of counts[0..n) (n >= 1) at fractions f[0..nf) (each in [0, 1]):
 * out[i] is exactly what gsl_stats_quantile_from_sorted_data(sorted, 1, n,
 * f[i]) returns on the sorted counts as doubles, without sorting them. */
int an_quantiles(const uint64_t *counts, size_t n, const double *f, size_t nf, double *out);

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
 * is 0; also reports which cell fails first.
 *
 * Normal endurance: an mt19937 generator (gsl_rng_mt19937) is seeded with
 * e->seed (gsl_rng_set: its low 32 bits; 0 means GSL's default 4357) and
 * endurance_i = mean + gsl_ran_gaussian(r, stddev) is drawn for cells 0, 1, 2,
 * ... in order, written or not, so a cell's endurance depends only on the seed
 * and its index. first_cell (may be NULL) is the lowest-indexed cell reaching
 * the minimum, UINT64_MAX when the lifetime is NAN. AN_EINVAL when mean <= 0,
 * stddev < 0, or either is not finite. seconds that is not a positive finite
 * number gives NAN. Cost: one pass; with stddev > 0 also one draw per cell up
 * to the last written one (~35 ns each: 0.6 s for 2^24 cells). */
int an_lifetime(const uint64_t *counts, size_t n, double seconds, const an_endurance *e,
                double *lifetime_s, uint64_t *first_cell);

/* Histogram of per-cell counts into a CSV with columns
 * `scale,bin_lo,bin_hi,cells`: `linear` rows (nbins equal bins over
 * [0, max+1), gsl_histogram) then `log2` rows (bin 0 holds count 0, bin k
 * holds [2^(k-1), 2^k)). Written atomically (temp file + rename).
 * nbins >= 1; it is lowered to max+1 so that a bin is at least one count wide.
 * The log2 rows run from bin 0 to the bin of max; every bin is written, empty
 * ones with 0 cells. */
int an_histogram_csv(const uint64_t *counts, size_t n, size_t nbins, const char *path);

/* heat.csv (format above): counts[0..n) folded into rows * cols regions, each
 * the sum of its cells' counts, so the writes column sums to the total. rows,
 * cols >= 1; when rows * cols > n some regions are empty (0 writes). */
int an_heatmap_csv(const uint64_t *counts, size_t n, unsigned rows, unsigned cols, const char *path);

/* kinds.csv (format above): row i is names[i], writes[i], hottest[i]. */
int an_kinds_csv(const char *const *names, const uint64_t *writes, const uint64_t *hottest,
                 size_t k, const char *path);

/* One fragmentation sample, a row of frag.csv (fractions NAN when undefined). */
typedef struct an_frag_sample {
    uint64_t events, requested, allocated, footprint;
    double internal, external, utilization;
} an_frag_sample;

/* frag.csv (format above) from samples[0..k) (k may be 0: header only). */
int an_frag_csv(const an_frag_sample *samples, size_t k, const char *path);

/* One wear sample, a row of wear_time.csv (all integers, counts so far). */
typedef struct an_wear_sample {
    uint64_t events;
    uint64_t total_writes, data_writes, meta_writes;
    uint64_t hottest, hottest_data, hottest_meta;
    uint64_t links_writes, hottest_links;
} an_wear_sample;

/* wear_time.csv (format above) from samples[0..k) (k may be 0: header only). */
int an_wear_time_csv(const an_wear_sample *samples, size_t k, const char *path);

/* counts[0..n) folded into `regions` sums out[0..regions), region r covering
 * cells [floor(r n / R), floor((r + 1) n / R)) as in heat.csv. */
int an_heat_fold(const uint64_t *counts, size_t n, uint64_t regions, uint64_t *out);

/* heat_kinds.csv (format above): folded[j] (rows * cols sums from
 * an_heat_fold over n cells) holds the writes of source names[j]; each
 * region is labelled with the source of most writes, and runs of one label
 * become rows. */
int an_heat_kinds_csv(const char *const *names, const uint64_t *const *folded, size_t k, size_t n,
                      unsigned rows, unsigned cols, const char *path);

/* Gini coefficient of a vector (exposed for tests); NAN when the sum is 0.
 * G = sum_i sum_j |x_i - x_j| / (2 n^2 mean) (the population form, no
 * n/(n-1) correction); also NAN when n is 0 or memory runs out. */
double an_gini(const uint64_t *counts, size_t n);

/* ---- atomic files (files.c) -------------------------------------------------- */

/* A file being written under a temporary name: PATH.tmp.PID. */
typedef struct an_file {
    FILE *f;
    char *path, *tmp;
} an_file;

/* Opens path's temporary file for writing. AN_EINVAL, AN_ENOMEM, AN_EIO. */
int an_file_open(an_file *af, const char *path);

/* Closes the temporary file and renames it to the path; on any write error
 * (seen by ferror or fclose) the temporary is removed and AN_EIO returned. */
int an_file_commit(an_file *af);

/* Closes and removes the temporary; the path is left as it was. */
void an_file_abort(an_file *af);

/* "<dir>/<name><ext>" in a malloc'd string (NULL when out of memory). */
char *an_path_join(const char *dir, const char *name, const char *ext);

/* A double as the shortest of %.15g, %.16g, %.17g that reads back exactly,
 * or "" for NAN, so CSV readers get clean numbers without losing any. */
void an_fmt_double(char *buf, size_t len, double v);

/* Creates dir and its missing parents (mode 0755). 0, or AN_EIO with errno set. */
int an_mkdir_p(const char *dir);

/* ---- CSV (csv.c) -------------------------------------------------------------- */

/* Every CSV file is written through this (RFC 4180): fields quoted when they
 * hold a comma, a quote, CR or LF, numbers at full precision (an_fmt_double),
 * NAN as an empty field, "\n" ending each record. */
typedef struct an_csv {
    FILE *f;
    int col;      /* fields written in the current record */
} an_csv;

void an_csv_begin(an_csv *c, FILE *f);
void an_csv_str(an_csv *c, const char *s);      /* NULL: an empty field */
void an_csv_u64(an_csv *c, uint64_t v);
void an_csv_i64(an_csv *c, int64_t v);
void an_csv_double(an_csv *c, double v);
void an_csv_end(an_csv *c);                     /* ends the record */
/* A whole record of text fields (e.g. a header). */
void an_csv_row(an_csv *c, const char *const *fields, size_t n);

/* ---- plots ------------------------------------------------------------------- */

/* Writes `<dir>/<name>.gp` (a gnuplot script reading data files in dir) and
 * runs gnuplot on it to make `<dir>/<name>.png`. AN_ETOOL when gnuplot is
 * missing or fails (the script is kept so the user can run it).
 *
 * The .gp is `script` after a preamble an_plot writes: two comment lines, the
 * terminal (`set terminal pngcairo size 1000,650`, or `png` when this gnuplot
 * has no pngcairo: probed once per process with `gnuplot -e "set terminal
 * pngcairo"`), `set output` to `<name>.png`, and the common style: `set
 * termoption noenhanced` (names such as meta_writes print as written), the
 * Okabe-Ito colour-blind-safe palette as line types 1..8 each with its own
 * dash type, and the key outside the plot area (right, top); `unset output`
 * ends it. So the
 * script only plots, and names data files by bare names: gnuplot runs with dir
 * as its working directory (posix_spawn, no shell), and `gnuplot <name>.gp` in
 * that folder redraws the plot by hand. an_plot itself has gnuplot render to
 * `<name>.png.tmp.PID.N` and renames it into place only if gnuplot exited 0
 * and wrote a non-empty file, so the PNG appears complete or not at all (a
 * failed redraw leaves the previous PNG). gnuplot's messages go to
 * `<dir>/<name>.log`, removed when the plot succeeds and kept when it fails.
 * name: letters, digits, '_', '-', '.', not starting with '.'. The program is
 * `gnuplot` from PATH, or the environment variable PMARENA_GNUPLOT when set.
 * AN_EIO when a file cannot be written. */
int an_plot(const char *dir, const char *name, const char *script);

/* Draws <dir>/<name>.gp again with gnuplot's svg terminal into out (absolute,
 * or relative to dir; no single quote), for pmarena report --html. AN_EINVAL
 * when the script predates the an_terminal variable (a results folder from an
 * older pmarena: it can only draw PNG), AN_EIO when there is no script,
 * AN_ETOOL when gnuplot fails. out is written by gnuplot: the caller reads
 * and removes it. */
int an_plot_svg(const char *dir, const char *name, const char *out);

/* The standard plots of a run, each from a data file in dir (AN_EIO when the
 * file is missing) to `<dir>/<plot>.png` through an_plot, so the scripts are
 * kept beside the data:
 *   an_plot_wear_hist   wear_hist.csv -> wear_hist.png: cells per bin on a
 *                       log y axis, the equal-width bins above the log2 bins;
 *   an_plot_wear_cdf    wear_hist.csv -> wear_cdf.png: fraction of cells with
 *                       fewer than x writes at each log2 bin edge, log x;
 *   an_plot_heatmap     heat.csv -> heatmap.png: the regions as an image
 *                       (`with image`), row 0 at the top (a single row or
 *                       column, too thin for an image, as filled boxes);
 *   an_plot_meta_kinds  kinds.csv -> meta_kinds.png: bars of writes and of the
 *                       hottest cell's count per kind (log y when any > 0);
 *   an_plot_frag        frag.csv -> frag.png: bytes (requested, allocated,
 *                       footprint) above fractions (internal, external,
 *                       utilization), over events;
 *   an_plot_wear_time   wear_time.csv -> wear_time.png: cell writes so far
 *                       (all, data, metadata, links) above the hottest
 *                       cell's count (the same four), over events.
 * An axis whose positive values span more than 100x is drawn log scale
 * (decided by gnuplot's `stats` on the data when the script runs; zeros are
 * left off a log axis). The heatmap's colour scale is log when its regions
 * span more than 100x, and when heat_kinds.csv is there its runs of regions
 * are labelled with their dominant source (data, bitmap, header, log ...). */
int an_plot_wear_hist(const char *dir);
int an_plot_wear_cdf(const char *dir);
int an_plot_heatmap(const char *dir);
int an_plot_meta_kinds(const char *dir);
int an_plot_frag(const char *dir);
int an_plot_wear_time(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
