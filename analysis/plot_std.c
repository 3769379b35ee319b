/*
 * plot_std.c - the standard plots of a run: one gnuplot script each, drawn
 * by an_plot from the run's CSV files (formats in analysis.h), so that the
 * scripts stay in the results folder beside their data and can be edited and
 * rerun there.
 *
 * Every script sets `set datafile separator ','` and reads its file with
 * `skip 1` (the header line). Rows of the other scale in wear_hist.csv are
 * filtered out by giving them an undefined (NaN) x, which gnuplot skips.
 *
 *   wear_hist   two panels on log y (cells spanning orders of magnitude):
 *               the equal-width bins as boxes of their true width, then the
 *               log2 bins as boxes at bin index k (0 for unwritten cells,
 *               k >= 1 for [2^(k-1), 2^k)), ticks labelled 2^(k-1). The y
 *               range starts at 0.5 so that a bin of one cell shows.
 *   wear_cdf    gnuplot's `smooth cnormal` (cumulative sum normalized to 1)
 *               of cells over the log2 bins' upper edges: the point at x is
 *               the fraction of cells with fewer than x writes; log2 x axis.
 *   heatmap     `with image` of (col, row, writes); row 0 (the lowest
 *               addresses) at the top, like a memory map. gnuplot draws no
 *               image below 2 x 2 points, so a single row or column is drawn
 *               as filled boxes instead.
 *   meta_kinds  clustered bars of writes and hottest-cell count per kind; log
 *               y only when some value is > 0 (a log axis of all zeros has no
 *               points and gnuplot fails).
 *   frag        two panels over events: bytes, then the three fractions on
 *               [0, 1]; undefined fractions (empty fields) leave gaps.
 *   wear_time   two panels over events: cell writes so far, then the hottest
 *               cell's count, each all / data / metadata / links (line types
 *               1-4 of the Okabe-Ito palette).
 *
 * Each helper first checks that its data file is there (AN_EIO otherwise),
 * so a missing file is not reported as a gnuplot failure.
 */
#include "pmarena/analysis.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char wear_hist_gp[] =
    "set datafile separator ','\n"
    "log2bin(lo) = lo == 0 ? 0 : int(log(lo) / log(2) + 1.5)\n"
    "stats 'wear_hist.csv' skip 1 using (strcol(1) eq 'log2' ? log2bin($2) : NaN) name 'B' nooutput\n"
    "an_file = 'wear_hist.csv'; an_cols = '4'; eval an_span\n"
    "set multiplot layout 2,1 title 'Writes per cell (wear_hist.csv)'\n"
    "set style fill solid 0.6 border -1\n"
    "if (an_log) { set logscale y; set yrange [0.5:*] } else { set yrange [0:*] }\n"
    "set ylabel 'cells'\n"
    "set key off\n"
    "set xlabel 'writes per cell (equal-width bins)'\n"
    "plot 'wear_hist.csv' skip 1 using (strcol(1) eq 'linear' ? ($2 + $3) / 2 : NaN):4:($3 - $2) \\\n"
    "     with boxes lt 1\n"
    "set xlabel 'writes per cell (log2 bins: bin k holds [2^(k-1), 2^k), bin 0 holds 0)'\n"
    "set xtics ('0' 0)\n"
    "do for [k = 1:int(B_max)] { set xtics add (sprintf('2^%d', k - 1) k) }\n"
    "set xrange [-0.5:B_max + 0.5]\n"
    "plot 'wear_hist.csv' skip 1 using (strcol(1) eq 'log2' ? log2bin($2) : NaN):4:(0.8) \\\n"
    "     with boxes lt 2\n"
    "unset multiplot\n";

static const char wear_cdf_gp[] =
    "set datafile separator ','\n"
    "set title 'Cumulative fraction of cells by writes per cell (wear_hist.csv, log2 bins)'\n"
    "set logscale x 2\n"
    "set format x '2^%L'\n"
    "set xlabel 'writes per cell (x: cells with fewer than x writes)'\n"
    "set ylabel 'fraction of cells'\n"
    "set yrange [0:1.05]\n"
    "set grid\n"
    "set key off\n"
    "plot 'wear_hist.csv' skip 1 using (strcol(1) eq 'log2' ? $3 : NaN):4 smooth cnormal \\\n"
    "     with linespoints lt 1\n";

