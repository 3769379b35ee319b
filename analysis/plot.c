/*
 * plot.c - running gnuplot: an_plot turns a plotting script into
 * `<dir>/<name>.gp` (kept, so the user can edit and rerun it) and
 * `<dir>/<name>.png`.
 *
 * The script file is the caller's text between a preamble and `unset
 * output`:
 *     set terminal pngcairo size 1000,650      (or `png ...`, see below)
 *     set output (exists("an_output") ? an_output : '<name>.png')
 * then the common style: `set termoption noenhanced` (text as written: no
 * subscripts from '_'), the Okabe-Ito palette (Okabe & Ito 2008, safe for the
 * common colour-vision deficiencies) as line types 1..8 with distinct dash
 * types so lines differ in grey too, the key outside the plot area, and
 * `an_span`, a macro the scripts eval to decide a log axis from their data;
 * so a user in dir runs `gnuplot <name>.gp` and gets <name>.png, while
 * an_plot runs `gnuplot -e "an_output='<name>.png.tmp.PID'" <name>.gp` and
 * renames the temporary into place only when gnuplot exited 0 and wrote a
 * whole PNG (one ending in the IEND chunk): the PNG appears whole or not at
 * all, and a failed redraw leaves the previous PNG alone.
 *
 * gnuplot is started with posix_spawnp (no shell: names are never parsed by
 * one), with dir as its working directory (posix_spawn_file_actions_addchdir_np,
 * glibc >= 2.29), so scripts name data files by bare names. stdin is
 * /dev/null; stdout and stderr go to `<dir>/<name>.log.tmp.PID` (a temporary an
 * interrupted run can clean up), removed when the plot succeeds and kept, as
 * `<name>.log` beside the .gp, when it fails (AN_ETOOL):
 * the library never prints. posix_spawn, unlike fork, is safe in a program
 * with many threads (a sweep plotting from workers).
 *
 * The terminal: pngcairo draws anti-aliased text, but some gnuplot builds
 * lack it. Whether this gnuplot has it is probed once per process by running
 * `gnuplot -e "set terminal pngcairo"` (exit 0: yes) and cached; `png`
 * (libgd) is the fallback. If gnuplot cannot be started at all, nothing is
 * cached, the script is still written (naming pngcairo) and an_plot returns
 * AN_ETOOL. Racing first calls may both probe; they agree.
 *
 * The terminal is a variable too (an_terminal, default the PNG one): an_plot_svg
 * reruns a script with an_terminal='svg' into a file the HTML report inlines.
 *
 * The program is `gnuplot` found on PATH, or $PMARENA_GNUPLOT when set (tests
 * use it to simulate a missing gnuplot).
 */
#include "pmarena/analysis.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { TERM_UNKNOWN = 0, TERM_PNGCAIRO = 1, TERM_PNG = 2 };
static atomic_int term_probe = TERM_UNKNOWN;
static atomic_uint tmp_seq;

static const char *gnuplot_program(void)
{
    const char *p = getenv("PMARENA_GNUPLOT");
    return p && *p ? p : "gnuplot";
}

/* Runs argv (argv[0] searched on PATH) in dir (NULL: here) with stdin from
 * /dev/null and stdout + stderr to log (relative to dir; NULL: /dev/null).
 * 0 with *ok = exited with status 0; AN_ETOOL when it could not be started
 * (absent program, dir not enterable, log not creatable); AN_EIO with errno
 * EFBIG when it was killed for writing past RLIMIT_FSIZE. */
static int run_tool(const char *dir, char *const argv[], const char *log, bool *ok)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return AN_ENOMEM;
    int e = 0;
    if (dir)
        e = posix_spawn_file_actions_addchdir_np(&fa, dir);
    if (!e)
        e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!e)
        e = posix_spawn_file_actions_addopen(&fa, 1, log ? log : "/dev/null",
                                             O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!e)
        e = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* pmarena ignores SIGXFSZ (cli/main.c), and an ignored signal stays
     * ignored across exec: gnuplot gets its default back, so a PNG cut off at
     * RLIMIT_FSIZE kills it (a failure) instead of being a short write it
     * might not check. */
    posix_spawnattr_t at;
    sigset_t dfl;
    bool attr = posix_spawnattr_init(&at) == 0;
    if (!attr)
        e = ENOMEM;
    if (!e) {
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGXFSZ);
        e = posix_spawnattr_setsigdefault(&at, &dfl);
    }
    if (!e)
        e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    if (!e)
        e = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    if (attr)
        posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (e)
        return e == ENOMEM ? AN_ENOMEM : AN_ETOOL;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return AN_ETOOL;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ) {
        errno = EFBIG;   /* a file past RLIMIT_FSIZE: the caller says "File too large" */
        return AN_EIO;
    }
    *ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    return 0;
}

