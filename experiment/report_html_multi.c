/*
 * report_html_multi.c - the HTML pages over several runs: a sweep folder
 * (its sweep.csv as a sortable table with the swept keys highlighted, and
 * its plots of each metric against each swept parameter) and runs given
 * side by side (report.c's figures, one row per run, and the config keys
 * whose values differ between them, highlighted).
 */
#include "report_html.h"
#include "pmarena/analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *sweep_caption(const char *name)
{
    (void)name;
    return "The metric (y) against one swept parameter (x), one line per combination of the other swept "
           "parameters (told apart by dash and point type as well as colour). The name reads "
           "sweep_METRIC_vs_PARAMETER.";
}

int html_sweep_page(html *h, const char *dir)
{
    json_t *id = html_load_json(dir, "sweep.json");
    if (!id)
        return EXP_BADINPUT;
    const char *name = json_string_value(json_object_get(json_object_get(id, "base"), "name"));
    char title[300];
    snprintf(title, sizeof title, "pmarena sweep: %s", name ? name : dir);
    html_begin(h, title);
    FILE *f = h->f;
    fputs("<h2 id=\"h-what\">What was swept</h2>\n<dl class=\"prov\">\n<dt>results folder</dt><dd>", f);
    html_esc(f, dir);
    fputs("</dd>\n", f);
    const char *keys[] = {"version", "git_revision", "base_hash", "trace_checksum", "npoints"};
    for (int i = 0; i < 5; i++) {
        fprintf(f, "<dt>%s</dt><dd>", keys[i]);
        html_json_value(f, json_object_get(id, keys[i]));
        fputs("</dd>\n", f);
    }
    fputs("</dl>\n<p>Swept config keys (highlighted in the table):</p>\n<ul>\n", f);
    json_t *sw = json_object_get(id, "sweep"), *v;
    const char *k;
    size_t n = json_object_size(sw), i = 0;
    const char **hl = calloc(n ? n : 1, sizeof *hl);
    json_object_foreach(sw, k, v) {
        if (hl)
            hl[i++] = k;
        fputs("<li><strong>", f);
        html_esc(f, k);
        fputs("</strong>: ", f);
        html_json_value(f, v);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n<h2 id=\"h-points\">Points</h2>\n<p>Click a column header to sort by it (again: reversed).</p>\n", f);
    char *csv = an_path_join(dir, "sweep.csv", "");
    int rc = csv ? html_csv_table(h, csv, "The finished points (sweep.csv)", hl, (int)i) : EXP_FAIL;
    free(csv);
    free(hl);
    if (rc == EXP_OK) {
        fputs("<h2 id=\"h-plots\">Plots</h2>\n", f);
        if (html_plots_matching(h, dir, "sweep_", sweep_caption) == 0)
            fputs("<p class=\"missing\">No plots in this folder (no sweep_*.gp scripts).</p>\n", f);
    }
    json_decref(id);
    return rc;
}

/* Each leaf of a JSON object under a dotted path, into flat (path -> value). */
static void flatten(json_t *o, const char *prefix, json_t *flat)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v))
            flatten(v, path, flat);
        else
            json_object_set(flat, path, v);
    }
}

int html_multi_page(html *h, const char *const *dirs, int n)
{
    exp_report r;
    int rc = exp_report_load(&r, dirs, n);
    if (rc)
        return rc;
    json_t **flat = calloc((size_t)n, sizeof *flat), *all = json_object();
    for (int k = 0; k < n && flat && all; k++) {
        json_t *s = html_load_json(dirs[k], "summary.json");
        flat[k] = json_object();
        if (s && flat[k])
            flatten(json_object_get(s, "config"), "", flat[k]);
        json_decref(s);
        if (flat[k])
            json_object_update(all, flat[k]);
    }
    html_begin(h, "pmarena: runs side by side");
    FILE *f = h->f;
    fputs("<h2 id=\"h-runs\">Runs</h2>\n<p>One row per run; click a column header to sort by it (again: "
          "reversed).</p>\n<div class=\"wide\"><table class=\"sortable\">\n<caption>Key figures of each run "
          "(summary.json)</caption>\n<thead><tr><th scope=\"col\"><button type=\"button\">run</button></th>", f);
    for (size_t i = 0; i < r.nmetrics; i++) {
        fputs("<th scope=\"col\"><button type=\"button\">", f);
        html_esc(f, exp_report_metric(i));
        fputs("</button></th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (int k = 0; k < n; k++) {
        fputs("<tr><td>", f);
        html_esc(f, dirs[k]);
        fputs("</td>", f);
        for (size_t i = 0; i < r.nmetrics; i++) {
            const exp_report_cell *c = exp_report_at(&r, i, k);
            if (c->is_int)
                fprintf(f, "<td>%lld</td>", (long long)c->ivalue);
            else if (isfinite(c->value))
                fprintf(f, "<td>%.6g</td>", c->value);
            else
                fputs("<td>-</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n<h2 id=\"h-config\">Config</h2>\n<p>Keys whose values differ between the runs "
          "are in bold on a shaded background and marked &ldquo;differs&rdquo;.</p>\n<div class=\"wide\"><table>\n"
          "<thead><tr><th scope=\"col\">config key</th>", f);
    for (int k = 0; k < n; k++) {
        fputs("<th scope=\"col\">", f);
        html_esc(f, dirs[k]);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    const char *key;
    json_t *v;
    json_object_foreach(all, key, v) {
        bool differs = false;
        for (int k = 1; k < n && flat && flat[0] && flat[k]; k++)
            differs |= !json_equal(json_object_get(flat[0], key), json_object_get(flat[k], key));
        fputs(differs ? "<tr class=\"diff\"><td>" : "<tr><td>", f);
        html_esc(f, key);
        fputs(differs ? " (differs)</td>" : "</td>", f);
        for (int k = 0; k < n; k++) {
            fputs("<td>", f);
            html_json_value(f, flat && flat[k] ? json_object_get(flat[k], key) : NULL);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
    for (int k = 0; k < n && flat; k++)
        json_decref(flat[k]);
    free(flat);
    json_decref(all);
    exp_report_free(&r);
    return EXP_OK;
}