/* The labels layer is added by an_plot_heatmap when heat_kinds.csv exists. */
static const char heatmap_gp[] =
    "set datafile separator ','\n"
    "set title 'Writes per region, in address order (heat.csv)'\n"
    "set xlabel 'column'\n"
    "set ylabel 'row (addresses grow left to right, then down)'\n"
    "# viridis: ordered in lightness, readable with colour-vision deficiencies.\n"
    "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21908d', 3 '#5dc963', 4 '#fde725')\n"
    "set yrange [*:*] reverse\n"
    "set size ratio -1\n"
    "set autoscale xfix\n"
    "set autoscale yfix\n"
    "set tics out\n"
    "stats 'heat.csv' skip 1 using 1 name 'R' nooutput\n"
    "stats 'heat.csv' skip 1 using 2 name 'C' nooutput\n"
    "an_file = 'heat.csv'; an_cols = '3'; eval an_span\n"
    "# Log colours when the regions span more than 100x; regions without writes\n"
    "# then take the bottom colour, labelled 0.\n"
    "an_zero = an_lo / 2\n"
    "if (an_log) { set logscale cb; set cbrange [an_zero:an_hi]; set cbtics ('0' an_zero); "
    "do for [e = 0:int(log10(an_hi))] { set cbtics add (sprintf('%g', 10**e) 10**e) }; "
    "set cblabel 'writes (log scale)' } else { set cblabel 'writes' }\n"
    "heat(w) = an_log && w <= 0 ? an_zero : w\n"
    "set key outside left top vertical\n"
    "if (R_max >= 1 && C_max >= 1) {\n"
    "    plot 'heat.csv' skip 1 using 2:1:(heat($3)) with image notitle";

static const char heatmap_boxes_gp[] =
    "} else {\n"
    "    set style fill solid 1.0 noborder\n"
    "    set offsets 0.5, 0.5, 0.5, 0.5\n"
    "    plot 'heat.csv' skip 1 using 2:1:(0.5):(0.5):(heat($3)) with boxxyerror fillcolor palette notitle";

/* Each run of regions whose writes are mostly of one source gets a marker
 * at its first region in that source's line type (legend beside the map), and
 * a text label with its cell range: every run when there are at most 12,
 * else the runs of at least 1/64 of the map. */
static const char heatmap_labels_gp[] =
    ", \\\n"
    "         for [i = 1:words(K)] 'heat_kinds.csv' skip 1 using (strcol(1) eq word(K, i) ? $3 : NaN):2 \\\n"
    "         with points lt i pt 7 ps 1.2 title word(K, i), \\\n"
    "         'heat_kinds.csv' skip 1 using ($4 >= (KR_records <= 12 ? 1 : (R_max + 1) * (C_max + 1) / 64) ? $3 : NaN):2: \\\n"
    "         (sprintf(' %s: cells %s-%s', strcol(1), strcol(5), strcol(6))) with labels left boxed offset 1,0 \\\n"
    "         font ',8' notitle";

static const char heatmap_end_gp[] = "\n}\n";

static const char meta_kinds_gp[] =
    "set datafile separator ','\n"
    "set title 'Writes per kind (kinds.csv)'\n"
    "set style data histograms\n"
    "set style histogram clustered gap 1\n"
    "set style fill solid 0.8 border -1\n"
    "an_file = 'kinds.csv'; an_cols = '2 3'; eval an_span\n"
    "if (an_log) { set logscale y; set yrange [0.5:*] } else { set yrange [0:*] }\n"
    "if (an_hi == 0) { set yrange [0:1] }\n"
    "set ylabel 'writes'\n"
    "set xlabel 'kind (source of the writes)'\n"
    "set grid ytics\n"
    "plot 'kinds.csv' skip 1 using 2:xtic(1) title 'writes (all cells)' lt 1, \\\n"
    "     '' skip 1 using 3 title 'hottest cell' lt 2 fillstyle pattern 4 border -1\n";

static const char frag_gp[] =
    "set datafile separator ','\n"
    "set multiplot layout 2,1 title 'Fragmentation over the run (frag.csv)'\n"
    "set xlabel 'events'\n"
    "set ylabel 'bytes'\n"
    "set grid\n"
    "an_file = 'frag.csv'; an_cols = '2 3 4'; eval an_span\n"
    "if (an_log) { set logscale y; set ylabel 'bytes (log scale)' }\n"
    "plot 'frag.csv' skip 1 using 1:2 with lines lt 1 title 'requested', \\\n"
    "     '' skip 1 using 1:3 with lines lt 2 title 'allocated', \\\n"
    "     '' skip 1 using 1:4 with lines lt 3 title 'footprint'\n"
    "unset logscale y\n"
    "set ylabel 'fraction'\n"
    "set yrange [0:1]\n"
    "plot 'frag.csv' skip 1 using 1:5 with lines lt 4 title 'internal', \\\n"
    "     '' skip 1 using 1:6 with lines lt 5 title 'external', \\\n"
    "     '' skip 1 using 1:7 with lines lt 6 title 'utilization'\n"
    "unset multiplot\n";