/* The PNG terminal of this gnuplot (probed once); AN_ETOOL when gnuplot
 * cannot be run, *term then naming pngcairo. */
static int png_terminal(const char **term)
{
    int v = atomic_load(&term_probe);
    if (v == TERM_UNKNOWN) {
        char *argv[] = {(char *)gnuplot_program(), "-e", "set terminal pngcairo", NULL};
        bool ok = false;
        if (run_tool(NULL, argv, NULL, &ok) != 0) {
            *term = "pngcairo";
            return AN_ETOOL;
        }
        v = ok ? TERM_PNGCAIRO : TERM_PNG;
        atomic_store(&term_probe, v);
    }
    *term = v == TERM_PNGCAIRO ? "pngcairo" : "png";
    return 0;
}

/* Plot names become file names and a quoted gnuplot string: keep them plain. */
static bool plot_name_ok(const char *name)
{
    if (!name || !*name || name[0] == '.' || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

/* The style every plot shares (see the file comment). */
static const char plot_style[] =
    "# Plain text: enhanced mode would make meta_writes a subscript.\n"
    "set termoption noenhanced\n"
    "# Okabe-Ito colours (colour-blind safe), each line type with its own dashes.\n"
    "set linetype 1 lc rgb '#0072B2' lw 2 dt 1 pt 7\n"
    "set linetype 2 lc rgb '#D55E00' lw 2 dt 2 pt 5\n"
    "set linetype 3 lc rgb '#009E73' lw 2 dt 3 pt 9\n"
    "set linetype 4 lc rgb '#CC79A7' lw 2 dt 4 pt 11\n"
    "set linetype 5 lc rgb '#E69F00' lw 2 dt 5 pt 13\n"
    "set linetype 6 lc rgb '#56B4E9' lw 2 dt (12,4) pt 4\n"
    "set linetype 7 lc rgb '#F0E442' lw 2 dt (2,4,8,4) pt 6\n"
    "set linetype 8 lc rgb '#000000' lw 2 dt (16,4,2,4,2,4) pt 8\n"
    "set linetype cycle 8\n"
    "set key outside right top\n"
    "# eval an_span: an_lo, an_hi = least positive and largest value of the\n"
    "# columns an_cols (e.g. \"2 3\") of an_file; an_log = they span more than\n"
    "# 100x, so that axis is drawn log scale (zeros then fall off it).\n"
    "an_span = \"an_lo = 1e300; an_hi = 0; do for [an_c in an_cols] { "
    "stats an_file skip 1 using (column(int(an_c)) > 0 ? column(int(an_c)) : 1e300) name 'AN_S' nooutput; "
    "an_lo = AN_S_min < an_lo ? AN_S_min : an_lo; "
    "stats an_file skip 1 using (column(int(an_c)) > 0 ? column(int(an_c)) : 0) name 'AN_S' nooutput; "
    "an_hi = AN_S_max > an_hi ? AN_S_max : an_hi }; an_log = an_hi > 100 * an_lo\"\n";

static int write_script(const char *path, const char *name, const char *term, const char *script)
{
    an_file af;
    int rc = an_file_open(&af, path);
    if (rc)
        return rc;
    fprintf(af.f,
            "# %s.gp - written by pmarena (an_plot). Redraw with `gnuplot %s.gp` in this\n"
            "# folder; pmarena renders to a temporary name (an_output) and renames it.\n"
            "# an_terminal picks another terminal (pmarena report --html draws svg).\n"
            "eval sprintf(\"set terminal %%s size 1000,650\", exists(\"an_terminal\") ? an_terminal : '%s')\n"
            "set output (exists(\"an_output\") ? an_output : '%s.png')\n"
            "%s",
            name, name, term, name, plot_style);
    size_t len = strlen(script);
    fputs(script, af.f);
    if (len == 0 || script[len - 1] != '\n')
        fputc('\n', af.f);
    fputs("unset output\n", af.f);
    return an_file_commit(&af);
}

/* Does the file end with a PNG's IEND chunk? Every PNG does, and a gnuplot
 * that exits 0 after a write failed (a full disk) leaves one that does not. */
static bool png_whole(const char *path)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    FILE *f = fopen(path, "rb");
    bool ok = f && fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 && !memcmp(tail, iend, 12);
    if (f)
        fclose(f);
    return ok;
}

/* Renders name.gp in dir into name.png (see the file comment). */
static int render(const char *dir, const char *name)
{
    char gp[256], log[256], tmp[320], var[400];
    snprintf(gp, sizeof gp, "%s.gp", name);
    snprintf(log, sizeof log, "%s.log.tmp.%ld", name, (long)getpid());   /* kept as name.log on failure */
    snprintf(tmp, sizeof tmp, "%s.png.tmp.%ld.%u", name, (long)getpid(), atomic_fetch_add(&tmp_seq, 1));
    snprintf(var, sizeof var, "an_output='%s'", tmp);
    char *argv[] = {(char *)gnuplot_program(), "-e", var, gp, NULL};

    char *tmp_path = an_path_join(dir, tmp, "");
    char *png_path = an_path_join(dir, name, ".png");
    char *log_path = an_path_join(dir, log, "");
    char *kept_log = an_path_join(dir, name, ".log");
    int rc = AN_ENOMEM, e = ENOMEM;
    if (!tmp_path || !png_path || !log_path || !kept_log)
        goto out;
    bool ok = false;
    rc = run_tool(dir, argv, log, &ok);
    if (rc == 0 && (!ok || !png_whole(tmp_path)))
        rc = AN_ETOOL;
    if (rc == 0 && rename(tmp_path, png_path) != 0)
        rc = AN_EIO;
    e = errno;   /* the failure's, past the cleanup below */
    if (rc)
        unlink(tmp_path);
    if (rc == AN_ETOOL)
        rename(log_path, kept_log);
    else
        unlink(log_path);
out:
    free(kept_log);
    free(tmp_path);
    free(png_path);
    free(log_path);
    errno = e;
    return rc;
}

int an_plot(const char *dir, const char *name, const char *script)
{
    if (!dir || !*dir || !plot_name_ok(name) || !script)
        return AN_EINVAL;
    const char *term;
    int probe = png_terminal(&term);
    char *gp_path = an_path_join(dir, name, ".gp");
    if (!gp_path)
        return AN_ENOMEM;
    int rc = write_script(gp_path, name, term, script);
    free(gp_path);
    if (rc)
        return rc;
    if (probe)
        return probe;
    return render(dir, name);
}

int an_plot_svg(const char *dir, const char *name, const char *out)
{
    if (!dir || !*dir || !plot_name_ok(name) || !out || strchr(out, '\'') || strlen(out) > 3000)
        return AN_EINVAL;
    char *gp_path = an_path_join(dir, name, ".gp");
    if (!gp_path)
        return AN_ENOMEM;
    /* A script from before an_terminal would draw its PNG terminal into out. */
    FILE *f = fopen(gp_path, "r");
    free(gp_path);
    if (!f)
        return AN_EIO;
    char head[1024];
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = '\0';
    if (!strstr(head, "exists(\"an_terminal\")"))
        return AN_EINVAL;
    char gp[256], var[3200];
    snprintf(gp, sizeof gp, "%s.gp", name);
    snprintf(var, sizeof var, "an_terminal='svg'; an_output='%s'", out);
    char *argv[] = {(char *)gnuplot_program(), "-e", var, gp, NULL};
    bool ok = false;
    int rc = run_tool(dir, argv, NULL, &ok);
    if (rc == 0 && !ok)
        rc = AN_ETOOL;
    return rc;
}
