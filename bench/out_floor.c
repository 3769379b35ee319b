/*
 * out_floor.c - the bench's durable-record floor (floor.c): floor.csv
 * (through an_csv, atomically) and floor.md (also on stdout): what one
 * 16-byte record made durable on the file device costs on this machine, and
 * so the least a pairs op of pmarena-file-log can cost (a get and a return:
 * two records), beside what that op measured.
 */
#include "rows.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* pmarena-file-log's pairs64 row on one thread: ns per pairs op, or NAN. */
static double log_pair_ns(const bench_rows *r)
{
    for (int i = 0; i < r->nt; i++)
        if (!strcmp(r->t[i].allocator, "pmarena-file-log") && !strcmp(r->t[i].workload, "pairs64") &&
            r->t[i].threads == 1 && r->t[i].ops_per_s > 0)
            return 1e9 / r->t[i].ops_per_s;
    return NAN;
}

static void floor_csv(FILE *f, const bench_rows *r)
{
    static const char *const head[] = {"device",          "record_bytes", "ns_per_record", "ns_per_record_min",
                                       "ns_per_record_max", "runs",       "records",       "pair_floor_ns",
                                       "pmarena_file_log_pairs64_ns"};
    an_csv c;
    an_csv_begin(&c, f);
    an_csv_row(&c, head, sizeof head / sizeof head[0]);
    an_csv_str(&c, "file");
    an_csv_u64(&c, 16);
    an_csv_double(&c, r->floor_ns);
    an_csv_double(&c, r->floor_ns_min);
    an_csv_double(&c, r->floor_ns_max);
    an_csv_u64(&c, (uint64_t)r->floor_runs);
    an_csv_u64(&c, r->floor_records);
    an_csv_double(&c, 2 * r->floor_ns);
    an_csv_double(&c, log_pair_ns(r));
    an_csv_end(&c);
}

static void floor_md(FILE *f, const bench_rows *r)
{
    double pair = log_pair_ns(r);
    fprintf(f, "| device | record | ns per durable record | spread | pairs op floor (2 records) | "
               "pmarena-file-log pairs64 ns/op | of which the floor |\n"
               "|---|---:|---:|---:|---:|---:|---:|\n");
    fprintf(f, "| file | 16 B | %.1f | %.0f%% | %.1f | %.1f | %.0f%% |\n", r->floor_ns,
            r->floor_runs > 1 ? 100 * (r->floor_ns_max - r->floor_ns_min) / r->floor_ns : 0.0, 2 * r->floor_ns,
            pair, 100 * 2 * r->floor_ns / pair);
}

int bench_write_floor(const bench_rows *r, const char *dir)
{
    if (isnan(r->floor_ns))
        return 0;
    if (bench_write_table(dir, "floor.csv", floor_csv, r) != 0)
        return -1;
    return bench_write_table(dir, "floor.md", floor_md, r);
}

void bench_print_floor(const bench_rows *r)
{
    if (isnan(r->floor_ns))
        return;
    printf("\n== durable-record floor (a 16-byte store, a line flush and a fence on the file device; "
           "no allocator)\n\n");
    floor_md(stdout, r);
    fflush(stdout);
}
