/* testutil.h - helpers shared by the Check suites: opening devices in one line,
 * and running a suite with libcheck's summary line as the output. */
#ifndef PMARENA_TESTUTIL_H
#define PMARENA_TESTUTIL_H

#include <check.h>
#include <stdlib.h>

#include "pmarena/device.h"

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

static inline int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
