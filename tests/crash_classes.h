/* crash_classes.h - tallies a crash test's points by class: the operation
 * the crash landed after (a store, a flush or a fence) and, for stores and
 * flushes, what the line held (data or which metadata kind, nv_crash_point),
 * split by survivor mode (no unpersisted line survives, or each survives with
 * probability 1/2). One machine-readable line per class and configuration,
 *   crash-class <label> <op>/<tag> <points without survivors> <with survivors>
 * so `make crashtest` can sum them over every suite (scripts/crash_classes.awk)
 * and a class never hit shows as missing rather than passing unseen. */
#ifndef PMARENA_TESTS_CRASH_CLASSES_H
#define PMARENA_TESTS_CRASH_CLASSES_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "pmarena/device.h"

/* op slot 3: the armed point was not reached (a threaded workload ran fewer
 * operations than counted), so the crash came at the end; tag slot 0: a
 * fence or that end (no line). */
enum { CC_OPS = 4, CC_TAGS = NV_TAGS + 1 };

typedef struct crash_classes {
    unsigned long long n[CC_OPS][CC_TAGS][2];
} crash_classes;

/* Records the pending crash of d (call after it triggered, before nv_crash). */
static inline void crash_classes_note(crash_classes *cc, nv_device *d, bool survivors)
{
    unsigned op;
    int tag;
    ck_assert_int_eq(nv_crash_point(d, &op, &tag), 0);
    int o = op == NV_OP_STORE ? 0 : op == NV_OP_FLUSH ? 1 : op == NV_OP_FENCE ? 2 : op == 0 ? 3 : -1;
    ck_assert_msg(o >= 0, "crash point with operation %u", op);
    ck_assert_msg(tag >= -1 && tag < NV_TAGS, "crash point with tag %d", tag);
    ck_assert_msg((o >= 2) == (tag == -1), "operation/tag mismatch: op %u tag %d", op, tag);
    cc->n[o][tag + 1][survivors ? 1 : 0]++;
}

static inline void crash_classes_print(const crash_classes *cc, const char *label)
{
    static const char *ops[CC_OPS] = {"store", "flush", "fence", "end"};
    for (int o = 0; o < CC_OPS; o++)
        for (int t = 0; t < CC_TAGS; t++) {
            unsigned long long a = cc->n[o][t][0], b = cc->n[o][t][1];
            if (a + b == 0)
                continue;
            printf("crash-class %s %s%s%s %llu %llu\n", label, ops[o], t ? "/" : "",
                   t ? nv_tag_name((nv_tag)(t - 1)) : "", a, b);
        }
    fflush(stdout);
}

#endif
