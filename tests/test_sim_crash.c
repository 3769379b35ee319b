/* test_sim_crash.c - crash simulation: a crash loses exactly the lines not
 * flushed and fenced; the survivor mode is seeded and reproducible; injection
 * at the n-th store, flush or fence stops persistence right there; a fence
 * persists only the lines its own thread flushed. */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

static unsigned char byte_at(nv_device *d, uint64_t off)
{
    return ((unsigned char *)nv_base(d))[off];
}

START_TEST(crash_loses_exactly_unpersisted_lines)
{
    /* 1-byte cells: crash granularity is the 64-byte line whatever the cell size. */
    nv_device *d = test_sim_open(1 << 16, 1, NV_MODEL_LINE, 0, true);
    unsigned char b[64];
    memset(b, 0x11, sizeof b);
    nv_write(d, 0, b, 64, NV_DATA);         /* line 0: persisted */
    nv_persist(d, 0, 64);
    memset(b, 0x22, sizeof b);
    nv_write(d, 200, b, 4, NV_DATA);        /* line 3: part, flushed and fenced */
    nv_persist(d, 200, 1);
    nv_write(d, 64, b, 64, NV_DATA);        /* line 1: flushed, not fenced */
    nv_flush(d, 64, 64);
    nv_write(d, 128, b, 64, NV_DATA);       /* line 2: never flushed */
    nv_write(d, 0, b, 8, NV_DATA);          /* line 0 changed again after persist */
    ck_assert_int_eq(nv_crash(d, NULL), 0);
    ck_assert_uint_eq(byte_at(d, 0), 0x11);
    ck_assert_uint_eq(byte_at(d, 63), 0x11);
    ck_assert_uint_eq(byte_at(d, 64), 0x00);   /* flushed but not fenced: lost */
    ck_assert_uint_eq(byte_at(d, 128), 0x00);
    ck_assert_uint_eq(byte_at(d, 200), 0x22);
    ck_assert_uint_eq(byte_at(d, 203), 0x22);
    /* Lines persisted after a re-dirty are kept. */
    nv_write(d, 64, b, 64, NV_DATA);
    nv_flush(d, 64, 64);
    nv_write(d, 64, b, 1, NV_DATA);           /* dirty again after the flush */
    nv_fence(d);                               /* ... so this fence does not persist it */
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 64), 0x00);
    /* Crash counts no wear and does not disturb the counters. */
    nv_counters c;
    nv_counters_get(d, &c);
    ck_assert_uint_eq(c.total_writes, 64 * 3 + 4 + 8 + 64 + 1);
    nv_close(d);
}
END_TEST

static void dirty_lines(nv_device *d, int n)
{
    unsigned char b[64];
    memset(b, 0x5A, sizeof b);
    for (int i = 0; i < n; i++)
        nv_write(d, (uint64_t)i * 64, b, 64, NV_DATA);
}

START_TEST(survivors_are_seeded_and_reproducible)
{
    enum { N = 512 };
    unsigned char first[N], second[N], other[N];
    unsigned char *runs[3] = {first, second, other};
    uint64_t seeds[3] = {42, 42, 43};
    for (int r = 0; r < 3; r++) {
        nv_device *d = test_sim_open(N * 64, 64, NV_MODEL_LINE, 0, true);
        dirty_lines(d, N);
        nv_crash_opts o = {.survive_p = 0.5, .seed = seeds[r]};
        ck_assert_int_eq(nv_crash(d, &o), 0);
        for (int i = 0; i < N; i++)
            runs[r][i] = byte_at(d, (uint64_t)i * 64);
        nv_close(d);
    }
    ck_assert_mem_eq(first, second, N);
    ck_assert(memcmp(first, other, N) != 0);
    int survived = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(first[i] == 0 || first[i] == 0x5A);
        survived += first[i] == 0x5A;
    }
    ck_assert_int_gt(survived, N / 4);        /* p = 0.5 of 512 lines */
    ck_assert_int_lt(survived, 3 * N / 4);
    /* p = 1: everything survives; p = 0 (or NULL): nothing. */
    nv_device *d = test_sim_open(N * 64, 64, NV_MODEL_LINE, 0, true);
    dirty_lines(d, N);
    nv_crash_opts all = {.survive_p = 1.0, .seed = 1};
    nv_crash(d, &all);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(byte_at(d, (uint64_t)i * 64), 0x5A);
    nv_crash_opts bad = {.survive_p = 1.5, .seed = 1};
    ck_assert_int_eq(nv_crash(d, &bad), NV_EINVAL);
    nv_close(d);
}
END_TEST

