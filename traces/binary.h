/*
 * binary.h - the compact binary form of a trace (.pmt): what a sweep replays
 * at every point after parsing the JSON once.
 *
 * Layout, all integers little-endian:
 *   header  "PMTRACE1" | u32 version (1) | u32 threads | u64 events |
 *           u32 source length | source bytes | zero padding to 8
 *   records events x 56 bytes: u8 op | 3 zero bytes | u32 thread | u64 id |
 *           u64 new_id | u64 size | u64 offset | u64 len | u64 align
 *   trailer u32 crc32 (zlib) of header and records | u32 zero | "PMTEND\0\0"
 * A reader checks the magic, the sizes and the checksum before the first
 * event, so a truncated or damaged file is refused, never half replayed; each
 * record is then checked as the JSON reader checks an event (pmt_next).
 */
#ifndef PMARENA_TRACES_BINARY_H
#define PMARENA_TRACES_BINARY_H

#include <stdio.h>
#include "pmarena/trace.h"

#define PMT_MAGIC "PMTRACE1"
#define PMT_END "PMTEND\0\0"
#define PMT_RECORD 56
#define PMT_VERSION 1

typedef struct pmt_file {
    FILE *f;
    uint64_t events, next;
    tr_header hdr;
    unsigned char buf[PMT_RECORD * 4096];
    size_t have, pos;
} pmt_file;

/* Opens and verifies (magic, length, checksum). TR_ESYNTAX when damaged. */
int pmt_open(pmt_file *p, const char *path, tr_error *err);
/* 1 with the next event, 0 at the end, or an error: a record that breaks the
 * JSON reader's rules (unknown op, a field out of range or foreign to the op,
 * align not a power of two, thread not below the header's threads) is
 * TR_ESYNTAX, "record N: ..." with N counted from 1. */
int pmt_next(pmt_file *p, tr_event *e, tr_error *err, const char *name);
void pmt_close(pmt_file *p);
/* One 56-byte record into e, checked as above: 0, or TR_ESYNTAX with msg. */
int pmt_decode(const unsigned char *rec, uint32_t threads, tr_event *e, char *msg, size_t len);
/* Does the file start with the binary magic? */
bool pmt_sniff(const char *path);

#endif
