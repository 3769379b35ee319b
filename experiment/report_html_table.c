/*
 * report_html_table.c - a CSV file of a results folder (sweep.csv,
 * throughput.csv, wear.csv) as a sortable HTML table. The file is read with
 * libcsv (RFC 4180: quoted fields, embedded commas and newlines); numbers are
 * shown to 6 significant digits, which is what the sort script compares.
 */
#include "report_html.h"

#include <csv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cells {
    char **v;            /* fields, row after row */
    size_t n, cap;
    size_t *rowlen;      /* fields per row */
    size_t rows, rcap;
    size_t cur;          /* fields in the row being read */
    bool oom;
} cells;

static void on_field(void *s, size_t len, void *data)
{
    cells *c = data;
    if (c->oom)
        return;
    if (c->n == c->cap) {
        char **nv = realloc(c->v, (c->cap = c->cap ? c->cap * 2 : 256) * sizeof *nv);
        if (!nv) {
            c->oom = true;
            return;
        }
        c->v = nv;
    }
    char *t = malloc(len + 1);
    if (!t) {
        c->oom = true;
        return;
    }
    memcpy(t, s, len);
    t[len] = '\0';
    c->v[c->n++] = t;
    c->cur++;
}

static void on_row(int term, void *data)
{
    (void)term;
    cells *c = data;
    if (c->oom)
        return;
    if (c->rows == c->rcap) {
        size_t *nr = realloc(c->rowlen, (c->rcap = c->rcap ? c->rcap * 2 : 64) * sizeof *nr);
        if (!nr) {
            c->oom = true;
            return;
        }
        c->rowlen = nr;
    }
    c->rowlen[c->rows++] = c->cur;
    c->cur = 0;
}

static void cells_free(cells *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c->v);
    free(c->rowlen);
}

/* Reads path; EXP_BADINPUT / EXP_FAIL after saying why. */
static int read_csv(const char *path, cells *c)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "pmarena report: %s: cannot read\n", path);
        return EXP_BADINPUT;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(f);
        return EXP_FAIL;
    }
    char buf[65536];
    size_t got;
    int rc = EXP_OK;
    while (rc == EXP_OK && (got = fread(buf, 1, sizeof buf, f)) > 0)
        if (csv_parse(&p, buf, got, on_field, on_row, c) != got)
            rc = EXP_BADINPUT;
    if (rc == EXP_OK && csv_fini(&p, on_field, on_row, c) != 0)
        rc = EXP_BADINPUT;
    if (rc == EXP_BADINPUT)
        fprintf(stderr, "pmarena report: %s:%zu: %s\n", path, c->rows + 1, csv_strerror(csv_error(&p)));
    csv_free(&p);
    fclose(f);
    if (rc == EXP_OK && c->oom) {
        fprintf(stderr, "pmarena report: out of memory\n");
        rc = EXP_FAIL;
    }
    if (rc == EXP_OK && c->rows == 0) {
        fprintf(stderr, "pmarena report: %s:1: empty (no header line)\n", path);
        rc = EXP_BADINPUT;
    }
    if (rc)
        cells_free(c);
    return rc;
}

static void cell_text(FILE *f, const char *s)
{
    char *end;
    double d = *s ? strtod(s, &end) : NAN;
    if (*s && !*end && isfinite(d) && strpbrk(s, ".eE"))
        fprintf(f, "%.6g", d);
    else
        html_esc(f, *s ? s : "-");
}

int html_csv_table(html *h, const char *path, const char *caption, const char *const *hl, int nhl)
{
    cells c;
    int rc = read_csv(path, &c);
    if (rc)
        return rc;
    FILE *f = h->f;
    size_t ncol = c.rowlen[0];
    bool *mark = calloc(ncol ? ncol : 1, sizeof *mark);
    fputs("<div class=\"wide\"><table class=\"sortable\">\n<caption>", f);
    html_esc(f, caption);
    fputs("</caption>\n<thead><tr>", f);
    for (size_t j = 0; j < ncol; j++) {
        for (int k = 0; k < nhl && mark; k++)
            mark[j] |= !strcmp(c.v[j], hl[k]);
        fprintf(f, "<th scope=\"col\"%s><button type=\"button\">", mark && mark[j] ? " class=\"diff\"" : "");
        html_esc(f, c.v[j]);
        fputs("</button></th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    size_t at = ncol;
    for (size_t r = 1; r < c.rows; r++) {
        fputs("<tr>", f);
        for (size_t j = 0; j < c.rowlen[r]; j++) {
            fputs(mark && j < ncol && mark[j] ? "<td class=\"diff\">" : "<td>", f);
            cell_text(f, c.v[at + j]);
            fputs("</td>", f);
        }
        at += c.rowlen[r];
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table></div>\n", f);
    free(mark);
    cells_free(&c);
    return EXP_OK;
}
