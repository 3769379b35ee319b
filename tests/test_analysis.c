/* test_analysis.c - the analysis module: wear statistics of hand-computed
 * vectors, quantiles bit-identical to gsl_stats_quantile_from_sorted_data and
 * the Gini coefficient equal to its O(n^2) definition on random vectors
 * (both table paths: dense and sorted), mean and stddev against GSL's
 * unweighted functions, lifetime projection (fixed, and normal against a
 * brute-force recomputation with the same GSL draws), the exact rows of
 * wear_hist.csv, heat.csv folding, kinds.csv and frag.csv, and gnuplot plots
 * (valid PNGs, failures kept as scripts and logs). */
#include "testutil.h"
#include "pmarena/analysis.h"

#include <dirent.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void path_in(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

/* The whole file as a malloc'd string. */
static char *slurp(const char *name)
{
    char p[256];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", p);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static bool exists(const char *name)
{
    char p[256];
    path_in(p, sizeof p, name);
    return access(p, F_OK) == 0;
}

/* No file of dir has ".tmp." in its name (atomic writes left nothing). */
static void no_temporaries(void)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)))
        ck_assert_msg(strstr(e->d_name, ".tmp.") == NULL, "leftover %s", e->d_name);
    closedir(d);
}

static bool close_to(double a, double b, double tol) { return fabs(a - b) <= tol * (1 + fabs(b)); }

/* ---- statistics ------------------------------------------------------------- */

START_TEST(stats_one_hot)
{
    const uint64_t v[] = {0, 0, 0, 4};
    an_wear w;
    ck_assert_int_eq(an_wear_stats(v, 4, &w), 0);
    ck_assert_uint_eq(w.cells, 4);
    ck_assert_uint_eq(w.total, 4);
    ck_assert_uint_eq(w.max, 4);
    ck_assert_uint_eq(w.cells_touched, 1);
    ck_assert_double_eq_tol(w.mean, 1.0, 1e-15);
    ck_assert_double_eq_tol(w.stddev, sqrt(3.0), 1e-15);   /* population: sqrt((1+1+1+9)/4) */
    ck_assert_double_eq_tol(w.cov, sqrt(3.0), 1e-15);
    ck_assert_double_eq_tol(w.hotspot, 4.0, 1e-15);
    ck_assert_double_eq_tol(w.lifetime_fraction, 0.25, 1e-15);
    ck_assert_double_eq_tol(w.gini, 0.75, 1e-15);          /* (n-1)/n */
    /* Sorted 0,0,0,4: index f*3 interpolates between x_2 = 0 and x_3 = 4. */
    ck_assert_double_eq_tol(w.p50, 0.0, 1e-15);
    ck_assert_double_eq_tol(w.p90, 2.8, 1e-12);
    ck_assert_double_eq_tol(w.p99, 3.88, 1e-12);
    ck_assert_double_eq_tol(w.p999, 3.988, 1e-12);
}
END_TEST

START_TEST(stats_even_and_zero)
{
    const uint64_t even[] = {2, 2, 2, 2};
    an_wear w;
    ck_assert_int_eq(an_wear_stats(even, 4, &w), 0);
    ck_assert(w.gini == 0.0);
    ck_assert(w.cov == 0.0);
    ck_assert(w.hotspot == 1.0);
    ck_assert(w.lifetime_fraction == 1.0);
    ck_assert(w.mean == 2.0 && w.stddev == 0.0);
    ck_assert(w.p50 == 2.0 && w.p999 == 2.0);
    ck_assert_uint_eq(w.cells_touched, 4);

    const uint64_t zero[] = {0, 0, 0};
    ck_assert_int_eq(an_wear_stats(zero, 3, &w), 0);
    ck_assert(w.mean == 0.0 && w.stddev == 0.0);
    ck_assert_uint_eq(w.max, 0);
    ck_assert_uint_eq(w.total, 0);
    ck_assert_uint_eq(w.cells_touched, 0);
    ck_assert(isnan(w.hotspot) && isnan(w.gini) && isnan(w.lifetime_fraction) && isnan(w.cov));
    ck_assert(w.p50 == 0.0 && w.p999 == 0.0);
    ck_assert(isnan(an_gini(zero, 3)));

    const uint64_t one[] = {7};
    ck_assert_int_eq(an_wear_stats(one, 1, &w), 0);
    ck_assert(w.gini == 0.0 && w.hotspot == 1.0 && w.p50 == 7.0 && w.p999 == 7.0);

    ck_assert_int_eq(an_wear_stats(NULL, 3, &w), AN_EINVAL);
    ck_assert_int_eq(an_wear_stats(zero, 0, &w), AN_EINVAL);
    ck_assert_int_eq(an_wear_stats(zero, 3, NULL), AN_EINVAL);
}
END_TEST

