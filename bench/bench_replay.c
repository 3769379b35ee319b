/*
 * bench_replay.c - replay throughput (issue 4): a generated 10^6-event trace
 * (alloc/free churn at a constant live set of about 10^4 objects, 16..512
 * bytes) replayed deterministically on the sim device, with the time split
 * into parse (Jansson alone), reading (parse + checks + id map), allocator
 * (replay on the dram device minus reading) and device simulation (sim minus
 * dram); the same from the binary form; and peak memory for 1x and 2x the
 * trace length at the same live set. Prints numbers and ratios, asserts
 * nothing. Targets: JSON Lines replay >= 0.7x of parse-only; binary replay
 * >= 10^7 events/s; peak memory flat in trace length.
 */
#include "pmarena/device.h"
#include "pmarena/pma.h"
#include "pmarena/replay.h"
#include "pmarena/trace.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void make_trace(const char *path, uint64_t events, uint64_t live)
{
    tr_header h = {.threads = 1};
    snprintf(h.source, sizeof h.source, "bench_replay churn");
    tr_writer *w;
    tr_error err;
    if (tr_writer_open(&w, path, &h, &err) != 0)
        exit(1);
    uint64_t x = 42, next = 1, n = 0;
    while (n + 2 <= events) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        tr_event a = {.op = TR_ALLOC, .id = next, .size = 16 + x % 497};
        tr_writer_event(w, &a);
        n++;
        if (next > live) {
            tr_event f = {.op = TR_FREE, .id = next - live};
            tr_writer_event(w, &f);
            n++;
        }
        next++;
    }
    tr_writer_close(w, false, &err);
}

static uint64_t vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void reset_hwm(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static double parse_only(const char *path, uint64_t *n)
{
    FILE *f = fopen(path, "r");
    static char line[4096];
    double t0 = now_s();
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        json_decref(j);
        (*n)++;
    }
    fclose(f);
    return now_s() - t0;
}

static double read_only(const char *path, uint64_t *n)
{
    tr_reader *r;
    tr_error err;
    tr_reader_open(&r, path, &err);
    tr_event e;
    tr_obj *o, *old;
    double t0 = now_s();
    *n = 0;
    while (tr_reader_next(r, &e, &o, &old, &err) == 1) {
        if (e.op == TR_FREE)
            tr_reader_release(r, o);
        (*n)++;
    }
    tr_reader_close(r);
    return now_s() - t0;
}

static double replay_on(const char *path, nv_kind kind, uint64_t *n)
{
    nv_config dc;
    nv_config_defaults(&dc);
    dc.kind = kind;
    dc.size = 64 << 20;
    nv_device *d;
    pma_config pc;
    pma_config_defaults(&pc);
    pma_heap *h;
    tr_reader *r;
    tr_error err;
    if (nv_open(&d, &dc) || pma_init(&h, d, &pc) || tr_reader_open(&r, path, &err)) {
        fprintf(stderr, "bench_replay: setup failed\n");
        exit(1);
    }
    tr_replay_config rc;
    tr_replay_config_defaults(&rc);
    tr_replay_stats st;
    double t0 = now_s();
    if (tr_replay(r, h, &rc, &st, &err) != 0) {
        fprintf(stderr, "bench_replay: replay failed: %s\n", err.msg);
        exit(1);
    }
    double t = now_s() - t0;
    *n = 0;
    for (int i = 0; i < TR_OPS; i++)
        *n += st.events[i];
    tr_reader_close(r);
    pma_destroy(h);
    nv_close(d);
    return t;
}

int main(void)
{
    char dir[] = "/tmp/pmarena-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char json[256], bin[256], json2[256];
    snprintf(json, sizeof json, "%s/churn.jsonl", dir);
    snprintf(bin, sizeof bin, "%s/churn.pmt", dir);
    snprintf(json2, sizeof json2, "%s/churn2.jsonl", dir);
    make_trace(json, 1000000, 10000);
    make_trace(json2, 2000000, 10000);
    tr_error err;
    tr_convert(json, bin, NULL, &err);
    uint64_t n;
    double t_parse = parse_only(json, &n);
    double t_read = read_only(json, &n);
    double t_dram = replay_on(json, NV_KIND_DRAM, &n);
    double t_sim = replay_on(json, NV_KIND_SIM, &n);
    double t_bread = read_only(bin, &n);
    double t_bsim = replay_on(bin, NV_KIND_SIM, &n);
    double t_bdram = replay_on(bin, NV_KIND_DRAM, &n);
    reset_hwm();
    replay_on(bin, NV_KIND_SIM, &n);
    uint64_t hwm1 = vm_hwm_kb();
    uint64_t n1 = n;
    reset_hwm();
    replay_on(json2, NV_KIND_SIM, &n);
    uint64_t hwm2 = vm_hwm_kb();
    double ev = 1e6;
    printf("\n== replay: 10^6-event churn trace (live set 10^4), deterministic, hybrid, G 1\n");
    printf("%-40s %12s\n", "stage", "events/s (M)");
    printf("%-40s %12.2f\n", "Jansson parse only (json_loads per line)", ev / t_parse / 1e6);
    printf("%-40s %12.2f\n", "reader (parse + checks + id map)", ev / t_read / 1e6);
    printf("%-40s %12.2f\n", "replay JSON Lines, dram device", ev / t_dram / 1e6);
    printf("%-40s %12.2f\n", "replay JSON Lines, sim device", ev / t_sim / 1e6);
    printf("%-40s %12.2f\n", "reader, binary form", ev / t_bread / 1e6);
    printf("%-40s %12.2f\n", "replay binary form, dram device", ev / t_bdram / 1e6);
    printf("%-40s %12.2f\n", "replay binary form, sim device", ev / t_bsim / 1e6);
    /* Stage costs measured alone (in the replay the reader runs on its own
     * thread, overlapped with the rest). */
    printf("cost per event, each stage alone: JSON read %.0f ns, binary read %.0f ns, allocator %.0f ns, "
           "device simulation %.0f ns\n", t_read / ev * 1e9, t_bread / ev * 1e9,
           (t_bdram - t_bread) / ev * 1e9, (t_bsim - t_bdram) / ev * 1e9);
    printf("peak RSS: %llu kB for %llu events, %llu kB for %llu events (same live set)\n",
           (unsigned long long)hwm1, (unsigned long long)n1, (unsigned long long)hwm2, (unsigned long long)n);
    printf("target: JSON Lines replay (sim) >= 0.70x parse-only: %.2fx (%s)\n", t_parse / t_sim,
           t_parse / t_sim >= 0.7 ? "met" : "MISSED");
    printf("target: binary replay (sim) >= 10 M events/s: %.2f M (%s)\n", ev / t_bsim / 1e6,
           ev / t_bsim >= 1e7 ? "met" : "MISSED");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
