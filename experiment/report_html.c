/*
 * report_html.c - `pmarena report --html`: one self-contained page per
 * results folder (a run, a sweep, a bench folder) or per set of runs. This
 * file owns the page skeleton (escaping, the style sheet with its print
 * rules, the table-sorting script) and picks the page for the folders given;
 * the bodies are report_html_{run,multi,bench}.c, plots report_html_plot.c,
 * CSV tables report_html_table.c.
 *
 * Self-contained means nothing is fetched: no external style, font, script
 * or image; plots are inline SVG. The file is written to a temporary and
 * renamed (an_file), so a failed report leaves no half page.
 */
#include "report_html.h"
#include "pmarena/analysis.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Colours: dark text on white, highlights by weight and a light background
 * (never by colour alone); print drops the buttons' look and keeps figures
 * whole on a page. */
static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:0;color:#111;background:#fff;line-height:1.4}\n"
    "main{max-width:1100px;margin:0 auto;padding:1em}\n"
    "h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #888;margin-top:1.6em}h3{font-size:1.1em}\n"
    "table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}\n"
    "caption{text-align:left;font-weight:bold;padding:.3em 0}\n"
    "th,td{border:1px solid #999;padding:.2em .5em;text-align:right;vertical-align:top}\n"
    "th{background:#eee}th:first-child,td:first-child{text-align:left}\n"
    ".wide{overflow-x:auto}\n"
    "th button{font:inherit;font-weight:bold;background:none;border:0;padding:0;cursor:pointer;color:inherit}\n"
    "th button::after{content:' \\2195'}th[aria-sort=ascending] button::after{content:' \\2191'}\n"
    "th[aria-sort=descending] button::after{content:' \\2193'}\n"
    ".diff{font-weight:bold;background:#ffe8a8;outline:2px solid #000}\n"
    ".headline{border:2px solid #000;padding:.5em 1em;background:#f4f4f4}\n"
    ".headline li{margin:.2em 0}\n"
    "figure{margin:1em 0;page-break-inside:avoid;break-inside:avoid}\n"
    "figure svg{max-width:100%;height:auto;display:block;border:1px solid #ccc}\n"
    "figcaption{font-size:.9em;margin-top:.3em}\n"
    ".missing{border:1px dashed #000;padding:1em}\n"
    "dl.prov{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}dl.prov dd{margin:0;font-family:monospace}\n"
    "@media print{main{max-width:none;padding:0}th button{padding:0}"
    "th button::after{content:''}.wide{overflow:visible}h2{page-break-after:avoid;break-after:avoid}"
    "a{color:inherit;text-decoration:none}}\n";

/* Sorts a table's body by the clicked column: numbers numerically (empty
 * and "-" last), anything else as text; a second click reverses. */
static const char script[] =
    "document.querySelectorAll('table.sortable').forEach(function(t){\n"
    " t.querySelectorAll('thead th').forEach(function(th,i){\n"
    "  var b=th.querySelector('button');if(!b)return;\n"
    "  b.addEventListener('click',function(){\n"
    "   var asc=th.getAttribute('aria-sort')!=='ascending';\n"
    "   t.querySelectorAll('thead th').forEach(function(o){o.removeAttribute('aria-sort')});\n"
    "   th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
    "   var tb=t.tBodies[0],rows=Array.prototype.slice.call(tb.rows);\n"
    "   function key(r){var s=r.cells[i].textContent.trim(),n=Number(s);\n"
    "    return s===''||s==='-'?null:(isNaN(n)?s:n)}\n"
    "   rows.sort(function(a,b){var x=key(a),y=key(b);\n"
    "    if(x===null||y===null)return x===y?0:(x===null?1:-1);\n"
    "    var c=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y),undefined,{numeric:true});\n"
    "    return asc?c:-c});\n"
    "   rows.forEach(function(r){tb.appendChild(r)});\n"
    "  })})});\n";

void html_begin(html *h, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n<title>",
          h->f);
    html_esc(h->f, title);
    fprintf(h->f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>", style);
    html_esc(h->f, title);
    fputs("</h1>\n", h->f);
}

void html_end(html *h)
{
    fprintf(h->f, "<p><small>Written by pmarena %s.</small></p>\n</main>\n<script>\n%s</script>\n</body>\n</html>\n",
            PMARENA_VERSION, script);
}

void html_json_value(FILE *f, json_t *v)
{
    if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v) && isfinite(json_real_value(v)))
        fprintf(f, "%.6g", json_real_value(v));
    else if (json_is_string(v))
        html_esc(f, json_string_value(v));
    else if (json_is_true(v) || json_is_false(v))
        fputs(json_is_true(v) ? "true" : "false", f);
    else if (!v || json_is_null(v) || json_is_real(v))
        fputs("-", f);
    else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        html_esc(f, t ? t : "");
        free(t);
    }
}

json_t *html_load_json(const char *dir, const char *name)
{
    char *p = an_path_join(dir, name, "");
    if (!p) {
        fprintf(stderr, "pmarena report: out of memory\n");
        return NULL;
    }
    json_error_t je;
    json_t *v = json_load_file(p, 0, &je);
    if (!v || !json_is_object(v)) {
        if (v)
            fprintf(stderr, "pmarena report: %s: not a JSON object\n", p);
        else if (je.line > 0)
            fprintf(stderr, "pmarena report: %s:%d:%d: %s\n", p, je.line, je.column, je.text);
        else
            fprintf(stderr, "pmarena report: %s: %s\n", p, je.text);
        json_decref(v);
        v = NULL;
    }
    free(p);
    return v;
}

static bool has(const char *dir, const char *name)
{
    char *p = an_path_join(dir, name, "");
    bool ok = p && access(p, R_OK) == 0;
    free(p);
    return ok;
}

int exp_report_html(const char *out, const char *const *dirs, int n)
{
    if (n <= 0 || !out || !*out)
        return EXP_BADINPUT;
    /* Which page, decided before anything is written. */
    enum { RUN, SWEEP, BENCH, MULTI } kind = MULTI;
    if (n == 1) {
        if (has(dirs[0], "summary.json"))
            kind = RUN;
        else if (has(dirs[0], "sweep.csv"))
            kind = SWEEP;
        else if (has(dirs[0], "throughput.csv") || has(dirs[0], "wear.csv"))
            kind = BENCH;
        else {
            fprintf(stderr, "pmarena report: %s: not a results folder (no summary.json, sweep.csv, "
                            "throughput.csv or wear.csv)\n", dirs[0]);
            return EXP_BADINPUT;
        }
    }
    an_file af;
    if (an_file_open(&af, out) != 0) {
        fprintf(stderr, "pmarena report: %s: %s\n", out, strerror(errno));
        return EXP_FAIL;
    }
    html h = {.f = af.f};
    int rc = kind == RUN     ? html_run_page(&h, dirs[0])
             : kind == SWEEP ? html_sweep_page(&h, dirs[0])
             : kind == BENCH ? html_bench_page(&h, dirs[0])
                             : html_multi_page(&h, dirs, n);
    if (rc) {
        an_file_abort(&af);
        return rc;
    }
    html_end(&h);
    if (an_file_commit(&af) != 0) {
        fprintf(stderr, "pmarena report: %s: %s\n", out, strerror(errno));
        return EXP_FAIL;
    }
    return EXP_OK;
}