START_TEST(quantiles_by_hand)
{
    const uint64_t v[] = {7, 3, 10, 1, 5, 9, 2, 8, 6, 4};   /* 1..10 shuffled */
    const double f[] = {0, 0.25, 0.5, 0.9, 1};
    const double want[] = {1, 3.25, 5.5, 9.1, 10};          /* index f*9 */
    double got[NELEM(f)];
    ck_assert_int_eq(an_quantiles(v, NELEM(v), f, NELEM(f), got), 0);
    for (size_t i = 0; i < NELEM(f); i++)
        ck_assert_double_eq_tol(got[i], want[i], 1e-12);
    const double bad = 1.5;
    ck_assert_int_eq(an_quantiles(v, NELEM(v), &bad, 1, got), AN_EINVAL);
}
END_TEST

/* Random count vectors of several shapes: small values (all dense), wide
 * values (sorted part), mostly-low with a few very hot cells (both parts),
 * all equal, one cell. */
static size_t random_vector(gsl_rng *r, int shape, uint64_t *v, size_t cap)
{
    size_t n = 1 + gsl_rng_uniform_int(r, cap);
    for (size_t i = 0; i < n; i++) {
        switch (shape) {
        case 0: v[i] = gsl_rng_uniform_int(r, 20); break;
        case 1: v[i] = gsl_rng_uniform_int(r, 2000000); break;
        case 2: v[i] = gsl_rng_uniform(r) < 0.02 ? 100000 + gsl_rng_uniform_int(r, 50) : gsl_rng_uniform_int(r, 300); break;
        case 3: v[i] = 42; break;
        default: v[i] = (uint64_t)gsl_ran_geometric(r, 0.01) - 1; break;
        }
    }
    if (shape == 3 && gsl_rng_uniform(r) < 0.5)
        n = 1;
    return n;
}

START_TEST(quantiles_equal_gsl)
{
    enum { CAP = 3000 };
    static uint64_t v[CAP];
    static double x[CAP];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 12345);
    double f[64] = {0, 1, 0.5, 0.9, 0.99, 0.999, 0.25, 0.75, 1e-9, 1 - 1e-9};
    for (int iter = 0; iter < 300; iter++) {
        size_t n = random_vector(r, iter % 5, v, CAP);
        for (size_t i = 0; i < n; i++)
            x[i] = (double)v[i];
        gsl_sort(x, 1, n);
        for (size_t k = 10; k < NELEM(f); k++)
            f[k] = gsl_rng_uniform(r);
        double got[NELEM(f)];
        TEST_REQUIRE(an_quantiles(v, n, f, NELEM(f), got) == 0, "an_quantiles failed");
        for (size_t k = 0; k < NELEM(f); k++) {
            double want = gsl_stats_quantile_from_sorted_data(x, 1, n, f[k]);
            TEST_REQUIRE(got[k] == want, "iter %d n %zu f %.17g: %.17g != gsl %.17g", iter, n, f[k],
                         got[k], want);
        }
        an_wear w;
        TEST_REQUIRE(an_wear_stats(v, n, &w) == 0, "an_wear_stats failed");
        TEST_REQUIRE(w.p50 == gsl_stats_quantile_from_sorted_data(x, 1, n, 0.5) &&
                         w.p90 == gsl_stats_quantile_from_sorted_data(x, 1, n, 0.9) &&
                         w.p99 == gsl_stats_quantile_from_sorted_data(x, 1, n, 0.99) &&
                         w.p999 == gsl_stats_quantile_from_sorted_data(x, 1, n, 0.999),
                     "iter %d: an_wear quantiles differ from GSL", iter);
    }
    gsl_rng_free(r);
}
END_TEST

static double gini_brute(const uint64_t *v, size_t n)
{
    double s = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)v[i];
        for (size_t j = 0; j < n; j++)
            s += fabs((double)v[i] - (double)v[j]);
    }
    return sum == 0 ? NAN : s / (2.0 * (double)n * sum);   /* 2 n^2 mean = 2 n sum */
}

START_TEST(gini_equals_definition)
{
    enum { CAP = 400 };
    static uint64_t v[CAP];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 777);
    for (int iter = 0; iter < 250; iter++) {
        size_t n = random_vector(r, iter % 5, v, CAP);
        double want = gini_brute(v, n), got = an_gini(v, n);
        TEST_REQUIRE(fabs(got - want) <= 1e-12, "iter %d n %zu: gini %.17g, definition %.17g", iter,
                     n, got, want);
    }
    /* All weight on one cell of n: (n-1)/n, on either table path. */
    for (uint64_t hot = 1; hot <= 1u << 30; hot <<= 5) {
        memset(v, 0, sizeof v);
        v[CAP / 2] = hot;
        TEST_REQUIRE(fabs(an_gini(v, CAP) - (CAP - 1.0) / CAP) < 1e-15, "one hot cell %llu",
                     (unsigned long long)hot);
    }
    gsl_rng_free(r);
}
END_TEST

/* A device-sized vector: mean and stddev against GSL's unweighted
 * functions (population stddev), counts exact, gini in [0, 1). */
