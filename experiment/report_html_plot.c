/*
 * report_html_plot.c - a results folder's plots inlined in the HTML report:
 * each <name>.gp is drawn again with gnuplot's svg terminal (an_plot_svg,
 * into a temporary file) and the SVG copied into the page.
 *
 * On the way the SVG is made fit to sit beside others in one page: the XML
 * prolog and the namespace declarations go (the HTML parser puts <svg> in
 * the SVG namespace and knows xlink:href without them, and no URL stays in
 * the page), every id and reference to one gets the figure's prefix (gnuplot
 * names its point symbols gpPt0.. in every plot: two plots would share them),
 * and gnuplot's <title> becomes the plot's own, with role="img" so screen
 * readers read it as the figure's text alternative.
 */
#include "report_html.h"
#include "pmarena/analysis.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The whole file, NUL-terminated; NULL when unreadable. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b)
        b[len] = '\0';
    return b;
}

static bool starts(const char *p, const char *s) { return !strncmp(p, s, strlen(s)); }

/* Copies gnuplot's SVG into the page (see the file comment). false when it
 * is not an SVG document. */
static bool copy_svg(html *h, const char *svg, const char *title, int n)
{
    const char *p = strstr(svg, "<svg"), *end = strstr(svg, "</svg>");
    if (!p || !end || end < p)
        return false;
    FILE *f = h->f;
    fprintf(f, "<svg role=\"img\" aria-labelledby=\"p%d-t\"", n);
    p += 4;
    bool title_done = false;
    while (p < end) {
        if (starts(p, " xmlns") || starts(p, "\n xmlns")) {   /* drop the attribute */
            const char *q = strchr(p, '"');
            q = q ? strchr(q + 1, '"') : NULL;
            if (q && q < end) {
                p = q + 1;
                continue;
            }
        }
        if (!title_done && starts(p, "<title>")) {
            const char *q = strstr(p, "</title>");
            if (q && q < end) {
                fprintf(f, "<title id=\"p%d-t\">", n);
                html_esc(f, title);
                fputs("</title>", f);
                p = q + 8;
                title_done = true;
                continue;
            }
        }
        if (starts(p, "id='") || starts(p, "id=\"")) {
            fprintf(f, "%.4sp%d-", p, n);
            p += 4;
            continue;
        }
        if (starts(p, "href='#") || starts(p, "href=\"#")) {
            fprintf(f, "%.7sp%d-", p, n);
            p += 7;
            continue;
        }
        if (starts(p, "url(#")) {
            fprintf(f, "url(#p%d-", n);
            p += 5;
            continue;
        }
        fputc(*p++, f);
    }
    fputs("</svg>\n", f);
    return true;
}

void html_plot(html *h, const char *dir, const char *name, const char *title, const char *caption)
{
    int n = ++h->plots;
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/pmarena-svg-XXXXXX.svg", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemps(tmp, 4);
    char *svg = NULL;
    int rc = AN_EIO;
    if (fd >= 0) {
        close(fd);
        rc = an_plot_svg(dir, name, tmp);
        if (rc == 0)
            svg = slurp(tmp);
        unlink(tmp);
    }
    fputs("<figure>\n", h->f);
    if (!svg || !copy_svg(h, svg, title, n)) {
        h->missing++;
        fputs("<p class=\"missing\">Plot not available: ", h->f);
        html_esc(h->f, name);
        fputs(rc == AN_EINVAL ? ".gp predates SVG output (redraw with a current pmarena: pmarena plot DIR)"
              : rc == AN_ETOOL ? ".gp failed in gnuplot"
                               : ".gp could not be drawn",
              h->f);
        fputs("</p>\n", h->f);
    }
    free(svg);
    fputs("<figcaption><strong>", h->f);
    html_esc(h->f, title);
    fputs("</strong> (", h->f);
    html_esc(h->f, name);
    fputs(".gp). ", h->f);
    html_esc(h->f, caption ? caption : "Drawn from the data files beside its script in the results folder.");
    fputs("</figcaption>\n</figure>\n", h->f);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int html_plots_matching(html *h, const char *dir, const char *prefix, const char *(*caption_of)(const char *name))
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".gp") || strncmp(e->d_name, prefix, strlen(prefix)))
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        names[n] = strndup(e->d_name, len - 3);
        if (names[n])
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        const char *cap_text = caption_of ? caption_of(names[i]) : NULL;
        html_plot(h, dir, names[i], names[i], cap_text);
        free(names[i]);
    }
    free(names);
    return (int)n;
}
