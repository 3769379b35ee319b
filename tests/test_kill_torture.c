/* test_kill_torture.c - a real process on the file device, killed with
 * SIGKILL at random moments, under each persistence protocol: a child
 * churns objects (allocate, fill with a pattern naming its slot and
 * generation, persist, link it in a persistent table named by the root;
 * unlink, persist, free), the parent kills it after a random delay, opens
 * the heap from the file, checks it (pma_check), and verifies every linked
 * object: live, big enough, its pattern whole. An object live but not
 * linked was between its get and its link when the kill came: a leak,
 * counted, not a failure. Then the next child goes on from that heap.
 *
 * PMARENA_KILLS sets the kills per protocol (default 20; `make crashtest`
 * runs 100 each, 300 in all). */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 256
#define DEV (8u << 20)

/* The table: one word per slot, the device offset of its object (0: none). */
typedef struct table {
    uint64_t off[SLOTS];
} table;

/* Object layout: slot, generation, size, then bytes derived from them. */
typedef struct objhdr {
    uint64_t slot, gen, size;
} objhdr;

static unsigned char pat(const objhdr *h, size_t i)
{
    return (unsigned char)(h->slot * 31 + h->gen * 7 + i);
}

static nv_device *open_file(const char *path, uint64_t size)
{
    nv_config c;
    nv_config_defaults(&c);
    c.kind = NV_KIND_FILE;
    c.path = path;
    c.size = size;
    nv_device *d = NULL;
    if (nv_open(&d, &c) != 0)
        return NULL;
    return d;
}

/* The child: churn until killed. */
static void churn(const char *path, unsigned seed, int ready_fd)
{
    nv_device *d = open_file(path, 0);
    pma_heap *h;
    if (!d || pma_open(&h, d) != 0)
        _exit(3);
    table *t = pma_root(h);
    if (!t)
        _exit(4);
    if (write(ready_fd, "r", 1) != 1)
        _exit(5);
    uint64_t gen = (uint64_t)seed << 32;
    for (;;) {
        unsigned s = (unsigned)rand_r(&seed) % SLOTS;
        uint64_t at = t->off[s];
        if (at) {
            uint64_t zero = 0;
            nv_write(d, pma_offset(h, &t->off[s]), &zero, 8, NV_DATA);
            nv_persist(d, pma_offset(h, &t->off[s]), 8);
            if (pma_return_mem(h, pma_pointer(h, at)) != 0)
                _exit(6);
            continue;
        }
        size_t size = sizeof(objhdr) + (size_t)(rand_r(&seed) % 3 ? rand_r(&seed) % 500 : rand_r(&seed) % 20000);
        unsigned char *p = pma_get_mem(h, size);
        if (!p)
            continue;                    /* full: frees will make room */
        objhdr oh = {s, ++gen, size};
        unsigned char buf[sizeof(objhdr) + 20000];
        memcpy(buf, &oh, sizeof oh);
        for (size_t i = sizeof oh; i < size; i++)
            buf[i] = pat(&oh, i);
        nv_write(d, pma_offset(h, p), buf, size, NV_DATA);
        nv_persist(d, pma_offset(h, p), size);
        uint64_t off = pma_offset(h, p);
        nv_write(d, pma_offset(h, &t->off[s]), &off, 8, NV_DATA);
        nv_persist(d, pma_offset(h, &t->off[s]), 8);
    }
}

/* The parent's check after a kill: the heap opens and checks out, and
 * every linked object is live with its pattern. Returns the leaks. */