START_TEST(stats_equal_gsl_unweighted)
{
    const size_t n = 1 << 20;
    uint64_t *v = malloc(n * sizeof *v);
    double *x = malloc(n * sizeof *x);
    ck_assert(v && x);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    for (int shape = 0; shape < 3; shape++) {
        uint64_t total = 0, max = 0, touched = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t c = shape == 0   ? gsl_rng_uniform_int(r, 100)
                         : shape == 1 ? (i % 4096 == 0 ? 5000000 + i : gsl_rng_uniform_int(r, 3))
                                      : gsl_rng_get(r);
            v[i] = c;
            x[i] = (double)c;
            total += c;
            max = c > max ? c : max;
            touched += c > 0;
        }
        an_wear w;
        ck_assert_int_eq(an_wear_stats(v, n, &w), 0);
        ck_assert_uint_eq(w.total, total);
        ck_assert_uint_eq(w.max, max);
        ck_assert_uint_eq(w.cells_touched, touched);
        double mean = gsl_stats_mean(x, 1, n);
        ck_assert_msg(close_to(w.mean, mean, 1e-12), "mean %.17g vs %.17g", w.mean, mean);
        double sd = gsl_stats_sd_with_fixed_mean(x, 1, n, mean);
        ck_assert_msg(close_to(w.stddev, sd, 1e-10), "stddev %.17g vs %.17g", w.stddev, sd);
        ck_assert(close_to(w.cov, sd / mean, 1e-10));
        ck_assert(close_to(w.hotspot, (double)max / mean, 1e-12));
        ck_assert(w.gini >= 0 && w.gini < 1);
        gsl_sort(x, 1, n);
        ck_assert(w.p99 == gsl_stats_quantile_from_sorted_data(x, 1, n, 0.99));
    }
    gsl_rng_free(r);
    free(v);
    free(x);
}
END_TEST

/* ---- lifetime ---------------------------------------------------------------- */

START_TEST(lifetime_fixed)
{
    const uint64_t v[] = {0, 3, 10, 7, 10, 0};
    an_endurance e = {.mean = 1e8, .stddev = 0, .seed = 1};
    double t;
    uint64_t cell;
    ck_assert_int_eq(an_lifetime(v, NELEM(v), 2.0, &e, &t, &cell), 0);
    ck_assert_double_eq_tol(t, 2e7, 1e-6);                  /* 1e8 * 2 s / 10 */
    ck_assert_uint_eq(cell, 2);                             /* the first hottest */

    const uint64_t zero[] = {0, 0};
    ck_assert_int_eq(an_lifetime(zero, 2, 2.0, &e, &t, &cell), 0);
    ck_assert(isnan(t));
    ck_assert_uint_eq(cell, UINT64_MAX);
    ck_assert_int_eq(an_lifetime(v, NELEM(v), 0.0, &e, &t, &cell), 0);
    ck_assert(isnan(t));
    ck_assert_int_eq(an_lifetime(v, NELEM(v), -1.0, &e, &t, NULL), 0);
    ck_assert(isnan(t));

    an_endurance bad = {.mean = 0, .stddev = 0, .seed = 1};
    ck_assert_int_eq(an_lifetime(v, NELEM(v), 2.0, &bad, &t, &cell), AN_EINVAL);
    bad.mean = 1e8;
    bad.stddev = -1;
    ck_assert_int_eq(an_lifetime(v, NELEM(v), 2.0, &bad, &t, &cell), AN_EINVAL);
    bad.stddev = NAN;
    ck_assert_int_eq(an_lifetime(v, NELEM(v), 2.0, &bad, &t, &cell), AN_EINVAL);
}
END_TEST

/* The definition, with the same GSL draws: one per cell in cell order. */
static double lifetime_brute(const uint64_t *v, size_t n, double seconds, const an_endurance *e,
                             uint64_t *cell)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, e->seed);
    double best = INFINITY;
    *cell = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        double end = fmax(1.0, e->mean + gsl_ran_gaussian(r, e->stddev));
        if (v[i] && end * seconds / (double)v[i] < best) {
            best = end * seconds / (double)v[i];
            *cell = i;
        }
    }
    gsl_rng_free(r);
    return best;
}

