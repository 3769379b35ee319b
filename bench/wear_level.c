/*
 * wear_level.c - the device-level leveling choices of the wear half's
 * pmarena rows (the `leveling` column of wear.csv / wear.md), by name:
 *
 *   none            today's rows: counts land where the allocator wrote;
 *   start-gap       Start-Gap over the whole device, psi 100 (the issue's
 *                   default): one gap, so a line moves once per N * 100 line
 *                   writes (N the device's lines);
 *   start-gap+rand  the randomized, region-based Start-Gap of the same paper
 *                   and of configs/leveling.json's third variant: a seeded
 *                   static Feistel permutation of the line addresses (seed
 *                   1), then regions of 16 lines, each with its own gap
 *                   moving every 100 writes to the region.
 *
 * Why the regions in the randomized choice: over one region a permutation
 * only relabels lines (a hot line stays one hot physical line, and moves
 * once per N * psi writes, longer than any bench trace), so randomization
 * alone would change no statistic; with regions a hot line moves once per
 * 1,600 writes to its region, so its writes spread, and the permutation
 * keeps a run of adjacent hot lines (an arena's metadata) from sharing
 * one region. The rows keep the allocator's name: the choice is a column.
 */
#include "rows.h"
#include "worker.h"

#include <string.h>

const char *const bench_wear_levelings[BENCH_WEAR_LEVELINGS] = {"none", "start-gap", "start-gap+rand"};

int bp_leveling_from_name(const char *name, nv_leveling *out)
{
    nv_config d;
    nv_config_defaults(&d);    /* psi 100, seed 1, no regions */
    *out = d.leveling;
    if (strcmp(name, "none") == 0)
        return 0;
    out->kind = NV_LEVELING_START_GAP;
    out->psi = 100;
    if (strcmp(name, "start-gap") == 0)
        return 0;
    if (strcmp(name, "start-gap+rand") == 0) {
        out->randomize = true;
        out->seed = 1;
        out->region_lines = 16;
        return 0;
    }
    return -1;
}