/* Injection: after the n-th counted operation nothing more persists. */
START_TEST(injection_at_nth_operation)
{
    /* Workload: 4 x (store, flush, fence) to lines 0..3. Ops: 12 in all. */
    for (uint64_t n = 1; n <= 12; n++) {
        nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, true);
        ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, n), 0);
        unsigned char b = 0x77;
        for (int i = 0; i < 4; i++) {
            nv_write(d, (uint64_t)i * 64, &b, 1, NV_DATA);
            nv_flush(d, (uint64_t)i * 64, 1);
            nv_fence(d);
        }
        ck_assert(nv_crash_triggered(d));
        ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_ALL), 12);
        nv_crash(d, NULL);
        ck_assert(!nv_crash_triggered(d));
        /* Line i is persisted iff its fence (op 3i+3) is within the first n ops. */
        for (uint64_t i = 0; i < 4; i++)
            ck_assert_uint_eq(byte_at(d, i * 64), (3 * i + 3 <= n) ? 0x77 : 0);
        nv_close(d);
    }
}
END_TEST

START_TEST(injection_by_kind_and_counting)
{
    nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, true);
    unsigned char b = 1;
    nv_crash_disarm(d);
    nv_write(d, 0, &b, 1, NV_DATA);
    nv_write(d, 64, &b, 1, NV_DATA);
    nv_persist(d, 0, 128);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_STORE), 2);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_FLUSH), 1);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_FENCE), 1);
    ck_assert_uint_eq(nv_crash_ops_count(d, NV_OP_ALL), 4);
    /* Crash at the 1st fence: that fence persists, later stores do not. */
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_FENCE, 1), 0);
    b = 2;
    nv_write(d, 0, &b, 1, NV_DATA);
    nv_persist(d, 0, 1);                      /* fence #1: persists, then triggers */
    ck_assert(nv_crash_triggered(d));
    b = 3;
    nv_write(d, 0, &b, 1, NV_DATA);
    nv_persist(d, 0, 1);                      /* too late */
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 0), 2);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, 0), NV_EINVAL);
    ck_assert_int_eq(nv_crash_arm(d, 8, 1), NV_EINVAL);
    nv_close(d);
    d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, false);
    ck_assert_int_eq(nv_crash(d, NULL), NV_ENOTSUP);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_ALL, 1), NV_ENOTSUP);
    nv_close(d);
}
END_TEST

/* After the injected crash point nothing persists, not even by surviving:
 * survivors are the lines in flight at that point, with their contents then. */
START_TEST(nothing_after_the_crash_point_survives)
{
    nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, true);
    ck_assert_int_eq(nv_crash_arm(d, NV_OP_STORE, 1), 0);
    unsigned char a = 0xA1, b = 0xB2;
    nv_write(d, 0, &a, 1, NV_DATA);           /* the crash point: in flight */
    nv_write(d, 0, &b, 1, NV_DATA);           /* after it: line 0 changes again */
    nv_write(d, 64, &b, 1, NV_DATA);          /* after it: a new line */
    nv_persist(d, 0, 128);                    /* too late */
    nv_crash_opts all = {.survive_p = 1.0, .seed = 3};
    ck_assert_int_eq(nv_crash(d, &all), 0);
    ck_assert_uint_eq(byte_at(d, 0), 0xA1);   /* survived as it was at the point */
    ck_assert_uint_eq(byte_at(d, 64), 0);
    nv_close(d);
}
END_TEST

/* ---- per-thread fences ----------------------------------------------------
 * An agent is a thread that runs the steps it is handed, one at a time, while
 * the test thread waits: two thread identities interleaved deterministically. */

typedef struct agent {
    pthread_t th;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void (*step)(nv_device *, uint64_t, unsigned char);
    nv_device *d;
    uint64_t off;
    unsigned char val;
    bool pending, quit;
} agent;

