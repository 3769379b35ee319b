/*
 * out_plots.c - the plots of `pmarena bench`, through an_plot (gnuplot), each
 * from a TSV written atomically beside it: ops/s per workload and allocator
 * at each thread count (bars, log scale; throughput.png for 1 thread,
 * throughput_Nt.png for N), ops/s against threads per workload (one line per
 * allocator, log y; scaling_WORKLOAD.png, when 2+ thread counts were run)
 * and the hottest cell's writes per allocator and trace (wear_hottest.png).
 * A plot gnuplot fails on is reported with its script kept, not fatal.
 */
#include "rows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct values of a column, in first-seen order. */
static int distinct(const char **vals, int n, const char **out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < k && !seen; j++)
            seen = strcmp(out[j], vals[i]) == 0;
        if (!seen)
            out[k++] = vals[i];
    }
    return k;
}

/* A table (rows: workloads, columns: allocators) of one thread count, and the
 * clustered bar chart of it. */
static int tput_plot(const bench_rows *r, const char *dir, int threads)
{
    const char **wl = calloc((size_t)r->nt + 1, sizeof *wl), **al = calloc((size_t)r->nt + 1, sizeof *al);
    const char **wv = calloc((size_t)r->nt + 1, sizeof *wv), **av = calloc((size_t)r->nt + 1, sizeof *av);
    for (int i = 0; i < r->nt; i++) {
        wv[i] = r->t[i].workload;
        av[i] = r->t[i].allocator;
    }
    int nw = distinct(wv, r->nt, wl), na = distinct(av, r->nt, al), rc = -1;
    char name[64];
    snprintf(name, sizeof name, "throughput_%dt.tsv", threads);
    an_file af;
    FILE *f = bench_file_open(&af, dir, name) == 0 ? af.f : NULL;
    if (f) {
        fprintf(f, "workload");
        for (int a = 0; a < na; a++)
            fprintf(f, "\t%s", al[a]);
        fputc('\n', f);
        for (int w = 0; w < nw; w++) {
            fprintf(f, "%s", wl[w]);
            for (int a = 0; a < na; a++) {
                double v = NAN;
                for (int i = 0; i < r->nt; i++)
                    if (r->t[i].threads == threads && !strcmp(r->t[i].workload, wl[w]) &&
                        !strcmp(r->t[i].allocator, al[a]))
                        v = r->t[i].ops_per_s / 1e6;
                if (isnan(v))
                    fprintf(f, "\tNaN");
                else
                    fprintf(f, "\t%.6g", v);
            }
            fputc('\n', f);
        }
        rc = bench_file_commit(&af);
    }
    if (rc == 0) {
        char script[2000], plot[64];
        snprintf(script, sizeof script,
                 "set title 'alloc/free throughput, %d thread%s (Mops/s, log scale)'\n"
                 "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
                 "set logscale y\nset ylabel 'Mops/s'\nset xtics rotate by -30\nset key outside right\n"
                 "set datafile missing 'NaN'\nset grid ytics\n"
                 "plot for [i=2:%d] '%s' using i:xtic(1) title columnhead(i)\n",
                 threads, threads > 1 ? "s" : "", na + 1, name);
        snprintf(plot, sizeof plot, threads == 1 ? "throughput" : "throughput_%dt", threads);
        if (an_plot(dir, plot, script) != 0)
            fprintf(stderr, "pmarena bench: plot %s failed (gnuplot): the script is kept in %s\n", plot, dir);
    }
    free(wl);
    free(al);
    free(wv);
    free(av);
    return rc;
}

/* Thread counts of the rows, ascending and distinct, into th (room for
 * r->nt); returns how many. */
static int thread_counts(const bench_rows *r, int *th)
{
    int n = 0;
    for (int i = 0; i < r->nt; i++) {
        int v = r->t[i].threads, k = n;
        for (int j = 0; j < n && k == n; j++)
            if (th[j] >= v)
                k = j;
        if (k < n && th[k] == v)
            continue;
        memmove(th + k + 1, th + k, (size_t)(n - k) * sizeof *th);
        th[k] = v;
        n++;
    }
    return n;
}

