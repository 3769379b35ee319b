/* fz_targets.h - the bodies of the fuzz harnesses, shared by the libFuzzer
 * entry points (tests/fuzz/fuzz_*.c, built by `make fuzz` with clang) and the
 * regression suite (tests/test_fuzz_regress.c, built with gcc by `make test`),
 * so a finding replays through exactly the code that found it.
 *
 * Each fz_*_one takes one input and returns 0; a broken invariant (a wrong
 * answer rather than a refusal) prints what broke and aborts, which libFuzzer
 * reports as a crash and Check as a failed test. */
#ifndef PMARENA_FZ_TARGETS_H
#define PMARENA_FZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* Config file text, then NUL-separated --set overrides (PATH=VALUE). */
int fz_config_one(const uint8_t *data, size_t size);
/* A trace file read to its end (JSON Lines, document or gzip). */
int fz_trace_jsonl_one(const uint8_t *data, size_t size);
/* A .pmt file read to its end. */
int fz_trace_pmt_one(const uint8_t *data, size_t size);
/* Byte 0: flags (bit 0: recompute the header checksums, so mutations get past
 * them); the rest: the start of a FZ_HEAP_DEVICE-byte device image (zeros
 * after). pma_open, then pma_check when it opened. */
int fz_heap_image_one(const uint8_t *data, size_t size);
/* The same, returning pma_open's answer (the regression suite checks that
 * the generated seeds open). */
int fz_heap_image_rc(const uint8_t *data, size_t size);
/* Bytes 0..1 pick the heap's configuration; the rest are operations: gets,
 * returns of live, interior, foreign and stale pointers, reallocs, roots,
 * reopens; pma_check after each. */
int fz_api_one(const uint8_t *data, size_t size);

#define FZ_HEAP_DEVICE (256u * 1024)
#define FZ_HEAP_ARENA 16384u

/* A seed for fz_heap_image_one: a heap of the given persistence and metadata
 * with some objects and a root, closed cleanly or abandoned (as by a crash).
 * malloc'd, trailing zeros cut; NULL on failure. */
uint8_t *fz_heap_seed(int persistence, int metadata, int clean, size_t *len);

#endif
