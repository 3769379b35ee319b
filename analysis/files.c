/*
 * files.c - how analysis writes files: atomically (a temporary name, then
 * rename), with numbers formatted the same way everywhere; the run's small
 * CSV series (kinds.csv, frag.csv, wear_time.csv, formats in analysis.h,
 * written through csv.c); error names.
 *
 * Atomic files: PATH.tmp.PID is written and closed, and only a complete file
 * (no error from any write or from fclose, which flushes) is renamed over
 * PATH. rename(2) within one directory is atomic, so a reader (a plot, a
 * merge, a user) sees the old file or the whole new one, never a torn one; a
 * crash leaves at most a stray .tmp.PID. Two threads of one process must not
 * write the same PATH at once (their temporaries would share a name).
 *
 * Numbers: integers in decimal; doubles as the shortest of %.15g/%.16g/%.17g
 * that reads back exactly (0.1 stays "0.1", nothing is lost); NAN as an empty
 * field, which CSV readers (gnuplot, pandas) take as missing.
 */
#include "pmarena/analysis.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

const char *an_strerror(int rc)
{
    switch (rc) {
    case AN_OK: return "success";
    case AN_EINVAL: return "bad argument";
    case AN_ENOMEM: return "out of memory";
    case AN_EIO: return "cannot write or read a file";
    case AN_ETOOL: return "gnuplot is missing or failed (see the .log beside the script)";
    default: return "unknown error";
    }
}

char *an_path_join(const char *dir, const char *name, const char *ext)
{
    size_t a = strlen(dir), b = strlen(name), c = strlen(ext);
    char *p = malloc(a + 1 + b + c + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b);
    memcpy(p + a + 1 + b, ext, c + 1);
    return p;
}

int an_file_open(an_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (!path || !*path)
        return AN_EINVAL;
    size_t len = strlen(path) + 32;
    af->path = strdup(path);
    af->tmp = malloc(len);
    if (!af->path || !af->tmp) {
        free(af->path);
        free(af->tmp);
        return AN_ENOMEM;
    }
    snprintf(af->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "w");
    if (!af->f) {
        free(af->path);
        free(af->tmp);
        af->path = af->tmp = NULL;
        return AN_EIO;
    }
    return 0;
}

static void file_release(an_file *af)
{
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    af->f = NULL;
}

int an_file_commit(an_file *af)
{
    /* errno is left as the failed call set it (EFBIG, ENOSPC...) so the
     * caller can say why; a stream error set earlier, by a write, usually
     * sets it again when fclose flushes what is left. */
    errno = 0;
    bool bad = ferror(af->f) != 0;
    bad |= fclose(af->f) != 0;
    if (bad || rename(af->tmp, af->path) != 0) {
        int e = errno;
        unlink(af->tmp);
        file_release(af);
        errno = e;
        return AN_EIO;
    }
    file_release(af);
    return 0;
}

void an_file_abort(an_file *af)
{
    if (af->f) {
        fclose(af->f);
        unlink(af->tmp);
    }
    file_release(af);
}

void an_fmt_double(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        if (len)
            buf[0] = '\0';
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

int an_kinds_csv(const char *const *names, const uint64_t *writes, const uint64_t *hottest,
                 size_t k, const char *path)
{
    if (k && (!names || !writes || !hottest))
        return AN_EINVAL;
    for (size_t i = 0; i < k; i++)
        if (!names[i] || !*names[i] || strpbrk(names[i], ",\"\n\r"))
            return AN_EINVAL;
    an_file af;
    int rc = an_file_open(&af, path);
    if (rc)
        return rc;
    an_csv c;
    an_csv_begin(&c, af.f);
    an_csv_row(&c, (const char *[]){"kind", "writes", "hottest"}, 3);
    for (size_t i = 0; i < k; i++) {
        an_csv_str(&c, names[i]);
        an_csv_u64(&c, writes[i]);
        an_csv_u64(&c, hottest[i]);
        an_csv_end(&c);
    }
    return an_file_commit(&af);
}

int an_frag_csv(const an_frag_sample *samples, size_t k, const char *path)
{
    if (k && !samples)
        return AN_EINVAL;
    an_file af;
    int rc = an_file_open(&af, path);
    if (rc)
        return rc;
    an_csv c;
    an_csv_begin(&c, af.f);
    an_csv_row(&c, (const char *[]){"events", "requested", "allocated", "footprint", "internal", "external",
                                    "utilization"}, 7);
    for (size_t i = 0; i < k; i++) {
        const an_frag_sample *s = &samples[i];
        an_csv_u64(&c, s->events);
        an_csv_u64(&c, s->requested);
        an_csv_u64(&c, s->allocated);
        an_csv_u64(&c, s->footprint);
        an_csv_double(&c, s->internal);
        an_csv_double(&c, s->external);
        an_csv_double(&c, s->utilization);
        an_csv_end(&c);
    }
    return an_file_commit(&af);
}

int an_wear_time_csv(const an_wear_sample *samples, size_t k, const char *path)
{
    if (k && !samples)
        return AN_EINVAL;
    an_file af;
    int rc = an_file_open(&af, path);
    if (rc)
        return rc;
    an_csv c;
    an_csv_begin(&c, af.f);
    an_csv_row(&c, (const char *[]){"events", "total_writes", "data_writes", "meta_writes", "hottest",
                                    "hottest_data", "hottest_meta", "links_writes", "hottest_links"}, 9);
    for (size_t i = 0; i < k; i++) {
        const an_wear_sample *s = &samples[i];
        const uint64_t v[9] = {s->events, s->total_writes, s->data_writes, s->meta_writes, s->hottest,
                               s->hottest_data, s->hottest_meta, s->links_writes, s->hottest_links};
        for (int j = 0; j < 9; j++)
            an_csv_u64(&c, v[j]);
        an_csv_end(&c);
    }
    return an_file_commit(&af);
}

int an_mkdir_p(const char *dir)
{
    size_t n = strlen(dir);
    char *tmp = malloc(n + 1);
    if (!tmp)
        return AN_ENOMEM;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                free(tmp);
                return AN_EIO;
            }
            *p = '/';
        }
    int rc = mkdir(tmp, 0755) == 0 || errno == EEXIST ? AN_OK : AN_EIO;
    free(tmp);
    return rc;
}
