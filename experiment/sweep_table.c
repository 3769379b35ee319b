/*
 * sweep_table.c - the table and plots of a sweep (sweep.h): sweep.csv with
 * one row per finished point (index, parameter values, key metrics) and, for
 * each plotted metric and each swept parameter, a plot of the metric against
 * the parameter with one line per combination of the other parameters.
 *
 * Only deterministic figures go into the table (no wall-clock time), so the
 * table of a sweep run with -j1, -j2, or in shards merged afterwards, is the
 * same file byte for byte.
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
    "fragmentation.internal", "fragmentation.external", "fragmentation.utilization",
    "fragmentation.peak_footprint", "time.simulated_ns",
};
static const char *const plotted[] = {"wear.max", "wear.meta_writes", "wear.hotspot", "wear.gini",
                                      "fragmentation.internal", "fragmentation.peak_footprint"};

typedef struct row { uint64_t index; json_t *params, *summary; } row;


/* A value as CSV text: strings bare, numbers compact, null empty. */
static void cell_text(json_t *v, char *buf, size_t len)
{
    if (!v || json_is_null(v))
        buf[0] = '\0';
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.9g", json_real_value(v));
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, len, "%s", s ? s : "");
        free(s);
    }
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

/* Plot `metric` against `param`, one line per combination of the others. */
static int plot_one(const char *out, row *rows, size_t n, const char *metric, const char *param)
{
    char ms[100], ps[100], name[240], data[300], path[4600];
    short_name(metric, ms, sizeof ms);
    short_name(param, ps, sizeof ps);
    snprintf(name, sizeof name, "sweep_%s_vs_%s", ms, ps);
    snprintf(data, sizeof data, "%s.dat", name);
    snprintf(path, sizeof path, "%s/%s", out, data);
    /* Distinct x values in order, numeric or not. */
    json_t *xs = json_array();
    bool numeric = true;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_object_get(rows[i].params, param);
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
    char tmp[4700];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        json_decref(xs);
        json_decref(groups);
        return EXP_FAIL;
    }
    const char *gk;
    json_t *g;
    size_t ng = 0;
    json_object_foreach(groups, gk, g) {
        /* {"a.b":"x","c":2} reads as a.b=x c=2 in the key. */
        char label[300];
        size_t ll = 0;
        for (const char *c = strcmp(gk, "{}") ? gk : param; *c && ll < sizeof label - 1; c++) {
            if (*c == '{' || *c == '}' || *c == '"')
                continue;
            label[ll++] = *c == ':' ? '=' : *c == ',' ? ' ' : *c;
        }
        label[ll] = '\0';
        fprintf(f, "%s\"%s\" \"%s\"\n", ng ? "\n\n" : "", label, metric);
        size_t i;
        json_t *ri;
        json_array_foreach(g, i, ri) {
            row *r = &rows[json_integer_value(ri)];
            json_t *x = json_object_get(r->params, param), *y = cfg_json_path(r->summary, metric);
            if (!json_is_number(y))
                continue;
            double xv = 0;
            if (numeric) {
                xv = json_number_value(x);
            } else {
                for (size_t k = 0; k < json_array_size(xs); k++)
                    if (json_equal(json_array_get(xs, k), x))
                        xv = (double)k;
            }
            fprintf(f, "%.9g %.9g\n", xv, json_number_value(y));
        }
        ng++;
    }
    bool ok = fclose(f) == 0 && rename(tmp, path) == 0;
    char script[8192];
    size_t len = (size_t)snprintf(script, sizeof script,
                                  "set title \"%s vs %s\"\nset xlabel \"%s\"\nset ylabel \"%s\"\n"
                                  "set key outside right\nset grid\n", metric, param, param, metric);
    if (numeric && lo > 0 && hi / lo >= 16)
        len += (size_t)snprintf(script + len, sizeof script - len, "set logscale x 2\n");
    if (!numeric) {
        len += (size_t)snprintf(script + len, sizeof script - len, "set xtics (");
        for (size_t k = 0; k < json_array_size(xs) && len < sizeof script - 200; k++) {
            char t[100];
            cell_text(json_array_get(xs, k), t, sizeof t);
            len += (size_t)snprintf(script + len, sizeof script - len, "%s\"%s\" %zu", k ? ", " : "", t, k);
        }
        len += (size_t)snprintf(script + len, sizeof script - len, ")\nset xrange [-0.5:%zu.5]\n",
                                json_array_size(xs) - 1);
    }
    snprintf(script + len, sizeof script - len,
             "plot for [i=0:%zu] '%s' index i using 1:2 with linespoints title columnheader(1)\n", ng - 1, data);
    json_decref(xs);
    json_decref(groups);
    if (!ok)
        return EXP_FAIL;
    return an_plot(out, name, script) == 0 ? 0 : EXP_FAIL;
}

int sweep_table(const char *const *dirs, int ndirs, const char *out, bool quiet)
{
    row *rows = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < ndirs; i++) {
        int rc = collect(dirs[i], &rows, &n, &cap);
        if (rc) {
            free(rows);
            return rc;
        }
    }
    if (n == 0) {
        fprintf(stderr, "pmarena: no finished points found\n");
        free(rows);
        return EXP_FAIL;
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
    mkdir(out, 0755);
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/sweep.csv", out);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "pmarena: cannot write %s: %s\n", path, strerror(errno));
        free(rows);
        return EXP_FAIL;
    }
    fprintf(f, "point");
    const char *pk;
    json_t *pv;
    json_object_foreach(rows[0].params, pk, pv)
        fprintf(f, ",%s", pk);
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++)
        fprintf(f, ",%s", metrics[m]);
    fprintf(f, "\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%llu", (unsigned long long)rows[i].index);
        char t[200];
        json_object_foreach(rows[0].params, pk, pv) {
            cell_text(json_object_get(rows[i].params, pk), t, sizeof t);
            fprintf(f, ",%s", t);
        }
        for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
            cell_text(cfg_json_path(rows[i].summary, metrics[m]), t, sizeof t);
            fprintf(f, ",%s", t);
        }
        fprintf(f, "\n");
    }
    int status = 0;
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        status = EXP_FAIL;
    }
    json_object_foreach(rows[0].params, pk, pv)
        for (size_t m = 0; m < sizeof plotted / sizeof plotted[0]; m++)
            if (plot_one(out, rows, n, plotted[m], pk) != 0 && status == 0) {
                fprintf(stderr, "pmarena: a sweep plot failed (is gnuplot installed?)\n");
                status = EXP_FAIL;
            }
    if (!quiet)
        printf("%zu points: %s\n", n, path);
    for (size_t i = 0; i < n; i++) {
        json_decref(rows[i].params);
        json_decref(rows[i].summary);
    }
    free(rows);
    return status;
}
