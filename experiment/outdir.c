/*
 * outdir.c - results folders: checked before anything runs (exp_outdir_check),
 * and a run's folder replaced whole (outdir_begin/commit/abort).
 *
 * A run writes into a fresh sibling, DIR.tmp.PID, and only a run that wrote
 * its summary is swapped in: renameat2(RENAME_EXCHANGE) puts the new folder
 * at DIR and the old one at DIR.tmp.PID in one step, which is then removed.
 * A reader sees the earlier run or the whole new one, never a mix, and no
 * file of the earlier run survives (cells.csv of a --cells run, wear_hist.csv
 * of a sim run after a dram run). Where the exchange is not supported (old
 * kernel, some file systems) DIR is moved aside first, then replaced.
 *
 * Only an empty folder or one of ours (it holds summary.json) is ever
 * replaced, so a mistyped -o never deletes a user's folder.
 */
#include "outdir.h"
#include "config_json.h"
#include "cleanup.h"
#include "pmarena/analysis.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir without trailing slashes, and its parent ("." for a bare name). */
static void split(const char *dir, char *clean, size_t clen, char *parent, size_t plen)
{
    snprintf(clean, clen, "%s", dir);
    size_t n = strlen(clean);
    while (n > 1 && clean[n - 1] == '/')
        clean[--n] = '\0';
    const char *slash = strrchr(clean, '/');
    if (!slash)
        snprintf(parent, plen, ".");
    else if (slash == clean)
        snprintf(parent, plen, "/");
    else
        snprintf(parent, plen, "%.*s", (int)(slash - clean), clean);
}

static bool is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

static bool is_ours(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/summary.json", dir);
    return access(p, F_OK) == 0;
}

/* Can a folder be made in dir, or up the path from it? Walks up to the
 * nearest existing ancestor, which must be a folder, and makes (then
 * removes) a probe folder in it: only trying tells (root ignores modes, a
 * read-only mount or /proc refuses root too). */
static int probe(const char *who, const char *shown, const char *dir)
{
    char at[4096];
    snprintf(at, sizeof at, "%s", dir);
    struct stat st;
    while (stat(at, &st) != 0) {
        if (errno != ENOENT) {
            fprintf(stderr, "%s: cannot create %s: %s\n", who, shown, strerror(errno));
            return EXP_BADINPUT;
        }
        char clean[4096], parent[4096];
        split(at, clean, sizeof clean, parent, sizeof parent);
        if (!strcmp(parent, at))
            break;
        snprintf(at, sizeof at, "%s", parent);
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: cannot create %s: %s is not a folder\n", who, shown, at);
        return EXP_BADINPUT;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/.pmarena-probe.%ld", at, (long)getpid());
    if (mkdir(p, 0700) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s: %s\n", who, shown, at, strerror(errno));
        return EXP_BADINPUT;
    }
    rmdir(p);
    return EXP_OK;
}

int exp_outdir_check(const char *who, const char *dir, bool replace)
{
    char clean[4096], parent[4096];
    split(dir, clean, sizeof clean, parent, sizeof parent);
    struct stat st;
    if (stat(clean, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s: %s exists and is not a folder\n", who, dir);
            return EXP_BADINPUT;
        }
        if (replace && !is_empty(clean) && !is_ours(clean)) {
            fprintf(stderr, "%s: %s is not empty and holds no earlier run (no summary.json): "
                            "not replacing it (name another folder with -o)\n", who, dir);
            return EXP_BADINPUT;
        }
        /* A replaced run's new folder is made beside it; a sweep writes inside. */
        return probe(who, dir, replace ? parent : clean);
    }
    if (errno != ENOENT) {
        fprintf(stderr, "%s: cannot create %s: %s\n", who, dir, strerror(errno));
        return EXP_BADINPUT;
    }
    return probe(who, dir, parent);
}

int outdir_begin(const char *dir, char *tmp, size_t len, int *slot)
{
    char clean[4096], parent[4096];
    split(dir, clean, sizeof clean, parent, sizeof parent);
    *slot = -1;
    if (an_mkdir_p(parent) != 0)
        return -1;
    snprintf(tmp, len, "%s.tmp.%ld", clean, (long)getpid());
    cl_rm_tree(tmp);   /* a crashed run of a process with our pid */
    *slot = cl_add(CL_TREE, tmp);
    if (mkdir(tmp, 0755) != 0) {
        int e = errno;
        cl_drop(*slot);
        *slot = -1;
        errno = e;
        return -1;
    }
    return 0;
}

void outdir_abort(const char *tmp, int slot)
{
    cl_rm_tree(tmp);
    cl_drop(slot);
}

int outdir_commit(const char *who, const char *dir, const char *tmp, int slot)
{
    char clean[4096], parent[4096];
    split(dir, clean, sizeof clean, parent, sizeof parent);
    struct stat st;
    int rc = EXP_OK;
    if (lstat(clean, &st) != 0) {
        if (rename(tmp, clean) != 0) {
            fprintf(stderr, "%s: cannot move the results into %s: %s\n", who, dir, strerror(errno));
            rc = EXP_FAIL;
        }
    } else if (!S_ISDIR(st.st_mode) || (!is_empty(clean) && !is_ours(clean))) {
        /* Made by someone else while we ran: leave it. */
        fprintf(stderr, "%s: %s appeared while the run went on and is not an earlier run: not replacing it\n",
                who, dir);
        rc = EXP_FAIL;
    } else {
        if (!is_empty(clean))
            fprintf(stderr, "%s: replacing the earlier run in %s\n", who, dir);
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, clean, RENAME_EXCHANGE) != 0) {
            char old[4200];
            snprintf(old, sizeof old, "%s.old.%ld", clean, (long)getpid());
            int oslot = cl_add(CL_TREE, old);
            if (rename(clean, old) != 0 || rename(tmp, clean) != 0) {
                fprintf(stderr, "%s: cannot replace %s: %s\n", who, dir, strerror(errno));
                rename(old, clean);   /* put the earlier run back where it was, if it moved */
                rc = EXP_FAIL;
            } else {
                cl_rm_tree(old);
            }
            cl_drop(oslot);
        }
    }
    /* After the exchange tmp holds the earlier run; after a failure, ours. */
    cl_rm_tree(tmp);
    cl_drop(slot);
    return rc;
}

int exp_sweep_prepare(const char *config, char *const *sets, int nsets, const char *out, char *dir, size_t len)
{
    dir[0] = '\0';
    if (out) {
        snprintf(dir, len, "%s", out);
    } else {
        /* The default folder is named by the base config (sweep_main does the
         * same); a config that does not read is left for sweep_main to report. */
        json_t *root = json_load_file(config, JSON_REJECT_DUPLICATES, NULL);
        char err[1200];
        bool ok = root != NULL;
        for (int i = 0; ok && i < nsets; i++)
            ok = cfg_apply_set(root, sets[i], err, sizeof err) == 0;
        cfg_experiment base;
        if (ok) {
            json_object_del(root, "sweep");
            ok = cfg_experiment_from_json(&base, json_incref(root), config, err, sizeof err) == 0;
            if (ok)
                snprintf(dir, len, "results/%s", base.name);
            cfg_experiment_free(&base);
        }
        json_decref(root);
        if (!ok)
            return EXP_OK;
    }
    int rc = exp_outdir_check("pmarena sweep", dir, false);
    if (rc)
        return rc;
    exp_cleanup_install();
    char cache[4200];
    snprintf(cache, sizeof cache, "%s/.cache", dir);
    cl_add(CL_PURGE, dir);
    cl_add(CL_PURGE, cache);
    return EXP_OK;
}
