/*
 * report_html_run.c - the HTML page of one run: what was run (provenance,
 * config), the headline answer (the hottest cell and whose writes made it,
 * the lifetime fraction, fragmentation at the end), then the summary's
 * tables with units and every plot of the folder with a caption saying how
 * to read it. Everything comes from summary.json and the folder's .gp files.
 */
#include "report_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const sections[] = {"wear", "wear_data", "wear_meta", "wear_links", "fragmentation", "time", "heap"};

/* The unit of a summary figure, from its name: the names follow a few rules
 * (DESIGN.md: counts of cell writes, _ns, _s, _bytes, fractions). */
static const char *unit_of(const char *section, const char *key)
{
    size_t n = strlen(key);
#define ENDS(s) (n >= sizeof s - 1 && !strcmp(key + n - (sizeof s - 1), s))
    if (ENDS("_ns"))
        return "ns";
    if (ENDS("_s"))
        return "s";
    if (ENDS("per_s"))
        return "per second";
    if (ENDS("bytes") || ENDS("footprint") || ENDS("requested") || !strcmp(key, "footprint") ||
        ENDS("bytes_written"))
        return "bytes";
    if (!strcmp(section, "fragmentation") && strcmp(key, "samples"))
        return "fraction";
    if (ENDS("fraction") || !strcmp(key, "gini") || !strcmp(key, "cov"))
        return "ratio";
    if (!strcmp(key, "hotspot"))
        return "max / mean";
    if (!strncmp(section, "wear", 4)) {
        if (ENDS("writes") || !strcmp(key, "max") || key[0] == 'p')
            return "cell writes";
        if (!strcmp(key, "mean") || !strcmp(key, "stddev"))
            return "cell writes per cell";
        if (!strcmp(key, "cells_touched") || !strcmp(key, "cells"))
            return "cells";
        if (ENDS("_cell"))
            return "cell index";
    }
    return "count";
#undef ENDS
}

static void section_table(html *h, json_t *s, const char *name)
{
    json_t *o = json_object_get(s, name);
    if (!json_is_object(o))
        return;
    fprintf(h->f, "<h3 id=\"t-%s\">%s</h3>\n<table>\n<thead><tr><th scope=\"col\">figure</th>"
                  "<th scope=\"col\">value</th><th scope=\"col\">unit</th></tr></thead>\n<tbody>\n",
            name, name);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (json_is_object(v)) {   /* touched.*, meta_by_kind.*: one level down, dotted */
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                if (json_is_object(v2))
                    continue;   /* meta_by_kind: its own table below */
                fputs("<tr><td>", h->f);
                html_esc(h->f, k);
                fputc('.', h->f);
                html_esc(h->f, k2);
                fputs("</td><td>", h->f);
                html_json_value(h->f, v2);
                fprintf(h->f, "</td><td>%s</td></tr>\n", unit_of(name, k2));
            }
            continue;
        }
        fputs("<tr><td>", h->f);
        html_esc(h->f, k);
        fputs("</td><td>", h->f);
        html_json_value(h->f, v);
        fprintf(h->f, "</td><td>%s</td></tr>\n", unit_of(name, k));
    }
    fputs("</tbody></table>\n", h->f);
}

/* Metadata writes by kind (wear.meta_by_kind): who wears the metadata. */
static void kinds_table(html *h, json_t *s)
{
    json_t *o = json_object_get(json_object_get(s, "wear"), "meta_by_kind");
    if (!json_is_object(o))
        return;
    fputs("<table class=\"sortable\">\n<caption>Metadata writes by kind (wear.meta_by_kind; click a header to sort)</caption>\n"
          "<thead><tr><th scope=\"col\"><button type=\"button\">kind</button></th>"
          "<th scope=\"col\"><button type=\"button\">writes (cell writes)</button></th>"
          "<th scope=\"col\"><button type=\"button\">hottest cell (index)</button></th>"
          "<th scope=\"col\"><button type=\"button\">its writes</button></th></tr></thead>\n<tbody>\n",
          h->f);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        fputs("<tr><td>", h->f);
        html_esc(h->f, k);
        const char *f[] = {"writes", "hottest_cell", "hottest_count"};
        for (int i = 0; i < 3; i++) {
            fputs("</td><td>", h->f);
            html_json_value(h->f, json_object_get(v, f[i]));
        }
        fputs("</td></tr>\n", h->f);
    }
    fputs("</tbody></table>\n", h->f);
}

