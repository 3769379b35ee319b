/*
 * sweep.c - the points of a sweep and running them (sweep.h).
 *
 * Point i of a sweep over parameters p_0 .. p_{k-1} with n_0 .. n_{k-1}
 * values takes value (i / (n_{j+1} * ... * n_{k-1})) % n_j of p_j: the
 * cartesian product in the block's order, the last parameter varying
 * fastest. Shard I of N (1-based on the command line) is the points with
 * i % N == I - 1: deterministic, and balanced whatever the order.
 *
 * Each point runs in a child process (fork, then run_experiment), at most
 * `jobs` at a time; the child writes `.done` after its results, so a sweep
 * killed midway and started again skips what finished, as long as its
 * provenance still matches (sweep_reuse.c).
 *
 * DIR/.lock is flock(2)ed (non-blocking) for the whole sweep, table included,
 * so a second sweep into the same folder stops at once instead of racing for
 * the same points. The lock's descriptor is close-on-exec: gnuplot and other
 * programs started later do not hold it; the forked point runners share it,
 * which is right, as they are the sweep.
 */
#include "sweep.h"
#include "config_json.h"
#include "pmarena/experiment.h"
#include "pmarena/gen.h"
#include "pmarena/analysis.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int sweep_init(sweep *s, json_t *root, const char *config_path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->config_path = config_path;
    json_t *block = json_object_get(root, "sweep");
    if (!json_is_object(block) || json_object_size(block) == 0) {
        snprintf(err, errlen, "%s: no \"sweep\" block (an object mapping config paths to lists of values)", config_path);
        json_decref(root);
        return EXP_BADINPUT;
    }
    s->block = json_incref(block);
    json_object_del(root, "sweep");
    s->base = root;
    s->nparams = json_object_size(block);
    s->paths = calloc(s->nparams, sizeof *s->paths);
    s->values = calloc(s->nparams, sizeof *s->values);
    s->npoints = 1;
    const char *k;
    json_t *v;
    size_t i = 0;
    json_object_foreach(block, k, v) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            snprintf(err, errlen, "sweep.%s: expected a non-empty list of values", k);
            return EXP_BADINPUT;
        }
        s->paths[i] = k;
        s->values[i] = v;
        if (s->npoints > 1000000 / json_array_size(v)) {
            snprintf(err, errlen, "sweep: more than 10^6 points");
            return EXP_BADINPUT;
        }
        s->npoints *= json_array_size(v);
        i++;
    }
    return 0;
}

void sweep_free(sweep *s)
{
    json_decref(s->base);
    json_decref(s->block);
    json_decref(s->ident);
    free(s->paths);
    free(s->values);
}

json_t *sweep_point_config(const sweep *s, uint64_t index, json_t **params)
{
    json_t *c = json_deep_copy(s->base);
    json_t *p = json_object();
    uint64_t rest = index;
    for (size_t j = s->nparams; j-- > 0;) {
        size_t n = json_array_size(s->values[j]);
        json_t *v = json_array_get(s->values[j], rest % n);
        rest /= n;
        json_object_set(p, s->paths[j], v);
        char err[300];
        cfg_set_value(c, s->paths[j], json_deep_copy(v), err, sizeof err);
    }
    /* Parameters in the block's order (they were set last to first). */
    json_t *ordered = json_object();
    for (size_t j = 0; j < s->nparams; j++)
        json_object_set(ordered, s->paths[j], json_object_get(p, s->paths[j]));
    json_decref(p);
    char name[64];
    snprintf(name, sizeof name, "%05llu", (unsigned long long)index);
    json_object_set_new(c, "name", json_string(name));
    *params = ordered;
    return c;
}

static void point_dir(char *buf, size_t len, const char *dir, uint64_t i)
{
    snprintf(buf, len, "%s/points/%05llu", dir, (unsigned long long)i);
}

static bool point_done(const char *dir, uint64_t i)
{
    char p[4200];
    point_dir(p, sizeof p, dir, i);
    strncat(p, "/.done", sizeof p - strlen(p) - 1);
    return access(p, F_OK) == 0;
}

