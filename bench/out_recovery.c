/*
 * out_recovery.c - the bench's recovery table: recovery.csv (through an_csv,
 * atomically) and recovery.md (also on stdout): per protocol of pmarena on
 * the file device and per live-object count, the wall time pma_open took
 * after a simulated crash, how it found the live set, and what it found.
 */
#include "rows.h"

#include <stdio.h>

static void recov_csv(FILE *f, const bench_rows *r)
{
    static const char *const head[] = {"allocator", "live_objects", "wall_s", "how", "live_after", "traced_objects"};
    an_csv c;
    an_csv_begin(&c, f);
    an_csv_row(&c, head, sizeof head / sizeof head[0]);
    for (int i = 0; i < r->nrc; i++) {
        const recov_row *x = &r->rc[i];
        an_csv_str(&c, x->allocator);
        an_csv_u64(&c, x->objects);
        an_csv_double(&c, x->wall_s);
        an_csv_str(&c, x->how);
        an_csv_u64(&c, x->live_after);
        an_csv_u64(&c, x->traced);
        an_csv_end(&c);
    }
}

static void recov_md(FILE *f, const bench_rows *r)
{
    fprintf(f, "| allocator | live objects | recovery ms | how | live after | traced |\n"
               "|---|---:|---:|---|---:|---:|\n");
    for (int i = 0; i < r->nrc; i++) {
        const recov_row *x = &r->rc[i];
        fprintf(f, "| %s | %llu | %.3f | %s | %llu | %llu |\n", x->allocator, (unsigned long long)x->objects,
                x->wall_s * 1e3, x->how, (unsigned long long)x->live_after, (unsigned long long)x->traced);
    }
}

int bench_write_recovery(const bench_rows *r, const char *dir)
{
    if (!r->nrc)
        return 0;
    if (bench_write_table(dir, "recovery.csv", recov_csv, r) != 0)
        return -1;
    return bench_write_table(dir, "recovery.md", recov_md, r);
}

void bench_print_recovery(const bench_rows *r)
{
    if (!r->nrc)
        return;
    printf("\n== recovery after a simulated crash (pma_open's wall time; every object reachable from the root)\n\n");
    recov_md(stdout, r);
    fflush(stdout);
}
