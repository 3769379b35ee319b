/* testutil.h - helpers shared by the Check suites: opening devices in one line,
 * and running a suite with libcheck's summary line as the output. */
#ifndef PMARENA_TESTUTIL_H
#define PMARENA_TESTUTIL_H

#include <check.h>
#include <stdlib.h>

#include "pmarena/device.h"
#include "pmarena/pma.h"

static inline nv_device *test_sim_open(uint64_t size, uint32_t cell, nv_write_model model,
                                       uint32_t media_line, bool crash_sim)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.size = size;
    cfg.cell_size = cell;
    cfg.write_model = model;
    cfg.media_line = media_line;
    cfg.crash_sim = crash_sim;
    nv_device *d = NULL;
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* xorshift64: the seeded workloads' cheap generator. */
static inline uint64_t test_xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every byte of an object equals its first (the owner's stamp). */
static inline int test_stamp_ok(const unsigned char *p, size_t size)
{
    for (size_t i = 1; i < size; i++)
        if (p[i] != p[0])
            return 0;
    return 1;
}

/* For hot loops: Check records every passing ck_assert (a write to its log),
 * which costs a syscall; this asserts only on failure. */
#define TEST_REQUIRE(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* A heap with cfg (NULL: defaults) on a new sim device of `size` bytes. */
static inline pma_heap *test_heap_open(nv_device **dev, uint64_t size, uint32_t cell,
                                       const pma_config *cfg)
{
    *dev = test_sim_open(size, cell, NV_MODEL_LINE, 0, false);
    pma_config c;
    pma_config_defaults(&c);
    if (cfg)
        c = *cfg;
    pma_heap *h = NULL;
    ck_assert_int_eq(pma_init(&h, *dev, &c), 0);
    return h;
}

static inline void test_heap_ok(pma_heap *h)
{
    char msg[256] = "";
    int rc = pma_check(h, msg, sizeof msg);
    ck_assert_msg(rc == 0, "pma_check: %s", msg);
}

static inline int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
