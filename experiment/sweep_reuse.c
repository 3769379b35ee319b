/*
 * sweep_reuse.c - which finished points of a sweep folder can be reused
 * (sweep.h). A point is reused only when the provenance in its summary.json
 * matches what would run now: the same tool (version and git revision), the
 * same resolved config hash and, where known, the same trace checksum.
 * Anything else is removed, so the folder only ever holds points of the
 * current sweep: sweep.csv, and `merge`, which reads folders without their
 * config, then see no stale rows.
 */
#include "sweep.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

enum verdict { V_REUSE, V_CONFIG, V_TRACE, V_TOOL };

static const char *str_at(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static bool same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static enum verdict judge(const char *pdir, const sweep_expect *e)
{
    char path[4600];
    snprintf(path, sizeof path, "%s/summary.json", pdir);
    json_t *sum = json_load_file(path, 0, NULL);
    json_t *p = json_object_get(sum, "provenance");
    enum verdict v = V_REUSE;
    if (!same(str_at(p, "version"), PMARENA_VERSION) || !same(str_at(p, "git_revision"), prov_revision()))
        v = V_TOOL;   /* also a point written before provenance existed */
    else if (!same(str_at(p, "config_hash"), e->config))
        v = V_CONFIG;
    else if (e->trace_known && !same(str_at(p, "trace_checksum"), e->trace))
        v = V_TRACE;
    json_decref(sum);
    return v;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int rm_tree(const char *path)
{
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT ? 0 : -1;
}

/* A point folder's index from its name (digits only), or -1. */
static int64_t folder_index(const char *name)
{
    if (!*name || strspn(name, "0123456789") != strlen(name) || strlen(name) > 12)
        return -1;
    return (int64_t)strtoll(name, NULL, 10);
}

int sweep_prune(const sweep *s, const char *dir, const sweep_expect *e, const sweep_opts *o, sweep_counts *c)
{
    memset(c, 0, sizeof *c);
    for (uint64_t i = o->shard; i < s->npoints; i += o->nshards)
        c->points++;
    char pdir[4200];
    snprintf(pdir, sizeof pdir, "%s/points", dir);
    DIR *d = opendir(pdir);
    if (!d) {
        c->fresh = c->points;
        return 0;
    }
    int rc = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        int64_t i = folder_index(ent->d_name);
        if (i < 0)
            continue;
        char p[4500], done[4600];
        snprintf(p, sizeof p, "%s/%s", pdir, ent->d_name);
        snprintf(done, sizeof done, "%s/.done", p);
        bool mine = (uint64_t)i < s->npoints && (uint64_t)i % o->nshards == o->shard;
        enum verdict v = V_REUSE;
        bool drop;
        if ((uint64_t)i >= s->npoints) {
            drop = true;
            c->dropped++;
        } else if (access(done, F_OK) != 0) {
            drop = mine;   /* an unfinished point of this shard starts clean */
        } else {
            v = judge(p, &e[i]);
            drop = v != V_REUSE;
            if (mine) {
                c->reused += v == V_REUSE;
                c->rerun += drop;
                c->by_config += v == V_CONFIG;
                c->by_trace += v == V_TRACE;
                c->by_tool += v == V_TOOL;
            } else {
                c->stale_elsewhere += drop;
            }
        }
        if (drop && rm_tree(p) != 0) {
            fprintf(stderr, "pmarena sweep: cannot remove the stale point %s: %s\n", p, strerror(errno));
            rc = EXP_FAIL;
        }
    }
    closedir(d);
    c->fresh = c->points - c->reused - c->rerun;
    return rc;
}

void sweep_counts_print(const sweep_counts *c, int jobs)
{
    char why[200] = "";
    size_t n = 0;
    static const char *const names[] = {"config changed", "trace changed", "tool changed"};
    const uint64_t by[] = {c->by_config, c->by_trace, c->by_tool};
    for (int k = 0; k < 3; k++)
        if (by[k])
            n += (size_t)snprintf(why + n, sizeof why - n, "%s%s: %llu", n ? ", " : " (", names[k],
                                  (unsigned long long)by[k]);
    if (n)
        snprintf(why + n, sizeof why - n, ")");
    fprintf(stderr, "pmarena sweep: %llu points: %llu reused, %llu rerun%s, %llu new; %d at a time\n",
            (unsigned long long)c->points, (unsigned long long)c->reused, (unsigned long long)c->rerun, why,
            (unsigned long long)c->fresh, jobs);
    if (c->dropped)
        fprintf(stderr, "pmarena sweep: removed %llu point(s) no longer in the sweep\n",
                (unsigned long long)c->dropped);
    if (c->stale_elsewhere)
        fprintf(stderr, "pmarena sweep: removed %llu stale point(s) of other shards\n",
                (unsigned long long)c->stale_elsewhere);
}
