/*
 * record.h - the raw record format of the allocation recorder
 * (libpmarena-record.so), shared by the preloaded library that writes it and
 * by `pmarena record` (traces/record_convert.c) that turns it into a trace; plus the
 * library's internal interface between its files.
 *
 * A raw file, PMARENA_RECORD_RAW_DIR/raw.<pid>, is a plain sequence of
 * fixed-size records in the machine's byte order (it is read back on the same
 * machine, right after the run). Each program image that starts in the process
 * (the first one, every exec after it, and a forked child) first appends an
 * epoch record, then one record per allocation call, in the order the calls
 * took effect. Every file therefore begins with an epoch record, which also
 * carries a magic number and the record size, so a reader can tell a raw file
 * (of this version) from anything else.
 *
 * The library forwards every call to glibc's allocator (__libc_malloc and
 * friends) and records only calls that succeeded. Addresses in raw files are
 * real addresses: only the converter turns them into object ids.
 */
#ifndef PMARENA_TRACES_RECORD_H
#define PMARENA_TRACES_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* "PMARAW1\0" read as a little-endian 64-bit number; a new layout gets a new one. */
#define TR_RAW_MAGIC 0x0031574152414d50ull

/* What a record says happened. The alloc kinds are kept apart in the raw file
 * (they cost nothing and help debugging); the converter folds them into
 * "alloc" events. */
enum tr_raw_op {
    TR_RAW_EPOCH = 1,     /* a program image starts: see tr_raw_epoch_kind */
    TR_RAW_MALLOC,        /* addr = malloc(size) */
    TR_RAW_CALLOC,        /* addr = calloc(n, m), size = n * m */
    TR_RAW_REALLOC,       /* addr = realloc(old, size); addr 0 only when size 0 freed old */
    TR_RAW_FREE,          /* free(addr), addr != 0 */
    TR_RAW_MEMALIGN,      /* memalign, posix_memalign, aligned_alloc: align as asked */
    TR_RAW_VALLOC,        /* valloc: align = the page size */
    TR_RAW_PVALLOC,       /* pvalloc: size already rounded up to whole pages */
    TR_RAW_OPS
};

/* Why an epoch record was written (its align field). */
enum tr_raw_epoch_kind {
    TR_RAW_EPOCH_START = 1,   /* the library initialized in a new image: process start or exec */
    TR_RAW_EPOCH_FORK = 2,    /* the first record of a forked child's own file */
};

/* One record: 40 bytes, no padding. For TR_RAW_EPOCH the fields mean:
 * addr = TR_RAW_MAGIC, size = sizeof(tr_raw_rec), old = the pid, align = a
 * tr_raw_epoch_kind. */
typedef struct tr_raw_rec {
    uint32_t op;          /* enum tr_raw_op */
    uint32_t tid;         /* the calling thread's OS id (gettid) */
    uint64_t addr;        /* the block returned, or freed */
    uint64_t size;        /* bytes asked for (calloc: the product) */
    uint64_t old;         /* realloc: the block passed in (0 for realloc(NULL, n)) */
    uint64_t align;       /* memalign family: the alignment asked for; else 0 */
} tr_raw_rec;

_Static_assert(sizeof(tr_raw_rec) == 40, "raw records are 40 bytes with no padding");

/* ---- inside the library (traces/record/) -------------------------------- */

#ifdef TR_RECORD_INTERNAL
#include <stdbool.h>

#define TR_REC_HIDDEN __attribute__((visibility("hidden")))

/* True when the calling thread should record its allocation calls: recording
 * is on in this process and the thread is not inside the recorder itself.
 * Decides (and initializes) on first use. */
TR_REC_HIDDEN bool tr_rec_active(void);

/* Appends one record (the thread id is filled in). Thread-safe. */
TR_REC_HIDDEN void tr_rec_log(uint32_t op, const void *addr, uint64_t size, const void *old,
                              uint64_t align);

/* For realloc, whose record must be in place before another thread can be
 * handed the block it releases: tr_rec_lock() ... tr_rec_unlock() around the
 * real call and tr_rec_log_locked(). */
TR_REC_HIDDEN void tr_rec_lock(void);
TR_REC_HIDDEN void tr_rec_unlock(void);
TR_REC_HIDDEN void tr_rec_log_locked(uint32_t op, const void *addr, uint64_t size, const void *old,
                                     uint64_t align);

/* Writes out everything buffered (before exec and _exit, which skip the exit
 * handlers). Safe to call when recording is off. */
TR_REC_HIDDEN void tr_rec_flush(void);

/* Marks the calling thread as inside the recorder: its allocations (e.g.
 * dlsym's) are forwarded and not recorded. Returns the previous state for
 * tr_rec_guard_leave. */
TR_REC_HIDDEN bool tr_rec_guard_enter(void);
TR_REC_HIDDEN void tr_rec_guard_leave(bool prev);
#endif

#endif
