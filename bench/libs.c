/*
 * libs.c - finding the peers' shared libraries (jemalloc, mimalloc,
 * libpmemobj) as the dynamic loader would, so `pmarena bench` also runs from
 * a packed copy whose peers sit beside it on LD_LIBRARY_PATH.
 */
#include "rows.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* dir/soname into out when it is a readable file: 1, else 0. A relative dir
 * (LD_LIBRARY_PATH may hold one) is made absolute, since workers get the
 * path in LD_PRELOAD or for dlopen. */
static int lib_at(const char *dir, size_t dirlen, const char *soname, char *out, size_t n)
{
    char path[PATH_MAX + 600], cwd[PATH_MAX] = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
        return 0;
    int len = snprintf(path, sizeof path, "%s%s%.*s/%s", cwd, cwd[0] ? "/" : "", (int)dirlen, dir, soname);
    if (len < 0 || (size_t)len >= n || access(path, R_OK) != 0)
        return 0;
    memcpy(out, path, (size_t)len + 1);
    return 1;
}

/* Looks for the shared library `soname` in the dynamic loader's order: each
 * directory of LD_LIBRARY_PATH (so a packed copy that carries its peers
 * works where they are not installed), then the ldconfig cache, then the
 * usual directories. The path into out and 1, or 0 when not found. */
int bench_find_lib(const char *soname, char *out, size_t n)
{
    const char *llp = getenv("LD_LIBRARY_PATH");
    for (const char *d = llp; d && *d;) {
        size_t len = strcspn(d, ":;");
        if (len > 0 && lib_at(d, len, soname, out, n))
            return 1;
        d += len;
        if (*d)
            d++;
    }
    FILE *p = popen("{ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null", "r");
    int found = 0;
    if (p) {
        char line[1024];
        /* "\tlibjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2" */
        while (!found && fgets(line, sizeof line, p)) {
            const char *name = line + strspn(line, " \t"), *arrow = strstr(line, "=> ");
            size_t len = strcspn(name, " \t");
            if (!arrow || len != strlen(soname) || strncmp(name, soname, len) != 0)
                continue;
            const char *path = arrow + 3;
            const char *slash = strrchr(path, '/');
            if (slash)
                found = lib_at(path, (size_t)(slash - path), soname, out, n);
        }
        while (fgets(line, sizeof line, p))      /* let ldconfig finish writing */
            ;
        pclose(p);
    }
    if (found)
        return 1;
    static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                                       "/usr/lib", "/usr/local/lib", "/lib/x86_64-linux-gnu"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++)
        if (lib_at(dirs[d], strlen(dirs[d]), soname, out, n))
            return 1;
    return 0;
}
