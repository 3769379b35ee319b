/*
 * internal.h - what the analysis files share and nobody else sees: the
 * count-of-counts table of a wear vector (wear_stats.c).
 */
#ifndef PMARENA_ANALYSIS_INTERNAL_H
#define PMARENA_ANALYSIS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- count-of-counts table (wear_stats.c) ------------------------------------ */

/* The distinct values of a count vector with their multiplicities, ascending:
 * val[i] occurs w[i] times (w[i] may be 0 in the dense part, see
 * wear_stats.c). Both arrays are in the layout GSL's weighted statistics take
 * (gsl_stats_wmean etc. with stride 1), and sum(w) == n. */
typedef struct an_table {
    double *val, *w;
    size_t len;                /* entries in val and w */
    uint64_t n, total, max, touched;
} an_table;

/* Builds t from counts[0..n), n >= 1. AN_ENOMEM, else 0. */
int an_table_build(an_table *t, const uint64_t *counts, size_t n);
void an_table_free(an_table *t);

/* gsl_stats_quantile_from_sorted_data's value at fraction f (0 <= f <= 1),
 * computed from the table with the same arithmetic, so bit-identical. */
double an_table_quantile(const an_table *t, double f);

/* Gini coefficient (NAN when total is 0). */
double an_table_gini(const an_table *t);

#endif