START_TEST(lifetime_normal)
{
    enum { N = 5000 };
    static uint64_t v[N];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 99);
    for (size_t i = 0; i < N - 100; i++)       /* the last 100 cells unwritten */
        v[i] = gsl_rng_uniform_int(r, 50);
    v[17] = 60;
    gsl_rng_free(r);

    an_endurance e = {.mean = 1e6, .stddev = 2e5, .seed = 42};
    double t1, t2, t3, want;
    uint64_t c1, c2, c3, wc;
    ck_assert_int_eq(an_lifetime(v, N, 3.0, &e, &t1, &c1), 0);
    ck_assert(isfinite(t1) && t1 > 0);
    ck_assert_int_eq(an_lifetime(v, N, 3.0, &e, &t2, &c2), 0);
    ck_assert(t1 == t2 && c1 == c2);                       /* reproducible */
    want = lifetime_brute(v, N, 3.0, &e, &wc);
    ck_assert_msg(t1 == want && c1 == wc, "%.17g@%llu vs %.17g@%llu", t1, (unsigned long long)c1,
                  want, (unsigned long long)wc);
    ck_assert(v[c1] > 0);
    e.seed = 43;
    ck_assert_int_eq(an_lifetime(v, N, 3.0, &e, &t3, &c3), 0);
    ck_assert(t3 != t1);                                   /* another seed, other cells */
    want = lifetime_brute(v, N, 3.0, &e, &wc);
    ck_assert(t3 == want && c3 == wc);

    /* A wide spread clamps many endurances to 1: still the definition. */
    e.mean = 10;
    e.stddev = 1000;
    ck_assert_int_eq(an_lifetime(v, N, 3.0, &e, &t1, &c1), 0);
    want = lifetime_brute(v, N, 3.0, &e, &wc);
    ck_assert(t1 == want && c1 == wc);
    ck_assert(t1 > 0);
}
END_TEST

/* ---- files ------------------------------------------------------------------ */

START_TEST(histogram_rows)
{
    char p[256];
    path_in(p, sizeof p, "wear_hist.csv");
    const uint64_t v[] = {9, 0, 1, 2, 3, 5, 0};
    ck_assert_int_eq(an_histogram_csv(v, NELEM(v), 4, p), 0);
    char *s = slurp("wear_hist.csv");
    ck_assert_str_eq(s, "scale,bin_lo,bin_hi,cells\n"
                        "linear,0,2.5,4\n"
                        "linear,2.5,5,1\n"
                        "linear,5,7.5,1\n"
                        "linear,7.5,10,1\n"
                        "log2,0,1,2\n"
                        "log2,1,2,1\n"
                        "log2,2,4,2\n"
                        "log2,4,8,1\n"
                        "log2,8,16,1\n");
    free(s);
    /* nbins above max+1 is lowered: bins one count wide. */
    const uint64_t w[] = {2, 0, 1, 1};
    ck_assert_int_eq(an_histogram_csv(w, NELEM(w), 100, p), 0);
    s = slurp("wear_hist.csv");
    ck_assert_str_eq(s, "scale,bin_lo,bin_hi,cells\n"
                        "linear,0,1,1\nlinear,1,2,2\nlinear,2,3,1\n"
                        "log2,0,1,1\nlog2,1,2,2\nlog2,2,4,1\n");
    free(s);
    const uint64_t z[] = {0, 0};
    ck_assert_int_eq(an_histogram_csv(z, 2, 10, p), 0);
    s = slurp("wear_hist.csv");
    ck_assert_str_eq(s, "scale,bin_lo,bin_hi,cells\nlinear,0,1,2\nlog2,0,1,2\n");
    free(s);
    ck_assert_int_eq(an_histogram_csv(z, 2, 0, p), AN_EINVAL);
    ck_assert_int_eq(an_histogram_csv(z, 2, 4, "/nonexistent/dir/x.csv"), AN_EIO);
    no_temporaries();
}
END_TEST

/* Sum of the writes column of heat.csv; checks the header and row order. */
static uint64_t heat_sum(unsigned rows, unsigned cols, uint64_t *cells_out)
{
    char p[256];
    path_in(p, sizeof p, "heat.csv");
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[128];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "row,col,writes\n");
    uint64_t sum = 0, k = 0;
    unsigned long long r, c, w;
    while (fscanf(f, "%llu,%llu,%llu\n", &r, &c, &w) == 3) {
        TEST_REQUIRE(r == k / cols && c == k % cols, "row %llu col %llu at line %llu", r, c,
                     (unsigned long long)k);
        if (cells_out)
            cells_out[k] = w;
        sum += w;
        k++;
    }
    fclose(f);
    ck_assert_uint_eq(k, (uint64_t)rows * cols);
    return sum;
}

START_TEST(heatmap_folds)
{
    char p[256];
    path_in(p, sizeof p, "heat.csv");
    const uint64_t six[] = {1, 2, 3, 4, 5, 6};
    uint64_t got[16];
    ck_assert_int_eq(an_heatmap_csv(six, 6, 1, 3, p), 0);
    ck_assert_uint_eq(heat_sum(1, 3, got), 21);
    ck_assert(got[0] == 3 && got[1] == 7 && got[2] == 11);
    ck_assert_int_eq(an_heatmap_csv(six, 6, 4, 4, p), 0);  /* more regions than cells */
    ck_assert_uint_eq(heat_sum(4, 4, NULL), 21);

    enum { N = 100003 };
    static uint64_t v[N];
    uint64_t total = 0;
    for (size_t i = 0; i < N; i++)
        total += v[i] = (i * 2654435761u) % 97;
    ck_assert_int_eq(an_heatmap_csv(v, N, 64, 64, p), 0);
    ck_assert_uint_eq(heat_sum(64, 64, NULL), total);
    ck_assert_int_eq(an_heatmap_csv(v, N, 0, 64, p), AN_EINVAL);
    no_temporaries();
}
END_TEST

