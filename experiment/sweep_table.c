/*
 * sweep_table.c - the table and plots of a sweep (sweep.h): sweep.csv with
 * one row per finished point (index, parameter values, key metrics) and, for
 * each plotted metric and each swept parameter, a plot of the metric against
 * the parameter with one line per combination of the other parameters.
 *
 * Only deterministic figures go into the table (no wall-clock time), so the
 * table of a sweep run with -j1, -j2, or in shards merged afterwards, is the
 * same file byte for byte. The plots may show wall time (recovery.wall_s:
 * what the recovery target is stated in); its .dat files differ run to run.
 */
#include "sweep.h"
#include "pmarena/experiment.h"
#include "pmarena/analysis.h"
#include "config_json.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const metrics[] = {
    "wear.total_writes", "wear.data_writes", "wear.meta_writes", "wear.max", "wear.mean", "wear.p99",
    "wear.gini", "wear.hotspot", "wear.lifetime_fraction", "wear.projected_lifetime_s", "wear_meta.max",
    "wear.links_writes", "wear_links.max", "persistence.links_writes_per_op",
    "fragmentation.internal", "fragmentation.external", "fragmentation.utilization",
    "fragmentation.peak_footprint", "time.simulated_ns", "recovery.sim_ns", "recovery.bytes_read",
    "recovery.bytes_written", "recovery.live_objects_before", "recovery.live_objects_after",
    /* wear-out runs (device.endurance, replay.repeat): empty where a run has none */
    "wear.leveling_writes", "failures.failed_cells", "lifetime.passes", "lifetime.events", "lifetime.ended_by",
    "lifetime.events_to_first_failure", "lifetime.events_to_capacity_loss", "lifetime.retired_fraction",
    "lifetime.lifetime_fraction_of_ideal", "lifetime.moves",
};
static const char *const plotted[] = {"wear.max", "wear.meta_writes", "wear.links_writes", "wear.hotspot", "wear.gini",
                                      "fragmentation.internal", "fragmentation.peak_footprint",
                                      "recovery.wall_s"};

typedef struct row { uint64_t index; json_t *params, *summary; } row;

/* One CSV field from a JSON value: strings as they are, numbers at full
 * precision, null empty, lists and objects as compact JSON (one quoted field). */
static void csv_value(an_csv *c, json_t *v)
{
    if (!v || json_is_null(v)) {
        an_csv_str(c, NULL);
    } else if (json_is_string(v)) {
        an_csv_str(c, json_string_value(v));
    } else if (json_is_integer(v)) {
        an_csv_i64(c, (int64_t)json_integer_value(v));
    } else if (json_is_real(v)) {
        an_csv_double(c, json_real_value(v));
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        an_csv_str(c, t ? t : "");
        free(t);
    }
}

/* A value as a label: strings bare, anything else as compact JSON. */
static char *label_text(json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return t ? t : strdup("");
}

/* s as a gnuplot single-quoted string (no escapes inside but '' for '). */
static size_t gp_quote(char *buf, size_t len, const char *s)
{
    size_t n = 0;
    if (n + 1 < len)
        buf[n++] = '\'';
    for (; *s && n + 3 < len; s++) {
        if (*s == '\'')
            buf[n++] = '\'';
        buf[n++] = *s;
    }
    if (n + 1 < len)
        buf[n++] = '\'';
    buf[n < len ? n : len - 1] = '\0';
    return n;
}

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Finished points of one folder, appended to rows. */
static int collect(const char *dir, row **rows, size_t *n, size_t *cap)
{
    char pdir[4200];
    snprintf(pdir, sizeof pdir, "%s/points", dir);
    DIR *d = opendir(pdir);
    if (!d) {
        fprintf(stderr, "pmarena: %s: no points folder (not a sweep's results?)\n", dir);
        return EXP_BADINPUT;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[4700];
        snprintf(p, sizeof p, "%s/%s/.done", pdir, e->d_name);
        if (access(p, F_OK) != 0)
            continue;
        snprintf(p, sizeof p, "%s/%s/point.json", pdir, e->d_name);
        json_t *pt = json_load_file(p, 0, NULL);
        snprintf(p, sizeof p, "%s/%s/summary.json", pdir, e->d_name);
        json_t *sum = json_load_file(p, 0, NULL);
        if (!pt || !sum) {
            json_decref(pt);
            json_decref(sum);
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *rows = realloc(*rows, *cap * sizeof **rows);
        }
        (*rows)[(*n)++] = (row){(uint64_t)json_integer_value(json_object_get(pt, "index")),
                                json_incref(json_object_get(pt, "params")), sum};
        json_decref(pt);
    }
    closedir(d);
    return 0;
}

static void short_name(const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s", path);
    for (char *p = buf; *p; p++)
        if (*p == '.' || *p == '/' || *p == ' ')
            *p = '_';
}

/* Removes a plot's files: a metric with no value anywhere has no plot, and
 * an old one left in place would describe other points. */
