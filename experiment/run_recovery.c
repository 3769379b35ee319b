/*
 * run_recovery.c - a run's recovery measurement: once every statistic and
 * data file of the run is taken (recovery's own reads and writes must not
 * show in them), the heap is dropped as if the process died (pma_abandon;
 * every operation had returned, so nothing else is lost) and opened again;
 * summary.json's "recovery" block and the table's recovery line say what that
 * cost: wall time, and on the sim device the simulated time, device bytes
 * read and written, flushes and fences, then what open found and whether the
 * recovered heap passes pma_check. Losing live objects is a failure: each
 * protocol promises that a returned get survives a crash (gc: while it is
 * reachable from the root).
 */
#include "run_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int run_recover(run_result *m, pma_heap **h)
{
    run_recovery *r = &m->rec;
    memset(r, 0, sizeof *r);
    if (!m->x->recovery) {
        r->why = "analysis.recovery is false";
        return EXP_OK;
    }
    if (m->x->allocator.metadata == PMA_META_DRAM) {
        r->why = "metadata dram: nothing on the device to recover from";
        return EXP_OK;
    }
    nv_counters k0, k1;
    r->counted = nv_device_kind(m->d) == NV_KIND_SIM && nv_counters_get(m->d, &k0) == 0;
    r->live_before = m->hs.live_objects;
    pma_abandon(*h);
    *h = NULL;
    m->h = NULL;
    r->done = true;
    pma_heap *h2 = NULL;
    double t0 = mono_s();
    int rc = pma_open(&h2, m->d);
    r->wall_s = mono_s() - t0;
    if (r->counted && nv_counters_get(m->d, &k1) == 0) {
        r->sim_ns = k1.time_ns - k0.time_ns;
        r->bytes_read = k1.bytes_read - k0.bytes_read;
        r->bytes_written = k1.bytes_stored - k0.bytes_stored;
        r->flushes = k1.flushes - k0.flushes;
        r->fences = k1.fences - k0.fences;
    } else {
        r->counted = false;
    }
    if (rc != 0) {
        snprintf(r->check, sizeof r->check, "pma_open failed: %s (%s)", pma_strerror(rc), pma_last_error_detail());
    } else {
        pma_open_info info;
        pma_open_info_get(h2, &info);
        snprintf(r->how, sizeof r->how, "%s", info.how ? info.how : "?");
        r->traced = info.traced_objects;
        r->scanned = info.scanned_bytes;
        char msg[240];
        if (pma_check(h2, msg, sizeof msg) != 0)
            snprintf(r->check, sizeof r->check, "pma_check: %s", msg);
        pma_heap_stats hs;
        pma_stats(h2, &hs);
        r->live_after = hs.live_objects;
        /* Under gc without the replay's link table nothing is reachable:
         * losing the objects is what gc promises such a program, not a fault. */
        bool unlinked = m->x->allocator.persistence == PMA_PERSIST_GC && !m->st->links;
        if (!r->check[0] && r->live_after < r->live_before && !unlinked)
            snprintf(r->check, sizeof r->check, "lost objects: %llu live before the crash, %llu after recovery",
                     (unsigned long long)r->live_before, (unsigned long long)r->live_after);
        else if (!r->check[0] && unlinked)
            snprintf(r->check, sizeof r->check, "ok (gc with replay.links false: nothing was linked from the root, "
                     "so recovery kept %llu of %llu)", (unsigned long long)r->live_after,
                     (unsigned long long)r->live_before);
        pma_destroy(h2);
    }
    if (r->check[0] && strncmp(r->check, "ok", 2) != 0) {
        fprintf(stderr, "pmarena run: recovery after a simulated crash failed: %s\n", r->check);
        return EXP_FAIL;
    }
    if (!r->check[0])
        snprintf(r->check, sizeof r->check, "ok");
    return EXP_OK;
}

static json_t *counted(const run_recovery *r, double v)
{
    return r->counted && isfinite(v) ? json_real(v) : json_null();
}

static json_t *counted_u(const run_recovery *r, uint64_t v)
{
    return r->counted ? json_integer((json_int_t)v) : json_null();
}

void run_recovery_json(const run_result *m, json_t *sum)
{
    const run_recovery *r = &m->rec;
    if (!r->done) {
        json_object_set_new(sum, "recovery", json_null());
        json_object_set_new(sum, "recovery_why", json_string(r->why ? r->why : "not measured"));
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "how", r->how[0] ? json_string(r->how) : json_null());
    json_object_set_new(o, "wall_s", json_real(r->wall_s));
    json_object_set_new(o, "sim_ns", counted(r, r->sim_ns));
    json_object_set_new(o, "bytes_read", counted_u(r, r->bytes_read));
    json_object_set_new(o, "bytes_written", counted_u(r, r->bytes_written));
    json_object_set_new(o, "flushes", counted_u(r, r->flushes));
    json_object_set_new(o, "fences", counted_u(r, r->fences));
    json_object_set_new(o, "live_objects_before", json_integer((json_int_t)r->live_before));
    json_object_set_new(o, "live_objects_after", json_integer((json_int_t)r->live_after));
    json_object_set_new(o, "traced_objects", json_integer((json_int_t)r->traced));
    json_object_set_new(o, "scanned_bytes", json_integer((json_int_t)r->scanned));
    json_object_set_new(o, "check", json_string(r->check));
    json_object_set_new(sum, "recovery", o);
}

void run_recovery_print(const run_result *m)
{
    const run_recovery *r = &m->rec;
    if (!r->done) {
        printf("  %-24s %14s   (%s)\n", "recovery", "skipped", r->why ? r->why : "not measured");
        return;
    }
    printf("  %-24s %14.3g s    %s: %llu of %llu live objects", "recovery after a crash", r->wall_s,
           r->how[0] ? r->how : "-", (unsigned long long)r->live_after, (unsigned long long)r->live_before);
    if (r->counted)
        printf(", %.3g ms simulated, %llu bytes read, %llu written", r->sim_ns / 1e6,
               (unsigned long long)r->bytes_read, (unsigned long long)r->bytes_written);
    printf("; check %s\n", r->check);
}