static double num(json_t *s, const char *sec, const char *key)
{
    json_t *v = json_object_get(json_object_get(s, sec), key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The answer first: the hottest cell and whose writes made it. */
static void headline(html *h, json_t *s)
{
    FILE *f = h->f;
    double max = num(s, "wear", "max"), dmax = num(s, "wear_data", "max"), mmax = num(s, "wear_meta", "max");
    double lmax = num(s, "wear_links", "max");
    fputs("<section class=\"headline\" aria-labelledby=\"h-answer\">\n<h2 id=\"h-answer\">The answer</h2>\n<ul>\n", f);
    if (isfinite(max)) {
        const char *who = "data";
        double best = isfinite(dmax) ? dmax : -1;
        if (isfinite(mmax) && mmax > best) {
            who = "metadata";
            best = mmax;
        }
        if (isfinite(lmax) && lmax > best)
            who = "the link table";
        fprintf(f, "<li><strong>Hottest cell: %.0f writes</strong>, by %s", max, who);
        if (!strcmp(who, "metadata")) {
            /* the kind whose hottest cell is hottest */
            json_t *o = json_object_get(json_object_get(s, "wear"), "meta_by_kind"), *v;
            const char *k, *kind = NULL;
            double top = -1;
            json_object_foreach(o, k, v) {
                json_t *c = json_object_get(v, "hottest_count");
                if (json_is_number(c) && json_number_value(c) > top) {
                    top = json_number_value(c);
                    kind = k;
                }
            }
            if (kind) {
                fputs(" (kind: ", f);
                html_esc(f, kind);
                fputc(')', f);
            }
        }
        fprintf(f, "; hottest data cell %.0f, hottest metadata cell %.0f writes.</li>\n", dmax, mmax);
    }
    double lf = num(s, "wear", "lifetime_fraction"), pl = num(s, "wear", "projected_lifetime_s");
    if (isfinite(lf))
        fprintf(f, "<li><strong>Lifetime fraction: %.3g</strong> (mean / max writes per cell: 1 is perfectly "
                   "even wear)%s", lf, isfinite(pl) ? "" : ".</li>\n");
    if (isfinite(lf) && isfinite(pl))
        fprintf(f, "; projected lifetime %.4g s at this write rate.</li>\n", pl);
    double in = num(s, "fragmentation", "internal_final"), ex = num(s, "fragmentation", "external_final");
    double ut = num(s, "fragmentation", "utilization_final");
    fputs("<li><strong>Fragmentation at the end:</strong> internal ", f);
    fprintf(f, isfinite(in) ? "%.3g" : "-", in);
    fputs(", external ", f);
    fprintf(f, isfinite(ex) ? "%.3g" : "-", ex);
    fputs(", utilization ", f);
    fprintf(f, isfinite(ut) ? "%.3g" : "-", ut);
    fputs(" (fractions).</li>\n</ul>\n</section>\n", f);
}

static void provenance(html *h, json_t *s, const char *dir)
{
    FILE *f = h->f;
    fputs("<h2 id=\"h-what\">What was run</h2>\n<dl class=\"prov\">\n<dt>results folder</dt><dd>", f);
    html_esc(f, dir);
    fputs("</dd>\n", f);
    json_t *p = json_object_get(s, "provenance"), *v;
    const char *k;
    json_object_foreach(p, k, v) {
        fputs("<dt>", f);
        html_esc(f, k);
        fputs("</dt><dd>", f);
        html_json_value(f, v);
        fputs("</dd>\n", f);
    }
    fputs("</dl>\n", f);
    if (!json_is_object(p))
        fputs("<p>This summary.json has no provenance block (an older pmarena).</p>\n", f);
    json_t *cfg = json_object_get(s, "config");
    json_t *c = json_object_get(cfg, "comment");
    if (json_is_string(c)) {
        fputs("<p>", f);
        html_esc(f, json_string_value(c));
        fputs("</p>\n", f);
    }
    char *t = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (t) {
        fputs("<details><summary>The resolved config (summary.json: config)</summary>\n<pre>", f);
        html_esc(f, t);
        fputs("</pre></details>\n", f);
        free(t);
    }
}

static const char *caption_of(const char *name)
{
    static const struct { const char *name, *caption; } c[] = {
        {"wear_hist", "How many cells received how many writes. Top: equal-width bins; bottom: log2 bins "
                      "(bin k holds cells with 2^(k-1) to 2^k - 1 writes, bin 0 the unwritten ones). A long "
                      "tail to the right is a hot spot; y is log scale when the counts span 100x."},
        {"wear_cdf", "The fraction of cells (y) with fewer than x writes. A curve that rises late and "
                     "steeply is even wear; one that reaches near 1 early with a far right end is a few hot cells."},
        {"heatmap", "Writes per region of the device, in address order (row 0, the lowest addresses, at the "
                    "top). Darker or brighter blocks stand out from the scale on the right: labels name the "
                    "metadata kind of the hottest regions where known."},
        {"meta_kinds", "Per kind (data and each metadata kind): bars of total writes and of the hottest cell's "
                       "count. The kind with the tallest hottest-cell bar is what wears the device out first."},
        {"frag", "Over the replay (x: trace events). Top: bytes requested, allocated and the footprint; bottom: "
                 "internal and external fragmentation and utilization, fractions in [0, 1]."},
        {"wear_time", "Over the replay (x: trace events). Top: cell writes so far; bottom: the hottest cell's "
                      "count, for all writes, data, metadata and links (line and dash type per series)."},
        {"failures", "Cells failed over the run's writes (device.endurance): how quickly capacity is lost."},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (!strcmp(name, c[i].name))
            return c[i].caption;
    return NULL;
}

int html_run_page(html *h, const char *dir)
{
    json_t *s = html_load_json(dir, "summary.json");
    if (!s)
        return EXP_BADINPUT;
    const char *name = json_string_value(json_object_get(json_object_get(s, "config"), "name"));
    char title[300];
    snprintf(title, sizeof title, "pmarena run: %s", name ? name : dir);
    html_begin(h, title);
    fputs("<nav aria-label=\"contents\"><a href=\"#h-answer\">The answer</a> &middot; <a href=\"#h-what\">What was run</a>"
          " &middot; <a href=\"#h-tables\">Tables</a> &middot; <a href=\"#h-plots\">Plots</a></nav>\n", h->f);
    headline(h, s);
    provenance(h, s, dir);
    fputs("<h2 id=\"h-tables\">Tables</h2>\n", h->f);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        section_table(h, s, sections[i]);
        if (i == 0)
            kinds_table(h, s);
    }
    fputs("<h2 id=\"h-plots\">Plots</h2>\n", h->f);
    if (html_plots_matching(h, dir, "", caption_of) == 0)
        fputs("<p class=\"missing\">No plots in this folder (no .gp scripts).</p>\n", h->f);
    json_decref(s);
    return EXP_OK;
}