static const char wear_time_gp[] =
    "set datafile separator ','\n"
    "set multiplot layout 2,1 title 'Wear over the run (wear_time.csv)'\n"
    "set xlabel 'events'\n"
    "set grid\n"
    "an_file = 'wear_time.csv'; an_cols = '2 3 4 8'; eval an_span\n"
    "set ylabel 'cell writes so far'\n"
    "if (an_log) { set logscale y; set ylabel 'cell writes so far (log scale)' }\n"
    "plot 'wear_time.csv' skip 1 using 1:2 with lines lt 1 title 'total_writes', \\\n"
    "     '' skip 1 using 1:3 with lines lt 2 title 'data_writes', \\\n"
    "     '' skip 1 using 1:4 with lines lt 3 title 'meta_writes', \\\n"
    "     '' skip 1 using 1:8 with lines lt 4 title 'links_writes'\n"
    "unset logscale y\n"
    "an_cols = '5 6 7 9'; eval an_span\n"
    "set ylabel 'hottest cell count'\n"
    "if (an_log) { set logscale y; set ylabel 'hottest cell count (log scale)' }\n"
    "plot 'wear_time.csv' skip 1 using 1:5 with lines lt 1 title 'hottest', \\\n"
    "     '' skip 1 using 1:6 with lines lt 2 title 'hottest_data', \\\n"
    "     '' skip 1 using 1:7 with lines lt 3 title 'hottest_meta', \\\n"
    "     '' skip 1 using 1:9 with lines lt 4 title 'hottest_links'\n"
    "unset multiplot\n";

/* an_plot(dir, name, script) once dir/data is readable. */
static int plot_from(const char *dir, const char *data, const char *name, const char *script)
{
    if (!dir || !*dir)
        return AN_EINVAL;
    char *p = an_path_join(dir, data, "");
    if (!p)
        return AN_ENOMEM;
    int readable = access(p, R_OK) == 0;
    free(p);
    if (!readable)
        return AN_EIO;
    return an_plot(dir, name, script);
}

int an_plot_wear_hist(const char *dir) { return plot_from(dir, "wear_hist.csv", "wear_hist", wear_hist_gp); }
int an_plot_wear_cdf(const char *dir) { return plot_from(dir, "wear_hist.csv", "wear_cdf", wear_cdf_gp); }
int an_plot_heatmap(const char *dir)
{
    if (!dir || !*dir)
        return AN_EINVAL;
    char *kp = an_path_join(dir, "heat_kinds.csv", "");
    if (!kp)
        return AN_ENOMEM;
    bool labels = access(kp, R_OK) == 0;
    free(kp);
    /* The kinds in the legend: the names found in heat_kinds.csv, in order of
     * first appearance, for gnuplot's word(K, i). */
    const char *words = labels ? "set datafile separator ','\n"
                                 "K = ''; stats 'heat_kinds.csv' skip 1 using "
                                 "(K = strstrt(' '.K.' ', ' '.strcol(1).' ') ? K : (K eq '' ? strcol(1) : K.' '.strcol(1)), 0) "
                                 "nooutput\n"
                                 "stats 'heat_kinds.csv' skip 1 using 4 name 'KR' nooutput\n"
                                 "set style textbox opaque noborder\n"
                               : "";
    size_t len = strlen(words) + sizeof heatmap_gp + sizeof heatmap_boxes_gp + 2 * sizeof heatmap_labels_gp +
                 sizeof heatmap_end_gp;
    char *script = malloc(len);
    if (!script)
        return AN_ENOMEM;
    snprintf(script, len, "%s%s%s%s%s%s", words, heatmap_gp, labels ? heatmap_labels_gp : "", heatmap_boxes_gp,
             labels ? heatmap_labels_gp : "", heatmap_end_gp);
    int rc = plot_from(dir, "heat.csv", "heatmap", script);
    free(script);
    return rc;
}
int an_plot_meta_kinds(const char *dir) { return plot_from(dir, "kinds.csv", "meta_kinds", meta_kinds_gp); }
int an_plot_frag(const char *dir) { return plot_from(dir, "frag.csv", "frag", frag_gp); }
int an_plot_wear_time(const char *dir) { return plot_from(dir, "wear_time.csv", "wear_time", wear_time_gp); }