START_TEST(kinds_and_frag_csv)
{
    char p[256];
    path_in(p, sizeof p, "kinds.csv");
    const char *names[] = {"data", "bitmap", "header", "list", "root", "log"};
    const uint64_t writes[] = {1000, 300, 10, 0, 1, 0}, hottest[] = {20, 50, 2, 0, 1, 0};
    ck_assert_int_eq(an_kinds_csv(names, writes, hottest, 6, p), 0);
    char *s = slurp("kinds.csv");
    ck_assert_str_eq(s, "kind,writes,hottest\ndata,1000,20\nbitmap,300,50\nheader,10,2\n"
                        "list,0,0\nroot,1,1\nlog,0,0\n");
    free(s);
    const char *bad[] = {"a,b"};
    ck_assert_int_eq(an_kinds_csv(bad, writes, hottest, 1, p), AN_EINVAL);

    path_in(p, sizeof p, "frag.csv");
    const an_frag_sample fs[] = {
        {0, 0, 0, 0, NAN, NAN, NAN},
        {10, 100, 128, 4096, 0.21875, 0.5, 100.0 / 4096},
        {20, 300, 384, 8192, 0.21875, 0.1, 300.0 / 8192},
    };
    ck_assert_int_eq(an_frag_csv(fs, 3, p), 0);
    s = slurp("frag.csv");
    ck_assert_str_eq(s, "events,requested,allocated,footprint,internal,external,utilization\n"
                        "0,0,0,0,,,\n"
                        "10,100,128,4096,0.21875,0.5,0.0244140625\n"
                        "20,300,384,8192,0.21875,0.1,0.03662109375\n");
    free(s);
    no_temporaries();
}
END_TEST

/* ---- plots ------------------------------------------------------------------ */

static bool have_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[1024];
        snprintf(p, sizeof p, "%s/gnuplot", d);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* name is a PNG (signature) of more than 1 KB. */
static void assert_png(const char *name)
{
    char p[256];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "rb");
    ck_assert_msg(f != NULL, "no %s", name);
    unsigned char sig[8];
    ck_assert_uint_eq(fread(sig, 1, 8, f), 8);
    fclose(f);
    const unsigned char want[8] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A};
    ck_assert_msg(memcmp(sig, want, 8) == 0, "%s is not a PNG", name);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_msg(st.st_size > 1024, "%s: only %lld bytes", name, (long long)st.st_size);
}