/* A workload label as part of a file name (letters, digits, '_', '-', '.';
 * anything else becomes '-': replay:sqlite3 -> replay-sqlite3) or in a
 * gnuplot single-quoted string (quotes become spaces). */
static void safe_name(const char *in, char *out, size_t n, int for_file)
{
    size_t k = 0;
    for (; in[k] && k + 1 < n; k++) {
        char c = in[k];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-' || c == '.';
        out[k] = for_file ? (ok ? c : '-') : (c == '\'' ? ' ' : c);
    }
    out[k] = '\0';
}

/* One workload's ops/s against threads: a row per thread count, a column per
 * allocator, and the line plot of it (log y, log2 x). */
static int scaling_plot(const bench_rows *r, const char *dir, const char *wl, const int *th, int nth,
                        const char **al, int na)
{
    char safe[96], title[96], name[128], tsv[140];
    safe_name(wl, safe, sizeof safe, 1);
    safe_name(wl, title, sizeof title, 0);
    snprintf(name, sizeof name, "scaling_%s", safe);
    snprintf(tsv, sizeof tsv, "%s.tsv", name);
    an_file af;
    FILE *f = bench_file_open(&af, dir, tsv) == 0 ? af.f : NULL;
    if (!f)
        return -1;
    fprintf(f, "threads");
    for (int a = 0; a < na; a++)
        fprintf(f, "\t%s", al[a]);
    fputc('\n', f);
    for (int k = 0; k < nth; k++) {
        fprintf(f, "%d", th[k]);
        for (int a = 0; a < na; a++) {
            double v = NAN;
            for (int i = 0; i < r->nt; i++)
                if (r->t[i].threads == th[k] && !strcmp(r->t[i].workload, wl) && !strcmp(r->t[i].allocator, al[a]))
                    v = r->t[i].ops_per_s;
            if (isnan(v))
                fprintf(f, "\tNaN");
            else
                fprintf(f, "\t%.6g", v);
        }
        fputc('\n', f);
    }
    if (bench_file_commit(&af) != 0)
        return -1;
    /* x tics at the counts run (a list of up to 1024 would be unreadable:
     * past 32, gnuplot's own powers of two) */
    size_t cap = 4096 + (size_t)nth * 24, len;
    char *script = malloc(cap);
    len = (size_t)snprintf(script, cap,
                           "set title '%s: throughput against threads (ops/s, log scale)'\n"
                           "set logscale y\nset logscale x 2\nset xlabel 'threads'\nset ylabel 'ops/s'\n"
                           "set key outside right\nset datafile missing 'NaN'\nset grid xtics ytics\n"
                           "set offsets graph 0.03, graph 0.03, 0, 0\n",
                           title);
    if (nth <= 32) {
        len += (size_t)snprintf(script + len, cap - len, "set xtics (");
        for (int k = 0; k < nth; k++)
            len += (size_t)snprintf(script + len, cap - len, "%s\"%d\" %d", k ? ", " : "", th[k], th[k]);
        len += (size_t)snprintf(script + len, cap - len, ")\n");
    }
    snprintf(script + len, cap - len,
             "plot for [i=2:%d] '%s' using 1:i with linespoints lw 2 pt 7 title columnhead(i)\n", na + 1, tsv);
    if (an_plot(dir, name, script) != 0)
        fprintf(stderr, "pmarena bench: plot %s failed (gnuplot): the script is kept in %s\n", name, dir);
    free(script);
    return 0;
}

