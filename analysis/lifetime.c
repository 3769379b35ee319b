/*
 * lifetime.c - projected device lifetime from cell endurance: how long the
 * run's write pattern could repeat before the first cell wears out.
 *
 * A cell written count_i times in `seconds` of simulated time wears at
 * count_i / seconds writes per second; with endurance E_i (writes it takes
 * before failing) it fails after
 *     T_i = E_i / (count_i / seconds) = E_i * seconds / count_i
 * and the device's lifetime is the first failure, min_i T_i over the cells
 * with count_i > 0 (an unwritten cell never fails). This is the usual
 * "time to first cell failure" of NVRAM wear studies, with no wear leveling
 * or spare cells beyond what the allocator itself does.
 *
 *   fixed endurance (stddev 0): E_i = mean for every cell, so the first cell
 *     to fail is the hottest: T = mean * seconds / max, first_cell = the
 *     lowest index holding max. One pass, no draws.
 *   normal endurance (stddev > 0): process variation makes cells differ. An
 *     mt19937 generator (gsl_rng_mt19937, gsl_rng_set(r, seed)) draws
 *     E_i = max(1, mean + gsl_ran_gaussian(r, stddev)) for i = 0, 1, 2, ... in
 *     cell order, whether the cell was written or not, so a cell's endurance
 *     depends only on (seed, i): two runs of one device size face the same
 *     cells. The clamp at 1 keeps the far tail (mean - k stddev < 1) a cell
 *     that fails at its first write, not one with negative endurance. Draws
 *     stop after the last written cell: the rest could not change the result.
 *     A weak cell that is lightly written can fail before the hottest one.
 *
 * Cost: one pass; with stddev > 0 one gaussian draw (~20-40 ns) per cell up
 * to the last written cell.
 *
 * Invariants: results are NAN (first_cell UINT64_MAX) exactly when nothing
 * was written or seconds is not a positive number; otherwise finite and
 * positive (E_i >= 1, counts finite). The generator is local to the call.
 */
#include "pmarena/analysis.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>

/* Normal endurance: min over written cells of E_i * seconds / count_i. */
static int lifetime_normal(const uint64_t *counts, size_t last, double seconds,
                           const an_endurance *e, double *best, uint64_t *arg)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        return AN_ENOMEM;
    gsl_rng_set(r, (unsigned long)e->seed);
    double lo = INFINITY;
    uint64_t at = UINT64_MAX;
    for (size_t i = 0; i <= last; i++) {
        double endurance = e->mean + gsl_ran_gaussian(r, e->stddev);
        if (endurance < 1)
            endurance = 1;
        if (counts[i] == 0)
            continue;
        double t = endurance * seconds / (double)counts[i];
        if (t < lo) {
            lo = t;
            at = i;
        }
    }
    gsl_rng_free(r);
    *best = lo;
    *arg = at;
    return 0;
}

int an_lifetime(const uint64_t *counts, size_t n, double seconds, const an_endurance *e,
                double *lifetime_s, uint64_t *first_cell)
{
    if ((!counts && n) || !e || !lifetime_s)
        return AN_EINVAL;
    if (!(e->mean > 0) || !isfinite(e->mean) || !(e->stddev >= 0) || !isfinite(e->stddev))
        return AN_EINVAL;
    *lifetime_s = NAN;
    if (first_cell)
        *first_cell = UINT64_MAX;

    /* The hottest cell (lowest index first) and the last written one. */
    uint64_t max = 0;
    size_t hottest = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (counts[i] > max) {
            max = counts[i];
            hottest = i;
        }
        if (counts[i])
            last = i;
    }
    if (max == 0 || !(seconds > 0) || !isfinite(seconds))
        return 0;

    double t;
    uint64_t at;
    if (e->stddev == 0) {
        t = e->mean * seconds / (double)max;
        at = hottest;
    } else {
        int rc = lifetime_normal(counts, last, seconds, e, &t, &at);
        if (rc)
            return rc;
    }
    *lifetime_s = t;
    if (first_cell)
        *first_cell = at;
    return 0;
}