static void *agent_main(void *arg)
{
    agent *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->pending && !a->quit)
            pthread_cond_wait(&a->cond, &a->lock);
        if (a->pending) {
            a->step(a->d, a->off, a->val);
            a->pending = false;
            pthread_cond_broadcast(&a->cond);
        } else {
            break;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static void agent_start(agent *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    ck_assert_int_eq(pthread_create(&a->th, NULL, agent_main, a), 0);
}

/* Runs step(d, off, val) on the agent's thread and waits for it. */
static void agent_do(agent *a, void (*step)(nv_device *, uint64_t, unsigned char),
                     nv_device *d, uint64_t off, unsigned char val)
{
    pthread_mutex_lock(&a->lock);
    a->step = step;
    a->d = d;
    a->off = off;
    a->val = val;
    a->pending = true;
    pthread_cond_broadcast(&a->cond);
    while (a->pending)
        pthread_cond_wait(&a->cond, &a->lock);
    pthread_mutex_unlock(&a->lock);
}

static void agent_stop(agent *a)
{
    pthread_mutex_lock(&a->lock);
    a->quit = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->th, NULL);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
}

static void step_store(nv_device *d, uint64_t off, unsigned char v) { nv_write(d, off, &v, 1, NV_DATA); }
static void step_flush(nv_device *d, uint64_t off, unsigned char v) { (void)v; nv_flush(d, off, 1); }
static void step_fence(nv_device *d, uint64_t off, unsigned char v) { (void)off; (void)v; nv_fence(d); }
static void step_store_flush(nv_device *d, uint64_t off, unsigned char v)
{
    step_store(d, off, v);
    step_flush(d, off, v);
}

/* The crash point's class: the operation it landed after and what its
 * line held (a flush names the tag of the line's last store). */
START_TEST(crash_point_reports_its_class)
{
    nv_device *d = test_sim_open(1 << 16, 64, NV_MODEL_LINE, 0, true);
    unsigned char b[64] = {1};
    unsigned op = 9;
    int tag = 9;
    ck_assert_int_eq(nv_crash_point(d, &op, &tag), 0);
    ck_assert_uint_eq(op, 0);                       /* nothing armed or triggered */
    ck_assert_int_eq(tag, -1);
    struct { unsigned mask; uint64_t n; unsigned op; int tag; } want[] = {
        {NV_OP_ALL, 1, NV_OP_STORE, NV_META_LOG},   /* the first store: log */
        {NV_OP_ALL, 2, NV_OP_FLUSH, NV_META_LOG},   /* its flush */
        {NV_OP_ALL, 3, NV_OP_FENCE, -1},
        {NV_OP_ALL, 4, NV_OP_STORE, NV_META_BITMAP},
        {NV_OP_FLUSH, 2, NV_OP_FLUSH, NV_META_BITMAP},
        {NV_OP_STORE, 3, NV_OP_STORE, NV_DATA},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_int_eq(nv_crash_arm(d, want[i].mask, want[i].n), 0);
        nv_write(d, 0, b, 8, NV_META_LOG);
        nv_flush(d, 0, 8);
        nv_fence(d);
        nv_write(d, 640, b, 8, NV_META_BITMAP);
        nv_flush(d, 640, 8);
        nv_write(d, 4096, b, 64, NV_DATA);
        ck_assert(nv_crash_triggered(d));
        ck_assert_int_eq(nv_crash_point(d, &op, &tag), 0);
        ck_assert_msg(op == want[i].op && tag == want[i].tag, "case %zu: op %u tag %d", i, op, tag);
        ck_assert_int_eq(nv_crash(d, NULL), 0);
        ck_assert_int_eq(nv_crash_point(d, &op, &tag), 0);
        ck_assert_uint_eq(op, 0);                   /* the crash consumed the point */
    }
    nv_close(d);
    nv_device *plain = test_sim_open(1 << 16, 64, NV_MODEL_LINE, 0, false);
    ck_assert_int_eq(nv_crash_point(plain, &op, &tag), NV_ENOTSUP);   /* no crash_sim */
    nv_close(plain);
}
END_TEST