static uint64_t verify(const char *path, pma_persistence per, int kill_no)
{
    nv_device *d = open_file(path, 0);
    ck_assert_ptr_nonnull(d);
    pma_heap *h;
    int rc = pma_open(&h, d);
    TEST_REQUIRE(rc == 0, "%s, kill %d: open failed: %s", pma_persistence_name(per), kill_no, pma_strerror(rc));
    char msg[256];
    TEST_REQUIRE(pma_check(h, msg, sizeof msg) == 0, "%s, kill %d: %s", pma_persistence_name(per), kill_no, msg);
    table *t = pma_root(h);
    ck_assert_ptr_nonnull(t);
    uint64_t linked = 0;
    for (unsigned s = 0; s < SLOTS; s++) {
        if (!t->off[s])
            continue;
        linked++;
        const unsigned char *p = pma_pointer(h, t->off[s]);
        objhdr oh;
        memcpy(&oh, p, sizeof oh);
        TEST_REQUIRE(pma_usable_size(h, p) >= oh.size && oh.slot == s && oh.size >= sizeof oh,
                     "%s, kill %d: slot %u's object @%llu lost or foreign", pma_persistence_name(per), kill_no, s,
                     (unsigned long long)t->off[s]);
        for (size_t i = sizeof oh; i < oh.size; i++)
            TEST_REQUIRE(p[i] == pat(&oh, i), "%s, kill %d: slot %u's object corrupt at byte %zu",
                         pma_persistence_name(per), kill_no, s, i);
    }
    pma_heap_stats st;
    pma_stats(h, &st);
    uint64_t live = st.live_objects - 1;          /* the table itself */
    TEST_REQUIRE(live >= linked, "%s, kill %d: %llu live, %llu linked", pma_persistence_name(per), kill_no,
                 (unsigned long long)live, (unsigned long long)linked);
    /* Leaks stay (no API walks the live set to free them): the count is
     * of every kill so far. */
    uint64_t leaks = live - linked;
    pma_destroy(h);
    nv_close(d);
    return leaks;
}

START_TEST(sigkill_at_random_moments)
{
    pma_persistence per = (pma_persistence)_i;
    int kills = getenv("PMARENA_KILLS") ? atoi(getenv("PMARENA_KILLS")) : 20;
    char path[] = "/tmp/pmarena-kill-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    nv_device *d = open_file(path, DEV);
    ck_assert_ptr_nonnull(d);
    pma_config c;
    pma_config_defaults(&c);
    c.persistence = per;
    c.arena_size = 65536;
    pma_heap *h;
    ck_assert_int_eq(pma_init(&h, d, &c), 0);
    table *t = pma_get_mem(h, sizeof *t);
    ck_assert_ptr_nonnull(t);
    nv_set(d, pma_offset(h, t), 0, sizeof *t, NV_DATA);
    nv_persist(d, pma_offset(h, t), sizeof *t);
    ck_assert_int_eq(pma_set_root(h, t), 0);
    pma_destroy(h);
    nv_close(d);
    unsigned seed = 12345u + (unsigned)per;
    uint64_t leaks = 0;
    for (int k = 0; k < kills; k++) {
        int pfd[2];
        ck_assert_int_eq(pipe(pfd), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(pfd[0]);
            churn(path, seed + (unsigned)k * 7919u, pfd[1]);
        }
        close(pfd[1]);
        char r;
        ck_assert_int_eq(read(pfd[0], &r, 1), 1);     /* opened: recovery done, churning */
        close(pfd[0]);
        struct timespec ts = {0, (long)(1 + rand_r(&seed) % 20) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        TEST_REQUIRE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "%s, kill %d: the child ended by itself (%d)",
                     pma_persistence_name(per), k, st);
        uint64_t now = verify(path, per, k);
        TEST_REQUIRE(now <= leaks + 1, "%s, kill %d: %llu leaks after %llu: more than the one object a kill "
                     "can catch between its get and its link", pma_persistence_name(per), k,
                     (unsigned long long)now, (unsigned long long)leaks);
        leaks = now;
    }
    printf("kill torture %s: %d SIGKILLs, 0 lost or corrupt objects, %llu leaked in all (live, not linked)\n",
           pma_persistence_name(per), kills, (unsigned long long)leaks);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kill_torture");
    TCase *tc = tcase_create("kill");
    tcase_set_timeout(tc, 3600);
    tcase_add_loop_test(tc, sigkill_at_random_moments, 0, PMA_PERSISTENCES);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
