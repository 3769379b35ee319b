/*
 * wear_proto.c - the wear half's per-protocol rows (pmarena-sim-intent,
 * -log, -gc, at first-fit): what each persistence protocol costs in cells,
 * and where gc moves it.
 *
 * Why the experiment's replay engine (replay.h) and not wear_place.c's loop:
 * under gc a program must keep its live objects reachable from the root or
 * a crash frees them, and the engine does what such a program must (its
 * persistent link table, every store tagged NV_LINKS, on by default under
 * gc). A bench row without those stores would show gc's metadata savings
 * and hide what the program pays for them. So the trace is replayed as
 * `pmarena run` replays it: the default replay config (deterministic,
 * on_alloc full, random data, links auto) on the sim device bp_open made
 * (nv_config_defaults, the bench's size and cell; the same as
 * configs/default.json's device). The counters are reset after pma_init, as
 * in wear_place.c, so heap creation is not counted but arena creation during
 * the replay is.
 *
 * Data writes against wear_place.c: the engine's write model is the same
 * (each object written whole when allocated, a realloc's kept bytes then its
 * tail, the trace's own writes), and so is the allocation order, so the data
 * cell writes equal those of wear_place.c's first-fit row under the same
 * --persistence (test_bench.c checks it for log, the default). The protocol
 * itself places differently (gc's data counts differ from log's even without
 * links). Under gc the link table's own objects (a directory, 4096-byte
 * chunks) come from the same heap and could push the trace's objects to
 * other addresses (a write spanning a cell boundary or not); on the churn
 * and sqlite3 traces they do not: the counts matched `--persistence gc`'s
 * first-fit row exactly, and the metadata writes differ by one (the engine's
 * pma_set_root of the table). The application bytes are the same for every
 * protocol.
 */
#include "worker.h"

#include "pmarena/replay.h"

#include <string.h>

int bp_wear_engine_run(bp_peer *p, const char *trace, bp_wear *data, bp_wear *all, bp_sources *src, char *msg,
                       size_t msglen)
{
    memset(data, 0, sizeof *data);
    memset(all, 0, sizeof *all);
    memset(src, 0, sizeof *src);
    if (p->kind != BP_PMA || nv_device_kind(p->dev) != NV_KIND_SIM) {
        snprintf(msg, msglen, "%s: the per-protocol wear runs on pmarena's sim device", p->name);
        return -1;
    }
    tr_reader *r;
    tr_error err = {0};
    if (tr_reader_open(&r, trace, &err) != 0) {
        tr_error_format(&err, msg, msglen);
        return -1;
    }
    tr_replay_config cfg;
    tr_replay_config_defaults(&cfg);
    tr_replay_stats st;
    nv_counters_reset(p->dev);
    int rc = tr_replay(r, p->heap, &cfg, &st, &err);
    tr_reader_close(r);
    if (rc != 0) {
        tr_error_format(&err, msg, msglen);
        return -1;
    }
    /* Reads store nothing and the bench's own loader drops them: per op is
     * per allocation, free, realloc or write, as in the other rows. */
    uint64_t events = st.events[TR_ALLOC] + st.events[TR_FREE] + st.events[TR_REALLOC] + st.events[TR_WRITE];
    if (bp_device_wear(p->dev, 0, data) != 0 || bp_device_wear(p->dev, 2, all) != 0 ||
        bp_device_sources(p->dev, events, src) != 0) {
        snprintf(msg, msglen, "wear statistics failed");
        return -1;
    }
    data->app_bytes = all->app_bytes = st.data_bytes_written;
    /* What links under gc must have stored, else the device missed it. */
    if (st.links != (src->links_writes > 0)) {
        snprintf(msg, msglen, "%s: the replay %s links but the device counted %llu links writes", p->name,
                 st.links ? "kept" : "kept no", (unsigned long long)src->links_writes);
        return -1;
    }
    return 0;
}
