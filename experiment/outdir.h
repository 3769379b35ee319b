/*
 * outdir.h - a run's results folder, replaced whole (outdir.c): the run
 * writes into the temporary sibling that outdir_begin makes, and
 * outdir_commit swaps it in (or outdir_abort removes it).
 */
#ifndef PMARENA_EXPERIMENT_OUTDIR_H
#define PMARENA_EXPERIMENT_OUTDIR_H

#include <stddef.h>
#include "pmarena/experiment.h"

/* Makes dir's parent and the empty temporary folder tmp (DIR.tmp.PID),
 * registered for removal on a signal. 0, or -1 with errno. */
int outdir_begin(const char *dir, char *tmp, size_t len, int *slot);
/* Swaps tmp in at dir (saying so when it replaces an earlier run) and removes
 * what was there. EXP_OK or EXP_FAIL (printed, prefixed by who). */
int outdir_commit(const char *who, const char *dir, const char *tmp, int slot);
void outdir_abort(const char *tmp, int slot);

#endif