static int mkdirs(const char *dir)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static int write_json_atomic(const char *path, json_t *j)
{
    char tmp[4500];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The child's work: one point, start to `.done`. */
static int run_point(const sweep *s, const char *dir, uint64_t i)
{
    json_t *params;
    json_t *c = sweep_point_config(s, i, &params);
    char pdir[4200], err[1200];
    point_dir(pdir, sizeof pdir, dir, i);
    cfg_experiment x;
    if (cfg_experiment_from_json(&x, c, s->config_path, err, sizeof err) != 0) {
        fprintf(stderr, "pmarena sweep: point %llu: %s\n", (unsigned long long)i, err);
        json_decref(params);
        cfg_experiment_free(&x);
        return EXP_BADINPUT;
    }
    char cache[4200];
    snprintf(cache, sizeof cache, "%s/.cache", dir);
    run_options ro = {.quiet = true, .cache_dir = cache};
    int rc = mkdirs(pdir) == 0 ? run_experiment(&x, pdir, &ro) : EXP_FAIL;
    if (rc == 0) {
        json_t *pj = json_pack("{s:I, s:O}", "index", (json_int_t)i, "params", params);
        char path[4300];
        snprintf(path, sizeof path, "%s/point.json", pdir);
        rc = write_json_atomic(path, pj) == 0 ? 0 : EXP_FAIL;
        json_decref(pj);
        snprintf(path, sizeof path, "%s/.done", pdir);
        FILE *f = rc == 0 ? fopen(path, "w") : NULL;
        if (!f || fclose(f) != 0)
            rc = EXP_FAIL;
    }
    json_decref(params);
    cfg_experiment_free(&x);
    return rc;
}

/* Every point's config must read, before anything runs or is written; each
 * point's expected provenance goes into e (trace files hashed once each). */
static int check_points(const sweep *s, sweep_expect *e)
{
    json_t *file_sums = json_object();   /* trace file path -> checksum */
    int rc = 0;
    for (uint64_t i = 0; i < s->npoints && rc == 0; i++) {
        json_t *params;
        json_t *c = sweep_point_config(s, i, &params);
        cfg_experiment x;
        char err[1200];
        rc = cfg_experiment_from_json(&x, c, s->config_path, err, sizeof err);
        if (rc == 0 && x.trace_kind == CFG_TRACE_GEN) {
            tr_error te = {0};
            if (tr_gen_check(x.trace_gen, "trace.gen", &te) != 0) {
                snprintf(err, sizeof err, "%s", te.msg);
                rc = -1;
            }
        }
        if (rc == 0) {
            prov_config_hash(&x, e[i].config);
            uint64_t bytes;
            json_t *known = x.trace_kind == CFG_TRACE_FILE ? json_object_get(file_sums, x.trace_file) : NULL;
            if (known) {
                snprintf(e[i].trace, sizeof e[i].trace, "%s", json_string_value(known));
                e[i].trace_known = true;
            } else if (x.trace_kind != CFG_TRACE_GEN) {
                if (prov_trace(&x, NULL, e[i].trace, &bytes) != 0) {
                    snprintf(err, sizeof err, "trace.file: %.1000s: %s", x.trace_file, strerror(errno));
                    rc = -1;
                } else {
                    e[i].trace_known = true;
                    if (x.trace_kind == CFG_TRACE_FILE)
                        json_object_set_new(file_sums, x.trace_file, json_string(e[i].trace));
                }
            }
        }
        if (rc) {
            char *ps = json_dumps(params, JSON_COMPACT);
            fprintf(stderr, "pmarena sweep: %s: point %llu %s: %s\n", s->config_path, (unsigned long long)i,
                    ps ? ps : "", err);
            free(ps);
        }
        json_decref(params);
        cfg_experiment_free(&x);
    }
    json_decref(file_sums);
    return rc ? EXP_BADINPUT : 0;
}

/* Takes dir/.lock; its descriptor in *fd. EXP_FAIL when another sweep holds it. */
static int lock_dir(const char *dir, int *fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        fprintf(stderr, "pmarena sweep: cannot open %s: %s\n", path, strerror(errno));
        return EXP_FAIL;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char holder[32] = "";
        ssize_t n = pread(*fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        if (e == EWOULDBLOCK)
            fprintf(stderr, "pmarena sweep: %s is in use by another sweep (pid %s, holding %s); wait for it "
                            "to finish or use another -o folder\n", dir, holder[0] ? holder : "unknown", path);
        else
            fprintf(stderr, "pmarena sweep: cannot lock %s: %s\n", path, strerror(e));
        close(*fd);
        *fd = -1;
        return EXP_FAIL;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)len, 0) != len)
        fprintf(stderr, "pmarena sweep: warning: cannot write the pid into %s\n", path);
    return 0;
}

/* A trace file is parsed once: converted to the binary form in DIR/.cache
 * before the points start, which then all read the cached copy. */
static int prepare_cache(const sweep *s, const char *dir)
{
    json_t *params;
    json_t *c = sweep_point_config(s, 0, &params);
    json_decref(params);
    cfg_experiment x;
    char err[1200];
    int rc = cfg_experiment_from_json(&x, c, s->config_path, err, sizeof err);
    if (rc == 0 && x.trace_kind == CFG_TRACE_FILE) {
        char cache[4200];
        snprintf(cache, sizeof cache, "%s/.cache", dir);
        tr_reader *r;
        tr_error te = {0};
        if (mkdirs(cache) != 0 || tr_reader_open_cached(&r, x.trace_file, cache, &te) != 0) {
            char msg[1400];
            tr_error_format(&te, msg, sizeof msg);
            fprintf(stderr, "pmarena sweep: %s\n", msg);
            rc = EXP_BADINPUT;
        } else {
            tr_reader_close(r);
        }
    }
    cfg_experiment_free(&x);
    return rc;
}

