/* test_backends.c - the dram and file backends behind the same interface: the
 * file device keeps its contents across close and reopen; neither counts. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

START_TEST(file_device_survives_reopen)
{
    char path[] = "/tmp/pmarena-test-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);                            /* nv_open creates it */
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.kind = NV_KIND_FILE;
    cfg.path = path;
    cfg.size = 1 << 20;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    ck_assert_int_eq(nv_device_kind(d), NV_KIND_FILE);
    ck_assert_uint_eq(nv_size(d), 1 << 20);
    const char msg[] = "still here";
    ck_assert_int_eq(nv_write(d, 4000, msg, sizeof msg, NV_DATA), 0);
    nv_persist(d, 4000, sizeof msg);
    ck_assert_int_eq(nv_write(d, (1 << 20) - 2, msg, 3, NV_DATA), NV_ERANGE);
    nv_counters c;
    ck_assert_int_eq(nv_counters_get(d, &c), NV_ENOTSUP);
    ck_assert_int_eq(nv_crash(d, NULL), NV_ENOTSUP);
    nv_close(d);
    cfg.size = 0;                            /* reopen: the file's size wins */
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    ck_assert_uint_eq(nv_size(d), 1 << 20);
    char out[sizeof msg];
    ck_assert_int_eq(nv_read(d, 4000, out, sizeof out), 0);
    ck_assert_str_eq(out, msg);
    nv_close(d);
    unlink(path);
    cfg.path = "/nonexistent-dir/x/pool";
    cfg.size = 4096;
    ck_assert_int_eq(nv_open(&d, &cfg), NV_EIO);
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(dram_device_is_plain_memory)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    cfg.kind = NV_KIND_DRAM;
    cfg.size = 8192;
    nv_device *d;
    ck_assert_int_eq(nv_open(&d, &cfg), 0);
    ck_assert_int_eq(nv_write(d, 10, "abc", 4, NV_META_HEADER), 0);
    ck_assert_int_eq(nv_set(d, 100, 0x3C, 10, NV_DATA), 0);
    nv_persist(d, 0, 8192);
    ck_assert_str_eq((char *)nv_base(d) + 10, "abc");
    ck_assert_uint_eq(((unsigned char *)nv_base(d))[109], 0x3C);
    ck_assert_int_eq(nv_read(d, 8190, (char[4]){0}, 4), NV_ERANGE);
    ck_assert_uint_eq(nv_cell_count(d, 0, -1), 0);
    nv_counters c;
    ck_assert_int_eq(nv_counters_get(d, &c), NV_ENOTSUP);
    nv_close(d);
}
END_TEST

START_TEST(open_refuses_bad_configs)
{
    nv_config cfg;
    nv_config_defaults(&cfg);
    char msg[200];
    ck_assert_int_eq(nv_config_check(&cfg, msg, sizeof msg), 0);
    cfg.cell_size = 48;
    ck_assert_int_eq(nv_config_check(&cfg, msg, sizeof msg), NV_EINVAL);
    ck_assert_str_eq(msg, "cell_size: 48 is not allowed (a power of two from 1 to 4096)");
    nv_device *d = (nv_device *)1;
    ck_assert_int_eq(nv_open(&d, &cfg), NV_EINVAL);
    ck_assert_ptr_null(d);
    nv_config_defaults(&cfg);
    cfg.media_line = 32;
    ck_assert_int_eq(nv_config_check(&cfg, msg, sizeof msg), NV_EINVAL);
    ck_assert_str_eq(msg, "media_line: 32 is not allowed (0, or a power of two >= cell_size 64)");
    nv_config_defaults(&cfg);
    cfg.kind = NV_KIND_FILE;
    ck_assert_int_eq(nv_config_check(&cfg, msg, sizeof msg), NV_EINVAL);
    ck_assert_str_eq(msg, "path: the file device needs a path");
    nv_config_defaults(&cfg);
    cfg.kind = NV_KIND_DRAM;
    cfg.crash_sim = true;
    ck_assert_int_eq(nv_config_check(&cfg, msg, sizeof msg), NV_EINVAL);
    ck_assert_str_eq(nv_strerror(NV_ERANGE), "offset or length outside the device");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backends");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, file_device_survives_reopen);
    tcase_add_test(tc, dram_device_is_plain_memory);
    tcase_add_test(tc, open_refuses_bad_configs);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