static void plot_remove(const char *out, const char *name)
{
    static const char *const exts[] = {".png", ".gp", ".dat", ".log"};
    for (size_t i = 0; i < 4; i++) {
        char *p = an_path_join(out, name, exts[i]);
        if (p)
            unlink(p);
        free(p);
    }
}

/* Plot `metric` against `param`, one series per combination of the other
 * parameters. Numbers: lines through points (points alone when there is one
 * x), a log axis where the values span more than 100x. Anything else
 * (strings, booleans, lists, objects) is categorical: points at 0, 1, ...
 * labelled with the values, each series nudged sideways so none hides
 * another, never joined by lines (the order of categories means nothing). */
static int plot_one(const char *out, row *rows, size_t n, const char *metric, const char *param)
{
    char ms[100], ps[100], name[240], data[300];
    short_name(metric, ms, sizeof ms);
    short_name(param, ps, sizeof ps);
    snprintf(name, sizeof name, "sweep_%s_vs_%s", ms, ps);
    snprintf(data, sizeof data, "%s.dat", name);
    /* Distinct x values in order, numeric or not; the y range. */
    json_t *xs = json_array();
    bool numeric = true;
    double lo = INFINITY, hi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    size_t ny = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object_get(rows[i].params, param), *y = cfg_json_path(rows[i].summary, metric);
        size_t k = 0;
        while (k < json_array_size(xs) && !json_equal(json_array_get(xs, k), x))
            k++;
        if (k == json_array_size(xs))
            json_array_append(xs, x);
        if (json_is_number(x)) {
            lo = fmin(lo, json_number_value(x));
            hi = fmax(hi, json_number_value(x));
        } else {
            numeric = false;
        }
        if (json_is_number(y) && isfinite(json_number_value(y))) {
            ylo = fmin(ylo, json_number_value(y));
            yhi = fmax(yhi, json_number_value(y));
            ny++;
        }
    }
    size_t nx = json_array_size(xs);
    if (ny == 0) {
        json_decref(xs);
        plot_remove(out, name);
        return 0;
    }
    /* Groups: the other parameters' values. */
    json_t *groups = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *others = json_deep_copy(rows[i].params);
        json_object_del(others, param);
        char *key = json_dumps(others, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(others);
        json_t *g = json_object_get(groups, key);
        if (!g)
            json_object_set_new(groups, key, g = json_array());
        json_array_append_new(g, json_integer((json_int_t)i));
        free(key);
    }
    size_t ngroups = json_object_size(groups);
    char *path = an_path_join(out, name, ".dat");
    an_file af;
    if (!path || an_file_open(&af, path) != 0) {
        free(path);
        json_decref(xs);
        json_decref(groups);
        return EXP_FAIL;
    }
    free(path);
    const char *gk;
    json_t *g;
    size_t ng = 0;
    json_object_foreach(groups, gk, g) {
        /* {"a.b":"x","c":2} reads as a.b=x c=2 in the key. */
        char label[300];
        size_t ll = 0;
        for (const char *c = strcmp(gk, "{}") ? gk : param; *c && ll < sizeof label - 1; c++) {
            if (*c == '{' || *c == '}' || *c == '"' || *c == '\\')
                continue;
            label[ll++] = *c == ':' ? '=' : *c == ',' ? ' ' : *c;
        }
        label[ll] = '\0';
        fprintf(af.f, "%s\"%s\" \"%s\"\n", ng ? "\n\n" : "", label, metric);
        double nudge = ngroups > 1 ? -0.25 + 0.5 * (double)ng / (double)(ngroups - 1) : 0;
        size_t i;
        json_t *ri;
        json_array_foreach(g, i, ri) {
            row *r = &rows[json_integer_value(ri)];
            json_t *x = json_object_get(r->params, param), *y = cfg_json_path(r->summary, metric);
            if (!json_is_number(y) || !isfinite(json_number_value(y)))
                continue;
            double xv = 0;
            if (numeric) {
                xv = json_number_value(x);
            } else {
                for (size_t k = 0; k < nx; k++)
                    if (json_equal(json_array_get(xs, k), x))
                        xv = (double)k + nudge;
            }
            char xb[40], yb[40];
            an_fmt_double(xb, sizeof xb, xv);
            an_fmt_double(yb, sizeof yb, json_number_value(y));
            fprintf(af.f, "%s %s\n", xb, yb);
        }
        ng++;
    }
    bool ok = an_file_commit(&af) == 0;
    size_t cap = 8192 + 256 * nx, len = 0;
    char *script = malloc(cap);
    if (!script) {
        json_decref(xs);
        json_decref(groups);
        return EXP_FAIL;
    }
    len += (size_t)snprintf(script + len, cap - len,
                            "set title \"%s vs %s\"\nset xlabel \"%s\"\nset ylabel \"%s\"\n"
                            "set key outside right top\nset grid\n", metric, param, param, metric);
    /* A swept parameter that covers two decades (10^4..10^6 live objects) reads on a log axis. */
    bool logx = numeric && lo > 0 && hi / lo >= 100, logy = ylo > 0 && yhi / ylo > 100;
    if (logx)
        len += (size_t)snprintf(script + len, cap - len, "set logscale x\n");
    if (logy)
        len += (size_t)snprintf(script + len, cap - len, "set logscale y\n");
    if (numeric && nx == 1) {
        /* gnuplot cannot make a range of one x: give it one around the point. */
        double w = fabs(lo) > 0 ? fabs(lo) / 2 : 1;
        len += (size_t)snprintf(script + len, cap - len, "set xrange [%.17g:%.17g]\nset xtics (%.17g)\n",
                                lo - w, lo + w, lo);
    }
    if (!numeric) {
        len += (size_t)snprintf(script + len, cap - len, "set xtics (");
        for (size_t k = 0; k < nx && len + 200 < cap; k++) {
            char *t = label_text(json_array_get(xs, k)), q[180];
            gp_quote(q, sizeof q, t);
            free(t);
            len += (size_t)snprintf(script + len, cap - len, "%s%s %zu", k ? ", " : "", q, k);
        }
        len += (size_t)snprintf(script + len, cap - len, ") noenhanced\nset xrange [-0.5:%zu.5]\n", nx - 1);
    }
    const char *style = numeric && nx > 1 ? "linespoints" : "points pointsize 1.5";
    snprintf(script + len, cap - len, "plot for [i=0:%zu] '%s' index i using 1:2 with %s title columnheader(1)\n",
             ng - 1, data, style);
    json_decref(xs);
    json_decref(groups);
    int rc = ok ? an_plot(out, name, script) : AN_EIO;
    free(script);
    if (rc != 0)
        fprintf(stderr, "pmarena: the plot %s/%s.png failed (%s; see %s/%s.log)\n", out, name,
                rc == AN_ETOOL ? "gnuplot is missing or failed" : "cannot write its files", out, name);
    return rc == 0 ? 0 : EXP_FAIL;
}