START_TEST(plot_tiny_script)
{
    if (!have_gnuplot()) {
        ck_assert_int_eq(an_plot(dir, "tiny", "plot x\n"), AN_ETOOL);
        ck_assert(exists("tiny.gp"));
        return;
    }
    ck_assert_int_eq(an_plot(dir, "tiny", "set title 'tiny'\nplot sin(x) title 'sin'"), 0);
    assert_png("tiny.png");
    char *s = slurp("tiny.gp");
    ck_assert_msg(strstr(s, "set terminal %s") != NULL && strstr(s, "an_terminal : 'png") != NULL, "no terminal line");
    ck_assert_msg(strstr(s, "'tiny.png'") != NULL, "no output line");
    ck_assert_msg(strstr(s, "plot sin(x) title 'sin'\nunset output\n") != NULL, "script body");
    free(s);
    /* The same script draws SVG for the HTML report (an_plot_svg). */
    char svg[600];
    snprintf(svg, sizeof svg, "%s/tiny.svg.out", dir);
    ck_assert_int_eq(an_plot_svg(dir, "tiny", svg), 0);
    s = slurp("tiny.svg.out");
    ck_assert_msg(s && strstr(s, "<svg") && strstr(s, "sin"), "an SVG of the plot");
    free(s);
    unlink(svg);
    ck_assert(!exists("tiny.log"));
    no_temporaries();

    /* A broken script: AN_ETOOL, script and log kept, no PNG; the old PNG of
     * the same name survives a failed redraw. */
    ck_assert_int_eq(an_plot(dir, "broken", "plot sin(x) with nonsense\n"), AN_ETOOL);
    ck_assert(exists("broken.gp") && exists("broken.log") && !exists("broken.png"));
    ck_assert_int_eq(an_plot(dir, "tiny", "plot nosuchfunction(x)\n"), AN_ETOOL);
    assert_png("tiny.png");
    no_temporaries();

    /* Rerunnable by hand in the folder: gnuplot tiny.gp makes tiny.png. */
    ck_assert_int_eq(an_plot(dir, "tiny", "plot cos(x)\n"), 0);
    char p[256];
    path_in(p, sizeof p, "tiny.png");
    ck_assert_int_eq(unlink(p), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd %s && gnuplot tiny.gp 2>/dev/null", dir);
    ck_assert_int_eq(system(cmd), 0);
    assert_png("tiny.png");
}
END_TEST

START_TEST(plot_without_gnuplot)
{
    setenv("PMARENA_GNUPLOT", "/nonexistent/gnuplot", 1);
    int rc = an_plot(dir, "absent", "plot x\n");
    unsetenv("PMARENA_GNUPLOT");              /* also right under CK_FORK=no */
    ck_assert_int_eq(rc, AN_ETOOL);
    ck_assert(exists("absent.gp") && !exists("absent.png"));
    no_temporaries();
}
END_TEST

START_TEST(plot_bad_arguments)
{
    ck_assert_int_eq(an_plot(dir, "../escape", "plot x"), AN_EINVAL);
    ck_assert_int_eq(an_plot(dir, ".hidden", "plot x"), AN_EINVAL);
    ck_assert_int_eq(an_plot(dir, "a b", "plot x"), AN_EINVAL);
    ck_assert_int_eq(an_plot(dir, "q'uote", "plot x"), AN_EINVAL);
    ck_assert_int_eq(an_plot(dir, "", "plot x"), AN_EINVAL);
    ck_assert_int_eq(an_plot(dir, "ok", NULL), AN_EINVAL);
    ck_assert_int_eq(an_plot_frag("/nonexistent/results"), AN_EIO);
    ck_assert_str_eq(an_strerror(AN_ETOOL), an_strerror(-304));
    ck_assert_str_eq(an_strerror(12345), "unknown error");
}
END_TEST

START_TEST(plot_standard_helpers)
{
    if (!have_gnuplot())
        return;
    char sub[128], p[256];
    snprintf(sub, sizeof sub, "%s/run", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_eq(an_plot_wear_hist(sub), AN_EIO);        /* no data yet */

    static uint64_t v[4096];
    for (size_t i = 0; i < 4096; i++)
        v[i] = i % 64 == 0 ? 5000 + i : (i * 7) % 13;
    snprintf(p, sizeof p, "%s/wear_hist.csv", sub);
    ck_assert_int_eq(an_histogram_csv(v, 4096, 32, p), 0);
    snprintf(p, sizeof p, "%s/heat.csv", sub);
    ck_assert_int_eq(an_heatmap_csv(v, 4096, 16, 16, p), 0);
    snprintf(p, sizeof p, "%s/kinds.csv", sub);
    ck_assert_int_eq(an_kinds_csv((const char *[]){"data", "bitmap", "header", "list", "root", "log"},
                                  (const uint64_t[]){1000, 300, 10, 0, 1, 0},
                                  (const uint64_t[]){20, 50, 2, 0, 1, 0}, 6, p), 0);
    snprintf(p, sizeof p, "%s/frag.csv", sub);
    an_frag_sample fs[20];
    for (int i = 0; i < 20; i++)
        fs[i] = (an_frag_sample){(uint64_t)i * 100, (uint64_t)i * 1000, (uint64_t)i * 1200,
                                 65536 + (uint64_t)i * 512, i ? 1 - 1000.0 / 1200 : NAN,
                                 0.3 + 0.01 * i, i * 1000.0 / (65536 + i * 512)};
    ck_assert_int_eq(an_frag_csv(fs, 20, p), 0);
    snprintf(p, sizeof p, "%s/wear_time.csv", sub);
    an_wear_sample ws[20];
    for (int i = 0; i < 20; i++)
        ws[i] = (an_wear_sample){(uint64_t)i * 100, (uint64_t)i * i * 1100, (uint64_t)i * i * 900,
                                 (uint64_t)i * i * 100, (uint64_t)i * 3, (uint64_t)i * 3, (uint64_t)i,
                                 (uint64_t)i * i * 100, (uint64_t)i * 2};
    ck_assert_int_eq(an_wear_time_csv(ws, 20, p), 0);
    ck_assert_int_eq(an_plot_wear_time(sub), 0);
    assert_png("run/wear_time.png");

    ck_assert_int_eq(an_plot_wear_hist(sub), 0);
    ck_assert_int_eq(an_plot_wear_cdf(sub), 0);
    ck_assert_int_eq(an_plot_heatmap(sub), 0);
    ck_assert_int_eq(an_plot_meta_kinds(sub), 0);
    ck_assert_int_eq(an_plot_frag(sub), 0);
    const char *pngs[] = {"run/wear_hist.png", "run/wear_cdf.png", "run/heatmap.png",
                          "run/meta_kinds.png", "run/frag.png"};
    for (size_t i = 0; i < NELEM(pngs); i++)
        assert_png(pngs[i]);

    /* No writes of any kind (log y impossible): still a plot. */
    snprintf(p, sizeof p, "%s/kinds.csv", sub);
    ck_assert_int_eq(an_kinds_csv((const char *[]){"data", "bitmap"}, (const uint64_t[]){0, 0},
                                  (const uint64_t[]){0, 0}, 2, p), 0);
    ck_assert_int_eq(an_plot_meta_kinds(sub), 0);
    assert_png("run/meta_kinds.png");

    /* One row of regions: too thin for `with image`, drawn as boxes. */
    snprintf(p, sizeof p, "%s/heat.csv", sub);
    ck_assert_int_eq(an_heatmap_csv(v, 4096, 1, 8, p), 0);
    ck_assert_int_eq(an_plot_heatmap(sub), 0);
    assert_png("run/heatmap.png");

    /* With heat_kinds.csv: the regions labelled by source. */
    static uint64_t meta[4096], folded[2][8];
    for (size_t i = 0; i < 512; i++)
        meta[i] = 100000;
    ck_assert_int_eq(an_heat_fold(v, 4096, 8, folded[0]), 0);
    ck_assert_int_eq(an_heat_fold(meta, 4096, 8, folded[1]), 0);
    snprintf(p, sizeof p, "%s/heat_kinds.csv", sub);
    ck_assert_int_eq(an_heat_kinds_csv((const char *[]){"data", "bitmap"},
                                       (const uint64_t *[]){folded[0], folded[1]}, 2, 4096, 1, 8, p), 0);
    ck_assert_int_eq(an_plot_heatmap(sub), 0);
    assert_png("run/heatmap.png");
    snprintf(p, sizeof p, "%s/heat.csv", sub);
    ck_assert_int_eq(an_heatmap_csv(v, 4096, 16, 16, p), 0);
    ck_assert_int_eq(an_plot_heatmap(sub), 0);
    assert_png("run/heatmap.png");
    no_temporaries();
}
END_TEST


/* Touched statistics: those of an_wear_stats over the written cells alone,
 * unchanged by any number of unwritten cells, NAN when nothing was written. */
START_TEST(touched_stats_ignore_unwritten)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 11);
    enum { W = 3000 };
    static uint64_t written[W], padded[8 * W];
    for (size_t i = 0; i < W; i++)
        written[i] = 1 + gsl_rng_uniform_int(r, i % 97 == 0 ? 100000 : 40);
    gsl_rng_free(r);
    an_wear ref, t1, t2, dev;
    ck_assert_int_eq(an_wear_stats(written, W, &ref), 0);
    ck_assert_int_eq(an_wear_stats_touched(written, W, &t1), 0);
    /* the same cells scattered among 7 W zeros */
    memset(padded, 0, sizeof padded);
    for (size_t i = 0; i < W; i++)
        padded[i * 8 + (i % 5)] = written[i];
    ck_assert_int_eq(an_wear_stats_touched(padded, 8 * W, &t2), 0);
    ck_assert_int_eq(an_wear_stats(padded, 8 * W, &dev), 0);
    const an_wear *ts[] = {&t1, &t2};
    for (int k = 0; k < 2; k++) {
        const an_wear *t = ts[k];
        ck_assert_uint_eq(t->cells, W);
        ck_assert_uint_eq(t->cells_touched, W);
        ck_assert_uint_eq(t->total, ref.total);
        ck_assert_uint_eq(t->max, ref.max);
        ck_assert_double_eq_tol(t->mean, ref.mean, 1e-9 * ref.mean);
        ck_assert_double_eq_tol(t->stddev, ref.stddev, 1e-9 * ref.stddev);
        ck_assert_double_eq_tol(t->cov, ref.cov, 1e-9);
        ck_assert_double_eq(t->p50, ref.p50);
        ck_assert_double_eq(t->p90, ref.p90);
        ck_assert_double_eq(t->p99, ref.p99);
        ck_assert_double_eq(t->p999, ref.p999);
        ck_assert_double_eq_tol(t->gini, ref.gini, 1e-12);
        ck_assert_double_eq_tol(t->hotspot, ref.hotspot, 1e-9 * ref.hotspot);
        ck_assert_double_eq_tol(t->lifetime_fraction, ref.lifetime_fraction, 1e-12);
    }
    /* device-wide figures do move: 8x the cells, 1/8 the mean */
    ck_assert_double_eq_tol(dev.mean * 8, ref.mean, 1e-9 * ref.mean);
    ck_assert_double_eq(dev.p50, 0);
    ck_assert(t2.p50 > 0);

    static const uint64_t zeros[5] = {0};
    an_wear z;
    ck_assert_int_eq(an_wear_stats_touched(zeros, 5, &z), 0);
    ck_assert_uint_eq(z.cells, 0);
    ck_assert(isnan(z.mean) && isnan(z.p50) && isnan(z.hotspot) && isnan(z.gini));
    ck_assert_int_eq(an_wear_stats_touched(NULL, 5, &z), AN_EINVAL);
}
END_TEST

