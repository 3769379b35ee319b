/* fz_seeds.c - writes the generated seed corpora: heap images of every
 * persistence protocol and metadata placement (closed cleanly and abandoned
 * as by a crash), and the .pmt form of each JSON Lines trace seed.
 * Usage: fz_seeds HEAP_DIR JSONL_DIR PMT_DIR */
#include "fz_targets.h"
#include "pmarena/pma.h"
#include "pmarena/trace.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fz_seeds HEAP_DIR JSONL_DIR PMT_DIR\n");
        return 2;
    }
    static const char *pn[] = {"intent", "log", "gc"}, *mn[] = {"nvram", "hybrid"};
    char path[4096];
    for (int p = 0; p < 3; p++)
        for (int m = 0; m < 2; m++)
            for (int clean = 0; clean < 2; clean++) {
                size_t len = 0;
                uint8_t *img = fz_heap_seed(p, m, clean, &len);
                if (!img) {
                    fprintf(stderr, "fz_seeds: no heap for %s/%s\n", pn[p], mn[m]);
                    return 1;
                }
                snprintf(path, sizeof path, "%s/%s-%s-%s", argv[1], pn[p], mn[m], clean ? "clean" : "crash");
                FILE *f = fopen(path, "wb");
                if (!f || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
                    fprintf(stderr, "fz_seeds: cannot write %s\n", path);
                    return 1;
                }
                free(img);
            }
    DIR *d = opendir(argv[2]);
    if (!d) {
        fprintf(stderr, "fz_seeds: cannot open %s\n", argv[2]);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char in[4096];
        snprintf(in, sizeof in, "%s/%s", argv[2], e->d_name);
        snprintf(path, sizeof path, "%s/%s.pmt", argv[3], e->d_name);
        uint64_t n;
        tr_error err;
        tr_convert(in, path, &n, &err);      /* the broken seeds convert to nothing */
    }
    closedir(d);
    return 0;
}