/* Runs this shard's points that have no finished folder, `jobs` at a time. */
static int run_missing(const sweep *s, const char *dir, const sweep_opts *o, uint64_t todo)
{
    bool tty = !o->quiet && isatty(2);
    int running = 0, failed = 0;
    uint64_t finished = 0;
    for (uint64_t i = o->shard; i < s->npoints || running > 0;) {
        if (i < s->npoints && running < o->jobs) {
            if (point_done(dir, i)) {
                i += o->nshards;
                continue;
            }
            fflush(NULL);
            pid_t pid = fork();
            if (pid == 0)
                _exit(run_point(s, dir, i));
            if (pid < 0) {
                fprintf(stderr, "pmarena sweep: fork failed: %s\n", strerror(errno));
                failed++;
                break;
            }
            running++;
            i += o->nshards;
            continue;
        }
        int st;
        if (wait(&st) < 0)
            break;
        running--;
        finished++;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
        if (tty)
            fprintf(stderr, "\r%llu/%llu points", (unsigned long long)finished, (unsigned long long)todo);
    }
    if (tty && finished)
        fprintf(stderr, "\n");
    if (failed) {
        fprintf(stderr, "pmarena sweep: %d point(s) failed; rerun to retry them\n", failed);
        return EXP_FAIL;
    }
    return 0;
}

int sweep_run(const sweep *s, const char *dir, const sweep_opts *o)
{
    sweep_expect *e = calloc(s->npoints, sizeof *e);
    if (!e) {
        fprintf(stderr, "pmarena sweep: out of memory\n");
        return EXP_FAIL;
    }
    int rc = check_points(s, e), lock = -1;
    if (rc == 0 && an_mkdir_p(dir) != 0) {
        fprintf(stderr, "pmarena sweep: cannot create %s: %s\n", dir, strerror(errno));
        rc = EXP_FAIL;
    }
    if (rc == 0)
        rc = lock_dir(dir, &lock);
    if (rc == 0)
        rc = prepare_cache(s, dir);
    if (rc == 0 && s->ident)
        rc = sweep_ident_write(dir, s->ident);
    sweep_counts c;
    if (rc == 0)
        rc = sweep_prune(s, dir, e, o, &c);
    free(e);
    if (rc) {
        if (lock >= 0)
            close(lock);
        return rc;
    }
    if (!o->quiet)
        sweep_counts_print(&c, o->jobs);
    rc = run_missing(s, dir, o, c.rerun + c.fresh);
    const char *dirs[] = {dir};
    int trc = sweep_table(dirs, 1, dir, o->quiet);
    close(lock);
    return rc ? rc : trc;
}

int sweep_main(const char *config, char *const *sets, int nsets, const char *out, const sweep_opts *o)
{
    json_error_t je;
    json_t *root = json_load_file(config, JSON_REJECT_DUPLICATES, &je);
    char err[1200];
    if (!root) {
        fprintf(stderr, "pmarena sweep: %s:%d:%d: %s\n", config, je.line, je.column, je.text);
        return EXP_BADINPUT;
    }
    for (int i = 0; i < nsets; i++)
        if (cfg_apply_set(root, sets[i], err, sizeof err) != 0) {
            fprintf(stderr, "pmarena sweep: %s\n", err);
            json_decref(root);
            return EXP_BADINPUT;
        }
    /* The name comes from the base config (the points get their own); the
     * resolved base and its trace make the sweep's identity. */
    cfg_experiment base;
    json_t *copy = json_deep_copy(root);
    json_object_del(copy, "sweep");
    int rc = cfg_experiment_from_json(&base, copy, config, err, sizeof err);
    char dir[4096], tsum[PROV_HEX];
    snprintf(dir, sizeof dir, "%s%s", out ? out : "results/", out ? "" : base.name);
    json_t *resolved = rc ? NULL : cfg_experiment_resolved(&base);
    uint64_t tbytes;
    bool tknown = rc == 0 && base.trace_kind != CFG_TRACE_GEN && prov_trace(&base, NULL, tsum, &tbytes) == 0;
    cfg_experiment_free(&base);
    if (rc) {
        fprintf(stderr, "pmarena sweep: %s: %s\n", config, err);
        json_decref(root);
        return EXP_BADINPUT;
    }
    sweep s;
    if ((rc = sweep_init(&s, root, config, err, sizeof err)) != 0) {
        fprintf(stderr, "pmarena sweep: %s\n", err);
        json_decref(resolved);
        sweep_free(&s);
        return rc;
    }
    s.ident = sweep_ident_new(&s, resolved, tknown ? tsum : NULL);
    json_decref(resolved);
    rc = sweep_run(&s, dir, o);
    sweep_free(&s);
    return rc;
}