/* sweep.csv: one row per point, its parameters then the metrics. */
static int write_table(const char *out, row *rows, size_t n)
{
    char *path = an_path_join(out, "sweep", ".csv");
    an_file af;
    if (!path || an_file_open(&af, path) != 0) {
        fprintf(stderr, "pmarena: cannot write %s/sweep.csv: %s\n", out, strerror(errno));
        free(path);
        return EXP_FAIL;
    }
    an_csv c;
    an_csv_begin(&c, af.f);
    an_csv_str(&c, "point");
    const char *pk;
    json_t *pv;
    json_object_foreach(rows[0].params, pk, pv)
        an_csv_str(&c, pk);
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++)
        an_csv_str(&c, metrics[m]);
    an_csv_end(&c);
    for (size_t i = 0; i < n; i++) {
        an_csv_u64(&c, rows[i].index);
        json_object_foreach(rows[0].params, pk, pv)
            csv_value(&c, json_object_get(rows[i].params, pk));
        for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++)
            csv_value(&c, cfg_json_path(rows[i].summary, metrics[m]));
        an_csv_end(&c);
    }
    int rc = an_file_commit(&af);
    if (rc)
        fprintf(stderr, "pmarena: cannot write %s: %s\n", path, strerror(errno));
    free(path);
    return rc ? EXP_FAIL : 0;
}

int sweep_table(const char *const *dirs, int ndirs, const char *out, bool quiet)
{
    int rc = sweep_ident_check(dirs, ndirs);
    if (rc)
        return rc;
    row *rows = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < ndirs && rc == 0; i++)
        rc = collect(dirs[i], &rows, &n, &cap);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "pmarena: no finished points found\n");
        rc = EXP_FAIL;
    }
    if (rc) {
        for (size_t i = 0; i < n; i++) {
            json_decref(rows[i].params);
            json_decref(rows[i].summary);
        }
        free(rows);
        return rc;
    }
    qsort(rows, n, sizeof *rows, row_cmp);
    /* Shards may overlap when merged twice: keep one row per index. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && rows[k - 1].index == rows[i].index) {
            json_decref(rows[i].params);
            json_decref(rows[i].summary);
            continue;
        }
        rows[k++] = rows[i];
    }
    n = k;
    int status = an_mkdir_p(out) == 0 ? write_table(out, rows, n) : EXP_FAIL;
    const char *pk;
    json_t *pv;
    json_object_foreach(rows[0].params, pk, pv)
        for (size_t m = 0; m < sizeof plotted / sizeof plotted[0]; m++)
            if (plot_one(out, rows, n, plotted[m], pk) != 0)
                status = EXP_FAIL;
    if (!quiet)
        printf("%zu points: %s/sweep.csv\n", n, out);
    for (size_t i = 0; i < n; i++) {
        json_decref(rows[i].params);
        json_decref(rows[i].summary);
    }
    free(rows);
    return status;
}