/* The scaling plots, one per workload, when 2+ thread counts were run. */
static int scaling_plots(const bench_rows *r, const char *dir, const int *th, int nth)
{
    if (nth < 2)
        return 0;
    const char **wv = calloc((size_t)r->nt + 1, sizeof *wv), **av = calloc((size_t)r->nt + 1, sizeof *av);
    const char **wl = calloc((size_t)r->nt + 1, sizeof *wl), **al = calloc((size_t)r->nt + 1, sizeof *al);
    for (int i = 0; i < r->nt; i++) {
        wv[i] = r->t[i].workload;
        av[i] = r->t[i].allocator;
    }
    int nw = distinct(wv, r->nt, wl), na = distinct(av, r->nt, al), rc = 0;
    for (int w = 0; w < nw; w++)
        rc |= scaling_plot(r, dir, wl[w], th, nth, al, na);
    free(wv);
    free(av);
    free(wl);
    free(al);
    return rc;
}

/* Hottest-cell writes per allocator (rows) and trace (columns). */
int bench_plot_wear(const bench_rows *r, const char *dir)
{
    if (r->nw == 0)
        return 0;
    int n = r->nw;
    const char **tv = calloc((size_t)n, sizeof *tv), **tr = calloc((size_t)n, sizeof *tr);
    char (*label)[80] = calloc((size_t)n, sizeof *label);
    const char **lv = calloc((size_t)n, sizeof *lv), **ls = calloc((size_t)n, sizeof *ls);
    for (int i = 0; i < n; i++) {
        tv[i] = r->w[i].trace;
        if (strcmp(r->w[i].policy, "-") == 0)
            snprintf(label[i], sizeof label[i], "%s", r->w[i].allocator);
        else
            snprintf(label[i], sizeof label[i], "%s %s%s%s%s", r->w[i].allocator, r->w[i].policy,
                     strcmp(r->w[i].leveling, "none") ? " " : "", strcmp(r->w[i].leveling, "none") ? r->w[i].leveling : "",
                     r->w[i].with_metadata ? " +meta" : "");
        lv[i] = label[i];
    }
    int nt = distinct(tv, n, tr), nl = distinct(lv, n, ls), rc = -1;
    an_file af;
    FILE *f = bench_file_open(&af, dir, "wear_hottest.tsv") == 0 ? af.f : NULL;
    if (f) {
        fprintf(f, "allocator");
        for (int t = 0; t < nt; t++)
            fprintf(f, "\t%s", tr[t]);
        fputc('\n', f);
        for (int l = 0; l < nl; l++) {
            fprintf(f, "\"%s\"", ls[l]);
            for (int t = 0; t < nt; t++) {
                long long v = -1;
                for (int i = 0; i < n; i++)
                    if (!strcmp(label[i], ls[l]) && !strcmp(r->w[i].trace, tr[t]))
                        v = (long long)r->w[i].max;
                if (v < 0)
                    fprintf(f, "\tNaN");
                else
                    fprintf(f, "\t%lld", v);
            }
            fputc('\n', f);
        }
        rc = bench_file_commit(&af);
    }
    if (rc == 0) {
        char script[2000];
        snprintf(script, sizeof script,
                 "set title 'wear of placement: writes to the hottest cell (log scale)'\n"
                 "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
                 "set logscale y\nset ylabel 'writes to the hottest cell'\nset xtics rotate by -30\n"
                 "set key outside right\nset datafile missing 'NaN'\nset grid ytics\n"
                 "plot for [i=2:%d] 'wear_hottest.tsv' using i:xtic(1) title columnhead(i)\n",
                 nt + 1);
        if (an_plot(dir, "wear_hottest", script) != 0)
            fprintf(stderr, "pmarena bench: plot wear_hottest failed (gnuplot): the script is kept in %s\n", dir);
    }
    free(tv);
    free(tr);
    free(label);
    free(lv);
    free(ls);
    return rc;
}

int bench_plot_tput(const bench_rows *r, const char *dir)
{
    int rc = 0;
    int *th = calloc((size_t)r->nt, sizeof *th), nth = thread_counts(r, th);
    for (int k = 0; k < nth; k++)
        rc |= tput_plot(r, dir, th[k]);
    rc |= scaling_plots(r, dir, th, nth);
    free(th);
    return rc;
}
