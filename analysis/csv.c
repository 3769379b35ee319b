/*
 * csv.c - the one CSV writer every CSV of pmarena goes through (RFC 4180).
 *
 * A field is quoted when it holds a comma, a double quote, CR or LF (or
 * starts or ends with a space, which some readers trim), with its quotes
 * doubled, so a swept value that is a JSON list or object stays one field for
 * Python's csv, pandas and gnuplot alike. Numbers use an_fmt_double (the
 * shortest text that reads back to the same double); NAN is an empty field.
 * Records end in "\n": RFC 4180 names CRLF, but every reader we target takes
 * LF, and gnuplot reads CR as part of the last field.
 */
#include "pmarena/analysis.h"

#include <inttypes.h>
#include <string.h>

static void sep(an_csv *c)
{
    if (c->col++ > 0)
        fputc(',', c->f);
}

void an_csv_begin(an_csv *c, FILE *f)
{
    c->f = f;
    c->col = 0;
}

void an_csv_str(an_csv *c, const char *s)
{
    sep(c);
    if (!s)
        return;
    size_t n = strlen(s);
    bool quote = strpbrk(s, ",\"\r\n") != NULL || (n && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        fputs(s, c->f);
        return;
    }
    fputc('"', c->f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', c->f);
        fputc(*s, c->f);
    }
    fputc('"', c->f);
}

void an_csv_u64(an_csv *c, uint64_t v)
{
    sep(c);
    fprintf(c->f, "%" PRIu64, v);
}

void an_csv_i64(an_csv *c, int64_t v)
{
    sep(c);
    fprintf(c->f, "%" PRId64, v);
}

void an_csv_double(an_csv *c, double v)
{
    char buf[40];
    an_fmt_double(buf, sizeof buf, v);
    sep(c);
    fputs(buf, c->f);
}

void an_csv_end(an_csv *c)
{
    fputc('\n', c->f);
    c->col = 0;
}

void an_csv_row(an_csv *c, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        an_csv_str(c, fields[i]);
    an_csv_end(c);
}
