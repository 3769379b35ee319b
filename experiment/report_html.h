/*
 * report_html.h - what the HTML report's files share (report_html*.c): the
 * page writer (skeleton, escaping, style, the sort script), plots inlined as
 * SVG, tables from CSV files, and the three page bodies (a run, a sweep or
 * several runs, a bench folder).
 */
#ifndef PMARENA_EXPERIMENT_REPORT_HTML_H
#define PMARENA_EXPERIMENT_REPORT_HTML_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "pmarena/experiment.h"

typedef struct html {
    FILE *f;
    int plots;       /* figures written, numbered for their SVG ids */
    int missing;     /* plots that could not be drawn (a "not available" note each) */
} html;

/* Text with & < > " ' escaped (every string from results or a config). */
void html_esc(FILE *f, const char *s);
/* Doctype, head (title, style) and the opening of <main> with an <h1>. */
void html_begin(html *h, const char *title);
/* The sort script and the closing tags. */
void html_end(html *h);

/* <figure> with dir/name.gp drawn again as SVG, its title/alt text and the
 * caption (how to read it); a "plot not available" note when the script is
 * missing or predates SVG output. */
void html_plot(html *h, const char *dir, const char *name, const char *title, const char *caption);
/* Every *.gp in dir whose name starts with prefix, in name order, each with
 * caption_of(name) (NULL: a generic caption). Returns how many. */
int html_plots_matching(html *h, const char *dir, const char *prefix, const char *(*caption_of)(const char *name));

/* A CSV file (RFC 4180, first row the header) as a sortable table; columns
 * whose header is in hl[0..nhl) are highlighted. 0, or EXP_BADINPUT after
 * naming the file and line on stderr. */
int html_csv_table(html *h, const char *path, const char *caption, const char *const *hl, int nhl);

/* A JSON scalar as text (numbers to 6 significant digits; null "-"). */
void html_json_value(FILE *f, json_t *v);
/* Loads dir/name as a JSON object; NULL after naming the file on stderr. */
json_t *html_load_json(const char *dir, const char *name);

/* The page bodies. */
int html_run_page(html *h, const char *dir);
int html_multi_page(html *h, const char *const *dirs, int n);
int html_sweep_page(html *h, const char *dir);
int html_bench_page(html *h, const char *dir);

#endif