START_TEST(wear_time_and_heat_kinds_csv)
{
    char p[256];
    path_in(p, sizeof p, "wear_time.csv");
    const an_wear_sample ws[] = {{0, 7, 0, 7, 3, 0, 3, 0, 0}, {1024, 4595, 3520, 1055, 10, 10, 4, 20, 6}};
    ck_assert_int_eq(an_wear_time_csv(ws, 2, p), 0);
    char *s = slurp("wear_time.csv");
    ck_assert_str_eq(s, "events,total_writes,data_writes,meta_writes,hottest,hottest_data,hottest_meta,"
                        "links_writes,hottest_links\n"
                        "0,7,0,7,3,0,3,0,0\n1024,4595,3520,1055,10,10,4,20,6\n");
    free(s);
    ck_assert_int_eq(an_wear_time_csv(NULL, 1, p), AN_EINVAL);

    /* 12 cells in 2 x 3 regions of 2 cells: the folds sum per region */
    const uint64_t data[12] = {0, 0, 5, 5, 9, 0, 0, 0, 1, 1, 0, 7};
    const uint64_t meta[12] = {3, 4, 1, 0, 0, 20, 0, 0, 0, 0, 2, 0};
    uint64_t fd[6], fm[6];
    ck_assert_int_eq(an_heat_fold(data, 12, 6, fd), 0);
    ck_assert_int_eq(an_heat_fold(meta, 12, 6, fm), 0);
    const uint64_t want_d[6] = {0, 10, 9, 0, 2, 7}, want_m[6] = {7, 1, 20, 0, 0, 2};
    for (int i = 0; i < 6; i++) {
        ck_assert_uint_eq(fd[i], want_d[i]);
        ck_assert_uint_eq(fm[i], want_m[i]);
    }
    path_in(p, sizeof p, "heat_kinds.csv");
    ck_assert_int_eq(an_heat_kinds_csv((const char *[]){"data", "log"}, (const uint64_t *[]){fd, fm}, 2, 12, 2, 3,
                                       p), 0);
    s = slurp("heat_kinds.csv");
    /* region 0 log, 1 data, 2 log, 3 empty, 4 + 5 data (one run) */
    ck_assert_str_eq(s, "kind,first_row,first_col,regions,first_cell,end_cell,writes\n"
                        "log,0,0,1,0,2,7\n"
                        "data,0,1,1,2,4,11\n"
                        "log,0,2,1,4,6,29\n"
                        "data,1,1,2,8,12,11\n");
    free(s);
    no_temporaries();
}
END_TEST

