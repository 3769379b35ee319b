/*
 * cleanup.h - the temporaries a signal must not leave behind (cleanup.c):
 * registered while they exist, removed by the SIGINT/SIGTERM handler that
 * exp_cleanup_install (experiment.h) sets up. Without it, registering is a
 * no-op and nothing changes.
 */
#ifndef PMARENA_EXPERIMENT_CLEANUP_H
#define PMARENA_EXPERIMENT_CLEANUP_H

#include <stdbool.h>

enum {
    CL_UNLINK = 1,   /* a file */
    CL_TREE = 2,     /* a folder and everything in it */
    CL_PURGE = 3,    /* in a folder, the names holding ".tmp.PID" (this process's temporaries) */
};

/* Registers path (copied); returns a slot for cl_drop, or -1 (none installed,
 * table full, path too long: then the temporary is simply not covered). */
int cl_add(int kind, const char *path);
void cl_drop(int slot);
/* A forked child that runs an experiment (a sweep point) calls this first
 * (true: it is one):
 * its parent's handler then signals it, and its own handler cleans its own. */
bool exp_cleanup_child(void);
/* Removes a folder and its contents (system calls only); 0 or -1 with errno. */
int cl_rm_tree(const char *path);

#endif