START_TEST(fence_persists_only_own_flushes)
{
    nv_device *d = test_sim_open(4096, 64, NV_MODEL_LINE, 0, true);
    agent a;
    agent_start(&a);
    /* A flushes line 0 and never fences; B (this thread) persists line 1:
     * B's fence leaves A's line in flight, and the crash loses it. */
    agent_do(&a, step_store_flush, d, 0, 0xA1);
    step_store_flush(d, 64, 0xB1);
    nv_fence(d);
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 0), 0);
    ck_assert_uint_eq(byte_at(d, 64), 0xB1);
    /* B's fence does not take A's line; A's own fence then does. */
    agent_do(&a, step_store_flush, d, 0, 0xA2);
    nv_fence(d);
    agent_do(&a, step_fence, d, 0, 0);
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 0), 0xA2);
    /* A flushes, B stores to the same line, flushes and fences: B flushed the
     * line's current contents, so B's fence persists them (A's byte too). */
    agent_do(&a, step_store_flush, d, 0, 0xA3);
    step_store_flush(d, 1, 0xB3);
    nv_fence(d);
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 0), 0xA3);
    ck_assert_uint_eq(byte_at(d, 1), 0xB3);
    /* A store after A's flush voids it: B flushes but does not fence, and
     * A's fence persists nothing of line 0. */
    agent_do(&a, step_store_flush, d, 0, 0xA4);
    step_store_flush(d, 1, 0xB4);
    agent_do(&a, step_fence, d, 0, 0);
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 0), 0xA3);
    ck_assert_uint_eq(byte_at(d, 1), 0xB3);
    /* Both flush the same contents: either's fence persists them. */
    agent_do(&a, step_store_flush, d, 0, 0xA5);
    step_flush(d, 0, 0);
    nv_fence(d);
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 0), 0xA5);
    /* A stores, B flushes and fences: B flushed it, so it persists. */
    agent_do(&a, step_store, d, 128, 0xA6);
    nv_persist(d, 128, 1);
    /* ... and a thread that exits unfenced never persists its flushes. */
    agent_do(&a, step_store_flush, d, 192, 0xA7);
    agent_stop(&a);
    nv_fence(d);
    nv_crash(d, NULL);
    ck_assert_uint_eq(byte_at(d, 128), 0xA6);
    ck_assert_uint_eq(byte_at(d, 192), 0);
    nv_close(d);
}
END_TEST

/* Many threads store, flush and fence their own lines at once, then leave a
 * last store flushed but unfenced: after the crash every line holds its
 * thread's last fenced value. Also a workout for the lock under TSan. */
enum { RACE_THREADS = 8, RACE_ROUNDS = 300, RACE_LINES = 4 };

typedef struct racer {
    nv_device *d;
    int id;
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    for (int k = 1; k <= RACE_ROUNDS; k++) {
        for (int j = 0; j < RACE_LINES; j++) {
            uint64_t off = ((uint64_t)r->id * RACE_LINES + (uint64_t)j) * 64;
            unsigned char v = (unsigned char)k;
            nv_write(r->d, off, &v, 1, NV_DATA);
            nv_flush(r->d, off, 1);
        }
        nv_fence(r->d);
    }
    unsigned char last = 0xEE;
    for (int j = 0; j < RACE_LINES; j++) {
        uint64_t off = ((uint64_t)r->id * RACE_LINES + (uint64_t)j) * 64;
        nv_write(r->d, off, &last, 1, NV_DATA);
        nv_flush(r->d, off, 1);
    }
    return NULL;
}

START_TEST(concurrent_fences_persist_own_lines)
{
    nv_device *d = test_sim_open(RACE_THREADS * RACE_LINES * 64, 64, NV_MODEL_LINE, 0, true);
    pthread_t th[RACE_THREADS];
    racer r[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        r[i] = (racer){.d = d, .id = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    nv_fence(d);                    /* this thread flushed nothing: persists nothing */
    ck_assert_int_eq(nv_crash(d, NULL), 0);
    for (uint64_t l = 0; l < RACE_THREADS * RACE_LINES; l++)
        ck_assert_uint_eq(byte_at(d, l * 64), (unsigned char)RACE_ROUNDS);
    nv_close(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim_crash");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, crash_loses_exactly_unpersisted_lines);
    tcase_add_test(tc, survivors_are_seeded_and_reproducible);
    tcase_add_test(tc, injection_at_nth_operation);
    tcase_add_test(tc, injection_by_kind_and_counting);
    tcase_add_test(tc, nothing_after_the_crash_point_survives);
    tcase_add_test(tc, crash_point_reports_its_class);
    tcase_add_test(tc, fence_persists_only_own_flushes);
    tcase_add_test(tc, concurrent_fences_persist_own_lines);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