/* Every script an_plot writes has the common style: plain text, the
 * palette, the key outside. */
START_TEST(plot_common_preamble)
{
    an_plot(dir, "pre", "plot x title 'meta_writes'\n");   /* AN_ETOOL without gnuplot: the script stays */
    char *s = slurp("pre.gp");
    ck_assert_msg(strstr(s, "set termoption noenhanced\n") != NULL, "noenhanced");
    ck_assert_msg(strstr(s, "set linetype 1 lc rgb '#0072B2'") != NULL, "Okabe-Ito blue");
    ck_assert_msg(strstr(s, "set linetype 8 ") != NULL, "8 line types");
    ck_assert_msg(strstr(s, "dt 2") != NULL && strstr(s, "dt 3") != NULL, "dash types");
    ck_assert_msg(strstr(s, "set key outside") != NULL, "key outside");
    ck_assert_msg(strstr(s, "an_span = ") != NULL, "log-axis macro");
    free(s);
}
END_TEST

/* Removes dir and what the tests put in it (one level of subfolders). */
static void remove_tree(const char *d)
{
    DIR *h = opendir(d);
    if (!h)
        return;
    struct dirent *e;
    while ((e = readdir(h))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", d, e->d_name);
        if (unlink(p) != 0)
            remove_tree(p);
    }
    closedir(h);
    rmdir(d);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/pmarena_an_XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    Suite *s = suite_create("analysis");
    TCase *tc = tcase_create("stats");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stats_one_hot);
    tcase_add_test(tc, stats_even_and_zero);
    tcase_add_test(tc, quantiles_by_hand);
    tcase_add_test(tc, quantiles_equal_gsl);
    tcase_add_test(tc, gini_equals_definition);
    tcase_add_test(tc, stats_equal_gsl_unweighted);
    tcase_add_test(tc, lifetime_fixed);
    tcase_add_test(tc, lifetime_normal);
    tcase_add_test(tc, touched_stats_ignore_unwritten);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("files");
    tcase_set_timeout(tf, 60);
    tcase_add_test(tf, histogram_rows);
    tcase_add_test(tf, heatmap_folds);
    tcase_add_test(tf, kinds_and_frag_csv);
    tcase_add_test(tf, plot_tiny_script);
    tcase_add_test(tf, plot_without_gnuplot);
    tcase_add_test(tf, plot_bad_arguments);
    tcase_add_test(tf, plot_standard_helpers);
    tcase_add_test(tf, wear_time_and_heat_kinds_csv);
    tcase_add_test(tf, plot_common_preamble);
    suite_add_tcase(s, tf);
    int rc = test_run_suite(s);
    remove_tree(dir);
    return rc;
}
